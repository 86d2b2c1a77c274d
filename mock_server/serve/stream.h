/*
 * The response executor: carries out one wire plan (wire.h) on a connection.
 *
 * The chaos compiler has already decided every byte, its time, its write boundaries and how the
 * response ends, so this module only walks the plan with one uv_timer_t: ops due at the same
 * time go out in one write unless an op must be its own write (fragment and throttle pieces);
 * FIRE ops are reported for the journal; DONE, FIN and RST end the response; HANG and PING
 * leave it silent (or pinging) until the client goes. A FIRE's silent_ms says how long a fault
 * holds the response back on purpose, so fl_stream_quiet can tell a client that leaves during a
 * stall from one that leaves mid-send; the executor knows no fault by name. Time 0 is when
 * fl_stream_begin runs, i.e. when the connection starts answering the request.
 *
 * Everything it does goes through a sink (fl_stream_sink_t), implemented by the connection
 * (conn.c) and by a recording fake in the unit tests; its only libuv handle is its timer.
 */
#ifndef FL_STREAM_H
#define FL_STREAM_H

#include "base/buf.h"
#include "serve/journal.h"
#include "chaos/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fl_stream_s fl_stream_t;

/** What the connection does once a response is over. */
typedef enum {
    FL_STREAM_NEXT, /* the response is complete: go on with the next request */
    FL_STREAM_FIN,  /* flush what is queued, then FIN (uv_shutdown) and close */
    FL_STREAM_RST,  /* flush what is queued, then RST (uv_tcp_close_reset) */
} fl_stream_action_t;

/** Where the plan's effects go; provided by the connection. */
typedef struct fl_stream_sink_s {
    void *ctx; /* borrowed, passed back to every call */
    /** Queues len wire bytes (copied before returning). Returns 0 or a libuv error. */
    int (*write)(void *ctx, const void *bytes, size_t len);
    /** Queues plan bytes [off, off+len) as the response sends them (fl_wire_read: a shared
     * plan's patches applied), copied before returning. Returns 0 or a libuv error. */
    int (*write_plan)(void *ctx, const fl_wire_t *plan, size_t off, size_t len);
    /** Op `index` of the plan (a WRITE, FIRE or PING) was just carried out. */
    void (*progress)(void *ctx, const fl_wire_t *plan, size_t index, uint64_t elapsed_ms);
    /** The response is over: how it ended and what to do with the connection. The stream is
     * idle again when this runs. */
    void (*done)(void *ctx, fl_end_t end, fl_stream_action_t action);
} fl_stream_sink_t;

/** One connection's executor; embedded in the connection, reused for each response. */
struct fl_stream_s {
    uv_timer_t timer;        /* fires when the next op is due (or the next ping) */
    fl_wire_t plan;          /* owned while active */
    size_t next;             /* index of the next op */
    uint64_t t0_ms;          /* uv_now when the response began */
    bool active;             /* a plan is being carried out */
    bool paused;             /* backpressure: the timer is stopped until resume */
    bool silent;             /* HANG or PING reached: nothing but pings will follow */
    uint64_t quiet_until_ms; /* a fault holds the response back until then (ms after t0;
                                UINT64_MAX for good); 0 when none has */
    bool close_after;        /* DONE means FIN after the last byte (close-delimited bodies) */
    size_t run_off, run_len; /* ops sent in one write, when their bytes are contiguous in the
                                plan: copied once, from the plan into the write request */
    fl_buf_t batch;          /* scratch for ops sent in one write when they are not; kept
                                across responses */
    fl_stream_sink_t sink;
};

/** Initialises the timer on loop. Returns 0 or a libuv error. Close with fl_stream_close. */
int fl_stream_init(uv_loop_t *loop, fl_stream_t *s);

/**
 * Starts carrying out plan (moved into the stream; *plan is left empty). close_after makes DONE
 * end with FIN instead of NEXT. The sink is copied. Ops due at 0 go out on the loop's next
 * turn, never from inside this call, so the sink is not re-entered while the caller sets up.
 */
void fl_stream_begin(fl_stream_t *s, fl_wire_t *plan, bool close_after,
                     const fl_stream_sink_t *sink);

/** ms since the current response began (0 when idle). */
uint64_t fl_stream_elapsed(const fl_stream_t *s);

/**
 * True while a fault keeps the response silent on purpose: HANG or PING was reached, or a FIRE
 * op's silent_ms has not run out. False when idle.
 */
bool fl_stream_quiet(const fl_stream_t *s);

/** Backpressure: stop the timer until fl_stream_resume. Idempotent. */
void fl_stream_pause(fl_stream_t *s);
/** Re-arms the timer; ops that fell due while paused go out at once. Idempotent. */
void fl_stream_resume(fl_stream_t *s);

/** Aborts and closes the timer handle; cb runs when libuv has closed it. */
void fl_stream_close(fl_stream_t *s, uv_close_cb cb);

#endif

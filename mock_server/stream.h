/*
 * The response streamer: sends one encoded event script at its scripted times.
 *
 * A cursor over the script, a uv_timer_t, and four primitives: "write these body bytes"
 * (framed as one chunk under chunked framing), "end with the terminator", "end with FIN" and
 * "end with RST". The connection supplies a sink that puts wire bytes on the socket and is told
 * how the stream ended; the chaos layer will sit between the two by wrapping the sink and
 * driving the primitives itself, without touching the connection code.
 *
 * Batching: all events due at one timer tick are framed as one chunk each and handed to the
 * sink in one write (one uv_write with one buffer), so they reach the kernel together.
 * Framing: RFC 9112 section 7.1 (chunked transfer coding) or, for FL_FRAMING_CLOSE, the raw
 * body delimited by the connection's close (RFC 9112 section 6.3, rule 8).
 */
#ifndef FL_STREAM_H
#define FL_STREAM_H

#include "journal.h"
#include "scenario.h"
#include "script.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fl_stream_s fl_stream_t;

/** What the connection does once a stream is over. */
typedef enum {
    FL_STREAM_NEXT, /* the body is terminated: go on with the next request on the connection */
    FL_STREAM_FIN,  /* flush what is queued, then FIN (uv_shutdown) and close */
    FL_STREAM_RST,  /* close at once with RST (uv_tcp_close_reset), dropping queued bytes */
} fl_stream_action_t;

/** Where a stream's bytes go; provided by the connection (or a layer wrapping it). */
typedef struct fl_stream_sink_s {
    void *ctx; /* borrowed, passed back to every call */
    /** Queues len wire bytes (copied before returning). Returns 0 or a libuv error. */
    int (*write)(void *ctx, const void *bytes, size_t len);
    /** Reports body bytes (excluding chunk framing) and whole events just queued. */
    void (*sent)(void *ctx, uint64_t body_bytes, uint64_t events);
    /** The stream is over: how it ended (for the journal) and what to do with the connection.
     * The stream is idle again when this runs. */
    void (*done)(void *ctx, fl_end_t end, fl_stream_action_t action);
} fl_stream_sink_t;

/** One connection's streamer; embedded in the connection, reused for each response. */
struct fl_stream_s {
    uv_timer_t timer;   /* fires when the next event is due */
    fl_script_t script; /* owned while active */
    fl_framing_t framing;
    size_t next;    /* index of the next event to send */
    uint64_t t0_ms; /* uv_now when the response headers were queued */
    bool active;    /* a script is being sent */
    bool paused;    /* backpressure: the timer is stopped until resume */
    fl_stream_sink_t sink;
};

/** Initialises the timer on loop. Returns 0 or a libuv error. Close with fl_stream_close. */
int fl_stream_init(uv_loop_t *loop, fl_stream_t *s);

/**
 * Starts sending script (its contents are moved into the stream; *script is left empty) with
 * the given framing; times count from now (uv_now), i.e. from the response headers. The sink
 * is copied. Returns 0 or a libuv error (the script is then freed).
 */
int fl_stream_begin(fl_stream_t *s, fl_script_t *script, fl_framing_t framing,
                    const fl_stream_sink_t *sink);

/** Writes len body bytes, as one chunk under chunked framing. Returns 0 or a libuv error. */
int fl_stream_write_body(fl_stream_t *s, const void *bytes, size_t len);

/** Ends the body normally: the zero-length chunk (chunked) then NEXT, or FIN (close framing).
 * Reports FL_END_COMPLETE. */
void fl_stream_finish(fl_stream_t *s);

/** Ends the stream early with the given end and action (FIN or RST) and no terminator. */
void fl_stream_end(fl_stream_t *s, fl_end_t end, fl_stream_action_t action);

/** Stops sending without calling the sink (the connection is going away). Frees the script. */
void fl_stream_abort(fl_stream_t *s);

/** Backpressure: stop the timer until fl_stream_resume. Idempotent. */
void fl_stream_pause(fl_stream_t *s);
/** Re-arms the timer; events that fell due while paused go out at once. Idempotent. */
void fl_stream_resume(fl_stream_t *s);

/** Aborts and closes the timer handle; cb runs when libuv has closed it. */
void fl_stream_close(fl_stream_t *s, uv_close_cb cb);

#endif

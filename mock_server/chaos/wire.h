/*
 * The wire plan: exactly what one response puts on the socket, when, and how it ends.
 *
 * fl_chaos_compile() produces it from a script and a fault plan; the connection executes it with
 * one uv_timer_t and nothing else, without knowing any fault: an op says what to write and when,
 * how the response ends (DONE, FIN, RST, HANG, PING), and how long a fault keeps the connection
 * silent on purpose (silent_ms, what the journal's "stalled" needs). Every byte (status line,
 * headers, chunk framing, SSE events, injected garbage) is in `bytes`; ops are in time order.
 * Keeping the plan a plain value makes each fault testable without a socket, and gives the
 * journal exact evidence: every op knows the fault that made it, the clean event index and body
 * offset it stands for. A fault of the plan that cannot apply to this response (chaos.h
 * fl_chaos_applies) is listed in `skipped` with its reason instead.
 */
#ifndef FL_WIRE_H
#define FL_WIRE_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FL_WIRE_WRITE, /* write bytes[off, off+len) */
    FL_WIRE_FIRE,  /* a fault takes effect here: record it in the journal (no bytes) */
    FL_WIRE_DONE,  /* the response is complete: keep-alive continues (or FIN for close framing) */
    FL_WIRE_FIN,   /* orderly close (uv_shutdown, then close), response incomplete */
    FL_WIRE_RST,   /* abortive close (uv_tcp_close_reset), response incomplete */
    FL_WIRE_HANG,  /* send nothing more; keep the socket open until the client closes */
    FL_WIRE_PING,  /* from at_ms on, write bytes[off, off+len) every `every_ms` until the client
                      closes: a stall forever with keep-alive */
} fl_wire_op_kind_t;

#define FL_WIRE_NO_FAULT UINT32_MAX

/** fl_wire_op_t.silent_ms of a fault that holds the response back for good. */
#define FL_WIRE_FOREVER UINT64_MAX

/** One step of the plan. */
typedef struct fl_wire_op_s {
    fl_wire_op_kind_t kind;
    uint64_t at_ms;     /* when, in ms after the response began (request complete) */
    size_t off, len;    /* the bytes, for WRITE and PING */
    uint64_t every_ms;  /* PING period */
    bool own_write;     /* WRITE: must be its own write call (fragment pieces): never merged
                           with neighbours due at the same time */
    uint32_t fault;     /* index of the fault in the plan that made this op, or FL_WIRE_NO_FAULT */
    uint32_t event;     /* clean event index (0-based) the op belongs to; UINT32_MAX for none */
    uint64_t body_off;  /* clean body offset at this op (bytes of the clean body before it) */
    uint64_t silent_ms; /* FIRE: the fault holds the response back on purpose for this many ms
                           from the moment it fires (only keep-alive pings go out meanwhile);
                           FL_WIRE_FOREVER for good (stall forever, no_response); 0 when it
                           does not. A client leaving then has caught a stall, not a send. */

    /* WRITE: clean events whose last byte this write carries, once (a duplicate's copy holds
     * its event's last byte; bytes a fault inserted are no event's); the journal's events_sent
     * adds them up as writes go out, so an event a fault dropped never counts */
    uint32_t events_done;
    /* WRITE: FL_WIRE_MARK_* bits of the watched clean events (chaos.h watch_finish,
     * watch_usage) whose last byte this write carries; the journal's finish_sent and
     * usage_sent say whether they went out */
    unsigned marks;
} fl_wire_op_t;

/** fl_wire_op_t.marks: the write completes the event that carries the finish reason. */
#define FL_WIRE_MARK_FINISH 1u
/** fl_wire_op_t.marks: the write completes the last event that carries usage. */
#define FL_WIRE_MARK_USAGE 2u

/** Room for the finish reason a plan's clean response carries, its NUL included. */
#define FL_WIRE_FINISH_BYTES 24

/**
 * A span of a shared plan's bytes that differs per response (its id, its `created` time):
 * stamp[from, from+len) of the plan replaces bytes[off, off+len).
 */
typedef struct fl_wire_patch_s {
    size_t off;
    uint32_t len;
    uint32_t from;
} fl_wire_patch_t;

/** Room for a response's patch values (an id and a time). */
#define FL_WIRE_STAMP_BYTES 32

/** Room for one skip reason, its NUL included (longer reasons are cut). */
#define FL_WIRE_REASON_BYTES 128

/**
 * A fault of the plan that cannot apply to this response and was left out (chaos.h
 * fl_chaos_applies), e.g. `chunk_size needs chunked framing; this response is close-delimited
 * (HTTP/1.0)`. The journal lists it under "skipped".
 */
typedef struct fl_wire_skip_s {
    uint32_t fault;                    /* index of the fault in the plan */
    char reason[FL_WIRE_REASON_BYTES]; /* one line, NUL-terminated */
} fl_wire_skip_t;

/** A compiled response. Owns its bytes and ops unless shared; init then close. */
typedef struct fl_wire_s {
    fl_buf_t bytes;    /* every byte any op writes */
    fl_wire_op_t *ops; /* time-ordered; owned unless shared */
    size_t n_ops;
    size_t cap_ops;
    bool shared; /* bytes, ops, patches and skipped belong to a reply template (reply_cache.h) that
                    outlives this plan: read-only, never freed or pushed to through it */
    const fl_wire_patch_t *patches; /* shared plans only: sorted by off, disjoint; else NULL */
    size_t n_patches;
    char stamp[FL_WIRE_STAMP_BYTES]; /* this response's values for the patches */
    int status;             /* the HTTP status the plan sends, 0 when it sends no status line */
    int64_t retry_after_ms; /* the wait its Retry-After / retry-after-ms header demands, in ms
                               (retry-after-ms wins when both are sent); -1 when none */
    char finish_reason[FL_WIRE_FINISH_BYTES]; /* the finish reason its finish event (or JSON
                                body) carries, in the dialect's words ("stop", "end_turn",
                                "completed", "STOP"); "" when none (raw events). Set by the
                                caller (serve/reply.c), not the compiler */
    int64_t usage_input;     /* the input tokens the clean response reports; -1 none */
    int64_t usage_output;    /* the output tokens it reports; -1 none */
    bool page;               /* the response became a whole page with a content-length (an
                                http_error, a proxy's 504/524 page): its framing is `length`
                                whatever the request asked for */
    fl_wire_skip_t *skipped; /* the faults left out, in plan order; owned unless shared */
    size_t n_skipped;
} fl_wire_t;

/** Prepares an empty plan. Never fails. */
void fl_wire_init(fl_wire_t *w);
/** Frees everything the plan owns. */
void fl_wire_close(fl_wire_t *w);
/**
 * Appends an op; for WRITE and PING the bytes are copied into w->bytes (op->off is set).
 * Returns 0 or FL_ENOMEM (plan unchanged).
 */
int fl_wire_push(fl_wire_t *w, const fl_wire_op_t *op, const void *bytes, size_t len);
/**
 * Records that fault index `fault` of the plan was left out, and why (copied, cut to
 * FL_WIRE_REASON_BYTES - 1 bytes). Returns 0, FL_ENOMEM or FL_EINVAL on a shared plan (plan
 * unchanged).
 */
int fl_wire_skip(fl_wire_t *w, uint32_t fault, const char *reason);
/**
 * Copies bytes[off, off+len) as this response sends them, patches applied, into dst (len
 * bytes). The range must lie within w->bytes.
 */
void fl_wire_read(const fl_wire_t *w, size_t off, size_t len, char *dst);
/** True when bytes[off, off+len) needs no patch and can be sent from w->bytes.data as is. */
bool fl_wire_span_clean(const fl_wire_t *w, size_t off, size_t len);
/** Sum of WRITE bytes; the body and framing as the client will receive them, for tests. */
size_t fl_wire_total_bytes(const fl_wire_t *w);

#endif

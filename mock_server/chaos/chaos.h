/*
 * The chaos layer: faults placed at exact events, bytes and times, attempt by attempt.
 *
 * A scenario's `attempts:` list gives each request its fault plan (the Nth request of a scenario
 * uses entry N, the last entry repeats). fl_chaos_compile() turns one response (its event script)
 * and one plan into a wire plan (wire.h): every byte that will reach the socket, when, in which
 * write, and how the connection ends. Compiling ahead of time keeps the socket side trivial and
 * makes every fault a pure, testable function of (script, plan, seed); the clean path compiles to
 * one write per batch of events and nothing else.
 *
 * Positions refer to the clean stream (before any fault): `event: N` is the Nth event of the
 * body (1-based), `byte: N` the body byte at 0-based offset N (i.e. after N bytes), `ms: N` the
 * time N ms after the response began (the request was complete), on the final timeline with
 * every other fault's delays. `headers` is before the status line, `end` where the stream would
 * end (after the last event, before the end of the body).
 */
#ifndef FL_CHAOS_H
#define FL_CHAOS_H

#include "encode/dialect.h"
#include "model/fault.h"
#include "model/scenario.h"
#include "encode/script.h"
#include "chaos/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** How the body is delimited on the wire. */
typedef enum {
    FL_BODY_CHUNKED, /* Transfer-Encoding: chunked: one chunk per write batch, then 0\r\n\r\n */
    FL_BODY_LENGTH,  /* Content-Length (non-streaming JSON): bytes as they are */
    FL_BODY_CLOSE,   /* no length: the body ends at FIN */
} fl_body_framing_t;

/** Everything fl_chaos_compile needs about the clean response. All pointers borrowed. */
typedef struct fl_chaos_input_s {
    const fl_script_t *script; /* the clean body; event at_ms are ms after the headers */
    fl_dialect_t dialect;
    fl_body_framing_t framing;
    const char *head;       /* clean status line and headers, ending in the blank line */
    size_t head_len;        /* bytes */
    const char *request_id; /* x-request-id for responses the chaos layer makes (http_error) */
    fl_encode_ctx_t ctx;    /* for error events */
} fl_chaos_input_t;

/**
 * Compiles one response and one attempt's faults (applied in the order given) into a wire plan.
 * With no faults the plan is: head at 0, the events batched by time, the terminator, DONE.
 * out must be initialised and empty; on failure it is left empty.
 * Returns 0, FL_ENOMEM, or FL_EINVAL for a fault that cannot apply (the validator rejects those
 * first, so the server never sees one).
 */
int fl_chaos_compile(const fl_chaos_input_t *in, const fl_fault_t *faults, size_t n_faults,
                     fl_wire_t *out);

#endif

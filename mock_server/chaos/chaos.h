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

/** What the body is, which decides the faults that can reach it (fl_chaos_applies). */
typedef enum {
    FL_BODY_STREAM, /* an SSE event stream: one script event per SSE event (the default) */
    FL_BODY_JSON,   /* a non-streaming answer ("stream": false): the dialect's single JSON
                       object as a one-event script, sent with FL_BODY_LENGTH */
} fl_body_kind_t;

/** Everything fl_chaos_compile needs about the clean response. All pointers borrowed. */
typedef struct fl_chaos_input_s {
    const fl_script_t *script; /* the clean body; event at_ms are ms after the headers */
    fl_dialect_t dialect;
    fl_body_framing_t framing;
    fl_body_kind_t kind;
    const char *framing_why; /* why the body has its framing, for skip reasons (e.g. "HTTP/1.0",
                                "framing: close"); NULL when not said */
    const char *head;        /* clean status line and headers, ending in the blank line */
    size_t head_len;         /* bytes */
    const char *request_id;  /* x-request-id for responses the chaos layer makes (http_error) */
    fl_encode_ctx_t ctx;     /* for error events */
    bool resumed;            /* the events after a resume point (encode/script.h
                                fl_script_resume), not the stream the validator checked */
    size_t watch_finish;     /* 1 + the clean event that carries the finish reason, whose
                                delivery the plan reports (FL_WIRE_MARK_FINISH); 0 none */
    size_t watch_usage;      /* 1 + the last clean event that carries usage
                                (FL_WIRE_MARK_USAGE); 0 none */
} fl_chaos_input_t;

/**
 * Whether fault f can apply to the response in describes. A response differs from the one the
 * validator checked every fault against (the scenario's own streamed response, load/load.h) in
 * its framing (an HTTP/1.0 client gets a close-delimited body) and its kind (a non-streaming
 * request gets one JSON object). The rule, checked in this order (the first that fails is the
 * reason; README "What reaches which body"):
 *  1. corrupt chunk_size needs FL_BODY_CHUNKED framing.
 *  2. On FL_BODY_JSON, no body fault (phase FL_PHASE_BODY in the fault catalog: end,
 *     drop_sentinel, corrupt, line_endings, duplicate, inject, error_event) applies: they
 *     rewrite the event stream, and a non-streaming body is one JSON object whose length its
 *     head states.
 *  3. On FL_BODY_JSON, `{event: N}` exists only for N = 1 (the body's start): a positioned fault
 *     at a later event is skipped. headers, end, `{byte: N}` (N at or past the body's length is
 *     its end, as on any body), `{ms: N}` and the default position (the middle event: event 1)
 *     apply.
 *  4. On FL_BODY_JSON, a stall with keepalive_ms applies only at headers (where it sends no
 *     ping): its pings are SSE comments.
 *  5. On a resumed FL_BODY_STREAM, a whole-event fault (duplicate, drop, replace, corrupt json,
 * utf8, sse) with no event to act on (the stream has none, or its position is past them), and
 *     corrupt json/utf8 at an event without JSON: a resumed stream is shorter than the
 *     scenario's, and its event N another event.
 * Everything else applies: the response-level faults, delay_headers, proxy_timeout,
 * idle_timeout, and on streamed bodies every fault the validator accepted.
 * Returns true, or false with a one-line reason written to reason (reason_size bytes, cut to
 * fit; reason may be NULL when reason_size is 0).
 */
bool fl_chaos_applies(const fl_chaos_input_t *in, const fl_fault_t *f, char *reason,
                      size_t reason_size);

/**
 * Compiles one response and one attempt's faults (applied in the order given) into a wire plan.
 * With no faults the plan is: head at 0, the events batched by time, the terminator, DONE.
 * A fault that cannot apply to this response (fl_chaos_applies) is skipped: out->skipped names
 * it with the reason, and the other faults compile as if it were not there.
 * out must be initialised and empty; on failure it is left empty.
 * Returns 0, FL_ENOMEM, FL_ELIMIT (one fault would generate over a million ops), or
 * FL_EINVAL for a fault the validator should have refused (parameters out of range, an event
 * with no JSON to corrupt, event 0): a Faultline bug when the server meets one.
 */
int fl_chaos_compile(const fl_chaos_input_t *in, const fl_fault_t *faults, size_t n_faults,
                     fl_wire_t *out);

/**
 * True when corrupt `kind` (json or utf8) has something to act on in one encoded event of len
 * bytes: json needs a first `data:` value of at least 2 bytes, utf8 a string value in it. The
 * loader asks this so that it refuses exactly the events the compiler could not corrupt.
 */
bool fl_chaos_can_corrupt(const char *event, size_t len, fl_corrupt_kind_t kind);

#endif

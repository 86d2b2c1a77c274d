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

#include "dialect.h"
#include "scenario.h"
#include "script.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Where a fault applies. */
typedef enum {
    FL_AT_DEFAULT, /* not given: each fault's own default (see the catalog) */
    FL_AT_HEADERS, /* before the status line */
    FL_AT_EVENT,   /* before event n (1-based) of the clean body */
    FL_AT_BYTE,    /* before clean body byte n (0-based offset) */
    FL_AT_MS,      /* n ms after the response began */
    FL_AT_END,     /* after the last event, before the body's end */
} fl_at_kind_t;

typedef struct fl_at_s {
    fl_at_kind_t kind;
    uint64_t n; /* event number, byte offset or ms, by kind */
} fl_at_t;

/* X(name, yaml key): the fault catalog, in the README's order. */
#define FL_FAULT_MAP(X)                                                                            \
    X(RESET, "reset")                                                                              \
    X(CLOSE, "close")                                                                              \
    X(END, "end")                                                                                  \
    X(DROP_SENTINEL, "drop_sentinel")                                                              \
    X(STALL, "stall")                                                                              \
    X(THROTTLE, "throttle")                                                                        \
    X(FRAGMENT, "fragment")                                                                        \
    X(CORRUPT, "corrupt")                                                                          \
    X(LINE_ENDINGS, "line_endings")                                                                \
    X(DUPLICATE, "duplicate")                                                                      \
    X(INJECT, "inject")                                                                            \
    X(HTTP_ERROR, "http_error")                                                                    \
    X(ERROR_EVENT, "error_event")                                                                  \
    X(PROXY_TIMEOUT, "proxy_timeout")                                                              \
    X(IDLE_TIMEOUT, "idle_timeout")                                                                \
    X(DELAY_HEADERS, "delay_headers")                                                              \
    X(REFUSE, "refuse")                                                                            \
    X(NO_RESPONSE, "no_response")

typedef enum {
#define X(name, key) FL_FAULT_##name,
    FL_FAULT_MAP(X)
#undef X
        FL_FAULT__COUNT
} fl_fault_kind_t;

/** Returns the YAML key of a fault kind ("reset", ...). */
const char *fl_fault_name(fl_fault_kind_t kind);

/**
 * True for faults tied to a place in the stream (reset, close, end, stall, throttle, fragment,
 * corrupt, duplicate, inject, error_event): without `at` they apply at the middle event, and a
 * seeded chaos draw gives them a random event. The others act on the whole response or around
 * the headers.
 */
bool fl_fault_takes_position(fl_fault_kind_t kind);

/** How a cut ends the connection. */
typedef enum { FL_CUT_FIN, FL_CUT_RST } fl_cut_t;

/** corrupt's kinds. */
typedef enum {
    FL_CORRUPT_JSON,       /* the event's data JSON truncated halfway */
    FL_CORRUPT_UTF8,       /* invalid UTF-8 bytes inside the event's last JSON string */
    FL_CORRUPT_CHUNK_SIZE, /* the chunk-size line of the event's chunk is not hex */
    FL_CORRUPT_GARBAGE,    /* `bytes` seeded random bytes inserted at the position */
    FL_CORRUPT_SSE,        /* spec-legal oddities: a field with no colon, an unknown field,
                              `data:` with no space (a conforming parser loses nothing) */
} fl_corrupt_kind_t;

/** One fault of a plan, with its parameters. Units: ms and bytes. */
typedef struct fl_fault_s {
    fl_fault_kind_t kind;
    fl_at_t at;
    int line, col;         /* where it was written, for diagnostics; 0 when generated */
    uint64_t ms;           /* stall, idle_timeout, delay_headers; proxy_timeout's after_ms */
    bool forever;          /* stall: ms: forever */
    uint64_t keepalive_ms; /* stall: ping every keepalive_ms during the stall; 0 = none */
    uint64_t bytes;        /* fragment piece size; throttle bytes_per_s; garbage length */
    uint64_t gap_ms;       /* fragment: between pieces */
    uint64_t *offsets;     /* owned or NULL: fragment at these clean body offsets */
    size_t n_offsets;
    fl_corrupt_kind_t corrupt;
    uint64_t seed;    /* corrupt garbage */
    bool seed_set;    /* corrupt garbage: seed was written (else a chaos draw picks one) */
    bool crlf;        /* line_endings: crlf (true) or cr (false) */
    bool drop_finish; /* drop_sentinel: drop the finish/stop reason event too */
    char *inject;     /* owned: inject's bytes */
    size_t inject_len;
    int status;             /* http_error, proxy_timeout/idle_timeout before headers */
    int64_t retry_after_s;  /* http_error: Retry-After header; -1 none */
    int64_t retry_after_ms; /* http_error: retry-after-ms header; -1 none */
    bool html;              /* http_error: a proxy's HTML page instead of the dialect's JSON */
    int error_class;        /* http_error / error_event: an fl_error_class_t */
    char *message;          /* owned or NULL: error message */
    fl_cut_t cut;           /* reset (always RST), close (FIN), proxy/idle timeout, refuse */
} fl_fault_t;

/** Releases what one fault owns (not the struct itself). */
void fl_fault_close(fl_fault_t *f);

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

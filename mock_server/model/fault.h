/*
 * The fault catalog: every fault Faultline can inject, where it applies, and its parameters.
 *
 * This is the model of a fault as a scenario states it, independent of how the chaos layer
 * (chaos/) carries it out and of how the loader (load/) reads it. The catalog is documented in
 * the Faults section of README.md.
 */
#ifndef FL_FAULT_H
#define FL_FAULT_H

#include "base/buf.h"
#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Error classes, mapped to each provider's error `type` / `code` names. */
typedef enum {
    FL_ERR_INVALID_REQUEST,   /* 400: invalid_request_error */
    FL_ERR_AUTHENTICATION,    /* 401: authentication_error / invalid_api_key */
    FL_ERR_PERMISSION,        /* 403 */
    FL_ERR_NOT_FOUND,         /* 404 */
    FL_ERR_REQUEST_TOO_LARGE, /* 413 */
    FL_ERR_RATE_LIMIT,        /* 429: rate_limit_error / rate_limit_exceeded */
    FL_ERR_SERVER,            /* 500: api_error / server_error */
    FL_ERR_OVERLOADED,        /* 529 anthropic overloaded_error; 503 for OpenAI */
    FL_ERR_TIMEOUT,           /* 408 / 504 */
} fl_error_class_t;

/** The error class a status code stands for in HTTP error responses (400→invalid_request...). */
fl_error_class_t fl_fault_error_class_for_status(int status);

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

/**
 * Deep-copies one fault (offsets, inject bytes, message) into *dst.
 * Returns 0 or FL_ENOMEM (dst zeroed).
 */
int fl_fault_copy(fl_fault_t *dst, const fl_fault_t *src);

/**
 * Appends a one-line description of f for the journal and reports, e.g. `reset at event 12`,
 * `stall 5000 ms (keepalive 1000 ms) at byte 300`, `http_error 429 retry-after 2 s`.
 * No trailing newline. Returns 0 or FL_ENOMEM.
 */
int fl_fault_describe(const fl_fault_t *f, fl_buf_t *out);

/**
 * The scenario-file name of an error class (fl_error_class_t): invalid_request, authentication,
 * permission, not_found, request_too_large, rate_limit, server, overloaded, timeout.
 * Returns a static string ("unknown" when out of range).
 */
const char *fl_fault_error_type_name(int error_class);

/**
 * Parses an error type as written in a scenario: one of the names above, or a provider's own
 * spelling (invalid_request_error, authentication_error, permission_error, not_found_error,
 * rate_limit_error, rate_limit_exceeded, api_error, server_error, overloaded_error,
 * timeout_error). Returns 0 and sets *out to an fl_error_class_t, or FL_EINVAL.
 */
int fl_fault_error_type_parse(const char *name, int *out);

#endif

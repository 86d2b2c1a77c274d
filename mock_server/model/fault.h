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
    FL_AT_CONTENT, /* before content event n (1-based): the nth piece of the answer, a word with
                      chunking: word, a chunk of `chunks:`; n = pieces + 1 is right after the
                      last piece (encode/script.h, fl_script_content_event) */
} fl_at_kind_t;

typedef struct fl_at_s {
    fl_at_kind_t kind;
    uint64_t n; /* event number, content event number, byte offset or ms, by kind */
} fl_at_t;

/**
 * The phase of the chaos compiler (chaos/chaos.c) that carries a fault out, in the order the
 * phases run. Phase 3 of the compiler, framing (pieces -> writes), carries no fault of its own.
 */
typedef enum {
    FL_PHASE_RESPONSE, /* 0: the whole response replaced (chaos.c response_level) */
    FL_PHASE_BODY,     /* 1: the body's bytes rewritten (chaos_body.c) */
    FL_PHASE_TIME,     /* 2: bytes moved later (chaos_time.c) */
    FL_PHASE_CUT,      /* 4: the connection ended on the final timeline (chaos_cut.c) */
    FL_PHASE_WIRE,     /* 5: writes split and spread out (chaos_frame.c) */
} fl_fault_phase_t;

/*
 * The fault catalog: one row per fault, in the README's order. Every list of faults in the
 * code (the enum, names, accepted keys, which phase runs it) is generated from it; the JSON
 * Schema's list is checked against it by tests/unit/load/fault/schema.c.
 *
 *   X(NAME, key, phase, at, required, params)
 *     NAME      enum suffix: FL_FAULT_<NAME>
 *     key       the YAML key, also its name in the journal and reports
 *     phase     the chaos phase that carries it out: FL_PHASE_<phase>; a BODY fault rewrites
 *               the event stream, so it never reaches a non-streaming JSON body (chaos.h
 *               fl_chaos_applies skips it there)
 *     at        true when it takes a position (`at`; default: the middle event, a seeded chaos
 *               draw gives it a random event); false for whole-stream and around-the-headers
 *               faults. On a non-streaming body only event 1 exists: a positioned fault at a
 *               later event is skipped there
 *     required  what it cannot go without, as "X needs parameters: <required>" names it; NULL
 *               when its bare name is a complete fault
 *     params    the YAML keys it accepts besides `at`, each as P("key"), in the order the
 *               loader's "valid keys" list shows them
 *
 * P is the caller's macro for one parameter (FL_FAULT_KEY makes them array items).
 */
#define FL_FAULT_MAP(X, P)                                                                         \
    X(RESET, "reset", CUT, true, NULL, )                                                           \
    X(CLOSE, "close", CUT, true, NULL, )                                                           \
    X(END, "end", BODY, true, NULL, )                                                              \
    X(DROP_SENTINEL, "drop_sentinel", BODY, false, NULL, P("drop_finish"))                         \
    X(STALL, "stall", TIME, true, "ms",                                                            \
      P("ms") P("keepalive_ms") P("keepalive") P("keepalive_jitter_ms"))                           \
    X(THROTTLE, "throttle", WIRE, true, "bytes_per_s", P("bytes_per_s"))                           \
    X(FRAGMENT, "fragment", WIRE, true, "bytes or offsets", P("bytes") P("offsets") P("gap_ms"))   \
    X(CORRUPT, "corrupt", BODY, true, "kind", P("kind") P("bytes") P("seed"))                      \
    X(LINE_ENDINGS, "line_endings", BODY, false, "style", P("style"))                              \
    X(DUPLICATE, "duplicate", BODY, true, NULL, )                                                  \
    X(INJECT, "inject", BODY, true, "bytes", P("bytes"))                                           \
    X(HTTP_ERROR, "http_error", RESPONSE, false, "status",                                         \
      P("status") P("retry_after_s") P("retry_after_ms") P("html") P("type") P("message"))         \
    X(ERROR_EVENT, "error_event", BODY, true, NULL, P("type") P("message"))                        \
    X(PROXY_TIMEOUT, "proxy_timeout", CUT, false, "after_ms", P("after_ms") P("status") P("cut"))  \
    X(IDLE_TIMEOUT, "idle_timeout", CUT, false, "ms", P("ms") P("status") P("cut"))                \
    X(DELAY_HEADERS, "delay_headers", TIME, false, "ms", P("ms"))                                  \
    X(REFUSE, "refuse", RESPONSE, false, NULL, P("reset"))                                         \
    X(NO_RESPONSE, "no_response", RESPONSE, false, NULL, )                                         \
    X(DROP, "drop", BODY, true, NULL, )                                                            \
    X(REPLACE, "replace", BODY, true, "data", P("data"))

/** FL_FAULT_MAP's P for an array of a fault's parameter keys: `{params NULL}`. */
#define FL_FAULT_KEY(key) key,

/** Most parameters one fault accepts besides `at` (checked when fault.c is compiled). */
#define FL_FAULT_MAX_PARAMS 8

typedef enum {
#define X(name, key, phase, at, required, params) FL_FAULT_##name,
    FL_FAULT_MAP(X, FL_FAULT_KEY)
#undef X
        FL_FAULT__COUNT
} fl_fault_kind_t;

/** One row of the catalog (FL_FAULT_MAP), as data. Every pointer is static. */
typedef struct fl_fault_info_s {
    const char *name;          /* YAML key */
    fl_fault_phase_t phase;    /* the chaos phase that carries it out */
    bool takes_position;       /* accepts `at` */
    const char *required;      /* what its bare name lacks, NULL when nothing */
    const char *const *params; /* NULL-terminated keys besides `at` */
} fl_fault_info_t;

/** The catalog row of kind, or NULL when kind is out of range. */
const fl_fault_info_t *fl_fault_info(fl_fault_kind_t kind);

/** Every fault's YAML key in catalog order, NULL-terminated (static). */
const char *const *fl_fault_names(void);

/** Returns the YAML key of a fault kind ("reset", ...), "unknown" when out of range. */
const char *fl_fault_name(fl_fault_kind_t kind);

/** Looks up a fault by its YAML key. Returns 0 and sets *out, or FL_EINVAL. */
int fl_fault_kind_parse(const char *name, fl_fault_kind_t *out);

/**
 * True for faults tied to a place in the stream (the catalog's `at` column): without `at` they
 * apply at the middle event, and a seeded chaos draw gives them a random event. The others act
 * on the whole stream, or on the whole response or around the headers.
 */
bool fl_fault_takes_position(fl_fault_kind_t kind);

/** The chaos phase that carries kind out (the catalog's phase column). */
fl_fault_phase_t fl_fault_phase(fl_fault_kind_t kind);

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
    int line, col;                /* where it was written, for diagnostics; 0 when generated */
    uint64_t ms;                  /* stall, idle_timeout, delay_headers; proxy_timeout's after_ms */
    bool forever;                 /* stall: ms: forever */
    uint64_t keepalive_ms;        /* stall: ping every keepalive_ms during the stall; 0 = none */
    uint64_t keepalive_jitter_ms; /* stall: each ping interval uniform in keepalive_ms +- this,
                                     seeded (finite stalls only); 0 = a fixed period */
    char *keepalive;              /* owned or NULL: stall: each ping's bytes, sent as written
                                     (NULL: the dialect's own ping) */
    size_t keepalive_len;
    uint64_t bytes;    /* fragment piece size; throttle bytes_per_s; garbage length */
    uint64_t gap_ms;   /* fragment: between pieces */
    uint64_t *offsets; /* owned or NULL: fragment at these clean body offsets */
    size_t n_offsets;
    fl_corrupt_kind_t corrupt;
    uint64_t seed;    /* corrupt garbage */
    bool seed_set;    /* corrupt garbage: seed was written (else a chaos draw picks one) */
    bool crlf;        /* line_endings: crlf (true) or cr (false) */
    bool drop_finish; /* drop_sentinel: drop the finish/stop reason event too */
    char *inject;     /* owned: inject's bytes; replace's data (the new `data:` value) */
    size_t inject_len;
    int status;             /* http_error, proxy_timeout/idle_timeout before headers */
    int64_t retry_after_s;  /* http_error: Retry-After header; -1 none */
    int64_t retry_after_ms; /* http_error: retry-after-ms header; -1 none */
    bool html;              /* http_error: a proxy's HTML page instead of the dialect's JSON */
    fl_error_class_t error_class; /* http_error / error_event */
    char *message;                /* owned or NULL: error message */
    fl_cut_t cut;                 /* reset (always RST), close (FIN), proxy/idle timeout, refuse */
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
 * Sets *f to kind's defaults before its parameters are read: no position (FL_AT_DEFAULT), no
 * Retry-After headers (-1), cut FIN (RST for reset), status 504 for proxy_timeout and
 * idle_timeout, error type server for error_event; every other field zero.
 */
void fl_fault_init(fl_fault_t *f, fl_fault_kind_t kind);

/**
 * The scenario-file name of an error class: invalid_request, authentication, permission,
 * not_found, request_too_large, rate_limit, server, overloaded, timeout.
 * Returns a static string ("unknown" when out of range).
 */
const char *fl_fault_error_type_name(fl_error_class_t error_class);

/**
 * Parses an error type as written in a scenario: one of the names above, or a provider's own
 * spelling (invalid_request_error, authentication_error, permission_error, not_found_error,
 * rate_limit_error, rate_limit_exceeded, api_error, server_error, overloaded_error,
 * timeout_error). Returns 0 and sets *out, or FL_EINVAL.
 */
int fl_fault_error_type_parse(const char *name, fl_error_class_t *out);

#endif

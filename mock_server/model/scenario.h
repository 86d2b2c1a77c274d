/*
 * The scenario model: what one YAML scenario file says, after validation.
 *
 * A scenario scripts one answer (text, exact chunks, a tool call, or raw SSE events) in one
 * provider dialect, at a scripted pace, plus per-attempt fault plans (`attempts:`, filled in by
 * the chaos layer) and what a graceful client does (`expect:`, read by the harness).
 * The format is documented in README.md and scenarios/faultline.schema.json; this header is
 * its in-memory form. Every string here is owned by the scenario and freed by fl_scenario_free.
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include "base/error.h"
#include "base/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The provider wire formats Faultline speaks. */
typedef enum {
    FL_DIALECT_OPENAI_CHAT,        /* POST /v1/chat/completions */
    FL_DIALECT_OPENAI_RESPONSES,   /* POST /v1/responses */
    FL_DIALECT_ANTHROPIC_MESSAGES, /* POST /v1/messages */
    FL_DIALECT_GEMINI,             /* POST /v1beta/models/{model}:streamGenerateContent?alt=sse,
                                      and :generateContent */
} fl_dialect_t;

/** Returns "openai-chat", "openai-responses", "anthropic-messages" or "gemini". */
const char *fl_dialect_name(fl_dialect_t d);
/** Parses a dialect name. Returns 0 and sets *out, or FL_EINVAL. */
int fl_dialect_parse(const char *name, fl_dialect_t *out);

/** Why the answer ended, in OpenAI's names; each dialect maps it to its own (end_turn, ...). */
typedef enum {
    FL_FINISH_STOP,           /* openai "stop", anthropic "end_turn", responses "completed",
                                 gemini "STOP" */
    FL_FINISH_LENGTH,         /* "length", "max_tokens", responses "incomplete", "MAX_TOKENS" */
    FL_FINISH_TOOL_CALLS,     /* "tool_calls", "tool_use", gemini "STOP" (it has no own name) */
    FL_FINISH_CONTENT_FILTER, /* "content_filter", anthropic "refusal", gemini "SAFETY" */
} fl_finish_t;

/** Returns the scenario-file name of a finish reason ("stop", "length", ...). */
const char *fl_finish_name(fl_finish_t f);

/** One raw SSE event from `response.events`, sent exactly as written. */
typedef struct fl_raw_event_s {
    char *raw;      /* owned; when non-NULL, these raw_len bytes are sent verbatim and the
                       fields below are ignored */
    size_t raw_len; /* bytes */
    char *event;    /* owned or NULL: the SSE `event` field */
    char *data;     /* owned or NULL: the SSE `data` field (may contain LF: one data line each) */
    char *id;       /* owned or NULL: the SSE `id` field */
    int64_t retry;  /* the SSE `retry` field in ms; -1 when absent */
} fl_raw_event_t;

/** A scripted tool call: the name and its arguments as compact JSON text. */
typedef struct fl_tool_call_s {
    char *name;      /* owned */
    char *arguments; /* owned: compact JSON object text, e.g. {"city":"Paris"} */
    char *id;        /* owned: call id, e.g. "call_1" (derived from the name when omitted) */
} fl_tool_call_t;

/** Transport framing of a streamed body. */
typedef enum {
    FL_FRAMING_CHUNKED, /* Transfer-Encoding: chunked (the default) */
    FL_FRAMING_CLOSE,   /* Connection: close, no length: the body ends at FIN */
} fl_framing_t;

/** How a replayed response ends (`response.ending`), as the capture it came from ended. */
typedef enum {
    FL_REPLAY_COMPLETE, /* the proper end: the chunked terminator (or FIN on close framing) */
    FL_REPLAY_FIN,      /* FIN before the proper end: no terminator */
    FL_REPLAY_RST,      /* the connection reset */
    FL_REPLAY_TIMEOUT,  /* nothing more is sent; the connection stays open (a stall to the end) */
} fl_replay_end_t;

/** One write of a replay: these bytes in one send, at_ms after the response headers. */
typedef struct fl_replay_write_s {
    uint64_t at_ms; /* ms after the headers, at speed 1 */
    char *bytes;    /* owned; any byte, NUL included */
    size_t len;     /* bytes */
} fl_replay_write_t;

/**
 * A byte-exact timed replay (`response.writes:` or `response.capture:`, docs/capture.md): the
 * body as the writes it went out in, each at its time, and how it ended. The SSE events that
 * fault positions count are derived from the bytes (encode/dialect.c).
 */
typedef struct fl_replay_s {
    fl_replay_write_t *writes; /* owned, in time order */
    size_t n_writes;
    fl_replay_end_t ending; /* default complete */
    uint64_t end_ms;        /* when it ends, ms after the headers at speed 1 (not before the
                               last write) */
    double speed;           /* 1 real time, 10 ten times faster, 0 as fast as possible */
    char *capture;          /* owned or NULL: `response.capture` as written */
} fl_replay_t;

/** Returns the spelling of a replay ending ("complete", "fin", "rst", "timeout"). */
const char *fl_replay_end_name(fl_replay_end_t e);

/**
 * A replay time scaled by speed: at_ms / speed rounded to the nearest ms, 0 for speed 0.
 */
uint64_t fl_replay_time(const fl_replay_t *rp, uint64_t at_ms);

/** One header of `response.headers`, sent as written (the name lower-cased by the loader). */
typedef struct fl_header_s {
    char *name;  /* owned: a token (RFC 9110 section 5.1), lower case */
    char *value; /* owned: no line break */
} fl_header_t;

/** The scripted answer (`response:`). Times are in ms. */
typedef struct fl_response_s {
    char *text;    /* owned or NULL: the answer text */
    char **chunks; /* owned or NULL: exact content pieces, instead of text */
    size_t n_chunks;
    fl_chunking_kind_t chunking;
    size_t chunk_bytes;   /* N of bytes:N */
    uint64_t ttft_ms;     /* headers -> first content event */
    uint64_t interval_ms; /* between content events */
    uint64_t jitter_ms;   /* uniform in [-jitter, +jitter] per interval, seeded */
    uint64_t seed;        /* PRNG seed for jitter */
    fl_finish_t finish_reason;
    int64_t input_tokens;      /* usage; mapped to each dialect's field names */
    int64_t output_tokens;     /* -1 when not given: then derived from the content events */
    fl_tool_call_t *tool_call; /* owned or NULL: a tool call instead of text */
    fl_raw_event_t *events;    /* owned or NULL: raw SSE events instead of text */
    size_t n_events;
    fl_framing_t framing;
    fl_replay_t *replay;  /* owned or NULL: exact writes instead of text (`writes`, `capture`) */
    int status;           /* response.status: the status of the answer (200..299); 0 = 200 */
    fl_header_t *headers; /* owned or NULL: response.headers, merged over the dialect's (a name
                             given replaces the dialect's header of that name) */
    size_t n_headers;
    char *path; /* owned or NULL: response.path, the route the scenario is served on instead of
                   its dialect's (e.g. "/v1/complete"); always also under /s/NAME/ */
} fl_response_t;

/*
 * Chaos layer hooks. A fault plan per attempt; the chaos issue defines the fault catalog.
 * Kept opaque here so the model's users do not depend on the catalog.
 */
struct fl_fault_s;

/**
 * One entry of `attempts:`: the faults for that attempt, in the order they are given, and/or a
 * seeded `chaos:` block whose candidate faults are drawn per attempt (see chaos.h).
 */
typedef struct fl_attempt_s {
    struct fl_fault_s *faults; /* owned or NULL: applied as written */
    size_t n_faults;
    bool seeded;                     /* a `chaos:` block is present */
    uint64_t chaos_seed;             /* chaos.seed */
    double chaos_probability;        /* chaos.probability, in [0, 1] */
    struct fl_fault_s *chaos_faults; /* owned or NULL: candidates, position optional */
    size_t n_chaos_faults;
    fl_response_t *response; /* owned or NULL: `response:` of this entry, sent instead of the
                                scenario's for this attempt (the answer judged stays the
                                scenario's); never has a path */
} fl_attempt_t;

/** What a graceful client does (`expect:`); read by the harness. */
typedef enum { FL_OUTCOME_COMPLETE, FL_OUTCOME_ERROR, FL_OUTCOME_EITHER } fl_outcome_t;

/** expect.resume: whether the client must resume an interrupted stream. */
typedef enum {
    FL_RESUME_UNJUDGED, /* not given: not judged */
    FL_RESUME_ALLOWED,  /* resuming and regenerating both pass */
    FL_RESUME_REQUIRED, /* a fresh request after a resumable cut is restarted_not_resumed */
} fl_resume_expect_t;

typedef struct fl_expect_s {
    fl_outcome_t outcome;     /* default complete */
    uint64_t deadline_ms;     /* default 20000 */
    uint64_t max_attempts;    /* default 4 */
    uint64_t min_backoff_ms;  /* default 0: not checked */
    bool respect_retry_after; /* default true */
    char *answer;             /* owned or NULL: derived from response.text when omitted */
    uint64_t heartbeat_ms;    /* default 0: not checked; relay mode only (README, "Relays"): the
                                 longest a relay may leave the browser without a byte */

    fl_resume_expect_t resume; /* expect.resume; default FL_RESUME_UNJUDGED */
} fl_expect_t;

/** What the harness-browser does in relay mode (`downstream:`); ignored by plain client runs. */
typedef struct fl_scenario_downstream_s {
    uint64_t disconnect_after_ms; /* default 0: stay to the end; else the browser closes its
                                     connection this many ms after sending its request */
} fl_scenario_downstream_t;

/** One validated scenario. Allocated by the loader, freed with fl_scenario_free. */
typedef struct fl_scenario_s {
    int version;       /* `faultline:`, always 1 for now */
    char *name;        /* owned; [a-z0-9-]+ */
    char *description; /* owned */
    char *path;        /* owned: the file it came from ("" for built-ins) */
    fl_dialect_t dialect;
    char *model;  /* owned */
    char *prompt; /* owned */
    fl_response_t response;
    fl_attempt_t *attempts; /* owned or NULL */
    size_t n_attempts;
    fl_expect_t expect;
    fl_scenario_downstream_t downstream; /* relay mode only */
    bool profile; /* no `response:`: a fault profile, faults for a live upstream stream (`faultline
                     proxy`, `faultline run --upstream`); never served by `faultline serve` */
    bool resume;  /* `resume: true`: a request naming an event it saw (Last-Event-ID, Responses
                     starting_after or GET /v1/responses/{id}) continues after that event */
} fl_scenario_t;

/** Frees what one response owns (not the struct itself). */
void fl_response_close(fl_response_t *r);

/** Frees a scenario and everything it owns. NULL is a no-op. */
void fl_scenario_free(fl_scenario_t *sc);

/**
 * The answer a correct client prints: expect.answer, else response.text, else the chunks
 * joined, else the tool call's {"name":...,"arguments":...} line; NULL for raw events with no
 * expect.answer. The pointer is owned by the scenario (computed at load time).
 */
const char *fl_scenario_answer(const fl_scenario_t *sc);

/** A list of scenarios with unique names, in load order. */
typedef struct fl_scenario_set_s {
    fl_scenario_t **items; /* owned, each owned */
    size_t len;
    size_t cap;
} fl_scenario_set_t;

/** Prepares an empty set. Never fails, allocates nothing. */
void fl_scenario_set_init(fl_scenario_set_t *set);
/** Frees every scenario in the set and the set's storage. */
void fl_scenario_set_close(fl_scenario_set_t *set);
/** Finds a scenario by name. Returns a borrowed pointer or NULL. */
fl_scenario_t *fl_scenario_set_find(const fl_scenario_set_t *set, const char *name);
/**
 * Appends sc (taken: owned by the set from now on, freed on failure too) without checking its
 * name. Returns 0 or FL_ENOMEM.
 */
int fl_scenario_set_add(fl_scenario_set_t *set, fl_scenario_t *sc);

#endif

/*
 * Internal to the dialect encoders (dialect.c and dialect_*.c): the shared timeline, the
 * answer's content pieces, usage counting and JSON/SSE helpers. Not part of the public contract.
 */
#ifndef FL_DIALECT_IMPL_H
#define FL_DIALECT_IMPL_H

#include "encode/dialect.h"
#include "base/rand.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Send times of content events. The first content event goes at ttft_ms; each later one after
 * interval_k = max(0, interval_ms + j_k) ms, j_k uniform in [-jitter_ms, +jitter_ms] drawn from
 * fl_rand seeded with response.seed, one draw per interval, in order.
 */
typedef struct fl_timeline_s {
    fl_rand_t rng;
    uint64_t ttft_ms;
    uint64_t interval_ms;
    uint64_t jitter_ms;
    uint64_t last_ms; /* at_ms of the last content event (ttft_ms before the first) */
    size_t n_content; /* content events timed so far */
} fl_timeline_t;

/** Starts a timeline from the scenario's response pacing. */
void fl_timeline_init(fl_timeline_t *tl, const fl_response_t *r);
/** Returns the at_ms of the next content event and advances. */
uint64_t fl_timeline_next(fl_timeline_t *tl);
/** at_ms for events after the last content event (ttft_ms when there was none). */
uint64_t fl_timeline_tail(const fl_timeline_t *tl);

/** One content piece: borrowed bytes of the scenario (text, a chunk, or tool arguments). */
typedef struct fl_piece_s {
    const char *p;
    size_t len;
} fl_piece_t;

/** The pieces of the scripted answer. */
typedef struct fl_pieces_s {
    fl_piece_t *items; /* owned array; the bytes are borrowed from the scenario */
    size_t len;
} fl_pieces_t;

/**
 * Cuts the answer into content pieces: response.chunks as given, else response.text by the
 * scenario's chunking, else (tool call) the arguments text by the scenario's chunking.
 * Returns 0, FL_EINVAL (bad chunking, or text that is not UTF-8) or FL_ENOMEM. Free with
 * fl_pieces_close.
 */
int fl_pieces_init(fl_pieces_t *ps, const fl_scenario_t *sc);
void fl_pieces_close(fl_pieces_t *ps);

/**
 * The whole answer text: response.text, or the chunks joined; "" when there is neither.
 * Appends to out. Returns 0 or FL_ENOMEM.
 */
int fl_answer_text(const fl_scenario_t *sc, fl_buf_t *out);

/** usage input tokens: response.input_tokens, or the whitespace-separated words of the prompt
 * (at least 1) when it is -1. */
int64_t fl_usage_input(const fl_scenario_t *sc);
/** usage output tokens: response.output_tokens, or n_content when it is -1. */
int64_t fl_usage_output(const fl_scenario_t *sc, size_t n_content);

/** A JSON string from len bytes of UTF-8; NULL when the bytes are not UTF-8 or out of memory. */
json_t *fl_json_strn(const char *p, size_t len);
/** A JSON string, or null when s is NULL. NULL on invalid UTF-8 or out of memory. */
json_t *fl_json_str_or_null(const char *s);

/**
 * Appends json_dumps(j, JSON_COMPACT) to out (key order as inserted, raw UTF-8).
 * Returns 0, FL_EINVAL (j NULL: a build step failed) or FL_ENOMEM. Does not take j.
 */
int fl_json_append(fl_buf_t *out, const json_t *j);

/**
 * Encodes j as one SSE event (`event: name` when name is non-NULL, then `data: <json>`) and
 * pushes it onto the script. Takes ownership of j (decref'd in all cases); j NULL means an
 * earlier json build failed and gives FL_ENOMEM. Returns 0, FL_EINVAL or FL_ENOMEM.
 */
int fl_push_json(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const char *name, json_t *j);

/** Pushes already encoded bytes from a NUL-terminated string. Returns 0 or an error code. */
int fl_push_str(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const char *bytes);

/** The tool call id: tool_call->id when the scenario gives one, else prefix + ctx->id, into buf
 * of n bytes. Returns buf. */
const char *fl_tool_call_id(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, const char *prefix,
                            char *buf, size_t n);

/** Per-dialect entry points, dispatched by dialect.c. Same contracts as in dialect.h. */
int fl_openai_chat_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                                 fl_script_t *out);
int fl_openai_chat_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_buf_t *out);
int fl_openai_responses_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                                      fl_script_t *out);
int fl_openai_responses_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                                    fl_buf_t *out);
int fl_anthropic_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                               fl_script_t *out);
int fl_anthropic_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_buf_t *out);

/** OpenAI's error object {"message","type","param","code"} for a class (both OpenAI dialects).
 * message NULL uses the class default. Returns a new reference or NULL (out of memory). */
json_t *fl_openai_error_object(fl_error_class_t cls, const char *message);
/** OpenAI's error code string for a class (e.g. "rate_limit_exceeded"), or "server_error"
 * where OpenAI sends null; used where a code is required (Responses `error` events). */
const char *fl_openai_error_code(fl_error_class_t cls);
/** The default message for a class in OpenAI's wording. */
const char *fl_openai_error_message(fl_error_class_t cls);
/** Per-dialect error encoders behind fl_dialect_encode_error_body/_event (dialect.h): same
 * arguments, same ownership (they append to out), 0 or FL_ENOMEM. */
int fl_openai_responses_encode_error_event(fl_error_class_t cls, const char *message,
                                           const fl_encode_ctx_t *ctx, fl_buf_t *out);
int fl_anthropic_encode_error_body(fl_error_class_t cls, const char *message, fl_buf_t *out);
int fl_anthropic_encode_error_event(fl_error_class_t cls, const char *message, fl_buf_t *out);

#endif

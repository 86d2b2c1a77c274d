/*
 * Internal to the dialect encoders (dialect.c and dialect_*.c): the shared timeline, the answer
 * being encoded, usage counting, JSON/SSE helpers, and the functions of each dialect.
 * Not part of the public contract.
 *
 * dialect.c owns the steps every dialect takes: it cuts the answer into pieces, starts the
 * timeline, and after the dialect has built its events or its body it frames, appends and
 * cleans up. A dialect file only says what its JSON looks like.
 */
#ifndef FL_DIALECT_IMPL_H
#define FL_DIALECT_IMPL_H

#include "encode/dialect.h"
#include "base/rand.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/** Room for an id written by fl_encode__id (a prefix and ctx->id), NUL included. */
#define FL_ENCODE_ID_MAX 160

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
void fl_timeline__init(fl_timeline_t *tl, const fl_response_t *r);
/** Returns the at_ms of the next content event and advances. */
uint64_t fl_timeline__next(fl_timeline_t *tl);
/** at_ms of the last content event (ttft_ms when there was none): where later events go. */
uint64_t fl_timeline__tail(const fl_timeline_t *tl);

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
 * One answer being encoded, prepared by dialect.c before it calls a dialect's stream or body
 * function and closed after it.
 */
typedef struct fl_answer_s {
    const fl_scenario_t *sc;    /* borrowed */
    const fl_encode_ctx_t *ctx; /* borrowed */
    fl_pieces_t pieces;         /* response.chunks as given, else response.text by the
                                   scenario's chunking, else (tool call) the arguments text */
    fl_buf_t full;              /* the tool call's arguments ("" when none), else the whole
                                   answer text (the chunks joined; "" when there is none) */
    fl_timeline_t tl;           /* the stream's content times */
    fl_script_t *out;           /* borrowed: where a stream's events go; NULL for a body */
} fl_answer_t;

/**
 * Prepares a for scenario sc and the request's ctx; out is the script a stream is encoded
 * into (NULL for a non-streaming body). Returns 0, FL_EINVAL (bad chunking, or text that is
 * not UTF-8) or FL_ENOMEM. fl_answer__close must be called in every case.
 */
int fl_answer__init(fl_answer_t *a, const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                    fl_script_t *out);
/** Frees what fl_answer__init allocated. */
void fl_answer__close(fl_answer_t *a);
/** Piece i as a JSON string (new reference), or NULL when out of memory. */
json_t *fl_answer__piece(const fl_answer_t *a, size_t i);
/**
 * Pushes one CONTENT event (`event: name` when name is non-NULL, then `data: <j>`) at the
 * timeline's next content time. Takes j as fl_push__json does. Returns 0, FL_EINVAL or
 * FL_ENOMEM.
 */
int fl_answer__content(fl_answer_t *a, const char *name, json_t *j);

/** usage input tokens: response.input_tokens, or the whitespace-separated words of the prompt
 * (at least 1) when it is -1. */
int64_t fl_usage__input(const fl_scenario_t *sc);
/**
 * usage output tokens: response.output_tokens, or, when it is -1, the number of CONTENT events
 * the stream has (one per piece, plus the tool call's announcement). The stream and the
 * non-streaming body report the same number.
 */
int64_t fl_answer__output_tokens(const fl_answer_t *a);

/** A JSON string from len bytes of UTF-8; NULL when the bytes are not UTF-8 or out of memory. */
json_t *fl_json__strn(const char *p, size_t len);
/** A JSON string, or null when s is NULL. NULL on invalid UTF-8 or out of memory. */
json_t *fl_json__str_or_null(const char *s);

/**
 * Appends json_dumps(j, JSON_COMPACT) to out (key order as inserted, raw UTF-8). Takes j
 * (decref'd in all cases); j NULL means an earlier json build failed and gives FL_ENOMEM.
 * Returns 0 or FL_ENOMEM; out is unchanged on failure.
 */
int fl_json__append(fl_buf_t *out, json_t *j);

/**
 * Appends j as one SSE event (`event: name` when name is non-NULL, then `data: <compact j>`).
 * Takes j as fl_json__append does. Returns 0, FL_EINVAL (a line break in name) or FL_ENOMEM;
 * out is unchanged on failure.
 */
int fl_json__event(fl_buf_t *out, const char *name, json_t *j);

/**
 * fl_json__event into the script: one event of the given kind at at_ms. Takes j.
 * Returns 0, FL_EINVAL or FL_ENOMEM.
 */
int fl_push__json(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const char *name,
                  json_t *j);

/** Pushes already encoded bytes from a NUL-terminated string. Returns 0 or an error code. */
int fl_push__str(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const char *bytes);

/** prefix + ctx->id ("" when ctx->id is NULL) into buf of n bytes. Returns buf. */
const char *fl_encode__id(const fl_encode_ctx_t *ctx, const char *prefix, char *buf, size_t n);
/** The tool call id: tool_call->id when the scenario gives one, else prefix + ctx->id, into buf
 * of n bytes. Returns buf. */
const char *fl_tool__call_id(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                             const char *prefix, char *buf, size_t n);

/*
 * Each dialect's functions, gathered in one table in dialect.c (one row per dialect).
 *  - _stream pushes the streamed answer's events onto a->out; returns 0 or an error code
 *    (dialect.c empties the script on failure).
 *  - _body returns the non-streaming body (new reference), or NULL: *rc is then set to the
 *    cause when it is not out of memory (left 0 for FL_ENOMEM).
 *  - _error_body is fl_dialect_encode_http_error_body for the dialect (status may go unused),
 *    _error_event fl_dialect_encode_error_event (ctx may go unused): they append to out, 0 or
 *    FL_ENOMEM.
 */
int fl_openai__chat_stream(fl_answer_t *a);
json_t *fl_openai__chat_body(const fl_answer_t *a, int *rc);
int fl_openai__chat_error_event(fl_error_class_t cls, const char *message,
                                const fl_encode_ctx_t *ctx, fl_buf_t *out);
int fl_openai__responses_stream(fl_answer_t *a);
json_t *fl_openai__responses_body(const fl_answer_t *a, int *rc);
int fl_openai__responses_error_event(fl_error_class_t cls, const char *message,
                                     const fl_encode_ctx_t *ctx, fl_buf_t *out);
int fl_anthropic__stream(fl_answer_t *a);
json_t *fl_anthropic__body(const fl_answer_t *a, int *rc);
int fl_anthropic__error_body(int status, fl_error_class_t cls, const char *message, fl_buf_t *out);
int fl_anthropic__error_event(fl_error_class_t cls, const char *message, const fl_encode_ctx_t *ctx,
                              fl_buf_t *out);
int fl_gemini__stream(fl_answer_t *a);
json_t *fl_gemini__body(const fl_answer_t *a, int *rc);
int fl_gemini__error_body(int status, fl_error_class_t cls, const char *message, fl_buf_t *out);
int fl_gemini__error_event(fl_error_class_t cls, const char *message, const fl_encode_ctx_t *ctx,
                           fl_buf_t *out);
/** Appends j as Google writes a whole JSON body: two-space indent, then "\n" (generateContent and
 * error bodies). Takes j as fl_json__append does. Returns 0 or FL_ENOMEM; out unchanged on
 * failure. */
int fl_gemini__json_append(fl_buf_t *out, json_t *j);

/** Both OpenAI APIs answer errors with one envelope {"error":{"message","type","param","code"}}
 * (API reference, "Error codes"): the _error_body of both OpenAI rows. */
int fl_openai__error_body(int status, fl_error_class_t cls, const char *message, fl_buf_t *out);
/** OpenAI's error code string for a class (e.g. "rate_limit_exceeded"), or its type where
 * OpenAI sends a null code; used where a code is required (Responses `error` events). */
const char *fl_openai__error_code(fl_error_class_t cls);
/** The default message for a class in OpenAI's wording. */
const char *fl_openai__error_message(fl_error_class_t cls);

#endif

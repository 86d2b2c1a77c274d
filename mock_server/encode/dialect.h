/*
 * Dialect encoders: a scenario's answer in one provider's exact wire format.
 *
 * Each dialect produces (a) a streamed body as an event script, (b) a non-streaming JSON body,
 * and (c) error bodies and in-stream error events in its own JSON shape. Sources:
 *  - openai-chat: OpenAI API reference, "Create chat completion" and "The chat completion chunk
 *    object" (platform.openai.com/docs/api-reference/chat-streaming).
 *  - openai-responses: OpenAI API reference, "Streaming events" of the Responses API
 *    (platform.openai.com/docs/api-reference/responses-streaming).
 *  - anthropic-messages: Anthropic docs, "Streaming Messages"
 *    (docs.anthropic.com/en/docs/build-with-claude/streaming) and "Errors".
 *  - gemini: Gemini API reference, "Generating content" (ai.google.dev/api/generate-content),
 *    with the bytes of recorded responses (CRLF framing, Google's JSON spacing).
 * The per-dialect files cite the exact sections they follow.
 */
#ifndef FL_DIALECT_H
#define FL_DIALECT_H

#include "base/buf.h"
#include "model/fault.h"
#include "model/scenario.h"
#include "encode/script.h"

#include <stdbool.h>
#include <stdint.h>

/**
 * Length of every response id the server hands the encoder (serve/route.c: 8 hex digits of a
 * per-server salt, then 12 of a response counter). The body's length, and so every byte
 * position a scenario can name, depends on it: the validator (load/fault_load.c) encodes with
 * an id of exactly this length, and the reply cache patches only ids of this length.
 */
#define FL_ENCODE_ID_LEN 20
/**
 * Decimal digits of every `created` time the server hands the encoder: unix seconds have 10
 * from 2001 to 2286. The validator encodes with a time of exactly this many digits.
 */
#define FL_ENCODE_CREATED_DIGITS 10

/** What the encoder needs from the request and the server besides the scenario. */
typedef struct fl_encode_ctx_s {
    const char *id;           /* borrowed: unique per response, [A-Za-z0-9], FL_ENCODE_ID_LEN
                                 long from the server; each dialect adds its own prefix
                                 (chatcmpl-, resp_, msg_, call_, toolu_...); Gemini's
                                 responseId is the id as it is */
    int64_t created;          /* unix seconds for `created` / `created_at`
                                 (FL_ENCODE_CREATED_DIGITS digits from the server) */
    bool include_usage;       /* openai-chat: stream_options.include_usage was true */
    uint64_t sequence_number; /* openai-responses: sequence_number of the next event, used by
                                 fl_dialect_encode_error_event; 0 elsewhere */
    bool background;          /* openai-responses: the request asked for background: true; every
                                 response object says "background":true and response.created
                                 has status "queued" (API reference, "Background mode") */
    bool queued;              /* openai-responses, with background: the non-streaming body is
                                 the response just queued (status "queued", no output yet), as
                                 POST /v1/responses answers a background request */
} fl_encode_ctx_t;

/**
 * Encodes the scenario's streamed answer as an event script with each event's send time
 * (ttft, interval, seeded jitter). Raw `response.events` are encoded as written.
 * Returns 0, FL_ENOMEM, or FL_EDIALECT when the scenario cannot be expressed in its dialect.
 * out must be initialised and empty; on failure it is left empty.
 */
int fl_dialect_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_script_t *out);

/**
 * Encodes the non-streaming answer (`"stream": false`): one JSON object, e.g. chat.completion.
 * Appends to out. Returns 0, FL_ENOMEM or FL_EDIALECT (raw events have no non-streaming form).
 */
int fl_dialect_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_buf_t *out);

/**
 * Appends the dialect's HTTP error body JSON, e.g. OpenAI
 * {"error":{"message":...,"type":...,"param":null,"code":...}}, Anthropic
 * {"type":"error","error":{"type":"overloaded_error","message":...}} or Gemini
 * {"error": {"code": 503, "message": ..., "status": "UNAVAILABLE"}} (pretty-printed).
 * status is the HTTP status the body goes out with (Gemini repeats it as "code"); 0 means the
 * class's own (429 for rate_limit, ...). message is borrowed; NULL uses the class's default.
 * Returns 0 or FL_ENOMEM.
 */
int fl_dialect_encode_http_error_body(fl_dialect_t d, int status, fl_error_class_t cls,
                                      const char *message, fl_buf_t *out);

/** fl_dialect_encode_http_error_body with the class's own status. */
int fl_dialect_encode_error_body(fl_dialect_t d, fl_error_class_t cls, const char *message,
                                 fl_buf_t *out);

/**
 * Appends the encoded in-stream error in the dialect's own form: OpenAI chat
 * `data: {"error":{...}}`; Responses `event: error` followed by `event: response.failed`
 * (numbered from ctx->sequence_number); Anthropic `event: error` with the class's type
 * (overloaded_error, rate_limit_error, api_error...); Gemini `data: {"error": {"code", "message",
 * "status"}}` with the class's own code, CRLF-framed.
 * Returns 0 or FL_ENOMEM.
 */
int fl_dialect_encode_error_event(fl_dialect_t d, fl_error_class_t cls, const char *message,
                                  const fl_encode_ctx_t *ctx, fl_buf_t *out);

/**
 * Appends one keep-alive event in the dialect's form: Anthropic `event: ping`, otherwise the SSE
 * comment ": ping" (CRLF-framed for Gemini). Returns 0 or FL_ENOMEM.
 */
int fl_dialect_encode_ping(fl_dialect_t d, fl_buf_t *out);

/** The dialect's end marker kind: which event the client must see to know the stream is whole
 * (`data: [DONE]`, `message_stop`, `response.completed`; Gemini has no sentinel: its last chunk,
 * the one with `finishReason`). Returns a static string. */
const char *fl_dialect_sentinel_name(fl_dialect_t d);

/** The request path the dialect answers on, e.g. "/v1/chat/completions"; for Gemini the
 * streaming path with its model as "{model}" (routing matches it, serve/route.c). */
const char *fl_dialect_path(fl_dialect_t d);

#endif

/*
 * anthropic-messages: Anthropic Messages API, streamed and not.
 *
 * Follows the Anthropic docs (docs.anthropic.com):
 *  - "Build with Claude > Streaming Messages", sections "Event types" (message_start,
 *    content_block_start / _delta / _stop, message_delta, message_stop, ping, error), "Text
 *    delta", "Input JSON delta" and "Basic streaming request" / "Streaming request with tool
 *    use" for the order (the ping follows the first content_block_start);
 *  - "API reference > Messages" for the message object (id, type, role, content, model,
 *    stop_reason, stop_sequence, usage) and the stop reasons end_turn, max_tokens, tool_use,
 *    refusal;
 *  - "API reference > Errors" for {"type":"error","error":{"type","message"}} and the types.
 * Events are `event: <type>` plus one compact JSON `data:` line, except the ping, whose
 * payload Anthropic writes as {"type": "ping"} (see fl_dialect_encode_ping).
 */
#include "encode/dialect_impl.h"
#include "base/error.h"
#include "encode/sse.h"

#include <stdio.h>
#include <string.h>

static const char *stop_reason(fl_finish_t f)
{
    switch (f) {
    case FL_FINISH_STOP:
        return "end_turn";
    case FL_FINISH_LENGTH:
        return "max_tokens";
    case FL_FINISH_TOOL_CALLS:
        return "tool_use";
    case FL_FINISH_CONTENT_FILTER:
        return "refusal";
    }
    return "end_turn";
}

/* The message object; content is taken, stop NULL gives null; output_tokens is the usage's. */
static json_t *message_new(const fl_answer_t *a, json_t *content, const char *stop,
                           int64_t output_tokens)
{
    char id[FL_ENCODE_ID_MAX];
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:n, s:{s:I, s:I}}", "id",
                     fl_encode__id(a->ctx, "msg_", id, sizeof(id)), "type", "message", "role",
                     "assistant", "content", content, "model", a->sc->model ? a->sc->model : "",
                     "stop_reason", fl_json__str_or_null(stop), "stop_sequence", "usage",
                     "input_tokens", (json_int_t)fl_usage__input(a->sc), "output_tokens",
                     (json_int_t)output_tokens);
}

static int push_ping(fl_script_t *out, uint64_t at)
{
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_dialect_encode_ping(FL_DIALECT_ANTHROPIC_MESSAGES, &b);
    if (!rc)
        rc = fl_script_push(out, FL_EVENT_PING, at, b.data, b.len);
    fl_buf_close(&b);
    return rc;
}

int fl_anthropic__stream(fl_answer_t *a)
{
    const fl_response_t *r = &a->sc->response;
    /* message_start reports the input tokens and a provisional output count of 1, as the
     * docs' examples do; the final count comes in message_delta. */
    int rc = fl_push__json(a->out, FL_EVENT_META, 0, "message_start",
                           json_pack("{s:s, s:o}", "type", "message_start", "message",
                                     message_new(a, json_array(), NULL, 1)));
    if (rc)
        return rc;

    if (r->tool_call) {
        char call_id[FL_ENCODE_ID_MAX];
        fl_tool__call_id(a->sc, a->ctx, "toolu_", call_id, sizeof(call_id));
        rc = fl_answer__content(a, "content_block_start",
                                json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:{}}}", "type",
                                          "content_block_start", "index", 0, "content_block",
                                          "type", "tool_use", "id", call_id, "name",
                                          r->tool_call->name ? r->tool_call->name : "", "input"));
        if (!rc)
            rc = push_ping(a->out, fl_timeline__tail(&a->tl));
    } else {
        rc = fl_push__json(a->out, FL_EVENT_META, 0, "content_block_start",
                           json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_start",
                                     "index", 0, "content_block", "type", "text", "text", ""));
        if (!rc)
            rc = push_ping(a->out, 0);
    }
    const char *delta_type = r->tool_call ? "input_json_delta" : "text_delta";
    const char *delta_key = r->tool_call ? "partial_json" : "text";
    for (size_t i = 0; i < a->pieces.len && !rc; i++)
        if (!(rc = fl_answer__content(a, "content_block_delta",
                                      json_pack("{s:s, s:i, s:{s:s, s:o}}", "type",
                                                "content_block_delta", "index", 0, "delta", "type",
                                                delta_type, delta_key, fl_answer__piece(a, i)))))
            fl_script_mark_piece(a->out);
    uint64_t tail = fl_timeline__tail(&a->tl);
    if (!rc)
        rc = fl_push__json(a->out, FL_EVENT_META, tail, "content_block_stop",
                           json_pack("{s:s, s:i}", "type", "content_block_stop", "index", 0));
    if (!rc)
        rc = fl_push__json(a->out, FL_EVENT_FINISH, tail, "message_delta",
                           json_pack("{s:s, s:{s:s, s:n}, s:{s:I}}", "type", "message_delta",
                                     "delta", "stop_reason", stop_reason(r->finish_reason),
                                     "stop_sequence", "usage", "output_tokens",
                                     (json_int_t)fl_answer__output_tokens(a)));
    if (!rc)
        rc = fl_push__json(a->out, FL_EVENT_SENTINEL, tail, "message_stop",
                           json_pack("{s:s}", "type", "message_stop"));
    return rc;
}

json_t *fl_anthropic__body(const fl_answer_t *a, int *rc)
{
    const fl_tool_call_t *tc = a->sc->response.tool_call;
    json_t *block;
    if (tc) {
        /* `input` is the parsed object, so the scripted arguments must be JSON. */
        json_t *input = json_loads(tc->arguments ? tc->arguments : "{}", JSON_DECODE_ANY, NULL);
        if (!input) {
            *rc = FL_EJSON;
            return NULL;
        }
        char call_id[FL_ENCODE_ID_MAX];
        fl_tool__call_id(a->sc, a->ctx, "toolu_", call_id, sizeof(call_id));
        block = json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", call_id, "name",
                          tc->name ? tc->name : "", "input", input);
    } else {
        block = json_pack("{s:s, s:o}", "type", "text", "text",
                          fl_json__strn(a->full.data, a->full.len));
    }
    return message_new(a, json_pack("[o]", block), stop_reason(a->sc->response.finish_reason),
                       fl_answer__output_tokens(a));
}

/* Error types and default messages (API reference "Errors", "HTTP errors"). */
static const struct {
    const char *type;
    const char *message;
} anthropic_errors[] = {
    [FL_ERR_INVALID_REQUEST] = {"invalid_request_error",
                                "There was an issue with the format or content of your request."},
    [FL_ERR_AUTHENTICATION] = {"authentication_error", "invalid x-api-key"},
    [FL_ERR_PERMISSION] = {"permission_error",
                           "Your API key does not have permission to use the specified "
                           "resource."},
    [FL_ERR_NOT_FOUND] = {"not_found_error", "The requested resource was not found."},
    [FL_ERR_REQUEST_TOO_LARGE] = {"request_too_large",
                                  "Request exceeds the maximum allowed number of bytes."},
    [FL_ERR_RATE_LIMIT] = {"rate_limit_error", "Your account has hit a rate limit."},
    [FL_ERR_SERVER] = {"api_error", "An unexpected error has occurred internal to Anthropic's "
                                    "systems."},
    [FL_ERR_OVERLOADED] = {"overloaded_error", "Overloaded"},
    [FL_ERR_TIMEOUT] = {"timeout_error", "Request timed out."},
};

static json_t *error_new(fl_error_class_t cls, const char *message)
{
    unsigned i = (unsigned)cls;
    if (i >= sizeof(anthropic_errors) / sizeof(anthropic_errors[0]))
        i = FL_ERR_SERVER;
    return json_pack("{s:s, s:{s:s, s:o}}", "type", "error", "error", "type",
                     anthropic_errors[i].type, "message",
                     json_string(message ? message : anthropic_errors[i].message));
}

int fl_anthropic__error_body(int status, fl_error_class_t cls, const char *message, fl_buf_t *out)
{
    (void)status; /* the body carries no status */
    return fl_json__append(out, error_new(cls, message));
}

int fl_anthropic__error_event(fl_error_class_t cls, const char *message, const fl_encode_ctx_t *ctx,
                              fl_buf_t *out)
{
    (void)ctx;
    return fl_json__event(out, "error", error_new(cls, message));
}

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

/* The message object; content and usage are taken, stop NULL gives null. */
static json_t *message_new(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, json_t *content,
                           const char *stop, json_t *usage)
{
    char id[160];
    snprintf(id, sizeof(id), "msg_%s", ctx->id ? ctx->id : "");
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:n, s:o}", "id", id, "type", "message",
                     "role", "assistant", "content", content, "model", sc->model ? sc->model : "",
                     "stop_reason", fl_json_str_or_null(stop), "stop_sequence", "usage", usage);
}

static json_t *usage_new(int64_t in, int64_t out)
{
    return json_pack("{s:I, s:I}", "input_tokens", (json_int_t)in, "output_tokens",
                     (json_int_t)out);
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

int fl_anthropic_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                               fl_script_t *out)
{
    const fl_response_t *r = &sc->response;
    fl_pieces_t ps;
    int rc = fl_pieces_init(&ps, sc);
    if (rc)
        return rc;
    fl_timeline_t tl;
    fl_timeline_init(&tl, r);
    size_t n_content = 0;

    /* message_start reports the input tokens and a provisional output count of 1, as the
     * docs' examples do; the final count comes in message_delta. */
    json_t *msg = message_new(sc, ctx, json_array(), NULL, usage_new(fl_usage_input(sc), 1));
    rc = fl_push_json(out, FL_EVENT_META, 0, "message_start",
                      json_pack("{s:s, s:o}", "type", "message_start", "message", msg));
    if (rc)
        goto done;

    if (r->tool_call) {
        char call_id[160];
        fl_tool_call_id(sc, ctx, "toolu_", call_id, sizeof(call_id));
        uint64_t at = fl_timeline_next(&tl);
        rc = fl_push_json(out, FL_EVENT_CONTENT, at, "content_block_start",
                          json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:{}}}", "type",
                                    "content_block_start", "index", 0, "content_block", "type",
                                    "tool_use", "id", call_id, "name",
                                    r->tool_call->name ? r->tool_call->name : "", "input"));
        n_content++;
        if (!rc)
            rc = push_ping(out, at);
    } else {
        rc = fl_push_json(out, FL_EVENT_META, 0, "content_block_start",
                          json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_start",
                                    "index", 0, "content_block", "type", "text", "text", ""));
        if (!rc)
            rc = push_ping(out, 0);
    }
    const char *delta_type = r->tool_call ? "input_json_delta" : "text_delta";
    const char *delta_key = r->tool_call ? "partial_json" : "text";
    for (size_t i = 0; i < ps.len && !rc; i++) {
        rc = fl_push_json(out, FL_EVENT_CONTENT, fl_timeline_next(&tl), "content_block_delta",
                          json_pack("{s:s, s:i, s:{s:s, s:o}}", "type", "content_block_delta",
                                    "index", 0, "delta", "type", delta_type, delta_key,
                                    fl_json_strn(ps.items[i].p, ps.items[i].len)));
        n_content++;
    }
    uint64_t tail = fl_timeline_tail(&tl);
    if (!rc)
        rc = fl_push_json(out, FL_EVENT_META, tail, "content_block_stop",
                          json_pack("{s:s, s:i}", "type", "content_block_stop", "index", 0));
    if (!rc)
        rc = fl_push_json(out, FL_EVENT_FINISH, tail, "message_delta",
                          json_pack("{s:s, s:{s:s, s:n}, s:{s:I}}", "type", "message_delta",
                                    "delta", "stop_reason", stop_reason(r->finish_reason),
                                    "stop_sequence", "usage", "output_tokens",
                                    (json_int_t)fl_usage_output(sc, n_content)));
    if (!rc)
        rc = fl_push_json(out, FL_EVENT_SENTINEL, tail, "message_stop",
                          json_pack("{s:s}", "type", "message_stop"));
done:
    fl_pieces_close(&ps);
    return rc;
}

int fl_anthropic_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_buf_t *out)
{
    const fl_response_t *r = &sc->response;
    fl_pieces_t ps;
    int rc = fl_pieces_init(&ps, sc);
    if (rc)
        return rc;
    fl_buf_t text;
    fl_buf_init(&text);
    json_t *block;
    size_t n_content = ps.len;
    if (r->tool_call) {
        /* `input` is the parsed object, so the scripted arguments must be JSON. */
        json_t *input = json_loads(r->tool_call->arguments ? r->tool_call->arguments : "{}",
                                   JSON_DECODE_ANY, NULL);
        if (!input) {
            rc = FL_EJSON;
            goto done;
        }
        char call_id[160];
        fl_tool_call_id(sc, ctx, "toolu_", call_id, sizeof(call_id));
        block = json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", call_id, "name",
                          r->tool_call->name ? r->tool_call->name : "", "input", input);
        n_content++;
    } else {
        rc = fl_answer_text(sc, &text);
        if (rc)
            goto done;
        block = json_pack("{s:s, s:o}", "type", "text", "text", fl_json_strn(text.data, text.len));
    }
    json_t *msg = message_new(sc, ctx, json_pack("[o]", block), stop_reason(r->finish_reason),
                              usage_new(fl_usage_input(sc), fl_usage_output(sc, n_content)));
    if (!msg) {
        rc = FL_ENOMEM;
        goto done;
    }
    rc = fl_json_append(out, msg);
    json_decref(msg);
done:
    fl_buf_close(&text);
    fl_pieces_close(&ps);
    return rc;
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

int fl_anthropic_encode_error_body(fl_error_class_t cls, const char *message, fl_buf_t *out)
{
    json_t *j = error_new(cls, message);
    if (!j)
        return FL_ENOMEM;
    int rc = fl_json_append(out, j);
    json_decref(j);
    return rc;
}

int fl_anthropic_encode_error_event(fl_error_class_t cls, const char *message, fl_buf_t *out)
{
    fl_buf_t data;
    fl_buf_init(&data);
    int rc = fl_anthropic_encode_error_body(cls, message, &data);
    if (!rc) {
        fl_sse_event_t ev = {
            .event = "error", .data = data.data, .data_len = data.len, .retry = -1};
        rc = fl_sse_encode(out, &ev);
    }
    fl_buf_close(&data);
    return rc;
}

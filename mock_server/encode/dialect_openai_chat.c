/*
 * openai-chat: OpenAI Chat Completions, streamed and not.
 *
 * Follows the OpenAI API reference (platform.openai.com/docs/api-reference):
 *  - "Chat > Create chat completion" (`stream`, `stream_options.include_usage`) and "The chat
 *    completion object" for the non-streaming body;
 *  - "Chat Streaming > The chat completion chunk object": one `data: {chunk}` per chunk, the
 *    first delta carrying the role, then `data: [DONE]`; with include_usage every chunk has
 *    "usage":null and one last chunk has "choices":[] and the usage;
 *  - the "Function calling" guide, "Streaming": the first tool_calls delta carries index, id,
 *    type and the function name with empty arguments; later deltas carry argument fragments;
 *  - "Error codes" for the error envelope {"error":{"message","type","param","code"}}.
 * Key order is the order the API sends (id, object, created, model, system_fingerprint,
 * choices, usage), as seen in the openai-python SDK's streaming test fixtures.
 */
#include "encode/dialect_impl.h"
#include "base/error.h"

#include <string.h>

/* One chunk {id, object, created, model, system_fingerprint, choices:[{index, delta, logprobs,
 * finish_reason}] [, usage:null]}. Takes delta; finish NULL gives null. */
static json_t *chunk_new(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, json_t *delta,
                         const char *finish)
{
    char id[160];
    snprintf(id, sizeof(id), "chatcmpl-%s", ctx->id ? ctx->id : "");
    json_t *choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta, "logprobs",
                               "finish_reason", fl_json_str_or_null(finish));
    if (!choice)
        return NULL;
    json_t *c =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:[o]}", "id", id, "object", "chat.completion.chunk",
                  "created", (json_int_t)ctx->created, "model", sc->model ? sc->model : "",
                  "system_fingerprint", "fp_faultline", "choices", choice);
    if (c && ctx->include_usage && json_object_set_new(c, "usage", json_null())) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *usage_new(int64_t in, int64_t out)
{
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)in, "completion_tokens",
                     (json_int_t)out, "total_tokens", (json_int_t)(in + out));
}

int fl_openai_chat_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
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

    if (r->tool_call) {
        /* The announcement carries the role and the call's name: model output, so at ttft. */
        char call_id[160];
        fl_tool_call_id(sc, ctx, "call_", call_id, sizeof(call_id));
        json_t *delta = json_pack("{s:s, s:n, s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "role",
                                  "assistant", "content", "tool_calls", "index", 0, "id", call_id,
                                  "type", "function", "function", "name",
                                  r->tool_call->name ? r->tool_call->name : "", "arguments", "");
        rc = fl_push_json(out, FL_EVENT_CONTENT, fl_timeline_next(&tl), NULL,
                          delta ? chunk_new(sc, ctx, delta, NULL) : NULL);
        n_content++;
        for (size_t i = 0; i < ps.len && !rc; i++) {
            json_t *frag = fl_json_strn(ps.items[i].p, ps.items[i].len);
            delta = frag ? json_pack("{s:[{s:i, s:{s:o}}]}", "tool_calls", "index", 0, "function",
                                     "arguments", frag)
                         : NULL;
            rc = fl_push_json(out, FL_EVENT_CONTENT, fl_timeline_next(&tl), NULL,
                              delta ? chunk_new(sc, ctx, delta, NULL) : NULL);
            n_content++;
        }
    } else {
        json_t *delta = json_pack("{s:s, s:s}", "role", "assistant", "content", "");
        rc = fl_push_json(out, FL_EVENT_META, 0, NULL,
                          delta ? chunk_new(sc, ctx, delta, NULL) : NULL);
        for (size_t i = 0; i < ps.len && !rc; i++) {
            json_t *text = fl_json_strn(ps.items[i].p, ps.items[i].len);
            delta = text ? json_pack("{s:o}", "content", text) : NULL;
            rc = fl_push_json(out, FL_EVENT_CONTENT, fl_timeline_next(&tl), NULL,
                              delta ? chunk_new(sc, ctx, delta, NULL) : NULL);
            n_content++;
        }
    }
    uint64_t tail = fl_timeline_tail(&tl);
    if (!rc) {
        json_t *delta = json_object();
        rc = fl_push_json(out, FL_EVENT_FINISH, tail, NULL,
                          delta ? chunk_new(sc, ctx, delta, fl_finish_name(r->finish_reason))
                                : NULL);
    }
    if (!rc && ctx->include_usage) {
        json_t *c = chunk_new(sc, ctx, json_object(), NULL);
        json_t *u = usage_new(fl_usage_input(sc), fl_usage_output(sc, n_content));
        if (c && u && !json_object_set_new(c, "choices", json_array()) &&
            !json_object_set_new(c, "usage", u)) {
            u = NULL;
        } else {
            json_decref(c);
            c = NULL;
        }
        json_decref(u);
        rc = fl_push_json(out, FL_EVENT_META, tail, NULL, c);
    }
    if (!rc)
        rc = fl_push_str(out, FL_EVENT_SENTINEL, tail, "data: [DONE]\n\n");
    fl_pieces_close(&ps);
    return rc;
}

/* The number of content events the stream of the same scenario has (for usage). */
static size_t stream_content_events(const fl_scenario_t *sc, const fl_pieces_t *ps)
{
    return ps->len + (sc->response.tool_call ? 1 : 0);
}

int fl_openai_chat_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_buf_t *out)
{
    const fl_response_t *r = &sc->response;
    fl_pieces_t ps;
    int rc = fl_pieces_init(&ps, sc);
    if (rc)
        return rc;
    fl_buf_t text;
    fl_buf_init(&text);
    json_t *message = NULL;
    if (r->tool_call) {
        char call_id[160];
        fl_tool_call_id(sc, ctx, "call_", call_id, sizeof(call_id));
        const fl_tool_call_t *tc = r->tool_call;
        message = json_pack("{s:s, s:n, s:[{s:s, s:s, s:{s:s, s:s}}], s:n}", "role", "assistant",
                            "content", "tool_calls", "id", call_id, "type", "function", "function",
                            "name", tc->name ? tc->name : "", "arguments",
                            tc->arguments ? tc->arguments : "", "refusal");
    } else {
        rc = fl_answer_text(sc, &text);
        if (rc)
            goto done;
        json_t *content = fl_json_strn(text.data, text.len);
        message = content ? json_pack("{s:s, s:o, s:n}", "role", "assistant", "content", content,
                                      "refusal")
                          : NULL;
    }
    char id[160];
    snprintf(id, sizeof(id), "chatcmpl-%s", ctx->id ? ctx->id : "");
    json_t *usage =
        usage_new(fl_usage_input(sc), fl_usage_output(sc, stream_content_events(sc, &ps)));
    json_t *body = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o, s:s}", "id", id,
                             "object", "chat.completion", "created", (json_int_t)ctx->created,
                             "model", sc->model ? sc->model : "", "choices", "index", 0, "message",
                             message, "logprobs", "finish_reason", fl_finish_name(r->finish_reason),
                             "usage", usage, "system_fingerprint", "fp_faultline");
    if (!body) {
        /* json_pack steals every "o" argument even on failure (jansson >= 2.11), and a NULL
         * one (an earlier step failed) makes it fail. */
        rc = FL_ENOMEM;
        goto done;
    }
    rc = fl_json_append(out, body);
    json_decref(body);
done:
    fl_buf_close(&text);
    fl_pieces_close(&ps);
    return rc;
}

/*
 * OpenAI error shapes per class. Verified against the API reference "Error codes" page and the
 * bodies the API returns: 401 invalid_api_key, 404 model_not_found, 429 type "requests" with
 * code rate_limit_exceeded, 500 server_error. For 403, 413, 503 and timeouts OpenAI documents
 * only the status and the message; the type/code pairs below follow the same envelope and are
 * our choice (marked "unverified").
 */
static const struct {
    const char *type;
    const char *code; /* NULL: JSON null */
    const char *message;
} openai_errors[] = {
    [FL_ERR_INVALID_REQUEST] = {"invalid_request_error", NULL,
                                "Invalid request: the request body could not be processed."},
    [FL_ERR_AUTHENTICATION] = {"invalid_request_error", "invalid_api_key",
                               "Incorrect API key provided."},
    /* unverified */
    [FL_ERR_PERMISSION] = {"invalid_request_error", "permission_denied",
                           "You are not allowed to access this resource."},
    [FL_ERR_NOT_FOUND] = {"invalid_request_error", "model_not_found",
                          "The model does not exist or you do not have access to it."},
    /* unverified */
    [FL_ERR_REQUEST_TOO_LARGE] = {"invalid_request_error", "request_too_large",
                                  "The request is too large."},
    [FL_ERR_RATE_LIMIT] = {"requests", "rate_limit_exceeded",
                           "Rate limit reached for requests. Please try again later."},
    [FL_ERR_SERVER] = {"server_error", NULL,
                       "The server had an error while processing your request. Sorry about "
                       "that!"},
    /* unverified code */
    [FL_ERR_OVERLOADED] = {"server_error", NULL,
                           "The engine is currently overloaded, please try again later."},
    /* unverified */
    [FL_ERR_TIMEOUT] = {"server_error", "timeout", "Request timed out."},
};

static unsigned error_index(fl_error_class_t cls)
{
    unsigned i = (unsigned)cls;
    return i < sizeof(openai_errors) / sizeof(openai_errors[0]) ? i : (unsigned)FL_ERR_SERVER;
}

const char *fl_openai_error_message(fl_error_class_t cls)
{
    return openai_errors[error_index(cls)].message;
}

const char *fl_openai_error_code(fl_error_class_t cls)
{
    const char *code = openai_errors[error_index(cls)].code;
    return code ? code : openai_errors[error_index(cls)].type;
}

json_t *fl_openai_error_object(fl_error_class_t cls, const char *message)
{
    unsigned i = error_index(cls);
    json_t *msg = message ? json_string(message) : json_string(openai_errors[i].message);
    if (!msg)
        return NULL;
    return json_pack("{s:o, s:s, s:n, s:o}", "message", msg, "type", openai_errors[i].type, "param",
                     "code", fl_json_str_or_null(openai_errors[i].code));
}

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

static const char *chat_id(const fl_encode_ctx_t *ctx, char *buf, size_t n)
{
    return fl_encode__id(ctx, "chatcmpl-", buf, n);
}

/* One chunk {id, object, created, model, system_fingerprint, choices:[{index, delta, logprobs,
 * finish_reason}] [, usage:null]}. Takes delta (NULL: an earlier step failed, gives NULL);
 * finish NULL gives null. */
static json_t *chunk_new(const fl_answer_t *a, json_t *delta, const char *finish)
{
    if (!delta)
        return NULL;
    char id[FL_ENCODE_ID_MAX];
    json_t *choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta, "logprobs",
                               "finish_reason", fl_json__str_or_null(finish));
    if (!choice)
        return NULL;
    json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[o]}", "id", chat_id(a->ctx, id, sizeof(id)),
                          "object", "chat.completion.chunk", "created", (json_int_t)a->ctx->created,
                          "model", a->sc->model ? a->sc->model : "", "system_fingerprint",
                          "fp_faultline", "choices", choice);
    if (c && a->ctx->include_usage && json_object_set_new(c, "usage", json_null())) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static json_t *usage_new(const fl_answer_t *a)
{
    int64_t in = fl_usage__input(a->sc), out = fl_answer__output_tokens(a);
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)in, "completion_tokens",
                     (json_int_t)out, "total_tokens", (json_int_t)(in + out));
}

int fl_openai__chat_stream(fl_answer_t *a)
{
    const fl_response_t *r = &a->sc->response;
    int rc;
    if (r->tool_call) {
        /* The announcement carries the role and the call's name: model output, so at ttft. */
        char call_id[FL_ENCODE_ID_MAX];
        fl_tool__call_id(a->sc, a->ctx, "call_", call_id, sizeof(call_id));
        json_t *delta = json_pack("{s:s, s:n, s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "role",
                                  "assistant", "content", "tool_calls", "index", 0, "id", call_id,
                                  "type", "function", "function", "name",
                                  r->tool_call->name ? r->tool_call->name : "", "arguments", "");
        rc = fl_answer__content(a, NULL, chunk_new(a, delta, NULL));
        for (size_t i = 0; i < a->pieces.len && !rc; i++) {
            json_t *frag = fl_answer__piece(a, i);
            delta = frag ? json_pack("{s:[{s:i, s:{s:o}}]}", "tool_calls", "index", 0, "function",
                                     "arguments", frag)
                         : NULL;
            if (!(rc = fl_answer__content(a, NULL, chunk_new(a, delta, NULL))))
                fl_script_mark_piece(a->out);
        }
    } else {
        json_t *delta = json_pack("{s:s, s:s}", "role", "assistant", "content", "");
        rc = fl_push__json(a->out, FL_EVENT_META, 0, NULL, chunk_new(a, delta, NULL));
        for (size_t i = 0; i < a->pieces.len && !rc; i++) {
            json_t *text = fl_answer__piece(a, i);
            delta = text ? json_pack("{s:o}", "content", text) : NULL;
            if (!(rc = fl_answer__content(a, NULL, chunk_new(a, delta, NULL))))
                fl_script_mark_piece(a->out);
        }
    }
    uint64_t tail = fl_timeline__tail(&a->tl);
    if (!rc)
        rc = fl_push__json(a->out, FL_EVENT_FINISH, tail, NULL,
                           chunk_new(a, json_object(), fl_finish_name(r->finish_reason)));
    if (!rc && a->ctx->include_usage) {
        json_t *c = chunk_new(a, json_object(), NULL);
        json_t *u = usage_new(a);
        if (c && u && !json_object_set_new(c, "choices", json_array()) &&
            !json_object_set_new(c, "usage", u)) {
            u = NULL;
        } else {
            json_decref(c);
            c = NULL;
        }
        json_decref(u);
        rc = fl_push__json(a->out, FL_EVENT_META, tail, NULL, c);
    }
    if (!rc)
        rc = fl_push__str(a->out, FL_EVENT_SENTINEL, tail, "data: [DONE]\n\n");
    return rc;
}

json_t *fl_openai__chat_body(const fl_answer_t *a, int *rc)
{
    (void)rc; /* only out of memory can fail here */
    const fl_response_t *r = &a->sc->response;
    json_t *message;
    if (r->tool_call) {
        char call_id[FL_ENCODE_ID_MAX];
        fl_tool__call_id(a->sc, a->ctx, "call_", call_id, sizeof(call_id));
        message = json_pack("{s:s, s:n, s:[{s:s, s:s, s:{s:s, s:s}}], s:n}", "role", "assistant",
                            "content", "tool_calls", "id", call_id, "type", "function", "function",
                            "name", r->tool_call->name ? r->tool_call->name : "", "arguments",
                            a->full.data, "refusal");
    } else {
        json_t *content = fl_json__strn(a->full.data, a->full.len);
        message = content ? json_pack("{s:s, s:o, s:n}", "role", "assistant", "content", content,
                                      "refusal")
                          : NULL;
    }
    char id[FL_ENCODE_ID_MAX];
    /* json_pack steals every "o" argument even on failure (jansson >= 2.11), and a NULL one (an
     * earlier step failed) makes it fail. */
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o, s:s}", "id",
                     chat_id(a->ctx, id, sizeof(id)), "object", "chat.completion", "created",
                     (json_int_t)a->ctx->created, "model", a->sc->model ? a->sc->model : "",
                     "choices", "index", 0, "message", message, "logprobs", "finish_reason",
                     fl_finish_name(r->finish_reason), "usage", usage_new(a), "system_fingerprint",
                     "fp_faultline");
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

const char *fl_openai__error_message(fl_error_class_t cls)
{
    return openai_errors[error_index(cls)].message;
}

const char *fl_openai__error_code(fl_error_class_t cls)
{
    const char *code = openai_errors[error_index(cls)].code;
    return code ? code : openai_errors[error_index(cls)].type;
}

/* {"error":{"message","type","param","code"}}; message NULL uses the class default. */
static json_t *error_envelope(fl_error_class_t cls, const char *message)
{
    unsigned i = error_index(cls);
    json_t *msg = json_string(message ? message : openai_errors[i].message);
    return msg ? json_pack("{s:{s:o, s:s, s:n, s:o}}", "error", "message", msg, "type",
                           openai_errors[i].type, "param", "code",
                           fl_json__str_or_null(openai_errors[i].code))
               : NULL;
}

int fl_openai__error_body(int status, fl_error_class_t cls, const char *message, fl_buf_t *out)
{
    (void)status; /* the envelope carries no status */
    return fl_json__append(out, error_envelope(cls, message));
}

/* Chat Completions sends a mid-stream error as a data line holding the error envelope, with no
 * event name (what the openai-python SDK's Stream checks: `if sse.data` has an "error" key it
 * raises APIError). */
int fl_openai__chat_error_event(fl_error_class_t cls, const char *message,
                                const fl_encode_ctx_t *ctx, fl_buf_t *out)
{
    (void)ctx;
    return fl_json__event(out, NULL, error_envelope(cls, message));
}

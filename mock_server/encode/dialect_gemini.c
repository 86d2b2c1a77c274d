/*
 * gemini: Google's Gemini API (generativelanguage.googleapis.com), streamed and not.
 *
 * Follows the Gemini API reference (ai.google.dev/api):
 *  - "Generating content": models.streamGenerateContent (`?alt=sse`: one GenerateContentResponse
 *    per SSE event) and models.generateContent; GenerateContentResponse {candidates[{content
 *    {parts[{text} | {functionCall {name, args}}], role "model"}, finishReason, index}],
 *    usageMetadata {promptTokenCount, candidatesTokenCount, totalTokenCount}, modelVersion,
 *    responseId}; FinishReason STOP, MAX_TOKENS, SAFETY, ...;
 *  - "Function calling": a call arrives whole in one part, `args` a JSON object (not a string),
 *    and the candidate finishes with STOP (Gemini has no finish reason of its own for calls);
 *  - "Troubleshooting" and google.rpc.Status: errors are {"error":{"code","message","status"}}
 *    with the canonical status of the HTTP code (400 INVALID_ARGUMENT, 401 UNAUTHENTICATED,
 *    403 PERMISSION_DENIED, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 500 INTERNAL,
 *    503 UNAVAILABLE, 504 DEADLINE_EXCEEDED).
 * The bytes follow recorded responses, since the reference shows only parsed JSON:
 *  - framing: `data: <JSON>` then CRLF CRLF per event, no `event:` field, no comments
 *    (google-gemini/generative-ai-js test-utils/mock-responses/streaming-*.txt, recorded from
 *    the API; Vertex AI the same, nyroway/nyro #265);
 *  - JSON: one line, ": " after every key and no space after ","; key order candidates,
 *    usageMetadata, modelVersion, responseId; content, finishReason, index; parts, role; every
 *    chunk carries usageMetadata with the candidatesTokenCount so far (curl captures of
 *    gemini-2.5-flash in simonw/llm-gemini #97 and junjihashimoto/louter
 *    test-data/gemini/streaming_long/log);
 *  - end of stream: no sentinel; the last chunk carries finishReason and the final usage. It
 *    comes on its own with content {"role": "model"} and no parts, as Gemini sends it after a
 *    function call or at a length limit (pydantic/pydantic-ai #2631, agentjido/req_llm #638,
 *    envoyproxy/ai-gateway #2107), so that every text chunk is a plain delta and the finish is
 *    one event the chaos layer can drop (drop_sentinel); the script tags it FL_EVENT_SENTINEL
 *    although it also carries the finish, as openai-responses does with response.completed;
 *  - in-stream error: a `data:` event holding {"error": {...}} on the 200 stream, then the end
 *    of the body (diegosouzapw/OmniRoute #4177, ankit373/hydra #869; googleapis/js-genai
 *    _api_client.ts throws ApiError on such a chunk);
 *  - non-streaming bodies and error bodies: pretty JSON, two-space indent, "}\n" at the end
 *    (generative-ai-js mock-responses/unary-*.json; raw 429 and 503 bodies quoted in
 *    continuedev/continue #10560 and #10639: "Resource has been exhausted (e.g. check quota).",
 *    "The model is overloaded. Please try again later." (google-gemini/gemini-cli #4360)).
 * responseId is the server's response id as it is (Google's are 22 to 27 URL-safe base64
 * characters); modelVersion is the scenario's model. The scenario's tool_call.id is not sent:
 * the Gemini API's functionCall has no id.
 */
#include "encode/dialect_impl.h"
#include "base/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Appends JSON text in Google's spacing: compact, then one space after each ':' that is not
 * inside a string. Takes j as fl_json__append does. */
static int google_json(fl_buf_t *out, json_t *j)
{
    fl_buf_t c;
    fl_buf_init(&c);
    int rc = fl_json__append(&c, j);
    size_t mark = out->len;
    bool in_str = false;
    for (size_t i = 0; i < c.len && !rc; i++) {
        char ch = c.data[i];
        rc = fl_buf_append(out, &ch, 1);
        if (in_str) {
            if (ch == '\\' && i + 1 < c.len)
                rc = rc ? rc : fl_buf_append(out, &c.data[++i], 1);
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == ':' && !rc) {
            rc = fl_buf_append(out, " ", 1);
        }
    }
    if (rc)
        fl_buf_truncate(out, mark);
    fl_buf_close(&c);
    return rc;
}

/* Appends one SSE event `data: <j>` CRLF CRLF. Takes j. */
static int gemini_event(fl_buf_t *out, json_t *j)
{
    size_t mark = out->len;
    int rc = fl_buf_append_str(out, "data: ");
    if (!rc)
        rc = google_json(out, j);
    else
        json_decref(j);
    if (!rc)
        rc = fl_buf_append_str(out, "\r\n\r\n");
    if (rc)
        fl_buf_truncate(out, mark);
    return rc;
}

static int push_event(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, json_t *j)
{
    fl_buf_t ev;
    fl_buf_init(&ev);
    int rc = gemini_event(&ev, j);
    if (!rc)
        rc = fl_script_push(s, kind, at_ms, ev.data, ev.len);
    fl_buf_close(&ev);
    return rc;
}

int fl_gemini__json_append(fl_buf_t *out, json_t *j)
{
    if (!j)
        return FL_ENOMEM;
    char *s = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    if (!s)
        return FL_ENOMEM;
    size_t mark = out->len;
    int rc = fl_buf_append_str(out, s);
    if (!rc)
        rc = fl_buf_append(out, "\n", 1);
    if (rc)
        fl_buf_truncate(out, mark);
    free(s);
    return rc;
}

static const char *finish_reason(fl_finish_t f)
{
    switch (f) {
    case FL_FINISH_STOP:
    case FL_FINISH_TOOL_CALLS:
        return "STOP";
    case FL_FINISH_LENGTH:
        return "MAX_TOKENS";
    case FL_FINISH_CONTENT_FILTER:
        return "SAFETY";
    }
    return "STOP";
}

/* Content events of the stream: the tool call's one, else one per piece. */
static size_t content_events(const fl_answer_t *a)
{
    return a->sc->response.tool_call ? 1 : a->pieces.len;
}

/* usage output tokens: response.output_tokens, or the number of content events when it is -1
 * (the stream and the non-streaming body report the same number). */
static int64_t output_tokens(const fl_answer_t *a)
{
    const fl_response_t *r = &a->sc->response;
    return r->output_tokens >= 0 ? r->output_tokens : (int64_t)content_events(a);
}

static json_t *usage_new(const fl_answer_t *a, int64_t candidates)
{
    int64_t in = fl_usage__input(a->sc);
    return json_pack("{s:I, s:I, s:I}", "promptTokenCount", (json_int_t)in, "candidatesTokenCount",
                     (json_int_t)candidates, "totalTokenCount", (json_int_t)(in + candidates));
}

/* A candidate's content: {"parts": parts, "role": "model"}; takes parts (NULL: an earlier step
 * failed, gives NULL). */
static json_t *content_new(json_t *parts)
{
    return json_pack("{s:o, s:s}", "parts", parts, "role", "model");
}

/*
 * One GenerateContentResponse: {candidates:[{content, [finishReason,] index}], usageMetadata,
 * modelVersion, responseId}. Takes content (NULL gives NULL); finish NULL leaves finishReason
 * out. json_pack steals every "o" argument, even when it fails.
 */
static json_t *response_new(const fl_answer_t *a, json_t *content, const char *finish,
                            int64_t candidates)
{
    json_t *cand = finish ? json_pack("{s:o, s:s, s:i}", "content", content, "finishReason", finish,
                                      "index", 0)
                          : json_pack("{s:o, s:i}", "content", content, "index", 0);
    return json_pack("{s:[o], s:o, s:s, s:s}", "candidates", cand, "usageMetadata",
                     usage_new(a, candidates), "modelVersion", a->sc->model ? a->sc->model : "",
                     "responseId", a->ctx->id ? a->ctx->id : "");
}

/* [{"functionCall": {"name", "args"}}] from the scripted call; *rc = FL_EJSON when the
 * arguments are not a JSON object. */
static json_t *call_parts(const fl_answer_t *a, int *rc)
{
    const fl_tool_call_t *tc = a->sc->response.tool_call;
    json_t *args = json_loads(tc->arguments ? tc->arguments : "{}", 0, NULL);
    if (!json_is_object(args)) {
        json_decref(args);
        *rc = FL_EJSON;
        return NULL;
    }
    return json_pack("[{s:{s:s, s:o}}]", "functionCall", "name", tc->name ? tc->name : "", "args",
                     args);
}

int fl_gemini__stream(fl_answer_t *a)
{
    const fl_response_t *r = &a->sc->response;
    size_t n = content_events(a);
    int64_t total = output_tokens(a);
    int rc = 0;
    if (r->tool_call) {
        json_t *parts = call_parts(a, &rc);
        if (rc)
            return rc;
        rc = push_event(a->out, FL_EVENT_CONTENT, fl_timeline__next(&a->tl),
                        response_new(a, content_new(parts), NULL, total));
        if (!rc) /* the whole call is the one piece: `at: {content: 1}` stands before it */
            fl_script_mark_piece(a->out);
    }
    for (size_t i = 0; !r->tool_call && i < a->pieces.len && !rc; i++) {
        /* the candidate tokens so far, spread evenly: k of n content events have k*total/n */
        int64_t so_far = total * (int64_t)(i + 1) / (int64_t)n;
        json_t *parts = json_pack("[{s:o}]", "text", fl_answer__piece(a, i));
        rc = push_event(a->out, FL_EVENT_CONTENT, fl_timeline__next(&a->tl),
                        response_new(a, content_new(parts), NULL, so_far));
        if (!rc)
            fl_script_mark_piece(a->out);
    }
    /* the finish on its own, content without parts (see the top of the file) */
    if (!rc)
        rc = push_event(a->out, FL_EVENT_SENTINEL, fl_timeline__tail(&a->tl),
                        response_new(a, json_pack("{s:s}", "role", "model"),
                                     finish_reason(r->finish_reason), total));
    return rc;
}

json_t *fl_gemini__body(const fl_answer_t *a, int *rc)
{
    json_t *parts;
    if (a->sc->response.tool_call) {
        parts = call_parts(a, rc);
        if (*rc)
            return NULL;
    } else {
        parts = json_pack("[{s:o}]", "text", fl_json__strn(a->full.data, a->full.len));
    }
    return response_new(a, content_new(parts), finish_reason(a->sc->response.finish_reason),
                        output_tokens(a));
}

/* Per class: the HTTP code it stands for, google.rpc.Code's name, and Google's message. */
static const struct {
    int code;
    const char *status;
    const char *message;
} gemini_errors[] = {
    [FL_ERR_INVALID_REQUEST] = {400, "INVALID_ARGUMENT", "Request contains an invalid argument."},
    [FL_ERR_AUTHENTICATION] = {401, "UNAUTHENTICATED",
                               "Request had invalid authentication credentials. Expected OAuth 2 "
                               "access token, login cookie or other valid authentication "
                               "credential."},
    [FL_ERR_PERMISSION] = {403, "PERMISSION_DENIED", "The caller does not have permission"},
    [FL_ERR_NOT_FOUND] = {404, "NOT_FOUND", "Requested entity was not found."},
    [FL_ERR_REQUEST_TOO_LARGE] = {400, "INVALID_ARGUMENT",
                                  "Request payload size exceeds the limit: 20971520 bytes."},
    [FL_ERR_RATE_LIMIT] = {429, "RESOURCE_EXHAUSTED",
                           "Resource has been exhausted (e.g. check quota)."},
    [FL_ERR_SERVER] = {500, "INTERNAL",
                       "An internal error has occurred. Please retry or report in "
                       "https://developers.generativeai.google/guide/troubleshooting"},
    [FL_ERR_OVERLOADED] = {503, "UNAVAILABLE", "The model is overloaded. Please try again later."},
    [FL_ERR_TIMEOUT] = {504, "DEADLINE_EXCEEDED",
                        "Deadline expired before operation could complete."},
};

/* {"error": {"code", "message", "status"}}; status 0 uses the class's own code. */
static json_t *error_new(int status, fl_error_class_t cls, const char *message)
{
    unsigned i = (unsigned)cls;
    if (i >= sizeof(gemini_errors) / sizeof(gemini_errors[0]))
        i = FL_ERR_SERVER;
    return json_pack(
        "{s:{s:i, s:s, s:s}}", "error", "code", status > 0 ? status : gemini_errors[i].code,
        "message", message ? message : gemini_errors[i].message, "status", gemini_errors[i].status);
}

int fl_gemini__error_body(int status, fl_error_class_t cls, const char *message, fl_buf_t *out)
{
    return fl_gemini__json_append(out, error_new(status, cls, message));
}

int fl_gemini__error_event(fl_error_class_t cls, const char *message, const fl_encode_ctx_t *ctx,
                           fl_buf_t *out)
{
    (void)ctx;
    return gemini_event(out, error_new(0, cls, message));
}

/* Per-dialect answer assembly; see rc_answer.h. */
#include "rc_answer.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rc_answer_init(rc_answer_t *a, rc_dialect_t dialect)
{
    rc_buf_clear(&a->text);
    rc_buf_clear(&a->reason);
    rc_buf_clear(&a->last);
    for (int i = 0; i < a->ntools; i++) {
        rc_buf_free(&a->tools[i].name);
        rc_buf_free(&a->tools[i].args);
    }
    a->ntools = 0;
    a->dialect = dialect;
    a->state = RC_ANS_PARTIAL;
    a->retryable = 0;
    a->next_seq = -1;
    a->finish[0] = a->id[0] = '\0';
    a->usage_in = a->usage_out = -1;
}

void rc_answer_close(rc_answer_t *a)
{
    rc_answer_init(a, a->dialect);
    rc_buf_free(&a->text);
    rc_buf_free(&a->reason);
    rc_buf_free(&a->last);
}

static int fail(rc_answer_t *a, rc_ans_state_t state, int retryable, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    a->state = state;
    a->retryable = retryable;
    rc_buf_clear(&a->reason);
    rc_buf_append(&a->reason, msg, strlen(msg));
    return -1;
}

int rc_error_is_transient(const char *s)
{
    static const char *const transient[] = {
        "rate_limit_exceeded",
        "rate_limit_error",
        "rate_limit",
        "server_error",
        "api_error",
        "overloaded_error",
        "overloaded",
        "timeout_error",
        "timeout",
        "internal_error",
        "service_unavailable",
        /* Gemini's google.rpc.Code names (429, 500, 503, 504) */
        "RESOURCE_EXHAUSTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
    };
    if (!s)
        return 0;
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strcmp(s, transient[i]) == 0)
            return 1;
    return 0;
}

static const char *jstr(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* An error object in any dialect's shape: {"type"/"code", "message"}. Transient when its code
 * or its type says so. */
static int provider_error(rc_answer_t *a, json_t *err, const char *where)
{
    const char *code = jstr(err, "code");
    const char *type = jstr(err, "type");
    const char *msg = jstr(err, "message");
    int transient = rc_error_is_transient(code) || rc_error_is_transient(type);
    return fail(a, RC_ANS_ERROR, transient, "%s: %s%s%s", where,
                code ? code : (type ? type : "error"), msg ? ": " : "", msg ? msg : "");
}

static rc_tool_t *tool_get(rc_answer_t *a, long key, int create)
{
    for (int i = 0; i < a->ntools; i++)
        if (a->tools[i].key == key)
            return &a->tools[i];
    if (!create || a->ntools == RC_MAX_TOOLS)
        return NULL;
    rc_tool_t *t = &a->tools[a->ntools++];
    memset(t, 0, sizeof(*t));
    t->key = key;
    return t;
}

static int append_str(rc_buf_t *b, const char *s)
{
    return s ? rc_buf_append(b, s, strlen(s)) : 0;
}

/* ---- OpenAI Chat Completions ---- */

static int chat_event(rc_answer_t *a, json_t *j)
{
    json_t *err = json_object_get(j, "error");
    if (json_is_object(err))
        return provider_error(a, err, "error in stream");
    json_t *choices = json_object_get(j, "choices");
    if (!json_is_array(choices))
        return fail(a, RC_ANS_BROKEN, 1, "chunk without choices");
    int content = 0;
    size_t i;
    json_t *choice;
    json_array_foreach(choices, i, choice)
    {
        if (json_integer_value(json_object_get(choice, "index")) != 0)
            continue; /* n > 1 is not asked for */
        json_t *delta = json_object_get(choice, "delta");
        const char *text = jstr(delta, "content");
        if (text && *text) {
            append_str(&a->text, text);
            content = 1;
        }
        json_t *calls = json_object_get(delta, "tool_calls");
        size_t k;
        json_t *call;
        json_array_foreach(calls, k, call)
        {
            rc_tool_t *t = tool_get(a, (long)json_integer_value(json_object_get(call, "index")), 1);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
            json_t *fn = json_object_get(call, "function");
            const char *name = jstr(fn, "name");
            const char *args = jstr(fn, "arguments");
            if (name)
                append_str(&t->name, name);
            if (args && *args) {
                append_str(&t->args, args);
                content = 1;
            }
        }
        if (!json_is_null(json_object_get(choice, "finish_reason")) &&
            json_object_get(choice, "finish_reason"))
            content = 1;
    }
    return content;
}

/* ---- OpenAI Responses ---- */

static int responses_finished(rc_answer_t *a, json_t *resp, const char *type)
{
    const char *status = jstr(resp, "status");
    if (status && strcmp(status, "completed") == 0) {
        a->state = RC_ANS_DONE;
        return -1;
    }
    if (status && strcmp(status, "incomplete") == 0) {
        const char *why = jstr(json_object_get(resp, "incomplete_details"), "reason");
        /* A length limit still ends a whole answer: the model said all it was allowed to. */
        if (why && strcmp(why, "max_output_tokens") == 0) {
            a->state = RC_ANS_DONE;
            return -1;
        }
        return fail(a, RC_ANS_ERROR, 0, "response incomplete: %s", why ? why : "no reason");
    }
    if (status && strcmp(status, "failed") == 0) {
        json_t *err = json_object_get(resp, "error");
        if (json_is_object(err))
            return provider_error(a, err, "response.failed");
        return fail(a, RC_ANS_ERROR, 1, "response.failed without an error object");
    }
    return fail(a, RC_ANS_ERROR, 0, "%s with status %s", type, status ? status : "(none)");
}

static int responses_event(rc_answer_t *a, json_t *j, const char *type)
{
    json_t *seq = json_object_get(j, "sequence_number");
    if (json_is_integer(seq)) {
        /* Consecutive sequence numbers: a gap or a repeat means events were lost or
         * replayed, and the text cannot be trusted. */
        long n = (long)json_integer_value(seq);
        if (a->next_seq >= 0 && n != a->next_seq)
            return fail(a, RC_ANS_BROKEN, 1, "sequence_number %ld where %ld was due", n,
                        a->next_seq);
        a->next_seq = n + 1;
    }
    if (strcmp(type, "response.output_text.delta") == 0) {
        append_str(&a->text, jstr(j, "delta"));
        return 1;
    }
    if (strcmp(type, "response.output_item.added") == 0) {
        json_t *item = json_object_get(j, "item");
        const char *itype = jstr(item, "type");
        if (itype && strcmp(itype, "function_call") == 0) {
            long idx = (long)json_integer_value(json_object_get(j, "output_index"));
            rc_tool_t *t = tool_get(a, idx, 1);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
            append_str(&t->name, jstr(item, "name"));
        }
        return 0;
    }
    if (strcmp(type, "response.function_call_arguments.delta") == 0 ||
        strcmp(type, "response.function_call_arguments.done") == 0) {
        long idx = (long)json_integer_value(json_object_get(j, "output_index"));
        rc_tool_t *t = tool_get(a, idx, 1);
        if (!t)
            return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
        if (type[strlen(type) - 1] == 'a') { /* .delta */
            append_str(&t->args, jstr(j, "delta"));
        } else if (jstr(j, "arguments")) { /* .done carries the whole arguments */
            rc_buf_clear(&t->args);
            append_str(&t->args, jstr(j, "arguments"));
        }
        return 1;
    }
    if (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0 ||
        strcmp(type, "response.failed") == 0)
        return responses_finished(a, json_object_get(j, "response"), type);
    if (strcmp(type, "error") == 0) {
        /* Streaming "error" event: {code, message, param} at the top level. */
        return provider_error(a, j, "error event");
    }
    return 0;
}

/* ---- Anthropic Messages ---- */

static int anthropic_event(rc_answer_t *a, json_t *j, const char *type)
{
    if (strcmp(type, "content_block_start") == 0) {
        json_t *block = json_object_get(j, "content_block");
        const char *btype = jstr(block, "type");
        if (btype && strcmp(btype, "tool_use") == 0) {
            rc_tool_t *t = tool_get(a, (long)json_integer_value(json_object_get(j, "index")), 1);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
            append_str(&t->name, jstr(block, "name"));
        } else if (btype && strcmp(btype, "text") == 0) {
            append_str(&a->text, jstr(block, "text"));
        }
        return 0;
    }
    if (strcmp(type, "content_block_delta") == 0) {
        json_t *delta = json_object_get(j, "delta");
        const char *dtype = jstr(delta, "type");
        if (dtype && strcmp(dtype, "text_delta") == 0) {
            append_str(&a->text, jstr(delta, "text"));
        } else if (dtype && strcmp(dtype, "input_json_delta") == 0) {
            rc_tool_t *t = tool_get(a, (long)json_integer_value(json_object_get(j, "index")), 0);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "input_json_delta for an unknown block");
            append_str(&t->args, jstr(delta, "partial_json"));
        }
        return 1;
    }
    if (strcmp(type, "message_delta") == 0)
        return 1;
    if (strcmp(type, "message_stop") == 0) {
        a->state = RC_ANS_DONE;
        return -1;
    }
    if (strcmp(type, "error") == 0)
        return provider_error(a, json_object_get(j, "error"), "error event");
    return 0; /* message_start, content_block_stop, ping, and events added later */
}

/* ---- Gemini ---- */

/* {"error": {"code": 503, "message", "status": "UNAVAILABLE"}}: transient by its status. */
static int gemini_error(rc_answer_t *a, json_t *err, const char *where)
{
    const char *status = jstr(err, "status");
    const char *msg = jstr(err, "message");
    return fail(a, RC_ANS_ERROR, rc_error_is_transient(status), "%s: %lld %s%s%s", where,
                (long long)json_integer_value(json_object_get(err, "code")),
                status ? status : "error", msg ? ": " : "", msg ? msg : "");
}

/*
 * The parts of candidates[0] into the answer; *finish gets its finishReason (NULL when none).
 * Returns 1 when a part carried content, 0 when none did, -1 on failure (a->state set).
 */
static int gemini_candidate(rc_answer_t *a, json_t *j, const char **finish)
{
    json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
    *finish = jstr(cand, "finishReason");
    int content = 0;
    size_t i;
    json_t *part;
    json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, part)
    {
        const char *text = jstr(part, "text");
        json_t *call = json_object_get(part, "functionCall");
        if (text && *text) {
            append_str(&a->text, text);
            content = 1;
        } else if (json_is_object(call)) {
            /* A call arrives whole, its args an object: one tool per call, in order. */
            rc_tool_t *t = tool_get(a, a->ntools, 1);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
            json_t *args = json_object_get(call, "args");
            /* no args is {}; args that are not an object are kept, and fail when formatted */
            char *s = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            append_str(&t->name, jstr(call, "name"));
            append_str(&t->args, s ? s : "{}");
            free(s);
            content = 1;
        }
    }
    return content;
}

static int gemini_event(rc_answer_t *a, json_t *j)
{
    json_t *err = json_object_get(j, "error");
    if (json_is_object(err))
        return gemini_error(a, err, "error in stream");
    const char *block = jstr(json_object_get(j, "promptFeedback"), "blockReason");
    if (block)
        return fail(a, RC_ANS_ERROR, 0, "prompt blocked: %s", block);
    const char *finish;
    int content = gemini_candidate(a, j, &finish);
    if (content < 0)
        return content;
    if (finish && *finish) {
        /* No sentinel: the chunk with finishReason is the last one, and the answer is whole. */
        a->state = RC_ANS_DONE;
        return -1;
    }
    return content;
}

/* ---- how the answer ended, for the structured result ---- */

static long long count_of(json_t *u, const char *k1, const char *k2, const char *k3)
{
    json_t *v = json_object_get(u, k1);
    if (!v)
        v = json_object_get(u, k2);
    if (!v)
        v = json_object_get(u, k3);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/*
 * Notes the finish reason, usage and response id an event or body carries, in each dialect's
 * shape: chat choices[0].finish_reason, usage {prompt_tokens, completion_tokens}, id; Responses
 * response.status on response.completed / .incomplete, response.usage, response.id (a body's
 * own status, usage, id); Anthropic delta.stop_reason (a body's stop_reason), message.usage
 * (message_start) and usage (message_delta), message.id; Gemini candidates[0].finishReason,
 * usageMetadata {promptTokenCount, candidatesTokenCount}, responseId.
 */
static void observe(rc_answer_t *a, json_t *j, const char *type)
{
    json_t *resp = json_object_get(j, "response");
    json_t *msg = json_object_get(j, "message");
    const char *fr = jstr(json_array_get(json_object_get(j, "choices"), 0), "finish_reason");
    if (!fr)
        fr = jstr(json_object_get(j, "delta"), "stop_reason");
    if (!fr)
        fr = jstr(j, "stop_reason");
    if (!fr)
        fr = jstr(json_array_get(json_object_get(j, "candidates"), 0), "finishReason");
    if (!fr && type &&
        (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0))
        fr = jstr(resp, "status");
    if (!fr && jstr(j, "object") && strcmp(jstr(j, "object"), "response") == 0)
        fr = jstr(j, "status");
    if (fr && *fr)
        snprintf(a->finish, sizeof(a->finish), "%s", fr);
    json_t *u = json_object_get(j, "usage");
    if (!json_is_object(u))
        u = json_object_get(resp, "usage");
    if (!json_is_object(u))
        u = json_object_get(msg, "usage");
    if (!json_is_object(u))
        u = json_object_get(j, "usageMetadata");
    if (json_is_object(u)) {
        long long in = count_of(u, "prompt_tokens", "input_tokens", "promptTokenCount");
        long long out = count_of(u, "completion_tokens", "output_tokens", "candidatesTokenCount");
        if (in >= 0)
            a->usage_in = in;
        if (out >= 0)
            a->usage_out = out;
    }
    const char *id = jstr(resp, "id");
    if (!id)
        id = jstr(msg, "id");
    if (!id)
        id = jstr(j, "id");
    if (!id)
        id = jstr(j, "responseId");
    if (id && *id)
        snprintf(a->id, sizeof(a->id), "%s", id);
}

int rc_answer_write_result(const rc_answer_t *a, const char *path)
{
    json_t *r = json_object();
    json_t *tools = json_array();
    int rc = -1;
    if (!r || !tools)
        goto done;
    for (int i = 0; i < a->ntools; i++) {
        const rc_tool_t *t = &a->tools[i];
        json_t *args = json_loadb(t->args.data ? t->args.data : "", t->args.len, 0, NULL);
        json_array_append_new(tools,
                              json_pack("{s:s, s:o}", "name", t->name.data ? t->name.data : "",
                                        "arguments", args ? args : json_object()));
    }
    json_object_set_new(r, "text", json_stringn(a->text.data ? a->text.data : "", a->text.len));
    if (a->finish[0])
        json_object_set_new(r, "finish_reason", json_string(a->finish));
    if (a->usage_in >= 0 || a->usage_out >= 0) {
        json_t *u = json_object();
        if (a->usage_in >= 0)
            json_object_set_new(u, "input_tokens", json_integer(a->usage_in));
        if (a->usage_out >= 0)
            json_object_set_new(u, "output_tokens", json_integer(a->usage_out));
        json_object_set_new(r, "usage", u);
    }
    json_object_set(r, "tool_calls", tools);
    if (a->id[0])
        json_object_set_new(r, "response_id", json_string(a->id));
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        goto done;
    if (json_dump_file(r, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
        rc = 0;
done:
    json_decref(tools);
    json_decref(r);
    return rc;
}

int rc_answer_event(rc_answer_t *a, const rc_sse_event_t *ev)
{
    if (a->state != RC_ANS_PARTIAL)
        return -1;
    if (ev->data_len == 0)
        return 0; /* a legal but empty event (a bare `data` line) says nothing */
    if (a->dialect == RC_OPENAI_CHAT && strcmp(ev->data, "[DONE]") == 0) {
        a->state = RC_ANS_DONE;
        return -1;
    }
    /*
     * Decision: an event whose data is not JSON is a broken stream, and a broken stream is
     * retried like a reset (the catalog's rule: corruption in one attempt is recoverable by a
     * retry; corruption on every attempt ends in a clean failure once the attempts run out).
     * Invalid UTF-8 is caught earlier, by the SSE parser's decoder, and handled the same way.
     */
    json_error_t jerr;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(a, RC_ANS_BROKEN, 1, "malformed JSON in event '%s' (%s)", ev->type, jerr.text);
    }
    const char *type = jstr(j, "type");
    if (!type)
        type = ev->type;
    observe(a, j, type);
    int rc;
    switch (a->dialect) {
    case RC_OPENAI_CHAT:
        rc = chat_event(a, j);
        break;
    case RC_OPENAI_RESPONSES:
        rc = responses_event(a, j, type);
        break;
    case RC_GEMINI:
        rc = gemini_event(a, j);
        break;
    default:
        rc = anthropic_event(a, j, type);
        break;
    }
    json_decref(j);
    if (rc == 1) {
        /*
         * The same content event twice in a row is how a replayed part of a stream shows
         * (HKUDS/nanobot #4038). A model may repeat a delta, but never with an identical
         * whole event in Responses (sequence numbers) and rarely in the others; treating it as
         * a broken stream costs one retry, and after two such failures the client asks for the
         * non-streaming body, which has no such ambiguity.
         */
        if (a->last.len == ev->data_len && memcmp(a->last.data, ev->data, ev->data_len) == 0)
            return fail(a, RC_ANS_BROKEN, 1, "the same content event twice in a row");
        rc_buf_clear(&a->last);
        rc_buf_append(&a->last, ev->data, ev->data_len);
    }
    return rc;
}

/* ---- non-streaming bodies ---- */

static int body_chat(rc_answer_t *a, json_t *j)
{
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg))
        return fail(a, RC_ANS_BROKEN, 1, "chat.completion without choices[0].message");
    append_str(&a->text, jstr(msg, "content"));
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call)
    {
        rc_tool_t *t = tool_get(a, (long)i, 1);
        if (!t)
            return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
        json_t *fn = json_object_get(call, "function");
        append_str(&t->name, jstr(fn, "name"));
        append_str(&t->args, jstr(fn, "arguments"));
    }
    if (!jstr(choice, "finish_reason"))
        return fail(a, RC_ANS_BROKEN, 1, "chat.completion without finish_reason");
    a->state = RC_ANS_DONE;
    return 0;
}

static int body_responses(rc_answer_t *a, json_t *j)
{
    size_t i, k;
    json_t *item, *part;
    json_array_foreach(json_object_get(j, "output"), i, item)
    {
        const char *type = jstr(item, "type");
        if (type && strcmp(type, "message") == 0) {
            json_array_foreach(json_object_get(item, "content"), k, part)
            {
                const char *ptype = jstr(part, "type");
                if (ptype && strcmp(ptype, "output_text") == 0)
                    append_str(&a->text, jstr(part, "text"));
            }
        } else if (type && strcmp(type, "function_call") == 0) {
            rc_tool_t *t = tool_get(a, (long)i, 1);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
            append_str(&t->name, jstr(item, "name"));
            append_str(&t->args, jstr(item, "arguments"));
        }
    }
    return responses_finished(a, j, "response") == -1 && a->state == RC_ANS_DONE ? 0 : -1;
}

static int body_anthropic(rc_answer_t *a, json_t *j)
{
    size_t i;
    json_t *block;
    json_array_foreach(json_object_get(j, "content"), i, block)
    {
        const char *type = jstr(block, "type");
        if (type && strcmp(type, "text") == 0) {
            append_str(&a->text, jstr(block, "text"));
        } else if (type && strcmp(type, "tool_use") == 0) {
            rc_tool_t *t = tool_get(a, (long)i, 1);
            if (!t)
                return fail(a, RC_ANS_BROKEN, 1, "too many tool calls");
            append_str(&t->name, jstr(block, "name"));
            char *input = json_dumps(json_object_get(block, "input"), JSON_COMPACT);
            append_str(&t->args, input ? input : "{}");
            free(input);
        }
    }
    if (!jstr(j, "stop_reason"))
        return fail(a, RC_ANS_BROKEN, 1, "message without stop_reason");
    a->state = RC_ANS_DONE;
    return 0;
}

static int body_gemini(rc_answer_t *a, json_t *j)
{
    const char *finish;
    if (gemini_candidate(a, j, &finish) < 0)
        return -1;
    if (!finish || !*finish)
        return fail(a, RC_ANS_BROKEN, 1, "generateContent response without finishReason");
    a->state = RC_ANS_DONE;
    return 0;
}

int rc_answer_body(rc_answer_t *a, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(a, RC_ANS_BROKEN, 1, "malformed JSON body (%s)", jerr.text);
    }
    int rc;
    observe(a, j, NULL);
    json_t *err = json_object_get(j, "error");
    if (json_is_object(err) && a->dialect == RC_GEMINI)
        rc = gemini_error(a, err, "error body");
    else if (json_is_object(err) && a->dialect != RC_OPENAI_RESPONSES)
        rc = provider_error(a, err, "error body");
    else if (a->dialect == RC_GEMINI)
        rc = body_gemini(a, j);
    else if (a->dialect == RC_OPENAI_CHAT)
        rc = body_chat(a, j);
    else if (a->dialect == RC_OPENAI_RESPONSES)
        rc = body_responses(a, j);
    else
        rc = body_anthropic(a, j);
    json_decref(j);
    return rc;
}

int rc_answer_format(rc_answer_t *a, rc_buf_t *out)
{
    rc_buf_clear(out);
    if (a->ntools == 0)
        return rc_buf_append(out, a->text.data ? a->text.data : "", a->text.len) ? -1 : 0;
    for (int i = 0; i < a->ntools; i++) {
        rc_tool_t *t = &a->tools[i];
        json_error_t jerr;
        json_t *args = json_loadb(t->args.data ? t->args.data : "", t->args.len, 0, &jerr);
        if (!json_is_object(args)) {
            json_decref(args);
            fail(a, RC_ANS_BROKEN, 1, "tool call %s: arguments are not a JSON object (%s)",
                 t->name.data ? t->name.data : "?", jerr.text);
            return -1;
        }
        json_t *line =
            json_pack("{s:s, s:o}", "name", t->name.data ? t->name.data : "", "arguments", args);
        char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
        json_decref(line);
        if (!s)
            return -1;
        int rc = (i ? rc_buf_append(out, "\n", 1) : 0) || rc_buf_append(out, s, strlen(s));
        free(s);
        if (rc)
            return -1;
    }
    return 0;
}

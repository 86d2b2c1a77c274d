/*
 * The SSE formats' handlers (downstream.h): the three providers' own streams passed through,
 * and the Vercel AI SDK's UI message stream. Each gets one whole event at a time.
 */
#include "downstream/downstream_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message of an error object: {"message": ...}, a string, or the JSON itself. */
static void fail_with(fl_downstream_t *d, json_t *err)
{
    const char *msg = NULL;
    if (json_is_string(err))
        msg = json_string_value(err);
    else if (json_is_object(err) && json_is_string(json_object_get(err, "message")))
        msg = json_string_value(json_object_get(err, "message"));
    if (msg) {
        fl_downstream__fail(d, msg);
        return;
    }
    char *dump = err ? json_dumps(err, JSON_COMPACT) : NULL;
    fl_downstream__fail(d, dump ? dump : "");
    free(dump);
}

static bool is_done(const char *data, size_t len)
{
    return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void text_of(fl_downstream_t *d, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        fl_downstream__text(d, json_string_value(v), json_string_length(v));
}

void fl_downstream__openai_chat(fl_downstream_t *d, const char *event, const char *data, size_t len)
{
    if (is_done(data, len)) {
        fl_downstream__end(d);
        return;
    }
    json_t *j = fl_downstream__json(d, data, len);
    if (strcmp(event, "error") == 0 || (j && json_object_get(j, "error"))) {
        fail_with(d, j ? json_object_get(j, "error") : NULL);
    } else if (j) {
        json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
        text_of(d, json_object_get(c0, "delta"), "content");
    }
    json_decref(j);
}

void fl_downstream__openai_responses(fl_downstream_t *d, const char *event, const char *data,
                                     size_t len)
{
    json_t *j = fl_downstream__json(d, data, len);
    const char *type = j ? str(j, "type") : NULL;
    if (!type)
        type = event;
    if (strcmp(type, "response.output_text.delta") == 0) {
        text_of(d, j, "delta");
    } else if (strcmp(type, "response.completed") == 0) {
        fl_downstream__end(d);
    } else if (strcmp(type, "error") == 0) {
        fail_with(d, j && json_object_get(j, "error") ? json_object_get(j, "error") : j);
    } else if (strcmp(type, "response.failed") == 0 || strcmp(type, "response.incomplete") == 0) {
        json_t *r = json_object_get(j, "response");
        json_t *e = json_object_get(r, "error");
        if (!e)
            e = json_object_get(r, "incomplete_details");
        if (e)
            fail_with(d, e);
        else
            fl_downstream__fail(d, type);
    }
    json_decref(j);
}

void fl_downstream__anthropic(fl_downstream_t *d, const char *event, const char *data, size_t len)
{
    json_t *j = fl_downstream__json(d, data, len);
    const char *type = j ? str(j, "type") : NULL;
    if (!type)
        type = event;
    if (strcmp(type, "content_block_delta") == 0) {
        json_t *delta = json_object_get(j, "delta");
        const char *dt = str(delta, "type");
        if (dt && strcmp(dt, "text_delta") == 0)
            text_of(d, delta, "text");
    } else if (strcmp(type, "message_stop") == 0) {
        fl_downstream__end(d);
    } else if (strcmp(type, "error") == 0) {
        fail_with(d, j ? json_object_get(j, "error") : NULL);
    }
    json_decref(j);
}

void fl_downstream__ai_sdk_ui(fl_downstream_t *d, const char *event, const char *data, size_t len)
{
    (void)event;
    if (is_done(data, len))
        return; /* the stream's terminator; the "finish" part before it is the end */
    json_t *j = fl_downstream__json(d, data, len);
    const char *type = j ? str(j, "type") : NULL;
    if (!type) {
        json_decref(j);
        return;
    }
    if (strcmp(type, "text-delta") == 0) {
        text_of(d, j, "delta");
    } else if (strcmp(type, "finish") == 0) {
        fl_downstream__end(d);
    } else if (strcmp(type, "error") == 0) {
        const char *t = str(j, "errorText");
        fl_downstream__fail(d, t ? t : "");
    }
    json_decref(j);
}

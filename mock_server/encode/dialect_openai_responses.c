/*
 * openai-responses: OpenAI Responses API, streamed and not.
 *
 * Follows the OpenAI API reference (platform.openai.com/docs/api-reference):
 *  - "Responses > Streaming events": response.created, response.in_progress,
 *    response.output_item.added, response.content_part.added, response.output_text.delta,
 *    response.output_text.done, response.content_part.done, response.output_item.done,
 *    response.function_call_arguments.delta / .done, response.completed, response.failed and
 *    error; every event has "type" and a 0-based, consecutive "sequence_number";
 *  - "Responses > The response object" (id, object, created_at, status, error,
 *    incomplete_details, model, output, usage {input_tokens, input_tokens_details,
 *    output_tokens, output_tokens_details, total_tokens}).
 * The response object here carries the fields a client needs to follow the answer; the
 * request echo fields (instructions, tools, temperature, ...) are left out.
 * Scripted finish "length" and "content_filter" end with status "incomplete" and
 * incomplete_details {"reason": "max_output_tokens" | "content_filter"}. The API names that
 * last event response.incomplete; Faultline keeps response.completed for every finish so that
 * fl_dialect_sentinel_name has one answer, and tags it FL_EVENT_SENTINEL although it also
 * carries the finish (the script has a single end event).
 * Background mode ("Background mode" guide; "Retrieve a model response": GET
 * /v1/responses/{id}, streamed with ?stream=true&starting_after=N): a background response's
 * objects carry "background": true, response.created says "queued", and POST without stream
 * answers the queued response; serve/route.c serves the GET, whose stream is this same script
 * resumed after sequence_number N (every event's sequence_number is its index in the script).
 */
#include "encode/dialect_impl.h"
#include "base/error.h"
#include "encode/sse.h"

#include <stdio.h>
#include <string.h>

typedef struct ids_s {
    char resp[FL_ENCODE_ID_MAX];
    char item[FL_ENCODE_ID_MAX];
    char call[FL_ENCODE_ID_MAX];
} ids_t;

static void ids_init(ids_t *ids, const fl_scenario_t *sc, const fl_encode_ctx_t *ctx)
{
    fl_encode__id(ctx, "resp_", ids->resp, sizeof(ids->resp));
    fl_encode__id(ctx, sc->response.tool_call ? "fc_" : "msg_", ids->item, sizeof(ids->item));
    fl_tool__call_id(sc, ctx, "call_", ids->call, sizeof(ids->call));
}

/* The final status: "incomplete" for finish length and content_filter, else "completed". */
static const char *final_status(fl_finish_t f)
{
    return f == FL_FINISH_LENGTH || f == FL_FINISH_CONTENT_FILTER ? "incomplete" : "completed";
}

/* The response object; output and usage taken (usage NULL gives null). */
static json_t *response_new(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, const ids_t *ids,
                            const char *status, json_t *output, json_t *usage)
{
    json_t *details = json_null();
    if (strcmp(status, "incomplete") == 0)
        details = json_pack("{s:s}", "reason",
                            sc->response.finish_reason == FL_FINISH_LENGTH ? "max_output_tokens"
                                                                           : "content_filter");
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:s, s:n, s:o, s:s, s:o, s:o}", "id", ids->resp, "object",
                  "response", "created_at", (json_int_t)ctx->created, "status", status, "error",
                  "incomplete_details", details, "model", sc->model ? sc->model : "", "output",
                  output, "usage", usage ? usage : json_null());
    /* Only a background response says so: every other body keeps the bytes the validator
     * measured positions on. */
    if (o && ctx->background && json_object_set_new(o, "background", json_true())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *usage_new(const fl_answer_t *a)
{
    int64_t in = fl_usage__input(a->sc), out = fl_answer__output_tokens(a);
    return json_pack("{s:I, s:{s:i}, s:I, s:{s:i}, s:I}", "input_tokens", (json_int_t)in,
                     "input_tokens_details", "cached_tokens", 0, "output_tokens", (json_int_t)out,
                     "output_tokens_details", "reasoning_tokens", 0, "total_tokens",
                     (json_int_t)(in + out));
}

/* The output item: a message with its text, or a function_call with its arguments. */
static json_t *item_new(const fl_scenario_t *sc, const ids_t *ids, const char *status,
                        const char *text, size_t len, bool with_content)
{
    const fl_tool_call_t *tc = sc->response.tool_call;
    if (tc)
        return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "id", ids->item, "type", "function_call",
                         "status", status, "arguments", fl_json__strn(text, len), "call_id",
                         ids->call, "name", tc->name ? tc->name : "");
    json_t *content = json_array();
    if (with_content && content)
        json_array_append_new(content, json_pack("{s:s, s:[], s:o}", "type", "output_text",
                                                 "annotations", "text", fl_json__strn(text, len)));
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", ids->item, "type", "message", "status",
                     status, "content", content, "role", "assistant");
}

/* {"type": type, "sequence_number": seq, ...rest}; takes rest. */
static json_t *event_new(const char *type, uint64_t seq, json_t *rest)
{
    json_t *j = json_pack("{s:s, s:I}", "type", type, "sequence_number", (json_int_t)seq);
    if (!j || !rest || json_object_update(j, rest)) {
        json_decref(j);
        json_decref(rest);
        return NULL;
    }
    json_decref(rest);
    return j;
}

static int push(fl_script_t *out, fl_event_kind_t kind, uint64_t at, const char *type,
                uint64_t *seq, json_t *rest)
{
    return fl_push__json(out, kind, at, type, event_new(type, (*seq)++, rest));
}

int fl_openai__responses_stream(fl_answer_t *a)
{
    const fl_scenario_t *sc = a->sc;
    const fl_tool_call_t *tc = sc->response.tool_call;
    const fl_buf_t *full = &a->full;
    fl_script_t *out = a->out;
    ids_t ids;
    ids_init(&ids, sc, a->ctx);
    uint64_t seq = 0;
    /* A background response is queued before it runs (API reference, "Background mode"). */
    int rc =
        push(out, FL_EVENT_META, 0, "response.created", &seq,
             json_pack("{s:o}", "response",
                       response_new(sc, a->ctx, &ids, a->ctx->background ? "queued" : "in_progress",
                                    json_array(), NULL)));
    if (!rc)
        rc = push(out, FL_EVENT_META, 0, "response.in_progress", &seq,
                  json_pack("{s:o}", "response",
                            response_new(sc, a->ctx, &ids, "in_progress", json_array(), NULL)));
    if (rc)
        return rc;

    if (tc) {
        rc = push(out, FL_EVENT_CONTENT, fl_timeline__next(&a->tl), "response.output_item.added",
                  &seq,
                  json_pack("{s:i, s:o}", "output_index", 0, "item",
                            item_new(sc, &ids, "in_progress", "", 0, false)));
        for (size_t i = 0; i < a->pieces.len && !rc; i++)
            if (!(rc = push(out, FL_EVENT_CONTENT, fl_timeline__next(&a->tl),
                            "response.function_call_arguments.delta", &seq,
                            json_pack("{s:s, s:i, s:o}", "item_id", ids.item, "output_index", 0,
                                      "delta", fl_answer__piece(a, i)))))
                fl_script_mark_piece(out);
        if (!rc)
            rc = push(out, FL_EVENT_META, fl_timeline__tail(&a->tl),
                      "response.function_call_arguments.done", &seq,
                      json_pack("{s:s, s:i, s:o}", "item_id", ids.item, "output_index", 0,
                                "arguments", fl_json__strn(full->data, full->len)));
    } else {
        rc = push(out, FL_EVENT_META, 0, "response.output_item.added", &seq,
                  json_pack("{s:i, s:o}", "output_index", 0, "item",
                            item_new(sc, &ids, "in_progress", "", 0, false)));
        if (!rc)
            rc = push(out, FL_EVENT_META, 0, "response.content_part.added", &seq,
                      json_pack("{s:s, s:i, s:i, s:{s:s, s:[], s:s}}", "item_id", ids.item,
                                "output_index", 0, "content_index", 0, "part", "type",
                                "output_text", "annotations", "text", ""));
        for (size_t i = 0; i < a->pieces.len && !rc; i++)
            if (!(rc = push(out, FL_EVENT_CONTENT, fl_timeline__next(&a->tl),
                            "response.output_text.delta", &seq,
                            json_pack("{s:s, s:i, s:i, s:o, s:[]}", "item_id", ids.item,
                                      "output_index", 0, "content_index", 0, "delta",
                                      fl_answer__piece(a, i), "logprobs"))))
                fl_script_mark_piece(out);
        uint64_t tail = fl_timeline__tail(&a->tl);
        if (!rc)
            rc = push(out, FL_EVENT_META, tail, "response.output_text.done", &seq,
                      json_pack("{s:s, s:i, s:i, s:o, s:[]}", "item_id", ids.item, "output_index",
                                0, "content_index", 0, "text", fl_json__strn(full->data, full->len),
                                "logprobs"));
        if (!rc)
            rc =
                push(out, FL_EVENT_META, tail, "response.content_part.done", &seq,
                     json_pack("{s:s, s:i, s:i, s:{s:s, s:[], s:o}}", "item_id", ids.item,
                               "output_index", 0, "content_index", 0, "part", "type", "output_text",
                               "annotations", "text", fl_json__strn(full->data, full->len)));
    }
    uint64_t tail = fl_timeline__tail(&a->tl);
    const char *status = final_status(sc->response.finish_reason);
    if (!rc)
        rc = push(out, FL_EVENT_META, tail, "response.output_item.done", &seq,
                  json_pack("{s:i, s:o}", "output_index", 0, "item",
                            item_new(sc, &ids, status, full->data, full->len, true)));
    if (!rc) {
        json_t *output = json_pack("[o]", item_new(sc, &ids, status, full->data, full->len, true));
        rc = push(out, FL_EVENT_SENTINEL, tail, "response.completed", &seq,
                  json_pack("{s:o}", "response",
                            response_new(sc, a->ctx, &ids, status, output, usage_new(a))));
    }
    return rc;
}

json_t *fl_openai__responses_body(const fl_answer_t *a, int *rc)
{
    (void)rc; /* only out of memory can fail here */
    ids_t ids;
    ids_init(&ids, a->sc, a->ctx);
    if (a->ctx->background && a->ctx->queued)
        return response_new(a->sc, a->ctx, &ids, "queued", json_array(), NULL);
    const char *status = final_status(a->sc->response.finish_reason);
    return response_new(
        a->sc, a->ctx, &ids, status,
        json_pack("[o]", item_new(a->sc, &ids, status, a->full.data, a->full.len, true)),
        usage_new(a));
}

int fl_openai__responses_error_event(fl_error_class_t cls, const char *message,
                                     const fl_encode_ctx_t *ctx, fl_buf_t *out)
{
    const char *msg = message ? message : fl_openai__error_message(cls);
    const char *code = fl_openai__error_code(cls);
    char resp_id[FL_ENCODE_ID_MAX];
    fl_encode__id(ctx, "resp_", resp_id, sizeof(resp_id));
    size_t mark = out->len;
    /* `error` (API reference: "Streaming events > error": code, message, param), then the
     * terminal response.failed with the response's error {code, message}. */
    int rc = fl_json__event(
        out, "error",
        event_new("error", ctx->sequence_number,
                  json_pack("{s:s, s:s, s:n}", "code", code, "message", msg, "param")));
    if (!rc)
        rc = fl_json__event(
            out, "response.failed",
            event_new("response.failed", ctx->sequence_number + 1,
                      json_pack("{s:{s:s, s:s, s:I, s:s, s:{s:s, s:s}, s:n, s:[], s:n}}",
                                "response", "id", resp_id, "object", "response", "created_at",
                                (json_int_t)ctx->created, "status", "failed", "error", "code", code,
                                "message", msg, "incomplete_details", "output", "usage")));
    if (rc)
        fl_buf_truncate(out, mark);
    return rc;
}

/* The reply pipeline; see reply.h. */
#include "serve/reply.h"

#include "base/error.h"
#include "chaos/httphead.h"
#include "chaos/plan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_reply_init(fl_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    fl_buf_init(&r->out);
    fl_wire_init(&r->plan);
}

void fl_reply_close(fl_reply_t *r)
{
    fl_buf_close(&r->out);
    fl_wire_close(&r->plan);
    fl_fault_record_close(&r->evidence);
}

/* --- whole JSON responses --- */

/* Appends the head of an application/json body of len bytes. */
static int json_head(fl_buf_t *out, int status, const char *request_id, bool close,
                     const char *allow, size_t len)
{
    char extra[64];
    fl_http_head_t h = fl_http_head_default(status);
    h.content_type = "application/json";
    h.content_length = len;
    h.request_id = request_id;
    h.connection = close ? "close" : "keep-alive";
    if (allow) {
        snprintf(extra, sizeof(extra), "allow: %s\r\n", allow);
        h.extra = extra;
    }
    return fl_http_head_format(out, &h);
}

int fl_reply_json(fl_reply_t *r, int status, const char *id, const char *allow, const char *body,
                  size_t len)
{
    char request_id[48];
    snprintf(request_id, sizeof(request_id), "req_%s", id);
    int rc = json_head(&r->out, status, request_id, r->close, allow, len);
    if (rc == 0 && fl_buf_append(&r->out, body, len))
        rc = FL_ENOMEM;
    return rc;
}

int fl_reply_doc(fl_reply_t *r, int status, const char *id, const char *allow, json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s)
        return FL_ENOMEM;
    int rc = fl_reply_json(r, status, id, allow, s, strlen(s));
    free(s);
    return rc;
}

int fl_reply_error(fl_reply_t *r, int status, const char *id, const char *allow,
                   const char *message)
{
    return fl_reply_doc(r, status, id, allow, json_pack("{s:{s:s}}", "error", "message", message));
}

int fl_reply_dialect_error(fl_reply_t *r, fl_journal_entry_t *e, fl_dialect_t d, int status,
                           const char *id, const char *allow, const char *message)
{
    fl_buf_t body;
    fl_buf_init(&body);
    int rc = fl_dialect_encode_http_error_body(d, status, fl_fault_error_class_for_status(status),
                                               message, &body);
    if (rc == 0)
        rc = fl_reply_json(r, status, id, allow, body.data ? body.data : "", body.len);
    if (rc == 0 && e) {
        /* the bytes are counted as the connection writes them */
        e->status = status;
        e->framing = "length";
    }
    fl_buf_close(&body);
    return rc;
}

int fl_reply_finish(fl_reply_t *r)
{
    if (r->plan.n_ops)
        return 0;
    fl_wire_op_t write = {.kind = FL_WIRE_WRITE, .fault = FL_WIRE_NO_FAULT, .event = UINT32_MAX};
    fl_wire_op_t done = {.kind = FL_WIRE_DONE, .fault = FL_WIRE_NO_FAULT, .event = UINT32_MAX};
    if (fl_wire_push(&r->plan, &write, r->out.data, r->out.len) ||
        fl_wire_push(&r->plan, &done, NULL, 0))
        return FL_ENOMEM;
    return 0;
}

/* --- a scenario's answer --- */

/* Which step refused a scenario's answer, for the error reply's status and words. */
typedef enum { STEP_ENCODE, STEP_CHAOS } step_t;

const fl_response_t *fl_reply_response(const fl_scenario_t *sc, uint64_t attempt)
{
    size_t entry = fl_plan_entry(sc, attempt);
    if (entry != SIZE_MAX && sc->attempts[entry].response)
        return sc->attempts[entry].response;
    return &sc->response;
}

/* The value of response header name (lower case) when the scenario sets it, else NULL. */
static const char *set_header(const fl_response_t *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

/* The head of a scenario's answer: an SSE stream, or a JSON body of body_len bytes; the
 * response's status and headers merged over the dialect's (content-type, for a stream only, and
 * cache-control). */
static int answer_head(const fl_reply_job_t *job, const fl_response_t *resp, bool close,
                       const char *request_id, size_t body_len, fl_buf_t *out)
{
    fl_http_head_t h = fl_http_head_default(resp->status ? resp->status : 200);
    fl_buf_t extra;
    fl_buf_init(&extra);
    /* content-type is the stream's: a non-streaming body is JSON whatever the stream says */
    const char *type = job->stream ? set_header(resp, "content-type") : NULL;
    h.content_type = type ? type : job->stream ? "text/event-stream" : "application/json";
    h.body = !job->stream                    ? FL_HTTP_BODY_LENGTH
             : job->framing == FL_BODY_CLOSE ? FL_HTTP_BODY_CLOSE
                                             : FL_HTTP_BODY_CHUNKED;
    h.content_length = body_len;
    h.request_id = set_header(resp, "x-request-id") ? NULL : request_id;
    h.connection = close ? "close" : "keep-alive";
    int rc = 0;
    if (job->stream && !set_header(resp, "cache-control"))
        rc = fl_buf_append_str(&extra, "cache-control: no-cache\r\n");
    for (size_t i = 0; i < resp->n_headers && !rc; i++)
        if (strcmp(resp->headers[i].name, "content-type") != 0)
            rc = fl_buf_printf(&extra, "%s: %s\r\n", resp->headers[i].name, resp->headers[i].value);
    h.extra = extra.data;
    if (!rc)
        rc = fl_http_head_format(out, &h);
    fl_buf_close(&extra);
    return rc;
}

/* Why a streamed body is close-delimited, for the reason a fault that needs chunked framing is
 * skipped: route.c asks for close framing on a scenario's `framing: close` or for an HTTP/1.0
 * request (which has no chunked coding). NULL for the other framings. */
static const char *framing_why(const fl_reply_job_t *job)
{
    if (!job->stream || job->framing != FL_BODY_CLOSE)
        return NULL;
    return fl_reply_response(job->sc, job->attempt)->framing == FL_FRAMING_CLOSE ? "framing: close"
                                                                                 : "HTTP/1.0";
}

/* --- how the clean answer ends: its finish reason and usage, as the journal reports them --- */

/* What the clean response says about its end, read from the bytes it sends. */
typedef struct outcome_s {
    size_t finish_event; /* 1 + the event carrying the finish reason; 0 none */
    size_t usage_event;  /* 1 + the last event carrying usage; 0 none */
    char finish[FL_WIRE_FINISH_BYTES];
    int64_t input, output;
} outcome_t;

/* The JSON of one event: the body itself (a non-streaming answer), or its `data:` line. */
static json_t *event_json(const char *b, size_t n)
{
    if (n && b[0] == '{')
        return json_loadb(b, n, 0, NULL);
    for (size_t i = 0; i + 5 <= n; i++) {
        if ((i == 0 || b[i - 1] == '\n') && memcmp(b + i, "data:", 5) == 0) {
            size_t s = i + 5, e;
            if (s < n && b[s] == ' ')
                s++;
            for (e = s; e < n && b[e] != '\n' && b[e] != '\r';)
                e++;
            return json_loadb(b + s, e - s, 0, NULL);
        }
    }
    return NULL;
}

static int64_t int_or(const json_t *o, const char *k1, const char *k2, const char *k3)
{
    const json_t *v = json_object_get(o, k1);
    if (!v)
        v = json_object_get(o, k2);
    if (!v)
        v = json_object_get(o, k3);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/*
 * Reads one event's finish reason and usage, in each dialect's shape (encode/dialect_*.c):
 * chat choices[0].finish_reason and usage {prompt_tokens, completion_tokens}; Responses
 * response.status on response.completed / .incomplete (the body's own status) and
 * usage {input_tokens, output_tokens}; Anthropic delta.stop_reason (the body's stop_reason),
 * message.usage.input_tokens on message_start and usage.output_tokens on message_delta; Gemini
 * candidates[0].finishReason and usageMetadata {promptTokenCount, candidatesTokenCount}.
 */
static void outcome_event(const json_t *o, size_t ev, outcome_t *out)
{
    const json_t *fr =
        json_object_get(json_array_get(json_object_get(o, "choices"), 0), "finish_reason");
    if (!json_is_string(fr))
        fr = json_object_get(json_object_get(o, "delta"), "stop_reason");
    if (!json_is_string(fr))
        fr = json_object_get(o, "stop_reason");
    if (!json_is_string(fr))
        fr = json_object_get(json_array_get(json_object_get(o, "candidates"), 0), "finishReason");
    const json_t *resp = json_object_get(o, "response");
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_string(fr) && type &&
        (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0))
        fr = json_object_get(resp, "status");
    const char *object = json_string_value(json_object_get(o, "object"));
    if (!json_is_string(fr) && object && strcmp(object, "response") == 0)
        fr = json_object_get(o, "status"); /* a non-streaming Responses body */
    if (json_is_string(fr)) {
        snprintf(out->finish, sizeof(out->finish), "%s", json_string_value(fr));
        out->finish_event = ev + 1;
    }
    const json_t *u = json_object_get(o, "usage");
    if (!json_is_object(u))
        u = json_object_get(resp, "usage");
    if (!json_is_object(u))
        u = json_object_get(json_object_get(o, "message"), "usage");
    if (!json_is_object(u))
        u = json_object_get(o, "usageMetadata");
    if (json_is_object(u)) {
        int64_t in = int_or(u, "prompt_tokens", "input_tokens", "promptTokenCount");
        int64_t outn = int_or(u, "completion_tokens", "output_tokens", "candidatesTokenCount");
        if (in >= 0)
            out->input = in;
        if (outn >= 0)
            out->output = outn;
        out->usage_event = ev + 1;
    }
}

/* Whether an event's bytes may carry a finish reason or usage (outcome_event), judged from the
 * text alone: a "finish_reason" whose value is null does not count, anything naming usage, a
 * status or another dialect's reason does. Never false for an event that carries one, so only
 * the events that can matter are parsed: parsing every content event back was 45% of the
 * time a 2,000-event reply took to compile (perf), on the loop thread. */
static bool may_carry_outcome(const char *b, size_t n)
{
    static const char *const keys[] = {"usage", "Usage", "status", "stop_reason", "finishReason"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (memmem(b, n, keys[k], strlen(keys[k])))
            return true;
    static const char fr[] = "\"finish_reason\"";
    const char *end = b + n;
    for (const char *p = b; (p = memmem(p, (size_t)(end - p), fr, sizeof(fr) - 1));) {
        p += sizeof(fr) - 1;
        while (p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p < end && *p != 'n')
            return true;
    }
    return false;
}

static void outcome_of(const fl_script_t *s, outcome_t *out)
{
    memset(out, 0, sizeof(*out));
    out->input = out->output = -1;
    for (size_t i = 0; i < s->n_events; i++) {
        const fl_script_event_t *e = &s->events[i];
        if (e->kind == FL_EVENT_RAW || e->kind == FL_EVENT_PING ||
            !may_carry_outcome(s->bytes.data + e->off, e->len))
            continue;
        json_t *o = event_json(s->bytes.data + e->off, e->len);
        if (o)
            outcome_event(o, i, out);
        json_decref(o);
    }
}

/*
 * The pipeline, for this id and time: the clean body (a stream, or the non-streaming JSON as a
 * one-event body) and its head, the attempt's fault plan, then both compiled into plan and ev
 * (empty on entry, left empty on failure). Returns 0, FL_ENOMEM, or the error of the step named
 * in *failed.
 */
static int compile(const fl_reply_job_t *job, bool close, const char *id, int64_t created,
                   fl_wire_t *plan, fl_fault_record_t *ev, step_t *failed, size_t *skipped)
{
    /* an attempt with a response of its own sends it as if it were the scenario's */
    fl_scenario_t alt = *job->sc;
    alt.response = *fl_reply_response(job->sc, job->attempt);
    fl_encode_ctx_t ctx = job->ctx;
    ctx.id = id;
    ctx.created = created;
    fl_body_framing_t framing = job->stream ? job->framing : FL_BODY_LENGTH;
    char request_id[48];
    fl_script_t script;
    fl_buf_t body, head;
    fl_script_init(&script);
    fl_buf_init(&body);
    fl_buf_init(&head);
    snprintf(request_id, sizeof(request_id), "req_%s", id);
    *failed = STEP_ENCODE;
    int rc;
    if (job->stream) {
        rc = fl_dialect_encode_stream(&alt, &ctx, &script);
        if (rc == 0 && job->resume_after) {
            fl_script_t rest;
            fl_script_init(&rest);
            rc = fl_script_resume(&script, job->resume_after, job->resume_len, &rest, skipped);
            fl_script_close(&script);
            script = rest;
        }
    } else {
        rc = fl_dialect_encode_body(&alt, &ctx, &body);
        if (rc == 0)
            rc = fl_script_push(&script, FL_EVENT_CONTENT, 0, body.data, body.len);
    }
    if (rc == 0)
        rc = answer_head(job, &alt.response, close, request_id, script.bytes.len, &head);
    if (rc == 0)
        rc =
            fl_plan_for_attempt(job->sc, job->attempt, script.n_events, &ev->faults, &ev->n_faults);
    if (rc == 0)
        rc = fl_fault_record_events(ev, &script);
    outcome_t oc;
    if (rc == 0)
        outcome_of(&script, &oc);
    if (rc == 0) {
        fl_chaos_input_t in = {.script = &script,
                               .watch_finish = oc.finish_event,
                               .watch_usage = oc.usage_event,
                               .dialect = alt.dialect,
                               .framing = framing,
                               .kind = job->stream ? FL_BODY_STREAM : FL_BODY_JSON,
                               .framing_why = framing_why(job),
                               .head = head.data,
                               .head_len = head.len,
                               .request_id = request_id,
                               .ctx = ctx,
                               .resumed = job->stream && job->resume_after};
        *failed = STEP_CHAOS;
        rc = fl_chaos_compile(&in, ev->faults, ev->n_faults, plan);
    }
    if (rc == 0 && !plan->page) {
        memcpy(plan->finish_reason, oc.finish, sizeof(plan->finish_reason));
        plan->usage_input = oc.input;
        plan->usage_output = oc.output;
    }
    if (rc)
        fl_fault_record_close(ev);
    fl_buf_close(&head);
    fl_buf_close(&body);
    fl_script_close(&script);
    return rc;
}

/* What a template's compile needs: the job and the head's connection. */
typedef struct template_arg_s {
    const fl_reply_job_t *job;
    bool close;
} template_arg_t;

/* fl_reply_compile_fn: the pipeline for the cache's sentinel ids and times. Any failure is
 * left to fl_reply_scenario's own compile, which makes the error reply. */
static int compile_template(void *arg, const char *id, int64_t created, fl_wire_t *plan,
                            fl_fault_record_t *ev)
{
    const template_arg_t *a = arg;
    step_t failed;
    size_t skipped = 0;
    return compile(a->job, a->close, id, created, plan, ev, &failed, &skipped);
}

/* The answer from the template cache. Returns 0 (r->plan and r->evidence filled), FL_ENOMEM,
 * or 1 when it must be compiled for this request alone. */
static int cached(fl_reply_cache_t *cache, const fl_reply_job_t *job, fl_reply_t *r)
{
    size_t entry = fl_plan_entry(job->sc, job->attempt);
    /* A seeded `chaos:` block draws different faults for every attempt number; a resumed stream
     * and a background response are other bodies than the variant's. */
    if (!job->stream || (entry != SIZE_MAX && job->sc->attempts[entry].seeded) ||
        job->resume_after || job->ctx.background)
        return 1;
    if (job->sc_index == SIZE_MAX)
        return 1; /* a runtime scenario: it may go while the cache lives */
    fl_reply_key_t key = {.scenario = job->sc_index,
                          .entry = entry,
                          .include_usage = job->ctx.include_usage,
                          .close = r->close,
                          .framing = (int)job->framing};
    template_arg_t arg = {job, r->close};
    return fl_reply_cache_get(cache, &key, compile_template, &arg, job->ctx.id, job->ctx.created,
                              &r->plan, &r->evidence);
}

/* Journals the faults of the plan that could not apply to this response, with their reasons.
 * Returns 0 or FL_ENOMEM. */
static int journal_skipped(const fl_wire_t *plan, const fl_fault_record_t *ev,
                           fl_journal_entry_t *e)
{
    int rc = 0;
    fl_buf_t d;
    fl_buf_init(&d);
    for (size_t i = 0; i < plan->n_skipped && rc == 0; i++) {
        const fl_wire_skip_t *k = &plan->skipped[i];
        if (k->fault >= ev->n_faults)
            continue;
        const fl_fault_t *f = &ev->faults[k->fault];
        d.len = 0;
        rc = fl_fault_describe(f, &d);
        if (rc == 0)
            rc = fl_journal_entry_skipped(e, fl_fault_name(f->kind), d.data ? d.data : "",
                                          k->reason);
    }
    fl_buf_close(&d);
    return rc;
}

int fl_reply_scenario(fl_reply_cache_t *cache, const fl_reply_job_t *job, fl_journal_entry_t *e,
                      fl_reply_t *r)
{
    const fl_scenario_t *sc = job->sc;
    step_t failed = STEP_ENCODE;
    size_t skipped = 0;
    int rc = cached(cache, job, r);
    if (rc == 1)
        rc = compile(job, r->close, job->ctx.id, job->ctx.created, &r->plan, &r->evidence, &failed,
                     &skipped);
    if (rc == FL_ENOMEM)
        return rc;
    if (rc == FL_ENOTFOUND && failed == STEP_ENCODE && job->resume_after) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "scenario '%s': no event of the stream has the id '%.*s' to resume after",
                 sc->name, (int)(job->resume_len > 200 ? 200 : job->resume_len), job->resume_after);
        return fl_reply_dialect_error(r, e, sc->dialect, 400, job->ctx.id, NULL, msg);
    }
    if (rc) {
        char msg[512];
        int status = 500;
        if (failed == STEP_CHAOS) {
            /* A fault that cannot apply to this response is skipped, not an error; the compiler
             * fails only on a fault the validator should have refused: a Faultline bug. */
            snprintf(msg, sizeof(msg),
                     "scenario '%s': the chaos compiler refused its faults, which the "
                     "validator should have caught (a Faultline bug): %s",
                     sc->name, fl_strerror(rc));
        } else {
            if (rc == FL_EDIALECT)
                status = 400;
            snprintf(msg, sizeof(msg),
                     rc == FL_EDIALECT && !job->stream
                         ? "scenario '%s' has no non-streaming form; send \"stream\": true (%s)"
                         : "scenario '%s' cannot be encoded: %s",
                     sc->name, fl_strerror(rc));
        }
        return fl_reply_dialect_error(r, e, sc->dialect, status, job->ctx.id, NULL, msg);
    }
    fl_body_framing_t framing = job->stream ? job->framing : FL_BODY_LENGTH;
    if (framing == FL_BODY_CLOSE)
        r->close = true;
    if (e) {
        if (job->resume_after)
            e->resume_skipped = (int64_t)skipped;
        e->status = r->plan.status;
        e->retry_after_ms = r->plan.retry_after_ms;
        snprintf(e->response_id, sizeof(e->response_id), "%s", job->ctx.id ? job->ctx.id : "");
        memcpy(e->finish_reason, r->plan.finish_reason, sizeof(e->finish_reason));
        e->usage_input = r->plan.usage_input;
        e->usage_output = r->plan.usage_output;
        /* an error or proxy page replacing the stream is sent with its length (chaos.c) */
        e->framing = r->plan.page                 ? "length"
                     : framing == FL_BODY_CHUNKED ? "chunked"
                     : framing == FL_BODY_CLOSE   ? "close"
                                                  : "length";
        if ((rc = journal_skipped(&r->plan, &r->evidence, e)))
            return rc;
    }
    return 0;
}

/*
 * Routing: one parsed request → one reply. API paths (POST /v1/chat/completions,
 * /v1/responses, /v1/messages, each also under /s/NAME/) answer from a scenario; control paths
 * live under /_faultline/. Scenario choice, in order: the x-faultline-scenario header, the
 * /s/NAME/ prefix, the body's "model" naming a scenario of the path's dialect, else the first
 * scenario of that dialect. HTTP/1.0 clients always get `connection: close` (no keep-alive
 * for 1.0, which keeps the framing rules simple: their streamed bodies end at FIN).
 */
#include "chaos/chaos.h"
#include "encode/dialect.h"
#include "base/error.h"
#include "chaos/plan.h"
#include "serve/reply_cache.h"
#include "serve/server_int.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fl_fault_record_close(fl_fault_record_t *ev)
{
    fl_plan_free(ev->faults, ev->n_faults);
    free(ev->event_ends);
    memset(ev, 0, sizeof(*ev));
}

void fl_reply_close(fl_reply_t *r)
{
    fl_buf_close(&r->out);
    fl_wire_close(&r->plan);
    fl_fault_record_close(&r->evidence);
}

static void reply_init(fl_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    fl_buf_init(&r->out);
    fl_wire_init(&r->plan);
}

/* A reply the chaos layer does not touch: all of r->out in one write at 0, then DONE. */
static int plan_whole(fl_reply_t *r)
{
    fl_wire_op_t write = {.kind = FL_WIRE_WRITE, .fault = FL_WIRE_NO_FAULT, .event = UINT32_MAX};
    fl_wire_op_t done = {.kind = FL_WIRE_DONE, .fault = FL_WIRE_NO_FAULT, .event = UINT32_MAX};
    if (fl_wire_push(&r->plan, &write, r->out.data, r->out.len) ||
        fl_wire_push(&r->plan, &done, NULL, 0))
        return FL_ENOMEM;
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Internal Server Error";
    }
}

static void make_id(fl_server_t *srv, char *id, size_t n)
{
    /* FL_ENCODE_ID_LEN hex digits: the salt's 8, then the counter's */
    snprintf(id, n, "%08x%0*llx", srv->id_salt, FL_ENCODE_ID_LEN - 8,
             (unsigned long long)srv->next_id++);
}

/* Appends an application/json head for a body of body_len bytes. allow is NULL or the Allow
 * header's value. */
static int json_head(fl_reply_t *r, int status, const char *id, const char *allow, size_t body_len)
{
    if (fl_buf_printf(&r->out,
                      "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n"
                      "x-request-id: req_%s\r\nconnection: %s\r\n",
                      status, reason(status), body_len, id, r->close ? "close" : "keep-alive"))
        return FL_ENOMEM;
    if (allow && fl_buf_printf(&r->out, "allow: %s\r\n", allow))
        return FL_ENOMEM;
    return fl_buf_append(&r->out, "\r\n", 2) ? FL_ENOMEM : 0;
}

/* Appends a whole application/json response. */
static int json_reply(fl_reply_t *r, int status, const char *id, const char *allow,
                      const char *body, size_t body_len)
{
    int rc = json_head(r, status, id, allow, body_len);
    if (rc == 0 && fl_buf_append(&r->out, body, body_len))
        rc = FL_ENOMEM;
    return rc;
}

/* {"error":{"message":...}} for paths with no dialect. */
static int plain_error(fl_reply_t *r, int status, const char *id, const char *allow,
                       const char *message)
{
    json_t *o = json_pack("{s:{s:s}}", "error", "message", message);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return FL_ENOMEM;
    int rc = json_reply(r, status, id, allow, s, strlen(s));
    free(s);
    return rc;
}

/* Records the status of a whole (non-streamed) reply in its journal entry; the bytes are
 * counted as the connection writes them. */
static void journal_whole(fl_server_t *srv, fl_reply_t *r, int status)
{
    fl_journal_entry_t *e = r->has_entry ? fl_journal_find(&srv->journal, r->entry_seq) : NULL;
    if (!e)
        return;
    e->status = status;
    e->framing = "content-length";
}

/* An error in the dialect's own JSON shape (fl_dialect_encode_error_body). */
static int dialect_error(fl_server_t *srv, fl_reply_t *r, fl_dialect_t d, int status,
                         const char *id, const char *allow, const char *message)
{
    fl_buf_t body;
    fl_buf_init(&body);
    int rc =
        fl_dialect_encode_error_body(d, fl_fault_error_class_for_status(status), message, &body);
    if (rc == 0)
        rc = json_reply(r, status, id, allow, body.data ? body.data : "", body.len);
    if (rc == 0)
        journal_whole(srv, r, status);
    fl_buf_close(&body);
    return rc;
}

int fl_route_error_reply(fl_server_t *srv, int status, const char *message, fl_reply_t *r)
{
    char id[32];
    reply_init(r);
    r->close = true;
    make_id(srv, id, sizeof(id));
    int rc = plain_error(r, status, id, NULL, message);
    return rc ? rc : plan_whole(r);
}

/* Splits "/s/NAME/v1/..." into NAME (copied into name) and the API path; else returns path. */
static const char *split_prefix(const char *path, char *name, size_t n)
{
    name[0] = '\0';
    if (strncmp(path, "/s/", 3) != 0)
        return path;
    const char *start = path + 3;
    const char *slash = strchr(start, '/');
    if (!slash || slash == start || (size_t)(slash - start) >= n)
        return path;
    memcpy(name, start, (size_t)(slash - start));
    name[slash - start] = '\0';
    return slash;
}

static bool dialect_for_path(const char *path, fl_dialect_t *d)
{
    static const fl_dialect_t all[] = {FL_DIALECT_OPENAI_CHAT, FL_DIALECT_OPENAI_RESPONSES,
                                       FL_DIALECT_ANTHROPIC_MESSAGES};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(path, fl_dialect_path(all[i])) == 0) {
            *d = all[i];
            return true;
        }
    }
    return false;
}

static size_t scenario_index(const fl_scenario_set_t *set, const fl_scenario_t *sc)
{
    for (size_t i = 0; i < set->len; i++)
        if (set->items[i] == sc)
            return i;
    return set->len;
}

static int control(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r, const char *id)
{
    const char *want = strcmp(req->path, "/_faultline/reset") == 0 ? "POST" : "GET";
    if (strcmp(req->method, want) != 0)
        return plain_error(r, 405, id, want, "method not allowed; use the Allow header's method");
    if (strcmp(req->path, "/_faultline/health") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}";
        return json_reply(r, 200, id, NULL, ok, sizeof(ok) - 1);
    }
    if (strcmp(req->path, "/_faultline/reset") == 0) {
        fl_server_reset(srv);
        static const char ok[] = "{\"status\":\"reset\"}";
        return json_reply(r, 200, id, NULL, ok, sizeof(ok) - 1);
    }
    json_t *j = fl_journal_to_json(&srv->journal);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return FL_ENOMEM;
    int rc = json_reply(r, 200, id, NULL, s, strlen(s));
    free(s);
    return rc;
}

static int stream_head(fl_buf_t *out, bool close, const char *id, fl_body_framing_t framing)
{
    if (fl_buf_printf(out,
                      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                      "cache-control: no-cache\r\nx-request-id: req_%s\r\n",
                      id))
        return FL_ENOMEM;
    if (framing == FL_BODY_CHUNKED)
        return fl_buf_printf(out, "transfer-encoding: chunked\r\nconnection: %s\r\n\r\n",
                             close ? "close" : "keep-alive")
                   ? FL_ENOMEM
                   : 0;
    return fl_buf_append_str(out, "connection: close\r\n\r\n") ? FL_ENOMEM : 0;
}

/* Where each clean event ends, so the connection can count whole events on the wire. */
static int evidence_events(fl_fault_record_t *ev, const fl_script_t *script)
{
    ev->n_events = script->n_events;
    ev->body_len = script->bytes.len;
    if (!script->n_events)
        return 0;
    ev->event_ends = malloc(script->n_events * sizeof(*ev->event_ends));
    if (!ev->event_ends)
        return FL_ENOMEM;
    for (size_t i = 0; i < script->n_events; i++)
        ev->event_ends[i] = script->events[i].off + script->events[i].len;
    return 0;
}

/* What compile_stream needs besides the id and the time. */
typedef struct stream_job_s {
    const fl_scenario_t *sc;
    uint64_t attempt;
    bool include_usage, close;
    fl_body_framing_t framing;
} stream_job_t;

/* fl_reply_compile_fn: a streamed reply compiled from scratch (head, script, faults, plan),
 * with no error replies: any failure is left to scenario_reply's own path. */
static int compile_stream(void *arg, const char *id, int64_t created, fl_wire_t *plan,
                          fl_fault_record_t *ev)
{
    const stream_job_t *job = arg;
    fl_encode_ctx_t ctx = {.id = id, .created = created, .include_usage = job->include_usage};
    char request_id[48];
    fl_script_t script;
    fl_buf_t head;
    fl_script_init(&script);
    fl_buf_init(&head);
    int rc = fl_dialect_encode_stream(job->sc, &ctx, &script);
    if (rc == 0)
        rc = stream_head(&head, job->close, id, job->framing);
    if (rc == 0)
        rc =
            fl_plan_for_attempt(job->sc, job->attempt, script.n_events, &ev->faults, &ev->n_faults);
    if (rc == 0)
        rc = evidence_events(ev, &script);
    if (rc == 0) {
        snprintf(request_id, sizeof(request_id), "req_%s", id);
        fl_chaos_input_t in = {.script = &script,
                               .dialect = job->sc->dialect,
                               .framing = job->framing,
                               .head = head.data,
                               .head_len = head.len,
                               .request_id = request_id,
                               .ctx = ctx};
        rc = fl_chaos_compile(&in, ev->faults, ev->n_faults, plan);
    }
    fl_buf_close(&head);
    fl_script_close(&script);
    return rc;
}

/* The attempt entry a request uses, for the cache key; SIZE_MAX without `attempts:`. */
static size_t attempt_entry(const fl_scenario_t *sc, uint64_t attempt)
{
    if (sc->n_attempts == 0)
        return SIZE_MAX;
    if (attempt == 0)
        attempt = 1;
    return attempt < sc->n_attempts ? (size_t)attempt - 1 : sc->n_attempts - 1;
}

/* A streamed reply from the template cache (reply_cache.h). Returns 0 (r->plan and
 * r->evidence filled), FL_ENOMEM, or 1 when it must be compiled the usual way. */
static int cached_stream(fl_server_t *srv, fl_reply_t *r, const fl_journal_entry_t *e,
                         const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                         fl_body_framing_t framing)
{
    size_t entry = attempt_entry(sc, e->attempt);
    /* A seeded `chaos:` block draws different faults for every attempt number. */
    if (entry != SIZE_MAX && sc->attempts[entry].seeded)
        return 1;
    fl_reply_key_t key = {.scenario = scenario_index(srv->scenarios, sc),
                          .entry = entry,
                          .include_usage = ctx->include_usage,
                          .close = r->close,
                          .framing = (int)framing};
    stream_job_t job = {sc, e->attempt, ctx->include_usage, r->close, framing};
    return fl_reply_cache_get(&srv->cache, &key, compile_stream, &job, ctx->id, ctx->created,
                              &r->plan, &r->evidence);
}

/*
 * The response to one scenario request: its clean body (a stream, or the non-streaming JSON as
 * a one-event body), the head in r->out, then the attempt's faults compiled into r->plan.
 */
static int scenario_reply(fl_server_t *srv, fl_reply_t *r, fl_journal_entry_t *e,
                          const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, bool stream,
                          fl_body_framing_t framing)
{
    char msg[512], request_id[48];
    fl_script_t script;
    fl_buf_t body;
    fl_script_init(&script);
    fl_buf_init(&body);
    int rc;
    if (stream) {
        rc = cached_stream(srv, r, e, sc, ctx, framing);
        if (rc == 0)
            goto planned;
        if (rc != 1)
            goto done;
        rc = fl_dialect_encode_stream(sc, ctx, &script);
        if (rc == 0)
            rc = stream_head(&r->out, r->close, ctx->id, framing);
    } else {
        framing = FL_BODY_LENGTH;
        rc = fl_dialect_encode_body(sc, ctx, &body);
        if (rc == 0)
            rc = fl_script_push(&script, FL_EVENT_CONTENT, 0, body.data, body.len);
        if (rc == 0)
            rc = json_head(r, 200, ctx->id, NULL, body.len);
    }
    if (rc && rc != FL_ENOMEM) {
        snprintf(msg, sizeof(msg),
                 rc == FL_EDIALECT && !stream
                     ? "scenario '%s' has no non-streaming form; send \"stream\": true (%s)"
                     : "scenario '%s' cannot be encoded: %s",
                 sc->name, fl_strerror(rc));
        rc = dialect_error(srv, r, sc->dialect, rc == FL_EDIALECT ? 400 : 500, ctx->id, NULL, msg);
        goto done;
    }
    if (rc)
        goto done;

    fl_fault_record_t *ev = &r->evidence;
    rc = fl_plan_for_attempt(sc, e->attempt, script.n_events, &ev->faults, &ev->n_faults);
    if (rc == 0)
        rc = evidence_events(ev, &script);
    if (rc)
        goto done;
    snprintf(request_id, sizeof(request_id), "req_%s", ctx->id);
    fl_chaos_input_t in = {.script = &script,
                           .dialect = sc->dialect,
                           .framing = framing,
                           .head = r->out.data,
                           .head_len = r->out.len,
                           .request_id = request_id,
                           .ctx = *ctx};
    rc = fl_chaos_compile(&in, ev->faults, ev->n_faults, &r->plan);
    if (rc && rc != FL_ENOMEM) {
        /* The validator refuses faults that cannot apply; reaching this is a Faultline bug. */
        snprintf(msg, sizeof(msg), "scenario '%s': its faults cannot apply to this response: %s",
                 sc->name, fl_strerror(rc));
        r->out.len = 0;
        fl_fault_record_close(ev);
        rc = dialect_error(srv, r, sc->dialect, 500, ctx->id, NULL, msg);
        goto done;
    }
    if (rc)
        goto done;
planned:
    if (framing == FL_BODY_CLOSE)
        r->close = true;
    e->status = r->plan.status;
    e->retry_after_ms = r->plan.retry_after_ms;
    e->framing = framing == FL_BODY_CHUNKED ? "chunked"
                 : framing == FL_BODY_CLOSE ? "close"
                                            : "content-length";
done:
    fl_buf_close(&body);
    fl_script_close(&script);
    return rc;
}

static int api(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r, const char *id,
               fl_dialect_t d, const char *prefix_name)
{
    char msg[512];
    fl_journal_entry_t *e = fl_journal_add(&srv->journal, req, uv_now(srv->loop));
    if (!e)
        return FL_ENOMEM;
    r->has_entry = true;
    r->entry_seq = e->seq;

    if (strcmp(req->method, "POST") != 0)
        return dialect_error(srv, r, d, 405, id, "POST", "method not allowed; use POST");

    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        snprintf(msg, sizeof(msg), "request body is not a JSON object: %s",
                 req->body_len ? jerr.text : "empty body");
        return dialect_error(srv, r, d, 400, id, NULL, msg);
    }
    bool stream = json_is_true(json_object_get(body, "stream"));
    bool include_usage =
        json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage"));
    const char *model = json_string_value(json_object_get(body, "model"));
    e->stream = stream;

    const fl_scenario_set_t *set = srv->scenarios;
    const char *hdr = fl_http_request_header(req, "x-faultline-scenario");
    const char *name = hdr ? hdr : (prefix_name[0] ? prefix_name : NULL);
    const fl_scenario_t *sc = NULL;
    if (name) {
        sc = fl_scenario_set_find(set, name);
        if (!sc) {
            json_decref(body);
            snprintf(msg, sizeof(msg), "scenario '%s' does not exist", name);
            return dialect_error(srv, r, d, 404, id, NULL, msg);
        }
        if (sc->dialect != d) {
            json_decref(body);
            snprintf(msg, sizeof(msg),
                     "scenario '%s' is %s and is served at POST %s (or /s/%s%s), not %s", name,
                     fl_dialect_name(sc->dialect), fl_dialect_path(sc->dialect), name,
                     fl_dialect_path(sc->dialect), req->path);
            return dialect_error(srv, r, d, 404, id, NULL, msg);
        }
    }
    if (!sc && model) {
        const fl_scenario_t *m = fl_scenario_set_find(set, model);
        if (m && m->dialect == d)
            sc = m;
    }
    for (size_t i = 0; !sc && i < set->len; i++)
        if (set->items[i]->dialect == d)
            sc = set->items[i];
    json_decref(body);
    if (!sc) {
        snprintf(msg, sizeof(msg), "no scenario serves %s at %s", fl_dialect_name(d),
                 fl_dialect_path(d));
        return dialect_error(srv, r, d, 404, id, NULL, msg);
    }

    size_t idx = scenario_index(set, sc);
    if (idx < set->len)
        e->attempt = ++srv->attempts[idx];
    if (fl_journal_entry_set_scenario(e, sc->name))
        return FL_ENOMEM;

    fl_encode_ctx_t ctx = {.id = id,
                           .created = (int64_t)time(NULL),
                           .include_usage = include_usage,
                           .sequence_number = 0};
    fl_body_framing_t framing =
        sc->response.framing == FL_FRAMING_CLOSE ? FL_BODY_CLOSE : FL_BODY_CHUNKED;
    if (req->http_major == 1 && req->http_minor == 0)
        framing = FL_BODY_CLOSE; /* HTTP/1.0 has no chunked coding: the body ends at FIN */
    return scenario_reply(srv, r, e, sc, &ctx, stream, framing);
}

static int route(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r)
{
    char id[32];
    char name[256];
    reply_init(r);
    make_id(srv, id, sizeof(id));
    r->close =
        !req->keep_alive || req->http_major < 1 || (req->http_major == 1 && req->http_minor == 0);

    if (strncmp(req->path, "/_faultline/", 12) == 0 &&
        (strcmp(req->path, "/_faultline/health") == 0 ||
         strcmp(req->path, "/_faultline/journal") == 0 ||
         strcmp(req->path, "/_faultline/reset") == 0))
        return control(srv, req, r, id);

    const char *path = split_prefix(req->path, name, sizeof(name));
    fl_dialect_t d;
    if (dialect_for_path(path, &d))
        return api(srv, req, r, id, d, name);

    char msg[512];
    snprintf(msg, sizeof(msg), "no route for %s %.400s", req->method, req->path);
    return plain_error(r, 404, id, NULL, msg);
}

int fl_route_request(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r)
{
    int rc = route(srv, req, r);
    if (rc == 0 && r->plan.n_ops == 0)
        rc = plan_whole(r);
    return rc;
}

/* Routing and the control routes; see route.h. */
#include "serve/route.h"

#include "base/error.h"
#include "chaos/httphead.h"
#include "encode/dialect.h"
#include "serve/server_int.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void make_id(fl_server_t *srv, char *id, size_t n)
{
    /* FL_ENCODE_ID_LEN hex digits: the salt's 8, then the counter's */
    snprintf(id, n, "%08x%0*llx", srv->id_salt, FL_ENCODE_ID_LEN - 8,
             (unsigned long long)srv->next_id++);
}

int fl_route_error_reply(fl_server_t *srv, int status, const char *message, fl_reply_t *r)
{
    char id[32];
    fl_reply_init(r);
    r->close = true;
    make_id(srv, id, sizeof(id));
    int rc = fl_reply_error(r, status, id, NULL, message);
    return rc ? rc : fl_reply_finish(r);
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

/* What the path says of a request besides its dialect: Gemini names the model and whether to
 * stream in the path, the other dialects in the body. */
typedef struct api_path_s {
    fl_dialect_t dialect;
    const char *model; /* borrowed, or NULL: the body's "model" */
    int stream;        /* 1 or 0 from the path, -1: the body's "stream" */
    bool sse;          /* Gemini: the query has alt=sse */
} api_path_t;

/* True when the query string (NULL: none) has the parameter name=value. */
static bool query_has(const char *query, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len == nl + 1 + vl && strncmp(p, name, nl) == 0 && p[nl] == '=' &&
            strncmp(p + nl + 1, value, vl) == 0)
            return true;
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

/*
 * Gemini's paths (Gemini API reference, "Generating content"):
 * /v1beta/models/MODEL:streamGenerateContent and /v1beta/models/MODEL:generateContent, and the
 * same under /v1/. Copies MODEL (no '/', at most n - 1 bytes) into model and sets *stream.
 */
static bool gemini_path(const char *path, char *model, size_t n, bool *stream)
{
    static const char *const prefixes[] = {"/v1beta/models/", "/v1/models/"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(path, prefixes[i], pl) != 0)
            continue;
        const char *m = path + pl;
        const char *colon = strrchr(m, ':');
        if (!colon || colon == m || (size_t)(colon - m) >= n || memchr(m, '/', (size_t)(colon - m)))
            return false;
        if (strcmp(colon, ":streamGenerateContent") == 0)
            *stream = true;
        else if (strcmp(colon, ":generateContent") == 0)
            *stream = false;
        else
            return false;
        memcpy(model, m, (size_t)(colon - m));
        model[colon - m] = '\0';
        return true;
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

/* Parses a decimal number of at most max; returns 0 or -1. */
static int parse_number(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The journal's query: since=SEQ (default 0) and limit=N (at least 1; default 0, no limit).
 * Other parameters are ignored. Returns NULL, or what is wrong with it. */
static const char *journal_query(const char *query, uint64_t *since, size_t *limit)
{
    *since = 0;
    *limit = 0;
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        uint64_t v;
        if (len > 6 && strncmp(p, "since=", 6) == 0) {
            if (parse_number(p + 6, len - 6, UINT64_MAX, &v))
                return "since must be a sequence number (a seq of the journal)";
            *since = v;
        } else if (len > 6 && strncmp(p, "limit=", 6) == 0) {
            if (parse_number(p + 6, len - 6, SIZE_MAX, &v) || v == 0)
                return "limit must be a number of entries, at least 1";
            *limit = (size_t)v;
        } else if (strncmp(p, "since=", 6) == 0 || strncmp(p, "limit=", 6) == 0) {
            return "since and limit need a value";
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static bool is_journal(const fl_http_request_t *req)
{
    return strcmp(req->path, "/_faultline/journal") == 0;
}

/* HTTP/1.0 has no keep-alive here and no chunked coding. */
static bool wants_close(const fl_http_request_t *req)
{
    return !req->keep_alive || req->http_major < 1 ||
           (req->http_major == 1 && req->http_minor == 0);
}

int fl_route_journal(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r,
                     fl_journal_page_t *page, bool *chunked)
{
    uint64_t since;
    size_t limit;
    fl_reply_init(r);
    if (!is_journal(req) || strcmp(req->method, "GET") != 0 ||
        journal_query(req->query, &since, &limit))
        return 0;
    char id[32], request_id[48];
    make_id(srv, id, sizeof(id));
    snprintf(request_id, sizeof(request_id), "req_%s", id);
    r->close = wants_close(req);
    *chunked = !(req->http_major == 1 && req->http_minor == 0);
    fl_http_head_t h = fl_http_head_default(200);
    h.content_type = "application/json";
    h.body = *chunked ? FL_HTTP_BODY_CHUNKED : FL_HTTP_BODY_CLOSE;
    h.request_id = request_id;
    h.connection = r->close ? "close" : "keep-alive";
    if (fl_http_head_format(&r->out, &h))
        return FL_ENOMEM;
    if (!*chunked)
        r->close = true; /* the body ends at FIN */
    fl_journal_page_init(&srv->journal, since, limit, page);
    return 1;
}

static int control(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r, const char *id)
{
    const char *want = strcmp(req->path, "/_faultline/reset") == 0 ? "POST" : "GET";
    if (strcmp(req->method, want) != 0)
        return fl_reply_error(r, 405, id, want,
                              "method not allowed; use the Allow header's method");
    if (strcmp(req->path, "/_faultline/health") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}";
        return fl_reply_json(r, 200, id, NULL, ok, sizeof(ok) - 1);
    }
    if (strcmp(req->path, "/_faultline/reset") == 0) {
        fl_server_reset(srv);
        static const char ok[] = "{\"status\":\"reset\"}";
        return fl_reply_json(r, 200, id, NULL, ok, sizeof(ok) - 1);
    }
    uint64_t since;
    size_t limit;
    const char *bad = journal_query(req->query, &since, &limit);
    if (bad)
        return fl_reply_error(r, 400, id, NULL, bad);
    /* The whole page at once, for a caller that cannot stream it. */
    fl_journal_page_t page;
    fl_buf_t body;
    fl_buf_init(&body);
    fl_journal_page_init(&srv->journal, since, limit, &page);
    int rc = fl_journal_page_write(&srv->journal, &page, SIZE_MAX, &body);
    if (rc == 0)
        rc = fl_reply_json(r, 200, id, NULL, body.data, body.len);
    fl_buf_close(&body);
    return rc;
}

static int api(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r, const char *id,
               const api_path_t *ap, const char *prefix_name)
{
    fl_dialect_t d = ap->dialect;
    char msg[512];
    fl_journal_entry_t *e = fl_journal_add(&srv->journal, req, fl_server__now(srv));
    if (!e)
        return FL_ENOMEM;
    r->has_entry = true;
    r->entry_seq = e->seq;

    if (strcmp(req->method, "POST") != 0)
        return fl_reply_dialect_error(r, e, d, 405, id, "POST", "method not allowed; use POST");
    if (ap->stream == 1 && !ap->sse) {
        e->stream = true;
        return fl_reply_dialect_error(r, e, d, 400, id, NULL,
                                      "streamGenerateContent is served as SSE only: add ?alt=sse "
                                      "(the JSON-array stream is not supported)");
    }

    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        snprintf(msg, sizeof(msg), "request body is not a JSON object: %s",
                 req->body_len ? jerr.text : "empty body");
        return fl_reply_dialect_error(r, e, d, 400, id, NULL, msg);
    }
    bool stream = ap->stream >= 0 ? ap->stream == 1 : json_is_true(json_object_get(body, "stream"));
    bool include_usage =
        json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage"));
    const char *model = ap->model ? ap->model : json_string_value(json_object_get(body, "model"));
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
            return fl_reply_dialect_error(r, e, d, 404, id, NULL, msg);
        }
        if (sc->dialect != d) {
            json_decref(body);
            snprintf(msg, sizeof(msg),
                     "scenario '%s' is %s and is served at POST %s (or /s/%s%s), not %s", name,
                     fl_dialect_name(sc->dialect), fl_dialect_path(sc->dialect), name,
                     fl_dialect_path(sc->dialect), req->path);
            return fl_reply_dialect_error(r, e, d, 404, id, NULL, msg);
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
        return fl_reply_dialect_error(r, e, d, 404, id, NULL, msg);
    }

    size_t idx = scenario_index(set, sc);
    if (idx < set->len)
        e->attempt = ++srv->attempts[idx];
    if (fl_journal_entry_set_scenario(e, sc->name))
        return FL_ENOMEM;

    fl_reply_job_t job = {.sc = sc,
                          .sc_index = idx,
                          .attempt = e->attempt,
                          .stream = stream,
                          .framing = sc->response.framing == FL_FRAMING_CLOSE ? FL_BODY_CLOSE
                                                                              : FL_BODY_CHUNKED,
                          .ctx = {.id = id,
                                  .created = (int64_t)time(NULL),
                                  .include_usage = include_usage,
                                  .sequence_number = 0}};
    if (req->http_major == 1 && req->http_minor == 0)
        job.framing = FL_BODY_CLOSE; /* HTTP/1.0 has no chunked coding: the body ends at FIN */
    return fl_reply_scenario(&srv->cache, &job, e, r);
}

static int route(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r)
{
    char id[32];
    char name[256];
    fl_reply_init(r);
    make_id(srv, id, sizeof(id));
    r->close = wants_close(req);

    if (strncmp(req->path, "/_faultline/", 12) == 0 &&
        (strcmp(req->path, "/_faultline/health") == 0 || is_journal(req) ||
         strcmp(req->path, "/_faultline/reset") == 0))
        return control(srv, req, r, id);

    const char *path = split_prefix(req->path, name, sizeof(name));
    api_path_t ap = {.stream = -1};
    char model[256];
    bool stream;
    if (dialect_for_path(path, &ap.dialect))
        return api(srv, req, r, id, &ap, name);
    if (gemini_path(path, model, sizeof(model), &stream)) {
        ap = (api_path_t){.dialect = FL_DIALECT_GEMINI,
                          .model = model,
                          .stream = stream,
                          .sse = query_has(req->query, "alt", "sse")};
        return api(srv, req, r, id, &ap, name);
    }

    char msg[512];
    snprintf(msg, sizeof(msg), "no route for %s %.400s", req->method, req->path);
    return fl_reply_error(r, 404, id, NULL, msg);
}

int fl_route_request(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r)
{
    int rc = route(srv, req, r);
    return rc ? rc : fl_reply_finish(r);
}

/* Routing and the control routes; see route.h. */
#include "serve/route.h"

#include "base/error.h"
#include "chaos/httphead.h"
#include "encode/dialect.h"
#include "serve/control.h"
#include "serve/server_int.h"
#include "serve/session.h"

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

/* Splits "/X/NAME/rest" (marker "/X/": "/s/" for a scenario, "/t/" for a session) into NAME
 * (copied into name) and "/rest"; else returns path (name ""). */
static const char *split_prefix(const char *path, const char *marker, char *name, size_t n)
{
    name[0] = '\0';
    if (strncmp(path, marker, 3) != 0)
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

    const fl_scenario_t *own; /* borrowed or NULL: the scenario whose response.path this is */
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

/* The scenario whose response.path is path, or NULL. */
static const fl_scenario_t *scenario_for_path(const fl_scenario_set_t *set, const char *path)
{
    for (size_t i = 0; i < set->len; i++)
        if (set->items[i]->response.path && strcmp(set->items[i]->response.path, path) == 0)
            return set->items[i];
    return NULL;
}

/* The index of a scenario file in the reply cache's key; SIZE_MAX (not cached) for runtime
 * scenarios, which can be removed while the cache lives. */
static size_t scenario_index(const fl_scenario_set_t *set, const fl_scenario_t *sc)
{
    for (size_t i = 0; i < set->len; i++)
        if (set->items[i] == sc)
            return i;
    return SIZE_MAX;
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

/* Copies the value of the query's parameter name (NULL: no query) into out (n bytes) and
 * returns true; false when it is absent, empty or too long (out ""). Values are taken as they
 * are: session ids and scenario names need no percent-decoding. */
static bool query_value(const char *query, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl + 1 && strncmp(p, name, nl) == 0 && p[nl] == '=' && len - nl - 1 < n) {
            memcpy(out, p + nl + 1, len - nl - 1);
            out[len - nl - 1] = '\0';
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

/* The journal's query: since=SEQ (default 0) and limit=N (at least 1; default 0, no limit);
 * session= and scenario= filter (journal_filter). Other parameters are ignored. Returns NULL,
 * or what is wrong with it. */
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

/* What a request says beyond its path: the session it is made in (the /t/ID/ prefix, else the
 * x-faultline-session header, else for control routes the query's session=) and the path
 * without the prefix. */
typedef struct target_s {
    const char *path; /* borrowed from the request */
    char session[FL_JOURNAL_SESSION_BYTES];
    bool has_session;
} target_t;

static void target_of(const fl_http_request_t *req, target_t *t)
{
    t->path = split_prefix(req->path, "/t/", t->session, sizeof(t->session));
    t->has_session = t->session[0] != '\0';
    const char *hdr = fl_http_request_header(req, "x-faultline-session");
    if (!t->has_session && hdr && hdr[0]) {
        snprintf(t->session, sizeof(t->session), "%s", hdr);
        t->has_session = true;
    }
    if (!t->has_session && strncmp(t->path, "/_faultline/", 12) == 0)
        t->has_session = query_value(req->query, "session", t->session, sizeof(t->session));
}

static bool is_journal(const target_t *t)
{
    return strcmp(t->path, "/_faultline/journal") == 0;
}

/* Sets the page's filters: the target's session, the query's scenario=. Returns 0 or -1 (a
 * name too long to match anything). */
static int journal_filter(const fl_http_request_t *req, const target_t *t, fl_journal_page_t *pg)
{
    char scenario[FL_JOURNAL_FILTER_BYTES];
    query_value(req->query, "scenario", scenario, sizeof(scenario));
    return fl_journal_page_filter(pg, t->has_session ? t->session : NULL, scenario) ? -1 : 0;
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
    target_t t;
    fl_reply_init(r);
    target_of(req, &t);
    if (!is_journal(&t) || strcmp(req->method, "GET") != 0 ||
        journal_query(req->query, &since, &limit))
        return 0;
    fl_journal_page_init(&srv->journal, since, limit, page);
    if (journal_filter(req, &t, page))
        return 0; /* fl_route_request answers 400 */
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
    return 1;
}

static int control(fl_server_t *srv, const fl_http_request_t *req, const target_t *t, fl_reply_t *r,
                   const char *id)
{
    const char *want = strcmp(t->path, "/_faultline/reset") == 0 ? "POST" : "GET";
    if (strcmp(req->method, want) != 0)
        return fl_reply_error(r, 405, id, want,
                              "method not allowed; use the Allow header's method");
    if (strcmp(t->path, "/_faultline/health") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}";
        return fl_reply_json(r, 200, id, NULL, ok, sizeof(ok) - 1);
    }
    if (strcmp(t->path, "/_faultline/reset") == 0) {
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
    if (journal_filter(req, t, &page))
        return fl_reply_error(r, 400, id, NULL, "scenario= names no scenario (too long)");
    int rc = fl_journal_page_write(&srv->journal, &page, SIZE_MAX, &body);
    if (rc == 0)
        rc = fl_reply_json(r, 200, id, NULL, body.data, body.len);
    fl_buf_close(&body);
    return rc;
}

/* The parts of a scenario's reply that the request decides. */
typedef struct scenario_req_s {
    const char *id; /* borrowed: the response's id, FL_ENCODE_ID_LEN characters */
    int64_t created;
    bool include_usage;
    bool background;
    const char *resume_after; /* borrowed or NULL: honoured only when the scenario has resume */
    bool retrieve;            /* GET /v1/responses/{id}: the response as it is now (done), not
                                 as a background POST answers (queued) */
    fl_session_t *sess;       /* borrowed or NULL: the session whose attempts count */
} scenario_req_t;

/* Counts the attempt, journals it and runs the reply pipeline for sc. */
static int serve_scenario(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r,
                          fl_journal_entry_t *e, const fl_scenario_t *sc, bool stream,
                          const scenario_req_t *rq)
{
    if (sc->profile) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "scenario '%.200s' is a fault profile (no response:): it breaks a live upstream's "
                 "stream through faultline proxy, and has no answer to serve",
                 sc->name);
        return fl_reply_dialect_error(r, e, sc->dialect, 501, rq->id, NULL, msg);
    }
    size_t idx = scenario_index(srv->scenarios, sc);
    if (fl_sessions_next_attempt(&srv->sessions, rq->sess, sc->name, &e->attempt) ||
        fl_journal_entry_set_scenario(e, sc->name))
        return FL_ENOMEM;
    snprintf(e->response_id, sizeof(e->response_id), "%s", rq->id);
    e->created = rq->created;
    const fl_response_t *resp = fl_reply_response(sc, e->attempt);
    fl_reply_job_t job = {.sc = sc,
                          .sc_index = idx,
                          .attempt = e->attempt,
                          .stream = stream,
                          .framing =
                              resp->framing == FL_FRAMING_CLOSE ? FL_BODY_CLOSE : FL_BODY_CHUNKED,
                          .ctx = {.id = rq->id,
                                  .created = rq->created,
                                  .include_usage = rq->include_usage,
                                  .sequence_number = 0,
                                  .background = rq->background,
                                  .queued = rq->background && !stream && !rq->retrieve}};
    if (sc->resume && stream && rq->resume_after) {
        job.resume_after = rq->resume_after;
        job.resume_len = strlen(rq->resume_after);
    }
    if (req->http_major == 1 && req->http_minor == 0)
        job.framing = FL_BODY_CLOSE; /* HTTP/1.0 has no chunked coding: the body ends at FIN */
    return fl_reply_scenario(&srv->cache, &job, e, r);
}

/* The entry of the newest background response with this id (the server's, without resp_), or
 * NULL when the journal does not hold one. */
static const fl_journal_entry_t *background_entry(fl_journal_t *j, const char *id)
{
    for (uint64_t seq = j->next_seq; seq-- > 0;) {
        const fl_journal_entry_t *e = fl_journal_find(j, seq);
        if (!e)
            return NULL;
        if (e->background && e->scenario && strcmp(e->response_id, id) == 0)
            return e;
    }
    return NULL;
}

/*
 * GET /v1/responses/{id} (OpenAI API reference, "Retrieve a model response"): a background
 * response again, as JSON, or with ?stream=true as its event stream, resumed after the event
 * whose sequence_number is starting_after when the scenario has resume. It counts as an attempt
 * of the scenario that answered the POST, with the POST's id and created time. A response the
 * journal does not hold as a background one is 404, in OpenAI's words.
 */
static int responses_get(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r,
                         const char *id, const char *rid, const target_t *t)
{
    char msg[256], after[64];
    const fl_scenario_t *sc = NULL;
    const char *bare = strncmp(rid, "resp_", 5) == 0 ? rid + 5 : NULL;
    const fl_journal_entry_t *orig = bare ? background_entry(&srv->journal, bare) : NULL;
    scenario_req_t rq = {0};
    char orig_id[sizeof(orig->response_id)];
    /* A session sees only its own background responses, and the scenarios it sees. */
    rq.sess = t->has_session ? fl_sessions_get(&srv->sessions, t->session) : NULL;
    const char *want = t->has_session ? t->session : "";
    if (orig && (rq.sess || !t->has_session) && strcmp(orig->session, want) == 0) {
        snprintf(orig_id, sizeof(orig_id), "%s", orig->response_id);
        rq.id = orig_id;
        rq.created = orig->created;
        rq.background = true;
        rq.retrieve = true;
        sc = fl_sessions_find(&srv->sessions, rq.sess, orig->scenario, NULL);
    }
    fl_journal_entry_t *e = fl_journal_add(&srv->journal, req, uv_now(srv->loop));
    if (!e)
        return FL_ENOMEM;
    r->has_entry = true;
    r->entry_seq = e->seq;
    if (t->has_session)
        fl_journal_entry_set_session(e, t->session);
    if (strcmp(req->method, "GET") != 0)
        return fl_reply_dialect_error(r, e, FL_DIALECT_OPENAI_RESPONSES, 405, id, "GET",
                                      "method not allowed; use GET");
    if (!sc) {
        snprintf(msg, sizeof(msg), "Response with id '%.100s' not found.", rid);
        return fl_reply_dialect_error(r, e, FL_DIALECT_OPENAI_RESPONSES, 404, id, NULL, msg);
    }
    bool stream = query_has(req->query, "stream", "true");
    e->stream = stream;
    e->background = true;
    if (query_value(req->query, "starting_after", after, sizeof(after))) {
        if (fl_journal_entry_set_resume(e, after, strlen(after)))
            return FL_ENOMEM;
        rq.resume_after = after;
    }
    return serve_scenario(srv, req, r, e, sc, stream, &rq);
}

static int api(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r, const char *id,
               const api_path_t *ap, const char *prefix_name, const target_t *t)
{
    fl_dialect_t d = ap->dialect;
    char msg[512];
    fl_journal_entry_t *e = fl_journal_add(&srv->journal, req, fl_server__now(srv));
    if (!e)
        return FL_ENOMEM;
    r->has_entry = true;
    r->entry_seq = e->seq;
    fl_session_t *sess = NULL;
    if (t->has_session) {
        fl_journal_entry_set_session(e, t->session);
        sess = fl_sessions_get(&srv->sessions, t->session);
        if (!sess) {
            snprintf(msg, sizeof(msg),
                     "session '%s' does not exist (ended, or never created: POST "
                     "/_faultline/sessions creates one)",
                     t->session);
            return fl_reply_dialect_error(r, e, d, 404, id, NULL, msg);
        }
    }

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
    /* Background mode (OpenAI Responses): the response can be retrieved, and its stream resumed,
     * with GET /v1/responses/{id} (responses_get). */
    bool background =
        d == FL_DIALECT_OPENAI_RESPONSES && json_is_true(json_object_get(body, "background"));
    bool include_usage =
        json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage"));
    const char *model = ap->model ? ap->model : json_string_value(json_object_get(body, "model"));
    e->stream = stream;

    const fl_sessions_t *ss = &srv->sessions;
    const char *hdr = fl_http_request_header(req, "x-faultline-scenario");
    const char *name = hdr ? hdr : (prefix_name[0] ? prefix_name : NULL);
    const fl_scenario_t *sc = NULL;
    if (name) {
        sc = fl_sessions_find(ss, sess, name, NULL);
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
        const fl_scenario_t *m = fl_sessions_find(ss, sess, model, NULL);
        if (m && m->dialect == d)
            sc = m;
    }
    if (!sc && ap->own)
        sc = ap->own;
    if (!sc)
        sc = fl_sessions_first(ss, sess, d, NULL);
    json_decref(body);
    if (!sc) {
        snprintf(msg, sizeof(msg), "no scenario serves %s at %s", fl_dialect_name(d),
                 fl_dialect_path(d));
        return fl_reply_dialect_error(r, e, d, 404, id, NULL, msg);
    }

    /* WHATWG HTML, "Server-sent events": a reconnecting EventSource sends the last event ID it
     * saw as Last-Event-ID. */
    const char *last_id = fl_http_request_header(req, "last-event-id");
    if (last_id && fl_journal_entry_set_resume(e, last_id, strlen(last_id)))
        return FL_ENOMEM;
    e->background = background;
    scenario_req_t rq = {.id = id,
                         .created = (int64_t)time(NULL),
                         .include_usage = include_usage,
                         .background = background,
                         .resume_after = last_id,
                         .sess = sess};
    return serve_scenario(srv, req, r, e, sc, stream, &rq);
}

static int route(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r)
{
    char id[32];
    char name[256];
    target_t t;
    fl_reply_init(r);
    make_id(srv, id, sizeof(id));
    r->close = wants_close(req);
    target_of(req, &t);

    if (strncmp(t.path, "/_faultline/", 12) == 0) {
        if (strcmp(t.path, "/_faultline/health") == 0 || is_journal(&t) ||
            strcmp(t.path, "/_faultline/reset") == 0)
            return control(srv, req, &t, r, id);
        return fl_control_request(srv, req, t.path, t.has_session ? t.session : NULL, r, id);
    }

    const char *path = split_prefix(t.path, "/s/", name, sizeof(name));
    api_path_t ap = {.stream = -1};
    char model[256];
    bool stream;
    if (dialect_for_path(path, &ap.dialect))
        return api(srv, req, r, id, &ap, name, &t);
    if (gemini_path(path, model, sizeof(model), &stream)) {
        ap = (api_path_t){.dialect = FL_DIALECT_GEMINI,
                          .model = model,
                          .stream = stream,
                          .sse = query_has(req->query, "alt", "sse")};
        return api(srv, req, r, id, &ap, name, &t);
    }
    static const char responses[] = "/v1/responses/";
    if (strncmp(path, responses, sizeof(responses) - 1) == 0 && path[sizeof(responses) - 1] &&
        !strchr(path + sizeof(responses) - 1, '/'))
        return responses_get(srv, req, r, id, path + sizeof(responses) - 1, &t);
    if ((ap.own = scenario_for_path(srv->scenarios, path))) {
        ap.dialect = ap.own->dialect;
        return api(srv, req, r, id, &ap, name, &t);
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

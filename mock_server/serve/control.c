/* The control API for test suites; see control.h. */
#include "serve/control.h"

#include "base/error.h"
#include "serve/server_int.h"
#include "serve/session.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The name runtime scenarios carry as their file in the loader's diagnostics. */
#define BODY_NAME "request-body"

static int not_allowed(fl_reply_t *r, const char *id, const char *allow)
{
    return fl_reply_error(r, 405, id, allow, "method not allowed; use the Allow header's method");
}

/* The server's own origin as the client reached it: the Host header, else the bound port. */
static void origin(fl_server_t *srv, const fl_http_request_t *req, char *buf, size_t n)
{
    const char *host = fl_http_request_header(req, "host");
    if (host && host[0] && strlen(host) < 256 && !strpbrk(host, "/\\\"<> "))
        snprintf(buf, n, "http://%s", host);
    else
        snprintf(buf, n, "http://127.0.0.1:%d", srv->port);
}

/* {"id","prefix","header","base_url","base_urls":{dialect: url}} for one session. */
static json_t *session_json(fl_server_t *srv, const fl_http_request_t *req, const fl_session_t *x)
{
    char base[512], url[600], prefix[64];
    origin(srv, req, base, sizeof(base));
    snprintf(prefix, sizeof(prefix), "/t/%s", x->id);
    json_t *urls = json_object();
    static const fl_dialect_t all[] = {FL_DIALECT_OPENAI_CHAT, FL_DIALECT_OPENAI_RESPONSES,
                                       FL_DIALECT_ANTHROPIC_MESSAGES, FL_DIALECT_GEMINI};
    for (size_t i = 0; urls && i < sizeof(all) / sizeof(all[0]); i++) {
        /* What each SDK takes as its base URL: OpenAI's includes /v1, Anthropic's and
         * Gemini's SDKs append /v1/messages and /v1beta/models/... themselves. */
        bool v1 = all[i] == FL_DIALECT_OPENAI_CHAT || all[i] == FL_DIALECT_OPENAI_RESPONSES;
        snprintf(url, sizeof(url), "%s%s%s", base, prefix, v1 ? "/v1" : "");
        if (json_object_set_new(urls, fl_dialect_name(all[i]), json_string(url))) {
            json_decref(urls);
            return NULL;
        }
    }
    if (!urls)
        return NULL;
    snprintf(url, sizeof(url), "%s%s", base, prefix);
    json_t *names = json_array();
    for (size_t i = 0; names && i < x->scope.scenarios.len; i++)
        if (json_array_append_new(names, json_string(x->scope.scenarios.items[i]->name))) {
            json_decref(names);
            names = NULL;
        }
    if (!names) {
        json_decref(urls);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:{s:s}, s:s, s:o, s:o}", "id", x->id, "prefix", prefix, "header",
                     "x-faultline-session", x->id, "base_url", url, "base_urls", urls, "scenarios",
                     names);
}

static int sessions(fl_server_t *srv, const fl_http_request_t *req, const char *rest, fl_reply_t *r,
                    const char *id)
{
    fl_sessions_t *ss = &srv->sessions;
    if (rest[0] == '\0') {
        if (strcmp(req->method, "POST") == 0) {
            fl_session_t *x;
            int rc = fl_sessions_create(ss, uv_now(srv->loop) - srv->journal.t0_ms, &x);
            if (rc == FL_ELIMIT)
                return fl_reply_error(r, 429, id, NULL,
                                      "too many sessions alive: DELETE the ones that are done");
            if (rc)
                return rc;
            return fl_reply_doc(r, 201, id, NULL, session_json(srv, req, x));
        }
        if (strcmp(req->method, "GET") != 0)
            return not_allowed(r, id, "GET, POST");
        json_t *list = json_array();
        for (fl_session_t *x = ss->list; list && x; x = x->next)
            if (json_array_append_new(list, session_json(srv, req, x))) {
                json_decref(list);
                list = NULL;
            }
        return fl_reply_doc(r, 200, id, NULL, list ? json_pack("{s:o}", "sessions", list) : NULL);
    }
    if (strcmp(req->method, "DELETE") != 0)
        return not_allowed(r, id, "DELETE");
    if (fl_sessions_delete(ss, rest) == 0)
        return fl_reply_doc(r, 200, id, NULL, json_pack("{s:s}", "deleted", rest));
    char msg[160];
    snprintf(msg, sizeof(msg), "session '%.64s' does not exist", rest);
    return fl_reply_error(r, 404, id, NULL, msg);
}

/* The 400 for a scenario the loader refused: the message and every diagnostic, formatted as
 * `faultline validate` prints them ("request-body:LINE:COL: field: message"). */
static int refused(fl_reply_t *r, const char *id, int code, const fl_diag_list_t *diags)
{
    json_t *list = json_array();
    char line[2048];
    for (size_t i = 0; list && i < diags->len; i++)
        if (json_array_append_new(
                list, json_string(fl_diag_format(&diags->items[i], line, sizeof(line))))) {
            json_decref(list);
            list = NULL;
        }
    if (!list)
        return FL_ENOMEM;
    snprintf(line, sizeof(line), "the scenario is not valid: %s", fl_strerror(code));
    return fl_reply_doc(r, 400, id, NULL,
                        json_pack("{s:{s:s, s:o}}", "error", "message", line, "diagnostics", list));
}

static int add_scenario(fl_server_t *srv, const fl_http_request_t *req, fl_session_t *sess,
                        fl_reply_t *r, const char *id)
{
    if (!srv->opts.load)
        return fl_reply_error(r, 501, id, NULL, "this server cannot load scenarios at runtime");
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    int rc = srv->opts.load(BODY_NAME, req->body ? req->body : "", req->body_len, &sc, &diags);
    if (rc == FL_ENOMEM) {
        fl_diag_list_close(&diags);
        return rc;
    }
    if (rc || !sc) {
        rc = refused(r, id, rc ? rc : FL_ESCHEMA, &diags);
        fl_diag_list_close(&diags);
        return rc;
    }
    fl_diag_list_close(&diags);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s?}", "name", sc->name, "dialect",
                            fl_dialect_name(sc->dialect), "scope", sess ? "session" : "global",
                            "session", sess ? sess->id : NULL);
    if (!doc) {
        fl_scenario_free(sc);
        return FL_ENOMEM;
    }
    bool replaced = false;
    rc = fl_sessions_add_scenario(&srv->sessions, sess, sc, &replaced); /* takes sc */
    if (rc == FL_ELIMIT) {
        json_decref(doc);
        return fl_reply_error(r, 429, id, NULL,
                              "too many runtime scenarios in this scope: DELETE some first");
    }
    if (rc || json_object_set_new(doc, "replaced", json_boolean(replaced))) {
        json_decref(doc);
        return FL_ENOMEM;
    }
    return fl_reply_doc(r, replaced ? 200 : 201, id, NULL, doc);
}

/* Appends {"name","dialect","source","description"} for the scenarios of set not yet listed
 * (a name resolves to its first scope). Returns 0 or -1. */
static int list_set(json_t *list, const fl_scenario_set_t *set, fl_source_t src,
                    const fl_sessions_t *ss, const fl_session_t *sess)
{
    for (size_t i = 0; set && i < set->len; i++) {
        const fl_scenario_t *sc = set->items[i];
        fl_source_t first;
        if (fl_sessions_find(ss, sess, sc->name, &first) != sc || first != src)
            continue; /* shadowed by a scope that comes first */
        if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", sc->name,
                                                  "dialect", fl_dialect_name(sc->dialect), "source",
                                                  fl_source_name(src), "description",
                                                  sc->description ? sc->description : "")))
            return -1;
    }
    return 0;
}

static int scenarios(fl_server_t *srv, const fl_http_request_t *req, const char *rest,
                     fl_session_t *sess, fl_reply_t *r, const char *id)
{
    fl_sessions_t *ss = &srv->sessions;
    if (rest[0] == '\0') {
        if (strcmp(req->method, "POST") == 0)
            return add_scenario(srv, req, sess, r, id);
        if (strcmp(req->method, "GET") != 0)
            return not_allowed(r, id, "GET, POST");
        json_t *list = json_array();
        if (list &&
            ((sess && list_set(list, &sess->scope.scenarios, FL_SOURCE_SESSION, ss, sess)) ||
             list_set(list, &ss->global.scenarios, FL_SOURCE_GLOBAL, ss, sess) ||
             list_set(list, ss->files, FL_SOURCE_FILE, ss, sess))) {
            json_decref(list);
            list = NULL;
        }
        return fl_reply_doc(r, 200, id, NULL, list ? json_pack("{s:o}", "scenarios", list) : NULL);
    }
    if (strcmp(req->method, "DELETE") != 0)
        return not_allowed(r, id, "DELETE");
    char msg[400];
    if (fl_sessions_remove_scenario(ss, sess, rest) == 0)
        return fl_reply_doc(r, 200, id, NULL, json_pack("{s:s}", "deleted", rest));
    fl_source_t src;
    if (fl_sessions_find(ss, sess, rest, &src))
        snprintf(msg, sizeof(msg),
                 "scenario '%.200s' is a %s scenario, not a runtime scenario of this %s", rest,
                 fl_source_name(src), sess ? "session" : "server (no session given)");
    else
        snprintf(msg, sizeof(msg), "scenario '%.200s' does not exist", rest);
    return fl_reply_error(r, 404, id, NULL, msg);
}

/* The session's (NULL: no session's) journal entries answered by sc, as {"requests":[...]}.
 * Returns a new reference or NULL when out of memory. */
static json_t *session_journal(fl_server_t *srv, const fl_session_t *sess, const fl_scenario_t *sc)
{
    fl_journal_page_t page;
    fl_buf_t text;
    fl_buf_init(&text);
    fl_journal_page_init(&srv->journal, 0, 0, &page);
    json_t *doc = NULL;
    if (fl_journal_page_filter(&page, sess ? sess->id : "", sc->name) == 0 &&
        fl_journal_page_write(&srv->journal, &page, SIZE_MAX, &text) == 0)
        doc = json_loadb(text.data, text.len, 0, NULL);
    fl_buf_close(&text);
    return doc;
}

static int judge(fl_server_t *srv, const fl_http_request_t *req, const char *session_id,
                 fl_reply_t *r, const char *id)
{
    if (strcmp(req->method, "POST") != 0)
        return not_allowed(r, id, "POST");
    if (!srv->opts.judge)
        return fl_reply_error(r, 501, id, NULL, "this server has no judge (run `faultline serve`)");
    char msg[512];
    json_error_t jerr;
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        snprintf(msg, sizeof(msg), "the body must be a JSON object: %s",
                 req->body_len ? jerr.text : "empty body");
        return fl_reply_error(r, 400, id, NULL, msg);
    }
    const char *sid = json_string_value(json_object_get(body, "session"));
    sid = sid ? sid : session_id;
    const char *name = json_string_value(json_object_get(body, "scenario"));
    fl_session_t *sess = sid ? fl_sessions_get(&srv->sessions, sid) : NULL;
    const fl_scenario_t *sc = name ? fl_sessions_find(&srv->sessions, sess, name, NULL) : NULL;
    int status = 0;
    if (sid && !sess) {
        status = 404;
        snprintf(msg, sizeof(msg), "session '%.64s' does not exist", sid);
    } else if (!name) {
        status = 400;
        snprintf(msg, sizeof(msg), "\"scenario\" (a string) names the scenario to judge");
    } else if (!sc) {
        status = 404;
        snprintf(msg, sizeof(msg), "scenario '%.200s' does not exist", name);
    }
    if (status) {
        json_decref(body);
        return fl_reply_error(r, status, id, NULL, msg);
    }
    uv_update_time(srv->loop);
    uint64_t now = uv_now(srv->loop) - srv->journal.t0_ms;
    json_t *journal = session_journal(srv, sess, sc);
    json_t *out = NULL;
    int rc = journal
                 ? srv->opts.judge(srv->opts.judge_arg, sc, journal, sess ? sess->created_ms : 0,
                                   now, body, &out, msg, sizeof(msg))
                 : FL_ENOMEM;
    json_decref(journal);
    json_decref(body);
    if (rc == FL_EINVAL)
        return fl_reply_error(r, 400, id, NULL, msg);
    if (rc)
        return rc;
    return fl_reply_doc(r, 200, id, NULL, out);
}

int fl_control_request(fl_server_t *srv, const fl_http_request_t *req, const char *path,
                       const char *session_id, fl_reply_t *r, const char *id)
{
    static const char sessions_path[] = "/_faultline/sessions";
    static const char scenarios_path[] = "/_faultline/scenarios";
    size_t sl = sizeof(sessions_path) - 1, cl = sizeof(scenarios_path) - 1;
    char msg[512];
    fl_session_t *sess = session_id ? fl_sessions_get(&srv->sessions, session_id) : NULL;
    if (strcmp(path, "/_faultline/judge") == 0)
        return judge(srv, req, session_id, r, id);
    if (strncmp(path, sessions_path, sl) == 0 && (path[sl] == '\0' || path[sl] == '/'))
        return sessions(srv, req, path[sl] ? path + sl + 1 : "", r, id);
    if (strncmp(path, scenarios_path, cl) == 0 && (path[cl] == '\0' || path[cl] == '/')) {
        if (session_id && !sess) {
            snprintf(msg, sizeof(msg), "session '%.64s' does not exist", session_id);
            return fl_reply_error(r, 404, id, NULL, msg);
        }
        return scenarios(srv, req, path[cl] ? path + cl + 1 : "", sess, r, id);
    }
    snprintf(msg, sizeof(msg), "no route for %s %.400s", req->method, req->path);
    return fl_reply_error(r, 404, id, NULL, msg);
}

/*
 * HAR 1.2 (w3c-webperf "HTTP Archive (HAR) format"; Chrome's and Firefox's network panels):
 * every entry whose response is an event stream becomes a capture. A HAR keeps the body as one
 * string (`response.content.text`, base64 when `content.encoding` is "base64") and no per-chunk
 * time: the writes are the body's SSE events spread from the first byte (`timings` blocked +
 * dns + connect + send + wait, each -1 when not applicable) over `timings.receive`, flagged
 * timing_synthesized and boundaries_lost. A failed request is Chrome's `_error` (on the
 * response or the entry, e.g. "net::ERR_INCOMPLETE_CHUNKED_ENCODING") or status 0 (Firefox).
 */
#include "import/import_impl.h"

#include "base/error.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ending a browser's error name stands for (Chrome's net::ERR_*, Firefox's NS_ERROR_*). */
static fl_capture_end_t error_end(const char *err)
{
    if (strstr(err, "RESET") || strstr(err, "ABORTED") || strstr(err, "NET_INTERRUPT"))
        return FL_CAPTURE_END_RST;
    if (strstr(err, "TIMED_OUT") || strstr(err, "TIMEOUT"))
        return FL_CAPTURE_END_TIMEOUT;
    if (strstr(err, "EMPTY_RESPONSE"))
        return FL_CAPTURE_END_NO_RESPONSE;
    return FL_CAPTURE_END_FIN; /* ERR_INCOMPLETE_CHUNKED_ENCODING, CONNECTION_CLOSED, ... */
}

static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static double ms_of(json_t *timings, const char *key)
{
    double v = json_number_value(json_object_get(timings, key));
    return v > 0 && isfinite(v) ? v : 0;
}

/* The header value of name in a HAR header list, or NULL. */
static const char *header_of(json_t *headers, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h)
    {
        const char *n = str_of(h, "name");
        if (n && strcasecmp(n, name) == 0)
            return str_of(h, "value");
    }
    return NULL;
}

/* Whether the request asked for a stream: Accept: text/event-stream, "stream": true in its
 * body, or a provider's streaming path. A failed request has no response to tell. */
static bool asks_stream(json_t *req)
{
    const char *accept = header_of(json_object_get(req, "headers"), "accept");
    const char *post = str_of(json_object_get(req, "postData"), "text");
    const char *url = str_of(req, "url");
    json_t *j = post ? json_loads(post, 0, NULL) : NULL;
    bool stream = json_is_true(json_object_get(j, "stream"));
    json_decref(j);
    return stream || (accept && strstr(accept, "text/event-stream")) ||
           (url && strstr(url, "streamGenerateContent"));
}

static bool is_event_stream(json_t *resp, const char *text, size_t len)
{
    const char *mime = str_of(json_object_get(resp, "content"), "mimeType");
    const char *ct = header_of(json_object_get(resp, "headers"), "content-type");
    return (mime && strncasecmp(mime, "text/event-stream", 17) == 0) ||
           (ct && strncasecmp(ct, "text/event-stream", 17) == 0) ||
           (text && fl_import__looks_sse(text, len));
}

/* The path and query of a URL ("https://host/v1/x?y" -> "/v1/x?y"). */
static const char *url_path(const char *url)
{
    const char *s = strstr(url, "://");
    if (!s)
        return url;
    const char *p = strchr(s + 3, '/');
    return p ? p : "/";
}

typedef struct entry_s {
    const char *name;
    size_t n; /* 1-based */
    fl_diag_list_t *diags;
} entry_t;

static int bad(const entry_t *e, const char *field, const char *msg)
{
    fl_diag_add(e->diags, e->name, 0, 0, "", "entry %zu: %s%s%s", e->n, field, field[0] ? ": " : "",
                msg);
    return FL_ESCHEMA;
}

static int add_headers(fl_capture_t *c, bool response, json_t *headers)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h)
    {
        const char *n = str_of(h, "name"), *v = str_of(h, "value");
        /* HTTP/2 pseudo-headers (:authority, :path) are Chrome's view, not headers */
        if (!n || !v || n[0] == ':')
            continue;
        int rc = fl_import__header(c, response, n, strlen(n), v, strlen(v));
        if (rc)
            return rc;
    }
    return 0;
}

static int read_entry(const entry_t *e, json_t *entry, fl_import_list_t *l, bool *skipped)
{
    json_t *req = json_object_get(entry, "request"), *resp = json_object_get(entry, "response");
    if (!json_is_object(req) || !json_is_object(resp))
        return bad(e, "", "no request or response object");
    json_t *content = json_object_get(resp, "content");
    const char *text = str_of(content, "text");
    const char *enc = str_of(content, "encoding");
    char *body = NULL;
    size_t blen = 0;
    int rc = 0;
    if (text && enc && strcmp(enc, "base64") == 0) {
        rc = fl_capture_b64_decode(text, strlen(text), &body, &blen);
        if (rc == FL_EINVAL)
            return bad(e, "response.content.text", "encoding is base64 but the text is not");
        if (rc)
            return rc;
    } else if (text) {
        blen = strlen(text);
        if (!(body = strdup(text)))
            return FL_ENOMEM;
    }
    const char *err = str_of(resp, "_error");
    if (!err)
        err = str_of(entry, "_error");
    int status = (int)json_integer_value(json_object_get(resp, "status"));
    bool failed = (err && err[0]) || status == 0;
    if (!is_event_stream(resp, body, blen) && !(failed && asks_stream(req))) {
        free(body);
        *skipped = true;
        return 0;
    }
    char src[600];
    snprintf(src, sizeof(src), "%s#%zu", e->name, e->n);
    const char *url = str_of(req, "url");
    fl_capture_t *c =
        fl_import__capture("har", src, str_of(req, "method"), url ? url_path(url) : "/",
                           FL_CAPTURE_LOSS_TIMING_SYNTHESIZED | FL_CAPTURE_LOSS_BOUNDARIES_LOST);
    if (!c) {
        free(body);
        return FL_ENOMEM;
    }
    const char *created = str_of(entry, "startedDateTime");
    if (created && !(c->created = strdup(created)))
        rc = FL_ENOMEM;
    if (!rc)
        rc = add_headers(c, false, json_object_get(req, "headers"));
    const char *post = str_of(json_object_get(req, "postData"), "text");
    if (!rc && post) {
        c->req_body_len = strlen(post);
        if (!(c->req_body = strdup(post)))
            rc = FL_ENOMEM;
        else if (fl_capture_redact_text(c->req_body, &c->req_body_len))
            rc = fl_capture_add_redacted(c, "request.body");
    }
    /* Chrome: response._error (or entry._error); Firefox: status 0 */
    json_t *timings = json_object_get(entry, "timings");
    double first = ms_of(timings, "blocked") + ms_of(timings, "dns") + ms_of(timings, "connect") +
                   ms_of(timings, "send") + ms_of(timings, "wait");
    double receive = ms_of(timings, "receive");
    c->has_end = true;
    if (status == 0 && !blen) {
        /* no head came: a reset or close before it, or nothing at all */
        c->end = !err || !err[0] ? FL_CAPTURE_END_NO_RESPONSE : error_end(err);
        c->end_ms = (uint64_t)llround(first + receive);
    } else {
        c->has_response = true;
        c->status = status ? status : 200; /* bytes came, so a head did; Firefox kept none */
        const char *reason = str_of(resp, "statusText");
        if (!rc && !(c->reason = strdup(reason ? reason : "")))
            rc = FL_ENOMEM;
        if (!rc)
            rc = add_headers(c, true, json_object_get(resp, "headers"));
        c->head_ms = (uint64_t)llround(first);
        if (!rc)
            rc = fl_import__spread(c, body ? body : "", blen, c->head_ms,
                                   (uint64_t)llround(receive));
        c->end_ms = (uint64_t)llround(first + receive);
        c->end = err && err[0] ? error_end(err)
                 : fl_import__cut_event(body ? body : "", blen) ? FL_CAPTURE_END_FIN
                                                                : FL_CAPTURE_END_COMPLETE;
        if (c->end == FL_CAPTURE_END_NO_RESPONSE)
            c->end = FL_CAPTURE_END_FIN;
    }
    if (!rc && err && err[0] && !(c->end_detail = strdup(err)))
        rc = FL_ENOMEM;
    free(body);
    if (rc) {
        fl_capture_free(c);
        return rc;
    }
    return fl_import__add(l, c, e->name, e->n,
                          "a HAR keeps the body as one string with no per-chunk timing");
}

int fl_import__har(const char *name, const char *text, size_t len, fl_import_list_t *l,
                   fl_diag_list_t *diags)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        fl_diag_add(diags, name, jerr.line, jerr.column, "", "not valid JSON: %s", jerr.text);
        return FL_EJSON;
    }
    json_t *entries = json_object_get(json_object_get(root, "log"), "entries");
    int rc = 0;
    if (!json_is_array(entries)) {
        fl_diag_add(diags, name, 0, 0, "log.entries",
                    "not a HAR: no log.entries list (a HAR 1.2 file is {\"log\": {\"entries\": "
                    "[...]}})");
        rc = FL_ESCHEMA;
        goto done;
    }
    size_t i, failed = 0, before = l->len;
    json_t *entry;
    json_array_foreach(entries, i, entry)
    {
        entry_t e = {name, i + 1, diags};
        bool skipped = false;
        int erc = json_is_object(entry) ? read_entry(&e, entry, l, &skipped)
                                        : bad(&e, "", "not an object");
        if (erc == FL_ENOMEM) {
            rc = erc;
            goto done;
        }
        failed += erc != 0;
        l->skipped += skipped;
    }
    if (l->len == before) {
        if (!failed)
            fl_diag_add(diags, name, 0, 0, "log.entries",
                        "no text/event-stream entry among its %zu entries",
                        json_array_size(entries));
        rc = FL_ESCHEMA;
    }
done:
    json_decref(root);
    return rc;
}

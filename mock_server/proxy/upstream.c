/*
 * The upstream side: libcurl's multi interface driven by the proxy's libuv loop (curl_loop.h);
 * finished transfers come back through fl_proxy__curl_done.
 *
 * Each exchange is one easy handle: the client's method, path, query, headers (hop-by-hop ones
 * and the proxy's own removed; keys untouched) and body, to the upstream's base URL. Its body
 * reads go to the live applier one by one (CURLOPT_WRITEFUNCTION); a client that is behind
 * pauses the transfer (CURL_WRITEFUNC_PAUSE) until the connection's queue drains.
 */
#include "proxy/proxy_int.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fl_proxy__curl_done(void *arg, CURL *easy, CURLcode result)
{
    (void)arg;
    fl_xchg_t *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    if (x)
        fl_proxy__upstream_done(x, result);
}

/* Request headers that are about this hop, or the proxy's own, and are not forwarded
 * (RFC 9110 section 7.6.1; accept-encoding so that the proxy reads the events in clear). */
static bool hop_header(const char *name)
{
    static const char *const hop[] = {"connection",
                                      "keep-alive",
                                      "proxy-connection",
                                      "transfer-encoding",
                                      "te",
                                      "trailer",
                                      "upgrade",
                                      "host",
                                      "content-length",
                                      "expect",
                                      "accept-encoding",
                                      "x-faultline-scenario",
                                      NULL};
    for (size_t i = 0; hop[i]; i++)
        if (strcasecmp(name, hop[i]) == 0)
            return true;
    return false;
}

/* The response head's lines: the status line of each head (a 1xx, then the final one), each
 * header, the blank line that ends a head. */
static size_t on_header(char *line, size_t size, size_t n, void *userp)
{
    fl_xchg_t *x = userp;
    size_t len = size * n;
    if (x->head_done || x->cancel)
        return x->cancel ? 0 : len; /* trailers are not relayed */
    size_t l = len;
    while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
        l--;
    if (l >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new head: forget a 1xx's headers */
        for (size_t i = 0; i < x->n_up_headers; i++) {
            free(x->up_headers[i].name);
            free(x->up_headers[i].value);
        }
        x->n_up_headers = 0;
        const char *sp = memchr(line, ' ', l);
        x->up_status = sp ? atoi(sp + 1) : 0;
        const char *rs = sp ? memchr(sp + 1, ' ', l - (size_t)(sp + 1 - line)) : NULL;
        size_t rl = rs ? l - (size_t)(rs + 1 - line) : 0;
        snprintf(x->up_reason, sizeof(x->up_reason), "%.*s", (int)rl, rs ? rs + 1 : "");
        return len;
    }
    if (l == 0) {
        if (x->up_status >= 200 || x->up_status == 0) {
            x->head_done = true;
            x->in_cb = true;
            fl_proxy__upstream_head(x);
            x->in_cb = false;
            if (x->orphan || x->cancel)
                return 0;
        }
        return len;
    }
    const char *colon = memchr(line, ':', l);
    if (!colon || x->n_up_headers >= FL_CAPTURE_MAX_HEADERS)
        return len;
    char name[256];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - line), line);
    const char *v = colon + 1;
    while (v < line + l && (*v == ' ' || *v == '\t'))
        v++;
    char *value = strndup(v, (size_t)(line + l - v));
    if (!value || fl_capture_add_header(&x->up_headers, &x->n_up_headers, name, value)) {
        free(value);
        return 0; /* out of memory: abort the transfer */
    }
    free(value);
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    fl_xchg_t *x = userp;
    size_t len = size * n;
    if (x->cancel)
        return 0; /* CURLE_WRITE_ERROR: the transfer ends at once */
    if (fl_proxy__backlogged(x)) {
        x->paused = true;
        return CURL_WRITEFUNC_PAUSE; /* libcurl hands the same bytes again on resume */
    }
    uint64_t now = uv_now(x->conn->p->loop);
    int64_t t = (int64_t)(now - x->t0);
    if (x->up_ttfb_ms < 0)
        x->up_ttfb_ms = t;
    x->up_last_ms = t;
    x->in_cb = true;
    if (!x->head_done) {
        x->head_done = true;
        fl_proxy__upstream_head(x);
    }
    if (!x->ended && !x->cancel) {
        if (fl_live_feed(x->live, data, len, now - x->t0))
            x->cancel = true;
        else
            fl_proxy__pump(x);
    }
    x->in_cb = false;
    /* a fault ended the response: the transfer stops now (CURLE_WRITE_ERROR) */
    return x->orphan || x->cancel || x->ended ? 0 : len;
}

/* The URL: the upstream's base, then the request's path unless the base's own path already
 * starts it, then the query. */
static char *make_url(const fl_proxy_t *p, const char *path, const char *query)
{
    const char *base = p->opts.upstream;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    const char *scheme_end = strstr(base, "://");
    const char *bpath = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
    size_t bpl = bpath && bpath < base + bl ? (size_t)(base + bl - bpath) : 0;
    if (bpl && strncmp(path, bpath, bpl) == 0 && (path[bpl] == '/' || path[bpl] == '\0'))
        bl -= bpl; /* OPENAI_BASE_URL style: the client already sends /v1 */
    fl_buf_t u;
    fl_buf_init(&u);
    if (fl_buf_append(&u, base, bl) || fl_buf_append_str(&u, path) ||
        (query && fl_buf_printf(&u, "?%s", query))) {
        fl_buf_close(&u);
        return NULL;
    }
    return fl_buf_detach(&u, NULL);
}

int fl_proxy__upstream_start(fl_xchg_t *x)
{
    fl_proxy_t *p = x->conn->p;
    const fl_http_request_t *req = x->req;
    x->easy = curl_easy_init();
    if (!x->easy)
        return FL_EIO;
    CURL *e = x->easy;
    x->url = make_url(p, req->path, req->query);
    if (!x->url)
        return FL_ENOMEM;
    fl_buf_t line;
    fl_buf_init(&line);
    for (size_t i = 0; i < req->n_headers; i++) {
        if (hop_header(req->headers[i].name))
            continue;
        line.len = 0;
        if (fl_buf_printf(&line, "%s: %s", req->headers[i].name, req->headers[i].value)) {
            fl_buf_close(&line);
            return FL_ENOMEM;
        }
        struct curl_slist *l = curl_slist_append(x->hdrs, line.data);
        if (!l) {
            fl_buf_close(&line);
            return FL_ENOMEM;
        }
        x->hdrs = l;
    }
    fl_buf_close(&line);
    /* no Expect: 100-continue round trip, and the body unencoded so events can be read */
    struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:");
    if (l)
        x->hdrs = curl_slist_append(l, "Accept-Encoding: identity");
    if (!l || !x->hdrs)
        return FL_ENOMEM;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->opts.connect_timeout_ms);
    if (p->opts.cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, p->opts.cacert);
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(req->method, "HEAD") == 0)
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        else if (strcmp(req->method, "POST") != 0 || req->body_len)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        if (strcmp(req->method, "HEAD") != 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        }
    }
    if (fl_curl_loop_add(&p->curl, e))
        return FL_EIO;
    x->in_multi = true;
    return 0;
}

void fl_proxy__upstream_cancel(fl_xchg_t *x)
{
    if (x->easy) {
        if (x->in_multi)
            curl_multi_remove_handle(x->conn->p->curl.multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    x->easy = NULL;
    x->in_multi = false;
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
}

void fl_proxy__upstream_resume(fl_xchg_t *x)
{
    if (!x->paused || !x->easy || !x->in_multi)
        return;
    x->paused = false;
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

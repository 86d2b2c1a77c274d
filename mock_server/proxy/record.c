/*
 * `--record DIR`: one capture (docs/capture.md, model/capture.h) per exchange, broken and
 * non-2xx ones included. The lines are built in memory as the exchange goes (bounded by
 * FL_CAPTURE_MAX_BYTES: past it, writes are left out and the end line says `truncated`); at its
 * end the file is written by libuv's thread pool (uv_queue_work), never on the loop thread. At
 * most RECORD_PENDING_MAX bytes of captures wait for the pool; a capture past that is dropped
 * and counted (fl_proxy_record_counts). Secrets are redacted before any line is built.
 */
#include "proxy/proxy_int.h"

#include "base/container_of.h"
#include "base/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Bytes of captures that may wait for the thread pool at once. */
#define RECORD_PENDING_MAX (256u * 1024 * 1024)

typedef struct record_job_s {
    uv_work_t work;
    fl_proxy_t *p;
    fl_buf_t text;
    char path[4096];
    int status; /* 0, or the errno of the write */
} record_job_t;

static uint64_t t_ms(const fl_xchg_t *x)
{
    return uv_now(x->conn->p->loop) - x->t0;
}

/* Query parameters whose value is a credential (Gemini's ?key=, OAuth's access_token). */
static bool secret_param(const char *name, size_t len)
{
    static const char *const secret[] = {"key",          "api_key", "api-key",
                                         "access_token", "token",   NULL};
    for (size_t i = 0; secret[i]; i++)
        if (strlen(secret[i]) == len && strncasecmp(name, secret[i], len) == 0)
            return true;
    return false;
}

/* Appends "?" and the query with the values of secret parameters as REDACTED; *redacted is set
 * when one was. Returns 0 or FL_ENOMEM. */
static int append_query(fl_buf_t *out, const char *query, bool *redacted)
{
    int rc = fl_buf_append(out, "?", 1);
    for (const char *p = query; !rc && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && secret_param(p, (size_t)(eq - p))) {
            rc = fl_buf_append(out, p, (size_t)(eq - p) + 1);
            if (!rc)
                rc = fl_buf_append_str(out, "REDACTED");
            *redacted = true;
        } else {
            rc = fl_buf_append(out, p, len);
        }
        if (!rc && amp)
            rc = fl_buf_append(out, "&", 1);
        p = amp ? amp + 1 : p + len;
    }
    return rc;
}

int fl_proxy__record_begin(fl_xchg_t *x)
{
    const fl_http_request_t *req = x->req;
    fl_capture_t *c = fl_capture_new();
    fl_buf_t *b = calloc(1, sizeof(*b));
    int rc = FL_ENOMEM;
    if (!c || !b)
        goto fail;
    fl_buf_init(b);
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    c->source = strdup("proxy");
    c->created = strdup(created);
    c->method = strdup(req->method);
    fl_buf_t path;
    fl_buf_init(&path);
    bool query_secret = false;
    if (fl_buf_append_str(&path, req->path) ||
        (req->query && append_query(&path, req->query, &query_secret)))
        goto fail_path;
    c->path = fl_buf_detach(&path, NULL);
    if (query_secret && fl_capture_add_redacted(c, "request.query"))
        goto fail;
    if (!c->source || !c->created || !c->method || !c->path)
        goto fail;
    for (size_t i = 0; i < req->n_headers; i++) {
        const fl_http_header_t *h = &req->headers[i];
        bool secret = fl_capture_secret_header(h->name);
        if (fl_capture_add_header(&c->req_headers, &c->n_req_headers, h->name,
                                  secret ? "REDACTED" : h->value))
            goto fail;
        if (secret) {
            char what[300];
            snprintf(what, sizeof(what), "request.headers.%s", h->name);
            if (fl_capture_add_redacted(c, what))
                goto fail;
        }
    }
    if (req->body_len) {
        c->req_body = malloc(req->body_len + 1);
        if (!c->req_body)
            goto fail;
        memcpy(c->req_body, req->body, req->body_len);
        c->req_body[req->body_len] = '\0';
        c->req_body_len = req->body_len;
        if (fl_capture_redact_text(c->req_body, &c->req_body_len) &&
            fl_capture_add_redacted(c, "request.body"))
            goto fail;
    }
    if (fl_capture_line_header(b, c) || fl_capture_line_request(b, c))
        goto fail;
    fl_capture_free(c);
    x->cap = b;
    return 0;

fail_path:
    fl_buf_close(&path);
fail:
    fl_capture_free(c);
    if (b)
        fl_buf_close(b);
    free(b);
    return rc;
}

void fl_proxy__record_response(fl_xchg_t *x, const char *head, size_t len)
{
    if (!x->cap)
        return;
    fl_capture_t *c = fl_capture_new();
    if (!c)
        return;
    c->has_response = true;
    c->head_ms = t_ms(x);
    /* the status line and headers of the head the client got */
    const char *end = head + len;
    const char *eol = memchr(head, '\n', len);
    const char *sp = eol ? memchr(head, ' ', (size_t)(eol - head)) : NULL;
    c->status = sp ? atoi(sp + 1) : 0;
    const char *rs = sp ? memchr(sp + 1, ' ', (size_t)(eol - sp - 1)) : NULL;
    if (rs) {
        size_t rl = (size_t)(eol - rs - 1);
        if (rl && rs[rl] == '\r')
            rl--;
        c->reason = strndup(rs + 1, rl);
    }
    for (const char *l = eol ? eol + 1 : end; l < end;) {
        const char *e = memchr(l, '\n', (size_t)(end - l));
        if (!e)
            break;
        size_t n = (size_t)(e - l);
        if (n && l[n - 1] == '\r')
            n--;
        if (!n)
            break;
        const char *colon = memchr(l, ':', n);
        if (colon) {
            char *name = strndup(l, (size_t)(colon - l));
            const char *v = colon + 1;
            while (v < l + n && *v == ' ')
                v++;
            char *value = strndup(v, (size_t)(l + n - v));
            if (name && value)
                fl_capture_add_header(&c->resp_headers, &c->n_resp_headers, name,
                                      fl_capture_secret_header(name) ? "REDACTED" : value);
            free(name);
            free(value);
        }
        l = e + 1;
    }
    if (fl_capture_line_response(x->cap, c))
        x->cap_truncated = true;
    fl_capture_free(c);
}

void fl_proxy__record_write(fl_xchg_t *x, const void *bytes, size_t len, fl_capture_origin_t origin)
{
    if (!x->cap || !len || x->cap_truncated)
        return;
    if (x->cap->len + len * 2 + 128 > FL_CAPTURE_MAX_BYTES) {
        x->cap_truncated = true;
        return;
    }
    /* Bodies carry no credentials as a rule; an echoed key would still be redacted. */
    char *copy = malloc(len + 1);
    if (!copy) {
        x->cap_truncated = true;
        return;
    }
    memcpy(copy, bytes, len);
    size_t n = len;
    fl_capture_redact_text(copy, &n);
    if (fl_capture_line_write(x->cap, t_ms(x), copy, n, origin))
        x->cap_truncated = true;
    free(copy);
}

static void job_work(uv_work_t *w)
{
    record_job_t *j = container_of(w, record_job_t, work);
    int fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        j->status = -1;
        return;
    }
    size_t off = 0;
    while (off < j->text.len) {
        ssize_t n = write(fd, j->text.data + off, j->text.len - off);
        if (n <= 0) {
            j->status = -1;
            break;
        }
        off += (size_t)n;
    }
    if (close(fd))
        j->status = -1;
}

static void job_done(uv_work_t *w, int status)
{
    record_job_t *j = container_of(w, record_job_t, work);
    fl_proxy_t *p = j->p;
    p->record_pending -= j->text.len;
    if (status || j->status)
        p->record_dropped++;
    else
        p->record_written++;
    fl_buf_close(&j->text);
    free(j);
    fl_proxy__closed_one(p);
}

void fl_proxy__record_end(fl_xchg_t *x, fl_capture_end_t how, const char *detail)
{
    fl_buf_t *b = x->cap;
    if (!b)
        return;
    x->cap = NULL;
    fl_proxy_t *p = x->conn->p;
    record_job_t *j = NULL;
    if (fl_capture_line_end(b, how, t_ms(x), detail,
                            x->cap_truncated ? FL_CAPTURE_LOSS_TRUNCATED : 0) ||
        p->record_pending + b->len > RECORD_PENDING_MAX || !(j = calloc(1, sizeof(*j))))
        goto drop;
    j->p = p;
    j->text = *b;
    snprintf(j->path, sizeof(j->path), "%s/%06llu-%s.capture.jsonl", p->opts.record_dir,
             (unsigned long long)p->record_seq++, x->id);
    if (uv_queue_work(p->loop, &j->work, job_work, job_done)) {
        fl_buf_init(b);
        *b = j->text;
        free(j);
        goto drop;
    }
    p->record_pending += b->len;
    p->pending_closes++;
    free(b);
    return;
drop:
    p->record_dropped++;
    fl_buf_close(b);
    free(b);
}

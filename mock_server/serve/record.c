/*
 * The recorder (record.h): wire bytes in, capture files out, written off the loop thread.
 */
#include "serve/record.h"

#include "base/chunked.h"
#include "base/container_of.h"
#include "base/error.h"
#include "model/capture.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fl_record_s {
    uv_loop_t *loop; /* borrowed */
    char *dir;       /* owned */
    size_t max_capture, max_pending;
    size_t pending_bytes; /* bytes of captures on their way to the disk */
    uint64_t seq;         /* exchanges begun */
    uint64_t written, dropped;
};

typedef enum { BODY_CHUNKED, BODY_LENGTH, BODY_CLOSE } body_t;

struct fl_record_exchange_s {
    fl_record_t *r; /* borrowed */
    fl_capture_t *cap;
    uint64_t t0;  /* loop ms when the request was complete */
    uint64_t seq; /* the exchange's number, for the file name */
    fl_buf_t head;
    bool head_done;
    body_t body;
    uint64_t length_left;
    fl_chunked_t dc;
    size_t body_bytes;
    bool broken; /* out of memory: the rest is not recorded (the capture says truncated) */
};

/* One capture on its way to the disk: open a temporary file, write, close, rename. */
typedef struct job_s {
    uv_fs_t req;
    fl_record_t *r;
    char *tmp, *path; /* owned */
    fl_buf_t data;
    size_t off;
    uv_file fd;
} job_t;

int fl_record_new(uv_loop_t *loop, const char *dir, size_t max_capture_bytes,
                  size_t max_pending_bytes, fl_record_t **out)
{
    fl_record_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        return FL_ENOMEM;
    }
    r->loop = loop;
    r->max_capture = max_capture_bytes ? max_capture_bytes : FL_RECORD_DEFAULT_CAPTURE_BYTES;
    r->max_pending = max_pending_bytes ? max_pending_bytes : FL_RECORD_DEFAULT_PENDING_BYTES;
    *out = r;
    return 0;
}

void fl_record_free(fl_record_t *r)
{
    if (!r)
        return;
    free(r->dir);
    free(r);
}

uint64_t fl_record_written(const fl_record_t *r)
{
    return r->written;
}

uint64_t fl_record_dropped(const fl_record_t *r)
{
    return r->dropped;
}

static void exchange_free(fl_record_exchange_t *x)
{
    fl_capture_free(x->cap);
    fl_buf_close(&x->head);
    free(x);
}

fl_record_exchange_t *fl_record_begin(fl_record_t *r, const fl_http_request_t *req, uint64_t now_ms)
{
    fl_record_exchange_t *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->r = r;
    x->t0 = now_ms;
    x->seq = ++r->seq;
    fl_buf_init(&x->head);
    fl_chunked_init(&x->dc);
    fl_capture_t *c = x->cap = fl_capture_new();
    int rc = c ? 0 : FL_ENOMEM;
    if (!rc)
        rc = (c->source = strdup("serve")) && (c->method = strdup(req->method)) ? 0 : FL_ENOMEM;
    if (!rc) {
        size_t n = strlen(req->path) + (req->query ? strlen(req->query) + 1 : 0) + 1;
        if ((c->path = malloc(n)))
            snprintf(c->path, n, "%s%s%s", req->path, req->query ? "?" : "",
                     req->query ? req->query : "");
        else
            rc = FL_ENOMEM;
    }
    for (size_t i = 0; !rc && i < req->n_headers; i++) {
        const fl_http_header_t *h = &req->headers[i];
        bool secret = fl_capture_secret_header(h->name);
        if (secret) {
            char what[300];
            snprintf(what, sizeof(what), "request.headers.%s", h->name);
            rc = fl_capture_add_redacted(c, what);
        }
        if (!rc)
            rc = fl_capture_add_header(&c->req_headers, &c->n_req_headers, h->name,
                                       secret ? "REDACTED" : h->value);
    }
    if (!rc && req->body_len) {
        c->req_body = malloc(req->body_len + 1);
        if (!c->req_body) {
            rc = FL_ENOMEM;
        } else {
            memcpy(c->req_body, req->body, req->body_len + 1);
            c->req_body_len = req->body_len;
            if (fl_capture_redact_text(c->req_body, &c->req_body_len))
                rc = fl_capture_add_redacted(c, "request.body");
        }
    }
    if (rc) {
        exchange_free(x);
        return NULL;
    }
    return x;
}

/* Parses the response head (status line and headers, CRLF CRLF included, len bytes). */
static int parse_head(fl_record_exchange_t *x, const char *h, size_t len, uint64_t t)
{
    fl_capture_t *c = x->cap;
    c->has_response = true;
    c->head_ms = t;
    const char *eol = strstr(h, "\r\n");
    const char *sp = memchr(h, ' ', (size_t)(eol - h));
    c->status = sp ? atoi(sp + 1) : 0;
    const char *sp2 = sp ? memchr(sp + 1, ' ', (size_t)(eol - sp - 1)) : NULL;
    c->reason = sp2 ? strndup(sp2 + 1, (size_t)(eol - sp2 - 1)) : strdup("");
    if (!c->reason)
        return FL_ENOMEM;
    x->body = BODY_CLOSE;
    for (const char *p = eol + 2; p < h + len - 2;) {
        const char *e = strstr(p, "\r\n");
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon) {
            char name[128], value[1024];
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
            snprintf(value, sizeof(value), "%.*s", (int)(e - v), v);
            if (strcasecmp(name, "transfer-encoding") == 0 && strstr(value, "chunked"))
                x->body = BODY_CHUNKED;
            else if (strcasecmp(name, "content-length") == 0 && x->body != BODY_CHUNKED) {
                x->body = BODY_LENGTH;
                x->length_left = strtoull(value, NULL, 10);
            }
            int rc = fl_capture_add_header(&c->resp_headers, &c->n_resp_headers, name,
                                           fl_capture_secret_header(name) ? "REDACTED" : value);
            if (rc)
                return rc;
        }
        p = e + 2;
    }
    return 0;
}

/* Adds body bytes (after transfer decoding) as one write, within the capture's bound. */
static int add_body(fl_record_exchange_t *x, const char *p, size_t n, uint64_t t)
{
    if (!n)
        return 0;
    size_t room = x->r->max_capture > x->body_bytes ? x->r->max_capture - x->body_bytes : 0;
    if (n > room) {
        x->cap->loss |= FL_CAPTURE_LOSS_TRUNCATED;
        n = room;
    }
    x->body_bytes += n;
    return n ? fl_capture_add_write(x->cap, t, p, n, FL_CAPTURE_ORIGIN_UPSTREAM) : 0;
}

static int body_bytes(fl_record_exchange_t *x, const char *p, size_t n, uint64_t t)
{
    if (x->body == BODY_CHUNKED) {
        fl_buf_t b;
        fl_buf_init(&b);
        int rc = fl_chunked_feed(&x->dc, p, n, &b);
        if (!rc)
            rc = add_body(x, b.data, b.len, t);
        fl_buf_close(&b);
        return rc;
    }
    if (x->body == BODY_LENGTH) {
        if (n > x->length_left)
            n = (size_t)x->length_left;
        x->length_left -= n;
    }
    return add_body(x, p, n, t);
}

void fl_record_wire(fl_record_exchange_t *x, const void *bytes, size_t len, uint64_t now_ms)
{
    if (!x || x->broken)
        return;
    uint64_t t = now_ms - x->t0;
    const char *p = bytes;
    int rc = 0;
    if (!x->head_done) {
        size_t before = x->head.len;
        rc = fl_buf_append(&x->head, p, len);
        char *end = rc ? NULL : strstr(x->head.data, "\r\n\r\n");
        if (end) {
            size_t hl = (size_t)(end - x->head.data) + 4;
            x->head_done = true;
            rc = parse_head(x, x->head.data, hl, t);
            size_t used = hl - before; /* bytes of this send that were head */
            p += used;
            len -= used;
        } else {
            len = 0;
        }
    }
    if (!rc && len)
        rc = body_bytes(x, p, len, t);
    if (rc) {
        x->broken = true;
        x->cap->loss |= FL_CAPTURE_LOSS_TRUNCATED;
    }
}

/* ---- writing the file, off the loop thread ------------------------------------------------- */

static void job_done(job_t *j, bool ok)
{
    j->r->pending_bytes -= j->data.len;
    if (ok)
        j->r->written++;
    else
        j->r->dropped++;
    fl_buf_close(&j->data);
    free(j->tmp);
    free(j->path);
    free(j);
}

static void on_unlinked(uv_fs_t *req)
{
    job_t *j = container_of(req, job_t, req);
    uv_fs_req_cleanup(req);
    job_done(j, false);
}

static void on_renamed(uv_fs_t *req)
{
    job_t *j = container_of(req, job_t, req);
    bool ok = req->result == 0;
    uv_fs_req_cleanup(req);
    /* a failed rename leaves the temporary file: remove it (off the loop thread too) */
    if (ok || uv_fs_unlink(j->r->loop, req, j->tmp, on_unlinked))
        job_done(j, ok);
}

static void on_closed(uv_fs_t *req)
{
    job_t *j = container_of(req, job_t, req);
    bool ok = req->result == 0 && j->off == j->data.len;
    uv_fs_req_cleanup(req);
    if (ok && uv_fs_rename(j->r->loop, req, j->tmp, j->path, on_renamed) == 0)
        return;
    job_done(j, false);
}

static void on_written(uv_fs_t *req)
{
    job_t *j = container_of(req, job_t, req);
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n > 0) {
        j->off += (size_t)n;
        if (j->off < j->data.len) {
            uv_buf_t b = uv_buf_init(j->data.data + j->off, (unsigned)(j->data.len - j->off));
            if (uv_fs_write(j->r->loop, req, j->fd, &b, 1, (int64_t)j->off, on_written) == 0)
                return;
        }
    }
    if (uv_fs_close(j->r->loop, req, j->fd, on_closed))
        job_done(j, false);
}

static void on_opened(uv_fs_t *req)
{
    job_t *j = container_of(req, job_t, req);
    ssize_t fd = req->result;
    uv_fs_req_cleanup(req);
    if (fd < 0) {
        job_done(j, false);
        return;
    }
    j->fd = (uv_file)fd;
    uv_buf_t b = uv_buf_init(j->data.data, (unsigned)j->data.len);
    if (uv_fs_write(j->r->loop, req, j->fd, &b, 1, 0, on_written) == 0)
        return;
    if (uv_fs_close(j->r->loop, req, j->fd, on_closed))
        job_done(j, false);
}

/* The capture's ending, as the journal saw the response end. */
static fl_capture_end_t end_of(const fl_record_exchange_t *x, fl_end_t end)
{
    if (x->body == BODY_CHUNKED && x->dc.done)
        return FL_CAPTURE_END_COMPLETE;
    switch (end) {
    case FL_END_COMPLETE:
        return FL_CAPTURE_END_COMPLETE;
    case FL_END_RESET:
    case FL_END_SERVER_FAULT:
        return FL_CAPTURE_END_RST;
    case FL_END_CLOSED:
        return x->cap->has_response ? FL_CAPTURE_END_FIN : FL_CAPTURE_END_NO_RESPONSE;
    case FL_END_STALLED:
        /* the server kept silent on purpose until the client gave up: a stall to the end */
        return x->cap->has_response ? FL_CAPTURE_END_TIMEOUT : FL_CAPTURE_END_NO_RESPONSE;
    case FL_END_CLIENT_CLOSED:
        return FL_CAPTURE_END_CLIENT_CLOSED;
    case FL_END_IN_PROGRESS:
        break;
    }
    return FL_CAPTURE_END_TIMEOUT;
}

void fl_record_end(fl_record_exchange_t *x, fl_end_t end, const char *scenario, uint64_t now_ms)
{
    if (!x)
        return;
    fl_record_t *r = x->r;
    fl_capture_t *c = x->cap;
    c->has_end = true;
    c->end = end_of(x, end);
    c->end_ms = now_ms - x->t0;
    char detail[96];
    snprintf(detail, sizeof(detail), "journal: %s", fl_end_name(end));
    c->end_detail = strdup(detail);
    time_t now = time(NULL);
    struct tm tm;
    char created[32];
    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    c->created = strdup(created);

    job_t *j = calloc(1, sizeof(*j));
    int rc = j ? 0 : FL_ENOMEM;
    if (j) {
        j->r = r;
        fl_buf_init(&j->data);
        rc = fl_capture_write(&j->data, c);
    }
    if (!rc && r->pending_bytes + j->data.len > r->max_pending)
        rc = FL_ELIMIT; /* the disk is behind: drop rather than grow without bound */
    if (!rc) {
        /* the scenario's name is [a-z0-9-]; anything else in a file name becomes '-' */
        char name[80];
        snprintf(name, sizeof(name), "%s", scenario ? scenario : "unrouted");
        for (char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-')
                *p = '-';
        size_t n = strlen(r->dir) + strlen(name) + 64;
        j->path = malloc(n);
        j->tmp = malloc(n + 8);
        if (!j->path || !j->tmp) {
            rc = FL_ENOMEM;
        } else {
            snprintf(j->path, n, "%s/%06llu-%s.capture.jsonl", r->dir, (unsigned long long)x->seq,
                     name);
            snprintf(j->tmp, n + 8, "%s.tmp", j->path);
        }
    }
    if (!rc) {
        r->pending_bytes += j->data.len;
        if (uv_fs_open(r->loop, &j->req, j->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, on_opened)) {
            job_done(j, false);
            j = NULL;
        }
    } else if (j) {
        r->dropped++;
        fl_buf_close(&j->data);
        free(j->path);
        free(j->tmp);
        free(j);
    } else {
        r->dropped++;
    }
    exchange_free(x);
}

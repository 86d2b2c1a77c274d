/*
 * The proxy's listener, connections and exchanges; see proxy.h.
 *
 * A connection answers one request at a time (pipelined ones wait in the parser). An exchange
 * picks the scenario and attempt (serve's rules), builds the attempt's fault plan
 * (chaos/plan.h), and either answers from the plan alone (http_error, refuse, no_response: the
 * upstream is not called) or starts the upstream transfer (upstream.c). The live applier
 * (live.h) turns the upstream's head and reads into actions; the executor here carries them out
 * in order: a WRITE is one write to the client (one chunk with chunked framing), a WAIT holds
 * the later actions on the connection's wait timer (pinging if asked), FIRE and SKIP go to the
 * journal, END ends the response and cancels the upstream transfer if it still runs. Actions are
 * carried out as they come while nothing waits, so the clean path adds no copy and no timer.
 */
#include "proxy/proxy_int.h"

#include "base/container_of.h"
#include "base/error.h"
#include "chaos/httphead.h"
#include "chaos/plan.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define READ_BUF_BYTES  (64 * 1024)
#define DEFAULT_BODY    (8u * 1024 * 1024)
#define DEFAULT_CONNECT 10000
#define DEFAULT_HIGH    (1024u * 1024)
#define MAX_HEADER      (64u * 1024)
#define REQUEST_MS      60000 /* a connection's next whole request is due within this (ms) */
/* Events a seeded chaos draw spreads its positions over on a live stream (its length is not
 * known ahead; chaos/plan.h draws `event: N` with N uniform in [1, this]). */
#define LIVE_CHAOS_EVENTS 20

typedef struct wreq_s {
    uv_write_t req;
    fl_pconn_t *conn;
    char data[];
} wreq_t;

static void next_request(fl_pconn_t *c);
static void conn_close(fl_pconn_t *c, fl_end_t end, bool rst);
static void conn_reset(fl_pconn_t *c);
static void conn_shutdown(fl_pconn_t *c);
static void xchg_end(fl_xchg_t *x, fl_end_t end, fl_capture_end_t how, const char *detail);

void fl_proxy__closed_one(fl_proxy_t *p)
{
    if (--p->pending_closes > 0 || !p->stopping)
        return;
    fl_proxy_stop_cb cb = p->stop_cb;
    void *arg = p->stop_arg;
    fl_journal_close(&p->journal);
    free(p->attempts);
    free((char *)p->opts.upstream);
    free((char *)p->opts.cacert);
    free((char *)p->opts.record_dir);
    free(p);
    if (cb)
        cb(arg);
}

/* --- client writes --- */

static void on_write(uv_write_t *req, int status)
{
    wreq_t *w = container_of(req, wreq_t, req);
    fl_pconn_t *c = w->conn;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c, FL_END_CLIENT_CLOSED, false);
        return;
    }
    if (c->rst_pending) {
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
            conn_close(c, FL_END_RESET, true);
        return;
    }
    if (c->x && !fl_proxy__backlogged(c->x))
        fl_proxy__upstream_resume(c->x);
}

/* Writes n buffers as one write: straight to the kernel when nothing is queued, the rest copied
 * into a write request. Returns 0 or a libuv error. */
static int conn_writev(fl_pconn_t *c, uv_buf_t *bufs, unsigned n)
{
    if (c->closing || c->shutting)
        return UV_ECANCELED;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    size_t done = 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        int k = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
        if (k < 0 && k != UV_EAGAIN)
            return k;
        done = k > 0 ? (size_t)k : 0;
    }
    if (done == total)
        return 0;
    wreq_t *w = malloc(sizeof(*w) + total - done);
    if (!w)
        return UV_ENOMEM;
    size_t at = 0, pos = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t l = bufs[i].len;
        if (pos + l > done) {
            size_t skip = done > pos ? done - pos : 0;
            memcpy(w->data + at, bufs[i].base + skip, l - skip);
            at += l - skip;
        }
        pos += l;
    }
    w->conn = c;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)at);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc)
        free(w);
    return rc;
}

static int conn_write(fl_pconn_t *c, const void *p, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    return conn_writev(c, &b, 1);
}

bool fl_proxy__backlogged(const fl_xchg_t *x)
{
    const fl_pconn_t *c = x->conn;
    return x->waiting || x->qn > x->qhead ||
           uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) > c->p->opts.high_water;
}

/* --- the journal --- */

static fl_journal_entry_t *entry_of(const fl_xchg_t *x)
{
    return x->has_entry ? fl_journal_find(&x->conn->p->journal, x->entry_seq) : NULL;
}

/* The entry's "upstream" member. */
static void journal_upstream(fl_xchg_t *x)
{
    fl_journal_entry_t *e = entry_of(x);
    if (!e)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "status", x->up_status ? json_integer(x->up_status) : json_null());
    json_object_set_new(o, "ttfb_ms",
                        x->up_ttfb_ms >= 0 ? json_integer(x->up_ttfb_ms) : json_null());
    json_object_set_new(o, "last_byte_ms",
                        x->up_last_ms >= 0 ? json_integer(x->up_last_ms) : json_null());
    json_object_set_new(o, "end", x->up_end ? json_string(x->up_end) : json_string("in_progress"));
    json_object_set_new(o, "detail", x->up_detail[0] ? json_string(x->up_detail) : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *rel = NULL;
    if (x->relayed) {
        json_t *r =
            json_pack("{s:s%, s:b, s:b}", "text",
                      x->relayed->text.data ? x->relayed->text.data : "", x->relayed->text.len,
                      "end_marker", x->relayed->end_marker, "truncated", x->relayed->truncated);
        rel = r ? json_dumps(r, JSON_COMPACT) : NULL;
        json_decref(r);
    }
    if (!text)
        return;
    fl_buf_t m;
    fl_buf_init(&m);
    int rc = fl_buf_printf(&m, "\"upstream\":%s", text);
    if (!rc && rel)
        rc = fl_buf_printf(&m, ",\"relayed\":%s", rel);
    free(rel);
    if (!rc)
        fl_journal_entry_set_extra(e, m.data);
    fl_buf_close(&m);
    free(text);
}

/* --- the executor --- */

static void on_wait(uv_timer_t *t);

/* Writes len body bytes as one write: one chunk with chunked framing unless raw (already
 * framed). *wire gets the bytes put on the wire. Returns 0 or a libuv error. */
static int write_body(fl_xchg_t *x, const char *bytes, size_t len, bool raw, size_t *wire)
{
    uv_buf_t b[3];
    char size[24];
    unsigned n = 0;
    bool frame = x->chunked && !raw;
    if (frame) {
        int k = snprintf(size, sizeof(size), "%zx\r\n", len);
        b[n++] = uv_buf_init(size, (unsigned)k);
    }
    b[n++] = uv_buf_init((char *)bytes, (unsigned)len);
    if (frame)
        b[n++] = uv_buf_init("\r\n", 2);
    *wire = len + (frame ? b[0].len + 2 : 0);
    return conn_writev(x->conn, b, n);
}

static void ping_now(fl_xchg_t *x)
{
    size_t wire;
    if (!x->ping.len)
        return;
    if (write_body(x, x->ping.data, x->ping.len, false, &wire)) {
        conn_close(x->conn, FL_END_CLIENT_CLOSED, false);
        return;
    }
    fl_proxy__record_write(x, x->ping.data, x->ping.len, FL_CAPTURE_ORIGIN_FAULT);
    fl_journal_entry_t *e = entry_of(x);
    if (e)
        fl_journal_entry_progress(&x->conn->p->journal, e, wire, e->events,
                                  uv_now(x->conn->p->loop));
}

/* Carries out one action. Returns false when later actions must wait (or the exchange ended:
 * then *gone is set and x is freed). */
static bool exec(fl_xchg_t *x, const fl_live_act_t *a, const char *bytes, bool *gone)
{
    fl_pconn_t *c = x->conn;
    fl_proxy_t *p = c->p;
    fl_journal_entry_t *e = entry_of(x);
    uint64_t now = uv_now(p->loop);
    switch (a->kind) {
    case FL_LIVE_WRITE: {
        size_t wire = 0;
        if (a->origin == FL_CAPTURE_ORIGIN_WITHHELD) {
            fl_proxy__record_write(x, bytes, a->len, a->origin);
            return true;
        }
        int rc = 0;
        if (a->head) {
            const char *sp = memchr(bytes, ' ', a->len);
            x->status = sp ? atoi(sp + 1) : 0;
            if (e)
                e->status = x->status;
            fl_proxy__record_response(x, bytes, a->len);
            /* a page made here carries its body after the head */
            const char *blank = NULL;
            for (size_t i = 0; i + 3 < a->len; i++)
                if (memcmp(bytes + i, "\r\n\r\n", 4) == 0) {
                    blank = bytes + i + 4;
                    break;
                }
            if (blank && blank < bytes + a->len)
                fl_proxy__record_write(x, blank, (size_t)(bytes + a->len - blank),
                                       FL_CAPTURE_ORIGIN_FAULT);
            rc = conn_write(c, bytes, a->len);
            wire = a->len;
        } else if (a->len) {
            rc = write_body(x, bytes, a->len, a->raw, &wire);
            fl_proxy__record_write(x, bytes, a->len, a->origin);
            if (x->relayed && !a->raw)
                fl_live_relayed_feed(x->relayed, bytes, a->len);
        }
        if (rc) {
            conn_close(c, FL_END_CLIENT_CLOSED, false);
            *gone = true;
            return false;
        }
        x->events_sent += a->events_done;
        if (e) {
            e->events_sent = x->events_sent;
            uint64_t ev = x->live ? fl_live_events(x->live) : 0;
            fl_journal_entry_progress(&p->journal, e, wire, ev > e->events ? ev : e->events, now);
        }
        return true;
    }
    case FL_LIVE_FIRE:
    case FL_LIVE_SKIP:
        if (e && a->fault < x->n_faults) {
            const fl_fault_t *f = &x->faults[a->fault];
            fl_buf_t d;
            fl_buf_init(&d);
            fl_fault_describe(f, &d);
            if (a->kind == FL_LIVE_FIRE)
                fl_journal_entry_fault(e, fl_fault_name(f->kind), d.data ? d.data : "", a->event,
                                       a->byte, now - x->t0);
            else
                fl_journal_entry_skipped(e, fl_fault_name(f->kind), d.data ? d.data : "",
                                         a->reason);
            fl_buf_close(&d);
        }
        return true;
    case FL_LIVE_WAIT:
        x->waiting = true;
        x->wait_until = now + a->ms;
        x->ping.len = 0;
        x->pinging = a->len > 0 && a->every_ms > 0;
        if (x->pinging) {
            fl_buf_append(&x->ping, bytes, a->len);
            x->ping_every = a->every_ms;
            uv_timer_start(&c->wait_timer, on_wait, a->every_ms < a->ms ? a->every_ms : a->ms, 0);
        } else {
            uv_timer_start(&c->wait_timer, on_wait, a->ms, 0);
        }
        return false;
    case FL_LIVE_END:
        switch (a->end) {
        case FL_LIVE_DONE:
            if (x->chunked && conn_write(c, "0\r\n\r\n", 5)) {
                conn_close(c, FL_END_CLIENT_CLOSED, false);
                *gone = true;
                return false;
            }
            if (e)
                fl_journal_entry_progress(&p->journal, e, x->chunked ? 5 : 0, e->events, now);
            xchg_end(x, FL_END_COMPLETE, FL_CAPTURE_END_COMPLETE, NULL);
            *gone = true;
            return false;
        case FL_LIVE_FIN:
            xchg_end(x, FL_END_CLOSED, FL_CAPTURE_END_FIN, NULL);
            *gone = true;
            return false;
        case FL_LIVE_RST:
            xchg_end(x, FL_END_RESET, FL_CAPTURE_END_RST, NULL);
            *gone = true;
            return false;
        case FL_LIVE_HANG:
        case FL_LIVE_PING:
            x->hang = true;
            if (x->in_multi && !x->up_end) {
                /* nothing more is wanted from the upstream */
                x->up_end = "cancelled";
                snprintf(x->up_detail, sizeof(x->up_detail), "the proxy ended the response first");
                journal_upstream(x);
                if (x->in_cb)
                    x->cancel = true;
                else
                    fl_proxy__upstream_cancel(x);
            }
            if (a->end == FL_LIVE_PING && a->len) {
                x->ping.len = 0;
                fl_buf_append(&x->ping, bytes, a->len);
                x->pinging = true;
                x->ping_every = a->every_ms ? a->every_ms : 1000;
                x->waiting = true;
                x->wait_until = UINT64_MAX;
                uv_timer_start(&c->wait_timer, on_wait, x->ping_every, 0);
            }
            return false;
        }
    }
    return true;
}

/* Copies an action (and its bytes) to the queue, behind a WAIT. */
static int enqueue(fl_xchg_t *x, const fl_live_act_t *a, const char *bytes)
{
    if (x->qn == x->qcap) {
        size_t cap = x->qcap ? x->qcap * 2 : 16;
        fl_live_act_t *q = realloc(x->q, cap * sizeof(*q));
        if (!q)
            return FL_ENOMEM;
        x->q = q;
        x->qcap = cap;
    }
    fl_live_act_t c = *a;
    c.off = x->qbytes.len;
    if (fl_buf_append(&x->qbytes, bytes, a->len))
        return FL_ENOMEM;
    x->q[x->qn++] = c;
    return 0;
}

/* Carries out an action now, or queues it behind a wait. Returns false when x is gone. */
static bool deliver(fl_xchg_t *x, const fl_live_act_t *a, const char *bytes)
{
    if (x->waiting || x->hang || x->qn > x->qhead) {
        if (enqueue(x, a, bytes)) {
            conn_close(x->conn, FL_END_SERVER_FAULT, true);
            return false;
        }
        return true;
    }
    bool gone = false;
    exec(x, a, bytes, &gone);
    return !gone;
}

/* Runs queued actions while nothing waits. Returns false when x is gone. */
static bool run_queue(fl_xchg_t *x)
{
    while (!x->waiting && !x->hang && x->qhead < x->qn) {
        fl_live_act_t a = x->q[x->qhead++];
        bool gone = false;
        exec(x, &a, x->qbytes.data + a.off, &gone);
        if (gone)
            return false;
    }
    if (x->qhead == x->qn) {
        x->qhead = x->qn = 0;
        x->qbytes.len = 0;
    }
    return true;
}

static void on_tick(uv_timer_t *t);

static void arm_tick(fl_xchg_t *x)
{
    if (!x->live)
        return;
    uint64_t due = fl_live_next_due(x->live);
    fl_pconn_t *c = x->conn;
    if (due == UINT64_MAX) {
        uv_timer_stop(&c->tick_timer);
        return;
    }
    uint64_t el = uv_now(c->p->loop) - x->t0;
    uv_timer_start(&c->tick_timer, on_tick, due > el ? due - el : 0, 0);
}

void fl_proxy__pump(fl_xchg_t *x)
{
    size_t n;
    const fl_buf_t *bytes;
    const fl_live_act_t *acts = x->live ? fl_live_acts(x->live, &n, &bytes) : NULL;
    if (!acts)
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (!deliver(x, &acts[i], bytes->data + acts[i].off))
            return; /* x is freed; the applier with it */
    if (x->live)
        fl_live_clear(x->live);
    arm_tick(x);
}

static void on_wait(uv_timer_t *t)
{
    fl_pconn_t *c = container_of(t, fl_pconn_t, wait_timer);
    fl_xchg_t *x = c->x;
    if (!x || !x->waiting)
        return;
    uint64_t now = uv_now(c->p->loop);
    if (now < x->wait_until) {
        if (x->pinging) {
            ping_now(x);
            if (c->closing)
                return;
            uint64_t left = x->wait_until - now;
            uv_timer_start(&c->wait_timer, on_wait, x->ping_every < left ? x->ping_every : left, 0);
        } else {
            uv_timer_start(&c->wait_timer, on_wait, x->wait_until - now, 0);
        }
        return;
    }
    x->waiting = false;
    x->pinging = false;
    if (run_queue(x) && !fl_proxy__backlogged(x))
        fl_proxy__upstream_resume(x);
}

static void on_tick(uv_timer_t *t)
{
    fl_pconn_t *c = container_of(t, fl_pconn_t, tick_timer);
    fl_xchg_t *x = c->x;
    if (!x) {
        /* between exchanges the timer is the request deadline: no whole request came */
        conn_shutdown(c);
        return;
    }
    if (!x->live)
        return;
    uint64_t el = uv_now(c->p->loop) - x->t0;
    if (fl_live_tick(x->live, el)) {
        conn_close(c, FL_END_SERVER_FAULT, true);
        return;
    }
    fl_proxy__pump(x);
}

/* --- an exchange's life --- */

static void xchg_free(fl_xchg_t *x)
{
    fl_proxy__upstream_cancel(x);
    fl_live_free(x->live);
    fl_plan_free(x->faults, x->n_faults);
    fl_http_request_free(x->req);
    fl_buf_close(&x->up_head);
    for (size_t i = 0; i < x->n_up_headers; i++) {
        free(x->up_headers[i].name);
        free(x->up_headers[i].value);
    }
    free(x->up_headers);
    free(x->url);
    fl_buf_close(&x->qbytes);
    fl_buf_close(&x->ping);
    free(x->q);
    if (x->relayed)
        fl_live_relayed_close(x->relayed);
    free(x->relayed);
    if (x->cap) {
        fl_buf_close(x->cap);
        free(x->cap);
    }
    free(x);
}

/* Ends the exchange: journal, capture, upstream cancelled; then the connection goes on (keep
 * alive), or ends with FIN or RST as `end` says. */
static void xchg_end(fl_xchg_t *x, fl_end_t end, fl_capture_end_t how, const char *detail)
{
    fl_pconn_t *c = x->conn;
    if (x->in_multi && !x->up_end) {
        x->up_end = "cancelled";
        snprintf(x->up_detail, sizeof(x->up_detail), "the proxy ended the response first");
    }
    journal_upstream(x);
    fl_journal_entry_t *e = entry_of(x);
    if (e)
        e->end = end;
    fl_proxy__record_end(x, how, detail);
    uv_timer_stop(&c->wait_timer);
    uv_timer_stop(&c->tick_timer);
    c->x = NULL;
    x->ended = true;
    bool close_after = x->close_after;
    if (x->in_cb) {
        /* inside libcurl's callback: the transfer is aborted on return, freed when done */
        x->cancel = true;
        x->orphan = true;
    } else {
        xchg_free(x);
    }
    if (end == FL_END_COMPLETE && !close_after) {
        next_request(c);
        return;
    }
    if (end == FL_END_RESET) {
        conn_reset(c);
        return;
    }
    conn_shutdown(c);
}

/* A whole response made here (an error of the proxy's own, a control route's JSON). */
static void answer_whole(fl_xchg_t *x, int status, const char *content_type, const char *body,
                         size_t len)
{
    fl_buf_t out;
    fl_buf_init(&out);
    char rid[48];
    snprintf(rid, sizeof(rid), "req_%s", x->id);
    fl_http_head_t h = fl_http_head_default(status);
    h.content_type = content_type;
    h.content_length = len;
    h.request_id = rid;
    h.connection = x->close_after ? "close" : "keep-alive";
    if (fl_http_head_format(&out, &h) || fl_buf_append(&out, body, len)) {
        fl_buf_close(&out);
        conn_close(x->conn, FL_END_SERVER_FAULT, true);
        return;
    }
    x->chunked = false; /* content-length: no terminator at the end */
    fl_live_act_t head = {.kind = FL_LIVE_WRITE, .len = out.len, .raw = true, .head = true};
    fl_live_act_t end = {.kind = FL_LIVE_END, .end = FL_LIVE_DONE};
    if (deliver(x, &head, out.data))
        deliver(x, &end, "");
    fl_buf_close(&out);
}

/* The proxy's own error in the dialect's shape (502 upstream failed, 504 upstream timed out). */
static void answer_error(fl_xchg_t *x, int status, const char *message)
{
    fl_buf_t body;
    fl_buf_init(&body);
    if (fl_dialect_encode_http_error_body(
            x->dialect, status, fl_fault_error_class_for_status(status), message, &body)) {
        conn_close(x->conn, FL_END_SERVER_FAULT, true);
        fl_buf_close(&body);
        return;
    }
    answer_whole(x, status, "application/json", body.data, body.len);
    fl_buf_close(&body);
}

/* Header names of the upstream's head that are about its own connection. */
static bool hop_response_header(const char *name)
{
    static const char *const hop[] = {
        "connection",     "keep-alive", "proxy-connection", "transfer-encoding",
        "content-length", "upgrade",    "trailer",          NULL};
    for (size_t i = 0; hop[i]; i++)
        if (strcasecmp(name, hop[i]) == 0)
            return true;
    return false;
}

void fl_proxy__upstream_head(fl_xchg_t *x)
{
    if (x->ended)
        return;
    fl_buf_t h;
    fl_buf_init(&h);
    int status = x->up_status ? x->up_status : 502;
    const char *reason = x->up_reason[0] ? x->up_reason : fl_http_reason(status);
    bool sse = false;
    int rc = fl_buf_printf(&h, "HTTP/1.1 %d %s\r\n", status, reason);
    for (size_t i = 0; !rc && i < x->n_up_headers; i++) {
        const fl_capture_header_t *hd = &x->up_headers[i];
        if (hop_response_header(hd->name))
            continue;
        if (strcasecmp(hd->name, "content-type") == 0 &&
            strncasecmp(hd->value, "text/event-stream", 17) == 0)
            sse = true;
        rc = fl_buf_printf(&h, "%s: %s\r\n", hd->name, hd->value);
    }
    if (!rc)
        rc = fl_buf_append_str(&h, x->chunked ? "transfer-encoding: chunked\r\n"
                                              : "connection: close\r\n");
    if (!rc && x->chunked && x->close_after)
        rc = fl_buf_append_str(&h, "connection: close\r\n");
    if (!rc)
        rc = fl_buf_append_str(&h, "\r\n");
    fl_journal_entry_t *e = entry_of(x);
    if (e)
        e->framing = x->chunked ? "chunked" : "close";
    uint64_t now = uv_now(x->conn->p->loop);
    if (x->up_ttfb_ms < 0)
        x->up_ttfb_ms = (int64_t)(now - x->t0);
    if (!rc)
        rc = fl_live_head(x->live, h.data, h.len, sse, now - x->t0);
    fl_buf_close(&h);
    journal_upstream(x);
    if (rc) {
        x->cancel = true;
        return;
    }
    fl_proxy__pump(x);
}

void fl_proxy__upstream_done(fl_xchg_t *x, CURLcode result)
{
    fl_proxy_t *p = x->conn->p;
    long oserr = 0;
    curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
    if (x->in_multi)
        curl_multi_remove_handle(p->curl.multi, x->easy);
    x->in_multi = false;
    if (x->orphan) {
        xchg_free(x);
        return;
    }
    if (!x->up_end) {
        switch (result) {
        case CURLE_OK:
            x->up_end = "complete";
            break;
        case CURLE_OPERATION_TIMEDOUT:
            x->up_end = "timeout";
            break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            x->up_end = "unreachable";
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
            x->up_end = "tls";
            break;
        case CURLE_WRITE_ERROR:
            x->up_end = "cancelled";
            break;
        default:
            x->up_end = oserr == ECONNRESET ? "rst" : x->head_done ? "fin" : "no_response";
            break;
        }
        if (result != CURLE_OK)
            snprintf(x->up_detail, sizeof(x->up_detail), "%s%s%s", curl_easy_strerror(result),
                     oserr ? ": " : "", oserr ? strerror((int)oserr) : "");
    }
    fl_proxy__upstream_cancel(x);
    if (x->ended || x->hang)
        return;
    uint64_t now = uv_now(p->loop);
    if (!x->head_done || !fl_live_head_queued(x->live)) {
        if (result == CURLE_OK && x->head_done) {
            /* the head is held back by a fault (delay_headers): the body is queued behind it */
            fl_live_finish(x->live, now - x->t0);
            fl_proxy__pump(x);
            return;
        }
        if (fl_live_over(x->live)) {
            fl_proxy__pump(x);
            return;
        }
        char msg[320];
        int status = result == CURLE_OPERATION_TIMEDOUT ? 504 : 502;
        snprintf(msg, sizeof(msg), "faultline proxy: the upstream %s: %s",
                 status == 504 ? "timed out" : "failed", x->up_detail);
        journal_upstream(x);
        answer_error(x, status, msg);
        return;
    }
    if (result == CURLE_OK) {
        fl_live_finish(x->live, now - x->t0);
        journal_upstream(x);
        fl_proxy__pump(x);
        return;
    }
    /* the real stream broke: the client gets the same break, after what is queued */
    fl_live_act_t a = {.kind = FL_LIVE_END,
                       .end = strcmp(x->up_end, "rst") == 0 ? FL_LIVE_RST : FL_LIVE_FIN};
    journal_upstream(x);
    if (x->waiting || x->qn > x->qhead) {
        if (enqueue(x, &a, ""))
            conn_close(x->conn, FL_END_SERVER_FAULT, true);
        return;
    }
    bool gone = false;
    exec(x, &a, "", &gone);
}

/* --- routing --- */

static bool dialect_of(const char *path, fl_dialect_t *d, bool *stream)
{
    static const fl_dialect_t all[] = {FL_DIALECT_OPENAI_CHAT, FL_DIALECT_OPENAI_RESPONSES,
                                       FL_DIALECT_ANTHROPIC_MESSAGES};
    *stream = false;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(path, fl_dialect_path(all[i])) == 0) {
            *d = all[i];
            return true;
        }
    if ((strncmp(path, "/v1beta/models/", 15) == 0 || strncmp(path, "/v1/models/", 11) == 0) &&
        strstr(path, "enerateContent")) {
        *d = FL_DIALECT_GEMINI;
        *stream = strstr(path, ":streamGenerateContent") != NULL;
        return true;
    }
    return false;
}

/* The scenario for a request, by serve's rules (serve/route.h). NULL: relay clean. */
static const fl_scenario_t *choose(fl_proxy_t *p, const fl_http_request_t *req, fl_dialect_t d,
                                   const char *prefix, const char *model, size_t *idx)
{
    const fl_scenario_set_t *set = p->scenarios;
    const char *hdr = fl_http_request_header(req, "x-faultline-scenario");
    const char *name = hdr ? hdr : prefix[0] ? prefix : NULL;
    const fl_scenario_t *sc = NULL;
    if (name) {
        sc = fl_scenario_set_find(set, name);
        if (sc && sc->dialect != d)
            sc = NULL;
    }
    if (!sc && !name && model) {
        const fl_scenario_t *m = fl_scenario_set_find(set, model);
        if (m && m->dialect == d)
            sc = m;
    }
    for (size_t i = 0; !sc && !name && i < set->len; i++)
        if (set->items[i]->dialect == d)
            sc = set->items[i];
    for (size_t i = 0; sc && i < set->len; i++)
        if (set->items[i] == sc)
            *idx = i;
    return sc;
}

/* The request as the journal may keep it: secret header values redacted. */
static fl_journal_entry_t *journal_add(fl_proxy_t *p, const fl_http_request_t *req)
{
    fl_http_request_t copy = *req;
    fl_http_header_t *h = calloc(req->n_headers ? req->n_headers : 1, sizeof(*h));
    if (!h)
        return NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        h[i] = req->headers[i];
        if (fl_capture_secret_header(h[i].name))
            h[i].value = "[redacted]";
    }
    copy.headers = h;
    fl_journal_entry_t *e = fl_journal_add(&p->journal, &copy, uv_now(p->loop));
    free(h);
    return e;
}

static bool control(fl_xchg_t *x)
{
    const fl_http_request_t *req = x->req;
    fl_proxy_t *p = x->conn->p;
    if (strncmp(req->path, "/_faultline/", 12) != 0)
        return false;
    if (strcmp(req->path, "/_faultline/health") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}";
        answer_whole(x, 200, "application/json", ok, sizeof(ok) - 1);
    } else if (strcmp(req->path, "/_faultline/reset") == 0 && strcmp(req->method, "POST") == 0) {
        fl_journal_reset(&p->journal);
        memset(p->attempts, 0, p->scenarios->len * sizeof(*p->attempts));
        static const char ok[] = "{\"status\":\"reset\"}";
        answer_whole(x, 200, "application/json", ok, sizeof(ok) - 1);
    } else if (strcmp(req->path, "/_faultline/journal") == 0) {
        json_t *j = fl_journal_to_json(&p->journal);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (text)
            answer_whole(x, 200, "application/json", text, strlen(text));
        else
            conn_close(x->conn, FL_END_SERVER_FAULT, true);
        free(text);
    } else {
        static const char nf[] = "{\"error\":{\"message\":\"no such control route\"}}";
        answer_whole(x, 404, "application/json", nf, sizeof(nf) - 1);
    }
    return true;
}

static void make_id(fl_proxy_t *p, char *id, size_t n)
{
    snprintf(id, n, "%08x%0*llx", p->id_salt, FL_ENCODE_ID_LEN - 8,
             (unsigned long long)p->next_id++);
}

/* Starts answering req (taken over). */
static void xchg_start(fl_pconn_t *c, fl_http_request_t *req)
{
    fl_proxy_t *p = c->p;
    fl_xchg_t *x = calloc(1, sizeof(*x));
    if (!x) {
        fl_http_request_free(req);
        conn_close(c, FL_END_SERVER_FAULT, true);
        return;
    }
    c->x = x;
    x->conn = c;
    x->req = req;
    x->up_ttfb_ms = x->up_last_ms = -1;
    fl_buf_init(&x->up_head);
    fl_buf_init(&x->qbytes);
    fl_buf_init(&x->ping);
    uv_update_time(p->loop);
    x->t0 = uv_now(p->loop);
    make_id(p, x->id, sizeof(x->id));
    bool http10 = req->http_major == 1 && req->http_minor == 0;
    x->close_after = !req->keep_alive || http10;
    x->chunked = !http10;
    if (control(x))
        return;

    /* /s/NAME/ selects a scenario and is not forwarded */
    char prefix[256] = "";
    if (strncmp(req->path, "/s/", 3) == 0) {
        const char *slash = strchr(req->path + 3, '/');
        if (slash && slash > req->path + 3 && (size_t)(slash - req->path - 3) < sizeof(prefix)) {
            snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - req->path - 3), req->path + 3);
            memmove(req->path, slash, strlen(slash) + 1);
        }
    }
    fl_journal_entry_t *e = journal_add(p, req);
    if (!e) {
        conn_close(c, FL_END_SERVER_FAULT, true);
        return;
    }
    x->has_entry = true;
    x->entry_seq = e->seq;
    bool path_stream = false;
    x->dialect = FL_DIALECT_OPENAI_CHAT;
    bool api = dialect_of(req->path, &x->dialect, &path_stream);
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    const char *model = json_string_value(json_object_get(body, "model"));
    e->stream = path_stream || json_is_true(json_object_get(body, "stream"));
    size_t idx = 0;
    const fl_scenario_t *sc = api ? choose(p, req, x->dialect, prefix, model, &idx) : NULL;
    json_decref(body);
    int rc = 0;
    if (sc) {
        e->attempt = ++p->attempts[idx];
        rc = fl_journal_entry_set_scenario(e, sc->name);
        if (!rc)
            rc = fl_plan_for_attempt(sc, e->attempt, LIVE_CHAOS_EVENTS, &x->faults, &x->n_faults);
    }
    fl_live_config_t cfg = {.faults = x->faults,
                            .n_faults = x->n_faults,
                            .dialect = x->dialect,
                            .chunked = x->chunked,
                            .id = x->id};
    if (!rc)
        rc = fl_live_new(&cfg, &x->live);
    if (!rc && p->opts.record_dir)
        rc = fl_proxy__record_begin(x);
    if (!rc && p->opts.collect_text) {
        if ((x->relayed = malloc(sizeof(*x->relayed))))
            fl_live_relayed_init(x->relayed);
        else
            rc = FL_ENOMEM;
    }
    if (rc) {
        conn_close(c, FL_END_SERVER_FAULT, true);
        return;
    }
    bool response_fault = false;
    for (size_t i = 0; i < x->n_faults; i++)
        if (fl_fault_phase(x->faults[i].kind) == FL_PHASE_RESPONSE)
            response_fault = true;
    if (response_fault) {
        /* answered from the faults alone; the upstream is never called */
        x->up_end = "not_called";
        journal_upstream(x);
        e->framing = "content-length";
        if (fl_live_plan(x->live)) {
            conn_close(c, FL_END_SERVER_FAULT, true);
            return;
        }
        fl_proxy__pump(x);
        return;
    }
    journal_upstream(x);
    rc = fl_proxy__upstream_start(x);
    if (rc) {
        x->up_end = "unreachable";
        snprintf(x->up_detail, sizeof(x->up_detail), "cannot start the transfer: %s",
                 fl_strerror(rc));
        fl_proxy__upstream_cancel(x);
        answer_error(x, 502, "faultline proxy: cannot start the upstream request");
        return;
    }
    arm_tick(x); /* proxy_timeout and `ms:` faults run from now, head or not */
}

/* --- connections --- */

static void on_conn_closed(uv_handle_t *h)
{
    fl_pconn_t *c = h->data;
    if (--c->pending_closes > 0)
        return;
    fl_proxy_t *p = c->p;
    fl_http_parser_free(c->parser);
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    fl_proxy__closed_one(p);
}

static void conn_close(fl_pconn_t *c, fl_end_t end, bool rst)
{
    if (c->closing)
        return;
    c->closing = true;
    fl_xchg_t *x = c->x;
    if (x) {
        fl_journal_entry_t *e = entry_of(x);
        if (e && end == FL_END_CLIENT_CLOSED) {
            e->client_closed_ms = (int64_t)(uv_now(c->p->loop) - x->t0);
            if (x->waiting || x->hang)
                end = FL_END_STALLED;
        }
        if (x->in_multi && !x->up_end) {
            x->up_end = "cancelled";
            snprintf(x->up_detail, sizeof(x->up_detail),
                     end == FL_END_CLIENT_CLOSED || end == FL_END_STALLED
                         ? "the client left; the upstream request was cancelled"
                         : "the proxy ended the response first");
        }
        journal_upstream(x);
        if (e && e->end == FL_END_IN_PROGRESS)
            e->end = end;
        fl_proxy__record_end(x,
                             end == FL_END_CLIENT_CLOSED || end == FL_END_STALLED
                                 ? FL_CAPTURE_END_CLIENT_CLOSED
                             : end == FL_END_RESET ? FL_CAPTURE_END_RST
                                                   : FL_CAPTURE_END_FIN,
                             NULL);
        c->x = NULL;
        if (x->in_cb) {
            x->cancel = true;
            x->orphan = true;
        } else {
            xchg_free(x);
        }
    }
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    c->pending_closes = 3;
    uv_timer_stop(&c->wait_timer);
    uv_close((uv_handle_t *)&c->wait_timer, on_conn_closed);
    uv_timer_stop(&c->tick_timer);
    uv_close((uv_handle_t *)&c->tick_timer, on_conn_closed);
    if (rst && uv_tcp_close_reset(&c->tcp, on_conn_closed) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* RST (SO_LINGER 0) drops what the kernel has not sent: it waits until every queued byte has
 * reached the kernel (as serve's conn.c does), so a reset "after event 12" has event 12 out. */
static void conn_reset(fl_pconn_t *c)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
        conn_close(c, FL_END_RESET, true);
    else
        c->rst_pending = true;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    fl_pconn_t *c = container_of(req, fl_pconn_t, shutdown_req);
    conn_close(c, FL_END_COMPLETE, false);
}

/* FIN once everything queued is written, then close. */
static void conn_shutdown(fl_pconn_t *c)
{
    if (c->closing || c->shutting)
        return;
    c->shutting = true;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown))
        conn_close(c, FL_END_COMPLETE, false);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    char *p = malloc(READ_BUF_BYTES);
    *buf = uv_buf_init(p, p ? READ_BUF_BYTES : 0);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fl_pconn_t *c = container_of((uv_tcp_t *)s, fl_pconn_t, tcp);
    if (n < 0) {
        free(buf->base);
        if (n == UV_EOF && !c->x) {
            c->eof = true;
            conn_close(c, FL_END_COMPLETE, false);
            return;
        }
        /* a client that leaves (or resets) mid-answer: the upstream is cancelled at once */
        conn_close(c, FL_END_CLIENT_CLOSED, false);
        return;
    }
    int rc = n > 0 ? fl_http_parser_feed(c->parser, buf->base, (size_t)n) : 0;
    free(buf->base);
    if (rc && !c->x && !fl_http_parser_pending(c->parser)) {
        const char *msg;
        int status = fl_http_parser_error(c->parser, &msg);
        char id[32];
        make_id(c->p, id, sizeof(id));
        char out[512];
        int k = snprintf(out, sizeof(out),
                         "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: "
                         "%zu\r\nconnection: close\r\n\r\n{\"error\":{\"message\":\"%s\"}}",
                         status ? status : 400, fl_http_reason(status ? status : 400),
                         strlen(msg ? msg : "bad request") + 23, msg ? msg : "bad request");
        conn_write(c, out, (size_t)k);
        conn_close(c, FL_END_COMPLETE, false);
        return;
    }
    next_request(c);
}

static void next_request(fl_pconn_t *c)
{
    while (!c->closing && !c->shutting && !c->x) {
        fl_http_request_t *req = fl_http_parser_next(c->parser);
        if (!req) {
            /* the next request is due within REQUEST_MS (from accept, or the last answer's
             * end), or the connection is closed: a peer that never completes one holds nothing */
            if (!uv_is_active((uv_handle_t *)&c->tick_timer))
                uv_timer_start(&c->tick_timer, on_tick, REQUEST_MS, 0);
            return;
        }
        uv_timer_stop(&c->tick_timer);
        xchg_start(c, req);
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    fl_proxy_t *p = container_of((uv_tcp_t *)l, fl_proxy_t, listener);
    if (status < 0 || p->stopping)
        return;
    fl_pconn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->p = p;
    if (fl_http_parser_new(p->opts.max_body, MAX_HEADER, &c->parser)) {
        free(c);
        return;
    }
    uv_tcp_init(p->loop, &c->tcp);
    uv_timer_init(p->loop, &c->wait_timer);
    uv_timer_init(p->loop, &c->tick_timer);
    c->tcp.data = c->wait_timer.data = c->tick_timer.data = c;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->pending_closes++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
        conn_close(c, FL_END_COMPLETE, false);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->reading = true;
    uv_timer_start(&c->tick_timer, on_tick, REQUEST_MS, 0);
}

/* --- the public API --- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int fl_proxy_new(uv_loop_t *loop, const fl_scenario_set_t *scenarios, const fl_proxy_opts_t *opts,
                 fl_proxy_t **out)
{
    if (!opts || !opts->upstream ||
        (strncmp(opts->upstream, "http://", 7) != 0 && strncmp(opts->upstream, "https://", 8) != 0))
        return FL_EINVAL;
    fl_proxy_t *p = calloc(1, sizeof(*p));
    if (!p)
        return FL_ENOMEM;
    p->loop = loop;
    p->scenarios = scenarios;
    p->opts = *opts;
    p->opts.upstream = dup_or_null(opts->upstream);
    p->opts.cacert = dup_or_null(opts->cacert);
    p->opts.record_dir = dup_or_null(opts->record_dir);
    p->opts.connect_timeout_ms =
        opts->connect_timeout_ms ? opts->connect_timeout_ms : DEFAULT_CONNECT;
    p->opts.max_body = opts->max_body ? opts->max_body : DEFAULT_BODY;
    p->opts.high_water = opts->high_water ? opts->high_water : DEFAULT_HIGH;
    p->attempts = calloc(scenarios->len ? scenarios->len : 1, sizeof(*p->attempts));
    p->port = -1;
    uv_update_time(loop);
    int rc = FL_ENOMEM;
    if (!p->attempts || !p->opts.upstream || (opts->cacert && !p->opts.cacert) ||
        (opts->record_dir && !p->opts.record_dir))
        goto fail;
    if ((rc = fl_journal_init(&p->journal, opts->journal_size, uv_now(loop))))
        goto fail;
    if ((rc = fl_curl_loop_init(&p->curl, loop, fl_proxy__curl_done, p))) {
        fl_journal_close(&p->journal);
        goto fail;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->id_salt = (uint32_t)(ts.tv_sec ^ ts.tv_nsec ^ (uintptr_t)p);
    *out = p;
    return 0;
fail:
    free(p->attempts);
    free((char *)p->opts.upstream);
    free((char *)p->opts.cacert);
    free((char *)p->opts.record_dir);
    free(p);
    return rc;
}

int fl_proxy_start(fl_proxy_t *p, const char *host, int port)
{
    struct sockaddr_storage addr;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc)
        return rc;
    if ((rc = uv_tcp_init(p->loop, &p->listener)))
        return rc;
    p->listener_init = true;
    if ((rc = uv_tcp_bind(&p->listener, (const struct sockaddr *)&addr, 0)) ||
        (rc = uv_listen((uv_stream_t *)&p->listener, 511, on_connection)))
        return rc;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&p->listener, (struct sockaddr *)&bound, &len);
    p->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

int fl_proxy_port(const fl_proxy_t *p)
{
    return p->port;
}

fl_journal_t *fl_proxy_journal(fl_proxy_t *p)
{
    return &p->journal;
}

void fl_proxy_record_counts(const fl_proxy_t *p, uint64_t *written, uint64_t *dropped)
{
    *written = p->record_written;
    *dropped = p->record_dropped;
}

static void on_listener_closed(uv_handle_t *h)
{
    fl_proxy_t *p = container_of((uv_tcp_t *)h, fl_proxy_t, listener);
    fl_proxy__closed_one(p);
}

static void on_curl_closed(void *arg)
{
    fl_proxy__closed_one(arg);
}

void fl_proxy_stop(fl_proxy_t *p, fl_proxy_stop_cb cb, void *arg)
{
    if (p->stopping)
        return;
    p->stopping = true;
    p->stop_cb = cb;
    p->stop_arg = arg;
    p->pending_closes++; /* held until everything below is on its way */
    for (fl_pconn_t *c = p->conns; c; c = c->next)
        if (!c->closing)
            conn_close(c, FL_END_SERVER_FAULT, true);
    p->pending_closes++;
    fl_curl_loop_close(&p->curl, on_curl_closed, p);
    if (p->listener_init) {
        p->pending_closes++;
        uv_close((uv_handle_t *)&p->listener, on_listener_closed);
    }
    fl_proxy__closed_one(p);
}

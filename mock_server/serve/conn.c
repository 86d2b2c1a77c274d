/*
 * One client connection: read, parse, answer pipelined requests strictly in order, stream,
 * close. A connection has four handles (tcp, the streamer's timer, the linger timer, the request
 * timer) and is freed in the close callback of the last one. Writes copy their payload into the
 * write request, which owns it until on_write.
 *
 * The request timer holds the connection's one request deadline (fl_req_timer_t): the head's
 * (from the request's first byte, or from accept for the first request), the body's (from the end
 * of the head), or the idle keep-alive wait; it stops while a response is being sent and starts
 * afresh after it. A deadline that passes mid-request answers 408 and closes; an idle one closes
 * with FIN. The journal's body (GET /_faultline/journal) is written here a batch at a time, the
 * next batch from the write callback once the queue is below the low-water mark, so the loop
 * never builds it whole and other connections' streams keep their timing.
 *
 * With threads (server.h) a connection runs on its worker's loop, and this file is where it
 * touches what the loops share: every such use is bracketed by fl_server__lock/unlock, the
 * server's one lock (routing a request, a journal entry's progress and end, a journal page),
 * and nothing else runs under it: writes to the socket never do.
 */
#include "base/error.h"
#include "serve/route.h"
#include "serve/server_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BUF_BYTES (64 * 1024)
#define LINGER_MS      2000        /* how long to wait for the client's FIN after ours */
#define JOURNAL_BATCH  (64 * 1024) /* bytes of journal JSON per write */
/* Patched plan bytes go to the kernel in pieces this big, assembled on the stack. */
#define TRY_WRITE_STACK (64 * 1024)

typedef struct write_req_s {
    uv_write_t req;
    uv_buf_t buf;
    fl_conn_t *conn;
    char data[]; /* owned payload */
} write_req_t;

static void process(fl_conn_t *c);
static void journal_pump(fl_conn_t *c);

/* A response is being sent: a stream's plan, or the journal's body. */
static bool responding(const fl_conn_t *c)
{
    return c->stream.active || c->journal != NULL;
}

/* Frees the journal's body writer, if any: its batches were copied into write requests. */
static void journal_writer_free(fl_conn_t *c)
{
    if (!c->journal)
        return;
    fl_buf_close(&c->journal->batch);
    free(c->journal);
    c->journal = NULL;
}

static void on_handle_closed(uv_handle_t *h)
{
    fl_conn_t *c = h->data;
    if (--c->pending_closes > 0)
        return;
    fl_http_parser_free(c->parser);
    fl_fault_record_close(&c->evidence);
    if (c->rec) /* ended without the journal seeing it end (never expected): keep what came */
        fl_record_end(c->rec, FL_END_CLIENT_CLOSED, NULL, uv_now(c->srv->loop));
    journal_writer_free(c);
    fl_server_t *srv = c->srv;
    fl_server__conn_closed(srv, c);
    free(c);
}

static fl_journal_entry_t *entry_of(fl_conn_t *c)
{
    return c->has_entry ? fl_journal_find(&c->srv->journal, c->entry_seq) : NULL;
}

/* Records how the current response ended. A client that leaves while a fault keeps the server
 * silent on purpose (the plan says so: fl_stream_quiet) has not caught the server mid-send:
 * that is "stalled", with the time. */
static void journal_end(fl_conn_t *c, fl_end_t end)
{
    fl_server__lock(c->srv);
    fl_journal_entry_t *e = entry_of(c);
    if (e) {
        if (end == FL_END_CLIENT_CLOSED && c->stream.active) {
            e->client_closed_ms = (int64_t)fl_stream_elapsed(&c->stream);
            if (fl_stream_quiet(&c->stream))
                end = FL_END_STALLED;
        }
        e->end = end;
    }
    if (c->rec) {
        fl_record_end(c->rec, end, e ? e->scenario : NULL, uv_now(c->srv->loop));
        c->rec = NULL;
    }
    fl_server__unlock(c->srv);
    c->has_entry = false;
    fl_fault_record_close(&c->evidence);
}

void fl_conn__close(fl_conn_t *c, fl_end_t end, bool rst)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->stream.active || c->has_entry)
        journal_end(c, end);
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    journal_writer_free(c);
    c->request_timer = FL_REQ_TIMER_NONE;
    c->pending_closes = 4;
    uv_timer_stop(&c->linger);
    uv_close((uv_handle_t *)&c->linger, on_handle_closed);
    uv_timer_stop(&c->request);
    uv_close((uv_handle_t *)&c->request, on_handle_closed);
    fl_stream_close(&c->stream, on_handle_closed);
    if (rst && uv_tcp_close_reset(&c->tcp, on_handle_closed) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* RST (SO_LINGER 0) drops whatever the kernel has not sent yet, so a reset "after event 12"
 * waits until libuv has handed every queued byte to the kernel; on loopback they then reach
 * the peer before the RST does. */
static void conn_reset(fl_conn_t *c, fl_end_t end)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        fl_conn__close(c, end, true);
        return;
    }
    c->rst_pending = true;
    c->rst_end = end;
}

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = container_of(req, write_req_t, req);
    fl_conn_t *c = w->conn;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        fl_conn__close(c, FL_END_CLIENT_CLOSED, false);
        return;
    }
    if (c->rst_pending) {
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
            fl_conn__close(c, c->rst_end, true);
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > c->srv->opts.low_water)
        return;
    if (c->stream.paused)
        fl_stream_resume(&c->stream);
    if (c->journal)
        journal_pump(c);
}

/* A write request with room for len payload bytes, or NULL (*rc says why). */
static write_req_t *write_req_new(fl_conn_t *c, size_t len, int *rc)
{
    *rc = c->closing || c->shutting ? UV_ECANCELED : 0;
    write_req_t *w = *rc ? NULL : malloc(sizeof(*w) + len);
    if (!w && !*rc)
        *rc = UV_ENOMEM;
    return w;
}

/* Queues w (its payload filled, len bytes). Pauses the streamer above the high-water mark. */
static int write_req_submit(fl_conn_t *c, write_req_t *w, size_t len)
{
    w->buf = uv_buf_init(w->data, (unsigned int)len);
    w->conn = c;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_write);
    if (rc) {
        free(w);
        return rc;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > c->srv->opts.high_water)
        fl_stream_pause(&c->stream);
    return 0;
}

/* Tries to hand buf to the kernel at once; with nothing queued that is one write() and no
 * allocation or callback. Returns bytes taken (possibly 0) or a libuv error. */
static int try_write(fl_conn_t *c, const char *buf, size_t len)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0)
        return 0;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned int)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    return n == UV_EAGAIN ? 0 : n;
}

/* Queues len bytes (copied). */
static int conn_write(fl_conn_t *c, const void *bytes, size_t len)
{
    if (c->closing || c->shutting)
        return UV_ECANCELED;
    int n = try_write(c, bytes, len);
    if (n < 0 || (size_t)n == len)
        return n < 0 ? n : 0;
    int rc;
    write_req_t *w = write_req_new(c, len - (size_t)n, &rc);
    if (!w)
        return rc;
    memcpy(w->data, (const char *)bytes + n, len - (size_t)n);
    return write_req_submit(c, w, len - (size_t)n);
}

static void on_linger(uv_timer_t *t)
{
    fl_conn_t *c = container_of(t, fl_conn_t, linger);
    fl_conn__close(c, FL_END_COMPLETE, false);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    char *p = malloc(READ_BUF_BYTES);
    *buf = uv_buf_init(p, p ? READ_BUF_BYTES : 0);
}

static void start_reading(fl_conn_t *c);

/* Our FIN is out: keep reading (and discarding) until the client's FIN, so that closing with
 * unread bytes does not turn into an RST that destroys the response before the client reads
 * it; bounded by LINGER_MS. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    fl_conn_t *c = container_of(req, fl_conn_t, shutdown_req);
    if (c->closing)
        return;
    if (status < 0 || c->eof) {
        fl_conn__close(c, FL_END_COMPLETE, false);
        return;
    }
    start_reading(c);
    uv_timer_start(&c->linger, on_linger, LINGER_MS, 0);
}

/* Sends FIN once everything queued is written, then closes. */
static void conn_shutdown(fl_conn_t *c)
{
    if (c->closing || c->shutting)
        return;
    c->shutting = true;
    c->request_timer = FL_REQ_TIMER_NONE;
    uv_timer_stop(&c->request);
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown))
        fl_conn__close(c, FL_END_COMPLETE, false);
}

/* --- the sink the streamer writes through --- */

static int sink_write(void *ctx, const void *bytes, size_t len)
{
    fl_conn_t *c = ctx;
    if (c->rec && !c->closing && !c->shutting)
        fl_record_wire(c->rec, bytes, len, uv_now(c->srv->loop));
    return conn_write(ctx, bytes, len);
}

/* The recorder gets what this send carries, patches applied (serve --record). */
static void record_plan(fl_conn_t *c, const fl_wire_t *plan, size_t off, size_t len)
{
    if (fl_wire_span_clean(plan, off, len)) {
        fl_record_wire(c->rec, plan->bytes.data + off, len, uv_now(c->srv->loop));
        return;
    }
    char *tmp = malloc(len);
    if (tmp) {
        fl_wire_read(plan, off, len, tmp);
        fl_record_wire(c->rec, tmp, len, uv_now(c->srv->loop));
    }
    free(tmp);
}

/* Hands patched plan bytes to the kernel a stack-sized piece at a time, until it takes less
 * than a piece; what it did not take goes into one write request. A large span used to be
 * assembled whole in a fresh allocation: at 360 KB a response, the page faults of that buffer
 * cost more CPU than the kernel's own copy (perf, workload 1 of scripts/bench.sh). */
static int write_plan_pieces(fl_conn_t *c, const fl_wire_t *plan, size_t off, size_t len)
{
    char piece[TRY_WRITE_STACK];
    while (len > 0) {
        size_t n = len < sizeof(piece) ? len : sizeof(piece);
        fl_wire_read(plan, off, n, piece);
        int took = try_write(c, piece, n);
        if (took < 0)
            return took;
        off += (size_t)took;
        len -= (size_t)took;
        if ((size_t)took < n)
            break;
    }
    if (len == 0)
        return 0;
    int rc;
    write_req_t *w = write_req_new(c, len, &rc);
    if (!w)
        return rc;
    fl_wire_read(plan, off, len, w->data);
    return write_req_submit(c, w, len);
}

/* Plan bytes go to the kernel straight from the plan when no patch falls in them, else through
 * stack-sized pieces that carry this response's id or time; what the kernel does not take is
 * copied once into a write request. */
static int sink_write_plan(void *ctx, const fl_wire_t *plan, size_t off, size_t len)
{
    fl_conn_t *c = ctx;
    if (c->closing || c->shutting)
        return UV_ECANCELED;
    if (c->rec)
        record_plan(c, plan, off, len);
    if (fl_wire_span_clean(plan, off, len))
        return conn_write(c, plan->bytes.data + off, len);
    return write_plan_pieces(c, plan, off, len);
}

/* Whole clean events on the wire once the body has reached clean offset `covered`. */
static uint64_t events_covered(const fl_fault_record_t *ev, uint64_t covered)
{
    size_t lo = 0, hi = ev->n_events;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ev->event_ends[mid] <= covered)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The journal's view of op `i`: bytes written, whole events so far, and faults that fired. */
static void journal_progress(fl_conn_t *c, const fl_wire_t *plan, size_t i, uint64_t elapsed_ms)
{
    fl_journal_entry_t *e = entry_of(c);
    const fl_wire_op_t *op = &plan->ops[i];
    fl_fault_record_t *ev = &c->evidence;
    if (op->kind == FL_WIRE_FIRE && op->fault < ev->n_faults) {
        const fl_fault_t *f = &ev->faults[op->fault];
        if (e) {
            fl_buf_t d;
            fl_buf_init(&d);
            fl_fault_describe(f, &d);
            /* The clean event it acted before; at the body's end, events + 1 (as `at: {event:
             * N}` counts the end), so only a fault before any body byte has none. */
            uint64_t event = op->event != UINT32_MAX ? (uint64_t)op->event + 1
                             : ev->body_len && op->body_off >= ev->body_len ? ev->n_events + 1
                                                                            : 0;
            fl_journal_entry_fault(e, fl_fault_name(f->kind), d.data ? d.data : "", event,
                                   op->body_off, elapsed_ms);
            fl_buf_close(&d);
        }
        return;
    }
    if (!e)
        return;
    uint64_t events = e->events;
    if (op->kind == FL_WIRE_WRITE) {
        /* what the wire carried, as opposed to what it passed: dropped events never count */
        e->events_sent += op->events_done;
        if (op->marks & FL_WIRE_MARK_FINISH)
            e->finish_sent = true;
        if (op->marks & FL_WIRE_MARK_USAGE)
            e->usage_sent = true;
        /* Clean body bytes the wire has passed: where the next op stands in the clean body
         * (the plan's end stands at the body's length; an error page or a cut before the body
         * at 0). Events a fault rewrote or dropped still count as passed. */
        uint64_t covered = i + 1 < plan->n_ops ? plan->ops[i + 1].body_off : op->body_off;
        events = events_covered(ev, covered);
    }
    fl_journal_entry_progress(&c->srv->journal, e, op->len, events > e->events ? events : e->events,
                              uv_now(c->tcp.loop));
}

static void sink_progress(void *ctx, const fl_wire_t *plan, size_t i, uint64_t elapsed_ms)
{
    fl_conn_t *c = ctx;
    fl_server__lock(c->srv);
    journal_progress(c, plan, i, elapsed_ms);
    fl_server__unlock(c->srv);
}

static void sink_done(void *ctx, fl_end_t end, fl_stream_action_t action)
{
    fl_conn_t *c = ctx;
    journal_end(c, end);
    switch (action) {
    case FL_STREAM_NEXT:
        process(c);
        break;
    case FL_STREAM_FIN:
        conn_shutdown(c);
        break;
    case FL_STREAM_RST:
        conn_reset(c, end);
        break;
    }
}

/* Hands a reply's plan to the executor; it owns the evidence until the response ends. */
static void send_reply(fl_conn_t *c, fl_reply_t *r)
{
    c->answered = true;
    c->has_entry = r->has_entry;
    c->entry_seq = r->entry_seq;
    c->evidence = r->evidence;
    memset(&r->evidence, 0, sizeof(r->evidence));
    fl_stream_sink_t sink = {c, sink_write, sink_write_plan, sink_progress, sink_done};
    fl_stream_begin(&c->stream, &r->plan, r->close, &sink);
}

/* --- the journal's body, a batch at a time --- */

/* Queues len bytes as one write request, so that its callback comes (on a later loop turn) and
 * the next batch is made there. Returns 0 or a libuv error. */
static int write_queued(fl_conn_t *c, const char *bytes, size_t len)
{
    int rc;
    write_req_t *w = write_req_new(c, len, &rc);
    if (!w)
        return rc;
    memcpy(w->data, bytes, len);
    return write_req_submit(c, w, len);
}

/* Queues the journal's next batch (a chunk of entries, and the last chunk once the page is
 * complete); called from on_write, so at most one batch is made per write that completes. */
static void journal_pump(fl_conn_t *c)
{
    fl_journal_writer_t *jw = c->journal;
    fl_buf_t *b = &jw->batch;
    /* The chunk-size line goes in front of the JSON once its size is known: room for it. */
    char size_line[24];
    size_t front = jw->chunked ? sizeof(size_line) : 0;
    b->len = 0;
    int rc = fl_buf_append(b, size_line, front);
    if (!rc) {
        fl_server__lock(c->srv);
        rc = fl_journal_page_write(&c->srv->journal, &jw->page, JOURNAL_BATCH, b);
        fl_server__unlock(c->srv);
    }
    size_t n = b->len - front, start = front;
    if (!rc && jw->chunked && n) {
        int k = snprintf(size_line, sizeof(size_line), "%zx\r\n", n);
        start -= (size_t)k;
        memcpy(b->data + start, size_line, (size_t)k);
        rc = fl_buf_append(b, "\r\n", 2);
    }
    if (!rc && jw->chunked && jw->page.done)
        rc = fl_buf_append_str(b, "0\r\n\r\n"); /* the last chunk */
    if (!rc && b->len > start)
        rc = write_queued(c, b->data + start, b->len - start);
    if (rc) {
        /* The body cannot be finished: cut the connection so the client sees it incomplete. */
        fl_conn__close(c, FL_END_SERVER_FAULT, true);
        return;
    }
    if (!jw->page.done)
        return;
    bool close = jw->close;
    journal_writer_free(c);
    if (close)
        conn_shutdown(c);
    else
        process(c);
}

/* Starts the journal's answer: the head now, the body from on_write on. */
static void journal_begin(fl_conn_t *c, fl_reply_t *r, const fl_journal_page_t *page, bool chunked)
{
    c->answered = true;
    c->journal = malloc(sizeof(*c->journal));
    if (!c->journal) {
        fl_conn__close(c, FL_END_SERVER_FAULT, true);
        return;
    }
    *c->journal = (fl_journal_writer_t){.chunked = chunked, .close = r->close, .page = *page};
    fl_buf_init(&c->journal->batch);
    if (write_queued(c, r->out.data, r->out.len))
        fl_conn__close(c, FL_END_SERVER_FAULT, true);
}

/* An error reply (fl_route_error_reply) under the server's lock: it takes a response id. */
static int error_reply(fl_conn_t *c, int status, const char *message, fl_reply_t *r)
{
    fl_server__lock(c->srv);
    int rc = fl_route_error_reply(c->srv, status, message, r);
    fl_server__unlock(c->srv);
    return rc;
}

static void answer(fl_conn_t *c, fl_http_request_t *req)
{
    fl_reply_t r;
    fl_journal_page_t page;
    bool chunked;
    /* The route is decided under the server's lock: the journal entry, the scenario's attempt
     * number (taken here, so exact and in order per scenario across loops), the reply
     * template and the response id. */
    fl_server__lock(c->srv);
    int rc = fl_route_journal(c->srv, req, &r, &page, &chunked);
    if (rc != 1) {
        fl_reply_close(&r);
        if (rc == 0)
            rc = fl_route_request(c->srv, req, &r);
        else
            fl_reply_init(&r);
    }
    fl_server__unlock(c->srv);
    if (rc == 1) {
        journal_begin(c, &r, &page, chunked);
        fl_reply_close(&r);
        return;
    }
    if (rc) {
        fl_reply_close(&r);
        if (error_reply(c, 500, fl_strerror(rc), &r)) {
            fl_reply_close(&r);
            fl_conn__close(c, FL_END_SERVER_FAULT, true);
            return;
        }
    }
    if (r.close)
        c->last_reply = true; /* the connection ends after this reply (FIN, in process()) */
    if (c->srv->record && strncmp(req->path, "/_faultline/", 12) != 0)
        c->rec = fl_record_begin(c->srv->record, req, uv_now(c->srv->loop));
    send_reply(c, &r);
    fl_reply_close(&r);
}

/* The request deadline that applies now. */
static fl_req_timer_t request_timer_for(const fl_conn_t *c)
{
    if (c->closing || c->shutting || c->last_reply || c->parse_error || c->eof || responding(c) ||
        fl_http_parser_pending(c->parser) > 0)
        return FL_REQ_TIMER_NONE;
    switch (fl_http_parser_phase(c->parser)) {
    case FL_HTTP_HEAD:
        return FL_REQ_TIMER_HEADER;
    case FL_HTTP_BODY:
        return FL_REQ_TIMER_BODY;
    case FL_HTTP_IDLE:
        break;
    }
    /* Until the first request, the wait for it is its head's (from accept). */
    return c->answered ? FL_REQ_TIMER_IDLE : FL_REQ_TIMER_HEADER;
}

static void on_request_timeout(uv_timer_t *t);

/* Starts, keeps or stops the request timer: a deadline that still applies keeps running (a
 * slowloris never pushes it back); a new one starts its full time now. */
static void request_timer_update(fl_conn_t *c)
{
    fl_req_timer_t want = request_timer_for(c);
    if (want == c->request_timer)
        return;
    c->request_timer = want;
    if (want == FL_REQ_TIMER_NONE) {
        uv_timer_stop(&c->request);
        return;
    }
    const fl_server_opts_t *o = &c->srv->opts;
    uint64_t ms = want == FL_REQ_TIMER_IDLE     ? o->idle_timeout_ms
                  : want == FL_REQ_TIMER_HEADER ? o->header_timeout_ms
                                                : o->body_timeout_ms;
    /* The loop's cached time may be stale after a long callback; the deadline starts now. */
    uv_update_time(c->request.loop);
    uv_timer_start(&c->request, on_request_timeout, ms, 0);
}

/* Answers queued requests in order, one at a time; then decides whether to read more. */
static void answer_queued(fl_conn_t *c)
{
    while (!c->closing && !c->shutting && !responding(c)) {
        if (c->last_reply)
            break;
        fl_http_request_t *req = fl_http_parser_next(c->parser);
        if (!req)
            break;
        answer(c, req);
        fl_http_request_free(req);
    }
    if (c->closing || c->shutting || responding(c))
        return;
    if (c->last_reply) {
        conn_shutdown(c);
        return;
    }
    if (c->parse_error) {
        const char *msg;
        int status = fl_http_parser_error(c->parser, &msg);
        fl_reply_t r;
        c->last_reply = true;
        if (error_reply(c, status, msg, &r) == 0)
            send_reply(c, &r);
        else
            conn_shutdown(c);
        fl_reply_close(&r);
        return;
    }
    if (c->eof) {
        conn_shutdown(c);
        return;
    }
    if (!c->reading && fl_http_parser_pending(c->parser) < c->srv->opts.max_pipeline)
        start_reading(c);
}

static void process(fl_conn_t *c)
{
    answer_queued(c);
    if (!c->closing)
        request_timer_update(c);
}

/* A request deadline passed: mid-request, 408 and close (reading stops; the rest of the request
 * is only discarded during the linger after our FIN); idle, FIN. */
static void on_request_timeout(uv_timer_t *t)
{
    fl_conn_t *c = container_of(t, fl_conn_t, request);
    fl_req_timer_t kind = c->request_timer;
    c->request_timer = FL_REQ_TIMER_NONE;
    if (c->closing || c->shutting || kind == FL_REQ_TIMER_NONE)
        return;
    if (kind == FL_REQ_TIMER_IDLE) {
        conn_shutdown(c);
        return;
    }
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    c->last_reply = true;
    char msg[160];
    snprintf(msg, sizeof(msg), "request timeout: the request's %s did not arrive within %llu ms",
             kind == FL_REQ_TIMER_HEADER ? "head" : "body",
             (unsigned long long)(kind == FL_REQ_TIMER_HEADER ? c->srv->opts.header_timeout_ms
                                                              : c->srv->opts.body_timeout_ms));
    fl_reply_t r;
    if (error_reply(c, 408, msg, &r) == 0)
        send_reply(c, &r);
    else
        conn_shutdown(c);
    fl_reply_close(&r);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    fl_conn_t *c = container_of(s, fl_conn_t, tcp);
    if (c->closing) {
        free(buf->base);
        return;
    }
    if (c->shutting) {
        /* Lingering after our FIN: discard, and close at the client's FIN. */
        free(buf->base);
        if (nread < 0)
            fl_conn__close(c, FL_END_COMPLETE, false);
        return;
    }
    if (nread > 0 && !c->parse_error && !c->eof) {
        if (fl_http_parser_feed(c->parser, buf->base, (size_t)nread))
            c->parse_error = true;
    }
    free(buf->base);
    if (nread < 0) {
        uv_read_stop(s);
        c->reading = false;
        if (nread != UV_EOF || responding(c)) {
            /* The client went away (reset, or FIN in the middle of a streamed answer). */
            fl_conn__close(c, FL_END_CLIENT_CLOSED, false);
            return;
        }
        c->eof = true;
    }
    if (c->parse_error || fl_http_parser_pending(c->parser) >= c->srv->opts.max_pipeline) {
        if (c->reading)
            uv_read_stop(s);
        c->reading = false;
    }
    process(c);
}

static void start_reading(fl_conn_t *c)
{
    if (c->reading || c->closing)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

/* Puts c at the head of its loop's list of connections (the server's, or its worker's). */
static void conn_link(fl_conn_t *c)
{
    fl_conn_t **head = c->w ? &c->w->conns : &c->srv->conns;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
    if (!c->w)
        c->srv->pending_closes++;
}

int fl_conn__accept(fl_server_t *srv, fl_worker_t *w, uv_os_sock_t fd)
{
    uv_loop_t *loop = w ? &w->loop : srv->loop;
    fl_conn_t *c = calloc(1, sizeof(*c));
    int rc = UV_ENOMEM;
    if (!c)
        goto fail_parser;
    rc = fl_http_parser_new(srv->opts.max_body, srv->opts.max_header, &c->parser);
    if (rc)
        goto fail_parser;
    c->srv = srv;
    c->w = w;
    rc = uv_tcp_init(loop, &c->tcp);
    if (rc)
        goto fail_tcp;
    c->tcp.data = c;
    rc = fl_stream_init(loop, &c->stream);
    if (rc) {
        /* Only the tcp handle exists: close it alone. */
        c->closing = true;
        c->pending_closes = 1;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        goto fail_link;
    }
    c->stream.timer.data = c;
    uv_timer_init(loop, &c->linger);
    c->linger.data = c;
    uv_timer_init(loop, &c->request);
    c->request.data = c;
    conn_link(c);
    if (w) {
        rc = uv_tcp_open(&c->tcp, fd);
        if (rc)
            close(fd); /* not the handle's: uv_tcp_open failed */
    } else {
        rc = uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp);
    }
    if (rc) {
        fl_conn__close(c, FL_END_COMPLETE, false);
        return rc;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    start_reading(c);
    if (!c->reading) {
        fl_conn__close(c, FL_END_COMPLETE, false);
        return UV_EIO;
    }
    request_timer_update(c); /* the first request's head is due from now */
    return 0;

fail_link:
    /* on_handle_closed will unlink and free; account for it. */
    conn_link(c);
    if (w)
        close(fd);
    return rc;
fail_tcp:
    fl_http_parser_free(c->parser);
fail_parser:
    free(c);
    if (w)
        close(fd);
    return rc;
}

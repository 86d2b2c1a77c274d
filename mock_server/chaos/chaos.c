/*
 * The chaos compiler: one clean response + one attempt's faults -> a wire plan (chaos.h, wire.h).
 *
 * Model. The response is a list of "pieces": bytes + at_ms (ms after the response began) + the
 * clean event index and clean body offset they come from + flags. It starts as the head (its own
 * piece, at 0), then each script event at its at_ms (script times are relative to the headers;
 * delay_headers moves the head and everything after it), then a zero-byte END piece standing for
 * the body's end (terminator + DONE) at the last event's time.
 *
 * Positions are resolved against the clean script first, before any fault changes it. Every
 * clean piece gets an ordinal (cid: head 0, body pieces 1.., END last); a position is a cid and
 * stays valid however earlier faults rewrite, remove or insert pieces ("before the first
 * surviving piece whose cid is at least this one"):
 *  - event N -> before clean event N-1; N past the last event -> end; N = 0 is FL_EINVAL;
 *  - content N -> before the Nth event the encoder marked a piece of the answer (N = pieces + 1:
 *               the event right after the last piece), then as an event; none -> end;
 *  - byte N  -> the clean event holding body byte N is split into two pieces there (same at_ms)
 *               and the position is before the second; N >= body length -> end;
 *  - headers -> before the head; end -> before the END piece;
 *  - ms N    -> a time: body faults apply before the first body piece due at or after N on the
 *               clean timeline; stalls on the timeline as it stands after the faults before them;
 *               cuts and wire faults on the final timeline (ops due at N or later are affected,
 *               ops due before N are not).
 * Default positions: the body's middle, event n/2+1 with integer division (the first half,
 * rounded down, is sent untouched; the end when there are no events) for reset, close, end,
 * stall, throttle, fragment, inject, corrupt, duplicate, error_event; the whole stream for
 * drop_sentinel and line_endings; the headers for the rest.
 *
 * First, every fault that cannot apply to this response (an HTTP/1.0 client's close-delimited
 * body, a non-streaming JSON body: chaos_apply.c) is skipped: no phase below sees it, its
 * position is not resolved, and the plan lists it with its reason (fl_wire_t.skipped).
 *
 * Phases, each applying its faults in the order given. Which phase carries a fault out is the
 * phase column of the fault catalog (FL_FAULT_MAP in model/fault.h); each phase file explains
 * what it does with each of its faults.
 *  0. Response-level faults replace everything: the first of http_error (a complete error
 *     response, delayed by any delay_headers, then DONE), refuse (FIN or RST at 0, no bytes) or
 *     no_response (HANG at 0) is the plan; every other fault is ignored.
 *  1. Body faults rewrite pieces (chaos_body.c); the head is never touched.
 *  2. Time faults move pieces (chaos_time.c): delay_headers and stall.
 *  3. Framing (chaos_frame.c): pieces due at the same ms form one WRITE (one chunk), except that
 *     a piece that is the position of a cut or wire fault starts a new one; the head is its own
 *     WRITE; END becomes the terminator "0\r\n\r\n" (chunked) and DONE. DONE on a close-framed
 *     body means: FIN after the last byte. A stall forever ends the plan with HANG or PING.
 *  4. Cut faults on the final timeline (chaos_cut.c): reset, close, proxy_timeout, idle_timeout.
 *  5. Wire faults (chaos_frame.c): fragment and throttle split WRITEs (own_write) and push later
 *     ops back.
 * Every fault that takes effect leaves a FIRE op at that moment carrying its index and the clean
 * event index and body offset it stands at; ops a fault creates carry its index, and so does the
 * first op a body or time fault changes.
 */
#include "chaos/chaos.h"

#include "chaos/chaos_impl.h"
#include "base/array.h"
#include "base/error.h"
#include "chaos/httphead.h"

#include <stdlib.h>
#include <string.h>

int fl_chaos__bytes(fl_chaos_t *c, const void *p, size_t len, size_t *off)
{
    *off = c->arena.len;
    return len ? fl_buf_append(&c->arena, p, len) : 0;
}

int fl_chaos__piece_insert(fl_chaos_t *c, size_t at, const fl_chaos_piece_t *p)
{
    return FL_ARRAY_INSERT(c->p, c->capp, c->np, 32, at, p);
}

void fl_chaos__piece_remove(fl_chaos_t *c, size_t at, size_t n)
{
    memmove(&c->p[at], &c->p[at + n], (c->np - at - n) * sizeof(*c->p));
    c->np -= n;
}

size_t fl_chaos__term_index(const fl_chaos_t *c)
{
    for (size_t i = 0; i < c->np; i++)
        if (c->p[i].flags & PC_TERM)
            return i;
    return c->np;
}

size_t fl_chaos__find_piece(const fl_chaos_t *c, const fl_chaos_pos_t *pos, bool body_only)
{
    for (size_t i = 0; i < c->np; i++) {
        const fl_chaos_piece_t *p = &c->p[i];
        if ((p->flags & PC_FIRE) || (body_only && (p->flags & PC_HEAD)))
            continue;
        if (pos->is_ms ? p->at_ms >= pos->ms : p->cid >= pos->cid)
            return i;
    }
    /* a time after the last piece: the end, while there is one */
    return fl_chaos__term_index(c);
}

int fl_chaos__fire_piece(fl_chaos_t *c, size_t at, uint32_t fault, uint64_t at_ms)
{
    fl_chaos_piece_t f = {0};
    if (at < c->np) {
        f = c->p[at];
    } else if (c->np) {
        f = c->p[c->np - 1];
    } else {
        f.event = FL_CHAOS_NONE;
    }
    f.off = f.len = 0;
    f.at_ms = at_ms;
    f.fault = fault;
    f.flags = PC_FIRE;
    f.silent = 0;
    return fl_chaos__piece_insert(c, at, &f);
}

fl_chaos_op_t fl_chaos__op_make(fl_wire_op_kind_t kind, uint64_t at_ms, uint32_t fault)
{
    fl_chaos_op_t o = {0};
    o.w.kind = kind;
    o.w.at_ms = at_ms;
    o.w.fault = fault;
    o.w.event = FL_CHAOS_NONE;
    return o;
}

int fl_chaos__op_insert(fl_chaos_t *c, size_t at, const fl_chaos_op_t *op)
{
    return FL_ARRAY_INSERT(c->o, c->capo, c->no, 32, at, op);
}

int fl_chaos__op_push(fl_chaos_t *c, const fl_chaos_op_t *op)
{
    return fl_chaos__op_insert(c, c->no, op);
}

/* The short page a reverse proxy (nginx, Cloudflare) answers with on its own errors. */
static int html_page(int status, fl_buf_t *out)
{
    const char *reason = fl_http_reason(status);
    const char *server = status >= 520 && status <= 530 ? "cloudflare" : "nginx";
    return fl_buf_printf(out,
                         "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                         "<center><h1>%d %s</h1></center>\r\n<hr><center>%s</center>\r\n"
                         "</body>\r\n</html>\r\n",
                         status, reason, status, reason, server);
}

int fl_chaos__push_page(fl_chaos_t *c, uint32_t fi, uint64_t at_ms, const fl_buf_t *page)
{
    fl_chaos_op_t o = fl_chaos__op_make(FL_WIRE_FIRE, at_ms, fi);
    int rc = fl_chaos__op_push(c, &o);
    o = fl_chaos__op_make(FL_WIRE_WRITE, at_ms, fi);
    o.head = true;
    o.w.len = page->len;
    if (!rc)
        rc = fl_chaos__bytes(c, page->data, page->len, &o.w.off);
    if (!rc)
        rc = fl_chaos__op_push(c, &o);
    o = fl_chaos__op_make(FL_WIRE_DONE, at_ms, fi);
    if (!rc)
        rc = fl_chaos__op_push(c, &o);
    c->page = true;
    return rc;
}

int fl_chaos__error_page(fl_chaos_t *c, int status, bool html, fl_error_class_t error_class,
                         const char *message, int64_t retry_s, int64_t retry_ms, fl_buf_t *out)
{
    fl_buf_t body;
    fl_buf_init(&body);
    int rc = html ? html_page(status, &body)
                  : fl_dialect_encode_http_error_body(c->in->dialect, status, error_class, message,
                                                      &body);
    if (rc)
        goto done;
    fl_http_head_t h = fl_http_head_default(status);
    h.content_type = html ? "text/html" : "application/json";
    h.content_length = body.len;
    h.request_id = c->in->request_id;
    h.retry_after_s = retry_s;
    h.retry_after_ms = retry_ms;
    rc = fl_http_head_format(out, &h);
    if (!rc)
        rc = fl_buf_append(out, body.data, body.len);
done:
    fl_buf_close(&body);
    return rc;
}

static uint64_t default_event(const fl_chaos_input_t *in)
{
    return in->script->n_events / 2 + 1;
}

static fl_at_t default_at(const fl_chaos_input_t *in, fl_fault_kind_t k)
{
    fl_at_t at = {FL_AT_HEADERS, 0};
    if (fl_fault_takes_position(k)) {
        at.kind = FL_AT_EVENT;
        at.n = default_event(in);
    }
    return at;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Builds the clean pieces, split at every byte position, and resolves every position. */
static int resolve(fl_chaos_t *c)
{
    const fl_script_t *s = c->in->script;
    size_t body_len = s->bytes.len;
    uint64_t *cuts = NULL;
    uint32_t *ev_cid = NULL;
    size_t n_cuts = 0;
    int rc = FL_ENOMEM;

    cuts = malloc((c->n_faults + 1) * sizeof(*cuts));
    ev_cid = malloc((s->n_events + 1) * sizeof(*ev_cid));
    c->pos = calloc(c->n_faults + 1, sizeof(*c->pos));
    if (!cuts || !ev_cid || !c->pos)
        goto done;
    for (size_t i = 0; i < c->n_faults; i++)
        if (!c->skip[i] && c->faults[i].at.kind == FL_AT_BYTE && c->faults[i].at.n < body_len)
            cuts[n_cuts++] = c->faults[i].at.n;
    qsort(cuts, n_cuts, sizeof(*cuts), cmp_u64);

    fl_chaos_piece_t p = {0};
    p.event = FL_CHAOS_NONE;
    p.fault = FL_CHAOS_NONE;
    p.flags = PC_HEAD;
    if ((rc = fl_chaos__bytes(c, c->in->head, c->in->head_len, &p.off)))
        goto done;
    p.len = c->in->head_len;
    if ((rc = fl_chaos__piece_insert(c, c->np, &p)))
        goto done;

    if ((rc = fl_chaos__bytes(c, s->bytes.data, body_len, &p.off)))
        goto done;
    size_t body_base = p.off;
    uint32_t cid = 0;
    size_t k = 0, w = 0;
    for (size_t e = 0; e < s->n_events; e++) {
        const fl_script_event_t *ev = &s->events[e];
        size_t start = ev->off, stop = ev->off + ev->len;
        ev_cid[e] = cid + 1;
        while (start < stop) {
            while (k < n_cuts && cuts[k] <= start)
                k++;
            size_t piece_end = k < n_cuts && cuts[k] < stop ? (size_t)cuts[k] : stop;
            /* a replay's write boundaries cut pieces too: each starts its own write at its time
             * (script.h fl_script_write_t) */
            uint64_t at = ev->at_ms;
            unsigned flags = PC_CLEAN;
            if (s->n_writes) {
                while (w + 1 < s->n_writes && s->writes[w + 1].off <= start)
                    w++;
                if (w + 1 < s->n_writes && s->writes[w + 1].off < piece_end)
                    piece_end = s->writes[w + 1].off;
                at = s->writes[w].at_ms;
                if (s->writes[w].off == start)
                    flags |= PC_BREAK | (s->own_writes ? PC_OWN : 0);
            }
            fl_chaos_piece_t b = {body_base + start,
                                  piece_end - start,
                                  at,
                                  (uint32_t)e,
                                  start,
                                  ++cid,
                                  FL_CHAOS_NONE,
                                  flags,
                                  0};
            if ((rc = fl_chaos__piece_insert(c, c->np, &b)))
                goto done;
            start = piece_end;
        }
    }
    c->end_cid = ++cid;
    ev_cid[s->n_events] = c->end_cid;
    uint64_t end_at = s->n_events ? s->events[s->n_events - 1].at_ms : 0;
    if (s->n_writes && s->end_ms > end_at)
        end_at = s->end_ms; /* a replay ends when its capture ended */
    fl_chaos_piece_t t = {c->arena.len,  0,       end_at, FL_CHAOS_NONE, body_len, c->end_cid,
                          FL_CHAOS_NONE, PC_TERM, 0};
    if ((rc = fl_chaos__piece_insert(c, c->np, &t)))
        goto done;

    rc = FL_EINVAL;
    for (size_t i = 0; i < c->n_faults; i++) {
        const fl_fault_t *f = &c->faults[i];
        if (c->skip[i])
            continue;
        fl_at_t at = f->at.kind == FL_AT_DEFAULT ? default_at(c->in, f->kind) : f->at;
        fl_chaos_pos_t *pos = &c->pos[i];
        switch (at.kind) {
        case FL_AT_DEFAULT:
        case FL_AT_HEADERS:
            pos->cid = 0;
            break;
        case FL_AT_END:
            pos->cid = c->end_cid;
            break;
        case FL_AT_EVENT:
            if (at.n == 0)
                goto done;
            pos->cid = at.n > s->n_events ? c->end_cid : ev_cid[at.n - 1];
            break;
        case FL_AT_CONTENT: {
            /* a piece of the answer, counted as a person counts words; resolved to the event
             * it stands before, then like {event: N} (past the pieces: the end) */
            if (at.n == 0)
                goto done;
            size_t e = fl_script_content_event(s, at.n);
            pos->cid = e >= s->n_events ? c->end_cid : ev_cid[e];
            break;
        }
        case FL_AT_BYTE:
            pos->cid = c->end_cid;
            for (size_t j = 0; j < c->np && at.n < body_len; j++)
                if ((c->p[j].flags & PC_CLEAN) && c->p[j].body_off == at.n) {
                    pos->cid = c->p[j].cid;
                    break;
                }
            break;
        case FL_AT_MS:
            pos->is_ms = true;
            pos->ms = at.n;
            break;
        }
        /* a cut or a wire fault at a position inside a time batch needs a write boundary there */
        fl_fault_phase_t phase = fl_fault_phase(f->kind);
        bool splits =
            fl_fault_takes_position(f->kind) && (phase == FL_PHASE_CUT || phase == FL_PHASE_WIRE);
        if (splits && !pos->is_ms && pos->cid > 0 && pos->cid < c->end_cid)
            for (size_t j = 0; j < c->np; j++)
                if (c->p[j].cid == pos->cid)
                    c->p[j].flags |= PC_BREAK;
    }
    rc = 0;
done:
    free(cuts);
    free(ev_cid);
    return rc;
}

static int head_status(const fl_chaos_input_t *in)
{
    /* "HTTP/1.1 200 OK": the three digits after the first space */
    const char *sp = in->head_len ? memchr(in->head, ' ', in->head_len) : NULL;
    if (!sp || (size_t)(sp - in->head) + 4 > in->head_len)
        return 0;
    int st = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return 0;
        st = st * 10 + (sp[i] - '0');
    }
    return st;
}

/* Phase 0: the first response-level fault (http_error, refuse, no_response) is the whole plan.
 * Returns 1 when one applied, 0 when none. */
static int response_level(fl_chaos_t *c)
{
    uint64_t delay = 0;
    for (size_t i = 0; i < c->n_faults; i++)
        if (!c->skip[i] && c->faults[i].kind == FL_FAULT_DELAY_HEADERS)
            delay += c->faults[i].ms;
    for (uint32_t i = 0; i < c->n_faults; i++) {
        const fl_fault_t *f = &c->faults[i];
        fl_chaos_op_t o;
        int rc;
        if (c->skip[i] || fl_fault_phase(f->kind) != FL_PHASE_RESPONSE)
            continue;
        switch (f->kind) {
        case FL_FAULT_HTTP_ERROR: {
            for (uint32_t j = 0; j < c->n_faults; j++) {
                if (c->skip[j] || c->faults[j].kind != FL_FAULT_DELAY_HEADERS)
                    continue;
                o = fl_chaos__op_make(FL_WIRE_FIRE, 0, j);
                if ((rc = fl_chaos__op_push(c, &o)))
                    return rc;
            }
            fl_buf_t page;
            fl_buf_init(&page);
            rc = fl_chaos__error_page(c, f->status, f->html, f->error_class, f->message,
                                      f->retry_after_s, f->retry_after_ms, &page);
            if (!rc)
                rc = fl_chaos__push_page(c, i, delay, &page);
            fl_buf_close(&page);
            c->status = f->status;
            c->retry_after_ms = f->retry_after_ms >= 0  ? f->retry_after_ms
                                : f->retry_after_s >= 0 ? f->retry_after_s * 1000
                                                        : -1;
            return rc ? rc : 1;
        }
        case FL_FAULT_REFUSE:
        case FL_FAULT_NO_RESPONSE:
            o = fl_chaos__op_make(FL_WIRE_FIRE, 0, i);
            if (f->kind == FL_FAULT_NO_RESPONSE)
                o.w.silent_ms = FL_WIRE_FOREVER;
            if ((rc = fl_chaos__op_push(c, &o)))
                return rc;
            o.w.silent_ms = 0;
            o.w.kind = f->kind == FL_FAULT_NO_RESPONSE ? FL_WIRE_HANG
                       : f->cut == FL_CUT_RST          ? FL_WIRE_RST
                                                       : FL_WIRE_FIN;
            if ((rc = fl_chaos__op_push(c, &o)))
                return rc;
            c->status = 0;
            return 1;
        default: /* a response-level fault this phase has no code for */
            return FL_EINVAL;
        }
    }
    return 0;
}

/* Marks the faults that cannot apply to this response (fl_chaos_applies) and lists them in
 * out->skipped. Returns 0 or FL_ENOMEM. */
static int skip_faults(fl_chaos_t *c, fl_wire_t *out)
{
    if (!c->n_faults)
        return 0;
    c->skip = calloc(c->n_faults, sizeof(*c->skip));
    if (!c->skip)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < c->n_faults; i++) {
        char reason[FL_WIRE_REASON_BYTES];
        if (fl_chaos_applies(c->in, &c->faults[i], reason, sizeof(reason)))
            continue;
        c->skip[i] = true;
        int rc = fl_wire_skip(out, i, reason);
        if (rc)
            return rc;
    }
    return 0;
}

/* Runs apply on every fault of one phase, in the order given. */
static int run_phase(fl_chaos_t *c, fl_fault_phase_t phase, int (*apply)(fl_chaos_t *, uint32_t))
{
    for (uint32_t i = 0; i < c->n_faults; i++) {
        if (c->skip[i] || fl_fault_phase(c->faults[i].kind) != phase)
            continue;
        int rc = apply(c, i);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_chaos_compile(const fl_chaos_input_t *in, const fl_fault_t *faults, size_t n_faults,
                     fl_wire_t *out)
{
    fl_chaos_t c;
    int rc;
    memset(&c, 0, sizeof(c));
    c.in = in;
    c.faults = faults;
    c.n_faults = n_faults;
    c.status = head_status(in);
    c.retry_after_ms = -1;
    fl_buf_init(&c.arena);
    if (n_faults >= FL_CHAOS_NONE)
        return FL_EINVAL;

    if ((rc = skip_faults(&c, out)))
        goto fail;
    rc = response_level(&c);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        /* phases 1 to 5, each fault in the phase its catalog row names (model/fault.h) */
        if ((rc = resolve(&c)) || (rc = run_phase(&c, FL_PHASE_BODY, fl_chaos__body_fault)) ||
            (rc = run_phase(&c, FL_PHASE_TIME, fl_chaos__time_fault)) ||
            (rc = fl_chaos__frame(&c)) || (rc = run_phase(&c, FL_PHASE_CUT, fl_chaos__cut_fault)) ||
            (rc = run_phase(&c, FL_PHASE_WIRE, fl_chaos__wire_fault)))
            goto fail;
    }

    for (size_t i = 0; i < c.no; i++) {
        const fl_chaos_op_t *o = &c.o[i];
        if ((rc = fl_wire_push(out, &o->w, c.arena.data ? c.arena.data + o->w.off : "", o->w.len)))
            goto fail;
    }
    out->status = c.status;
    out->retry_after_ms = c.retry_after_ms;
    out->page = c.page;
    rc = 0;
    goto done;

fail:
    fl_wire_close(out);
    fl_wire_init(out);
done:
    fl_buf_close(&c.arena);
    free(c.p);
    free(c.o);
    free(c.pos);
    free(c.skip);
    return rc;
}

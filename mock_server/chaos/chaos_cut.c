/*
 * Phase 4 of the chaos compiler: cut faults on the final timeline (see chaos.c for the model).
 *  - reset / close at a position: every op from the position's op on is dropped; FIRE and RST
 *    (reset) or FIN (close) at that op's time (for `ms: N`, at N). At the headers: before any
 *    byte. A position the plan never reaches (after an earlier cut, after a stall forever) does
 *    not fire.
 *  - proxy_timeout {ms: after_ms, cut, status}: when the head would leave at or after after_ms,
 *    the plan becomes the proxy's HTML error page (status 504 unless given, e.g. Cloudflare's
 *    524) at after_ms, then DONE; otherwise the stream is cut (FIN or RST by `cut`) at after_ms,
 *    unless it was complete by then.
 *  - idle_timeout {ms, cut}: the first gap of at least ms with no WRITE (measured from the
 *    response's start; a HANG is an infinite gap; a PING whose period is below ms never trips)
 *    cuts at last write + ms; before the head it is a 504 page like proxy_timeout's.
 * A cut at time t keeps the ops due before t; a PING tail due before t is replaced by the pings
 * it would have written up to t.
 */
#include "chaos/chaos_impl.h"
#include "base/error.h"

static bool is_final(const fl_chaos_op_t *o)
{
    return o->w.kind == FL_WIRE_DONE || o->w.kind == FL_WIRE_FIN || o->w.kind == FL_WIRE_RST;
}

static int cut_at(fl_chaos_t *c, uint32_t fi, size_t k, uint64_t at, fl_wire_op_kind_t how)
{
    /* FIREs of faults whose bytes the cut drops never happened */
    while (k > 0 && c->o[k - 1].w.kind == FL_WIRE_FIRE && c->o[k - 1].w.at_ms >= at)
        k--;
    fl_chaos_op_t ev = k < c->no ? c->o[k] : c->o[c->no - 1];
    for (size_t i = k; i < c->no; i++)
        if (c->o[i].head)
            c->status = 0;
    c->no = k;
    ev.w.kind = FL_WIRE_FIRE;
    ev.w.at_ms = at;
    ev.w.fault = fi;
    ev.w.off = ev.w.len = 0;
    ev.w.every_ms = 0;
    ev.w.silent_ms = 0;
    ev.w.own_write = false;
    ev.head = ev.body = false;
    int rc = fl_chaos__op_push(c, &ev);
    ev.w.kind = how;
    if (!rc)
        rc = fl_chaos__op_push(c, &ev);
    return rc;
}

/* Makes the ops before time t explicit: a HANG due before t goes (the cut replaces it), a PING
 * due before t becomes its WRITEs before t. */
static int settle_tail(fl_chaos_t *c, uint64_t t)
{
    if (!c->no)
        return 0;
    fl_chaos_op_t last = c->o[c->no - 1];
    if (last.w.at_ms >= t)
        return 0;
    if (last.w.kind == FL_WIRE_HANG) {
        c->no--;
        return 0;
    }
    if (last.w.kind != FL_WIRE_PING)
        return 0;
    if ((t - last.w.at_ms) / last.w.every_ms > FL_CHAOS_MAX_GEN)
        return FL_ELIMIT;
    c->no--;
    last.w.kind = FL_WIRE_WRITE;
    last.w.every_ms = 0;
    for (uint64_t u = last.w.at_ms; u < t; u += c->tail_every_ms) {
        last.w.at_ms = u;
        int rc = fl_chaos__op_push(c, &last);
        if (rc)
            return rc;
    }
    return 0;
}

static int cut_at_time(fl_chaos_t *c, uint32_t fi, uint64_t t, fl_wire_op_kind_t how)
{
    int rc = settle_tail(c, t);
    if (rc || !c->no)
        return rc;
    fl_chaos_pos_t pos = {true, 0, t};
    size_t k = fl_chaos__find_op(c, &pos);
    if (k == c->no && is_final(&c->o[c->no - 1]))
        return 0; /* complete (or already cut) before t */
    return cut_at(c, fi, k, t, how);
}

static size_t head_op(const fl_chaos_t *c)
{
    for (size_t i = 0; i < c->no; i++)
        if (c->o[i].head)
            return i;
    return c->no;
}

/* The plan becomes a proxy's error page at `at`; FIREs due before it stay. */
static int proxy_page(fl_chaos_t *c, uint32_t fi, uint64_t at, int status)
{
    size_t n = 0;
    for (size_t i = 0; i < c->no; i++)
        if (c->o[i].w.kind == FL_WIRE_FIRE && c->o[i].w.at_ms <= at)
            c->o[n++] = c->o[i];
    c->no = n;
    fl_buf_t page;
    fl_buf_init(&page);
    int rc = fl_chaos__error_page(c, status, true, 0, NULL, -1, -1, &page);
    if (!rc)
        rc = fl_chaos__push_page(c, fi, at, &page);
    fl_buf_close(&page);
    c->status = status;
    return rc;
}

static int idle_timeout(fl_chaos_t *c, uint32_t fi)
{
    const fl_fault_t *f = &c->faults[fi];
    uint64_t ms = f->ms, last = 0, trip = 0;
    bool tripped = false;
    if (!ms)
        return FL_EINVAL;
    for (size_t i = 0; i < c->no && !tripped; i++) {
        const fl_wire_op_t *w = &c->o[i].w;
        if (is_final(&c->o[i]))
            break;
        switch (w->kind) {
        case FL_WIRE_WRITE:
            if (w->at_ms - last >= ms) {
                trip = last + ms;
                tripped = true;
            }
            last = w->at_ms;
            break;
        case FL_WIRE_HANG:
            trip = last + ms;
            tripped = true;
            break;
        case FL_WIRE_PING:
            if (w->at_ms - last >= ms) {
                trip = last + ms;
                tripped = true;
            } else if (w->every_ms >= ms) {
                trip = w->at_ms + ms;
                tripped = true;
            }
            break;
        default:
            break;
        }
    }
    if (!tripped)
        return 0;
    size_t h = head_op(c);
    if (h == c->no || c->o[h].w.at_ms >= trip)
        return proxy_page(c, fi, trip, f->status ? f->status : 504);
    return cut_at_time(c, fi, trip, f->cut == FL_CUT_RST ? FL_WIRE_RST : FL_WIRE_FIN);
}

int fl_chaos__cut_fault(fl_chaos_t *c, uint32_t fi)
{
    const fl_fault_t *f = &c->faults[fi];
    const fl_chaos_pos_t *pos = &c->pos[fi];
    if (!c->no)
        return 0;
    switch (f->kind) {
    case FL_FAULT_RESET:
    case FL_FAULT_CLOSE: {
        fl_wire_op_kind_t how = f->kind == FL_FAULT_RESET ? FL_WIRE_RST : FL_WIRE_FIN;
        if (pos->is_ms)
            return cut_at_time(c, fi, pos->ms, how);
        size_t k = fl_chaos__find_op(c, pos);
        if (k == c->no || c->o[k].w.kind == FL_WIRE_FIN || c->o[k].w.kind == FL_WIRE_RST)
            return 0;
        return cut_at(c, fi, k, c->o[k].w.at_ms, how);
    }
    case FL_FAULT_PROXY_TIMEOUT: {
        size_t h = head_op(c);
        if (h == c->no)
            return 0;
        if (c->o[h].w.at_ms >= f->ms)
            return proxy_page(c, fi, f->ms, f->status ? f->status : 504);
        return cut_at_time(c, fi, f->ms, f->cut == FL_CUT_RST ? FL_WIRE_RST : FL_WIRE_FIN);
    }
    case FL_FAULT_IDLE_TIMEOUT:
        return idle_timeout(c, fi);
    default:
        return FL_EINVAL;
    }
}

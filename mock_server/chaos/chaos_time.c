/*
 * Phase 2 of the chaos compiler: time faults move pieces (see chaos.c for the model).
 *  - delay_headers: the head and everything after it move later by ms; its FIRE is at 0.
 *  - stall: from the position on, everything moves later by ms. The stall window starts when
 *    the position's piece was due (for `ms: N`, at N; a time after the body's end does not
 *    apply). With keepalive_ms, a ping every keepalive_ms inside the window (at start + k *
 *    keepalive_ms < start + ms; with keepalive_jitter_ms each interval is drawn uniform in
 *    keepalive_ms +- jitter, seeded). A ping's bytes are the fault's `keepalive` when given,
 *    else the dialect's ping. With forever nothing after the position is sent: the plan ends
 *    with HANG at the start, or PING from start + keepalive_ms every keepalive_ms.
 */
#include "chaos/chaos_impl.h"
#include "base/error.h"
#include "base/rand.h"

static int delay_headers(fl_chaos_t *c, uint32_t fi)
{
    uint64_t ms = c->faults[fi].ms;
    for (size_t j = 0; j < c->np; j++)
        c->p[j].at_ms += ms;
    if (c->tail)
        c->tail_at.at_ms += ms;
    size_t h = 0;
    while (h < c->np && !(c->p[h].flags & PC_HEAD))
        h++;
    if (h < c->np)
        c->p[h].fault = fi;
    return fl_chaos__fire_piece(c, 0, fi, 0);
}

/* One keep-alive's bytes: the fault's own (`keepalive`), else the dialect's ping. */
static int ping_bytes(fl_chaos_t *c, const fl_fault_t *f, fl_chaos_piece_t *p)
{
    if (f->keepalive) {
        p->len = f->keepalive_len;
        return fl_chaos__bytes(c, f->keepalive, f->keepalive_len, &p->off);
    }
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_dialect_encode_ping(c->in->dialect, &b);
    if (!rc)
        rc = fl_chaos__bytes(c, b.data, b.len, &p->off);
    p->len = b.len;
    fl_buf_close(&b);
    return rc;
}

static int stall(fl_chaos_t *c, uint32_t fi)
{
    const fl_fault_t *f = &c->faults[fi];
    const fl_chaos_pos_t *pos = &c->pos[fi];
    size_t idx = fl_chaos__find_piece(c, pos, false);
    if (idx >= c->np)
        return 0; /* nothing left to stall (an earlier stall lasts forever) */
    if (pos->is_ms && c->p[idx].at_ms < pos->ms)
        return 0; /* the body ended before the stall would begin */
    fl_chaos_piece_t at = c->p[idx];
    uint64_t start = pos->is_ms ? pos->ms : at.at_ms;
    /* pings are body bytes: none before the status line */
    uint64_t keepalive = (at.flags & PC_HEAD) ? 0 : f->keepalive_ms;
    int rc;
    if (keepalive && !f->forever &&
        f->ms / (keepalive > f->keepalive_jitter_ms ? keepalive - f->keepalive_jitter_ms : 1) >
            FL_CHAOS_MAX_GEN)
        return FL_ELIMIT;
    /* earlier faults' FIREs due from the start on fire with their bytes: they move too */
    while (idx > 0 && (c->p[idx - 1].flags & PC_FIRE) && c->p[idx - 1].at_ms >= start)
        idx--;
    if ((rc = fl_chaos__fire_piece(c, idx, fi, start)))
        return rc;
    c->p[idx].event = at.event;
    c->p[idx].body_off = at.body_off;
    c->p[idx].silent = f->forever ? FL_WIRE_FOREVER : f->ms;
    idx++;
    if (f->forever) {
        c->np = idx; /* nothing after the position is ever sent */
        c->tail = keepalive ? FL_WIRE_PING : FL_WIRE_HANG;
        c->tail_at = at;
        c->tail_at.fault = fi;
        c->tail_at.at_ms = start + keepalive;
        c->tail_at.len = 0;
        c->tail_every_ms = keepalive;
        if (keepalive && (rc = ping_bytes(c, f, &c->tail_at)))
            return rc;
        /* the status line never sent: no status */
        if (at.flags & PC_HEAD)
            c->status = 0;
        return 0;
    }
    bool marked = false;
    for (size_t j = idx; j < c->np; j++) {
        c->p[j].at_ms += f->ms;
        /* the first piece the stall holds back carries its index, unless a body fault
         * already marked it */
        if (!marked && !(c->p[j].flags & PC_FIRE)) {
            if (c->p[j].fault == FL_CHAOS_NONE)
                c->p[j].fault = fi;
            marked = true;
        }
    }
    if (c->tail)
        c->tail_at.at_ms += f->ms;
    if (!keepalive)
        return 0;
    fl_chaos_piece_t ping = at;
    ping.fault = fi;
    ping.flags = PC_PING;
    if ((rc = ping_bytes(c, f, &ping)))
        return rc;
    /* With jitter each interval is keepalive_ms +- keepalive_jitter_ms, drawn from a generator
     * seeded by the fault's own figures and where the stall starts: the same plan every time. */
    fl_rand_t r;
    fl_rand_seed(&r, keepalive * 0x9E3779B97F4A7C15ull ^ f->keepalive_jitter_ms ^ (start << 20));
    int64_t j = (int64_t)f->keepalive_jitter_ms;
    for (uint64_t t = start;;) {
        t += (uint64_t)((int64_t)keepalive + (j ? fl_rand_range(&r, -j, j) : 0));
        if (t >= start + f->ms)
            break;
        ping.at_ms = t;
        if ((rc = fl_chaos__piece_insert(c, idx++, &ping)))
            return rc;
    }
    return 0;
}

int fl_chaos__time_fault(fl_chaos_t *c, uint32_t fi)
{
    switch (c->faults[fi].kind) {
    case FL_FAULT_DELAY_HEADERS:
        return delay_headers(c, fi);
    case FL_FAULT_STALL:
        return stall(c, fi);
    default:
        return FL_EINVAL;
    }
}

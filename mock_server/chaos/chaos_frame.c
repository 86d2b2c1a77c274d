/*
 * Phases 3 and 5 of the chaos compiler (see chaos.c for the model).
 *
 * Framing turns pieces into ops: a batch of body pieces due at the same ms is one WRITE (one
 * chunk "<hex len>\r\n<bytes>\r\n" for chunked bodies, the bytes as they are otherwise), unless a
 * piece is marked as a cut or wire fault's position; the head is its own WRITE; the end becomes
 * the terminator "0\r\n\r\n" (chunked only) and DONE (RFC 9112 section 7.1 "Chunked Transfer
 * Coding"). A batch whose pieces have all been emptied writes nothing: a zero-length chunk would
 * be a terminator.
 *
 * Wire faults split WRITEs from their position on into own_write pieces:
 *  - fragment: pieces of `bytes` bytes, or cuts at the given offsets of the body as sent: N is
 *    after N body bytes as they go out (every byte a body fault added, rewrote or removed
 *    counted as sent, e.g. line_endings' CRs; chunk-size lines and CRLFs not counted), mapped
 *    through the WRITE's sent start and chunk-size line, with gap_ms between pieces; every
 *    later op moves back by the gaps.
 *  - throttle: pieces of p = max(1, bytes/100) bytes, each at least d ms after the one before,
 *    d the smallest whole ms with p * ceil(1000 / d) <= bytes: no window of 1000 ms ever holds
 *    more than `bytes` bytes. Later ops move back. A PING tail (stall forever) is not throttled.
 * Both cut through chunk framing on purpose: a client's read may end inside a chunk-size line,
 * between CR and LF, or inside a UTF-8 character.
 */
#include "chaos/chaos_impl.h"
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fl_chaos_op_t op_from_piece(fl_wire_op_kind_t kind, const fl_chaos_piece_t *p)
{
    fl_chaos_op_t o = fl_chaos__op_make(kind, p->at_ms, p->fault);
    o.w.event = p->event;
    o.w.body_off = p->body_off;
    o.w.silent_ms = p->silent;
    o.cid = p->cid;
    return o;
}

static bool is_body(const fl_chaos_piece_t *p)
{
    return !(p->flags & (PC_HEAD | PC_TERM | PC_FIRE));
}

/* Whether piece j carries its clean event's last byte: no later piece of that event's own bytes
 * (clean, or a duplicate's copy) follows. Bytes a fault inserted are no event's. */
static bool ends_event(const fl_chaos_t *c, size_t j)
{
    const unsigned own = PC_CLEAN | PC_COPY;
    if (!(c->p[j].flags & own))
        return false;
    for (size_t q = j + 1; q < c->np; q++)
        if ((c->p[q].flags & own) && !(c->p[q].flags & PC_FIRE))
            return c->p[q].event != c->p[j].event;
    return true;
}

/* The FL_WIRE_MARK_* bits of a clean event the input watches (chaos.h watch_finish). */
static unsigned event_marks(const fl_chaos_t *c, uint32_t event)
{
    unsigned m = 0;
    if (c->in->watch_finish && event == c->in->watch_finish - 1)
        m |= FL_WIRE_MARK_FINISH;
    if (c->in->watch_usage && event == c->in->watch_usage - 1)
        m |= FL_WIRE_MARK_USAGE;
    return m;
}

/* Appends the chunk "<prefix><bytes>\r\n" (or the bare bytes) to the arena. */
static int framed(fl_chaos_t *c, fl_buf_t *b, bool bad, fl_chaos_op_t *o)
{
    int rc = 0;
    o->prefix = 0;
    if (c->in->framing == FL_BODY_CHUNKED) {
        char line[32];
        int n = bad ? snprintf(line, sizeof(line), "zz\r\n")
                    : snprintf(line, sizeof(line), "%zx\r\n", b->len);
        o->prefix = (size_t)n;
        fl_buf_t chunk;
        fl_buf_init(&chunk);
        rc = fl_buf_append(&chunk, line, (size_t)n);
        if (!rc)
            rc = fl_buf_append(&chunk, b->data, b->len);
        if (!rc)
            rc = fl_buf_append(&chunk, "\r\n", 2);
        if (!rc)
            rc = fl_chaos__bytes(c, chunk.data, chunk.len, &o->w.off);
        o->w.len = chunk.len;
        fl_buf_close(&chunk);
        return rc;
    }
    o->w.len = b->len;
    return fl_chaos__bytes(c, b->data, b->len, &o->w.off);
}

int fl_chaos__frame(fl_chaos_t *c)
{
    bool chunked = c->in->framing == FL_BODY_CHUNKED;
    fl_buf_t b;
    fl_chaos_op_t o;
    int rc = 0;
    uint64_t sent = 0; /* body bytes as sent so far */
    fl_buf_init(&b);
    for (size_t i = 0; i < c->np && !rc;) {
        const fl_chaos_piece_t *p = &c->p[i];
        if (p->flags & PC_FIRE) {
            o = op_from_piece(FL_WIRE_FIRE, p);
            rc = fl_chaos__op_push(c, &o);
            i++;
            continue;
        }
        if (p->flags & PC_HEAD) {
            o = op_from_piece(FL_WIRE_WRITE, p);
            o.head = true;
            o.w.off = p->off;
            o.w.len = p->len;
            rc = fl_chaos__op_push(c, &o);
            i++;
            continue;
        }
        if (p->flags & PC_TERM) {
            fl_script_end_t how = c->in->script->end;
            if (how != FL_SCRIPT_END_COMPLETE) {
                /* a replay that ended cut ends the same way, with no terminator */
                o = op_from_piece(how == FL_SCRIPT_END_FIN   ? FL_WIRE_FIN
                                  : how == FL_SCRIPT_END_RST ? FL_WIRE_RST
                                                             : FL_WIRE_HANG,
                                  p);
                rc = fl_chaos__op_push(c, &o);
                i++;
                continue;
            }
            o = op_from_piece(FL_WIRE_WRITE, p);
            if (chunked && !(rc = fl_chaos__bytes(c, "0\r\n\r\n", 5, &o.w.off))) {
                o.w.len = 5;
                rc = fl_chaos__op_push(c, &o);
            }
            o = op_from_piece(FL_WIRE_DONE, p);
            if (!rc)
                rc = fl_chaos__op_push(c, &o);
            i++;
            continue;
        }
        size_t end = i + 1;
        for (;;) {
            size_t q = end;
            while (q < c->np && (c->p[q].flags & PC_FIRE))
                q++;
            if (q < c->np && is_body(&c->p[q]) && c->p[q].at_ms == p->at_ms &&
                !(c->p[q].flags & PC_BREAK))
                end = q + 1;
            else
                break;
        }
        bool bad = false;
        uint32_t fault = FL_CHAOS_NONE, done = 0;
        unsigned marks = 0;
        b.len = 0;
        for (size_t j = i; j < end && !rc; j++) {
            const fl_chaos_piece_t *q = &c->p[j];
            if (q->flags & PC_FIRE) {
                o = op_from_piece(FL_WIRE_FIRE, q);
                rc = fl_chaos__op_push(c, &o);
                continue;
            }
            bad = bad || (q->flags & PC_BADCHUNK);
            if (fault == FL_CHAOS_NONE)
                fault = q->fault;
            if (ends_event(c, j)) {
                done++;
                marks |= event_marks(c, q->event);
            }
            rc = fl_buf_append(&b, c->arena.data + q->off, q->len);
        }
        if (!rc && b.len) {
            o = op_from_piece(FL_WIRE_WRITE, p);
            o.w.fault = fault;
            o.w.events_done = done;
            o.w.own_write = (p->flags & PC_OWN) != 0;
            o.w.marks = marks;
            o.body = true;
            o.sent_off = sent;
            sent += b.len;
            rc = framed(c, &b, bad, &o);
            if (!rc)
                rc = fl_chaos__op_push(c, &o);
        } else if (!rc && done) {
            /* a fault emptied these pieces (a truncated event's tail): the events ended with
             * the last body write before them */
            for (size_t k = c->no; k-- > 0;)
                if (c->o[k].body && c->o[k].w.kind == FL_WIRE_WRITE) {
                    c->o[k].w.events_done += done;
                    c->o[k].w.marks |= marks;
                    break;
                }
        }
        i = end;
    }
    if (!rc && c->tail) {
        o = op_from_piece((fl_wire_op_kind_t)c->tail, &c->tail_at);
        if (c->tail == FL_WIRE_PING) {
            b.len = 0;
            rc = fl_buf_append(&b, c->arena.data + c->tail_at.off, c->tail_at.len);
            if (!rc)
                rc = framed(c, &b, false, &o);
            o.w.every_ms = c->tail_every_ms;
            o.body = true;
            o.sent_off = sent;
        }
        if (!rc)
            rc = fl_chaos__op_push(c, &o);
    }
    fl_buf_close(&b);
    return rc;
}

size_t fl_chaos__find_op(const fl_chaos_t *c, const fl_chaos_pos_t *pos)
{
    for (size_t i = 0; i < c->no; i++) {
        const fl_chaos_op_t *o = &c->o[i];
        if (o->w.kind == FL_WIRE_FIRE)
            continue;
        if (pos->is_ms ? o->w.at_ms >= pos->ms : o->cid >= pos->cid)
            return i;
    }
    return c->no;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Where fragment splits one WRITE: sorted offsets inside (0, len). Returns the count. */
static int fragment_cuts(const fl_fault_t *f, const fl_chaos_op_t *o, size_t **cuts, size_t *n)
{
    size_t len = o->w.len, cap = 0;
    *n = 0;
    *cuts = NULL;
    if (!f->n_offsets) {
        if (!f->bytes)
            return FL_EINVAL;
        cap = (len - 1) / f->bytes;
        if (cap > FL_CHAOS_MAX_GEN)
            return FL_ELIMIT;
        if (!cap)
            return 0;
        if (!(*cuts = malloc(cap * sizeof(**cuts))))
            return FL_ENOMEM;
        for (size_t at = f->bytes; at < len; at += f->bytes)
            (*cuts)[(*n)++] = at;
        return 0;
    }
    if (!o->body)
        return 0;
    if (!(*cuts = malloc(f->n_offsets * sizeof(**cuts))))
        return FL_ENOMEM;
    for (size_t k = 0; k < f->n_offsets; k++) {
        uint64_t off = f->offsets[k];
        if (off <= o->sent_off)
            continue;
        uint64_t rel = o->prefix + (off - o->sent_off);
        if (rel < len)
            (*cuts)[(*n)++] = (size_t)rel;
    }
    qsort(*cuts, *n, sizeof(**cuts), cmp_size);
    return 0;
}

static int push_piece(fl_chaos_t *c, const fl_chaos_op_t *parent, uint32_t fi, size_t from,
                      size_t to, uint64_t at)
{
    fl_chaos_op_t o = *parent;
    o.w.off = parent->w.off + from;
    o.w.len = to - from;
    o.w.at_ms = at;
    o.w.own_write = true;
    o.w.fault = fi;
    /* the events the write completes are complete once its last piece is out */
    o.w.events_done = to == parent->w.len ? parent->w.events_done : 0;
    o.w.marks = to == parent->w.len ? parent->w.marks : 0;
    if (parent->body && from > parent->prefix) {
        /* a piece that starts in the chunk's trailing CRLF stands at the end of the chunk's
           data, not past the body (found by fuzz_chaos_compile) */
        size_t trailer = c->in->framing == FL_BODY_CHUNKED ? 2 : 0;
        size_t into = from - parent->prefix;
        if (parent->w.len >= parent->prefix + trailer &&
            into > parent->w.len - parent->prefix - trailer)
            into = parent->w.len - parent->prefix - trailer;
        o.w.body_off = parent->w.body_off + into;
        o.sent_off = parent->sent_off + into;
    }
    return fl_chaos__op_push(c, &o);
}

static int fragment(fl_chaos_t *c, uint32_t fi, fl_chaos_op_t *old, size_t n_old, size_t k)
{
    const fl_fault_t *f = &c->faults[fi];
    uint64_t shift = 0, gen = 0;
    int rc = 0;
    for (size_t i = k; i < n_old && !rc; i++) {
        fl_chaos_op_t o = old[i];
        uint64_t base = o.w.at_ms + shift;
        o.w.at_ms = base;
        if (o.w.kind != FL_WIRE_WRITE || o.w.len == 0) {
            rc = fl_chaos__op_push(c, &o);
            continue;
        }
        size_t *cuts, n, prev = 0, pieces = 0;
        if ((rc = fragment_cuts(f, &o, &cuts, &n)))
            break;
        if ((gen += n + 1) > FL_CHAOS_MAX_GEN) {
            free(cuts);
            return FL_ELIMIT;
        }
        for (size_t m = 0; m <= n && !rc; m++) {
            size_t to = m < n ? cuts[m] : o.w.len;
            if (to <= prev)
                continue;
            rc = push_piece(c, &o, fi, prev, to, base + pieces * f->gap_ms);
            prev = to;
            pieces++;
        }
        shift += (pieces - 1) * f->gap_ms;
        free(cuts);
    }
    return rc;
}

static int throttle(fl_chaos_t *c, uint32_t fi, fl_chaos_op_t *old, size_t n_old, size_t k)
{
    uint64_t rate = c->faults[fi].bytes;
    if (!rate)
        return FL_EINVAL;
    uint64_t p = rate / 100 ? rate / 100 : 1;
    uint64_t d = (p * 1000 + rate - 1) / rate;
    while (p * ((1000 + d - 1) / d) > rate)
        d++;
    uint64_t shift = 0, last = 0, gen = 0;
    bool any = false;
    int rc = 0;
    for (size_t i = k; i < n_old && !rc; i++) {
        fl_chaos_op_t o = old[i];
        uint64_t orig = o.w.at_ms;
        if (o.w.kind != FL_WIRE_WRITE || o.w.len == 0) {
            o.w.at_ms = orig + shift;
            rc = fl_chaos__op_push(c, &o);
            continue;
        }
        for (size_t from = 0; from < o.w.len && !rc; from += p) {
            size_t to = o.w.len - from > p ? from + p : o.w.len;
            uint64_t t = orig + shift;
            if (any && t < last + d)
                t = last + d;
            if (++gen > FL_CHAOS_MAX_GEN)
                return FL_ELIMIT;
            rc = push_piece(c, &o, fi, from, to, t);
            last = t;
            any = true;
        }
        shift = last - orig;
    }
    return rc;
}

int fl_chaos__wire_fault(fl_chaos_t *c, uint32_t fi)
{
    size_t k = fl_chaos__find_op(c, &c->pos[fi]);
    if (k >= c->no)
        return 0;
    fl_wire_op_kind_t kk = c->o[k].w.kind;
    if (kk == FL_WIRE_FIN || kk == FL_WIRE_RST)
        return 0; /* the connection is cut before the position */
    fl_chaos_op_t *old = c->o;
    size_t n_old = c->no;
    c->o = NULL;
    c->no = c->capo = 0;
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++)
        rc = fl_chaos__op_push(c, &old[i]);
    fl_chaos_op_t fire = old[k];
    fire.w.kind = FL_WIRE_FIRE;
    fire.w.fault = fi;
    fire.w.off = fire.w.len = 0;
    fire.w.own_write = false;
    if (!rc)
        rc = fl_chaos__op_push(c, &fire);
    if (!rc)
        rc = c->faults[fi].kind == FL_FAULT_FRAGMENT ? fragment(c, fi, old, n_old, k)
                                                     : throttle(c, fi, old, n_old, k);
    free(old);
    return rc;
}

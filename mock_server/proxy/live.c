/* The live fault applier; see live.h. */
#include "proxy/live.h"

#include "base/array.h"
#include "base/error.h"
#include "chaos/chaos.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most bytes of one event held back for a body fault; a longer event is relayed as it is. */
#define HOLD_MAX (4u * 1024 * 1024)

/* The head the one-event scripts are compiled under (the compiler needs one; never sent). */
static const char dummy_head[] = "HTTP/1.1 200 OK\r\n\r\n";

/* One fault's progress. */
typedef struct fstate_s {
    bool done;       /* fired, skipped or never reachable: nothing more to do */
    bool armed_body; /* a body fault whose event is now known: `target` */
    uint64_t target; /* body faults: the live event (1-based) it acts on */
    uint64_t rel;    /* body faults at a byte: the offset inside that event */
} fstate_t;

struct fl_live_s {
    fl_live_config_t cfg;
    fstate_t *st;
    char id[FL_ENCODE_ID_LEN + 1];
    bool sse;
    bool head_queued;
    bool over;
    uint64_t now;     /* the clock of the latest call */
    uint64_t last_ms; /* when upstream bytes last came (idle_timeout) */
    /* the splitter */
    uint64_t off;      /* upstream body bytes seen */
    uint64_t ev_start; /* body offset where the current event began */
    uint64_t events;   /* complete events */
    uint64_t content;  /* complete events that carried answer text */
    bool in_event;     /* a byte of the current event has come */
    size_t line_len;   /* bytes of the current line */
    bool cr;           /* the last byte was a CR (a following LF belongs to it) */
    bool blank_cr;     /* the event ended at a blank line's CR: an LF right after is its own */
    /* an event held back whole until it is complete (body faults, content positions) */
    bool holding;
    fl_buf_t held;
    /* wire faults in effect */
    uint64_t throttle; /* bytes per second, 0 when none */
    uint32_t frag_fault;
    bool fragmenting;      /* the rest of the current event goes in pieces */
    uint32_t pending_done; /* events completed in bytes not yet emitted */
    bool releasing;        /* a held event (already counted) is being acted on */
    bool frag_offsets;     /* a fragment at offsets is in effect (from its position on) */
    /* output */
    fl_buf_t out;
    fl_live_act_t *acts;
    size_t n_acts, cap_acts;
};

/* --- output --- */

static int push(fl_live_t *lv, const fl_live_act_t *a)
{
    return FL_ARRAY_INSERT(lv->acts, lv->cap_acts, lv->n_acts, 16, lv->n_acts, a);
}

static int push_write(fl_live_t *lv, const void *p, size_t len, fl_capture_origin_t origin,
                      bool raw, uint32_t events_done)
{
    if (!len && !events_done)
        return 0;
    fl_live_act_t a = {.kind = FL_LIVE_WRITE,
                       .off = lv->out.len,
                       .len = len,
                       .origin = origin,
                       .raw = raw,
                       .events_done = events_done};
    if (fl_buf_append(&lv->out, p, len))
        return FL_ENOMEM;
    return push(lv, &a);
}

static int push_wait(fl_live_t *lv, uint64_t ms)
{
    fl_live_act_t a = {.kind = FL_LIVE_WAIT, .ms = ms};
    return ms ? push(lv, &a) : 0;
}

static int push_fire(fl_live_t *lv, uint32_t fi, uint64_t silent)
{
    lv->st[fi].done = true;
    /* the event it acts before; a held event is counted before the faults act on it */
    uint64_t event = lv->releasing ? lv->events : lv->events + 1;
    fl_live_act_t a = {.kind = FL_LIVE_FIRE,
                       .fault = fi,
                       .event = lv->sse ? event : 0,
                       .byte = lv->off,
                       .ms = silent};
    return push(lv, &a);
}

static int push_skip(fl_live_t *lv, uint32_t fi, const char *reason)
{
    lv->st[fi].done = true;
    fl_live_act_t a = {.kind = FL_LIVE_SKIP, .fault = fi};
    snprintf(a.reason, sizeof(a.reason), "%s", reason);
    return push(lv, &a);
}

static int push_end(fl_live_t *lv, fl_live_end_t end)
{
    lv->over = true;
    fl_live_act_t a = {.kind = FL_LIVE_END, .end = end};
    return push(lv, &a);
}

/* The dialect's keep-alive, as a stall's WAIT or END PING carries it. */
static int push_ping_act(fl_live_t *lv, fl_live_act_kind_t kind, uint64_t ms, uint64_t every)
{
    fl_buf_t ping;
    fl_buf_init(&ping);
    fl_live_act_t a = {
        .kind = kind, .ms = ms, .every_ms = every, .end = FL_LIVE_PING, .off = lv->out.len};
    int rc = fl_dialect_encode_ping(lv->cfg.dialect, &ping);
    if (!rc)
        rc = fl_buf_append(&lv->out, ping.data, ping.len);
    a.len = ping.len;
    fl_buf_close(&ping);
    if (!rc)
        rc = push(lv, &a);
    if (kind == FL_LIVE_END)
        lv->over = true;
    return rc;
}

/* Upstream bytes for the client, through the wire faults in effect (throttle, fragment). */
static int emit(fl_live_t *lv, const char *p, size_t len, uint32_t events_done)
{
    if (!lv->throttle && !lv->fragmenting)
        return push_write(lv, p, len, FL_CAPTURE_ORIGIN_UPSTREAM, false, events_done);
    const fl_fault_t *ff = lv->fragmenting ? &lv->cfg.faults[lv->frag_fault] : NULL;
    /* throttle as the compiler paces it (chaos_frame.c): pieces of max(1, bps/100) bytes */
    uint64_t piece = lv->throttle ? (lv->throttle / 100 ? lv->throttle / 100 : 1) : ff->bytes;
    if (ff && ff->bytes && ff->bytes < piece)
        piece = ff->bytes;
    if (!piece)
        piece = len ? len : 1;
    for (size_t i = 0; i < len || (i == 0 && events_done);) {
        size_t n = len - i < piece ? len - i : (size_t)piece;
        bool last = i + n >= len;
        if (i > 0) {
            uint64_t gap = ff ? ff->gap_ms : 0;
            if (lv->throttle) {
                uint64_t d = (n * 1000 + lv->throttle - 1) / lv->throttle;
                gap = gap > d ? gap : d;
            }
            int rc = push_wait(lv, gap);
            if (rc)
                return rc;
        }
        int rc =
            push_write(lv, p + i, n, FL_CAPTURE_ORIGIN_UPSTREAM, false, last ? events_done : 0);
        if (rc)
            return rc;
        i += n;
        if (!len)
            break;
    }
    return 0;
}

/* --- compiling through the chaos layer --- */

/* Queues the ops of a compiled plan as actions: WRITEs (the dummy head skipped when skip_head;
 * raw: sent unframed), FIREs (as fault fi, or their own index for UINT32_MAX), waits for the
 * time between ops, and with end_ops the end. *clean_bytes gets the bytes of WRITEs no fault
 * made, so the caller can tell a rewritten event from one a fault only added to. */
static int queue_plan(fl_live_t *lv, const fl_wire_t *w, uint32_t fi, bool skip_head, bool raw,
                      bool end_ops, uint64_t *clean_bytes)
{
    uint64_t t = 0;
    bool head_skipped = !skip_head;
    *clean_bytes = 0;
    for (size_t i = 0; i < w->n_ops; i++) {
        const fl_wire_op_t *op = &w->ops[i];
        if (op->at_ms > t) {
            int rc = push_wait(lv, op->at_ms - t);
            if (rc)
                return rc;
            t = op->at_ms;
        }
        int rc = 0;
        switch (op->kind) {
        case FL_WIRE_WRITE: {
            if (!head_skipped) {
                head_skipped = true;
                break;
            }
            if (!raw && op->event == UINT32_MAX && op->fault == FL_WIRE_NO_FAULT)
                break; /* the terminator of a one-event script's body */
            fl_capture_origin_t origin = op->fault == FL_WIRE_NO_FAULT ? FL_CAPTURE_ORIGIN_UPSTREAM
                                                                       : FL_CAPTURE_ORIGIN_FAULT;
            if (origin == FL_CAPTURE_ORIGIN_UPSTREAM)
                *clean_bytes += op->len;
            char *tmp = malloc(op->len ? op->len : 1);
            if (!tmp)
                return FL_ENOMEM;
            fl_wire_read(w, op->off, op->len, tmp);
            rc = push_write(lv, tmp, op->len, origin, raw, op->events_done);
            if (!rc && raw && lv->n_acts && !lv->head_queued && op->event == UINT32_MAX) {
                lv->acts[lv->n_acts - 1].head = true;
                lv->head_queued = true;
            }
            free(tmp);
            break;
        }
        case FL_WIRE_FIRE: {
            uint32_t k = fi == UINT32_MAX ? op->fault : fi;
            if (k < lv->cfg.n_faults && !lv->st[k].done)
                rc = push_fire(lv, k, op->silent_ms);
            break;
        }
        case FL_WIRE_DONE:
        case FL_WIRE_FIN:
        case FL_WIRE_RST:
        case FL_WIRE_HANG:
            if (end_ops)
                rc = push_end(lv, op->kind == FL_WIRE_DONE  ? FL_LIVE_DONE
                                  : op->kind == FL_WIRE_FIN ? FL_LIVE_FIN
                                  : op->kind == FL_WIRE_RST ? FL_LIVE_RST
                                                            : FL_LIVE_HANG);
            break;
        case FL_WIRE_PING: {
            fl_live_act_t a = {.kind = FL_LIVE_END,
                               .end = FL_LIVE_PING,
                               .off = lv->out.len,
                               .len = op->len,
                               .every_ms = op->every_ms};
            char *tmp = malloc(op->len ? op->len : 1);
            if (!tmp)
                return FL_ENOMEM;
            fl_wire_read(w, op->off, op->len, tmp);
            rc = fl_buf_append(&lv->out, tmp, op->len);
            free(tmp);
            if (!rc && end_ops) {
                lv->over = true;
                rc = push(lv, &a);
            }
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* The input the compiler gets for a one-event (or empty) script in this exchange. */
static fl_chaos_input_t chaos_input(const fl_live_t *lv, const fl_script_t *s, bool chunked)
{
    fl_chaos_input_t in = {.script = s,
                           .dialect = lv->cfg.dialect,
                           .framing = chunked ? FL_BODY_CHUNKED : FL_BODY_CLOSE,
                           .kind = FL_BODY_STREAM,
                           .framing_why = chunked ? NULL : "HTTP/1.0",
                           .head = dummy_head,
                           .head_len = sizeof(dummy_head) - 1,
                           .request_id = lv->id,
                           .ctx = {.id = lv->id, .created = 0, .sequence_number = lv->events}};
    return in;
}

/* Carries out body fault fi on one complete event (len bytes; NULL/0 at the body's end) by
 * compiling it as a one-event script with the fault at `at`. */
static int body_fault(fl_live_t *lv, uint32_t fi, const char *ev, size_t len, fl_at_t at)
{
    const fl_fault_t *src = &lv->cfg.faults[fi];
    fl_fault_t f;
    fl_script_t s;
    fl_wire_t w;
    fl_script_init(&s);
    fl_wire_init(&w);
    int rc = fl_fault_copy(&f, src);
    if (rc)
        goto done_script;
    f.at = at;
    if (len) {
        fl_event_kind_t kind = fl_live_classify(ev, len, NULL);
        rc = fl_script_push(&s, kind, 0, ev, len);
        if (!rc && kind == FL_EVENT_CONTENT)
            fl_script_mark_piece(&s);
        if (rc)
            goto done;
    }
    bool chunk_size = f.kind == FL_FAULT_CORRUPT && f.corrupt == FL_CORRUPT_CHUNK_SIZE;
    fl_chaos_input_t in = chaos_input(lv, &s, chunk_size);
    rc = fl_chaos_compile(&in, &f, 1, &w);
    if (rc)
        goto done;
    /* Queue into a scratch list first: a rewrite keeps the upstream's event as withheld. */
    size_t mark = lv->n_acts;
    uint64_t clean = 0;
    rc = queue_plan(lv, &w, fi, true, chunk_size, false, &clean);
    if (rc)
        goto done;
    if (clean != len && len) {
        /* the event was rewritten or dropped: what the upstream sent is kept apart */
        for (size_t i = mark; i < lv->n_acts; i++)
            if (lv->acts[i].kind == FL_LIVE_WRITE)
                lv->acts[i].origin = FL_CAPTURE_ORIGIN_FAULT;
        fl_live_act_t a = {.kind = FL_LIVE_WRITE,
                           .off = lv->out.len,
                           .len = len,
                           .origin = FL_CAPTURE_ORIGIN_WITHHELD};
        if ((rc = fl_buf_append(&lv->out, ev, len)) || (rc = push(lv, &a)))
            goto done;
        /* the withheld copy goes before the fault's bytes, as it came first */
        fl_live_act_t wa = lv->acts[lv->n_acts - 1];
        memmove(&lv->acts[mark + 1], &lv->acts[mark], (lv->n_acts - 1 - mark) * sizeof(wa));
        lv->acts[mark] = wa;
    }
    if (f.kind == FL_FAULT_END || f.kind == FL_FAULT_ERROR_EVENT)
        rc = push_end(lv, FL_LIVE_DONE); /* the body ends right after */
done:
    fl_fault_close(&f);
done_script:
    fl_wire_close(&w);
    fl_script_close(&s);
    return rc;
}

/* --- positions --- */

static bool is_body(const fl_fault_t *f)
{
    return fl_fault_phase(f->kind) == FL_PHASE_BODY;
}

static bool takes_event_stream(const fl_fault_t *f)
{
    return is_body(f) || f->at.kind == FL_AT_EVENT || f->at.kind == FL_AT_CONTENT;
}

/* Carries out a cut, time or wire fault whose position has come. */
static int act(fl_live_t *lv, uint32_t fi)
{
    const fl_fault_t *f = &lv->cfg.faults[fi];
    int rc = 0;
    switch (f->kind) {
    case FL_FAULT_RESET:
    case FL_FAULT_CLOSE:
        if (!(rc = push_fire(lv, fi, 0)))
            rc = push_end(lv, f->kind == FL_FAULT_RESET || f->cut == FL_CUT_RST ? FL_LIVE_RST
                                                                                : FL_LIVE_FIN);
        break;
    case FL_FAULT_STALL:
        if ((rc = push_fire(lv, fi, f->forever ? UINT64_MAX : f->ms)))
            break;
        if (f->forever)
            rc = f->keepalive_ms ? push_ping_act(lv, FL_LIVE_END, 0, f->keepalive_ms)
                                 : push_end(lv, FL_LIVE_HANG);
        else if (f->keepalive_ms && lv->head_queued)
            rc = push_ping_act(lv, FL_LIVE_WAIT, f->ms, f->keepalive_ms);
        else
            rc = push_wait(lv, f->ms);
        break;
    case FL_FAULT_THROTTLE:
        lv->throttle = f->bytes;
        rc = push_fire(lv, fi, 0);
        break;
    case FL_FAULT_FRAGMENT:
        if (f->n_offsets) {
            rc = push_fire(lv, fi, 0); /* the offsets act as the bytes pass them (feed) */
            lv->frag_offsets = true;
            lv->frag_fault = fi;
            break;
        }
        lv->fragmenting = true;
        lv->frag_fault = fi;
        rc = push_fire(lv, fi, 0);
        break;
    default:
        break;
    }
    return rc;
}

/* Cut, time and wire faults due at the current place: kind `k` (event or byte) with n. */
static int due_at(fl_live_t *lv, fl_at_kind_t k, uint64_t n)
{
    for (uint32_t i = 0; i < lv->cfg.n_faults && !lv->over; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (lv->st[i].done || is_body(f) || f->at.kind != k || f->at.n != n ||
            !fl_fault_takes_position(f->kind))
            continue;
        int rc = act(lv, i);
        if (rc)
            return rc;
    }
    return 0;
}

/* Body faults due at event `event` (1-based): armed with their target. */
static void arm_body(fl_live_t *lv)
{
    for (uint32_t i = 0; i < lv->cfg.n_faults; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        fstate_t *s = &lv->st[i];
        if (s->done || s->armed_body || !is_body(f))
            continue;
        if (f->at.kind == FL_AT_EVENT) {
            s->armed_body = true;
            s->target = f->at.n;
            s->rel = 0;
        }
    }
}

/* True when the event about to begin must be held whole. */
static bool hold_needed(const fl_live_t *lv)
{
    uint64_t next = lv->events + 1;
    for (uint32_t i = 0; i < lv->cfg.n_faults; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        const fstate_t *s = &lv->st[i];
        if (s->done && !(f->kind == FL_FAULT_DROP_SENTINEL || f->kind == FL_FAULT_LINE_ENDINGS))
            continue;
        if (f->kind == FL_FAULT_DROP_SENTINEL || f->kind == FL_FAULT_LINE_ENDINGS)
            return true; /* every event: the whole stream */
        if (f->at.kind == FL_AT_CONTENT)
            return true;
        if (is_body(f) && s->armed_body && s->target == next)
            return true;
        if (is_body(f) && f->at.kind == FL_AT_BYTE && f->at.n >= lv->off)
            return true;
    }
    return false;
}

/* A held event is complete: content positions, body faults, then the event itself. */
static int release(fl_live_t *lv)
{
    const char *ev = lv->held.data;
    size_t len = lv->held.len;
    uint64_t number = lv->events; /* already counted */
    fl_event_kind_t kind = fl_live_classify(ev, len, NULL);
    if (kind == FL_EVENT_CONTENT) {
        lv->content++;
        for (uint32_t i = 0; i < lv->cfg.n_faults && !lv->over; i++) {
            const fl_fault_t *f = &lv->cfg.faults[i];
            if (lv->st[i].done || f->at.kind != FL_AT_CONTENT || f->at.n != lv->content)
                continue;
            if (is_body(f)) {
                lv->st[i].armed_body = true;
                lv->st[i].target = number;
            } else {
                int rc = act(lv, i);
                if (rc)
                    return rc;
            }
        }
    }
    if (lv->over)
        return push_write(lv, ev, len, FL_CAPTURE_ORIGIN_WITHHELD, false, 0);
    for (uint32_t i = 0; i < lv->cfg.n_faults; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        fstate_t *s = &lv->st[i];
        bool whole = f->kind == FL_FAULT_DROP_SENTINEL || f->kind == FL_FAULT_LINE_ENDINGS;
        bool at_byte = is_body(f) && !s->done && f->at.kind == FL_AT_BYTE &&
                       f->at.n >= lv->ev_start && f->at.n < lv->ev_start + len;
        if (!whole && !at_byte && !(is_body(f) && !s->done && s->armed_body && s->target == number))
            continue;
        if (whole && kind != FL_EVENT_SENTINEL && kind != FL_EVENT_FINISH &&
            f->kind == FL_FAULT_DROP_SENTINEL)
            continue;
        fl_at_t at = {FL_AT_EVENT, 1};
        if (at_byte)
            at = (fl_at_t){FL_AT_BYTE, f->at.n - lv->ev_start};
        else if (whole)
            at = (fl_at_t){FL_AT_DEFAULT, 0};
        bool was_done = s->done;
        int rc;
        if (!at_byte && (f->kind == FL_FAULT_INJECT || f->kind == FL_FAULT_DUPLICATE)) {
            /* bytes added before (inject) or after (duplicate) the event, which goes as it came:
             * the capture keeps the upstream's event and the fault's bytes apart */
            s->done = true;
            rc = push_fire(lv, i, 0);
            if (!rc && f->kind == FL_FAULT_INJECT)
                rc = push_write(lv, f->inject, f->inject_len, FL_CAPTURE_ORIGIN_FAULT, false, 0);
            if (!rc)
                rc = emit(lv, ev, len, 1);
            if (!rc && f->kind == FL_FAULT_DUPLICATE)
                rc = push_write(lv, ev, len, FL_CAPTURE_ORIGIN_FAULT, false, 0);
            return rc;
        }
        rc = body_fault(lv, i, ev, len, at);
        if (whole && was_done) {
            /* the whole-stream faults fire once, at their first event */
            for (size_t k = lv->n_acts; k-- > 0;)
                if (lv->acts[k].kind == FL_LIVE_FIRE && lv->acts[k].fault == i) {
                    memmove(&lv->acts[k], &lv->acts[k + 1],
                            (lv->n_acts - k - 1) * sizeof(lv->acts[0]));
                    lv->n_acts--;
                }
        }
        s->done = true;
        if (lv->acts && lv->n_acts && lv->acts[lv->n_acts - 1].kind == FL_LIVE_WRITE &&
            lv->acts[lv->n_acts - 1].origin != FL_CAPTURE_ORIGIN_WITHHELD)
            lv->acts[lv->n_acts - 1].events_done = 1;
        return rc; /* one body fault per event: the compiled event replaces it */
    }
    return emit(lv, ev, len, 1);
}

/* True when something acts before event n (so the bytes before it must go out first). */
static bool stop_before_event(const fl_live_t *lv, uint64_t n)
{
    for (uint32_t i = 0; i < lv->cfg.n_faults; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (!lv->st[i].done && !is_body(f) && fl_fault_takes_position(f->kind) &&
            f->at.kind == FL_AT_EVENT && f->at.n == n)
            return true;
    }
    return false;
}

/* The current event is complete (the splitter saw its blank line at data[i - 1]): a held event
 * is released; otherwise its bytes stay in the segment [*seg, i) unless something acts before
 * the next event, so one upstream read stays one write. */
static int event_done(fl_live_t *lv, const char *data, size_t *seg, size_t i)
{
    int rc = 0;
    lv->events++;
    if (lv->holding) {
        if (fl_buf_append(&lv->held, data + *seg, i - *seg))
            return FL_ENOMEM;
        *seg = i;
        lv->releasing = true;
        rc = release(lv);
        lv->releasing = false;
        lv->held.len = 0;
        lv->holding = false;
    } else {
        lv->pending_done++;
        if (lv->fragmenting || stop_before_event(lv, lv->events + 1)) {
            rc = emit(lv, data + *seg, i - *seg, lv->pending_done);
            lv->pending_done = 0;
            *seg = i;
        }
    }
    lv->in_event = false;
    lv->fragmenting = false;
    if (!rc && !lv->over)
        rc = due_at(lv, FL_AT_EVENT, lv->events + 1);
    return rc;
}

/* --- the public API --- */

int fl_live_new(const fl_live_config_t *cfg, fl_live_t **out)
{
    fl_live_t *lv = calloc(1, sizeof(*lv));
    if (!lv)
        return FL_ENOMEM;
    lv->cfg = *cfg;
    lv->st = calloc(cfg->n_faults ? cfg->n_faults : 1, sizeof(*lv->st));
    if (!lv->st) {
        free(lv);
        return FL_ENOMEM;
    }
    snprintf(lv->id, sizeof(lv->id), "%s", cfg->id ? cfg->id : "");
    fl_buf_init(&lv->held);
    fl_buf_init(&lv->out);
    arm_body(lv);
    *out = lv;
    return 0;
}

void fl_live_free(fl_live_t *lv)
{
    if (!lv)
        return;
    fl_buf_close(&lv->held);
    fl_buf_close(&lv->out);
    free(lv->acts);
    free(lv->st);
    free(lv);
}

/* The compiler's view of this live response, for fl_chaos_applies. */
static bool applies(fl_live_t *lv, const fl_fault_t *f, char *reason, size_t size)
{
    fl_script_t empty;
    fl_script_init(&empty);
    fl_chaos_input_t in = chaos_input(lv, &empty, lv->cfg.chunked);
    in.kind = lv->sse ? FL_BODY_STREAM : FL_BODY_JSON;
    if (!lv->sse && takes_event_stream(f)) {
        snprintf(reason, size, "%s needs SSE events; this upstream body is not text/event-stream",
                 fl_fault_name(f->kind));
        return false;
    }
    if (!fl_chaos_applies(&in, f, reason, size))
        return false;
    if (fl_fault_takes_position(f->kind) && f->at.kind == FL_AT_DEFAULT) {
        snprintf(reason, size,
                 "%s needs an `at` on a live stream: its length (and so its middle event) is not "
                 "known ahead",
                 fl_fault_name(f->kind));
        return false;
    }
    if (fl_fault_phase(f->kind) == FL_PHASE_RESPONSE) {
        snprintf(reason, size, "%s is answered without the upstream (fl_live_plan)",
                 fl_fault_name(f->kind));
        return false;
    }
    return true;
}

int fl_live_head(fl_live_t *lv, const char *head, size_t len, bool sse, uint64_t now_ms)
{
    lv->now = lv->last_ms = now_ms;
    if (lv->over)
        return 0;
    lv->sse = sse;
    int rc = 0;
    char reason[FL_WIRE_REASON_BYTES];
    for (uint32_t i = 0; i < lv->cfg.n_faults && !rc; i++)
        if (!lv->st[i].done && !applies(lv, &lv->cfg.faults[i], reason, sizeof(reason)))
            rc = push_skip(lv, i, reason);
    /* before the head: delay_headers, then the faults at the headers */
    for (uint32_t i = 0; i < lv->cfg.n_faults && !rc; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (lv->st[i].done || f->kind != FL_FAULT_DELAY_HEADERS)
            continue;
        if (!(rc = push_fire(lv, i, f->ms)))
            rc = push_wait(lv, f->ms);
    }
    for (uint32_t i = 0; i < lv->cfg.n_faults && !rc && !lv->over; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (!lv->st[i].done && fl_fault_takes_position(f->kind) && f->at.kind == FL_AT_HEADERS &&
            !is_body(f))
            rc = act(lv, i);
    }
    if (rc || lv->over)
        return rc;
    if ((rc = push_write(lv, head, len, FL_CAPTURE_ORIGIN_UPSTREAM, true, 0)))
        return rc;
    lv->acts[lv->n_acts - 1].head = true;
    lv->head_queued = true;
    if (!(rc = due_at(lv, FL_AT_BYTE, 0)) && lv->sse)
        rc = due_at(lv, FL_AT_EVENT, 1);
    return rc;
}

/* The next body offset at or after off where a cut, time or wire fault stands (`byte: N`, or a
 * fragment offset), UINT64_MAX for none. */
static uint64_t next_stop(const fl_live_t *lv, uint64_t off)
{
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < lv->cfg.n_faults; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (lv->st[i].done && !(f->kind == FL_FAULT_FRAGMENT && f->n_offsets))
            continue;
        if (f->at.kind == FL_AT_BYTE && !is_body(f) && fl_fault_takes_position(f->kind) &&
            !lv->st[i].done && f->at.n >= off && f->at.n < next)
            next = f->at.n;
        if (f->kind == FL_FAULT_FRAGMENT && f->n_offsets && lv->frag_offsets)
            for (size_t k = 0; k < f->n_offsets; k++)
                if (f->offsets[k] > 0 && f->offsets[k] >= off && f->offsets[k] < next)
                    next = f->offsets[k];
    }
    return next;
}

/* Hands bytes [from, to) of data to the client side: held back or emitted. */
static int pass(fl_live_t *lv, const char *data, size_t from, size_t to)
{
    if (to <= from)
        return 0;
    if (lv->holding) {
        if (lv->held.len + (to - from) > HOLD_MAX) {
            /* too long to hold: relayed as it is, the fault acts on no event */
            int rc = emit(lv, lv->held.data, lv->held.len, 0);
            lv->held.len = 0;
            lv->holding = false;
            return rc ? rc : emit(lv, data + from, to - from, 0);
        }
        return fl_buf_append(&lv->held, data + from, to - from) ? FL_ENOMEM : 0;
    }
    uint32_t done = lv->pending_done;
    lv->pending_done = 0;
    return emit(lv, data + from, to - from, done);
}

int fl_live_feed(fl_live_t *lv, const char *data, size_t len, uint64_t now_ms)
{
    int rc = fl_live_tick(lv, now_ms);
    lv->last_ms = now_ms;
    size_t seg = 0;
    if (rc)
        return rc;
    uint64_t stop = next_stop(lv, lv->off);
    for (size_t i = 0; i < len && !lv->over;) {
        if (lv->off == stop) {
            /* a fault at this byte: what came before it goes first */
            if ((rc = pass(lv, data, seg, i)))
                return rc;
            seg = i;
            if (lv->frag_offsets && (rc = push_wait(lv, lv->cfg.faults[lv->frag_fault].gap_ms)))
                return rc;
            if ((rc = due_at(lv, FL_AT_BYTE, lv->off)))
                return rc;
            stop = next_stop(lv, lv->off + 1);
            if (lv->over)
                break;
        }
        if ((lv->in_event && !lv->blank_cr) || !lv->sse) {
            /* inside a line (or a body that is not SSE): only a line end, or the next stop,
             * matters; skip to it in one tight loop */
            size_t lim = len, j = i;
            if (stop != UINT64_MAX && stop - lv->off < (uint64_t)(len - i))
                lim = i + (size_t)(stop - lv->off);
            if (lv->sse) {
                /* two vectorised scans (memchr) instead of one byte at a time */
                const char *lf = memchr(data + i, '\n', lim - i);
                size_t end = lf ? (size_t)(lf - data) : lim;
                const char *cr = memchr(data + i, '\r', end - i);
                j = cr ? (size_t)(cr - data) : end;
            } else {
                j = lim;
            }
            if (j > i) {
                lv->line_len += j - i;
                lv->off += j - i;
                lv->cr = false;
                i = j;
                continue;
            }
        }
        unsigned char c = (unsigned char)data[i];
        if (lv->blank_cr) {
            /* the event ended at a blank line's CR; an LF right after is still its own */
            lv->blank_cr = false;
            if (c == '\n') {
                i++;
                lv->off++;
                lv->cr = false;
            }
            if ((rc = event_done(lv, data, &seg, i)))
                return rc;
            stop = next_stop(lv, lv->off);
            continue;
        }
        if (lv->sse && !lv->in_event && c != '\r' && c != '\n') {
            /* a new event begins here */
            lv->in_event = true;
            lv->ev_start = lv->off;
            if (hold_needed(lv)) {
                if ((rc = pass(lv, data, seg, i)))
                    return rc;
                seg = i;
                lv->holding = true;
            }
        }
        i++;
        lv->off++;
        if (!lv->sse)
            continue;
        if (c == '\n' && lv->cr) {
            lv->cr = false; /* the LF of a CRLF: the line already ended */
            continue;
        }
        lv->cr = c == '\r';
        if (c != '\r' && c != '\n') {
            lv->line_len++;
            continue;
        }
        bool blank = lv->line_len == 0;
        lv->line_len = 0;
        if (!blank || !lv->in_event)
            continue;
        if (c == '\r') {
            lv->blank_cr = true;
            continue;
        }
        if ((rc = event_done(lv, data, &seg, i)))
            return rc;
        stop = next_stop(lv, lv->off);
    }
    if (lv->over) {
        /* what the upstream sent past the end: kept from the client, and in the capture */
        return seg < len
                   ? push_write(lv, data + seg, len - seg, FL_CAPTURE_ORIGIN_WITHHELD, false, 0)
                   : 0;
    }
    return pass(lv, data, seg, len);
}

int fl_live_finish(fl_live_t *lv, uint64_t now_ms)
{
    int rc = fl_live_tick(lv, now_ms);
    if (rc || lv->over)
        return rc;
    if (lv->blank_cr) {
        size_t seg = 0;
        lv->blank_cr = false;
        if ((rc = event_done(lv, "", &seg, 0)))
            return rc;
    }
    if (lv->holding) {
        /* an event the body ended inside: relayed as it came */
        rc = emit(lv, lv->held.data, lv->held.len, 0);
        lv->held.len = 0;
        lv->holding = false;
        if (rc)
            return rc;
    }
    /* positions past the last event, and `end`, stand at the end (as on a script) */
    for (uint32_t i = 0; i < lv->cfg.n_faults && !rc && !lv->over; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (lv->st[i].done || !fl_fault_takes_position(f->kind) || f->at.kind == FL_AT_MS)
            continue;
        if (is_body(f))
            rc = body_fault(lv, i, NULL, 0, (fl_at_t){FL_AT_END, 0});
        else
            rc = act(lv, i);
    }
    if (!rc && !lv->over)
        rc = push_end(lv, FL_LIVE_DONE);
    return rc;
}

/* Compiles a response from faults alone (an empty script: the response faults, a timeout's
 * page) and queues it whole, its FIREs as fault fi (UINT32_MAX: their own index). */
static int compile_alone(fl_live_t *lv, const fl_fault_t *faults, size_t n, uint32_t fi)
{
    fl_script_t s;
    fl_wire_t w;
    fl_script_init(&s);
    fl_wire_init(&w);
    fl_chaos_input_t in = chaos_input(lv, &s, lv->cfg.chunked);
    uint64_t clean;
    int rc = fl_chaos_compile(&in, faults, n, &w);
    if (!rc)
        rc = queue_plan(lv, &w, fi, false, true, true, &clean);
    fl_wire_close(&w);
    fl_script_close(&s);
    return rc;
}

/* A timeout's HTML page before the head (compiled as proxy_timeout at 0: chaos_cut.c). */
static int timeout_page(fl_live_t *lv, uint32_t fi)
{
    fl_fault_t f;
    fl_fault_init(&f, FL_FAULT_PROXY_TIMEOUT);
    f.ms = 0;
    f.status = lv->cfg.faults[fi].status ? lv->cfg.faults[fi].status : 504;
    int rc = compile_alone(lv, &f, 1, fi);
    fl_fault_close(&f);
    return rc;
}

static uint64_t due_of(const fl_live_t *lv, uint32_t i)
{
    const fl_fault_t *f = &lv->cfg.faults[i];
    if (lv->st[i].done || lv->st[i].armed_body)
        return UINT64_MAX;
    if (f->kind == FL_FAULT_PROXY_TIMEOUT)
        return f->ms;
    if (f->kind == FL_FAULT_IDLE_TIMEOUT)
        return lv->last_ms + f->ms;
    if (fl_fault_takes_position(f->kind) && f->at.kind == FL_AT_MS)
        return f->at.n;
    return UINT64_MAX;
}

int fl_live_tick(fl_live_t *lv, uint64_t now_ms)
{
    lv->now = now_ms;
    int rc = 0;
    for (uint32_t i = 0; i < lv->cfg.n_faults && !rc && !lv->over; i++) {
        const fl_fault_t *f = &lv->cfg.faults[i];
        if (due_of(lv, i) > now_ms)
            continue;
        if (f->kind == FL_FAULT_PROXY_TIMEOUT || f->kind == FL_FAULT_IDLE_TIMEOUT) {
            if (!lv->head_queued) {
                rc = timeout_page(lv, i);
            } else if (!(rc = push_fire(lv, i, 0))) {
                rc = push_end(lv, f->cut == FL_CUT_RST ? FL_LIVE_RST : FL_LIVE_FIN);
            }
        } else if (is_body(f)) {
            /* armed for the first event that begins from now on; it acts once that is held */
            lv->st[i].armed_body = true;
            lv->st[i].target = lv->events + (lv->in_event ? 2 : 1);
            lv->st[i].rel = 0;
        } else if (lv->head_queued || f->kind != FL_FAULT_STALL) {
            rc = act(lv, i);
        }
    }
    return rc;
}

uint64_t fl_live_next_due(const fl_live_t *lv)
{
    uint64_t due = UINT64_MAX;
    if (lv->over)
        return due;
    for (uint32_t i = 0; i < lv->cfg.n_faults; i++) {
        if (is_body(&lv->cfg.faults[i]) && lv->st[i].armed_body)
            continue;
        uint64_t d = due_of(lv, i);
        due = d < due ? d : due;
    }
    return due;
}

bool fl_live_over(const fl_live_t *lv)
{
    return lv->over;
}

bool fl_live_head_queued(const fl_live_t *lv)
{
    return lv->head_queued;
}

uint64_t fl_live_events(const fl_live_t *lv)
{
    return lv->events;
}

const fl_live_act_t *fl_live_acts(const fl_live_t *lv, size_t *n, const fl_buf_t **bytes)
{
    *n = lv->n_acts;
    *bytes = &lv->out;
    return lv->acts;
}

void fl_live_clear(fl_live_t *lv)
{
    lv->n_acts = 0;
    lv->out.len = 0;
}

int fl_live_plan(fl_live_t *lv)
{
    return compile_alone(lv, lv->cfg.faults, lv->cfg.n_faults, UINT32_MAX);
}

/* --- classification --- */

static void text_of(json_t *v, fl_buf_t *text, bool *content)
{
    if (json_is_string(v) && json_string_length(v)) {
        *content = true;
        if (text)
            fl_buf_append(text, json_string_value(v), json_string_length(v));
    }
}

fl_event_kind_t fl_live_classify(const char *event, size_t len, fl_buf_t *text)
{
    /* the event's name and its data lines joined with LF (WHATWG 9.2.6) */
    fl_buf_t data;
    fl_buf_init(&data);
    char name[64] = "";
    bool has_data = false, has_field = false;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && event[j] != '\n' && event[j] != '\r')
            j++;
        const char *l = event + i;
        size_t n = j - i;
        if (n && l[0] != ':') {
            has_field = true;
            const char *colon = memchr(l, ':', n);
            size_t fn = colon ? (size_t)(colon - l) : n;
            const char *v = colon ? colon + 1 : l + n;
            size_t vn = colon ? n - fn - 1 : 0;
            if (vn && *v == ' ')
                v++, vn--;
            if (fn == 4 && memcmp(l, "data", 4) == 0) {
                if (has_data)
                    fl_buf_append(&data, "\n", 1);
                fl_buf_append(&data, v, vn);
                has_data = true;
            } else if (fn == 5 && memcmp(l, "event", 5) == 0) {
                snprintf(name, sizeof(name), "%.*s", (int)(vn < 63 ? vn : 63), v);
            }
        }
        i = j;
        if (i < len && event[i] == '\r')
            i++;
        if (i < len && event[i] == '\n')
            i++;
    }
    fl_event_kind_t kind = FL_EVENT_META;
    if (!has_field) {
        kind = FL_EVENT_PING;
        goto done;
    }
    if (has_data && data.len == 6 && memcmp(data.data, "[DONE]", 6) == 0) {
        kind = FL_EVENT_SENTINEL;
        goto done;
    }
    json_t *j = has_data ? json_loadb(data.data, data.len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type)
        type = name;
    bool content = false;
    if (!strcmp(type, "message_stop") || !strcmp(type, "response.completed")) {
        kind = FL_EVENT_SENTINEL;
    } else if (!strcmp(type, "ping")) {
        kind = FL_EVENT_PING;
    } else if (!strcmp(type, "content_block_delta")) {
        json_t *d = json_object_get(j, "delta");
        text_of(json_object_get(d, "text"), text, &content);
        text_of(json_object_get(d, "partial_json"), text, &content);
    } else if (!strcmp(type, "message_delta")) {
        kind = FL_EVENT_FINISH;
    } else if (!strcmp(type, "response.output_text.delta") ||
               !strcmp(type, "response.function_call_arguments.delta")) {
        text_of(json_object_get(j, "delta"), text, &content);
    } else if (json_is_array(json_object_get(j, "choices"))) {
        json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
        json_t *d = json_object_get(c0, "delta");
        text_of(json_object_get(d, "content"), text, &content);
        json_t *tc;
        size_t k;
        json_array_foreach(json_object_get(d, "tool_calls"), k, tc)
            text_of(json_object_get(json_object_get(tc, "function"), "arguments"), text, &content);
        if (!content && json_is_string(json_object_get(c0, "finish_reason")))
            kind = FL_EVENT_FINISH;
    } else if (json_is_array(json_object_get(j, "candidates"))) {
        json_t *c0 = json_array_get(json_object_get(j, "candidates"), 0);
        json_t *p;
        size_t k;
        json_array_foreach(json_object_get(json_object_get(c0, "content"), "parts"), k, p)
            text_of(json_object_get(p, "text"), text, &content);
        if (json_object_get(c0, "finishReason"))
            kind = FL_EVENT_SENTINEL;
    }
    if (content && kind == FL_EVENT_META)
        kind = FL_EVENT_CONTENT;
    json_decref(j);
done:
    fl_buf_close(&data);
    return kind;
}

/* --- what the client got --- */

void fl_live_relayed_init(fl_live_relayed_t *r)
{
    memset(r, 0, sizeof(*r));
    fl_buf_init(&r->pending);
    fl_buf_init(&r->text);
}

void fl_live_relayed_close(fl_live_relayed_t *r)
{
    fl_buf_close(&r->pending);
    fl_buf_close(&r->text);
}

/* The end of the first event in b (after its blank line), or 0 when none is complete. A blank
 * line is two line ends in a row: LF LF, CRLF CRLF, CR CR, and their mixes (WHATWG 9.2.5). */
static size_t event_end(const char *b, size_t len)
{
    bool line_start = false; /* a line end was just seen */
    bool any = false;        /* the event has a byte other than a line end */
    for (size_t i = 0; i < len; i++) {
        char c = b[i];
        if (c != '\r' && c != '\n') {
            line_start = false;
            any = true;
            continue;
        }
        if (c == '\r' && i + 1 < len && b[i + 1] == '\n')
            i++;
        else if (c == '\r' && i + 1 == len)
            return 0; /* an LF may still follow */
        if (line_start && any)
            return i + 1;
        line_start = true;
    }
    return 0;
}

int fl_live_relayed_feed(fl_live_relayed_t *r, const char *data, size_t len)
{
    if (fl_buf_append(&r->pending, data, len))
        return FL_ENOMEM;
    size_t at = 0, n;
    while ((n = event_end(r->pending.data + at, r->pending.len - at)) > 0) {
        fl_buf_t t;
        fl_buf_init(&t);
        fl_event_kind_t k = fl_live_classify(r->pending.data + at, n, &t);
        if (k == FL_EVENT_SENTINEL)
            r->end_marker = true;
        if (t.len && r->text.len + t.len <= FL_LIVE_TEXT_MAX)
            fl_buf_append(&r->text, t.data, t.len);
        else if (t.len)
            r->truncated = true;
        fl_buf_close(&t);
        at += n;
    }
    if (at) {
        memmove(r->pending.data, r->pending.data + at, r->pending.len - at);
        fl_buf_truncate(&r->pending, r->pending.len - at);
    }
    return 0;
}

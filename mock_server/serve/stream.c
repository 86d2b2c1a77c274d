/* The response executor; see stream.h. */
#include "serve/stream.h"

#include "base/container_of.h"
#include "base/error.h"

#include <string.h>

static fl_stream_t *stream_of(uv_timer_t *t)
{
    return container_of(t, fl_stream_t, timer);
}

int fl_stream_init(uv_loop_t *loop, fl_stream_t *s)
{
    memset(s, 0, sizeof(*s));
    fl_wire_init(&s->plan);
    fl_buf_init(&s->batch);
    return uv_timer_init(loop, &s->timer);
}

static void stop(fl_stream_t *s)
{
    uv_timer_stop(&s->timer);
    fl_wire_close(&s->plan);
    s->active = false;
    s->paused = false;
    s->silent = false;
    s->quiet_until_ms = 0;
    s->next = 0;
    s->run_len = 0;
    s->batch.len = 0;
}

uint64_t fl_stream_elapsed(const fl_stream_t *s)
{
    if (!s->active)
        return 0;
    return uv_now(s->timer.loop) - s->t0_ms;
}

bool fl_stream_quiet(const fl_stream_t *s)
{
    return s->active && (s->silent || fl_stream_elapsed(s) < s->quiet_until_ms);
}

static void end(fl_stream_t *s, fl_end_t how, fl_stream_action_t action)
{
    fl_stream_sink_t sink = s->sink;
    stop(s);
    sink.done(sink.ctx, how, action);
}

/* Hands the batch to the sink. Returns 0 or the sink's error. */
static int flush(fl_stream_t *s)
{
    int rc = 0;
    if (s->batch.len)
        rc = s->sink.write(s->sink.ctx, s->batch.data, s->batch.len);
    else if (s->run_len)
        rc = s->sink.write_plan(s->sink.ctx, &s->plan, s->run_off, s->run_len);
    s->batch.len = 0;
    s->run_len = 0;
    return rc;
}

/* Appends plan bytes [off, off+len), patches applied, to the batch. */
static int batch_copy(fl_stream_t *s, size_t off, size_t len)
{
    if (fl_buf_reserve(&s->batch, len))
        return UV_ENOMEM;
    fl_wire_read(&s->plan, off, len, s->batch.data + s->batch.len);
    s->batch.len += len;
    s->batch.data[s->batch.len] = '\0';
    return 0;
}

/* Adds an op's bytes to the batch. Ops that follow each other in the plan's bytes (the usual
 * case) only extend a run, copied once into the write request; only a gap costs a copy more. */
static int batch_add(fl_stream_t *s, size_t off, size_t len)
{
    if (s->batch.len == 0 && (s->run_len == 0 || s->run_off + s->run_len == off)) {
        if (s->run_len == 0)
            s->run_off = off;
        s->run_len += len;
        return 0;
    }
    if (s->run_len) {
        if (batch_copy(s, s->run_off, s->run_len))
            return UV_ENOMEM;
        s->run_len = 0;
    }
    return batch_copy(s, off, len);
}

static void on_ping(uv_timer_t *t)
{
    fl_stream_t *s = stream_of(t);
    const fl_wire_op_t *op = &s->plan.ops[s->next];
    if (s->sink.write_plan(s->sink.ctx, &s->plan, op->off, op->len)) {
        end(s, FL_END_CLIENT_CLOSED, FL_STREAM_RST);
        return;
    }
    s->sink.progress(s->sink.ctx, &s->plan, s->next, fl_stream_elapsed(s));
}

/* Carries out op s->next, due now. Returns false when the plan is over or went silent. */
static bool run_op(fl_stream_t *s, uint64_t elapsed)
{
    const fl_wire_op_t *op = &s->plan.ops[s->next];
    int rc = 0;
    switch (op->kind) {
    case FL_WIRE_WRITE:
        if (op->own_write) {
            rc = flush(s);
            if (!rc)
                rc = s->sink.write_plan(s->sink.ctx, &s->plan, op->off, op->len);
        } else {
            rc = batch_add(s, op->off, op->len);
        }
        break;
    case FL_WIRE_FIRE:
        if (op->silent_ms)
            s->quiet_until_ms =
                op->silent_ms == FL_WIRE_FOREVER ? UINT64_MAX : elapsed + op->silent_ms;
        break;
    case FL_WIRE_DONE:
    case FL_WIRE_FIN:
    case FL_WIRE_RST:
    case FL_WIRE_HANG:
    case FL_WIRE_PING:
        rc = flush(s);
        break;
    }
    if (rc) {
        /* The socket refused the bytes: the client is gone (or memory ran out). */
        end(s, rc == UV_ENOMEM ? FL_END_SERVER_FAULT : FL_END_CLIENT_CLOSED, FL_STREAM_RST);
        return false;
    }
    switch (op->kind) {
    case FL_WIRE_WRITE:
    case FL_WIRE_FIRE:
        s->sink.progress(s->sink.ctx, &s->plan, s->next, elapsed);
        break;
    case FL_WIRE_DONE:
        end(s, FL_END_COMPLETE, s->close_after ? FL_STREAM_FIN : FL_STREAM_NEXT);
        return false;
    case FL_WIRE_FIN:
        end(s, FL_END_CLOSED, FL_STREAM_FIN);
        return false;
    case FL_WIRE_RST:
        end(s, FL_END_RESET, FL_STREAM_RST);
        return false;
    case FL_WIRE_HANG:
        s->silent = true;
        return false;
    case FL_WIRE_PING:
        s->silent = true;
        uv_timer_start(&s->timer, on_ping, 0, op->every_ms ? op->every_ms : 1);
        return false;
    }
    s->next++;
    return s->active;
}

static void arm(fl_stream_t *s);

static void on_timer(uv_timer_t *t)
{
    fl_stream_t *s = stream_of(t);
    uint64_t elapsed = fl_stream_elapsed(s);
    while (s->next < s->plan.n_ops && s->plan.ops[s->next].at_ms <= elapsed)
        if (!run_op(s, elapsed))
            return;
    if (flush(s)) {
        end(s, FL_END_CLIENT_CLOSED, FL_STREAM_RST);
        return;
    }
    /* progress() may have paused us (backpressure) or ended the connection. */
    if (!s->active)
        return;
    if (s->next == s->plan.n_ops) {
        /* A plan always ends in DONE, FIN, RST, HANG or PING; one that does not is complete. */
        end(s, FL_END_COMPLETE, s->close_after ? FL_STREAM_FIN : FL_STREAM_NEXT);
        return;
    }
    arm(s);
}

static void arm(fl_stream_t *s)
{
    if (!s->active || s->paused || s->silent)
        return;
    uint64_t elapsed = fl_stream_elapsed(s);
    uint64_t due = s->plan.ops[s->next].at_ms;
    uv_timer_start(&s->timer, on_timer, due > elapsed ? due - elapsed : 0, 0);
}

void fl_stream_begin(fl_stream_t *s, fl_wire_t *plan, bool close_after,
                     const fl_stream_sink_t *sink)
{
    stop(s);
    s->plan = *plan;
    fl_wire_init(plan);
    s->close_after = close_after;
    s->sink = *sink;
    /* The loop's cached time may be stale after a long callback; timing starts now. */
    uv_update_time(s->timer.loop);
    s->t0_ms = uv_now(s->timer.loop);
    s->active = true;
    /* Not run here: DONE would call back into the connection while it is still handing the
     * reply over. Ops due at 0 go out on the next loop turn. */
    uv_timer_start(&s->timer, on_timer, 0, 0);
}

void fl_stream_pause(fl_stream_t *s)
{
    if (!s->active || s->paused || s->silent)
        return;
    s->paused = true;
    uv_timer_stop(&s->timer);
}

void fl_stream_resume(fl_stream_t *s)
{
    if (!s->active || !s->paused)
        return;
    s->paused = false;
    arm(s);
}

void fl_stream_close(fl_stream_t *s, uv_close_cb cb)
{
    stop(s);
    fl_buf_close(&s->batch);
    uv_close((uv_handle_t *)&s->timer, cb);
}

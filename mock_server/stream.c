/* The response streamer; see stream.h. */
#include "stream.h"

#include "buf.h"
#include "container_of.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

static fl_stream_t *stream_of(uv_timer_t *t)
{
    return container_of(t, fl_stream_t, timer);
}

int fl_stream_init(uv_loop_t *loop, fl_stream_t *s)
{
    memset(s, 0, sizeof(*s));
    fl_script_init(&s->script);
    return uv_timer_init(loop, &s->timer);
}

static void stop(fl_stream_t *s)
{
    uv_timer_stop(&s->timer);
    fl_script_close(&s->script);
    s->active = false;
    s->paused = false;
    s->next = 0;
}

void fl_stream_abort(fl_stream_t *s)
{
    stop(s);
}

void fl_stream_end(fl_stream_t *s, fl_end_t end, fl_stream_action_t action)
{
    if (!s->active)
        return;
    fl_stream_sink_t sink = s->sink;
    stop(s);
    sink.done(sink.ctx, end, action);
}

void fl_stream_finish(fl_stream_t *s)
{
    if (!s->active)
        return;
    if (s->framing == FL_FRAMING_CHUNKED) {
        static const char terminator[] = "0\r\n\r\n";
        if (s->sink.write(s->sink.ctx, terminator, sizeof(terminator) - 1)) {
            fl_stream_end(s, FL_END_CLIENT_CLOSED, FL_STREAM_RST);
            return;
        }
        fl_stream_end(s, FL_END_COMPLETE, FL_STREAM_NEXT);
    } else {
        fl_stream_end(s, FL_END_COMPLETE, FL_STREAM_FIN);
    }
}

/* Frames [bytes, len) into out as one chunk (or as is, for close framing). */
static int frame(const fl_stream_t *s, fl_buf_t *out, const void *bytes, size_t len)
{
    if (s->framing == FL_FRAMING_CHUNKED) {
        if (fl_buf_printf(out, "%zx\r\n", len) || fl_buf_append(out, bytes, len) ||
            fl_buf_append(out, "\r\n", 2))
            return UV_ENOMEM;
        return 0;
    }
    return fl_buf_append(out, bytes, len) ? UV_ENOMEM : 0;
}

int fl_stream_write_body(fl_stream_t *s, const void *bytes, size_t len)
{
    if (len == 0)
        return 0; /* a zero-length chunk would be the terminator */
    fl_buf_t out;
    fl_buf_init(&out);
    int rc = frame(s, &out, bytes, len);
    if (rc == 0)
        rc = s->sink.write(s->sink.ctx, out.data, out.len);
    fl_buf_close(&out);
    return rc;
}

static void arm(fl_stream_t *s);

static void on_timer(uv_timer_t *t)
{
    fl_stream_t *s = stream_of(t);
    uint64_t elapsed = uv_now(t->loop) - s->t0_ms;
    fl_buf_t out;
    fl_buf_init(&out);
    size_t first = s->next;
    uint64_t body = 0;
    int rc = 0;
    while (s->next < s->script.n_events && s->script.events[s->next].at_ms <= elapsed) {
        const fl_script_event_t *ev = &s->script.events[s->next];
        rc = frame(s, &out, s->script.bytes.data + ev->off, ev->len);
        if (rc)
            break;
        body += ev->len;
        s->next++;
    }
    if (rc == 0 && out.len)
        rc = s->sink.write(s->sink.ctx, out.data, out.len);
    fl_buf_close(&out);
    if (rc) {
        /* The socket refused the bytes: the client is gone (or memory ran out). */
        fl_stream_end(s, rc == UV_ENOMEM ? FL_END_SERVER_FAULT : FL_END_CLIENT_CLOSED,
                      FL_STREAM_RST);
        return;
    }
    if (s->next > first)
        s->sink.sent(s->sink.ctx, body, s->next - first);
    /* sent() may have paused us (backpressure) or ended the connection. */
    if (!s->active)
        return;
    if (s->next == s->script.n_events) {
        fl_stream_finish(s);
        return;
    }
    arm(s);
}

static void arm(fl_stream_t *s)
{
    if (!s->active || s->paused)
        return;
    uint64_t now = uv_now(s->timer.loop);
    uint64_t elapsed = now - s->t0_ms;
    uint64_t due = s->next < s->script.n_events ? s->script.events[s->next].at_ms : 0;
    uv_timer_start(&s->timer, on_timer, due > elapsed ? due - elapsed : 0, 0);
}

int fl_stream_begin(fl_stream_t *s, fl_script_t *script, fl_framing_t framing,
                    const fl_stream_sink_t *sink)
{
    stop(s);
    s->script = *script;
    fl_script_init(script);
    s->framing = framing;
    s->sink = *sink;
    s->t0_ms = uv_now(s->timer.loop);
    s->active = true;
    arm(s);
    return 0;
}

void fl_stream_pause(fl_stream_t *s)
{
    if (!s->active || s->paused)
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
    uv_close((uv_handle_t *)&s->timer, cb);
}

/*
 * The stream executor (stream.h) through a recording fake sink: hand-made wire plans go in, and
 * every write comes out with its bytes and the time it was made (ms after fl_stream_begin, on
 * the monotonic clock), with the FIRE/PING progress reports and how the response ended. The
 * executor's only handle is its timer, so a real uv loop drives it; nothing touches a socket.
 */
#include "base/error.h"
#include "serve/stream.h"

#include <criterion/criterion.h>
#include <string.h>
#include <uv.h>

#define MAX_WRITES 64

typedef struct rec_write_s {
    char bytes[64];
    size_t len;
    double t_ms;
} rec_write_t;

/* What the fake sink saw, and what it does to the stream on the way. */
static struct {
    uv_loop_t loop;
    fl_stream_t s;
    uint64_t t0_ns;
    rec_write_t w[MAX_WRITES];
    size_t n_writes;
    size_t progress[MAX_WRITES]; /* op index of each progress report */
    size_t n_progress;
    bool done;
    fl_end_t end;
    fl_stream_action_t action;
    double done_ms;
    int fail_write;        /* the next write returns this (0: accept) */
    size_t pause_at_write; /* pause the stream after this many writes (0: never) */
} fx;

static double now_ms(void)
{
    return (double)(uv_hrtime() - fx.t0_ns) / 1e6;
}

static int record(const char *bytes, size_t len)
{
    if (fx.fail_write)
        return fx.fail_write;
    cr_assert_lt(fx.n_writes, MAX_WRITES);
    rec_write_t *w = &fx.w[fx.n_writes++];
    cr_assert_lt(len, sizeof(w->bytes));
    memcpy(w->bytes, bytes, len);
    w->bytes[len] = '\0';
    w->len = len;
    w->t_ms = now_ms();
    if (fx.pause_at_write && fx.n_writes == fx.pause_at_write)
        fl_stream_pause(&fx.s); /* as conn.c does above the high-water mark */
    return 0;
}

static int sink_write(void *ctx, const void *bytes, size_t len)
{
    cr_assert_eq(ctx, &fx);
    return record(bytes, len);
}

static int sink_write_plan(void *ctx, const fl_wire_t *plan, size_t off, size_t len)
{
    cr_assert_eq(ctx, &fx);
    char buf[64];
    cr_assert_lt(len, sizeof(buf));
    fl_wire_read(plan, off, len, buf);
    return record(buf, len);
}

static void sink_progress(void *ctx, const fl_wire_t *plan, size_t index, uint64_t elapsed_ms)
{
    (void)ctx;
    (void)elapsed_ms;
    cr_assert_lt(index, plan->n_ops);
    cr_assert_lt(fx.n_progress, MAX_WRITES);
    fx.progress[fx.n_progress++] = index;
}

static void sink_done(void *ctx, fl_end_t end, fl_stream_action_t action)
{
    (void)ctx;
    cr_assert_not(fx.done, "the response ended twice");
    cr_assert_not(fx.s.active, "the stream is idle again when done runs");
    fx.done = true;
    fx.end = end;
    fx.action = action;
    fx.done_ms = now_ms();
    uv_stop(&fx.loop);
}

static void setup(void)
{
    memset(&fx, 0, sizeof(fx));
    cr_assert_eq(uv_loop_init(&fx.loop), 0);
    cr_assert_eq(fl_stream_init(&fx.loop, &fx.s), 0);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void teardown(void)
{
    fl_stream_close(&fx.s, on_closed);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&fx.loop), 0, "a handle was left open");
}

TestSuite(stream, .init = setup, .fini = teardown, .timeout = 10);

/* --- building plans --- */

/* One op of a hand-made plan; fields left out are 0. */
typedef struct step_s {
    fl_wire_op_kind_t kind;
    uint64_t at_ms;
    const char *bytes; /* WRITE and PING */
    bool own_write;
    uint64_t every_ms;  /* PING */
    uint64_t silent_ms; /* FIRE */
} step_t;

/* Steps by kind; END is DONE, FIN, RST or HANG. */
#define W(ms, b)           ((step_t){FL_WIRE_WRITE, ms, b, false, 0, 0})
#define WO(ms, b)          ((step_t){FL_WIRE_WRITE, ms, b, true, 0, 0}) /* own_write */
#define F(ms, s)           ((step_t){FL_WIRE_FIRE, ms, NULL, false, 0, s})
#define END(k, ms)         ((step_t){k, ms, NULL, false, 0, 0})
#define PING(ms, every, b) ((step_t){FL_WIRE_PING, ms, b, false, every, 0})

/* A plan of n steps, in w (initialised here). */
static void build(fl_wire_t *w, const step_t *steps, size_t n)
{
    fl_wire_init(w);
    for (size_t i = 0; i < n; i++) {
        const step_t *k = &steps[i];
        fl_wire_op_t o = {.kind = k->kind,
                          .at_ms = k->at_ms,
                          .own_write = k->own_write,
                          .every_ms = k->every_ms,
                          .silent_ms = k->silent_ms,
                          .fault = FL_WIRE_NO_FAULT,
                          .event = 0};
        cr_assert_eq(fl_wire_push(w, &o, k->bytes, k->bytes ? strlen(k->bytes) : 0), 0);
    }
}

#define BUILD(w, ...)                                                                              \
    build(w, (const step_t[]){__VA_ARGS__}, sizeof((const step_t[]){__VA_ARGS__}) / sizeof(step_t))

/* --- running them --- */

static void on_bound(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Starts plan (moved into the stream) and runs the loop until the response ends (sink_done
 * stops it) or bound_ms pass. Extra timers the caller started on fx.loop run alongside. */
static void run(fl_wire_t *plan, bool close_after, uint64_t bound_ms)
{
    fl_stream_sink_t sink = {&fx, sink_write, sink_write_plan, sink_progress, sink_done};
    uv_timer_t bound;
    cr_assert_eq(uv_timer_init(&fx.loop, &bound), 0);
    uv_timer_start(&bound, on_bound, bound_ms, 0);
    fx.t0_ns = uv_hrtime();
    fl_stream_begin(&fx.s, plan, close_after, &sink);
    cr_assert_eq(plan->n_ops, 0, "the plan moved into the stream");
    cr_assert_eq(fx.n_writes, 0, "nothing is written from inside fl_stream_begin");
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&bound, NULL);
    uv_run(&fx.loop, UV_RUN_NOWAIT);
}

/* libuv's timers count whole ms of a cached clock: one may fire up to 1 ms before the same
 * delay on the monotonic clock has passed. */
#define CLOCK_SLACK 1.0

/* Write i holds exactly `bytes` and went out between lo and hi ms after the start. */
static void assert_write(size_t i, const char *bytes, double lo, double hi)
{
    cr_assert_lt(i, fx.n_writes, "write %zu never happened (%zu writes)", i, fx.n_writes);
    cr_assert_str_eq(fx.w[i].bytes, bytes, "write %zu", i);
    cr_assert(fx.w[i].t_ms >= lo - CLOCK_SLACK && fx.w[i].t_ms < hi,
              "write %zu ('%s') at %.1f ms, not in [%g, %g)", i, bytes, fx.w[i].t_ms, lo, hi);
}

/* Loose upper bounds: the machine is shared, a timer may fire late, never early. */
#define LATE 100.0

Test(stream, ops_due_together_go_out_in_one_write)
{
    fl_wire_t w;
    BUILD(&w, W(0, "HEAD|"), W(0, "a|"), F(0, 0), W(0, "b|"), W(40, "c|"), W(40, "d"),
          END(FL_WIRE_DONE, 40));
    run(&w, false, 2000);
    cr_assert_eq(fx.n_writes, 2, "two batches, got %zu writes", fx.n_writes);
    assert_write(0, "HEAD|a|b|", 0, LATE);
    assert_write(1, "c|d", 40, 40 + LATE);
    cr_assert(fx.done);
    cr_assert_eq(fx.end, FL_END_COMPLETE);
    cr_assert_eq(fx.action, FL_STREAM_NEXT, "keep-alive: go on with the next request");
    /* every WRITE and the FIRE were reported, in order */
    cr_assert_eq(fx.n_progress, 6);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(fx.progress[i], i);
}

Test(stream, ops_out_of_byte_order_are_batched_by_copy)
{
    /* A duplicate sends bytes the plan already holds: the batch is no longer one run of the
     * plan's bytes, and goes out copied, still as one write. */
    fl_wire_t w;
    BUILD(&w, W(0, "xy"), W(0, "z"), W(0, "-"), END(FL_WIRE_DONE, 0));
    w.ops[2].off = 0; /* "xy" again */
    w.ops[2].len = 2;
    run(&w, false, 2000);
    cr_assert_eq(fx.n_writes, 1);
    assert_write(0, "xyzxy", 0, LATE);
}

Test(stream, own_write_ops_are_never_merged)
{
    /* fragment pieces: each its own write, even when due with others */
    fl_wire_t w;
    BUILD(&w, W(0, "ab"), WO(0, "c"), WO(0, "d"), W(0, "e"), WO(30, "f"), WO(60, "g"),
          END(FL_WIRE_DONE, 60));
    run(&w, false, 2000);
    static const struct {
        const char *bytes;
        double at;
    } want[] = {{"ab", 0}, {"c", 0}, {"d", 0}, {"e", 0}, {"f", 30}, {"g", 60}};
    cr_assert_eq(fx.n_writes, 6, "got %zu writes", fx.n_writes);
    for (size_t i = 0; i < 6; i++)
        assert_write(i, want[i].bytes, want[i].at, want[i].at + LATE);
    cr_assert_eq(fx.end, FL_END_COMPLETE);
}

/* How each end op finishes the response. */
static const struct end_case {
    fl_wire_op_kind_t kind;
    bool close_after;
    fl_end_t end;
    fl_stream_action_t action;
} END_CASES[] = {
    {FL_WIRE_DONE, false, FL_END_COMPLETE, FL_STREAM_NEXT},
    {FL_WIRE_DONE, true, FL_END_COMPLETE, FL_STREAM_FIN}, /* close-delimited body */
    {FL_WIRE_FIN, false, FL_END_CLOSED, FL_STREAM_FIN},
    {FL_WIRE_RST, false, FL_END_RESET, FL_STREAM_RST},
};

Test(stream, done_fin_and_rst_end_the_response_after_the_bytes_before_them)
{
    for (size_t i = 0; i < sizeof(END_CASES) / sizeof(END_CASES[0]); i++) {
        const struct end_case *k = &END_CASES[i];
        fx.n_writes = fx.n_progress = 0;
        fx.done = false;
        fl_wire_t w;
        BUILD(&w, W(0, "head"), W(30, "body"), END(k->kind, 30), W(30, "never"));
        run(&w, k->close_after, 2000);
        cr_assert(fx.done, "case %zu never ended", i);
        cr_assert_eq(fx.end, k->end, "case %zu", i);
        cr_assert_eq(fx.action, k->action, "case %zu", i);
        cr_assert_eq(fx.n_writes, 2, "case %zu: %zu writes", i, fx.n_writes);
        assert_write(1, "body", 30, 30 + LATE);
        cr_assert_geq(fx.done_ms, fx.w[1].t_ms, "case %zu: ended before its last bytes", i);
        cr_assert_not(fl_stream_quiet(&fx.s));
    }
}

Test(stream, hang_keeps_the_response_open_and_quiet)
{
    fl_wire_t w;
    BUILD(&w, W(0, "head"), W(20, "e1"), F(20, FL_WIRE_FOREVER), END(FL_WIRE_HANG, 20));
    run(&w, false, 200);
    cr_assert_not(fx.done, "HANG never ends the response");
    cr_assert(fx.s.active);
    cr_assert_eq(fx.n_writes, 2);
    assert_write(1, "e1", 20, 20 + LATE);
    cr_assert(fl_stream_quiet(&fx.s), "a client leaving now caught a stall");
}

Test(stream, ping_repeats_during_a_stall_forever)
{
    fl_wire_t w;
    BUILD(&w, W(0, "head"), F(10, FL_WIRE_FOREVER), PING(40, 40, ": ping\n\n"));
    run(&w, false, 300);
    cr_assert_not(fx.done);
    cr_assert(fl_stream_quiet(&fx.s));
    /* pings at 40, 80, 120, ... until the bound at 300 ms: at least 4 whatever the load, and
     * never more often than every 40 ms */
    cr_assert_geq(fx.n_writes, 1 + 4, "only %zu writes", fx.n_writes);
    cr_assert_leq(fx.n_writes, 1 + 7, "%zu writes: pings came too often", fx.n_writes);
    for (size_t i = 1; i < fx.n_writes; i++) {
        cr_assert_str_eq(fx.w[i].bytes, ": ping\n\n");
        cr_assert_geq(fx.w[i].t_ms, 40.0 * (double)i - CLOCK_SLACK, "ping %zu came early", i);
    }
    /* each ping is reported as the PING op (index 2), after the head and the FIRE */
    cr_assert_eq(fx.n_progress, 2 + (fx.n_writes - 1));
    for (size_t i = 2; i < fx.n_progress; i++)
        cr_assert_eq(fx.progress[i], 2);
}

/* Samples fl_stream_quiet at chosen times. */
static struct {
    uv_timer_t t;
    double at[3];
    bool quiet[3];
    size_t n;
} probe;

static void on_probe(uv_timer_t *t)
{
    probe.at[probe.n] = now_ms();
    probe.quiet[probe.n++] = fl_stream_quiet(&fx.s);
    if (probe.n == 1)
        uv_timer_start(t, on_probe, 100, 0); /* once more, after the stall */
}

Test(stream, a_timed_stall_is_quiet_for_its_silent_ms_only)
{
    /* the stall fires at 20 and holds e1 back until 100 */
    fl_wire_t w;
    BUILD(&w, W(0, "head"), F(20, 80), W(100, "e1"), W(200, "e2"), END(FL_WIRE_DONE, 200));
    memset(&probe, 0, sizeof(probe));
    cr_assert_eq(uv_timer_init(&fx.loop, &probe.t), 0);
    uv_update_time(&fx.loop);
    uv_timer_start(&probe.t, on_probe, 50, 0);
    run(&w, false, 2000);
    uv_close((uv_handle_t *)&probe.t, NULL);
    cr_assert(fx.done);
    cr_assert_eq(probe.n, 2);
    /* at ~50 ms the stall (20 + 80) is on; at ~150 it is over and e2 not yet due */
    if (probe.at[0] < 95)
        cr_assert(probe.quiet[0], "quiet at %.1f ms, inside the stall", probe.at[0]);
    if (probe.at[1] < 195)
        cr_assert_not(probe.quiet[1], "still quiet at %.1f ms, after the stall", probe.at[1]);
    assert_write(1, "e1", 100, 100 + LATE);
    cr_assert_not(fl_stream_quiet(&fx.s), "idle is never quiet");
}

/* Resumes the stream some time after the sink paused it. */
static uv_timer_t resume_timer;
static double resumed_ms;

static void on_resume(uv_timer_t *t)
{
    (void)t;
    resumed_ms = now_ms();
    fl_stream_resume(&fx.s);
}

Test(stream, paused_by_backpressure_it_produces_nothing_until_resumed)
{
    fl_wire_t w;
    BUILD(&w, W(0, "head"), W(10, "e1"), W(20, "e2"), W(30, "e3"), END(FL_WIRE_DONE, 30));
    fx.pause_at_write = 1; /* the head filled the queue past the high-water mark */
    cr_assert_eq(uv_timer_init(&fx.loop, &resume_timer), 0);
    uv_update_time(&fx.loop);
    uv_timer_start(&resume_timer, on_resume, 150, 0);
    run(&w, false, 2000);
    uv_close((uv_handle_t *)&resume_timer, NULL);
    cr_assert(fx.done);
    cr_assert_eq(fx.end, FL_END_COMPLETE);
    /* e1..e3 fell due while paused: nothing before the resume, then all at once, one write */
    cr_assert_eq(fx.n_writes, 2, "got %zu writes", fx.n_writes);
    assert_write(0, "head", 0, LATE);
    assert_write(1, "e1e2e3", resumed_ms, resumed_ms + LATE);
    cr_assert_gt(resumed_ms, 100, "resumed at %.1f ms", resumed_ms);
}

Test(stream, a_refused_write_ends_the_response)
{
    static const struct {
        int rc;
        fl_end_t end;
    } cases[] = {{UV_EPIPE, FL_END_CLIENT_CLOSED}, {UV_ENOMEM, FL_END_SERVER_FAULT}};
    for (size_t i = 0; i < 2; i++) {
        fx.n_writes = 0;
        fx.done = false;
        fx.fail_write = cases[i].rc;
        fl_wire_t w;
        BUILD(&w, W(0, "head"), WO(0, "own"), W(20, "later"), END(FL_WIRE_DONE, 20));
        run(&w, false, 2000);
        cr_assert(fx.done, "case %zu", i);
        cr_assert_eq(fx.end, cases[i].end, "case %zu", i);
        cr_assert_eq(fx.action, FL_STREAM_RST, "case %zu", i);
        cr_assert_lt(fx.done_ms, 20.0, "case %zu: it went on after the error", i);
    }
}

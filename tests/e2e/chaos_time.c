/*
 * Faults in time on the wire: stall (with and without keep-alive pings, forever, and a client
 * that gives up during one), throttle, fragment, delay_headers and idle_timeout. Timing is
 * asserted from the recording client's read times with generous bounds; bodies are compared
 * with a clean attempt (ids and `created` normalised).
 */
#include "chaos_e2e.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(chaos_time, .init = ce_start, .fini = es_stop, .timeout = 30);

/* The silence is between event 2 and event 3 ("lo"); the clean attempt has none. */
static void stall_before_event_3(const ce_run_t *run)
{
    size_t after = 0;
    ce_max_gap(&run->x.r, &after);
    cr_assert_not_null(strstr(run->x.r.reads[after].bytes, "\"content\":\"lo\""),
                       "the read after the stall does not start with event 3");
    cr_assert_lt(ce_max_gap(&run->clean.r, NULL), 250);
}

/* Under 4000 bytes/s after the first read, and really slowed. */
static void under_the_rate(const ce_run_t *run)
{
    const fl_raw_result_t *r = &run->x.r;
    cr_assert_gt(r->n_reads, 10);
    double span = r->reads[r->n_reads - 1].t_ms - r->reads[0].t_ms;
    double after_first = (double)(r->len - r->reads[0].len);
    double rate = after_first * 1000.0 / span;
    cr_assert_leq(rate, 4000 * 1.25, "%.0f bytes/s over %.0f ms", rate, span);
    /* ~1800 bytes at 4000/s is over 400 ms */
    cr_assert_geq(r->end_ms, 0.8 * 1000.0 * (double)r->len / 4000.0);
}

/* ~240 one-byte writes 2 ms apart from event 6 on; TCP may merge some. */
static void many_small_reads(const ce_run_t *run)
{
    cr_assert_geq(run->x.r.n_reads, 40, "only %zu reads", run->x.r.n_reads);
    cr_assert_lt(run->clean.r.n_reads, 20);
}

/* The head is the first thing late; the clean attempt's is not. */
static void head_comes_late(const ce_run_t *run)
{
    cr_assert(strncmp(run->x.r.reads[0].bytes, "HTTP/1.1 200 ", 13) == 0);
    cr_assert_lt(run->clean.r.reads[0].t_ms, 200);
}

/* Every row: openai-chat, the faulty attempt has timeout ms. */
#define TIME_CASE(name, timeout, ...)                                                              \
    {                                                                                              \
        .scenario = name, .timeout_ms = timeout, __VA_ARGS__                                       \
    }
/* The whole clean body arrives (pings taken out), 200, terminated, at FIN. */
#define WHOLE                                                                                      \
    .clean_timeout_ms = 5000, .end = FL_RAW_EOF, .status = 200, .terminated = CE_YES,              \
    .events = "0-6", .j_end = "complete", .j_sent = 7
#define STALL_AT_3 .fault = "stall", .event = 3, .min_ms = 0, .max_ms = 250

static const ce_case_t cases[] = {
    /* 300 ms of silence before event 3 */
    TIME_CASE("chaos-stall", 5000, WHOLE, .max_gap_ms = {280, 1500}, STALL_AT_3,
              .check = stall_before_event_3),
    /* the same stall with a ping every 100 ms: two pings, no silence of 250 ms */
    TIME_CASE("chaos-stall-ping", 5000, WHOLE, .pings = 2, .max_gap_ms = {0, 250},
              .end_ms = {280, 0}, STALL_AT_3),
    /* stalled forever: the socket stays open until the client gives up at 600 ms */
    TIME_CASE("chaos-stall-forever", 600, .end = FL_RAW_TIMEOUT, .status = 200, .terminated = CE_NO,
              .n_events = 2, .j_end = "stalled", .closed_ms = {550, 2000}, .j_sent = 2, STALL_AT_3),
    /* the client closes 300 ms into a long stall */
    TIME_CASE("chaos-stall-long", 5000, .close_after_ms = 300, .end = FL_RAW_CLOSED, .status = 200,
              .terminated = CE_NO, .n_events = 2, .j_end = "stalled", .closed_ms = {250, 1500},
              STALL_AT_3),
    TIME_CASE("chaos-throttle", 8000, WHOLE, .fault = "throttle", .event = 0, .min_ms = 0,
              .max_ms = 100, .check = under_the_rate),
    TIME_CASE("chaos-fragment", 8000, WHOLE, .end_ms = {200, 0}, .fault = "fragment", .event = 6,
              .min_ms = 40, .max_ms = 500, .check = many_small_reads),
    /* headers 250 ms late */
    TIME_CASE("chaos-delay-headers", 5000, WHOLE, .first_ms = {230, 1500}, .fault = "delay_headers",
              .event = 0, .min_ms = 0, .max_ms = 300, .check = head_comes_late),
    /* A 400 ms stall after event 2 (at 20 ms) trips a 200 ms idle timeout: FIN at ~220 ms. */
    TIME_CASE("chaos-idle", 5000, .end = FL_RAW_EOF, .status = 200, .terminated = CE_NO,
              .n_events = 2, .end_ms = {190, 1000}, .j_end = "closed",
              .faults = "stall idle_timeout", .last_fault_ms = {200, 600}),
    /* pings keep the idle timeout from firing */
    TIME_CASE("chaos-idle-ping", 5000, WHOLE, .pings = 3, STALL_AT_3),
    /* Headers 400 ms late, idle timeout 150 ms: the proxy's 504 page at ~150 ms. */
    TIME_CASE("chaos-idle-before", 5000, .end = FL_RAW_EOF, .status = 504,
              .content_type = "text/html", .has = {"<h1>504 Gateway Timeout</h1>"},
              .first_ms = {130, 390}, .j_end = "complete", .j_status = 504,
              .faults = "delay_headers idle_timeout", .last_fault_ms = {150, 400}),
};

CE_TABLE(chaos_time, cases)

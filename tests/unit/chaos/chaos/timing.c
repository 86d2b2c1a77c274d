/* Time and cut faults: stall (plain, keep-alive, forever), reset/close stacked on stalls,
 * proxy_timeout and idle_timeout. */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "e2e_server.h" /* es_count */
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fl_script_t script;
static fl_wire_t w;

static void setup(void)
{
    fl_script_init(&script);
    cx_script(&script);
    fl_wire_init(&w);
}

static void teardown(void)
{
    fl_wire_close(&w);
    fl_script_close(&script);
}

TestSuite(timing, .init = setup, .fini = teardown, .timeout = 10);

static void compile(const fl_fault_t *f, size_t n, const char *ops)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_wire_close(&w);
    cx_compile(&in, f, n, &w);
    char *got = cx_ops(&w);
    cr_assert_str_eq(got, ops);
    free(got);
}

static fl_fault_t stall(uint64_t event, uint64_t ms, uint64_t keepalive, bool forever)
{
    fl_fault_t f = cx_fault(FL_FAULT_STALL);
    f.at.kind = FL_AT_EVENT;
    f.at.n = event;
    f.ms = ms;
    f.keepalive_ms = keepalive;
    f.forever = forever;
    return f;
}

static fl_fault_t cut(fl_fault_kind_t k, fl_at_kind_t at, uint64_t n)
{
    fl_fault_t f = cx_fault(k);
    f.at.kind = at;
    f.at.n = n;
    return f;
}

static void assert_clean_bytes(void)
{
    char *c0 = cx_chunk(CX_E0), *c1 = cx_chunk(CX_E1), *c2 = cx_chunk(CX_E2 CX_E3 CX_E4);
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "%s%s%s%s0\r\n\r\n", CX_HEAD, c0, c1, c2);
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, b.data);
    free(got);
    free(c0);
    free(c1);
    free(c2);
    fl_buf_close(&b);
}

Test(timing, stall_moves_the_rest)
{
    fl_fault_t f = stall(3, 500, 0, false);
    compile(&f, 1, "W@0 W@0 W@100 F@150#0 W@650#0 W@650 D@650");
    assert_clean_bytes();
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert_eq(fire->event, 2);
    cr_assert_eq(fire->body_off, script.events[2].off);
}

Test(timing, stall_at_ms)
{
    fl_fault_t f = cut(FL_FAULT_STALL, FL_AT_MS, 120);
    f.ms = 500;
    compile(&f, 1, "W@0 W@0 W@100 F@120#0 W@650#0 W@650 D@650");
    /* after the body's end: nothing to stall */
    f.at.n = 5000;
    compile(&f, 1, "W@0 W@0 W@100 W@150 W@150 D@150");
}

Test(timing, stall_with_keepalive_pings)
{
    fl_fault_t f = stall(3, 500, 200, false);
    compile(&f, 1, "W@0 W@0 W@100 F@150#0 W@350#0 W@550#0 W@650#0 W@650 D@650");
    char *c0 = cx_chunk(CX_E0), *c1 = cx_chunk(CX_E1), *c2 = cx_chunk(CX_E2 CX_E3 CX_E4),
         *p = cx_chunk(": ping\n\n");
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "%s%s%s%s%s%s0\r\n\r\n", CX_HEAD, c0, c1, p, p, c2);
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, b.data);
    free(got);
    free(c0);
    free(c1);
    free(c2);
    free(p);
    fl_buf_close(&b);
}

Test(timing, stall_forever_hangs_or_pings)
{
    fl_fault_t f = stall(3, 0, 0, true);
    compile(&f, 1, "W@0 W@0 W@100 F@150#0 H@150#0");
    cr_assert_eq(w.status, 200);
    f.keepalive_ms = 1000;
    compile(&f, 1, "W@0 W@0 W@100 F@150#0 P@1150#0");
    const fl_wire_op_t *ping = &w.ops[w.n_ops - 1];
    cr_assert_eq(ping->every_ms, 1000);
    char *expect = cx_chunk(": ping\n\n");
    cr_assert_eq(ping->len, strlen(expect));
    cr_assert(memcmp(w.bytes.data + ping->off, expect, ping->len) == 0);
    free(expect);
    /* before the headers: no status line, and no pings (they are body bytes) */
    f = cut(FL_FAULT_STALL, FL_AT_HEADERS, 0);
    f.forever = true;
    f.keepalive_ms = 100;
    compile(&f, 1, "F@0#0 H@0#0");
    cr_assert_eq(w.status, 0);
    cr_assert_eq(w.bytes.len, 0);
}

Test(timing, stall_then_reset)
{
    fl_fault_t f[2] = {stall(3, 500, 0, false), cut(FL_FAULT_RESET, FL_AT_EVENT, 4)};
    compile(f, 2, "W@0 W@0 W@100 F@150#0 W@650#0 F@650#1 R@650#1");
    char *got = cx_bytes(&w, NULL);
    char *tail = cx_chunk(CX_E2);
    cr_assert(strstr(got, tail));
    cr_assert_null(strstr(got, CX_E3));
    free(tail);
    free(got);
    cr_assert_eq(cx_fire(&w, 1)->event, 3);
}

Test(timing, reset_never_reached_after_stall_forever)
{
    fl_fault_t f[2] = {stall(3, 0, 0, true), cut(FL_FAULT_RESET, FL_AT_EVENT, 4)};
    compile(f, 2, "W@0 W@0 W@100 F@150#0 H@150#0");
    f[1] = cut(FL_FAULT_RESET, FL_AT_MS, 1000);
    compile(f, 2, "W@0 W@0 W@100 F@150#0 F@1000#1 R@1000#1");
    f[0].keepalive_ms = 300;
    f[1] = cut(FL_FAULT_CLOSE, FL_AT_MS, 1000);
    compile(f, 2, "W@0 W@0 W@100 F@150#0 W@450#0 W@750#0 F@1000#1 N@1000#1");
}

Test(timing, proxy_timeout_page_before_headers)
{
    fl_fault_t f[2] = {cx_fault(FL_FAULT_DELAY_HEADERS), cx_fault(FL_FAULT_PROXY_TIMEOUT)};
    f[0].ms = 2000;
    f[1].ms = 1000;
    f[1].status = 524;
    compile(f, 2, "F@0#0 F@1000#1 W@1000#1 D@1000#1");
    cr_assert_eq(w.status, 524);
    char *got = cx_bytes(&w, NULL);
    const char *start = "HTTP/1.1 524 A Timeout Occurred\r\ncontent-type: text/html\r\n"
                        "content-length: ";
    cr_assert(strncmp(got, start, strlen(start)) == 0);
    cr_assert(strstr(got, "x-request-id: req_1\r\n"));
    cr_assert(strstr(got, "<h1>524 A Timeout Occurred</h1>"));
    free(got);
    /* the default status is 504 */
    f[1].status = 0;
    compile(f, 2, "F@0#0 F@1000#1 W@1000#1 D@1000#1");
    cr_assert_eq(w.status, 504);
}

Test(timing, proxy_timeout_cuts_the_stream)
{
    fl_fault_t f = cx_fault(FL_FAULT_PROXY_TIMEOUT);
    f.ms = 120;
    f.cut = FL_CUT_RST;
    compile(&f, 1, "W@0 W@0 W@100 F@120#0 R@120#0");
    cr_assert_eq(cx_fire(&w, 0)->event, 2);
    f.cut = FL_CUT_FIN;
    compile(&f, 1, "W@0 W@0 W@100 F@120#0 N@120#0");
    /* the stream is complete before the proxy gives up: nothing happens */
    f.ms = 1000;
    compile(&f, 1, "W@0 W@0 W@100 W@150 W@150 D@150");
}

Test(timing, idle_timeout)
{
    fl_fault_t f = cx_fault(FL_FAULT_IDLE_TIMEOUT);
    f.ms = 80; /* the 100 ms gap before E1 trips it */
    compile(&f, 1, "W@0 W@0 F@80#0 N@80#0");
    f.ms = 100; /* a gap of exactly ms trips */
    f.cut = FL_CUT_RST;
    compile(&f, 1, "W@0 W@0 F@100#0 R@100#0");
    f.ms = 101;
    compile(&f, 1, "W@0 W@0 W@100 W@150 W@150 D@150");
}

Test(timing, idle_timeout_with_stalls)
{
    fl_fault_t f[2] = {stall(3, 500, 0, false), cx_fault(FL_FAULT_IDLE_TIMEOUT)};
    f[1].ms = 200;
    compile(f, 2, "W@0 W@0 W@100 F@150#0 F@300#1 N@300#1");
    /* pings every 100 ms keep the connection busy enough */
    f[0].keepalive_ms = 100;
    compile(f, 2, "W@0 W@0 W@100 F@150#0 W@250#0 W@350#0 W@450#0 W@550#0 W@650#0 W@650 D@650");
    /* a hang is an infinite gap */
    f[0] = stall(3, 0, 0, true);
    f[1].ms = 300;
    compile(f, 2, "W@0 W@0 W@100 F@150#0 F@400#1 N@400#1");
    /* pings more often than the timeout never trip it */
    f[0].keepalive_ms = 200;
    compile(f, 2, "W@0 W@0 W@100 F@150#0 P@350#0");
    /* pings too rare do */
    f[0].keepalive_ms = 350;
    compile(f, 2, "W@0 W@0 W@100 F@150#0 F@400#1 N@400#1");
}

Test(timing, idle_timeout_before_headers_is_a_504_page)
{
    fl_fault_t f[2] = {cx_fault(FL_FAULT_DELAY_HEADERS), cx_fault(FL_FAULT_IDLE_TIMEOUT)};
    f[0].ms = 1000;
    f[1].ms = 300;
    compile(f, 2, "F@0#0 F@300#1 W@300#1 D@300#1");
    cr_assert_eq(w.status, 504);
    char *got = cx_bytes(&w, NULL);
    cr_assert(strncmp(got, "HTTP/1.1 504 Gateway Timeout\r\n", 30) == 0);
    free(got);
}

Test(timing, reset_at_headers_after_delay)
{
    fl_fault_t f[2] = {cx_fault(FL_FAULT_DELAY_HEADERS), cut(FL_FAULT_RESET, FL_AT_HEADERS, 0)};
    f[0].ms = 250;
    compile(f, 2, "F@0#0 F@250#1 R@250#1");
    cr_assert_eq(w.status, 0);
    cr_assert_eq(w.bytes.len, 0);
}

Test(timing, second_cut_after_first_does_nothing)
{
    fl_fault_t f[2] = {cut(FL_FAULT_CLOSE, FL_AT_EVENT, 2), cut(FL_FAULT_RESET, FL_AT_EVENT, 4)};
    compile(f, 2, "W@0 W@0 F@100#0 N@100#0");
    /* an earlier time cut wins over a later position */
    f[0] = cut(FL_FAULT_RESET, FL_AT_EVENT, 4);
    f[1] = cut(FL_FAULT_CLOSE, FL_AT_MS, 50);
    compile(f, 2, "W@0 W@0 F@50#1 N@50#1");
}

Test(timing, fires_stay_in_time_order_across_stalls_and_cuts)
{
    fl_fault_t corrupt = cx_fault(FL_FAULT_CORRUPT);
    corrupt.at.kind = FL_AT_EVENT;
    corrupt.at.n = 3;
    corrupt.corrupt = FL_CORRUPT_JSON;
    /* the corruption at 150 never reaches the wire: its FIRE goes with it */
    fl_fault_t f[2] = {corrupt, cut(FL_FAULT_RESET, FL_AT_MS, 120)};
    compile(f, 2, "W@0 W@0 W@100 F@120#1 R@120#1");
    /* a stall from 120 holds back the corrupted event and its FIRE */
    f[1] = cut(FL_FAULT_STALL, FL_AT_MS, 120);
    f[1].ms = 500;
    compile(f, 2, "W@0 W@0 W@100 F@120#1 F@650#0 W@650#0 W@650 D@650");
}

Test(timing, keepalive_uses_the_dialects_ping)
{
    fl_fault_t f = stall(3, 300, 200, false);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_LENGTH);
    in.dialect = FL_DIALECT_ANTHROPIC_MESSAGES;
    fl_wire_close(&w);
    cx_compile(&in, &f, 1, &w);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, "W@0 W@0 W@100 F@150#0 W@350#0 W@450#0 D@450");
    free(ops);
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, CX_HEAD CX_E0 CX_E1
                     "event: ping\ndata: {\"type\": \"ping\"}\n\n" CX_E2 CX_E3 CX_E4);
    free(got);
}

Test(timing, too_many_pings_is_a_limit)
{
    fl_fault_t f = stall(3, 10000000, 1, false);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_wire_close(&w);
    fl_wire_init(&w);
    cr_assert_eq(fl_chaos_compile(&in, &f, 1, &w), FL_ELIMIT);
    cr_assert_eq(w.n_ops, 0);
}

/* A gateway's own ping (stall.keepalive) goes out as written instead of the dialect's. */
Test(timing, stall_with_a_gateways_own_ping)
{
    fl_fault_t f = stall(3, 500, 200, false);
    f.keepalive = ": OPENROUTER PROCESSING\n\n";
    f.keepalive_len = strlen(f.keepalive);
    compile(&f, 1, "W@0 W@0 W@100 F@150#0 W@350#0 W@550#0 W@650#0 W@650 D@650");
    char *got = cx_bytes(&w, NULL);
    char *p = cx_chunk(": OPENROUTER PROCESSING\n\n");
    cr_assert_eq(es_count(got, strlen(got), p), 2, "%s", got);
    cr_assert_null(strstr(got, ": ping"), "%s", got);
    free(got);
    free(p);
}

/* With keepalive_jitter_ms every interval is keepalive_ms +- the jitter, the intervals vary,
 * and the same fault compiles to the same plan every time. */
Test(timing, stall_keepalive_jitter_is_bounded_and_reproducible)
{
    fl_fault_t f = stall(3, 20000, 1000, false);
    f.keepalive_jitter_ms = 300;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_wire_close(&w);
    cx_compile(&in, &f, 1, &w);
    uint64_t prev = 150, lo = UINT64_MAX, hi = 0;
    size_t pings = 0;
    for (size_t i = 0; i < w.n_ops; i++) {
        const fl_wire_op_t *o = &w.ops[i];
        if (o->kind != FL_WIRE_WRITE || o->at_ms <= 150 || o->at_ms >= 150 + 20000)
            continue;
        uint64_t d = o->at_ms - prev;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        prev = o->at_ms;
        pings++;
    }
    cr_assert_geq(pings, 15, "%zu pings in 20 s", pings);
    cr_assert_leq(pings, 28, "%zu pings in 20 s", pings);
    cr_assert_geq(lo, 700);
    cr_assert_leq(hi, 1300);
    cr_assert_neq(lo, hi, "every interval is the same: no jitter");
    char *first = cx_ops(&w);
    fl_wire_close(&w);
    cx_compile(&in, &f, 1, &w);
    char *again = cx_ops(&w);
    cr_assert_str_eq(first, again);
    free(first);
    free(again);
}

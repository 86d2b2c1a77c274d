/*
 * Faults in time on the wire: stall (with and without keep-alive pings, forever, and a client
 * that gives up during one), throttle, fragment, delay_headers and idle_timeout. Timing is
 * asserted from the recording client's read times with generous bounds; bodies are compared
 * with a clean attempt (ids and `created` normalised).
 */
#include "e2e_server.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define CHAT "/v1/chat/completions"
#define PING ": ping\n\n"

static void setup(void)
{
    es_start(FL_TESTDATA_DIR "/chaos");
}

TestSuite(chaos_time, .init = setup, .fini = es_stop, .timeout = 30);

/* The largest gap between consecutive reads, ms; *after gets the index of the read after it. */
static double max_gap(const fl_raw_result_t *r, size_t *after)
{
    double g = 0;
    for (size_t i = 1; i < r->n_reads; i++)
        if (r->reads[i].t_ms - r->reads[i - 1].t_ms > g) {
            g = r->reads[i].t_ms - r->reads[i - 1].t_ms;
            if (after)
                *after = i;
        }
    return g;
}

/* The events of x with the keep-alive comments taken out; returns how many there were. */
static size_t strip_pings(const es_ex_t *x, char **out)
{
    es_events_t kept = {0};
    size_t pings = 0;
    for (size_t i = 0; i < x->ev.n; i++) {
        if (strcmp(x->ev.ev[i], PING) == 0) {
            pings++;
            continue;
        }
        kept.ev = realloc(kept.ev, (kept.n + 1) * sizeof(*kept.ev));
        kept.ev[kept.n++] = strdup(x->ev.ev[i]);
    }
    *out = es_join(&kept, 0, kept.n);
    es_events_free(&kept);
    return pings;
}

static void assert_whole(const es_ex_t *x, const es_ex_t *clean)
{
    cr_assert_eq(x->r.end, FL_RAW_EOF, "ended with %s", fl_raw_end_name(x->r.end));
    cr_assert_eq(x->d.status, 200);
    cr_assert_eq(x->d.dc_rc, 0, "bad chunk framing at %zu: %s", x->d.dc.bad_at, x->d.dc.why);
    cr_assert(x->d.dc.terminated);
    cr_assert_eq(clean->ev.n, 7);
    cr_assert_str_eq(x->norm, clean->norm);
}

static const json_t *fault_n(const json_t *e, size_t i)
{
    return json_array_get(json_object_get(e, "faults"), i);
}

Test(chaos_time, stall_300ms_before_event_3)
{
    es_ex_t x, clean;
    es_run("chaos-stall", CHAT, 5000, 0, &x);
    es_run("chaos-stall", CHAT, 5000, 0, &clean);
    assert_whole(&x, &clean);
    size_t after = 0;
    double g = max_gap(&x.r, &after);
    cr_assert(g >= 280 && g < 1500, "largest gap %.1f ms", g);
    /* the silence is between event 2 and event 3 ("lo") */
    cr_assert_not_null(strstr(x.r.reads[after].bytes, "\"content\":\"lo\""),
                       "the read after the stall does not start with event 3");
    cr_assert_lt(max_gap(&clean.r, NULL), 250);
    json_t *e = es_entry("chaos-stall", 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "stall", 3, 0, 250);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_time, stall_with_keepalive_pings)
{
    es_ex_t x, clean;
    es_run("chaos-stall-ping", CHAT, 5000, 0, &x);
    es_run("chaos-stall-ping", CHAT, 5000, 0, &clean);
    char *body;
    size_t pings = strip_pings(&x, &body);
    cr_assert_eq(pings, 2, "%zu pings in a 300 ms stall every 100 ms", pings);
    cr_assert_str_eq(body, clean.norm);
    free(body);
    cr_assert(x.d.dc.terminated);
    cr_assert_lt(max_gap(&x.r, NULL), 250, "the pings did not break the silence");
    cr_assert_geq(x.r.end_ms, 280);
    json_t *e = es_entry("chaos-stall-ping", 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "stall", 3, 0, 250);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_time, stall_forever_hangs_with_socket_open)
{
    es_ex_t x;
    es_run("chaos-stall-forever", CHAT, 600, 0, &x);
    cr_assert_eq(x.r.end, FL_RAW_TIMEOUT, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.d.status, 200);
    cr_assert_eq(x.ev.n, 2);
    cr_assert_not(x.d.dc.terminated);
    json_t *e = es_entry("chaos-stall-forever", 1, 3000);
    cr_assert_not_null(e, "the entry never left in_progress after the client closed");
    cr_assert_str_eq(es_str(e, "end"), "stalled");
    long long closed = es_int(e, "client_closed_ms", -1);
    cr_assert(closed >= 550 && closed < 2000, "client_closed_ms %lld", closed);
    es_assert_fault(e, "stall", 3, 0, 250);
    json_decref(e);
    es_ex_free(&x);
}

Test(chaos_time, client_closes_during_stall)
{
    es_ex_t x;
    es_run("chaos-stall-long", CHAT, 5000, 300, &x);
    cr_assert_eq(x.r.end, FL_RAW_CLOSED);
    cr_assert_eq(x.ev.n, 2);
    json_t *e = es_entry("chaos-stall-long", 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "stalled");
    long long closed = es_int(e, "client_closed_ms", -1);
    cr_assert(closed >= 250 && closed < 1500, "client_closed_ms %lld", closed);
    es_assert_fault(e, "stall", 3, 0, 250);
    json_decref(e);
    es_ex_free(&x);
}

Test(chaos_time, throttle_keeps_under_bytes_per_s)
{
    es_ex_t x, clean;
    es_run("chaos-throttle", CHAT, 8000, 0, &x);
    es_run("chaos-throttle", CHAT, 5000, 0, &clean);
    assert_whole(&x, &clean);
    cr_assert_gt(x.r.n_reads, 10);
    double span = x.r.reads[x.r.n_reads - 1].t_ms - x.r.reads[0].t_ms;
    double after_first = (double)(x.r.len - x.r.reads[0].len);
    double rate = after_first * 1000.0 / span;
    cr_assert_leq(rate, 4000 * 1.25, "%.0f bytes/s over %.0f ms", rate, span);
    /* and it really was slowed: ~1800 bytes at 4000/s is over 400 ms */
    cr_assert_geq(x.r.end_ms, 0.8 * 1000.0 * (double)x.r.len / 4000.0);
    json_t *e = es_entry("chaos-throttle", 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "throttle", 0, 0, 100);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_time, fragment_one_byte_writes)
{
    es_ex_t x, clean;
    es_run("chaos-fragment", CHAT, 8000, 0, &x);
    es_run("chaos-fragment", CHAT, 5000, 0, &clean);
    assert_whole(&x, &clean);
    /* ~240 one-byte writes 2 ms apart from event 6 on; TCP may merge some */
    cr_assert_geq(x.r.n_reads, 40, "only %zu reads", x.r.n_reads);
    cr_assert_geq(x.r.end_ms, 200);
    cr_assert_lt(clean.r.n_reads, 20);
    json_t *e = es_entry("chaos-fragment", 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "fragment", 6, 40, 500);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_time, delay_headers_250ms)
{
    es_ex_t x, clean;
    es_run("chaos-delay-headers", CHAT, 5000, 0, &x);
    es_run("chaos-delay-headers", CHAT, 5000, 0, &clean);
    assert_whole(&x, &clean);
    cr_assert_geq(x.r.reads[0].t_ms, 230, "first byte after %.1f ms", x.r.reads[0].t_ms);
    cr_assert_lt(x.r.reads[0].t_ms, 1500);
    cr_assert(strncmp(x.r.reads[0].bytes, "HTTP/1.1 200 ", 13) == 0);
    cr_assert_lt(clean.r.reads[0].t_ms, 200);
    json_t *e = es_entry("chaos-delay-headers", 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "delay_headers", 0, 0, 300);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

/* A 400 ms stall after event 2 (at 20 ms) trips a 200 ms idle timeout: FIN at ~220 ms. */
Test(chaos_time, idle_timeout_cuts_a_stall)
{
    es_ex_t x;
    es_run("chaos-idle", CHAT, 5000, 0, &x);
    cr_assert_eq(x.r.end, FL_RAW_EOF, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.ev.n, 2);
    cr_assert_not(x.d.dc.terminated);
    cr_assert(x.r.end_ms >= 190 && x.r.end_ms < 1000, "closed after %.1f ms", x.r.end_ms);
    json_t *e = es_entry("chaos-idle", 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "closed");
    cr_assert_eq(json_array_size(json_object_get(e, "faults")), 2);
    cr_assert_str_eq(es_str(fault_n(e, 0), "fault"), "stall");
    cr_assert_str_eq(es_str(fault_n(e, 1), "fault"), "idle_timeout");
    long long ms = es_int(fault_n(e, 1), "ms", -1);
    cr_assert(ms >= 200 && ms < 600, "idle_timeout fired at %lld ms", ms);
    json_decref(e);
    es_ex_free(&x);
}

Test(chaos_time, idle_timeout_kept_open_by_pings)
{
    es_ex_t x, clean;
    es_run("chaos-idle-ping", CHAT, 5000, 0, &x);
    es_run("chaos-idle-ping", CHAT, 5000, 0, &clean);
    char *body;
    cr_assert_eq(strip_pings(&x, &body), 3);
    cr_assert_str_eq(body, clean.norm);
    free(body);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.r.end, FL_RAW_EOF);
    json_t *e = es_entry("chaos-idle-ping", 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "stall", 3, 0, 250); /* idle_timeout never fired */
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

/* Headers 400 ms late, idle timeout 150 ms: the proxy's 504 page at ~150 ms. */
Test(chaos_time, idle_timeout_before_headers_is_504_page)
{
    es_ex_t x;
    es_run("chaos-idle-before", CHAT, 5000, 0, &x);
    cr_assert_eq(x.r.end, FL_RAW_EOF);
    cr_assert_eq(x.d.status, 504, "%s", x.r.all);
    char ct[64];
    cr_assert(fl_raw_header(x.d.head, x.d.head_len, "content-type", ct, sizeof(ct)));
    cr_assert_str_eq(ct, "text/html");
    cr_assert_not_null(strstr(x.d.dc.data, "<h1>504 Gateway Timeout</h1>"));
    cr_assert(x.r.reads[0].t_ms >= 130 && x.r.reads[0].t_ms < 390, "page after %.1f ms",
              x.r.reads[0].t_ms);
    json_t *e = es_entry("chaos-idle-before", 1, 3000);
    cr_assert_eq(es_int(e, "status", 0), 504);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    cr_assert_eq(json_array_size(json_object_get(e, "faults")), 2);
    cr_assert_str_eq(es_str(fault_n(e, 1), "fault"), "idle_timeout");
    long long ms = es_int(fault_n(e, 1), "ms", -1);
    cr_assert(ms >= 150 && ms < 400, "idle_timeout fired at %lld ms", ms);
    json_decref(e);
    es_ex_free(&x);
}

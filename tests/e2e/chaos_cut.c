/*
 * Cuts and early ends on the wire: reset (RST), close (FIN without the terminator), end (the
 * terminator after fewer events), drop_sentinel, and the per-attempt sequence. Each test reads
 * the faulty attempt and a clean one over raw sockets and compares decoded bodies (ids and
 * `created` normalised), how the connection ended, and the journal's evidence.
 */
#include "e2e_server.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define CHAT "/v1/chat/completions"

static void setup(void)
{
    es_start(FL_TESTDATA_DIR "/chaos");
}

TestSuite(chaos_cut, .init = setup, .fini = es_stop, .timeout = 30);

/* The clean stream's events, raw (not normalised), for byte offsets. */
static size_t clean_offset(const es_ex_t *clean, size_t events)
{
    es_events_t raw;
    es_split(clean->d.dc.data, clean->d.dc.len, &raw);
    cr_assert_eq(raw.n, clean->ev.n);
    char *s = es_join(&raw, 0, events);
    size_t n = strlen(s);
    free(s);
    es_events_free(&raw);
    return n;
}

static void assert_clean(const es_ex_t *x)
{
    cr_assert_eq(x->r.end, FL_RAW_EOF, "clean attempt ended with %s", fl_raw_end_name(x->r.end));
    cr_assert_eq(x->d.status, 200);
    cr_assert(x->d.chunked);
    cr_assert_eq(x->d.dc_rc, 0, "bad chunk framing: %s", x->d.dc.why);
    cr_assert(x->d.dc.terminated, "no terminating chunk on a clean attempt");
    cr_assert_eq(x->ev.n, 7, "clean chat stream has %zu events", x->ev.n);
    cr_assert_str_eq(x->ev.ev[6], "data: [DONE]\n\n");
}

/* A cut at event 4: the first three events, then the connection ends as `how`. */
static void check_cut(const char *scenario, fl_raw_end_t how, const char *end, const char *fault)
{
    es_ex_t x, clean;
    es_run(scenario, CHAT, 3000, 0, &x);
    es_run(scenario, CHAT, 3000, 0, &clean);
    assert_clean(&clean);

    cr_assert_eq(x.r.end, how, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.d.status, 200);
    cr_assert_eq(x.d.dc_rc, 0, "bad chunk framing: %s", x.d.dc.why);
    cr_assert_not(x.d.dc.terminated, "a cut stream must not carry the terminating chunk");
    char *want = es_join(&clean.ev, 0, 3);
    cr_assert_str_eq(x.norm, want);
    free(want);
    /* the last bytes on the wire are the end of a whole chunk: event 3 then CRLF */
    cr_assert_geq(x.r.len, 4);
    cr_assert(memcmp(x.r.all + x.r.len - 4, "\n\n\r\n", 4) == 0);

    json_t *e = es_entry(scenario, 1, 3000);
    cr_assert_not_null(e, "no journal entry for attempt 1");
    cr_assert_str_eq(es_str(e, "end"), end);
    cr_assert_eq(es_int(e, "status", 0), 200);
    es_assert_fault(e, fault, 4, 30, 1000);
    json_t *f = json_array_get(json_object_get(e, "faults"), 0);
    cr_assert_eq((size_t)es_int(f, "byte", -1), clean_offset(&clean, 3));
    cr_assert_eq(es_int(e, "events", -1), 3);
    cr_assert_eq((size_t)es_int(e, "bytes", -1), x.r.len);
    cr_assert(json_is_null(json_object_get(e, "client_closed_ms")));
    json_decref(e);

    e = es_entry(scenario, 2, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    cr_assert_eq(json_array_size(json_object_get(e, "faults")), 0);
    cr_assert_eq(es_int(e, "events", -1), 7);
    cr_assert_eq((size_t)es_int(e, "bytes", -1), clean.r.len);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_cut, reset_is_rst_after_event_3)
{
    check_cut("chaos-reset", FL_RAW_RESET, "reset", "reset");
}

Test(chaos_cut, close_is_fin_without_terminator)
{
    check_cut("chaos-close", FL_RAW_EOF, "closed", "close");
}

/* end: the body ends cleanly (terminator) after the first three events. */
Test(chaos_cut, end_terminates_early)
{
    es_ex_t x, clean;
    es_run("chaos-end", CHAT, 3000, 0, &x);
    es_run("chaos-end", CHAT, 3000, 0, &clean);
    assert_clean(&clean);
    cr_assert_eq(x.r.end, FL_RAW_EOF);
    cr_assert_eq(x.d.dc_rc, 0);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.d.dc.rest, 0);
    char *want = es_join(&clean.ev, 0, 3);
    cr_assert_str_eq(x.norm, want);
    free(want);
    cr_assert(memcmp(x.r.all + x.r.len - 5, "0\r\n\r\n", 5) == 0);
    json_t *e = es_entry("chaos-end", 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    /* the compiler fires `end` where the stream ends (no clean event there): 4 or null */
    es_assert_fault(e, "end", -4, 20, 1000);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

static void check_drop(const char *scenario, size_t kept)
{
    es_ex_t x, clean;
    es_run(scenario, CHAT, 3000, 0, &x);
    es_run(scenario, CHAT, 3000, 0, &clean);
    assert_clean(&clean);
    cr_assert_eq(x.r.end, FL_RAW_EOF);
    cr_assert(x.d.dc.terminated, "drop_sentinel still ends the body cleanly");
    cr_assert_null(strstr(x.norm, "[DONE]"));
    char *want = es_join(&clean.ev, 0, kept);
    cr_assert_str_eq(x.norm, want);
    free(want);
    cr_assert_eq(strstr(x.norm, "\"finish_reason\":\"stop\"") != NULL, kept == 6);
    json_t *e = es_entry(scenario, 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "drop_sentinel", (long long)kept + 1, 0, 1000);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_cut, drop_sentinel_drops_done_only)
{
    check_drop("chaos-drop-sentinel", 6);
}

Test(chaos_cut, drop_sentinel_with_drop_finish)
{
    check_drop("chaos-drop-finish", 5);
}

/* attempt 1 reset at event 3, attempt 2 closed at event 5, then clean; reset restarts. */
Test(chaos_cut, attempts_follow_the_list_and_reset_restarts)
{
    static const struct {
        fl_raw_end_t how;
        size_t events;
        bool terminated;
        const char *end;
    } want[] = {
        {FL_RAW_RESET, 2, false, "reset"},
        {FL_RAW_EOF, 4, false, "closed"},
        {FL_RAW_EOF, 7, true, "complete"},
        {FL_RAW_EOF, 7, true, "complete"},
    };
    for (int round = 0; round < 2; round++) {
        size_t n = round == 0 ? 4 : 1;
        for (size_t i = 0; i < n; i++) {
            es_ex_t x;
            es_run("chaos-attempts", CHAT, 3000, 0, &x);
            cr_assert_eq(x.r.end, want[i].how, "round %d attempt %zu ended with %s", round, i + 1,
                         fl_raw_end_name(x.r.end));
            cr_assert_eq(x.ev.n, want[i].events, "round %d attempt %zu: %zu events", round, i + 1,
                         x.ev.n);
            cr_assert_eq(x.d.dc.terminated, want[i].terminated);
            json_t *e = es_entry("chaos-attempts", (int)i + 1, 3000);
            cr_assert_not_null(e, "round %d: no entry for attempt %zu", round, i + 1);
            cr_assert_str_eq(es_str(e, "end"), want[i].end);
            cr_assert_eq(json_array_size(json_object_get(e, "faults")), i < 2 ? 1 : 0);
            json_decref(e);
            es_ex_free(&x);
        }
        es_reset();
        json_t *list = es_journal();
        cr_assert_eq(json_array_size(list), 0, "reset left journal entries");
        json_decref(list);
    }
}

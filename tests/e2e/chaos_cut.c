/*
 * Cuts and early ends on the wire: reset (RST), close (FIN without the terminator), end (the
 * terminator after fewer events), drop_sentinel, and the per-attempt sequence. Each case reads
 * the faulty attempt and a clean one over raw sockets and compares decoded bodies (ids and
 * `created` normalised), how the connection ended, and the journal's evidence.
 */
#include "chaos_e2e.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(chaos_cut, .init = ce_start, .fini = es_stop, .timeout = 30);

/* The clean stream's first `events` events, raw (not normalised): their length in bytes. */
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

/* A cut at event 4: the journal's byte is where event 4 starts in the clean body. */
static void cut_at_event_4_byte(const ce_run_t *run)
{
    const json_t *f = ce_fault_n(run->entry, 0);
    cr_assert_eq((size_t)es_int(f, "byte", -1), clean_offset(&run->clean, 3));
}

/* drop_sentinel keeps the finish chunk; with drop_finish it goes too. */
#define FINISH "\"finish_reason\":\"stop\""

/* Every row: openai-chat, a clean attempt 2 of 7 events. */
#define CUT_CASE(name, ...)                                                                        \
    {                                                                                              \
        .scenario = name, .timeout_ms = 3000, .clean_timeout_ms = 3000, .status = 200, __VA_ARGS__ \
    }
/* A cut at event 4: the first three events, whole chunks, then the connection ends as `how`. */
#define CUT_AT_4(how, jend, kind)                                                                  \
    .end = how, .terminated = CE_NO, .events = "0-2", .tail = "\n\n\r\n", .j_end = jend,           \
    .j_status = 200, .fault = kind, .event = 4, .min_ms = 30, .max_ms = 1000, .j_events = 3,       \
    .j_sent = 3, .j_bytes = true, .closed_null = true, .clean_entry = true,                        \
    .check = cut_at_event_4_byte

static const ce_case_t cases[] = {
    /* reset: RST after event 3 */
    CUT_CASE("chaos-reset", CUT_AT_4(FL_RAW_RESET, "reset", "reset")),
    /* close: FIN without the terminator */
    CUT_CASE("chaos-close", CUT_AT_4(FL_RAW_EOF, "closed", "close")),
    /* end: the body ends cleanly (terminator) after the first three events; `end` fires where
     * it cut the body short, before event 4, at that event's offset. Three events went out; all
     * seven passed in the script. */
    CUT_CASE("chaos-end", .end = FL_RAW_EOF, .terminated = CE_YES, .events = "0-2",
             .tail = "0\r\n\r\n", .j_end = "complete", .fault = "end", .event = 4, .min_ms = 20,
             .max_ms = 1000, .j_events = 7, .j_sent = 3, .check = cut_at_event_4_byte),
    /* drop_sentinel: everything but data: [DONE], still ended by the terminator */
    CUT_CASE("chaos-drop-sentinel", .end = FL_RAW_EOF, .terminated = CE_YES, .events = "0-5",
             .has = {FINISH}, .lacks = {"[DONE]"}, .j_end = "complete", .fault = "drop_sentinel",
             .event = 7, .min_ms = 0, .max_ms = 1000, .j_events = 7, .j_sent = 6),
    CUT_CASE("chaos-drop-finish", .end = FL_RAW_EOF, .terminated = CE_YES, .events = "0-4",
             .lacks = {"[DONE]", FINISH}, .j_end = "complete", .fault = "drop_sentinel", .event = 6,
             .min_ms = 0, .max_ms = 1000, .j_events = 7, .j_sent = 5),
};

CE_TABLE(chaos_cut, cases)

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
            es_run("chaos-attempts", CE_CHAT, 3000, 0, &x);
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

/* Per-attempt plans: which entry an attempt uses, and reproducible seeded chaos draws. */
#include "chaos/plan.h"
#include "load/load.h"
#include "base/rand.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static fl_scenario_t *load(const char *attempts)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "faultline: 1\nname: p\ndialect: anthropic-messages\n"
             "response: {text: \"one two three four five six seven eight\"}\n%s",
             attempts);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("p.yaml", yaml, strlen(yaml), &sc, &diags);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, diags.len ? diags.items[0].message : "");
    fl_diag_list_close(&diags);
    return sc;
}

/* The plan of one attempt, described one fault per line. */
static void describe_plan(const fl_scenario_t *sc, uint64_t attempt, size_t n_events, char *out,
                          size_t n)
{
    fl_fault_t *faults = (fl_fault_t *)1;
    size_t len = 99;
    cr_assert_eq(fl_plan_for_attempt(sc, attempt, n_events, &faults, &len), 0);
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < len; i++) {
        cr_assert_eq(fl_fault_describe(&faults[i], &b), 0);
        fl_buf_append_str(&b, "\n");
    }
    if (len == 0)
        cr_assert_null(faults);
    snprintf(out, n, "%s", b.data ? b.data : "");
    fl_buf_close(&b);
    fl_plan_free(faults, len);
}

Test(fault_plan, attempt_selection_and_last_repeats)
{
    fl_scenario_t *sc = load("attempts:\n  - faults: [{reset: {at: {event: 3}}}]\n"
                             "  - faults: [{http_error: {status: 503}}]\n  - {}\n");
    char got[1024];
    describe_plan(sc, 1, 12, got, sizeof(got));
    cr_assert_str_eq(got, "reset at event 3\n");
    describe_plan(sc, 0, 12, got, sizeof(got));
    cr_assert_str_eq(got, "reset at event 3\n", "attempt 0 counts as the first");
    describe_plan(sc, 2, 12, got, sizeof(got));
    cr_assert_str_eq(got, "http_error 503\n");
    describe_plan(sc, 3, 12, got, sizeof(got));
    cr_assert_str_eq(got, "");
    describe_plan(sc, 40, 12, got, sizeof(got));
    cr_assert_str_eq(got, "", "the last entry repeats");
    fl_scenario_free(sc);

    sc = load("attempts:\n  - faults: [{close: {at: {byte: 5}}}]\n");
    describe_plan(sc, 7, 12, got, sizeof(got));
    cr_assert_str_eq(got, "close at byte 5\n");
    fl_scenario_free(sc);
}

Test(fault_plan, no_attempts_is_clean)
{
    fl_scenario_t *sc = load("");
    fl_fault_t *faults = (fl_fault_t *)1;
    size_t n = 99;
    cr_assert_eq(fl_plan_for_attempt(sc, 1, 10, &faults, &n), 0);
    cr_assert_null(faults);
    cr_assert_eq(n, 0);
    fl_scenario_free(sc);
}

#define CHAOS(p, seed)                                                                             \
    "attempts:\n  - faults: [{delay_headers: {ms: 5}}]\n    chaos: {seed: " seed                   \
    ", probability: " p ", faults: [reset, close, end, duplicate, {stall: {ms: 300}}, "            \
    "{corrupt: {kind: garbage}}, {inject: {bytes: x}}, error_event, drop_sentinel, "               \
    "{throttle: {bytes_per_s: 10}}, {fragment: {bytes: 2}}, {corrupt: {at: {event: 2}, "           \
    "kind: sse}}]}\n"

Test(fault_plan, probability_zero_draws_none_and_one_draws_all)
{
    fl_scenario_t *sc = load(CHAOS("0", "7"));
    char got[2048];
    describe_plan(sc, 1, 12, got, sizeof(got));
    cr_assert_str_eq(got, "delay_headers 5 ms\n", "written faults only");
    fl_scenario_free(sc);

    sc = load(CHAOS("1", "7"));
    fl_fault_t *faults;
    size_t n;
    cr_assert_eq(fl_plan_for_attempt(sc, 1, 12, &faults, &n), 0);
    cr_assert_eq(n, 13);
    cr_assert_eq(faults[0].kind, FL_FAULT_DELAY_HEADERS);
    for (size_t i = 1; i < n; i++) {
        cr_assert_eq(faults[i].kind, sc->attempts[0].chaos_faults[i - 1].kind, "order kept");
        bool positioned = faults[i].kind != FL_FAULT_DROP_SENTINEL;
        if (positioned) {
            cr_assert_eq(faults[i].at.kind, FL_AT_EVENT, "fault %zu drew an event", i);
            cr_assert(faults[i].at.n >= 1 && faults[i].at.n <= 12, "event %llu",
                      (unsigned long long)faults[i].at.n);
        } else {
            cr_assert_eq(faults[i].at.kind, FL_AT_DEFAULT);
        }
    }
    cr_assert_eq(faults[12].at.n, 2, "a written position is kept");
    cr_assert(faults[6].seed_set, "garbage without a seed gets one drawn");
    cr_assert_str_eq(faults[7].inject, "x", "parameters are copied");
    fl_plan_free(faults, n);
    fl_scenario_free(sc);
}

Test(fault_plan, seeded_draws_are_reproducible_and_vary)
{
    char a1[2048], a1b[2048], a2[2048], other[2048];
    fl_scenario_t *sc = load(CHAOS("0.5", "7"));
    describe_plan(sc, 1, 30, a1, sizeof(a1));
    describe_plan(sc, 1, 30, a1b, sizeof(a1b));
    describe_plan(sc, 2, 30, a2, sizeof(a2));
    fl_scenario_free(sc);
    sc = load(CHAOS("0.5", "8"));
    describe_plan(sc, 1, 30, other, sizeof(other));
    fl_scenario_free(sc);
    cr_assert_str_eq(a1, a1b, "same inputs, same plan");
    cr_assert_str_neq(a1, a2, "another attempt draws again");
    cr_assert_str_neq(a1, other, "another seed draws differently");
    cr_assert(strncmp(a1, "delay_headers 5 ms\n", 19) == 0, "written faults first");
}

/* The draw is defined by rand.h: check one candidate against a hand computation. */
Test(fault_plan, draw_follows_the_documented_formula)
{
    fl_scenario_t *sc =
        load("attempts:\n  - chaos: {seed: 11, probability: 0.5, faults: [reset]}\n");
    for (uint64_t attempt = 1; attempt <= 8; attempt++) {
        fl_rand_t r;
        fl_rand_seed(&r, 11 ^ (attempt * FL_PLAN_ATTEMPT_MIX));
        double u = (double)(fl_rand_next(&r) >> 11) / 9007199254740992.0;
        int64_t event = u < 0.5 ? fl_rand_range(&r, 1, 9) : 0;
        fl_fault_t *faults;
        size_t n;
        cr_assert_eq(fl_plan_for_attempt(sc, attempt, 9, &faults, &n), 0);
        cr_assert_eq(n, u < 0.5 ? 1u : 0u, "attempt %llu", (unsigned long long)attempt);
        if (n)
            cr_assert_eq(faults[0].at.n, (uint64_t)event);
        fl_plan_free(faults, n);
    }
    fl_scenario_free(sc);
}

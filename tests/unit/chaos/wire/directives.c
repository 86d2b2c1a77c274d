/*
 * What a wire plan tells the connection besides bytes and times: how long a fault keeps it
 * silent on purpose (a FIRE op's silent_ms). The chaos compiler fills it for stall (its ms, or
 * for ever) and no_response (for ever), and for no other op, whatever else the plan holds: the
 * connection (conn.c, stream.c) relies on it alone to journal "stalled".
 */
#include "chaos/chaos.h"
#include "chaos/wire.h"
#include "chaos_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static fl_fault_t at_event(fl_fault_kind_t k, uint64_t event)
{
    fl_fault_t f = cx_fault(k);
    f.at.kind = FL_AT_EVENT;
    f.at.n = event;
    return f;
}

static fl_fault_t stall(uint64_t event, uint64_t ms, uint64_t keepalive, bool forever)
{
    fl_fault_t f = at_event(FL_FAULT_STALL, event);
    f.ms = ms;
    f.keepalive_ms = keepalive;
    f.forever = forever;
    return f;
}

/* One plan and the silence each fault's FIRE must carry (by fault index; -1: must not fire). */
typedef struct silence_case_s {
    const char *name;
    fl_fault_t faults[3];
    size_t n;
    int64_t silent[3]; /* expected silent_ms of fault i's FIRE; FOREVER as -2 */
} silence_case_t;

#define FOREVER (-2)

static silence_case_t cases(size_t i)
{
    fl_fault_t delay = cx_fault(FL_FAULT_DELAY_HEADERS);
    delay.ms = 500;
    fl_fault_t reset_at_ms = cx_fault(FL_FAULT_RESET);
    reset_at_ms.at.kind = FL_AT_MS;
    reset_at_ms.at.n = 100; /* cx_script's event 2 is due at 100 ms */
    fl_fault_t head_stall = stall(0, 100, 0, false);
    head_stall.at.kind = FL_AT_HEADERS;
    silence_case_t all[] = {
        {"stall", {stall(2, 300, 0, false)}, 1, {300}},
        {"stall with keep-alive pings", {stall(2, 300, 100, false)}, 1, {300}},
        {"stall forever", {stall(3, 0, 0, true)}, 1, {FOREVER}},
        {"stall forever with pings", {stall(3, 0, 50, true)}, 1, {FOREVER}},
        {"no_response", {cx_fault(FL_FAULT_NO_RESPONSE)}, 1, {FOREVER}},
        /* silence is a duration from the FIRE: moving the FIRE later does not change it */
        {"stall after delay_headers", {delay, stall(2, 200, 0, false)}, 2, {0, 200}},
        /* two stalls at one place: each FIRE keeps its own */
        {"two stalls at event 2", {stall(2, 100, 0, false), stall(2, 40, 0, false)}, 2, {100, 40}},
        /* a cut where a stall fired is not a stall */
        {"reset where a stall fired",
         {stall(2, 100, 0, false), at_event(FL_FAULT_RESET, 2)},
         2,
         {100, 0}},
        {"close during a stall forever",
         {stall(2, 0, 0, true), at_event(FL_FAULT_CLOSE, 1)},
         2,
         {-1, 0}},
        {"reset alone", {at_event(FL_FAULT_RESET, 3)}, 1, {0}},
        /* faults that fire where a stall's FIRE already stands start from a copy of it */
        {"reset at the ms a stall fires", {stall(2, 100, 0, false), reset_at_ms}, 2, {-1, 0}},
        {"delay_headers after a stall at the headers", {head_stall, delay}, 2, {100, 0}},
    };
    cr_assert_lt(i, sizeof(all) / sizeof(all[0]));
    return all[i];
}

#define N_CASES 12

Test(directives, fire_ops_carry_the_silence_their_fault_imposes, .timeout = 10)
{
    fl_script_t script;
    fl_script_init(&script);
    cx_script(&script);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    for (size_t c = 0; c < N_CASES; c++) {
        silence_case_t k = cases(c);
        fl_wire_t w;
        cx_compile(&in, k.faults, k.n, &w);
        for (uint32_t f = 0; f < k.n; f++) {
            const fl_wire_op_t *fire = cx_fire(&w, f);
            if (k.silent[f] == -1) {
                cr_assert_null(fire, "%s: fault %u fired", k.name, f);
                continue;
            }
            cr_assert_not_null(fire, "%s: fault %u never fired", k.name, f);
            uint64_t want = k.silent[f] == FOREVER ? FL_WIRE_FOREVER : (uint64_t)k.silent[f];
            cr_assert_eq(fire->silent_ms, want, "%s: fault %u silent_ms %llu, want %llu", k.name, f,
                         (unsigned long long)fire->silent_ms, (unsigned long long)want);
        }
        /* nothing but a FIRE ever carries silence */
        for (size_t i = 0; i < w.n_ops; i++)
            if (w.ops[i].kind != FL_WIRE_FIRE)
                cr_assert_eq(w.ops[i].silent_ms, 0, "%s: op %zu (kind %d) carries silence", k.name,
                             i, (int)w.ops[i].kind);
        fl_wire_close(&w);
    }
    fl_script_close(&script);
}

Test(directives, a_clean_plan_is_never_silent, .timeout = 10)
{
    fl_script_t script;
    fl_script_init(&script);
    cx_script(&script);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_wire_t w;
    cx_compile(&in, NULL, 0, &w);
    cr_assert_gt(w.n_ops, 0);
    for (size_t i = 0; i < w.n_ops; i++)
        cr_assert_eq(w.ops[i].silent_ms, 0, "op %zu", i);
    cr_assert_eq(w.ops[w.n_ops - 1].kind, FL_WIRE_DONE, "the end is explicit");
    fl_wire_close(&w);
    fl_script_close(&script);
}

/* Every fault of the catalog read from YAML, with each parameter and each default checked. */
#include "chaos/chaos.h"
#include "encode/dialect.h"
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static fl_scenario_t *load(const char *attempts)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "faultline: 1\nname: f\ndialect: openai-chat\n"
             "response: {text: \"one two three four five six seven\"}\nattempts:\n%s",
             attempts);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("f.yaml", yaml, strlen(yaml), &sc, &diags);
    char line[1536] = "";
    if (diags.len)
        fl_diag_format(&diags.items[0], line, sizeof(line));
    cr_assert_eq(rc, 0, "rc %d: %s", rc, line);
    fl_diag_list_close(&diags);
    return sc;
}

/* The only fault of attempt 0. */
static const fl_fault_t *one(fl_scenario_t *sc, fl_fault_kind_t kind)
{
    cr_assert_eq(sc->n_attempts, 1);
    cr_assert_eq(sc->attempts[0].n_faults, 1);
    const fl_fault_t *f = &sc->attempts[0].faults[0];
    cr_assert_eq(f->kind, kind, "kind %d, expected %d", f->kind, kind);
    return f;
}

Test(fault_parse, cuts_and_end)
{
    fl_scenario_t *sc = load("  - faults:\n      - reset: {at: {event: 3}}\n"
                             "      - close: {at: {byte: 300}}\n      - end: {at: {ms: 40}}\n"
                             "      - reset\n      - close: {at: end}\n");
    const fl_fault_t *f = sc->attempts[0].faults;
    cr_assert_eq(sc->attempts[0].n_faults, 5);
    cr_assert_eq(f[0].kind, FL_FAULT_RESET);
    cr_assert_eq(f[0].at.kind, FL_AT_EVENT);
    cr_assert_eq(f[0].at.n, 3);
    cr_assert_eq(f[0].cut, FL_CUT_RST);
    cr_assert_eq(f[0].line, 7);
    cr_assert_eq(f[0].col, 9);
    cr_assert_eq(f[1].kind, FL_FAULT_CLOSE);
    cr_assert_eq(f[1].at.kind, FL_AT_BYTE);
    cr_assert_eq(f[1].at.n, 300);
    cr_assert_eq(f[1].cut, FL_CUT_FIN);
    cr_assert_eq(f[2].kind, FL_FAULT_END);
    cr_assert_eq(f[2].at.kind, FL_AT_MS);
    cr_assert_eq(f[2].at.n, 40);
    cr_assert_eq(f[3].kind, FL_FAULT_RESET);
    cr_assert_eq(f[3].at.kind, FL_AT_DEFAULT);
    cr_assert_eq(f[3].cut, FL_CUT_RST);
    cr_assert_eq(f[4].at.kind, FL_AT_END);
    fl_scenario_free(sc);
}

Test(fault_parse, drop_sentinel_forms)
{
    fl_scenario_t *sc = load("  - faults: [drop_sentinel]\n  - faults:\n      - drop_sentinel:\n"
                             "  - faults: [{drop_sentinel: {drop_finish: true}}]\n");
    cr_assert_eq(sc->n_attempts, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(sc->attempts[i].n_faults, 1);
        cr_assert_eq(sc->attempts[i].faults[0].kind, FL_FAULT_DROP_SENTINEL);
        cr_assert_eq(sc->attempts[i].faults[0].drop_finish, i == 2);
    }
    fl_scenario_free(sc);
}

Test(fault_parse, stall)
{
    fl_scenario_t *sc = load("  - faults:\n      - stall: {at: {event: 3}, ms: 5000, "
                             "keepalive_ms: 1000}\n");
    const fl_fault_t *f = one(sc, FL_FAULT_STALL);
    cr_assert_eq(f->ms, 5000);
    cr_assert_eq(f->keepalive_ms, 1000);
    cr_assert_not(f->forever);
    fl_scenario_free(sc);
    sc = load("  - faults: [{stall: {ms: forever, keepalive_ms: 15000}}]\n");
    f = one(sc, FL_FAULT_STALL);
    cr_assert(f->forever);
    cr_assert_eq(f->keepalive_ms, 15000);
    cr_assert_eq(f->at.kind, FL_AT_DEFAULT);
    fl_scenario_free(sc);
}

Test(fault_parse, throttle_and_fragment)
{
    fl_scenario_t *sc = load("  - faults:\n      - throttle: {at: {event: 2}, bytes_per_s: 200}\n"
                             "      - fragment: {at: headers, bytes: 1, gap_ms: 2}\n"
                             "      - fragment: {offsets: [10, 11, 57]}\n");
    const fl_fault_t *f = sc->attempts[0].faults;
    cr_assert_eq(f[0].kind, FL_FAULT_THROTTLE);
    cr_assert_eq(f[0].bytes, 200);
    cr_assert_eq(f[1].kind, FL_FAULT_FRAGMENT);
    cr_assert_eq(f[1].at.kind, FL_AT_HEADERS);
    cr_assert_eq(f[1].bytes, 1);
    cr_assert_eq(f[1].gap_ms, 2);
    cr_assert_null(f[1].offsets);
    cr_assert_eq(f[2].n_offsets, 3);
    cr_assert_eq(f[2].offsets[0], 10);
    cr_assert_eq(f[2].offsets[1], 11);
    cr_assert_eq(f[2].offsets[2], 57);
    cr_assert_eq(f[2].bytes, 0);
    cr_assert_eq(f[2].gap_ms, 0);
    fl_scenario_free(sc);
}

Test(fault_parse, corrupt_kinds)
{
    fl_scenario_t *sc = load("  - faults:\n      - corrupt: {at: {event: 4}, kind: json}\n"
                             "      - corrupt: {at: {event: 4}, kind: utf8}\n"
                             "      - corrupt: {at: {event: 2}, kind: chunk_size}\n"
                             "      - corrupt: {at: {event: 4}, kind: garbage, bytes: 7, seed: 3}\n"
                             "      - corrupt: {at: {event: 3}, kind: sse}\n"
                             "      - corrupt: {kind: garbage}\n");
    const fl_fault_t *f = sc->attempts[0].faults;
    cr_assert_eq(sc->attempts[0].n_faults, 6);
    fl_corrupt_kind_t want[] = {FL_CORRUPT_JSON,    FL_CORRUPT_UTF8, FL_CORRUPT_CHUNK_SIZE,
                                FL_CORRUPT_GARBAGE, FL_CORRUPT_SSE,  FL_CORRUPT_GARBAGE};
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(f[i].kind, FL_FAULT_CORRUPT);
        cr_assert_eq(f[i].corrupt, want[i], "fault %zu", i);
    }
    cr_assert_eq(f[3].bytes, 7);
    cr_assert_eq(f[3].seed, 3);
    cr_assert(f[3].seed_set);
    cr_assert_eq(f[5].bytes, 16, "garbage defaults to 16 bytes");
    cr_assert_not(f[5].seed_set);
    fl_scenario_free(sc);
}

Test(fault_parse, line_endings_duplicate_inject)
{
    fl_scenario_t *sc =
        load("  - faults:\n      - line_endings: crlf\n"
             "      - line_endings: {style: cr}\n"
             "      - duplicate: {at: {event: 6}}\n"
             "      - inject: {at: {event: 2}, bytes: \"data: {\\\"partial\\n\\n\"}\n");
    const fl_fault_t *f = sc->attempts[0].faults;
    cr_assert_eq(f[0].kind, FL_FAULT_LINE_ENDINGS);
    cr_assert(f[0].crlf);
    cr_assert_eq(f[1].kind, FL_FAULT_LINE_ENDINGS);
    cr_assert_not(f[1].crlf);
    cr_assert_eq(f[2].kind, FL_FAULT_DUPLICATE);
    cr_assert_eq(f[2].at.n, 6);
    cr_assert_eq(f[3].kind, FL_FAULT_INJECT);
    cr_assert_eq(f[3].inject_len, strlen("data: {\"partial\n\n"));
    cr_assert_str_eq(f[3].inject, "data: {\"partial\n\n");
    fl_scenario_free(sc);
}

Test(fault_parse, http_error)
{
    fl_scenario_t *sc = load("  - faults:\n      - http_error: {status: 429, retry_after_s: 2, "
                             "retry_after_ms: 1500, html: true, type: rate_limit_exceeded, "
                             "message: \"slow down\"}\n");
    const fl_fault_t *f = one(sc, FL_FAULT_HTTP_ERROR);
    cr_assert_eq(f->status, 429);
    cr_assert_eq(f->retry_after_s, 2);
    cr_assert_eq(f->retry_after_ms, 1500);
    cr_assert(f->html);
    cr_assert_eq(f->error_class, FL_ERR_RATE_LIMIT);
    cr_assert_str_eq(f->message, "slow down");
    fl_scenario_free(sc);
    sc = load("  - faults: [{http_error: {status: 529}}]\n");
    f = one(sc, FL_FAULT_HTTP_ERROR);
    cr_assert_eq(f->retry_after_s, -1);
    cr_assert_eq(f->retry_after_ms, -1);
    cr_assert_not(f->html);
    cr_assert_null(f->message);
    cr_assert_eq(f->error_class, (int)fl_fault_error_class_for_status(529));
    fl_scenario_free(sc);
}

Test(fault_parse, error_event_types_and_aliases)
{
    fl_scenario_t *sc =
        load("  - faults:\n      - error_event: {at: {event: 5}, type: overloaded, "
             "message: Overloaded}\n      - error_event: {type: api_error}\n"
             "      - error_event\n      - error_event: {type: overloaded_error}\n");
    const fl_fault_t *f = sc->attempts[0].faults;
    cr_assert_eq(f[0].kind, FL_FAULT_ERROR_EVENT);
    cr_assert_eq(f[0].at.n, 5);
    cr_assert_eq(f[0].error_class, FL_ERR_OVERLOADED);
    cr_assert_str_eq(f[0].message, "Overloaded");
    cr_assert_eq(f[1].error_class, FL_ERR_SERVER);
    cr_assert_eq(f[2].error_class, FL_ERR_SERVER, "default type is server");
    cr_assert_null(f[2].message);
    cr_assert_eq(f[3].error_class, FL_ERR_OVERLOADED);
    fl_scenario_free(sc);
}

Test(fault_parse, timeouts_delay_refuse_no_response)
{
    fl_scenario_t *sc = load("  - faults:\n      - proxy_timeout: {after_ms: 1000, status: 524, "
                             "cut: rst}\n      - proxy_timeout: {after_ms: 50}\n"
                             "      - idle_timeout: {ms: 500, cut: fin}\n"
                             "      - delay_headers: {ms: 200}\n      - refuse: {}\n"
                             "      - refuse: {reset: true}\n      - no_response: {}\n"
                             "      - no_response\n");
    const fl_fault_t *f = sc->attempts[0].faults;
    cr_assert_eq(sc->attempts[0].n_faults, 8);
    cr_assert_eq(f[0].kind, FL_FAULT_PROXY_TIMEOUT);
    cr_assert_eq(f[0].ms, 1000);
    cr_assert_eq(f[0].status, 524);
    cr_assert_eq(f[0].cut, FL_CUT_RST);
    cr_assert_eq(f[1].status, 504, "proxy_timeout defaults to 504");
    cr_assert_eq(f[1].cut, FL_CUT_FIN, "and to FIN");
    cr_assert_eq(f[2].kind, FL_FAULT_IDLE_TIMEOUT);
    cr_assert_eq(f[2].ms, 500);
    cr_assert_eq(f[2].cut, FL_CUT_FIN);
    cr_assert_eq(f[3].kind, FL_FAULT_DELAY_HEADERS);
    cr_assert_eq(f[3].ms, 200);
    cr_assert_eq(f[4].kind, FL_FAULT_REFUSE);
    cr_assert_eq(f[4].cut, FL_CUT_FIN);
    cr_assert_eq(f[5].cut, FL_CUT_RST);
    cr_assert_eq(f[6].kind, FL_FAULT_NO_RESPONSE);
    cr_assert_eq(f[7].kind, FL_FAULT_NO_RESPONSE);
    fl_scenario_free(sc);
}

Test(fault_parse, chaos_block_and_clean_entries)
{
    fl_scenario_t *sc = load("  - faults: [reset]\n    chaos: {seed: 7, probability: 0.2, "
                             "faults: [close, {stall: {ms: 300}}]}\n  - {}\n  -\n");
    cr_assert_eq(sc->n_attempts, 3);
    const fl_attempt_t *a = &sc->attempts[0];
    cr_assert_eq(a->n_faults, 1);
    cr_assert(a->seeded);
    cr_assert_eq(a->chaos_seed, 7);
    cr_assert_float_eq(a->chaos_probability, 0.2, 1e-12);
    cr_assert_eq(a->n_chaos_faults, 2);
    cr_assert_eq(a->chaos_faults[0].kind, FL_FAULT_CLOSE);
    cr_assert_eq(a->chaos_faults[1].kind, FL_FAULT_STALL);
    cr_assert_eq(a->chaos_faults[1].ms, 300);
    for (size_t i = 1; i < 3; i++) {
        cr_assert_eq(sc->attempts[i].n_faults, 0);
        cr_assert_not(sc->attempts[i].seeded);
    }
    fl_scenario_free(sc);
}

/* event n_events+1 is `end` and allowed; byte == body length likewise. */
Test(fault_parse, end_positions_are_allowed)
{
    fl_scenario_t *sc = load("  - faults: [{reset: {at: {event: 11}}}]\n");
    cr_assert_eq(sc->attempts[0].faults[0].at.n, 11);
    fl_scenario_free(sc);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    const char *yaml = "faultline: 1\nname: f\ndialect: openai-chat\n"
                       "response: {text: \"one two three four five six seven\"}\nattempts:\n"
                       "  - faults: [{reset: {at: {event: 12}}}]\n";
    cr_assert_eq(fl_scenario_load_string("f.yaml", yaml, strlen(yaml), &sc, &diags), FL_ESCHEMA);
    cr_assert_str_eq(diags.items[0].message,
                     "event 12 is past the end of the stream (it has 10 events, 7 of them content "
                     "events)");
    fl_diag_list_close(&diags);
}

/* {content: N} counts pieces of the answer; N = pieces + 1 (right after the last) is allowed,
 * and a whole-event fault may stand there too: the finish event follows the last word. */
Test(fault_parse, content_positions)
{
    fl_scenario_t *sc =
        load("  - faults: [{reset: {at: {content: 3}}}, {duplicate: {at: {content: 8}}},\n"
             "              {corrupt: {kind: json, at: {content: 1}}}]\n");
    cr_assert_eq(sc->attempts[0].faults[0].at.kind, FL_AT_CONTENT);
    cr_assert_eq(sc->attempts[0].faults[0].at.n, 3);
    cr_assert_eq(sc->attempts[0].faults[1].at.kind, FL_AT_CONTENT);
    cr_assert_eq(sc->attempts[0].faults[1].at.n, 8);
    cr_assert_eq(sc->attempts[0].faults[2].at.kind, FL_AT_CONTENT);
    fl_scenario_free(sc);
}

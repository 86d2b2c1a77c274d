/* What the journal's events_sent adds up: each WRITE's events_done, the clean events whose last
 * byte it carries. Each event counts once and only when its bytes go out: dropped events never,
 * a rewritten or duplicated event once, inserted bytes never, an event cut short never. */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "param_index.h"

/* Sum of events_done over the WRITEs before the plan ends (DONE, FIN, RST, HANG, PING). */
static uint32_t sent(const fl_wire_t *w)
{
    uint32_t n = 0;
    for (size_t i = 0; i < w->n_ops; i++) {
        const fl_wire_op_t *o = &w->ops[i];
        if (o->kind == FL_WIRE_WRITE)
            n += o->events_done;
        else if (o->kind != FL_WIRE_FIRE)
            break;
    }
    return n;
}

typedef struct {
    const char *name;
    fl_fault_kind_t kind;
    fl_at_kind_t at;
    uint64_t n;
    uint32_t want; /* of the five CX_E* events */
} sent_case_t;

static const sent_case_t cases[] = {
    {"clean", FL_FAULT__COUNT, FL_AT_DEFAULT, 0, 5},
    {"end before event 3", FL_FAULT_END, FL_AT_EVENT, 3, 2},
    {"end at the end", FL_FAULT_END, FL_AT_END, 0, 5},
    {"reset before event 3", FL_FAULT_RESET, FL_AT_EVENT, 3, 2},
    {"reset inside event 2", FL_FAULT_RESET, FL_AT_BYTE, 20, 1},
    {"close before event 2", FL_FAULT_CLOSE, FL_AT_EVENT, 2, 1},
    {"duplicate event 2", FL_FAULT_DUPLICATE, FL_AT_EVENT, 2, 5},
    {"drop_sentinel", FL_FAULT_DROP_SENTINEL, FL_AT_DEFAULT, 0, 4},
    {"inject before event 2", FL_FAULT_INJECT, FL_AT_EVENT, 2, 5},
    {"corrupt json event 2", FL_FAULT_CORRUPT, FL_AT_EVENT, 2, 5},
    {"error_event at 3", FL_FAULT_ERROR_EVENT, FL_AT_EVENT, 3, 2},
    {"stall forever at 3", FL_FAULT_STALL, FL_AT_EVENT, 3, 2},
    {"fragment 7-byte pieces", FL_FAULT_FRAGMENT, FL_AT_HEADERS, 0, 5},
    {"throttle", FL_FAULT_THROTTLE, FL_AT_EVENT, 2, 5},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

FL_PARAM_INDEXES(sent, events, N_CASES)

ParameterizedTest(size_t *ci, sent, events, .timeout = 10)
{
    const sent_case_t *c = &cases[*ci];
    fl_script_t script;
    fl_script_init(&script);
    cx_script(&script);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_fault_t f = cx_fault(c->kind == FL_FAULT__COUNT ? FL_FAULT_RESET : c->kind);
    f.at.kind = c->at;
    f.at.n = c->n;
    f.forever = c->kind == FL_FAULT_STALL;
    f.bytes = c->kind == FL_FAULT_FRAGMENT ? 7 : 300;
    f.corrupt = FL_CORRUPT_JSON;
    f.inject = ": hi\n\n";
    f.inject_len = strlen(f.inject);
    fl_wire_t w;
    cx_compile(&in, &f, c->kind == FL_FAULT__COUNT ? 0 : 1, &w);
    cr_expect_eq(sent(&w), c->want, "%s: %u events sent, want %u", c->name, sent(&w), c->want);
    /* a write completes its events only with the byte that ends its chunk: a fragment or
     * throttle piece before that completes none */
    size_t len, at = 0;
    char *wire = cx_bytes(&w, &len);
    size_t ends[64], n_ends = 0;
    const char *p = strstr(wire, "\r\n\r\n");
    cr_assert_not_null(p);
    for (size_t off = (size_t)(p + 4 - wire); off < len && n_ends < 64;) {
        char *end;
        size_t size = strtoul(wire + off, &end, 16);
        off = (size_t)(end - wire) + 2 + size + (size ? 2 : 0);
        ends[n_ends++] = off;
        if (!size)
            break;
    }
    for (size_t i = 0; i < w.n_ops; i++) {
        const fl_wire_op_t *o = &w.ops[i];
        if (o->kind != FL_WIRE_WRITE)
            continue;
        at += o->len;
        bool chunk_end = false;
        for (size_t k = 0; k < n_ends; k++)
            chunk_end |= ends[k] == at;
        if (o->events_done)
            cr_expect(chunk_end, "%s: op %zu completes %u events inside a chunk", c->name, i,
                      o->events_done);
    }
    free(wire);
    fl_wire_close(&w);
    fl_script_close(&script);
}

/* Wire faults: fragment (by size, at offsets, with gaps) and throttle (rate over any 1 s). */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fl_script_t script;
static fl_wire_t w, clean;

static void setup(void)
{
    fl_script_init(&script);
    cx_script(&script);
    fl_wire_init(&w);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, NULL, 0, &clean);
}

static void teardown(void)
{
    fl_wire_close(&w);
    fl_wire_close(&clean);
    fl_script_close(&script);
}

TestSuite(wirefaults, .init = setup, .fini = teardown, .timeout = 10);

static void compile(const fl_fault_t *f, size_t n)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_wire_close(&w);
    cx_compile(&in, f, n, &w);
}

static void assert_same_bytes(const fl_wire_t *a, const fl_wire_t *b)
{
    size_t la, lb;
    char *x = cx_bytes(a, &la), *y = cx_bytes(b, &lb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(x, y, la) == 0);
    free(x);
    free(y);
}

Test(wirefaults, fragment_one_byte_writes_equal_the_clean_wire)
{
    fl_fault_t f = cx_fault(FL_FAULT_FRAGMENT);
    f.at.kind = FL_AT_HEADERS;
    f.bytes = 1;
    compile(&f, 1);
    assert_same_bytes(&w, &clean);
    size_t writes = 0;
    for (size_t i = 0; i < w.n_ops; i++) {
        if (w.ops[i].kind != FL_WIRE_WRITE)
            continue;
        writes++;
        cr_assert_eq(w.ops[i].len, 1);
        cr_assert(w.ops[i].own_write);
        cr_assert_eq(w.ops[i].fault, 0);
    }
    cr_assert_eq(writes, fl_wire_total_bytes(&clean));
    cr_assert_eq(w.ops[0].kind, FL_WIRE_FIRE);
    cr_assert_eq(w.ops[w.n_ops - 1].kind, FL_WIRE_DONE);
    cr_assert_eq(w.ops[w.n_ops - 1].at_ms, 150); /* no gap: no delay */
}

Test(wirefaults, fragment_with_gaps_pushes_later_ops_back)
{
    fl_fault_t f = cx_fault(FL_FAULT_FRAGMENT);
    f.at.kind = FL_AT_EVENT;
    f.at.n = 2;
    f.bytes = 8;
    f.gap_ms = 10;
    compile(&f, 1);
    assert_same_bytes(&w, &clean);
    char *e1 = cx_chunk(CX_E1);
    size_t n1 = (strlen(e1) + 7) / 8;
    /* head and E0 untouched, E1's chunk in n1 pieces 10 ms apart */
    fl_buf_t expect;
    fl_buf_init(&expect);
    fl_buf_append_str(&expect, "W@0 W@0 F@100#0");
    for (size_t k = 0; k < n1; k++)
        fl_buf_printf(&expect, " W@%zu!#0", 100 + 10 * k);
    uint64_t t = 150 + 10 * (n1 - 1);
    char *e2 = cx_chunk(CX_E2 CX_E3 CX_E4);
    size_t n2 = (strlen(e2) + 7) / 8;
    for (size_t k = 0; k < n2; k++)
        fl_buf_printf(&expect, " W@%llu!#0", (unsigned long long)(t + 10 * k));
    t += 10 * (n2 - 1);
    fl_buf_printf(&expect, " W@%llu!#0 D@%llu", (unsigned long long)t, (unsigned long long)t);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, expect.data);
    free(ops);
    free(e1);
    free(e2);
    fl_buf_close(&expect);
}

Test(wirefaults, fragment_at_clean_body_offsets)
{
    uint64_t offs[2] = {strlen(CX_E0) + 3, strlen(CX_E0 CX_E1 CX_E2) + 1};
    fl_fault_t f = cx_fault(FL_FAULT_FRAGMENT);
    f.at.kind = FL_AT_HEADERS;
    f.offsets = offs;
    f.n_offsets = 2;
    compile(&f, 1);
    assert_same_bytes(&w, &clean);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, "F@0#0 W@0!#0 W@0!#0 W@100!#0 W@100!#0 W@150!#0 W@150!#0 W@150!#0 D@150");
    free(ops);
    /* E1's chunk splits after its size line and 3 body bytes */
    char *e1 = cx_chunk(CX_E1);
    size_t prefix = strchr(e1, '\n') + 1 - e1;
    cr_assert_eq(w.ops[3].len, prefix + 3);
    cr_assert_eq(w.ops[4].body_off, offs[0]);
    cr_assert(memcmp(w.bytes.data + w.ops[4].off, CX_E1 + 3, 4) == 0);
    /* the batch at 150 splits one byte into E3 */
    cr_assert(memcmp(w.bytes.data + w.ops[6].off, CX_E3 + 1, 4) == 0);
    free(e1);
}

Test(wirefaults, fragment_and_corrupt)
{
    fl_fault_t f[2] = {cx_fault(FL_FAULT_CORRUPT), cx_fault(FL_FAULT_FRAGMENT)};
    f[0].at.kind = f[1].at.kind = FL_AT_EVENT;
    f[0].at.n = f[1].at.n = 2;
    f[0].corrupt = FL_CORRUPT_JSON;
    f[1].bytes = 3;
    compile(&f[0], 1);
    fl_wire_t corrupt_only = w;
    fl_wire_init(&w);
    compile(f, 2);
    assert_same_bytes(&w, &corrupt_only);
    cr_assert(cx_fire(&w, 0));
    cr_assert(cx_fire(&w, 1));
    cr_assert_eq(cx_fire(&w, 1)->event, 1);
    for (size_t i = 0; i < w.n_ops; i++)
        if (w.ops[i].kind == FL_WIRE_WRITE && w.ops[i].at_ms >= 100)
            cr_assert_leq(w.ops[i].len, 3);
    fl_wire_close(&corrupt_only);
}

Test(wirefaults, invalid_parameters)
{
    fl_fault_t f = cx_fault(FL_FAULT_FRAGMENT);
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cr_assert_eq(fl_chaos_compile(&in, &f, 1, &w), FL_EINVAL);
    cr_assert_eq(w.n_ops, 0);
    f = cx_fault(FL_FAULT_THROTTLE);
    cr_assert_eq(fl_chaos_compile(&in, &f, 1, &w), FL_EINVAL);
    cr_assert_eq(w.n_ops, 0);
}

Test(wirefaults, throttle_never_exceeds_its_rate)
{
    static const uint64_t rates[] = {7, 99, 100, 150, 299, 999, 1055, 5000};
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        fl_fault_t f = cx_fault(FL_FAULT_THROTTLE);
        f.at.kind = FL_AT_HEADERS;
        f.bytes = rates[r];
        compile(&f, 1);
        assert_same_bytes(&w, &clean);
        uint64_t piece = rates[r] / 100 ? rates[r] / 100 : 1;
        uint64_t prev = 0;
        for (size_t i = 0; i < w.n_ops; i++) {
            const fl_wire_op_t *o = &w.ops[i];
            cr_assert_geq(o->at_ms, prev, "ops in time order");
            prev = o->at_ms;
            if (o->kind != FL_WIRE_WRITE)
                continue;
            cr_assert(o->own_write);
            cr_assert_leq(o->len, piece);
            /* any window of 1 s starting at a write holds at most `rate` bytes */
            uint64_t sum = 0;
            for (size_t j = i; j < w.n_ops && w.ops[j].at_ms < o->at_ms + 1000; j++)
                if (w.ops[j].kind == FL_WIRE_WRITE)
                    sum += w.ops[j].len;
            cr_assert_leq(sum, rates[r], "rate %llu at %llu ms", (unsigned long long)rates[r],
                          (unsigned long long)o->at_ms);
        }
        /* and the whole transfer takes about as long as the rate says */
        uint64_t total = fl_wire_total_bytes(&w);
        cr_assert_geq(w.ops[w.n_ops - 1].at_ms * rates[r], (total - 2 * piece) * 1000 / 2);
    }
}

Test(wirefaults, throttle_from_a_position_keeps_earlier_writes)
{
    fl_fault_t f = cx_fault(FL_FAULT_THROTTLE);
    f.at.kind = FL_AT_EVENT;
    f.at.n = 3;
    f.bytes = 100;
    compile(&f, 1);
    assert_same_bytes(&w, &clean);
    char *ops = cx_ops(&w);
    cr_assert(strncmp(ops, "W@0 W@0 W@100 F@150#0 W@150!#0 W@160!#0 W@170!#0", 48) == 0, "%s", ops);
    free(ops);
    cr_assert_eq(cx_fire(&w, 0)->event, 2);
}

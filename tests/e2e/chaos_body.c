/*
 * Faults on the body bytes: corrupt (json, utf8, chunk_size, garbage, sse), line_endings (crlf,
 * cr), duplicate, inject, and seeded chaos (same seed, same bytes; another seed, other bytes).
 * Each faulty body is compared with a clean attempt's, ids and `created` normalised.
 */
#include "e2e_server.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define CHAT "/v1/chat/completions"

static void setup(void)
{
    es_start(FL_TESTDATA_DIR "/chaos");
}

TestSuite(chaos_body, .init = setup, .fini = es_stop, .timeout = 30);

/* Runs the faulty attempt then the clean one, and checks the clean one. */
static void run_pair(const char *scenario, es_ex_t *x, es_ex_t *clean)
{
    es_run(scenario, CHAT, 5000, 0, x);
    es_run(scenario, CHAT, 5000, 0, clean);
    cr_assert_eq(clean->r.end, FL_RAW_EOF);
    cr_assert(clean->d.dc.terminated);
    cr_assert_eq(clean->ev.n, 7);
    cr_assert_eq(x->d.status, 200);
    cr_assert_eq(x->r.end, FL_RAW_EOF, "ended with %s", fl_raw_end_name(x->r.end));
}

static void assert_fault_at_3(const char *scenario, const char *fault)
{
    json_t *e = es_entry(scenario, 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, fault, 3, 0, 250);
    json_decref(e);
}

static void assert_same(const es_ex_t *x, const es_ex_t *clean, size_t from, size_t to,
                        size_t xfrom)
{
    char *a = es_join(&x->ev, xfrom, xfrom + (to - from));
    char *b = es_join(&clean->ev, from, to);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}

Test(chaos_body, corrupt_json_cuts_event_3_in_half)
{
    es_ex_t x, clean;
    run_pair("chaos-corrupt-json", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.ev.n, 7);
    assert_same(&x, &clean, 0, 2, 0);
    assert_same(&x, &clean, 3, 7, 3);
    const char *bad = x.ev.ev[2], *good = clean.ev.ev[2];
    size_t n = strlen(bad);
    cr_assert(n > 8 && strcmp(bad + n - 2, "\n\n") == 0);
    cr_assert_lt(n, strlen(good) * 3 / 4, "event 3 was not cut: %s", bad);
    cr_assert(strncmp(bad, good, n - 2) == 0, "not a prefix of the clean event: %s", bad);
    json_t *j = json_loads(bad + 6, 0, NULL);
    cr_assert_null(j, "the cut data still parses");
    assert_fault_at_3("chaos-corrupt-json", "corrupt");
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_body, corrupt_utf8_inserts_invalid_bytes)
{
    es_ex_t x, clean;
    run_pair("chaos-corrupt-utf8", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.ev.n, 7);
    assert_same(&x, &clean, 0, 2, 0);
    assert_same(&x, &clean, 3, 7, 3);
    char *bad = strdup(x.ev.ev[2]);
    char *p = strstr(bad, "\xC3\x28\xFF");
    cr_assert_not_null(p, "no invalid UTF-8 in event 3: %s", bad);
    memmove(p, p + 3, strlen(p + 3) + 1);
    cr_assert_str_eq(bad, clean.ev.ev[2], "removing the 3 bytes does not give the clean event");
    free(bad);
    assert_fault_at_3("chaos-corrupt-utf8", "corrupt");
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_body, corrupt_chunk_size_is_not_hex)
{
    es_ex_t x, clean;
    run_pair("chaos-corrupt-chunk-size", &x, &clean);
    cr_assert_eq(x.d.dc_rc, -1, "the chunked framing decoded cleanly");
    const char *body = x.r.all + x.d.head_len;
    cr_assert(strncmp(body + x.d.dc.bad_at, "zz\r\n", 4) == 0, "bad at %zu: %.10s", x.d.dc.bad_at,
              body + x.d.dc.bad_at);
    /* what decoded before the bad size line is events 1 and 2 */
    char *before = es_normalise(x.d.dc.data, x.d.dc.len, NULL);
    char *want = es_join(&clean.ev, 0, 2);
    cr_assert_str_eq(before, want);
    free(before);
    free(want);
    /* the rest of the stream still follows, ending with the terminator */
    cr_assert(memcmp(x.r.all + x.r.len - 5, "0\r\n\r\n", 5) == 0);
    cr_assert_not_null(strstr(body + x.d.dc.bad_at, "data: [DONE]\n\n"));
    assert_fault_at_3("chaos-corrupt-chunk-size", "corrupt");
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_body, corrupt_garbage_is_16_seeded_bytes)
{
    es_ex_t x, clean, again;
    run_pair("chaos-corrupt-garbage", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.norm_len, clean.norm_len + 16, "%zu vs %zu", x.norm_len, clean.norm_len);
    char *head = es_join(&clean.ev, 0, 2), *tail = es_join(&clean.ev, 2, 7);
    size_t hl = strlen(head), tl = strlen(tail);
    cr_assert(memcmp(x.norm, head, hl) == 0);
    cr_assert(memcmp(x.norm + hl + 16, tail, tl) == 0);
    cr_assert(memcmp(x.norm + hl, tail, 16) != 0, "no garbage where it belongs");
    free(head);
    free(tail);
    assert_fault_at_3("chaos-corrupt-garbage", "corrupt");
    /* seed 5 written: the same bytes on the next first attempt */
    es_reset();
    es_run("chaos-corrupt-garbage", CHAT, 5000, 0, &again);
    cr_assert_eq(again.norm_len, x.norm_len);
    cr_assert(memcmp(again.norm, x.norm, x.norm_len) == 0, "the seeded garbage changed");
    es_ex_free(&x);
    es_ex_free(&clean);
    es_ex_free(&again);
}

Test(chaos_body, corrupt_sse_is_legal_and_loses_nothing)
{
    es_ex_t x, clean;
    run_pair("chaos-corrupt-sse", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_not_null(strstr(x.norm, "bogus\nx-faultline: 1\ndata:{"), "%s", x.norm);
    test_sse_t a, b;
    test_sse_parse(x.norm, x.norm_len, &a);
    test_sse_parse(clean.norm, clean.norm_len, &b);
    cr_assert_eq(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        cr_assert_str_eq(a.events[i].event, b.events[i].event);
        cr_assert_str_eq(a.events[i].data, b.events[i].data, "event %zu", i + 1);
    }
    test_sse_free(&a);
    test_sse_free(&b);
    assert_fault_at_3("chaos-corrupt-sse", "corrupt");
    es_ex_free(&x);
    es_ex_free(&clean);
}

static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *o = malloc(strlen(s) * (tl > fl ? tl : 1) + 1);
    while (*s) {
        if (strncmp(s, from, fl) == 0) {
            memcpy(o + n, to, tl);
            n += tl;
            s += fl;
        } else {
            o[n++] = *s++;
        }
    }
    o[n] = '\0';
    return o;
}

Test(chaos_body, line_endings_crlf)
{
    es_ex_t x, clean;
    run_pair("chaos-crlf", &x, &clean);
    cr_assert(x.d.dc.terminated);
    size_t lf = es_count(x.norm, x.norm_len, "\n"), crlf = es_count(x.norm, x.norm_len, "\r\n");
    cr_assert_gt(lf, 10);
    cr_assert_eq(lf, crlf, "%zu LF, %zu CRLF: a bare LF is left", lf, crlf);
    char *back = replace_all(x.norm, "\r\n", "\n");
    cr_assert_str_eq(back, clean.norm);
    free(back);
    json_t *e = es_entry("chaos-crlf", 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    cr_assert_str_eq(es_str(json_array_get(json_object_get(e, "faults"), 0), "fault"),
                     "line_endings");
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_body, line_endings_cr)
{
    es_ex_t x, clean;
    run_pair("chaos-cr", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(es_count(x.norm, x.norm_len, "\n"), 0, "an LF is left");
    cr_assert_eq(es_count(x.norm, x.norm_len, "\r"), es_count(clean.norm, clean.norm_len, "\n"));
    char *back = replace_all(x.norm, "\r", "\n");
    cr_assert_str_eq(back, clean.norm);
    free(back);
    /* a parser that accepts CR line ends still sees the whole stream */
    test_sse_t a;
    test_sse_parse(x.norm, x.norm_len, &a);
    cr_assert_eq(a.n, 7);
    cr_assert_str_eq(a.events[6].data, "[DONE]");
    test_sse_free(&a);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_body, duplicate_sends_event_3_twice)
{
    es_ex_t x, clean;
    run_pair("chaos-duplicate", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.ev.n, 8);
    assert_same(&x, &clean, 0, 3, 0);
    cr_assert_str_eq(x.ev.ev[3], clean.ev.ev[2]);
    assert_same(&x, &clean, 3, 7, 4);
    assert_fault_at_3("chaos-duplicate", "duplicate");
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_body, inject_inserts_bytes_before_event_3)
{
    es_ex_t x, clean;
    run_pair("chaos-inject", &x, &clean);
    cr_assert(x.d.dc.terminated);
    cr_assert_eq(x.ev.n, 8);
    assert_same(&x, &clean, 0, 2, 0);
    cr_assert_str_eq(x.ev.ev[2], ": injected\n\n");
    assert_same(&x, &clean, 2, 7, 3);
    assert_fault_at_3("chaos-inject", "inject");
    es_ex_free(&x);
    es_ex_free(&clean);
}

/* The faults a journal entry lists, as "name@event ..." */
static void fault_list(const json_t *e, char *out, size_t n)
{
    out[0] = '\0';
    json_t *fs = json_object_get(e, "faults");
    for (size_t i = 0; i < json_array_size(fs); i++) {
        char one[64];
        const json_t *f = json_array_get(fs, i);
        snprintf(one, sizeof(one), "%s@%lld ", es_str(f, "fault"), es_int(f, "event", -1));
        strncat(out, one, n - strlen(out) - 1);
    }
}

Test(chaos_body, seeded_chaos_is_reproducible)
{
    es_ex_t a, b, other;
    char fa[256], fb[256];
    es_run("chaos-seeded", CHAT, 5000, 0, &a);
    json_t *e = es_entry("chaos-seeded", 1, 3000);
    cr_assert_not_null(e);
    fault_list(e, fa, sizeof(fa));
    json_decref(e);
    es_reset();
    es_run("chaos-seeded", CHAT, 5000, 0, &b);
    e = es_entry("chaos-seeded", 1, 3000);
    cr_assert_not_null(e);
    fault_list(e, fb, sizeof(fb));
    json_decref(e);
    es_run("chaos-seeded-other", CHAT, 5000, 0, &other);

    /* probability 1: all three candidates fire */
    cr_assert_not_null(strstr(fa, "corrupt@"), "%s", fa);
    cr_assert_not_null(strstr(fa, "duplicate@"), "%s", fa);
    cr_assert_not_null(strstr(fa, "inject@"), "%s", fa);
    cr_assert_str_eq(fa, fb);
    cr_assert_eq(a.r.end, FL_RAW_EOF);
    cr_assert(a.d.dc.terminated);
    cr_assert_eq(a.r.len, b.r.len);
    cr_assert_eq(a.norm_len, b.norm_len);
    cr_assert(memcmp(a.norm, b.norm, a.norm_len) == 0, "same seed, different bytes");
    cr_assert(a.norm_len != other.norm_len || memcmp(a.norm, other.norm, a.norm_len) != 0,
              "seeds 7 and 8 gave the same bytes");
    es_ex_free(&a);
    es_ex_free(&b);
    es_ex_free(&other);
}

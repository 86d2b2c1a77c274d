/*
 * Faults on the body bytes: corrupt (json, utf8, chunk_size, garbage, sse), line_endings (crlf,
 * cr), duplicate, inject, and seeded chaos (same seed, same bytes; another seed, other bytes).
 * Each faulty body is compared with a clean attempt's, ids and `created` normalised.
 */
#include "chaos_e2e.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(chaos_body, .init = ce_start, .fini = es_stop, .timeout = 30);

/* corrupt json: event 3 cut in half, a prefix of the clean event that no longer parses. */
static void json_cut_in_half(const ce_run_t *run)
{
    const char *bad = run->x.ev.ev[2], *good = run->clean.ev.ev[2];
    size_t n = strlen(bad);
    cr_assert(n > 8 && strcmp(bad + n - 2, "\n\n") == 0);
    cr_assert_lt(n, strlen(good) * 3 / 4, "event 3 was not cut: %s", bad);
    cr_assert(strncmp(bad, good, n - 2) == 0, "not a prefix of the clean event: %s", bad);
    json_t *j = json_loads(bad + 6, 0, NULL);
    cr_assert_null(j, "the cut data still parses");
}

/* corrupt utf8: three invalid bytes inserted into event 3, nothing else changed. */
static void utf8_inserted(const ce_run_t *run)
{
    char *bad = strdup(run->x.ev.ev[2]);
    char *p = strstr(bad, "\xC3\x28\xFF");
    cr_assert_not_null(p, "no invalid UTF-8 in event 3: %s", bad);
    memmove(p, p + 3, strlen(p + 3) + 1);
    cr_assert_str_eq(bad, run->clean.ev.ev[2],
                     "removing the 3 bytes does not give the clean event");
    free(bad);
}

/* corrupt chunk_size: a size line that is not hex, before event 3; the stream goes on. */
static void chunk_size_not_hex(const ce_run_t *run)
{
    const es_ex_t *x = &run->x;
    const char *body = x->r.all + x->d.head_len;
    cr_assert(strncmp(body + x->d.dc.bad_at, "zz\r\n", 4) == 0, "bad at %zu: %.10s", x->d.dc.bad_at,
              body + x->d.dc.bad_at);
    /* what decoded before the bad size line is events 1 and 2 */
    char *before = es_normalise(x->d.dc.data, x->d.dc.len, NULL);
    char *want = es_join(&run->clean.ev, 0, 2);
    cr_assert_str_eq(before, want);
    free(before);
    free(want);
    /* the rest of the stream still follows (the row checks that it ends with the terminator) */
    cr_assert_not_null(strstr(body + x->d.dc.bad_at, "data: [DONE]\n\n"));
}

/* corrupt garbage: 16 seeded bytes before event 3; the same bytes on the next first attempt. */
static void garbage_is_seeded(const ce_run_t *run)
{
    const es_ex_t *x = &run->x;
    cr_assert_eq(x->norm_len, run->clean.norm_len + 16, "%zu vs %zu", x->norm_len,
                 run->clean.norm_len);
    char *head = es_join(&run->clean.ev, 0, 2), *tail = es_join(&run->clean.ev, 2, 7);
    size_t hl = strlen(head), tl = strlen(tail);
    cr_assert(memcmp(x->norm, head, hl) == 0);
    cr_assert(memcmp(x->norm + hl + 16, tail, tl) == 0);
    cr_assert(memcmp(x->norm + hl, tail, 16) != 0, "no garbage where it belongs");
    free(head);
    free(tail);
    /* seed 5 written: the same bytes on the next first attempt */
    es_ex_t again;
    es_reset();
    es_run("chaos-corrupt-garbage", CE_CHAT, 5000, 0, &again);
    cr_assert_eq(again.norm_len, x->norm_len);
    cr_assert(memcmp(again.norm, x->norm, x->norm_len) == 0, "the seeded garbage changed");
    es_ex_free(&again);
}

/* corrupt sse: legal SSE that loses nothing: every event's name and data as the clean ones. */
static void sse_loses_nothing(const ce_run_t *run)
{
    const es_ex_t *x = &run->x, *clean = &run->clean;
    cr_assert_not_null(strstr(x->norm, "bogus\nx-faultline: 1\ndata:{"), "%s", x->norm);
    test_sse_t a, b;
    test_sse_parse(x->norm, x->norm_len, &a);
    test_sse_parse(clean->norm, clean->norm_len, &b);
    cr_assert_eq(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        cr_assert_str_eq(a.events[i].event, b.events[i].event);
        cr_assert_str_eq(a.events[i].data, b.events[i].data, "event %zu", i + 1);
    }
    test_sse_free(&a);
    test_sse_free(&b);
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

/* line_endings crlf: every LF became CRLF, and back again it is the clean body. */
static void all_crlf(const ce_run_t *run)
{
    const es_ex_t *x = &run->x;
    size_t lf = es_count(x->norm, x->norm_len, "\n"), crlf = es_count(x->norm, x->norm_len, "\r\n");
    cr_assert_gt(lf, 10);
    cr_assert_eq(lf, crlf, "%zu LF, %zu CRLF: a bare LF is left", lf, crlf);
    char *back = replace_all(x->norm, "\r\n", "\n");
    cr_assert_str_eq(back, run->clean.norm);
    free(back);
}

/* line_endings cr: every LF became CR; a parser that accepts CR still sees the whole stream. */
static void all_cr(const ce_run_t *run)
{
    const es_ex_t *x = &run->x, *clean = &run->clean;
    cr_assert_eq(es_count(x->norm, x->norm_len, "\n"), 0, "an LF is left");
    cr_assert_eq(es_count(x->norm, x->norm_len, "\r"),
                 es_count(clean->norm, clean->norm_len, "\n"));
    char *back = replace_all(x->norm, "\r", "\n");
    cr_assert_str_eq(back, clean->norm);
    free(back);
    test_sse_t a;
    test_sse_parse(x->norm, x->norm_len, &a);
    cr_assert_eq(a.n, 7);
    cr_assert_str_eq(a.events[6].data, "[DONE]");
    test_sse_free(&a);
}

/* inject: the injected comment stands where event 3 would have. */
static void injected_comment(const ce_run_t *run)
{
    cr_assert_str_eq(run->x.ev.ev[2], ": injected\n\n");
}

/* Every row: openai-chat, a clean attempt 2 of 7 events, the faulty attempt 200 ending at FIN.
 * The body faults fire at event 3, at once. */
#define BODY_CASE(name, ...)                                                                       \
    {                                                                                              \
        .scenario = name, .timeout_ms = 5000, .clean_timeout_ms = 5000, .end = FL_RAW_EOF,         \
        .status = 200, .j_end = "complete", __VA_ARGS__                                            \
    }
#define AT_3(kind) .fault = kind, .event = 3, .min_ms = 0, .max_ms = 250

static const ce_case_t cases[] = {
    /* a rewritten event went out: it counts as sent */
    BODY_CASE("chaos-corrupt-json", .terminated = CE_YES, .events = "0-1 ? 3-6", AT_3("corrupt"),
              .j_sent = 7, .check = json_cut_in_half),
    BODY_CASE("chaos-corrupt-utf8", .terminated = CE_YES, .events = "0-1 ? 3-6", AT_3("corrupt"),
              .check = utf8_inserted),
    BODY_CASE("chaos-corrupt-chunk-size", .dc_rc = -1, .tail = "0\r\n\r\n", AT_3("corrupt"),
              .check = chunk_size_not_hex),
    BODY_CASE("chaos-corrupt-garbage", .terminated = CE_YES, AT_3("corrupt"),
              .check = garbage_is_seeded),
    BODY_CASE("chaos-corrupt-sse", .terminated = CE_YES, AT_3("corrupt"),
              .check = sse_loses_nothing),
    BODY_CASE("chaos-crlf", .terminated = CE_YES, .faults = "line_endings", .check = all_crlf),
    BODY_CASE("chaos-cr", .terminated = CE_YES, .faults = "line_endings", .check = all_cr),
    /* an event sent twice is one event sent; injected bytes are no event */
    BODY_CASE("chaos-duplicate", .terminated = CE_YES, .events = "0-2 2-6", AT_3("duplicate"),
              .j_sent = 7),
    BODY_CASE("chaos-inject", .terminated = CE_YES, .events = "0-1 ? 2-6", AT_3("inject"),
              .j_sent = 7, .check = injected_comment),
};

CE_TABLE(chaos_body, cases)

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
    es_run("chaos-seeded", CE_CHAT, 5000, 0, &a);
    json_t *e = es_entry("chaos-seeded", 1, 3000);
    cr_assert_not_null(e);
    fault_list(e, fa, sizeof(fa));
    json_decref(e);
    es_reset();
    es_run("chaos-seeded", CE_CHAT, 5000, 0, &b);
    e = es_entry("chaos-seeded", 1, 3000);
    cr_assert_not_null(e);
    fault_list(e, fb, sizeof(fb));
    json_decref(e);
    es_run("chaos-seeded-other", CE_CHAT, 5000, 0, &other);

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

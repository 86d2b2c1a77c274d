/*
 * The robust client's SSE parser (clients/c/robust/rc_sse.c) against the WHATWG "Parsing an
 * event stream" rules. Every case runs with its input whole, then split at every offset into
 * two feeds, then one byte per feed: the events must be the same each time.
 */
#include "rc_sse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Events recorded as "type|id|data" lines joined by "\n---\n". */
typedef struct {
    char log[4096];
    int count;
} record_t;

static int record(void *ud, const rc_sse_event_t *ev)
{
    record_t *r = ud;
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof(r->log) - n, "%s%s|%s|%.*s", r->count ? "\n---\n" : "", ev->type,
             ev->id, (int)ev->data_len, ev->data);
    r->count++;
    return 0;
}

/* Feeds `in` in pieces of `piece` bytes (0: whole), or split once at `split` when > 0. */
static int run(const char *in, size_t len, size_t piece, size_t split, record_t *r)
{
    rc_sse_t p = {0};
    memset(r, 0, sizeof(*r));
    rc_sse_init(&p, record, r);
    int rc = 0;
    if (split > 0) {
        rc = rc_sse_feed(&p, in, split);
        if (!rc)
            rc = rc_sse_feed(&p, in + split, len - split);
    } else if (piece == 0) {
        rc = rc_sse_feed(&p, in, len);
    } else {
        for (size_t i = 0; i < len && !rc; i += piece)
            rc = rc_sse_feed(&p, in + i, len - i < piece ? len - i : piece);
    }
    if (!rc)
        rc = rc_sse_finish(&p);
    rc_sse_close(&p);
    return rc;
}

typedef struct {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen */
    const char *want;
    int count;
} sse_case_t;

static const sse_case_t cases[] = {
    {"LF", "data: a\n\n", 0, "message||a", 1},
    {"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", 0, "message||a\n---\nmessage||b", 2},
    {"CR", "data: a\r\rdata: b\r\r", 0, "message||a\n---\nmessage||b", 2},
    {"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", 0, "message||a\nb\nc", 1},
    {"LF CR is two line ends", "data: a\n\rdata: b\n\n", 0, "message||a\n---\nmessage||b", 2},
    {"BOM stripped",
     "\xEF\xBB\xBF"
     "data: a\n\n",
     0, "message||a", 1},
    {"second BOM kept",
     "\xEF\xBB\xBF\xEF\xBB\xBF"
     "data: a\n\n",
     0, "", 0},
    {"comments", ": ping\n\n:x\ndata: a\n: mid\n\n", 0, "message||a", 1},
    {"multi-line data", "data: a\ndata:\ndata: c\n\n", 0, "message||a\n\nc", 1},
    {"event and id", "event: delta\nid: 7\ndata: {}\n\n", 0, "delta|7|{}", 1},
    {"id persists, type resets", "event: x\nid: 1\ndata: a\n\ndata: b\n\n", 0,
     "x|1|a\n---\nmessage|1|b", 2},
    {"one optional space only", "data:  two\n\ndata:none\n\n", 0,
     "message|| two\n---\nmessage||none", 2},
    {"field without colon dispatches empty data", "data\n\n", 0, "message||", 1},
    {"no-colon data then data", "data\ndata: x\n\n", 0, "message||\nx", 1},
    {"unknown field and retry ignored", "foo: bar\nretry: 3000\ndata: a\n\n", 0, "message||a", 1},
    {"empty data not dispatched", "event: ping\n\n", 0, "", 0},
    {"unfinished event discarded", "data: a\n\ndata: b\n", 0, "message||a", 1},
    {"colon in value", "data: a: b\n\n", 0, "message||a: b", 1},
    {"utf-8 2/3/4 bytes", "data: \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\n", 0,
     "message||\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 1},
    {"NUL in id ignored", "id: a\0b\ndata: x\n\n", 17, "message||x", 1},
};

/* A loop over the table rather than Criterion's parameterized tests: those copy each case
 * into a shared arena for a re-executed child, where the string pointers would dangle. */
static void check_case(const sse_case_t *tc)
{
    size_t len = tc->len ? tc->len : strlen(tc->in);
    record_t r;
    cr_assert_eq(run(tc->in, len, 0, 0, &r), 0, "%s: whole", tc->name);
    cr_expect_str_eq(r.log, tc->want, "%s: whole", tc->name);
    cr_expect_eq(r.count, tc->count, "%s: count", tc->name);
    cr_assert_eq(run(tc->in, len, 1, 0, &r), 0, "%s: per byte", tc->name);
    cr_expect_str_eq(r.log, tc->want, "%s: per byte", tc->name);
    for (size_t s = 1; s < len; s++) {
        cr_assert_eq(run(tc->in, len, 0, s, &r), 0, "%s: split at %zu", tc->name, s);
        cr_expect_str_eq(r.log, tc->want, "%s: split at %zu", tc->name, s);
    }
}

Test(rclient_sse, events_whole_split_and_per_byte, .timeout = 30)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

Test(rclient_sse, cr_lf_across_feeds_is_one_line_end, .timeout = 10)
{
    /* "data: a\r" then "\ndata: b\r\n\r\n": the LF completes the CR's line end; if it counted
     * as a second one, the blank line would dispatch "a" alone. */
    record_t r = {0};
    rc_sse_t p = {0};
    rc_sse_init(&p, record, &r);
    cr_assert_eq(rc_sse_feed(&p, "data: a\r", 8), 0);
    cr_assert_eq(r.count, 0);
    cr_assert_eq(rc_sse_feed(&p, "\ndata: b\r", 9), 0);
    cr_assert_eq(r.count, 0);
    cr_assert_eq(rc_sse_feed(&p, "\n\r\n", 3), 0);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.log, "message||a\nb");
    rc_sse_close(&p);
}

static int stop_at_first(void *ud, const rc_sse_event_t *ev)
{
    (void)ev;
    ++*(int *)ud;
    return 7;
}

Test(rclient_sse, callback_stops_the_feed, .timeout = 10)
{
    int n = 0;
    rc_sse_t p = {0};
    rc_sse_init(&p, stop_at_first, &n);
    cr_assert_eq(rc_sse_feed(&p, "data: a\n\ndata: b\n\n", 18), 7);
    cr_assert_eq(n, 1);
    rc_sse_close(&p);
}

typedef struct {
    const char *name;
    const char *in;
} bad_case_t;

static const bad_case_t bad[] = {
    {"stray continuation", "data: \x80\n\n"},
    {"C0 overlong", "data: \xC0\xAF\n\n"},
    {"E0 overlong", "data: \xE0\x80\xAF\n\n"},
    {"F0 overlong", "data: \xF0\x80\x80\xAF\n\n"},
    {"surrogate", "data: \xED\xA0\x80\n\n"},
    {"above U+10FFFF", "data: \xF4\x90\x80\x80\n\n"},
    {"F5 lead", "data: \xF5\x80\x80\x80\n\n"},
    {"FF", "data: \xFF\n\n"},
    {"cut by ASCII", "data: \xE2\x82"
                     "a\n\n"},
    {"cut by a new lead", "data: \xC3\xC3\xA9\n\n"},
};

static void check_bad(const bad_case_t *tc)
{
    record_t r;
    size_t len = strlen(tc->in);
    cr_expect_eq(run(tc->in, len, 0, 0, &r), RC_UTF8_EINVAL, "%s: whole", tc->name);
    cr_expect_eq(r.count, 0, "%s: no event", tc->name);
    cr_expect_eq(run(tc->in, len, 1, 0, &r), RC_UTF8_EINVAL, "%s: per byte", tc->name);
    cr_expect_eq(r.count, 0, "%s: no event per byte", tc->name);
}

Test(rclient_sse, invalid_utf8_rejected, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_bad(&bad[i]);
}

Test(rclient_sse, stream_ending_inside_a_code_point, .timeout = 10)
{
    record_t r;
    cr_expect_eq(run("data: a\n\n\xE2\x82", 11, 0, 0, &r), RC_UTF8_EINVAL);
    cr_expect_eq(r.count, 1);
}

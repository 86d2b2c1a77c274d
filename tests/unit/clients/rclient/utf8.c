/*
 * The robust client's incremental UTF-8 decoder (clients/c/robust/rc_utf8.c): code points of
 * 2, 3 and 4 bytes split at every offset across feeds come out whole and in order; invalid
 * sequences are rejected however they are split.
 */
#include "rc_utf8.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct {
    char out[256];
    size_t len;
    int calls;
    int split_code_point; /* a delivery ended inside a code point */
} sink_t;

static int collect(void *ud, const char *data, size_t len)
{
    sink_t *s = ud;
    cr_assert_lt(s->len + len, sizeof(s->out));
    memcpy(s->out + s->len, data, len);
    s->len += len;
    s->calls++;
    /* a delivery must never end with a lead byte or inside a sequence */
    const unsigned char *p = (const unsigned char *)data;
    size_t i = len;
    size_t back = 0;
    while (i > 0 && (p[i - 1] & 0xC0) == 0x80 && back < 4)
        i--, back++;
    if (i > 0) {
        unsigned char lead = p[i - 1];
        size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
        if (need != back)
            s->split_code_point = 1;
    }
    return 0;
}

static const char text[] = "a\xC3\xA9"
                           "b\xE2\x82\xAC"
                           "c\xF0\x9F\x98\x80"
                           "d";

Test(rclient_utf8, whole_and_split_at_every_offset, .timeout = 10)
{
    size_t len = strlen(text);
    for (size_t s1 = 0; s1 <= len; s1++) {
        for (size_t s2 = s1; s2 <= len; s2++) {
            rc_utf8_t d;
            sink_t sink = {0};
            rc_utf8_init(&d);
            cr_assert_eq(rc_utf8_feed(&d, text, s1, collect, &sink), 0);
            cr_assert_eq(rc_utf8_feed(&d, text + s1, s2 - s1, collect, &sink), 0);
            cr_assert_eq(rc_utf8_feed(&d, text + s2, len - s2, collect, &sink), 0);
            cr_assert_eq(rc_utf8_finish(&d), 0);
            cr_assert_eq(sink.len, len, "splits %zu/%zu", s1, s2);
            cr_assert_eq(memcmp(sink.out, text, len), 0, "splits %zu/%zu", s1, s2);
            cr_assert_eq(sink.split_code_point, 0, "splits %zu/%zu", s1, s2);
        }
    }
}

Test(rclient_utf8, one_byte_per_feed, .timeout = 10)
{
    size_t len = strlen(text);
    rc_utf8_t d;
    sink_t sink = {0};
    rc_utf8_init(&d);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(rc_utf8_feed(&d, text + i, 1, collect, &sink), 0);
    cr_assert_eq(rc_utf8_finish(&d), 0);
    cr_assert_eq(sink.len, len);
    cr_assert_eq(memcmp(sink.out, text, len), 0);
    cr_assert_eq(sink.split_code_point, 0);
}

Test(rclient_utf8, partial_code_point_is_held_back, .timeout = 10)
{
    rc_utf8_t d;
    sink_t sink = {0};
    rc_utf8_init(&d);
    cr_assert_eq(rc_utf8_feed(&d, "x\xF0\x9F", 3, collect, &sink), 0);
    cr_assert_eq(sink.len, 1);
    cr_assert_eq(rc_utf8_finish(&d), RC_UTF8_EINVAL);
    cr_assert_eq(rc_utf8_feed(&d, "\x98\x80", 2, collect, &sink), 0);
    cr_assert_eq(sink.len, 5);
    cr_assert_eq(memcmp(sink.out, "x\xF0\x9F\x98\x80", 5), 0);
    cr_assert_eq(rc_utf8_finish(&d), 0);
}

Test(rclient_utf8, boundaries, .timeout = 10)
{
    static const struct {
        const char *in;
        int ok;
    } cases[] = {
        {"\xC2\x80", 1},         {"\xDF\xBF", 1},         {"\xE0\xA0\x80", 1},
        {"\xE0\x9F\xBF", 0},     {"\xED\x9F\xBF", 1},     {"\xED\xA0\x80", 0},
        {"\xED\xBF\xBF", 0},     {"\xEE\x80\x80", 1},     {"\xEF\xBF\xBF", 1},
        {"\xF0\x90\x80\x80", 1}, {"\xF0\x8F\xBF\xBF", 0}, {"\xF4\x8F\xBF\xBF", 1},
        {"\xF4\x90\x80\x80", 0}, {"\xC1\xBF", 0},         {"\xF8\x88\x80\x80\x80", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc_utf8_t d;
        sink_t sink = {0};
        rc_utf8_init(&d);
        int rc = rc_utf8_feed(&d, cases[i].in, strlen(cases[i].in), collect, &sink);
        if (rc == 0)
            rc = rc_utf8_finish(&d);
        cr_expect_eq(rc == 0, cases[i].ok, "case %zu", i);
    }
}

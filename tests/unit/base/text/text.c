/* UTF-8 validation and chunking by word, char and bytes:N. */
#include "base/error.h"
#include "base/text.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define E_ACUTE "\xc3\xa9"         /* é, 2 bytes */
#define ZHONG   "\xe4\xb8\xad"     /* 中, 3 bytes */
#define GRIN    "\xf0\x9f\x98\x80" /* 😀, 4 bytes */

/* Splits text and returns the pieces joined by '|' (caller frees); checks on the way that
 * pieces are contiguous, non-empty, cover the text and end on character boundaries. */
static char *split_join(const char *text, fl_chunking_kind_t kind, size_t n)
{
    size_t len = strlen(text);
    fl_text_piece_t *p;
    size_t count;
    cr_assert_eq(fl_text_split(text, len, kind, n, &p, &count), 0);
    char *out = calloc(2 * len + 2, 1);
    size_t pos = 0, o = 0;
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(p[i].off, pos, "piece %zu not contiguous", i);
        cr_assert_gt(p[i].len, 0);
        cr_assert(fl_utf8_valid(text + p[i].off, p[i].len), "piece %zu splits a character", i);
        if (i)
            out[o++] = '|';
        memcpy(out + o, text + p[i].off, p[i].len);
        o += p[i].len;
        pos += p[i].len;
    }
    cr_assert_eq(pos, len, "pieces do not cover the text");
    free(p);
    return out;
}

typedef struct {
    const char *text;
    fl_chunking_kind_t kind;
    size_t n;
    const char *want; /* pieces joined by '|' */
} split_case_t;

static const split_case_t cases[] = {
    {"Hello, world!", FL_CHUNKING_WORD, 0, "Hello,| world!"},
    {"  lead and trail  ", FL_CHUNKING_WORD, 0, "  lead| and| trail  "},
    {"a\n\nb\tc", FL_CHUNKING_WORD, 0, "a|\n\nb|\tc"},
    {"   ", FL_CHUNKING_WORD, 0, "   "},
    {"one", FL_CHUNKING_WORD, 0, "one"},
    {"caf" E_ACUTE " " ZHONG ZHONG " " GRIN "!", FL_CHUNKING_WORD, 0,
     "caf" E_ACUTE "| " ZHONG ZHONG "| " GRIN "!"},
    {"ab c", FL_CHUNKING_CHAR, 0, "a|b| |c"},
    {"a" E_ACUTE ZHONG GRIN "z", FL_CHUNKING_CHAR, 0, "a|" E_ACUTE "|" ZHONG "|" GRIN "|z"},
    {"abcdefg", FL_CHUNKING_BYTES, 3, "abc|def|g"},
    {"abc", FL_CHUNKING_BYTES, 1, "a|b|c"},
    {"abc", FL_CHUNKING_BYTES, 10, "abc"},
    {"a" E_ACUTE "b", FL_CHUNKING_BYTES, 2, "a|" E_ACUTE "|b"},
    {E_ACUTE E_ACUTE E_ACUTE, FL_CHUNKING_BYTES, 5, E_ACUTE E_ACUTE "|" E_ACUTE},
    {ZHONG ZHONG "x", FL_CHUNKING_BYTES, 4, ZHONG "|" ZHONG "x"},
    /* A character longer than N still makes a whole piece. */
    {GRIN GRIN, FL_CHUNKING_BYTES, 1, GRIN "|" GRIN},
    {"a" GRIN "b", FL_CHUNKING_BYTES, 3, "a|" GRIN "|b"},
    {"a" GRIN "bcd", FL_CHUNKING_BYTES, 5, "a" GRIN "|bcd"},
};

Test(text, split_cases, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = split_join(cases[i].text, cases[i].kind, cases[i].n);
        cr_assert_str_eq(got, cases[i].want, "case %zu", i);
        free(got);
    }
}

/* Every kind and every N from 1 to 9 over mixed-width text: the invariants hold. */
Test(text, split_invariants_mixed_widths, .timeout = 10)
{
    const char *text = " A" E_ACUTE ZHONG GRIN " x " GRIN GRIN ZHONG E_ACUTE "z\n";
    for (size_t n = 1; n < 10; n++)
        free(split_join(text, FL_CHUNKING_BYTES, n));
    free(split_join(text, FL_CHUNKING_WORD, 0));
    free(split_join(text, FL_CHUNKING_CHAR, 0));
}

Test(text, split_empty_and_bad_args, .timeout = 10)
{
    fl_text_piece_t *p = (fl_text_piece_t *)1;
    size_t n = 99;
    cr_assert_eq(fl_text_split("", 0, FL_CHUNKING_WORD, 0, &p, &n), 0);
    cr_assert_null(p);
    cr_assert_eq(n, 0);
    cr_assert_eq(fl_text_split("abc", 3, FL_CHUNKING_BYTES, 0, &p, &n), FL_EINVAL);
    cr_assert_eq(fl_text_split("abc", 3, (fl_chunking_kind_t)42, 1, &p, &n), FL_EINVAL);
    cr_assert_null(p);
}

/* Invalid bytes count as one-byte characters: the split still covers the text. */
Test(text, split_invalid_utf8, .timeout = 10)
{
    const char text[] = "a\xff\xc3(\xe4\xb8";
    fl_text_piece_t *p;
    size_t n;
    cr_assert_eq(fl_text_split(text, sizeof(text) - 1, FL_CHUNKING_CHAR, 0, &p, &n), 0);
    cr_assert_eq(n, sizeof(text) - 1);
    free(p);
}

Test(text, utf8_valid, .timeout = 10)
{
    const char *good[] = {
        "", "ascii", E_ACUTE, ZHONG, GRIN, "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert(fl_utf8_valid(good[i], strlen(good[i])), "good %zu", i);
    cr_assert(fl_utf8_valid("a\0b", 3));

    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xc3",             /* truncated */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* invalid lead */
        "\xff",
        "\xe4\xb8",     /* truncated 中 */
        "\xf0\x9f\x98", /* truncated 😀 */
        "a\xc3(",       /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(fl_utf8_valid(bad[i], strlen(bad[i])), "bad %zu", i);
}

Test(text, utf8_char_len, .timeout = 10)
{
    cr_assert_eq(fl_utf8_char_len("a", 1), 1);
    cr_assert_eq(fl_utf8_char_len(E_ACUTE, 2), 2);
    cr_assert_eq(fl_utf8_char_len(ZHONG, 3), 3);
    cr_assert_eq(fl_utf8_char_len(GRIN, 4), 4);
    cr_assert_eq(fl_utf8_char_len(GRIN, 3), 1); /* truncated: one byte */
    cr_assert_eq(fl_utf8_char_len("\xff", 1), 1);
}

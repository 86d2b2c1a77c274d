/* The chunked decoder, fed whole and byte by byte (the fragmentation fault in miniature). */
#include "base/chunked.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <string.h>

static const struct {
    const char *wire;
    const char *body;
    bool done, bad;
} cases[] = {
    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", true, false},
    {"5;ext=1\r\nhello\r\n0\r\nx-trailer: y\r\n\r\n", "hello", true, false},
    {"A\r\n0123456789\r\n", "0123456789", false, false}, /* cut: no last chunk */
    {"3\r\nab", "ab", false, false},                     /* cut inside a chunk */
    {"zz\r\nhello\r\n", "", false, true},
};

Test(chunked, whole_and_byte_by_byte)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int per_byte = 0; per_byte < 2; per_byte++) {
            fl_chunked_t d;
            fl_buf_t out;
            fl_chunked_init(&d);
            fl_buf_init(&out);
            const char *w = cases[i].wire;
            size_t n = strlen(w);
            if (per_byte)
                for (size_t k = 0; k < n; k++)
                    cr_assert_eq(fl_chunked_feed(&d, w + k, 1, &out), 0);
            else
                cr_assert_eq(fl_chunked_feed(&d, w, n, &out), 0);
            fl_buf_append(&out, "", 0);
            cr_assert_str_eq(out.data, cases[i].body, "case %zu per_byte %d", i, per_byte);
            cr_assert_eq(d.done, cases[i].done, "case %zu per_byte %d", i, per_byte);
            cr_assert_eq(d.bad, cases[i].bad, "case %zu per_byte %d", i, per_byte);
            fl_buf_close(&out);
        }
    }
}

/*
 * The recording client's strict chunked decoder (RFC 9112 section 7.1), fed each case whole and
 * again one byte at a time: both must decode the same data, find the terminator in the same
 * place and report a malformed chunk-size line at the same offset.
 */
#include "rawclient.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

typedef struct dc_case_s {
    const char *name;
    const char *in;   /* chunked bytes */
    const char *data; /* decoded data expected (up to the error, if any) */
    size_t chunks;    /* data chunks completed */
    int terminated;   /* the zero-length chunk and final CRLF arrived */
    int bad;          /* malformed */
    size_t bad_at;    /* offset of the offending byte */
    size_t rest;      /* bytes after the terminator */
} dc_case_t;

static const dc_case_t cases[] = {
    {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 2, 1, 0, 0, 0},
    {"upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 1, 1, 0, 0, 0},
    {"extension", "3;name=v\r\nabc\r\n0\r\n\r\n", "abc", 1, 1, 0, 0, 0},
    {"trailer", "2\r\nok\r\n0\r\nx-t: 1\r\n\r\n", "ok", 1, 1, 0, 0, 0},
    {"CRLF inside data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", 1, 1, 0, 0, 0},
    {"bytes after", "1\r\na\r\n0\r\n\r\nHTTP", "a", 1, 1, 0, 0, 4},
    {"no terminator", "5\r\nhello\r\n", "hello", 1, 0, 0, 0, 0},
    {"cut in data", "5\r\nhel", "hel", 0, 0, 0, 0, 0},
    {"cut in terminator", "2\r\nhi\r\n0\r\n", "hi", 1, 0, 0, 0, 0},
    {"non-hex size", "2\r\nhi\r\nzz\r\nabc\r\n", "hi", 1, 0, 1, 7, 0},
    {"size then junk", "2\r\nhi\r\n3x\r\nabc", "hi", 1, 0, 1, 8, 0},
    {"empty size line", "\r\nhi", "", 0, 0, 1, 0, 0},
    {"bare LF after size", "2\nhi\r\n", "", 0, 0, 1, 1, 0},
    {"data too long", "2\r\nhiX\r\n", "hi", 0, 0, 1, 5, 0},
    {"missing LF after data", "2\r\nhi\rX", "hi", 0, 0, 1, 6, 0},
    {"size too long", "1000000000000000\r\n", "", 0, 0, 1, 15, 0},
    {"bad final CRLF", "0\r\n\rX", "", 0, 0, 1, 4, 0},
};

static void check(const dc_case_t *c, const fl_raw_dechunk_t *d, int rc, const char *how)
{
    cr_expect_eq(d->len, strlen(c->data), "%s (%s): length %zu", c->name, how, d->len);
    cr_expect(memcmp(d->data, c->data, strlen(c->data)) == 0, "%s (%s): data '%s'", c->name, how,
              d->data);
    cr_expect_eq(d->n_chunks, c->chunks, "%s (%s): chunks %zu", c->name, how, d->n_chunks);
    cr_expect_eq(d->terminated, (bool)c->terminated, "%s (%s): terminated", c->name, how);
    cr_expect_eq(d->bad, (bool)c->bad, "%s (%s): bad (%s)", c->name, how, d->why ? d->why : "");
    cr_expect_eq(rc, c->bad ? -1 : 0, "%s (%s): rc", c->name, how);
    if (c->bad) {
        cr_expect_eq(d->bad_at, c->bad_at, "%s (%s): bad_at %zu", c->name, how, d->bad_at);
        cr_expect_not_null(d->why);
    } else {
        cr_expect_eq(d->rest, c->rest, "%s (%s): rest %zu", c->name, how, d->rest);
    }
}

/* Criterion passes parameters to a new process by value: pass indexes, not the cases (their
 * string pointers would not survive the copy). */
static int idx[sizeof(cases) / sizeof(cases[0])];

ParameterizedTestParameters(dechunk, whole_and_per_byte)
{
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(int *ci, dechunk, whole_and_per_byte, .timeout = 10)
{
    const dc_case_t *c = &cases[*ci];
    fl_raw_dechunk_t d;
    fl_raw_dechunk_init(&d);
    int rc = fl_raw_dechunk_feed(&d, c->in, strlen(c->in));
    check(c, &d, rc, "whole");
    fl_raw_dechunk_close(&d);

    fl_raw_dechunk_init(&d);
    rc = 0;
    for (size_t i = 0; i < strlen(c->in) && rc == 0; i++)
        rc = fl_raw_dechunk_feed(&d, c->in + i, 1);
    check(c, &d, rc, "per byte");
    fl_raw_dechunk_close(&d);
}

Test(dechunk, error_is_sticky, .timeout = 10)
{
    fl_raw_dechunk_t d;
    fl_raw_dechunk_init(&d);
    cr_assert_eq(fl_raw_dechunk_feed(&d, "q\r\n", 3), -1);
    cr_assert_eq(fl_raw_dechunk_feed(&d, "1\r\na\r\n", 6), -1);
    cr_assert_eq(d.len, 0);
    cr_assert_eq(d.bad_at, 0);
    fl_raw_dechunk_close(&d);
}

Test(rawclient, head_and_headers, .timeout = 10)
{
    static const char r[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
                            "retry-after-ms:  250 \r\n\r\nbody";
    size_t hl = fl_raw_head_len(r, sizeof(r) - 1);
    cr_assert_eq(hl, sizeof(r) - 1 - 4);
    cr_assert_eq(fl_raw_status(r, hl), 429);
    char v[16];
    cr_assert(fl_raw_header(r, hl, "retry-after", v, sizeof(v)));
    cr_assert_str_eq(v, "1");
    cr_assert(fl_raw_header(r, hl, "Retry-After-Ms", v, sizeof(v)));
    cr_assert_str_eq(v, "250");
    cr_assert_not(fl_raw_header(r, hl, "retry", v, sizeof(v)));
    cr_assert_eq(fl_raw_head_len("HTTP/1.1 200 OK\r\n", 17), 0);
    cr_assert_eq(fl_raw_status("HTTP/1.1 2x0 OK\r\n\r\n", 19), 0);
}

Test(rawclient, post_request_shape, .timeout = 10)
{
    size_t len;
    char *req = fl_raw_post("/s/x/v1/messages", "x-a: 1\r\n", &len);
    cr_assert_eq(strlen(req), len);
    cr_assert(strncmp(req, "POST /s/x/v1/messages HTTP/1.1\r\n", 32) == 0, "%s", req);
    size_t hl = fl_raw_head_len(req, len);
    cr_assert_gt(hl, 0);
    char v[32];
    cr_assert(fl_raw_header(req, hl, "content-length", v, sizeof(v)));
    cr_assert_eq((size_t)atoi(v), len - hl);
    cr_assert(fl_raw_header(req, hl, "x-a", v, sizeof(v)));
    cr_assert_not_null(strstr(req + hl, "\"stream\":true"));
    cr_assert_not_null(strstr(req + hl, "\"messages\""));
    free(req);
}

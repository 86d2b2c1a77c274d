/*
 * The parser's header limit counts every byte of a request's head (request line, headers,
 * whitespace, line ends, blank lines before the request line), fed whole and byte by byte, and
 * refuses a flood the moment it crosses the limit; the phase accessor says where the request in
 * progress stands.
 */
#include "base/error.h"
#include "serve/http.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 4096

/* A head of `prefix`, then `unit` repeated until the text is `total` bytes long (no end). */
static char *flood(const char *prefix, const char *unit, size_t total)
{
    char *s = malloc(total + 1);
    cr_assert_not_null(s);
    size_t n = strlen(prefix), u = strlen(unit);
    memcpy(s, prefix, n);
    while (n < total) {
        size_t k = total - n < u ? total - n : u;
        memcpy(s + n, unit, k);
        n += k;
    }
    s[total] = '\0';
    return s;
}

/* Feeds in pieces of step bytes (0: whole); returns the 1-based index of the byte whose piece
 * was refused (for step 1: the exact byte), or 0 when every byte was taken. */
static size_t refused_at(const char *in, size_t len, size_t step, int *rc, int *status)
{
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1 << 20, LIMIT, &p), 0);
    size_t at = 0;
    *rc = 0;
    for (size_t off = 0; off < len;) {
        size_t n = step && step < len - off ? step : len - off;
        *rc = fl_http_parser_feed(p, in + off, n);
        off += n;
        if (*rc) {
            at = off;
            break;
        }
    }
    *status = fl_http_parser_error(p, NULL);
    fl_http_parser_free(p);
    return at;
}

typedef struct flood_case_s {
    const char *name;
    const char *prefix;
    const char *unit;
} flood_case_t;

/* Each counted only a fraction of its bytes (or none) before: url, field and value bytes
 * passed to callbacks, never whitespace, line ends or empty values. */
static const flood_case_t floods[] = {
    {"many small headers", "GET / HTTP/1.1\r\n", "a: b\r\n"},
    {"many empty headers", "GET / HTTP/1.1\r\n", "a:\r\n"},
    {"one header of spaces", "GET / HTTP/1.1\r\nx-a: ", " "},
    {"folded whitespace lines", "GET / HTTP/1.1\r\nx-a: b\r\n", " \t \r\n"},
    {"blank lines before a request", "", "\r\n"},
    {"a long request target", "GET /", "a"},
};

/* The parameter is the row's index: Criterion copies parameters into the test's process, where
 * the table's string pointers would not survive, but the static table itself does. */
ParameterizedTestParameters(header_bytes, floods_are_refused_at_the_limit)
{
    static size_t idx[sizeof(floods) / sizeof(floods[0])];
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(size_t *row, header_bytes, floods_are_refused_at_the_limit)
{
    const flood_case_t *c = &floods[*row];
    size_t len = 64 * LIMIT;
    char *in = flood(c->prefix, c->unit, len);
    int rc, status;
    /* byte by byte: the first byte past the limit is the one refused */
    size_t at = refused_at(in, len, 1, &rc, &status);
    cr_assert_eq(rc, FL_ELIMIT, "%s: rc %d", c->name, rc);
    cr_assert_eq(status, 431, "%s", c->name);
    cr_assert_eq(at, LIMIT + 1, "%s: refused at byte %zu, want %d", c->name, at, LIMIT + 1);
    /* whole, and in pieces of odd sizes: refused in the piece that holds that byte */
    static const size_t steps[] = {0, 7, 1000, LIMIT, LIMIT + 1};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        size_t s = steps[i];
        at = refused_at(in, len, s, &rc, &status);
        cr_assert_eq(rc, FL_ELIMIT, "%s, step %zu", c->name, s);
        cr_assert_eq(status, 431, "%s, step %zu", c->name, s);
        size_t want = s == 0 ? len : ((LIMIT + 1 + s - 1) / s) * s;
        if (want > len)
            want = len;
        cr_assert_eq(at, want, "%s, step %zu: refused at %zu, want %zu", c->name, s, at, want);
    }
    free(in);
}

/* A head just under the limit is taken whole and byte by byte; one byte more is refused. */
Test(header_bytes, the_limit_is_exact)
{
    static const char start[] = "GET / HTTP/1.1\r\nx: ";
    char in[LIMIT + 64];
    /* every byte counts, the blank line's included */
    size_t total = LIMIT;
    size_t fill = total - strlen(start) - 4;
    memcpy(in, start, strlen(start));
    memset(in + strlen(start), 'v', fill);
    memcpy(in + strlen(start) + fill, "\r\n\r\n", 5);
    cr_assert_eq(strlen(in), total);
    for (size_t step = 0; step <= 1; step++) {
        fl_http_parser_t *p;
        cr_assert_eq(fl_http_parser_new(1024, LIMIT, &p), 0);
        int rc = 0;
        for (size_t off = 0; off < total && !rc; off += step ? step : total)
            rc = fl_http_parser_feed(p, in + off, step ? step : total);
        cr_assert_eq(rc, 0, "step %zu", step);
        fl_http_request_t *r = fl_http_parser_next(p);
        cr_assert_not_null(r, "step %zu", step);
        cr_assert_eq(strlen(fl_http_request_header(r, "x")), fill);
        fl_http_request_free(r);
        fl_http_parser_free(p);
    }
    /* one more byte of value: over */
    char more[LIMIT + 64];
    memcpy(more, start, strlen(start));
    memset(more + strlen(start), 'v', fill + 1);
    memcpy(more + strlen(start) + fill + 1, "\r\n\r\n", 5);
    int rc, status;
    cr_assert_neq(refused_at(more, strlen(more), 1, &rc, &status), 0);
    cr_assert_eq(status, 431);
}

/* The count is per request: body bytes are not head bytes, and the next request starts at 0. */
Test(header_bytes, bodies_and_later_requests_start_afresh)
{
    size_t head_fill = LIMIT - 200;
    size_t body_len = 3 * LIMIT;
    size_t cap = 2 * (LIMIT + body_len) + 512;
    char *in = malloc(cap);
    cr_assert_not_null(in);
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        n += (size_t)snprintf(in + n, cap - n, "POST /%d HTTP/1.1\r\nx: ", k);
        memset(in + n, 'h', head_fill);
        n += head_fill;
        n += (size_t)snprintf(in + n, cap - n, "\r\ncontent-length: %zu\r\n\r\n", body_len);
        memset(in + n, 'b', body_len);
        n += body_len;
    }
    for (size_t step = 0; step <= 1; step++) {
        fl_http_parser_t *p;
        cr_assert_eq(fl_http_parser_new(1 << 20, LIMIT, &p), 0);
        int rc = 0;
        for (size_t off = 0; off < n && !rc; off += step ? step : n)
            rc = fl_http_parser_feed(p, in + off, step ? step : n);
        cr_assert_eq(rc, 0, "step %zu", step);
        cr_assert_eq(fl_http_parser_pending(p), 2, "step %zu", step);
        for (int k = 0; k < 2; k++) {
            fl_http_request_t *r = fl_http_parser_next(p);
            cr_assert_eq(r->body_len, body_len);
            fl_http_request_free(r);
        }
        fl_http_parser_free(p);
    }
    free(in);
}

/* Where a request stands after each byte, the same whole and byte by byte. */
Test(header_bytes, phase_follows_the_request)
{
    static const char in[] = "POST /a HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc"
                             "GET /b HTTP/1.1\r\n\r\n"
                             "\r\nGET /c HT";
    size_t len = sizeof(in) - 1;
    size_t head1 = strstr(in, "abc") - in; /* the first head's length, blank line included */
    size_t end1 = head1 + 3;               /* the first request's end */
    size_t end2 = strstr(in, "\r\n\r\n\r\n") - in + 4;
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, LIMIT, &p), 0);
    cr_assert_eq(fl_http_parser_phase(p), FL_HTTP_IDLE);
    for (size_t i = 0; i < len; i++) {
        cr_assert_eq(fl_http_parser_feed(p, in + i, 1), 0);
        size_t fed = i + 1;
        fl_http_phase_t want;
        if (fed < head1)
            want = FL_HTTP_HEAD;
        else if (fed < end1)
            want = FL_HTTP_BODY;
        else if (fed == end1 || fed == end2)
            want = FL_HTTP_IDLE;
        else
            want = FL_HTTP_HEAD; /* the second request's bytes, then "\r\nGET /c HT" */
        cr_assert_eq(fl_http_parser_phase(p), want, "after %zu bytes: phase %d, want %d", fed,
                     fl_http_parser_phase(p), want);
    }
    cr_assert_eq(fl_http_parser_pending(p), 2);
    fl_http_parser_free(p);

    /* whole: the same end state */
    cr_assert_eq(fl_http_parser_new(1024, LIMIT, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, in, len), 0);
    cr_assert_eq(fl_http_parser_pending(p), 2);
    cr_assert_eq(fl_http_parser_phase(p), FL_HTTP_HEAD);
    fl_http_parser_free(p);
    /* a complete bodyless request leaves it idle; a head with a body to come, in the body */
    cr_assert_eq(fl_http_parser_new(1024, LIMIT, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    cr_assert_eq(fl_http_parser_phase(p), FL_HTTP_IDLE);
    cr_assert_eq(fl_http_parser_feed(p, "POST / HTTP/1.1\r\ncontent-length: 9\r\n\r\nab", 41), 0);
    cr_assert_eq(fl_http_parser_phase(p), FL_HTTP_BODY);
    fl_http_parser_free(p);
}

/* The request parser, fed whole and byte by byte: both must yield the same requests. */
#include "base/error.h"
#include "serve/http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQS 8

typedef struct result_s {
    int rc;
    int status;
    size_t n;
    fl_http_request_t *reqs[MAX_REQS];
} result_t;

/* Feeds input in pieces of `step` bytes (0 = whole) and collects what the parser yields. */
static void run(const char *input, size_t len, size_t step, size_t max_body, size_t max_header,
                result_t *out)
{
    fl_http_parser_t *p;
    memset(out, 0, sizeof(*out));
    cr_assert_eq(fl_http_parser_new(max_body, max_header, &p), 0);
    size_t off = 0;
    while (off < len && out->rc == 0) {
        size_t n = step ? step : len;
        if (n > len - off)
            n = len - off;
        out->rc = fl_http_parser_feed(p, input + off, n);
        off += n;
        fl_http_request_t *r;
        while ((r = fl_http_parser_next(p)) && out->n < MAX_REQS)
            out->reqs[out->n++] = r;
    }
    out->status = fl_http_parser_error(p, NULL);
    fl_http_parser_free(p);
}

static void result_free(result_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        fl_http_request_free(r->reqs[i]);
}

static void assert_same(const result_t *a, const result_t *b)
{
    cr_assert_eq(a->rc, b->rc);
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const fl_http_request_t *x = a->reqs[i], *y = b->reqs[i];
        cr_assert_str_eq(x->method, y->method);
        cr_assert_str_eq(x->path, y->path);
        cr_assert_eq(x->query == NULL, y->query == NULL);
        if (x->query)
            cr_assert_str_eq(x->query, y->query);
        cr_assert_eq(x->body_len, y->body_len);
        cr_assert_eq(memcmp(x->body, y->body, x->body_len), 0);
        cr_assert_eq(x->n_headers, y->n_headers);
        for (size_t h = 0; h < x->n_headers; h++) {
            cr_assert_str_eq(x->headers[h].name, y->headers[h].name);
            cr_assert_str_eq(x->headers[h].value, y->headers[h].value);
        }
        cr_assert_eq(x->keep_alive, y->keep_alive);
        cr_assert_eq(x->http_minor, y->http_minor);
    }
}

/* Runs whole and per byte, checks they agree, returns the whole run in *out. */
static void run_both(const char *input, size_t max_body, size_t max_header, result_t *out)
{
    result_t per_byte;
    run(input, strlen(input), 0, max_body, max_header, out);
    run(input, strlen(input), 1, max_body, max_header, &per_byte);
    assert_same(out, &per_byte);
    result_free(&per_byte);
}

static const char simple[] = "POST /v1/messages?beta=true HTTP/1.1\r\n"
                             "Host: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\n"
                             "X-Api-Key: secret\r\n"
                             "Content-Length: 13\r\n"
                             "\r\n"
                             "{\"model\":\"m\"}";

Test(http, simple_request_whole_and_per_byte)
{
    result_t r;
    run_both(simple, 1024, 4096, &r);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.n, 1);
    fl_http_request_t *q = r.reqs[0];
    cr_assert_str_eq(q->method, "POST");
    cr_assert_str_eq(q->path, "/v1/messages");
    cr_assert_str_eq(q->query, "beta=true");
    cr_assert_eq(q->http_major, 1);
    cr_assert_eq(q->http_minor, 1);
    cr_assert_eq(q->n_headers, 4);
    cr_assert_str_eq(q->headers[2].name, "x-api-key");
    cr_assert_str_eq(fl_http_request_header(q, "content-type"), "application/json");
    cr_assert_str_eq(fl_http_request_header(q, "x-api-key"), "secret");
    cr_assert_null(fl_http_request_header(q, "authorization"));
    cr_assert_eq(q->body_len, 13);
    cr_assert_str_eq(q->body, "{\"model\":\"m\"}");
    cr_assert(q->keep_alive);
    result_free(&r);
}

Test(http, pipelined_requests_in_one_buffer)
{
    static const char in[] = "GET /_faultline/health HTTP/1.1\r\nHost: a\r\n\r\n"
                             "POST /v1/responses HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
                             "GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    result_t r;
    run_both(in, 1024, 4096, &r);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.n, 3);
    cr_assert_str_eq(r.reqs[0]->path, "/_faultline/health");
    cr_assert_str_eq(r.reqs[1]->method, "POST");
    cr_assert_str_eq(r.reqs[1]->body, "{}");
    cr_assert_str_eq(r.reqs[2]->path, "/three");
    cr_assert(r.reqs[0]->keep_alive);
    cr_assert_not(r.reqs[2]->keep_alive);
    result_free(&r);
}

Test(http, chunked_request_body_is_dechunked)
{
    static const char in[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\n{\"a\":\r\n"
                             "3;ext=1\r\n1}\n\r\n"
                             "0\r\n\r\n";
    result_t r;
    run_both(in, 1024, 4096, &r);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.reqs[0]->body_len, 8);
    cr_assert_str_eq(r.reqs[0]->body, "{\"a\":1}\n");
    result_free(&r);
}

Test(http, body_limit_by_content_length)
{
    result_t r;
    run_both(simple, 12, 4096, &r);
    cr_assert_eq(r.rc, FL_ELIMIT);
    cr_assert_eq(r.status, 413);
    cr_assert_eq(r.n, 0);
    result_free(&r);
    run_both(simple, 13, 4096, &r);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.n, 1);
    result_free(&r);
}

Test(http, body_limit_for_chunked_bodies)
{
    static const char in[] = "POST /v1/messages HTTP/1.1\r\nHost: a\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n";
    result_t r;
    run_both(in, 10, 4096, &r);
    cr_assert_eq(r.rc, FL_ELIMIT);
    cr_assert_eq(r.status, 413);
    result_free(&r);
}

Test(http, header_limit)
{
    char in[8192];
    char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: %s\r\n\r\n", big);
    result_t r;
    run_both(in, 1024, 4096, &r);
    cr_assert_eq(r.rc, FL_ELIMIT);
    cr_assert_eq(r.status, 431);
    cr_assert_eq(r.n, 0);
    result_free(&r);
    run_both(in, 1024, 8192, &r);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(strlen(fl_http_request_header(r.reqs[0], "x-big")), sizeof(big) - 1);
    result_free(&r);
}

static const char *const malformed[] = {
    "GARBAGE\r\n\r\n",
    "GET / HTTP/9.9.9\r\n\r\n",
    "GET / HTTP/1.1\r\nHost a\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
};

Test(http, malformed_input_is_reported)
{
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        result_t r;
        run_both(malformed[i], 1024, 4096, &r);
        cr_assert_eq(r.rc, FL_EHTTP, "case %zu", i);
        cr_assert_eq(r.status, 400, "case %zu", i);
        cr_assert_eq(r.n, 0, "case %zu", i);
        result_free(&r);
    }
}

Test(http, requests_before_garbage_survive)
{
    static const char in[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP AT ALL\r\n\r\n";
    result_t r;
    run_both(in, 1024, 4096, &r);
    cr_assert_eq(r.rc, FL_EHTTP);
    cr_assert_eq(r.n, 1);
    cr_assert_str_eq(r.reqs[0]->path, "/a");
    result_free(&r);
}

Test(http, keep_alive_flags)
{
    static const struct {
        const char *in;
        bool keep_alive;
        int minor;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, 1},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, 1},
        {"GET / HTTP/1.0\r\n\r\n", false, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        result_t r;
        run_both(cases[i].in, 1024, 4096, &r);
        cr_assert_eq(r.rc, 0, "case %zu", i);
        cr_assert_eq(r.n, 1, "case %zu", i);
        cr_assert_eq(r.reqs[0]->keep_alive, cases[i].keep_alive, "case %zu", i);
        cr_assert_eq(r.reqs[0]->http_minor, cases[i].minor, "case %zu", i);
        result_free(&r);
    }
}

Test(http, error_is_sticky)
{
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, 4096, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, "BAD\r\n\r\n", 7), FL_EHTTP);
    cr_assert_eq(fl_http_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18), FL_EHTTP);
    cr_assert_null(fl_http_parser_next(p));
    const char *msg = NULL;
    cr_assert_eq(fl_http_parser_error(p, &msg), 400);
    cr_assert_not_null(msg);
    fl_http_parser_free(p);
}

/*
 * Fuzz target: the HTTP request glue (serve/http.h), the wrapper around http-parser that every
 * byte a client sends goes through.
 *
 * Input layout: byte 0 picks the body and header limits, bytes 1-4 two split positions; the rest
 * is what a client sends on one connection. It is fed three ways: whole, in three pieces cut at
 * the two positions, and byte by byte (up to 4 KiB), taking complete requests after every feed
 * as the connection does. Each way must yield the same requests, field for field, and fail or
 * not alike: fragmentation is the one thing a parser must be indifferent to. Each request must
 * keep the wrapper's promises (a method and a path, lower-case header names, a NUL-terminated
 * body within the limit, request line and headers within the header limit), and an error must be
 * sticky, with a 400, 413 or 431 and a message.
 */
#include "fuzz.h"

#include "base/error.h"
#include "serve/http.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#define MAX_BYTEWISE 4096 /* bytes fed one at a time; longer inputs are cut here for that way */

/* The requests and the outcome of one way of feeding. */
typedef struct {
    fl_http_request_t **reqs;
    size_t n, cap;
    int err;    /* the sticky error code, 0 for none */
    int status; /* fl_http_parser_error */
} outcome_t;

static void outcome_close(outcome_t *o)
{
    for (size_t i = 0; i < o->n; i++)
        fl_http_request_free(o->reqs[i]);
    free(o->reqs);
}

static void check_request(const fl_http_request_t *r, size_t max_body, size_t max_header)
{
    FZ_CHECK(memchr(r->method, '\0', sizeof(r->method)) != NULL, "method not NUL-terminated");
    FZ_CHECK(r->method[0] != '\0', "empty method");
    FZ_CHECK(r->path != NULL, "no path");
    FZ_CHECK(strchr(r->path, '?') == NULL, "path '%s' keeps its query", r->path);
    FZ_CHECK(r->http_major >= 0 && r->http_minor >= 0, "HTTP/%d.%d", r->http_major, r->http_minor);
    FZ_CHECK(r->body != NULL && r->body[r->body_len] == '\0', "body not NUL-terminated");
    FZ_CHECK(r->body_len <= max_body, "body of %zu bytes over the %zu limit", r->body_len,
             max_body);
    FZ_CHECK(r->next == NULL, "a yielded request still linked");
    /* The URL and every header name and value count against the header limit. */
    size_t head = strlen(r->path) + (r->query ? strlen(r->query) + 1 : 0);
    for (size_t i = 0; i < r->n_headers; i++) {
        const fl_http_header_t *h = &r->headers[i];
        FZ_CHECK(h->name != NULL && h->value != NULL, "header %zu without name or value", i);
        for (const char *c = h->name; *c; c++)
            FZ_CHECK(!isupper((unsigned char)*c), "header name '%s' not lower-cased", h->name);
        head += strlen(h->name) + strlen(h->value);
        const char *v = fl_http_request_header(r, h->name);
        FZ_CHECK(v != NULL, "header '%s' not found by name", h->name);
    }
    FZ_CHECK(head <= max_header, "%zu bytes of request line and headers over the %zu limit", head,
             max_header);
}

static void take(fl_http_parser_t *p, outcome_t *o, size_t max_body, size_t max_header)
{
    size_t pending = fl_http_parser_pending(p);
    size_t got = 0;
    fl_http_request_t *r;
    while ((r = fl_http_parser_next(p)) != NULL) {
        check_request(r, max_body, max_header);
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 8;
            o->reqs = realloc(o->reqs, o->cap * sizeof(*o->reqs));
            FZ_CHECK(o->reqs != NULL, "out of memory");
        }
        o->reqs[o->n++] = r;
        got++;
    }
    FZ_CHECK(got == pending, "pending said %zu, took %zu", pending, got);
    FZ_CHECK(fl_http_parser_pending(p) == 0, "pending after taking all");
}

/* Feeds data in pieces ending at cuts[0..n_cuts) (ascending, last == size). */
static void feed_way(const char *data, const size_t *cuts, size_t n_cuts, size_t max_body,
                     size_t max_header, outcome_t *o)
{
    fl_http_parser_t *p;
    FZ_CHECK(fl_http_parser_new(max_body, max_header, &p) == 0, "parser_new");
    memset(o, 0, sizeof(*o));
    size_t from = 0;
    for (size_t i = 0; i < n_cuts && !o->err; i++) {
        int rc = fl_http_parser_feed(p, data + from, cuts[i] - from);
        from = cuts[i];
        take(p, o, max_body, max_header);
        o->err = rc;
    }
    const char *msg = (const char *)1;
    o->status = fl_http_parser_error(p, &msg);
    if (o->err) {
        FZ_CHECK(o->err == FL_EHTTP || o->err == FL_ELIMIT, "feed returned %d (%s)", o->err,
                 fl_strerror(o->err));
        FZ_CHECK((o->err == FL_EHTTP && o->status == 400) ||
                     (o->err == FL_ELIMIT && (o->status == 413 || o->status == 431)),
                 "error %s with status %d", fl_strerror(o->err), o->status);
        FZ_CHECK(msg != NULL && msg[0] != '\0', "status %d without a message", o->status);
        /* Sticky: the parser is dead and yields nothing more. */
        FZ_CHECK(fl_http_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18) == o->err,
                 "error not sticky");
        FZ_CHECK(fl_http_parser_next(p) == NULL, "a request after the error");
    } else {
        FZ_CHECK(o->status == 0 && msg == NULL, "status %d without an error", o->status);
    }
    fl_http_parser_free(p);
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const outcome_t *a, const outcome_t *b, const char *way)
{
    FZ_CHECK(a->n == b->n, "%s: %zu requests, whole: %zu", way, b->n, a->n);
    FZ_CHECK((a->err == 0) == (b->err == 0), "%s: error %d (status %d), whole: %d (status %d)", way,
             b->err, b->status, a->err, a->status);
    for (size_t i = 0; i < a->n; i++) {
        const fl_http_request_t *x = a->reqs[i], *y = b->reqs[i];
        FZ_CHECK(strcmp(x->method, y->method) == 0, "%s: request %zu method", way, i);
        FZ_CHECK(same_str(x->path, y->path) && same_str(x->query, y->query),
                 "%s: request %zu target '%s' vs '%s'", way, i, y->path, x->path);
        FZ_CHECK(x->http_major == y->http_major && x->http_minor == y->http_minor,
                 "%s: request %zu version", way, i);
        FZ_CHECK(x->keep_alive == y->keep_alive, "%s: request %zu keep_alive", way, i);
        FZ_CHECK(x->n_headers == y->n_headers, "%s: request %zu has %zu headers, whole %zu", way, i,
                 y->n_headers, x->n_headers);
        for (size_t h = 0; h < x->n_headers; h++)
            FZ_CHECK(strcmp(x->headers[h].name, y->headers[h].name) == 0 &&
                         strcmp(x->headers[h].value, y->headers[h].value) == 0,
                     "%s: request %zu header %zu '%s: %s' vs '%s: %s'", way, i, h,
                     y->headers[h].name, y->headers[h].value, x->headers[h].name,
                     x->headers[h].value);
        FZ_CHECK(x->body_len == y->body_len && memcmp(x->body, y->body, x->body_len) == 0,
                 "%s: request %zu body (%zu vs %zu bytes)", way, i, y->body_len, x->body_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t bodies[] = {8u * 1024 * 1024, 0, 16, 100};
    static const size_t headers[] = {64u * 1024, 32, 200, 1024};
    if (size < 5)
        return 0;
    size_t max_body = bodies[data[0] & 3];
    size_t max_header = headers[(data[0] >> 2) & 3];
    size_t c1 = (size_t)(data[1] | data[2] << 8);
    size_t c2 = (size_t)(data[3] | data[4] << 8);
    const char *in = (const char *)data + 5;
    size_t n = size - 5;
    c1 = n ? c1 % (n + 1) : 0;
    c2 = n ? c2 % (n + 1) : 0;
    if (c1 > c2) {
        size_t t = c1;
        c1 = c2;
        c2 = t;
    }

    outcome_t whole, split, bytewise;
    size_t one[] = {n};
    feed_way(in, one, 1, max_body, max_header, &whole);
    size_t three[] = {c1, c2, n};
    feed_way(in, three, 3, max_body, max_header, &split);
    check_same(&whole, &split, "split");

    size_t nb = n < MAX_BYTEWISE ? n : MAX_BYTEWISE;
    if (nb == n) {
        size_t cuts[MAX_BYTEWISE];
        for (size_t i = 0; i < nb; i++)
            cuts[i] = i + 1;
        feed_way(in, cuts, nb, max_body, max_header, &bytewise);
        check_same(&whole, &bytewise, "byte by byte");
        outcome_close(&bytewise);
    }
    outcome_close(&whole);
    outcome_close(&split);
    return 0;
}

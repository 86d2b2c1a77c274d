/*
 * The journal's bounds and its pages: at most FL_JOURNAL_HEADER_BYTES of header text per entry
 * (whole fields, in order, saying what was left out), at most max_bytes for all entries (the
 * oldest dropped), and pages of entries by seq written a batch at a time, whole or an entry per
 * batch, that read as fl_journal_to_json does.
 */
#include "base/buf.h"
#include "serve/http.h"
#include "serve/journal.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses the one request in raw (freed) with the real parser. */
static fl_http_request_t *parse_raw(fl_buf_t *raw)
{
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, 1 << 20, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, raw->data, raw->len), 0);
    fl_http_request_t *r = fl_http_parser_next(p);
    cr_assert_not_null(r);
    fl_http_parser_free(p);
    fl_buf_close(raw);
    return r;
}

/* Builds a request through the real parser, with n_fields fields "x-NNNN: <value_len bytes>". */
static fl_http_request_t *request(size_t n_fields, size_t value_len)
{
    fl_buf_t raw;
    fl_buf_init(&raw);
    cr_assert_eq(fl_buf_append_str(&raw, "POST /v1/messages HTTP/1.1\r\nHost: a\r\n"), 0);
    char *value = malloc(value_len + 1);
    cr_assert_not_null(value);
    for (size_t i = 0; i < value_len; i++)
        value[i] = (char)('a' + i % 26);
    value[value_len] = '\0';
    for (size_t i = 0; i < n_fields; i++)
        cr_assert_eq(fl_buf_printf(&raw, "X-%04zu: %s\r\n", i, value), 0);
    cr_assert_eq(fl_buf_append_str(&raw, "Content-Length: 2\r\n\r\n{}"), 0);
    free(value);
    return parse_raw(&raw);
}

/* The compact JSON text of every field of req, built here independently of the journal. */
static char *full_headers_text(const fl_http_request_t *req)
{
    json_t *o = json_object();
    for (size_t i = 0; i < req->n_headers; i++)
        json_object_set_new(o, req->headers[i].name, json_string(req->headers[i].value));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A fresh journal (*j) holding one request (*req) of n_fields fields of value_len bytes. */
static fl_journal_entry_t *journal_of(fl_journal_t *j, fl_http_request_t **req, size_t n_fields,
                                      size_t value_len)
{
    cr_assert_eq(fl_journal_init(j, 0, 0), 0);
    *req = request(n_fields, value_len);
    fl_journal_entry_t *e = fl_journal_add(j, *req, 0);
    cr_assert_not_null(e);
    return e;
}

Test(journal_bounds, small_headers_are_kept_whole)
{
    fl_journal_t j;
    fl_http_request_t *req;
    fl_journal_entry_t *e = journal_of(&j, &req, 5, 20);
    char *full = full_headers_text(req);
    cr_assert_str_eq(e->headers, full);
    cr_assert_eq(e->headers_truncated, 0);
    cr_assert_eq(e->headers_dropped, 0);
    free(full);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

Test(journal_bounds, large_headers_keep_the_first_fields_that_fit)
{
    fl_journal_t j;
    fl_http_request_t *req;
    /* 600 fields of 100 bytes: about 60 KB of headers, under a 64 KiB head limit */
    fl_journal_entry_t *e = journal_of(&j, &req, 600, 100);
    size_t len = strlen(e->headers);
    cr_assert_leq(len, FL_JOURNAL_HEADER_BYTES);
    cr_assert_gt(len, FL_JOURNAL_HEADER_BYTES - 200, "room for one more field was left: %zu", len);
    json_t *kept = json_loads(e->headers, 0, NULL);
    cr_assert(json_is_object(kept), "not JSON: %s", e->headers);
    /* the first fields, in order, whole */
    size_t n = json_object_size(kept);
    cr_assert_gt(n, 10);
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(kept, key, v)
    {
        cr_assert_str_eq(key, req->headers[i].name, "field %zu", i);
        cr_assert_str_eq(json_string_value(v), req->headers[i].value, "field %zu", i);
        i++;
    }
    cr_assert_eq(e->headers_dropped, req->n_headers - n);
    char *full = full_headers_text(req);
    cr_assert_eq(e->headers_truncated, strlen(full) - len);
    free(full);
    json_decref(kept);

    /* the JSON says what was cut */
    json_t *doc = fl_journal_to_json(&j);
    json_t *o = json_array_get(json_object_get(doc, "requests"), 0);
    cr_assert_eq(json_integer_value(json_object_get(o, "headers_dropped")),
                 (json_int_t)e->headers_dropped);
    cr_assert_eq(json_integer_value(json_object_get(o, "headers_truncated")),
                 (json_int_t)e->headers_truncated);
    json_decref(doc);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

/* Thousands of repeats of one field are joined once, and cut as one field when too long. */
Test(journal_bounds, a_repeated_field_is_one_field, .timeout = 10)
{
    fl_buf_t raw;
    fl_buf_init(&raw);
    cr_assert_eq(fl_buf_append_str(&raw, "GET / HTTP/1.1\r\nx-first: 1\r\n"), 0);
    for (int i = 0; i < 12000; i++)
        cr_assert_eq(fl_buf_append_str(&raw, "a: b\r\n"), 0);
    cr_assert_eq(fl_buf_append_str(&raw, "x-last: 2\r\n\r\n"), 0);
    fl_http_request_t *req = parse_raw(&raw);
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    fl_journal_entry_t *e = fl_journal_add(&j, req, 0);
    cr_assert_not_null(e);
    /* "a" joined is "b, b, ..." (12000 b's): too long, so it and x-last are left out */
    cr_assert_str_eq(e->headers, "{\"x-first\":\"1\"}");
    cr_assert_eq(e->headers_dropped, 2);
    size_t a_len = 12000 + 11999 * 2;
    cr_assert_eq(e->headers_truncated, strlen(",\"a\":\"\"") + a_len + strlen(",\"x-last\":\"2\""));
    fl_http_request_free(req);
    fl_journal_close(&j);
}

/* A small head (found by scan) and a large one (found by index) join repeats alike, in order of
 * first appearance, a credential once as "[redacted]". */
static void assert_joins(size_t filler)
{
    fl_buf_t raw;
    fl_buf_init(&raw);
    cr_assert_eq(fl_buf_append_str(&raw, "GET / HTTP/1.1\r\nx-a: 1\r\nAuthorization: k1\r\n"), 0);
    for (size_t i = 0; i < filler; i++)
        cr_assert_eq(fl_buf_printf(&raw, "f%zu: v\r\n", i), 0);
    cr_assert_eq(fl_buf_append_str(&raw, "x-b: 2\r\nX-A: 3\r\nauthorization: k2\r\n\r\n"), 0);
    fl_http_request_t *req = parse_raw(&raw);
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    fl_journal_entry_t *e = fl_journal_add(&j, req, 0);
    cr_assert_not_null(e);
    json_t *o = json_loads(e->headers, 0, NULL);
    cr_assert_not_null(o, "not JSON: %s", e->headers);
    cr_assert_eq(json_object_size(o), filler + 3, "%s", e->headers);
    cr_assert_str_eq(json_string_value(json_object_get(o, "x-a")), "1, 3");
    cr_assert_str_eq(json_string_value(json_object_get(o, "authorization")), "[redacted]");
    cr_assert_str_eq(json_string_value(json_object_get(o, "x-b")), "2");
    cr_assert(strncmp(e->headers, "{\"x-a\":", 7) == 0, "order: %s", e->headers);
    json_decref(o);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

Test(journal_bounds, repeats_join_in_small_and_large_heads)
{
    assert_joins(0);
    assert_joins(100);
}

/* Sums what the kept entries are counted for. */
static size_t sum_mem(fl_journal_t *j)
{
    size_t sum = 0;
    for (size_t i = 0; i < j->count; i++)
        sum += j->ring[(j->head + i) % j->capacity]->mem;
    return sum;
}

Test(journal_bounds, bytes_are_bounded_dropping_the_oldest)
{
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    size_t bound = 64 * 1024;
    fl_journal_set_max_bytes(&j, bound);
    fl_http_request_t *req = request(600, 100); /* ~4 KiB kept per entry */
    uint64_t last = 0;
    for (int i = 0; i < 500; i++) {
        fl_journal_entry_t *e = fl_journal_add(&j, req, (uint64_t)i);
        cr_assert_not_null(e);
        cr_assert_eq(fl_journal_entry_set_scenario(e, "a-scenario"), 0);
        cr_assert_eq(fl_journal_entry_fault(e, "reset", "reset at event 3", 3, 100, 5), 0);
        /* over only by what the newest entry grew after it was added (its scenario, a fault) */
        cr_assert_leq(j.bytes, bound + 1024, "after %d entries: %zu bytes", i + 1, j.bytes);
        last = e->seq;
    }
    cr_assert_eq(j.bytes, sum_mem(&j));
    /* each entry is counted for at least its header text */
    size_t per = j.ring[j.head]->mem;
    cr_assert_geq(per, strlen(j.ring[j.head]->headers));
    cr_assert_leq(j.count, bound / per + 1);
    cr_assert_geq(j.count, bound / per - 2);
    /* the newest, contiguous, ending at the last */
    for (size_t i = 0; i < j.count; i++)
        cr_assert_eq(j.ring[(j.head + i) % j.capacity]->seq, last - (j.count - 1) + i);
    cr_assert_null(fl_journal_find(&j, last - j.count));

    /* a bound smaller than one entry keeps just the newest */
    fl_journal_set_max_bytes(&j, 100);
    fl_journal_entry_t *e = fl_journal_add(&j, req, 1000);
    cr_assert_eq(j.count, 1);
    cr_assert_eq(j.ring[j.head], e);
    cr_assert_eq(j.bytes, e->mem);
    fl_journal_reset(&j);
    cr_assert_eq(j.bytes, 0);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

/* Writes a whole page in batches of batch_bytes; returns the text (malloc'd) and the batches. */
static char *page_text(fl_journal_t *j, uint64_t since, size_t limit, size_t batch_bytes,
                       size_t *batches)
{
    fl_journal_page_t pg;
    fl_journal_page_init(j, since, limit, &pg);
    fl_buf_t out;
    fl_buf_init(&out);
    *batches = 0;
    while (!pg.done) {
        cr_assert_eq(fl_journal_page_write(j, &pg, batch_bytes, &out), 0);
        (*batches)++;
        cr_assert_lt(*batches, 10000, "the page never ends");
    }
    char *s = strdup(out.data ? out.data : "");
    fl_buf_close(&out);
    return s;
}

/* The seqs of a page's entries, and its "next". */
static void page_seqs(const char *text, long long *seqs, size_t *n, long long *next)
{
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert(json_is_object(doc), "not JSON: %.200s", text);
    json_t *list = json_object_get(doc, "requests");
    cr_assert(json_is_array(list));
    *n = json_array_size(list);
    for (size_t i = 0; i < *n; i++)
        seqs[i] = json_integer_value(json_object_get(json_array_get(list, i), "seq"));
    *next = json_integer_value(json_object_get(doc, "next"));
    json_decref(doc);
}

static fl_journal_t paged;

static void fill(void)
{
    cr_assert_eq(fl_journal_init(&paged, 8, 0), 0);
    fl_http_request_t *req = request(3, 10);
    for (int i = 0; i < 12; i++) /* seqs 0..11; the capacity of 8 keeps 4..11 */
        cr_assert_not_null(fl_journal_add(&paged, req, (uint64_t)i));
    fl_http_request_free(req);
}

static void drain(void)
{
    fl_journal_close(&paged);
}

TestSuite(journal_page, .init = fill, .fini = drain);

Test(journal_page, whole_equals_the_journal_json_in_any_batch_size)
{
    json_t *doc = fl_journal_to_json(&paged);
    char *want = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t batches;
    char *whole = page_text(&paged, 0, 0, SIZE_MAX, &batches);
    cr_assert_str_eq(whole, want);
    cr_assert_eq(batches, 1);
    char *per_entry = page_text(&paged, 0, 0, 1, &batches);
    cr_assert_str_eq(per_entry, want);
    cr_assert_eq(batches, 8, "one entry per batch: %zu batches", batches);
    free(whole);
    free(per_entry);
    free(want);
}

Test(journal_page, since_and_limit_select_entries_and_next_goes_on)
{
    static const struct {
        uint64_t since;
        size_t limit;
        long long first, n, next;
    } cases[] = {
        {6, 3, 6, 3, 9},   /* a page in the middle */
        {9, 0, 9, 3, 12},  /* to the end: next is the seq the next entry will get */
        {0, 2, 4, 2, 6},   /* since older than the oldest kept: from the oldest */
        {12, 5, 0, 0, 12}, /* nothing new yet */
        {40, 0, 0, 0, 40}, /* since in the future */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t b = 0; b < 2; b++) {
            size_t batches;
            char *text =
                page_text(&paged, cases[i].since, cases[i].limit, b ? 1 : SIZE_MAX, &batches);
            long long seqs[16], next;
            size_t n;
            page_seqs(text, seqs, &n, &next);
            cr_assert_eq((long long)n, cases[i].n, "case %zu: %zu entries", i, n);
            for (size_t k = 0; k < n; k++)
                cr_assert_eq(seqs[k], cases[i].first + (long long)k, "case %zu entry %zu", i, k);
            cr_assert_eq(next, cases[i].next, "case %zu: next %lld", i, next);
            free(text);
        }
    }
}

/* Entries added while a page is written are not in it; entries dropped are skipped; a reset
 * ends it. */
Test(journal_page, the_journal_moving_under_a_page)
{
    fl_http_request_t *req = request(3, 10);
    fl_journal_page_t pg;
    fl_buf_t out;
    fl_buf_init(&out);
    fl_journal_page_init(&paged, 0, 0, &pg);
    cr_assert_eq(fl_journal_page_write(&paged, &pg, 1, &out), 0); /* entry 4 */
    /* three more: 12..14 arrive after the page began, and 4..6 are dropped (capacity 8) */
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(fl_journal_add(&paged, req, 100));
    while (!pg.done)
        cr_assert_eq(fl_journal_page_write(&paged, &pg, 1, &out), 0);
    long long seqs[16], next;
    size_t n;
    page_seqs(out.data, seqs, &n, &next);
    cr_assert_eq(n, 6);
    static const long long want[] = {4, 7, 8, 9, 10, 11};
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(seqs[k], want[k], "entry %zu: %lld", k, seqs[k]);
    cr_assert_eq(next, 12);

    out.len = 0;
    fl_journal_page_init(&paged, 0, 0, &pg);
    cr_assert_eq(fl_journal_page_write(&paged, &pg, 1, &out), 0);
    fl_journal_reset(&paged);
    while (!pg.done)
        cr_assert_eq(fl_journal_page_write(&paged, &pg, 1, &out), 0);
    page_seqs(out.data, seqs, &n, &next);
    cr_assert_eq(n, 1);
    cr_assert_eq(next, 15);
    fl_buf_close(&out);
    fl_http_request_free(req);
}

/* Whatever bytes a client sends, the journal's text is valid JSON that says what was sent. */
Test(journal_bounds, any_bytes_make_valid_json)
{
    static const char raw[] = "GET /p\xff\xfeq HTTP/1.1\r\n"
                              "x-q: a\"b\\c\td\r\n"
                              "x-bin: \xff\xfe\r\n"
                              "x-u: caf\xc3\xa9\r\n\r\n";
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, 4096, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, raw, sizeof(raw) - 1), 0);
    fl_http_request_t *req = fl_http_parser_next(p);
    cr_assert_not_null(req);
    fl_http_parser_free(p);
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    cr_assert_not_null(fl_journal_add(&j, req, 0));
    json_t *doc = fl_journal_to_json(&j);
    cr_assert_not_null(doc, "the journal is not valid JSON");
    json_t *o = json_array_get(json_object_get(doc, "requests"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(o, "path")), "/p??q");
    json_t *h = json_object_get(o, "headers");
    cr_assert_str_eq(json_string_value(json_object_get(h, "x-q")), "a\"b\\c\td");
    cr_assert(json_is_null(json_object_get(h, "x-bin")));
    cr_assert_str_eq(json_string_value(json_object_get(h, "x-u")), "caf\xc3\xa9");
    json_decref(doc);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

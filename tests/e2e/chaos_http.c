/*
 * Faults around the response: http_error (dialect JSON with Retry-After / retry-after-ms, a
 * proxy's HTML page), error_event in each dialect, proxy_timeout before the headers (HTML page)
 * and after them (cut by FIN or RST), refuse (FIN or RST before any byte) and no_response.
 */
#include "chaos_e2e.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(chaos_http, .init = ce_start, .fini = es_stop, .timeout = 30);

/* 429 with both retry headers and OpenAI's JSON error; the journal records the precise wait. */
static void rate_limited(const ce_run_t *run)
{
    const es_ex_t *x = &run->x;
    cr_assert(strncmp(x->r.all, "HTTP/1.1 429 Too Many Requests\r\n", 32) == 0);
    ce_header_is(x, "retry-after", "1");
    ce_header_is(x, "retry-after-ms", "1500");
    char cl[32];
    cr_assert(fl_raw_header(x->d.head, x->d.head_len, "content-length", cl, sizeof(cl)));
    cr_assert_eq((size_t)atoi(cl), x->d.dc.len);
    json_t *j = json_loadb(x->d.dc.data, x->d.dc.len, 0, NULL);
    cr_assert_not_null(j, "not JSON: %s", x->d.dc.data);
    json_t *err = json_object_get(j, "error");
    cr_assert_str_eq(es_str(err, "message"), "Slow down");
    cr_assert_str_eq(es_str(err, "code"), "rate_limit_exceeded");
    json_decref(j);
    /* retry-after-ms is the more precise of the two, so it is the wait the journal records */
    cr_assert_eq(es_int(run->entry, "retry_after_ms", -1), 1500);
}

/* Anthropic's error shape, without Retry-After. */
static void anthropic_overloaded(const ce_run_t *run)
{
    const es_ex_t *x = &run->x;
    char v[16];
    cr_assert_not(fl_raw_header(x->d.head, x->d.head_len, "retry-after", v, sizeof(v)));
    json_t *j = json_loadb(x->d.dc.data, x->d.dc.len, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_str_eq(es_str(j, "type"), "error");
    cr_assert_str_eq(es_str(json_object_get(j, "error"), "type"), "overloaded_error");
    cr_assert_str_eq(es_str(json_object_get(j, "error"), "message"), "Overloaded");
    json_decref(j);
}

static void not_json(const ce_run_t *run)
{
    cr_assert_null(json_loadb(run->x.d.dc.data, run->x.d.dc.len, 0, NULL));
    cr_assert_str_eq(es_str(run->entry, "framing"), "length");
}

/* A page that replaces the stream goes out with a content-length, and the journal says so with
 * the README's word (`length`), not the stream's `chunked`. */
static void page_with_length(const ce_run_t *run)
{
    char cl[32];
    cr_assert(fl_raw_header(run->x.d.head, run->x.d.head_len, "content-length", cl, sizeof(cl)));
    cr_assert_not(run->x.d.chunked);
    cr_assert_str_eq(es_str(run->entry, "framing"), "length");
}

/* error_event before event 3: after the clean events 1 and 2, the dialect's own error. */
static void error_in_dialect(const ce_run_t *run)
{
    test_sse_t s;
    test_sse_parse(run->x.norm, run->x.norm_len, &s);
    cr_assert_geq(s.n, 3);
    const test_sse_event_t *err = &s.events[2];
    json_t *d = json_loads(err->data, 0, NULL);
    cr_assert_not_null(d, "error data is not JSON: %s", err->data);
    if (strcmp(run->path, CE_CHAT) == 0) {
        cr_assert_eq(s.n, 3);
        cr_assert_str_eq(err->event, "");
        cr_assert_str_eq(es_str(json_object_get(d, "error"), "message"), "Overloaded now");
    } else if (strcmp(run->path, CE_RESPONSES) == 0) {
        cr_assert_eq(s.n, 4);
        cr_assert_str_eq(err->event, "error");
        cr_assert_str_eq(es_str(d, "type"), "error");
        cr_assert_str_eq(es_str(d, "message"), "Overloaded now");
        cr_assert_str_eq(s.events[3].event, "response.failed");
    } else {
        cr_assert_eq(s.n, 3);
        cr_assert_str_eq(err->event, "error");
        cr_assert_str_eq(es_str(json_object_get(d, "error"), "type"), "overloaded_error");
        cr_assert_str_eq(es_str(json_object_get(d, "error"), "message"), "Overloaded now");
    }
    json_decref(d);
    test_sse_free(&s);
}

/* Every row: the faulty attempt has 3000 ms. */
#define HTTP_CASE(name, ...)                                                                       \
    {                                                                                              \
        .scenario = name, .timeout_ms = 3000, __VA_ARGS__                                          \
    }
#define HTTP_ERROR .fault = "http_error", .event = 0, .min_ms = 0, .max_ms = 100, .j_sent = CE_NONE
#define ERROR_EVENT(p, clean_n, map)                                                               \
    .path = p, .clean_timeout_ms = 3000, .clean_events = clean_n, .end = FL_RAW_EOF,               \
    .status = 200, .terminated = CE_YES, .events = map, .j_end = "complete",                       \
    .fault = "error_event", .event = 3, .min_ms = 0, .max_ms = 250, .check = error_in_dialect
/* Events every 60 ms, proxy limit 150 ms: events 1-4 arrive, then the cut. */
#define PROXY_CUT(how, jend)                                                                       \
    .clean_timeout_ms = 3000, .end = how, .status = 200, .terminated = CE_NO, .events = "0-3",     \
    .end_ms = {140, 1000}, .j_end = jend, .fault = "proxy_timeout", .event = 5, .min_ms = 150,     \
    .max_ms = 500, .j_sent = 4
/* Closed before any byte; the next attempt is clean. */
#define REFUSE(how, jend)                                                                          \
    .clean_timeout_ms = 3000, .end = how, .silent = true, .end_ms = {0, 1000}, .j_end = jend,      \
    .j_bytes = true, .fault = "refuse", .event = 0, .min_ms = 0, .max_ms = 100

static const ce_case_t cases[] = {
    HTTP_CASE("chaos-http-error", .clean_timeout_ms = 3000, .end = FL_RAW_EOF, .status = 429,
              .content_type = "application/json", .j_end = "complete", .j_status = 429, HTTP_ERROR,
              .clean_entry = true, .check = rate_limited),
    HTTP_CASE("chaos-http-error-messages", .path = CE_MESSAGES, .end = FL_RAW_EOF, .status = 529,
              .content_type = "application/json", .j_end = "complete", .j_status = 529, HTTP_ERROR,
              .check = anthropic_overloaded),
    HTTP_CASE("chaos-http-error-html", .end = FL_RAW_EOF, .status = 502,
              .content_type = "text/html", .has = {"<h1>502 Bad Gateway</h1>"}, .j_end = "complete",
              .j_status = 502, HTTP_ERROR, .check = not_json),
    HTTP_CASE("chaos-error-event-chat", ERROR_EVENT(CE_CHAT, 7, "0-1 ?")),
    HTTP_CASE("chaos-error-event-responses", ERROR_EVENT(CE_RESPONSES, 12, "0-1 ? ?")),
    HTTP_CASE("chaos-error-event-messages", ERROR_EVENT(CE_MESSAGES, 10, "0-1 ?")),
    /* Headers due at 600 ms, proxy limit 200 ms: Cloudflare's 524 page at ~200 ms, and no
     * stream byte leaks past it. */
    HTTP_CASE("chaos-proxy-before", .end = FL_RAW_EOF, .status = 524, .content_type = "text/html",
              .has = {"524", "cloudflare"}, .lacks = {"data:"}, .first_ms = {180, 580},
              .j_end = "complete", .j_status = 524, .faults = "delay_headers proxy_timeout",
              .last_fault_ms = {200, 500}, .check = page_with_length),
    HTTP_CASE("chaos-proxy-after-fin", PROXY_CUT(FL_RAW_EOF, "closed")),
    HTTP_CASE("chaos-proxy-after-rst", PROXY_CUT(FL_RAW_RESET, "reset")),
    HTTP_CASE("chaos-refuse", REFUSE(FL_RAW_EOF, "closed")),
    HTTP_CASE("chaos-refuse-reset", REFUSE(FL_RAW_RESET, "reset")),
    /* no_response reads the request and never answers; the client gives up at 400 ms and the
     * entry leaves in_progress when it does. */
    {.scenario = "chaos-no-response",
     .timeout_ms = 400,
     .end = FL_RAW_TIMEOUT,
     .silent = true,
     .j_end = "stalled",
     .closed_ms = {350, 1500},
     .fault = "no_response",
     .event = 0,
     .min_ms = 0,
     .max_ms = 100},
};

CE_TABLE(chaos_http, cases)

/*
 * Faults around the response: http_error (dialect JSON with Retry-After / retry-after-ms, a
 * proxy's HTML page), error_event in each dialect, proxy_timeout before the headers (HTML page)
 * and after them (cut by FIN or RST), refuse (FIN or RST before any byte) and no_response.
 */
#include "e2e_server.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define CHAT      "/v1/chat/completions"
#define RESPONSES "/v1/responses"
#define MESSAGES  "/v1/messages"

static void setup(void)
{
    es_start(FL_TESTDATA_DIR "/chaos");
}

TestSuite(chaos_http, .init = setup, .fini = es_stop, .timeout = 30);

static const json_t *fault_n(const json_t *e, size_t i)
{
    return json_array_get(json_object_get(e, "faults"), i);
}

static void header_is(const es_ex_t *x, const char *name, const char *want)
{
    char v[128];
    cr_assert(fl_raw_header(x->d.head, x->d.head_len, name, v, sizeof(v)), "no %s header in %s",
              name, x->d.head);
    cr_assert_str_eq(v, want, "%s", name);
}

Test(chaos_http, http_error_429_with_retry_headers_then_clean)
{
    es_ex_t x, clean;
    es_run("chaos-http-error", CHAT, 3000, 0, &x);
    es_run("chaos-http-error", CHAT, 3000, 0, &clean);
    cr_assert_eq(x.r.end, FL_RAW_EOF, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.d.status, 429, "%s", x.r.all);
    cr_assert(strncmp(x.r.all, "HTTP/1.1 429 Too Many Requests\r\n", 32) == 0);
    header_is(&x, "content-type", "application/json");
    header_is(&x, "retry-after", "1");
    header_is(&x, "retry-after-ms", "1500");
    char cl[32];
    cr_assert(fl_raw_header(x.d.head, x.d.head_len, "content-length", cl, sizeof(cl)));
    cr_assert_eq((size_t)atoi(cl), x.d.dc.len);
    json_t *j = json_loadb(x.d.dc.data, x.d.dc.len, 0, NULL);
    cr_assert_not_null(j, "not JSON: %s", x.d.dc.data);
    json_t *err = json_object_get(j, "error");
    cr_assert_str_eq(es_str(err, "message"), "Slow down");
    cr_assert_str_eq(es_str(err, "code"), "rate_limit_exceeded");
    json_decref(j);
    cr_assert_eq(clean.d.status, 200);
    cr_assert(clean.d.dc.terminated);

    json_t *e = es_entry("chaos-http-error", 1, 3000);
    cr_assert_not_null(e);
    cr_assert_eq(es_int(e, "status", 0), 429);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    /* retry-after-ms is the more precise of the two, so it is the wait the journal records */
    cr_assert_eq(es_int(e, "retry_after_ms", -1), 1500);
    es_assert_fault(e, "http_error", 0, 0, 100);
    json_decref(e);
    e = es_entry("chaos-http-error", 2, 3000);
    cr_assert_eq(es_int(e, "status", 0), 200);
    cr_assert(json_is_null(json_object_get(e, "retry_after_ms")));
    cr_assert_eq(json_array_size(json_object_get(e, "faults")), 0);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_http, http_error_in_anthropic_shape)
{
    es_ex_t x;
    es_run("chaos-http-error-messages", MESSAGES, 3000, 0, &x);
    cr_assert_eq(x.d.status, 529, "%s", x.r.all);
    header_is(&x, "content-type", "application/json");
    char v[16];
    cr_assert_not(fl_raw_header(x.d.head, x.d.head_len, "retry-after", v, sizeof(v)));
    json_t *j = json_loadb(x.d.dc.data, x.d.dc.len, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_str_eq(es_str(j, "type"), "error");
    cr_assert_str_eq(es_str(json_object_get(j, "error"), "type"), "overloaded_error");
    cr_assert_str_eq(es_str(json_object_get(j, "error"), "message"), "Overloaded");
    json_decref(j);
    json_t *e = es_entry("chaos-http-error-messages", 1, 3000);
    cr_assert_eq(es_int(e, "status", 0), 529);
    es_assert_fault(e, "http_error", 0, 0, 100);
    json_decref(e);
    es_ex_free(&x);
}

Test(chaos_http, http_error_html_page)
{
    es_ex_t x;
    es_run("chaos-http-error-html", CHAT, 3000, 0, &x);
    cr_assert_eq(x.d.status, 502);
    header_is(&x, "content-type", "text/html");
    cr_assert_not_null(strstr(x.d.dc.data, "<h1>502 Bad Gateway</h1>"), "%s", x.d.dc.data);
    cr_assert_null(json_loadb(x.d.dc.data, x.d.dc.len, 0, NULL));
    json_t *e = es_entry("chaos-http-error-html", 1, 3000);
    cr_assert_eq(es_int(e, "status", 0), 502);
    es_assert_fault(e, "http_error", 0, 0, 100);
    json_decref(e);
    es_ex_free(&x);
}

/* error_event before event 3: the clean events 1 and 2, the dialect's error, a clean end. */
static void check_error_event(const char *scenario, const char *path, size_t clean_n)
{
    es_ex_t x, clean;
    es_run(scenario, path, 3000, 0, &x);
    es_run(scenario, path, 3000, 0, &clean);
    cr_assert_eq(clean.ev.n, clean_n);
    cr_assert_eq(x.r.end, FL_RAW_EOF);
    cr_assert_eq(x.d.status, 200);
    cr_assert(x.d.dc.terminated, "the stream does not end cleanly after the error");
    char *a = es_join(&x.ev, 0, 2), *b = es_join(&clean.ev, 0, 2);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);

    test_sse_t s;
    test_sse_parse(x.norm, x.norm_len, &s);
    cr_assert_geq(s.n, 3);
    const test_sse_event_t *err = &s.events[2];
    json_t *d = json_loads(err->data, 0, NULL);
    cr_assert_not_null(d, "error data is not JSON: %s", err->data);
    if (strcmp(path, CHAT) == 0) {
        cr_assert_eq(s.n, 3);
        cr_assert_str_eq(err->event, "");
        cr_assert_str_eq(es_str(json_object_get(d, "error"), "message"), "Overloaded now");
    } else if (strcmp(path, RESPONSES) == 0) {
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
    json_t *e = es_entry(scenario, 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    es_assert_fault(e, "error_event", 3, 0, 250);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_http, error_event_openai_chat)
{
    check_error_event("chaos-error-event-chat", CHAT, 7);
}

Test(chaos_http, error_event_openai_responses)
{
    check_error_event("chaos-error-event-responses", RESPONSES, 12);
}

Test(chaos_http, error_event_anthropic_messages)
{
    check_error_event("chaos-error-event-messages", MESSAGES, 10);
}

/* Headers due at 600 ms, proxy limit 200 ms: Cloudflare's 524 page at ~200 ms. */
Test(chaos_http, proxy_timeout_before_headers_is_524_page)
{
    es_ex_t x;
    es_run("chaos-proxy-before", CHAT, 3000, 0, &x);
    cr_assert_eq(x.r.end, FL_RAW_EOF);
    cr_assert_eq(x.d.status, 524, "%s", x.r.all);
    header_is(&x, "content-type", "text/html");
    cr_assert_not_null(strstr(x.d.dc.data, "524"));
    cr_assert_not_null(strstr(x.d.dc.data, "cloudflare"));
    cr_assert(x.r.reads[0].t_ms >= 180 && x.r.reads[0].t_ms < 580, "page after %.1f ms",
              x.r.reads[0].t_ms);
    cr_assert_null(strstr(x.r.all, "data:"), "stream bytes leaked past the proxy page");
    json_t *e = es_entry("chaos-proxy-before", 1, 3000);
    cr_assert_eq(es_int(e, "status", 0), 524);
    cr_assert_eq(json_array_size(json_object_get(e, "faults")), 2);
    cr_assert_str_eq(es_str(fault_n(e, 0), "fault"), "delay_headers");
    cr_assert_str_eq(es_str(fault_n(e, 1), "fault"), "proxy_timeout");
    long long ms = es_int(fault_n(e, 1), "ms", -1);
    cr_assert(ms >= 200 && ms < 500, "proxy_timeout fired at %lld", ms);
    json_decref(e);
    es_ex_free(&x);
}

/* Events every 60 ms, proxy limit 150 ms: events 1-4 arrive, then the cut. */
static void check_proxy_cut(const char *scenario, fl_raw_end_t how, const char *end)
{
    es_ex_t x, clean;
    es_run(scenario, CHAT, 3000, 0, &x);
    es_run(scenario, CHAT, 3000, 0, &clean);
    cr_assert_eq(x.r.end, how, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.d.status, 200);
    cr_assert_not(x.d.dc.terminated);
    cr_assert_eq(x.d.dc_rc, 0);
    char *want = es_join(&clean.ev, 0, 4);
    cr_assert_str_eq(x.norm, want);
    free(want);
    cr_assert(x.r.end_ms >= 140 && x.r.end_ms < 1000, "cut after %.1f ms", x.r.end_ms);
    json_t *e = es_entry(scenario, 1, 3000);
    cr_assert_str_eq(es_str(e, "end"), end);
    es_assert_fault(e, "proxy_timeout", 5, 150, 500);
    json_decref(e);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_http, proxy_timeout_after_headers_fin)
{
    check_proxy_cut("chaos-proxy-after-fin", FL_RAW_EOF, "closed");
}

Test(chaos_http, proxy_timeout_after_headers_rst)
{
    check_proxy_cut("chaos-proxy-after-rst", FL_RAW_RESET, "reset");
}

static void check_refuse(const char *scenario, fl_raw_end_t how, const char *end)
{
    es_ex_t x, clean;
    es_run(scenario, CHAT, 3000, 0, &x);
    cr_assert_eq(x.r.end, how, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.r.len, 0, "%zu bytes before the refusal", x.r.len);
    cr_assert_lt(x.r.end_ms, 1000);
    json_t *e = es_entry(scenario, 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), end);
    cr_assert_eq(es_int(e, "bytes", -1), 0);
    es_assert_fault(e, "refuse", 0, 0, 100);
    json_decref(e);
    es_run(scenario, CHAT, 3000, 0, &clean);
    cr_assert_eq(clean.d.status, 200);
    cr_assert(clean.d.dc.terminated);
    es_ex_free(&x);
    es_ex_free(&clean);
}

Test(chaos_http, refuse_with_fin)
{
    check_refuse("chaos-refuse", FL_RAW_EOF, "closed");
}

Test(chaos_http, refuse_with_reset)
{
    check_refuse("chaos-refuse-reset", FL_RAW_RESET, "reset");
}

Test(chaos_http, no_response_reads_and_never_answers)
{
    es_ex_t x;
    es_run("chaos-no-response", CHAT, 400, 0, &x);
    cr_assert_eq(x.r.end, FL_RAW_TIMEOUT, "ended with %s", fl_raw_end_name(x.r.end));
    cr_assert_eq(x.r.len, 0);
    json_t *e = es_entry("chaos-no-response", 1, 3000);
    cr_assert_not_null(e, "the entry never left in_progress after the client closed");
    cr_assert_str_eq(es_str(e, "end"), "stalled");
    long long closed = es_int(e, "client_closed_ms", -1);
    cr_assert(closed >= 350 && closed < 1500, "client_closed_ms %lld", closed);
    es_assert_fault(e, "no_response", 0, 0, 100);
    json_decref(e);
    es_ex_free(&x);
}

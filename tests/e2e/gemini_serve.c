/*
 * The gemini dialect over the wire: `faultline serve` on 127.0.0.1 (port 0) answers Gemini's
 * model-in-path endpoints, read with a raw socket. The streamed body must be byte for byte what
 * the encoder makes for that response's id (CRLF framing and all), the non-streaming body the
 * encoder's generateContent JSON; the path's model picks the scenario; errors come in Google's
 * shape; the journal keeps neither the x-goog-api-key header's value nor the ?key= query; and a
 * fault on the stream reaches the wire as Google's in-stream error.
 */
#include "e2e_server.h"

#include "encode/dialect.h"
#include "load/load.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA FL_TESTDATA_DIR "/gemini"

static void setup(void)
{
    es_start(DATA);
}

static void teardown(void)
{
    es_stop();
}

TestSuite(gemini_serve, .init = setup, .fini = teardown, .timeout = 60);

/* One request with extra headers (each ending in CRLF, or NULL), decoded. */
static void exchange(const char *method, const char *path, const char *headers, es_resp_t *d,
                     fl_raw_result_t *r)
{
    size_t len;
    char *req = method ? fl_raw_get(method, path, &len) : fl_raw_post(path, headers, &len);
    fl_raw_opts_t o = {.timeout_ms = 5000};
    cr_assert_eq(fl_raw_exchange(es_port(), req, len, &o, r), 0, "cannot reach the server");
    free(req);
    es_decode(r, d);
}

/* What the encoder makes for response d: the scenario in DATA/file, with d's id (x-request-id
 * without its "req_"). */
typedef struct expected_s {
    char id[64];
    fl_scenario_t *sc;
    fl_encode_ctx_t ctx;
} expected_t;

static void expected_init(expected_t *x, const char *file, const es_resp_t *d)
{
    char rid[64], path[512];
    cr_assert(fl_raw_header(d->head, d->head_len, "x-request-id", rid, sizeof(rid)));
    cr_assert_eq(strncmp(rid, "req_", 4), 0);
    snprintf(x->id, sizeof(x->id), "%s", rid + 4);
    cr_assert_eq(strlen(x->id), FL_ENCODE_ID_LEN);
    snprintf(path, sizeof(path), "%s/%s", DATA, file);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    x->sc = NULL;
    cr_assert_eq(fl_scenario_load_file(path, &x->sc, &diags), 0);
    fl_diag_list_close(&diags);
    x->ctx = (fl_encode_ctx_t){.id = x->id, .created = 1700000000};
}

static void assert_content_type(const es_resp_t *d, const char *want)
{
    char ct[64];
    cr_assert(fl_raw_header(d->head, d->head_len, "content-type", ct, sizeof(ct)));
    cr_assert_str_eq(ct, want);
}

/* The last journal entry (new reference). */
static json_t *last_entry(void)
{
    json_t *list = es_journal();
    cr_assert_gt(json_array_size(list), 0);
    json_t *e = json_incref(json_array_get(list, json_array_size(list) - 1));
    json_decref(list);
    return e;
}

Test(gemini_serve, streams_byte_exact_and_journals_no_key)
{
    es_resp_t d;
    fl_raw_result_t r;
    exchange(NULL, "/v1beta/models/gm-text:streamGenerateContent?alt=sse&key=query-secret-42",
             "x-goog-api-key: header-secret-42\r\n", &d, &r);
    cr_assert_eq(d.status, 200, "%s", d.head);
    cr_assert_eq(r.end, FL_RAW_EOF);
    assert_content_type(&d, "text/event-stream");
    cr_assert(d.chunked && d.dc.terminated && d.dc_rc == 0);

    /* the body the encoder makes for this response's id, byte for byte */
    expected_t x;
    expected_init(&x, "text.yaml", &d);
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(x.sc, &x.ctx, &s), 0);
    cr_assert_eq(d.dc.len, s.bytes.len, "%zu bytes, the encoder makes %zu", d.dc.len, s.bytes.len);
    cr_assert_eq(memcmp(d.dc.data, s.bytes.data, s.bytes.len), 0, "%s", d.dc.data);
    cr_assert(strstr(d.dc.data, "\r\n\r\ndata: {\"candidates\": [{\"content\": {\"parts\": "));

    /* every event is a Gemini chunk; the last one alone has finishReason */
    test_sse_t sse;
    test_sse_parse(d.dc.data, d.dc.len, &sse);
    cr_assert_eq(sse.n, s.n_events);
    for (size_t i = 0; i < sse.n; i++) {
        json_t *j = json_loads(sse.events[i].data, 0, NULL);
        cr_assert_not_null(j, "event %zu: %s", i, sse.events[i].data);
        json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
        cr_assert_eq(json_object_get(cand, "finishReason") != NULL, i + 1 == sse.n);
        cr_assert_str_eq(json_string_value(json_object_get(j, "responseId")), x.id);
        cr_assert_str_eq(json_string_value(json_object_get(j, "modelVersion")), "gemini-2.5-flash");
        json_decref(j);
    }
    test_sse_free(&sse);
    fl_script_close(&s);
    fl_scenario_free(x.sc);

    json_t *e = es_entry("gm-text", 1, 3000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "path"), "/v1beta/models/gm-text:streamGenerateContent");
    cr_assert(json_is_true(json_object_get(e, "stream")));
    cr_assert_str_eq(es_str(e, "end"), "complete");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(e, "headers"), "x-goog-api-key")),
        "[redacted]");
    char *dump = json_dumps(e, 0);
    cr_assert_null(strstr(dump, "secret-42"), "a key reached the journal: %s", dump);
    free(dump);
    json_decref(e);
    es_resp_free(&d);
    fl_raw_result_free(&r);
}

/* :generateContent (here under /v1/) answers with the encoder's pretty JSON, not a stream. */
Test(gemini_serve, generate_content_body)
{
    es_resp_t d;
    fl_raw_result_t r;
    exchange(NULL, "/v1/models/gm-tool:generateContent", NULL, &d, &r);
    cr_assert_eq(d.status, 200, "%s", d.head);
    assert_content_type(&d, "application/json");
    expected_t x;
    expected_init(&x, "tool.yaml", &d);
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(x.sc, &x.ctx, &b), 0);
    cr_assert_str_eq(d.dc.data, b.data);
    cr_assert(strstr(b.data, "\"args\": {\n"), "%s", b.data);
    fl_buf_close(&b);
    fl_scenario_free(x.sc);
    json_t *e = es_entry("gm-tool", 1, 3000);
    cr_assert_not_null(e);
    cr_assert(json_is_false(json_object_get(e, "stream")));
    json_decref(e);
    es_resp_free(&d);
    fl_raw_result_free(&r);
}

/* The scenario that answers: header, then /s/NAME/, then the path's model (of the dialect),
 * else the first gemini scenario. */
Test(gemini_serve, scenario_choice)
{
    struct {
        const char *path, *headers, *want;
    } cases[] = {
        {"/v1beta/models/gm-tool:streamGenerateContent?alt=sse", NULL, "gm-tool"},
        {"/s/gm-text/v1beta/models/gm-tool:streamGenerateContent?alt=sse", NULL, "gm-text"},
        {"/s/gm-text/v1beta/models/gm-tool:streamGenerateContent?alt=sse",
         "x-faultline-scenario: gm-first\r\n", "gm-first"},
        {"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", NULL, "gm-first"},
        {"/v1beta/models/gm-chat:streamGenerateContent?alt=sse", NULL, "gm-first"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        es_resp_t d;
        fl_raw_result_t r;
        exchange(NULL, cases[i].path, cases[i].headers, &d, &r);
        cr_assert_eq(d.status, 200, "case %zu: %s", i, d.head);
        json_t *e = last_entry();
        cr_assert_str_eq(es_str(e, "scenario"), cases[i].want, "case %zu", i);
        json_decref(e);
        es_resp_free(&d);
        fl_raw_result_free(&r);
    }
}

/* Errors on gemini paths come in Google's shape, the status repeated as the code. */
Test(gemini_serve, errors_in_googles_shape)
{
    struct {
        const char *method, *path, *headers;
        int status;
        const char *google_status, *says;
    } cases[] = {
        {NULL, "/v1beta/models/gm-text:streamGenerateContent", NULL, 400, "INVALID_ARGUMENT",
         "alt=sse"},
        {NULL, "/v1beta/models/gm-text:streamGenerateContent?alt=sse",
         "x-faultline-scenario: gm-chat\r\n", 404, "NOT_FOUND", "openai-chat"},
        {NULL, "/v1beta/models/gm-text:generateContent", "x-faultline-scenario: nope\r\n", 404,
         "NOT_FOUND", "'nope' does not exist"},
        {"GET", "/v1beta/models/gm-text:generateContent", NULL, 405, "INVALID_ARGUMENT",
         "use POST"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        es_resp_t d;
        fl_raw_result_t r;
        exchange(cases[i].method, cases[i].path, cases[i].headers, &d, &r);
        cr_assert_eq(d.status, cases[i].status, "case %zu: %s", i, d.head);
        cr_assert_eq(d.dc.data[d.dc.len - 1], '\n', "case %zu: pretty JSON ends in LF", i);
        json_t *j = json_loads(d.dc.data, 0, NULL);
        json_t *err = json_object_get(j, "error");
        cr_assert_eq(json_integer_value(json_object_get(err, "code")), cases[i].status);
        cr_assert_str_eq(json_string_value(json_object_get(err, "status")), cases[i].google_status);
        cr_assert(strstr(json_string_value(json_object_get(err, "message")), cases[i].says),
                  "case %zu: %s", i, d.dc.data);
        json_decref(j);
        es_resp_free(&d);
        fl_raw_result_free(&r);
    }
    /* an unknown method of the model is no route at all */
    es_resp_t d;
    fl_raw_result_t r;
    exchange(NULL, "/v1beta/models/gm-text:countTokens", NULL, &d, &r);
    cr_assert_eq(d.status, 404);
    es_resp_free(&d);
    fl_raw_result_free(&r);
}

/* error_event at event 3: two chunks, then Google's in-stream error, then a clean end. */
Test(gemini_serve, error_event_on_the_wire)
{
    es_resp_t d;
    fl_raw_result_t r;
    exchange(NULL, "/v1beta/models/gm-error:streamGenerateContent?alt=sse", NULL, &d, &r);
    cr_assert_eq(d.status, 200);
    cr_assert(d.dc.terminated);
    expected_t x;
    expected_init(&x, "error.yaml", &d);
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(x.sc, &x.ctx, &s), 0);
    fl_buf_t want;
    fl_buf_init(&want);
    fl_buf_append(&want, s.bytes.data, s.events[2].off);
    cr_assert_eq(
        fl_dialect_encode_error_event(FL_DIALECT_GEMINI, FL_ERR_OVERLOADED, NULL, &x.ctx, &want),
        0);
    cr_assert_eq(d.dc.len, want.len);
    cr_assert_eq(memcmp(d.dc.data, want.data, want.len), 0, "%s", d.dc.data);
    fl_buf_close(&want);
    fl_script_close(&s);
    fl_scenario_free(x.sc);
    json_t *e = es_entry("gm-error", 1, 3000);
    es_assert_fault(e, "error_event", 3, 0, 2000);
    json_decref(e);
    es_resp_free(&d);
    fl_raw_result_free(&r);
}

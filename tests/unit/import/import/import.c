/*
 * The importers against test data in the shape of real evidence (tests/data/import/): Chrome's
 * and Firefox's HAR exports (a failed entry, base64 bodies, secrets in headers and bodies),
 * curl -i output with curl's error line, real curl --trace-time --trace-ascii / --trace output,
 * bare SSE bodies, and inputs that must be refused with the file and entry named. Every
 * scenario made is loaded back and compiled: its body must be the evidence's bytes exactly.
 */
#include "import/import.h"
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "encode/dialect.h"
#include "load/load.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA(f) FL_TESTDATA_DIR "/import/" f

static fl_import_list_t list;
static fl_diag_list_t diags;

static void setup(void)
{
    fl_import_list_init(&list);
    fl_diag_list_init(&diags);
}

static void teardown(void)
{
    fl_import_list_close(&list);
    fl_diag_list_close(&diags);
}

TestSuite(import, .init = setup, .fini = teardown, .timeout = 30);

/* The scenario YAML of item i, loaded back: returns it (caller frees) and the YAML in *y. */
static fl_scenario_t *scenario(size_t i, const char *name, fl_buf_t *y, fl_import_notes_t *nt)
{
    fl_buf_init(y);
    cr_assert_eq(fl_import_scenario(&list.items[i], name, y, nt), 0);
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("imported.yaml", y->data, y->len, &sc, &d);
    cr_assert_eq(rc, 0, "%s\n%s", d.len ? d.items[0].message : "?", y->data);
    fl_diag_list_close(&d);
    cr_assert_str_eq(sc->name, name);
    return sc;
}

/* The body the scenario's replay sends (its writes joined). */
static char *replayed_body(const fl_scenario_t *sc, size_t *len)
{
    const fl_replay_t *rp = sc->response.replay;
    cr_assert_not_null(rp);
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < rp->n_writes; i++)
        fl_buf_append(&b, rp->writes[i].bytes, rp->writes[i].len);
    if (!b.data)
        fl_buf_append(&b, "", 0);
    return fl_buf_detach(&b, len);
}

static bool has_redacted(const fl_capture_t *c, const char *what)
{
    for (size_t i = 0; i < c->n_redacted; i++)
        if (strcmp(c->redacted[i], what) == 0)
            return true;
    return false;
}

static void assert_no_secret(const char *yaml)
{
    static const char *const secrets[] = {
        "sk-proj-ABCDEFGH", "s3cr3t-cookie", "__cf_bm",        "sk-ant-api03-",
        "abcdefghijklmnop", "TRACEKEY",      "secret-session", NULL};
    for (const char *const *s = secrets; *s; s++)
        cr_assert_null(strstr(yaml, *s), "'%s' leaked into:\n%s", *s, yaml);
}

Test(import, chrome_har)
{
    cr_assert_eq(fl_import_read(DATA("chrome.har"), &list, &diags), 0);
    cr_assert_eq(list.kind, FL_IMPORT_HAR);
    cr_assert_eq(list.len, 3); /* entries 1, 3, 4; entry 2 is JSON */
    cr_assert_eq(list.skipped, 1);
    cr_assert_eq(diags.len, 0);

    /* entry 1: complete; times from timings (blocked 1.5 + send 0.5 + wait 310.25), spread over
     * receive 300.25 */
    const fl_capture_t *c = list.items[0].capture;
    cr_assert(strstr(list.items[0].label, "chrome.har entry 1"));
    cr_assert_eq(c->end, FL_CAPTURE_END_COMPLETE);
    cr_assert_eq(c->loss, FL_CAPTURE_LOSS_TIMING_SYNTHESIZED | FL_CAPTURE_LOSS_BOUNDARIES_LOST);
    cr_assert_eq(c->n_writes, 6);
    cr_assert_eq(c->head_ms, 312);
    cr_assert_eq(c->writes[0].t_ms, 312);
    cr_assert_eq(c->writes[5].t_ms, 612);
    cr_assert(has_redacted(c, "request.headers.authorization"));
    cr_assert(has_redacted(c, "request.headers.cookie"));
    cr_assert(has_redacted(c, "response.headers.set-cookie"));
    for (size_t i = 0; i < c->n_req_headers; i++)
        cr_assert_neq(c->req_headers[i].name[0], ':', "pseudo-header kept");
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "chrome-1", &y, &nt);
    assert_no_secret(y.data);
    cr_assert_str_eq(nt.dialect, "openai-chat");
    cr_assert_str_eq(sc->model, "gpt-4o-mini");
    cr_assert_str_eq(fl_scenario_answer(sc), "Hello, world!");
    cr_assert(strstr(sc->description, "chrome.har entry 1"));
    cr_assert(strstr(sc->description, "timing (synthesized)"));
    size_t n;
    char *body = replayed_body(sc, &n);
    fl_buf_t want;
    fl_buf_init(&want);
    fl_capture_body(c, &want);
    cr_assert_eq(n, want.len);
    cr_assert_eq(memcmp(body, want.data, n), 0);
    cr_assert_eq(sc->response.replay->writes[0].at_ms, 0); /* ms after the head */
    free(body);
    fl_buf_close(&want);
    fl_scenario_free(sc);
    fl_buf_close(&y);

    /* entry 3: cut mid-event, _error ERR_INCOMPLETE_CHUNKED_ENCODING: a FIN before the end */
    c = list.items[1].capture;
    cr_assert_eq(c->end, FL_CAPTURE_END_FIN);
    cr_assert_str_eq(c->end_detail, "net::ERR_INCOMPLETE_CHUNKED_ENCODING");
    sc = scenario(1, "chrome-3", &y, &nt);
    cr_assert_eq(sc->response.replay->ending, FL_REPLAY_FIN);
    cr_assert_eq(sc->response.replay->end_ms, 2000);
    cr_assert_eq(sc->expect.outcome, FL_OUTCOME_ERROR);
    /* what arrived, then a marker: exit 0 with what arrived is a strict prefix */
    cr_assert_str_eq(fl_scenario_answer(sc), "The answer is" FL_IMPORT_CUT_MARK);
    cr_assert(strstr(sc->description, "No expect.answer: the stream was cut"));
    fl_scenario_free(sc);
    fl_buf_close(&y);

    /* entry 4: status 0, net::ERR_CONNECTION_RESET, no body: reset before any head */
    c = list.items[2].capture;
    cr_assert(!c->has_response);
    cr_assert_eq(c->end, FL_CAPTURE_END_RST);
    sc = scenario(2, "chrome-4", &y, &nt);
    cr_assert_eq(sc->n_attempts, 1);
    cr_assert(strstr(y.data, "refuse: {reset: true}"));
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

Test(import, firefox_har_base64_and_secrets_in_bodies)
{
    cr_assert_eq(fl_import_read(DATA("firefox.har"), &list, &diags), 0);
    cr_assert_eq(list.len, 3);
    const fl_capture_t *c = list.items[0].capture;
    cr_assert(has_redacted(c, "request.headers.x-api-key"));
    cr_assert(has_redacted(c, "request.body")); /* "Bearer abcdefghijklmnop" in the prompt */
    cr_assert_null(strstr(c->req_body, "abcdefghijklmnop"));
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "firefox-1", &y, &nt);
    assert_no_secret(y.data);
    cr_assert_str_eq(nt.dialect, "anthropic-messages");
    cr_assert_eq(nt.redacted, 1); /* the sk-ant- key in a text delta */
    cr_assert_str_eq(fl_scenario_answer(sc), "Your key sk-REDACTED is caf\xc3\xa9 \xe2\x98\x95");
    cr_assert_eq(sc->response.replay->n_writes, 8);
    fl_scenario_free(sc);
    fl_buf_close(&y);

    sc = scenario(1, "firefox-2", &y, &nt);
    cr_assert_str_eq(nt.dialect, "openai-responses");
    cr_assert_str_eq(fl_scenario_answer(sc), "Bonjour !");
    cr_assert_eq(sc->response.replay->writes[2].at_ms, 5000);
    fl_scenario_free(sc);
    fl_buf_close(&y);

    /* a 529 with Retry-After: the http_error fault that reproduces it */
    sc = scenario(2, "firefox-3", &y, &nt);
    cr_assert(strstr(y.data, "http_error: {status: 529, retry_after_s: 7}"), "%s", y.data);
    cr_assert_eq(sc->expect.outcome, FL_OUTCOME_ERROR);
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

static void refused(const char *file, int want_rc, const char *needle)
{
    int rc = fl_import_read(file, &list, &diags);
    cr_assert_eq(rc, want_rc, "%s: %d", file, rc);
    cr_assert_geq(diags.len, 1);
    cr_assert_str_eq(diags.items[0].file, file);
    cr_assert(strstr(diags.items[0].message, needle), "%s: %s", file, diags.items[0].message);
}

Test(import, not_a_har)
{
    refused(DATA("not-a-har.json"), FL_ESCHEMA, "not a HAR");
}

Test(import, truncated_json)
{
    refused(DATA("truncated.har"), FL_EJSON, "not valid JSON");
    cr_assert_gt(diags.items[0].line, 1);
}

Test(import, binary)
{
    refused(DATA("binary.bin"), FL_ESCHEMA, "binary data");
}

Test(import, bad_entry_is_named_and_the_rest_imported)
{
    cr_assert_eq(fl_import_read(DATA("bad-entry.har"), &list, &diags), 0);
    cr_assert_eq(list.len, 2);
    cr_assert_eq(diags.len, 1);
    cr_assert(strstr(diags.items[0].message, "entry 2: response.content.text"), "%s",
              diags.items[0].message);
}

Test(import, nothing_recognisable)
{
    const char *t = "hello\nworld\n";
    cr_assert_eq(fl_import_parse("notes.txt", t, strlen(t), &list, &diags), FL_ESCHEMA);
    cr_assert_str_eq(diags.items[0].file, "notes.txt");
}

Test(import, curl_include_reset)
{
    cr_assert_eq(fl_import_read(DATA("curl-i-reset.txt"), &list, &diags), 0);
    cr_assert_eq(list.kind, FL_IMPORT_CURL_INCLUDE);
    const fl_capture_t *c = list.items[0].capture;
    cr_assert_eq(c->status, 200);
    cr_assert_eq(c->end, FL_CAPTURE_END_RST);
    cr_assert_str_eq(c->end_detail, "curl: (56) Recv failure: Connection reset by peer");
    cr_assert(has_redacted(c, "response.headers.set-cookie"));
    fl_buf_t body;
    fl_buf_init(&body);
    fl_capture_body(c, &body);
    cr_assert_null(strstr(body.data, "curl:")); /* the error line is not body */
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "curl-i-reset", &y, &nt);
    assert_no_secret(y.data);
    char want[64];
    snprintf(want, sizeof(want), "reset: {at: {byte: %zu}}", body.len);
    cr_assert(strstr(y.data, want), "%s", y.data);
    fl_buf_close(&body);
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

Test(import, curl_include_complete_after_100_continue)
{
    cr_assert_eq(fl_import_read(DATA("curl-i-complete.txt"), &list, &diags), 0);
    const fl_capture_t *c = list.items[0].capture;
    cr_assert_eq(c->status, 200);
    cr_assert_eq(c->end, FL_CAPTURE_END_COMPLETE);
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "curl-i-complete", &y, &nt);
    cr_assert_str_eq(fl_scenario_answer(sc), "Hello, world!");
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

/* Real `curl --trace-time --trace-ascii` of a stream reset after five chunks (curl 7.88). */
Test(import, curl_trace_ascii_fed_whole)
{
    cr_assert_eq(fl_import_read(DATA("curl-trace-reset.txt"), &list, &diags), 0);
    cr_assert_eq(list.kind, FL_IMPORT_CURL_TRACE);
    const fl_capture_t *c = list.items[0].capture;
    cr_assert_str_eq(c->method, "POST");
    cr_assert_str_eq(c->path, "/s/openai-chat-reset-mid-answer/v1/chat/completions");
    cr_assert(has_redacted(c, "request.headers.authorization"));
    cr_assert_null(strstr(c->req_body ? c->req_body : "", "TRACEKEY"));
    cr_assert_eq(c->loss, 0); /* real times and real boundaries */
    cr_assert_eq(c->n_writes, 5);
    cr_assert_eq(c->head_ms, 7);
    /* curl's microsecond stamps after the `=> Send header`, rounded to ms */
    const uint64_t t[] = {8, 108, 124, 147, 166};
    for (size_t i = 0; i < 5; i++) {
        const fl_capture_write_t *w = &c->writes[i];
        cr_assert_eq(w->t_ms, t[i], "write %zu at %llu", i, (unsigned long long)w->t_ms);
        /* chunk framing decoded, the '.' of LF LF read back as LF */
        cr_assert_eq(memcmp(w->bytes, "data: {\"id\":\"chatcmpl-", 22), 0);
        cr_assert_eq(memcmp(w->bytes + w->len - 5, "}]}\n\n", 5), 0);
    }
    cr_assert_eq(c->writes[0].len, 0x105);
    cr_assert_eq(c->end, FL_CAPTURE_END_RST);
    cr_assert_eq(c->end_ms, 185);
    cr_assert_str_eq(c->end_detail, "Recv failure: Connection reset by peer");
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "trace", &y, &nt);
    assert_no_secret(y.data);
    cr_assert_str_eq(sc->model, "gpt-4o");
    cr_assert_eq(sc->response.replay->writes[1].at_ms, 101);
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

/* Real `curl --trace-time --trace` (hex) of a clean stream: exact bytes, the terminator seen. */
Test(import, curl_trace_hex_complete)
{
    cr_assert_eq(fl_import_read(DATA("curl-trace-hex.txt"), &list, &diags), 0);
    const fl_capture_t *c = list.items[0].capture;
    cr_assert_eq(c->end, FL_CAPTURE_END_COMPLETE);
    cr_assert_eq(c->n_writes, 13);
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "trace-hex", &y, &nt);
    cr_assert_str_eq(fl_scenario_answer(sc),
                     "TCP turns a lossy network into a reliable, ordered stream of bytes.");
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

Test(import, bare_sse)
{
    cr_assert_eq(fl_import_read(DATA("bare.sse"), &list, &diags), 0);
    cr_assert_eq(list.kind, FL_IMPORT_SSE);
    cr_assert_eq(list.items[0].capture->end, FL_CAPTURE_END_COMPLETE);
    fl_import_list_close(&list);
    fl_import_list_init(&list);
    cr_assert_eq(fl_import_read(DATA("bare-cut.sse"), &list, &diags), 0);
    cr_assert_eq(list.items[0].capture->end, FL_CAPTURE_END_FIN);
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "bare-cut", &y, &nt);
    cr_assert_eq(sc->response.replay->ending, FL_REPLAY_FIN);
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

/* A capture with secrets in its body and a binary write: redacted, reported, bytes kept. */
Test(import, capture_redaction_and_binary)
{
    const char *cap =
        "{\"type\":\"capture\",\"version\":1,\"source\":\"proxy\",\"loss\":[],\"redacted\":[]}\n"
        "{\"type\":\"request\",\"t_ms\":0,\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
        "\"headers\":[],\"body\":\"{}\"}\n"
        "{\"type\":\"response\",\"t_ms\":5,\"status\":200,\"reason\":\"OK\",\"headers\":[]}\n"
        "{\"type\":\"write\",\"t_ms\":10,\"data\":\"data: {\\\"choices\\\":[{\\\"delta\\\":"
        "{\\\"content\\\":\\\"key sk-abcdefghijklmnopqrstuvwxyz012345 and Bearer "
        "tok_0123456789abcdef\\\"}}]}\\n\\n\"}\n"
        "{\"type\":\"write\",\"t_ms\":20,\"b64\":\"3q2+7w==\"}\n"
        "{\"type\":\"end\",\"t_ms\":25,\"how\":\"complete\"}\n";
    cr_assert_eq(fl_import_parse("x.capture.jsonl", cap, strlen(cap), &list, &diags), 0);
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "cap", &y, &nt);
    cr_assert_eq(nt.redacted, 2);
    cr_assert_null(strstr(y.data, "abcdefghijklmnopqrstuvwxyz"));
    cr_assert_null(strstr(y.data, "tok_0123456789abcdef"));
    cr_assert(strstr(y.data, "b64: \"3q2+7w==\""));
    cr_assert(strstr(sc->description, "2 secrets in the response body"));
    const fl_replay_t *rp = sc->response.replay;
    cr_assert_eq(rp->n_writes, 2);
    cr_assert_eq(rp->writes[1].at_ms, 15);
    cr_assert_eq(memcmp(rp->writes[1].bytes, "\xde\xad\xbe\xef", 4), 0);
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

/* A body framed by the connection's close replays with framing: close; a chunked one does not. */
Test(import, close_framing_kept)
{
    const char *cap =
        "{\"type\":\"capture\",\"version\":1,\"source\":\"proxy\",\"loss\":[],\"redacted\":[]}\n"
        "{\"type\":\"request\",\"t_ms\":0,\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
        "\"headers\":[]}\n"
        "{\"type\":\"response\",\"t_ms\":3,\"status\":200,\"reason\":\"OK\",\"headers\":"
        "[[\"content-type\",\"text/event-stream\"],[\"Connection\",\"close\"]]}\n"
        "{\"type\":\"write\",\"t_ms\":5,\"data\":\"data: {\\\"choices\\\":[{\\\"delta\\\":"
        "{\\\"content\\\":\\\"hi\\\"}}]}\\n\\ndata: [DONE]\\n\\n\"}\n"
        "{\"type\":\"end\",\"t_ms\":9,\"how\":\"complete\"}\n";
    cr_assert_eq(fl_import_parse("close.capture.jsonl", cap, strlen(cap), &list, &diags), 0);
    fl_buf_t y;
    fl_import_notes_t nt;
    fl_scenario_t *sc = scenario(0, "close", &y, &nt);
    cr_assert_eq(sc->response.framing, FL_FRAMING_CLOSE);
    cr_assert_str_eq(fl_scenario_answer(sc), "hi");
    fl_scenario_free(sc);
    fl_buf_close(&y);

    fl_import_list_close(&list);
    fl_import_list_init(&list);
    cr_assert_eq(fl_import_read(DATA("curl-trace-hex.txt"), &list, &diags), 0);
    sc = scenario(0, "chunked", &y, &nt);
    cr_assert_eq(sc->response.framing, FL_FRAMING_CHUNKED);
    fl_scenario_free(sc);
    fl_buf_close(&y);
}

/*
 * The capture format (model/capture.h, docs/capture.md): a capture written and read back is the
 * same exchange byte for byte, binary writes survive as base64, bad files are refused with the
 * line and field, and secrets are redacted.
 */
#include "model/capture.h"

#include <criterion/criterion.h>
#include <string.h>

static fl_capture_t *sample(void)
{
    fl_capture_t *c = fl_capture_new();
    cr_assert_not_null(c);
    c->source = strdup("serve");
    c->method = strdup("POST");
    c->path = strdup("/v1/chat/completions");
    c->req_body = strdup("{\"stream\":true}");
    c->req_body_len = strlen(c->req_body);
    cr_assert_eq(fl_capture_add_header(&c->req_headers, &c->n_req_headers, "Content-Type",
                                       "application/json"),
                 0);
    c->has_response = true;
    c->status = 200;
    c->reason = strdup("OK");
    c->head_ms = 3;
    cr_assert_eq(fl_capture_add_header(&c->resp_headers, &c->n_resp_headers, "content-type",
                                       "text/event-stream"),
                 0);
    cr_assert_eq(fl_capture_add_write(c, 5, "data: {\"a\":1}\n\n", 15, FL_CAPTURE_ORIGIN_UPSTREAM),
                 0);
    static const char bin[] = {'\xff', '\0', 'x', '\xc3'};
    cr_assert_eq(fl_capture_add_write(c, 9, bin, sizeof bin, FL_CAPTURE_ORIGIN_FAULT), 0);
    cr_assert_eq(fl_capture_add_write(c, 10, "", 0, FL_CAPTURE_ORIGIN_WITHHELD), 0);
    c->has_end = true;
    c->end = FL_CAPTURE_END_RST;
    c->end_ms = 120;
    c->end_detail = strdup("connection reset by peer");
    c->loss = FL_CAPTURE_LOSS_TRUNCATED;
    cr_assert_eq(fl_capture_add_redacted(c, "request.headers.authorization"), 0);
    return c;
}

static fl_capture_t *parse_ok(const char *text)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_capture_t *c = NULL;
    int rc = fl_capture_parse("t.jsonl", text, strlen(text), &c, &d);
    char msg[1024] = "";
    if (d.len)
        fl_diag_format(&d.items[0], msg, sizeof msg);
    cr_assert_eq(rc, 0, "%s", msg);
    fl_diag_list_close(&d);
    return c;
}

Test(capture, round_trip_is_exact)
{
    fl_capture_t *c = sample();
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_capture_write(&b, c), 0);
    cr_assert_eq(fl_buf_append(&b, "", 1), 0);
    cr_assert_not_null(strstr(b.data, "\"b64\":\"/wB4ww==\""), "%s", b.data);
    cr_assert_not_null(strstr(b.data, "\"origin\":\"fault\""));
    fl_capture_t *r = parse_ok(b.data);
    cr_assert_str_eq(r->source, "serve");
    cr_assert_str_eq(r->path, "/v1/chat/completions");
    cr_assert_eq(r->req_body_len, c->req_body_len);
    cr_assert_str_eq(r->req_headers[0].name, "Content-Type");
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->head_ms, 3);
    cr_assert_eq(r->n_writes, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(r->writes[i].len, c->writes[i].len);
        cr_assert_eq(memcmp(r->writes[i].bytes, c->writes[i].bytes, c->writes[i].len), 0);
        cr_assert_eq(r->writes[i].t_ms, c->writes[i].t_ms);
        cr_assert_eq(r->writes[i].origin, c->writes[i].origin);
    }
    cr_assert(r->has_end);
    cr_assert_eq(r->end, FL_CAPTURE_END_RST);
    cr_assert_eq(r->end_ms, 120);
    cr_assert_str_eq(r->end_detail, "connection reset by peer");
    cr_assert_eq(r->loss, FL_CAPTURE_LOSS_TRUNCATED);
    cr_assert_eq(r->n_redacted, 1);
    fl_buf_t body;
    fl_buf_init(&body);
    cr_assert_eq(fl_capture_body(r, &body), 0);
    cr_assert_eq(body.len, 15 + 4, "withheld bytes are not part of the body");
    fl_buf_close(&body);
    fl_capture_free(r);
    fl_capture_free(c);
    fl_buf_close(&b);
}

Test(capture, every_binary_length_survives_base64)
{
    for (size_t n = 1; n <= 7; n++) {
        char bytes[8];
        for (size_t i = 0; i < n; i++)
            bytes[i] = (char)(0x80 + i * 37);
        fl_buf_t b;
        fl_buf_init(&b);
        fl_capture_t *c = sample();
        cr_assert_eq(fl_capture_write(&b, c), 0);
        fl_capture_free(c);
        /* Drop the end line, add the binary write, end again. */
        b.len = (size_t)(strstr(b.data, "{\"type\":\"end\"") - b.data);
        cr_assert_eq(fl_capture_line_write(&b, 11, bytes, n, FL_CAPTURE_ORIGIN_UPSTREAM), 0);
        cr_assert_eq(fl_buf_append(&b, "", 1), 0);
        fl_capture_t *r = parse_ok(b.data);
        cr_assert_eq(r->writes[3].len, n, "n=%zu", n);
        cr_assert_eq(memcmp(r->writes[3].bytes, bytes, n), 0);
        cr_assert_not(r->has_end, "a capture may stop before its end line");
        fl_capture_free(r);
        fl_buf_close(&b);
    }
}

static void expect_error(const char *text, int line, const char *field, const char *needle)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_capture_t *c = (fl_capture_t *)1;
    cr_assert_lt(fl_capture_parse("bad.jsonl", text, strlen(text), &c, &d), 0, "%s", text);
    cr_assert_null(c);
    cr_assert_geq(d.len, 1);
    cr_assert_eq(d.items[0].line, line, "%s: line %d", text, d.items[0].line);
    cr_assert_str_eq(d.items[0].field, field);
    cr_assert_not_null(strstr(d.items[0].message, needle), "%s", d.items[0].message);
    fl_diag_list_close(&d);
}

#define HEAD "{\"type\":\"capture\",\"version\":1}\n"
#define REQ  "{\"type\":\"request\",\"method\":\"POST\",\"path\":\"/v1/messages\"}\n"
#define RESP "{\"type\":\"response\",\"status\":200}\n"

Test(capture, bad_files_name_line_and_field)
{
    expect_error("", 0, "", "empty");
    expect_error(HEAD, 1, "", "no request line");
    expect_error("{\"type\":\"capture\",\"version\":2}\n", 1, "version", "version 1");
    expect_error(HEAD "[1]\n", 2, "", "not a JSON object");
    expect_error(HEAD "{\"type\":\"request\",\n", 2, "", "not a JSON object");
    expect_error(HEAD REQ "{\"type\":\"write\",\"data\":\"x\"}\n", 3, "type", "out of order");
    expect_error(HEAD REQ RESP "{\"type\":\"write\"}\n", 4, "data", "\"b64\"");
    expect_error(HEAD REQ RESP "{\"type\":\"write\",\"b64\":\"abc\"}\n", 4, "b64", "base64");
    expect_error(HEAD REQ RESP "{\"type\":\"end\",\"how\":\"exploded\"}\n", 4, "how", "rst");
    expect_error(HEAD REQ RESP
                 "{\"type\":\"end\",\"how\":\"rst\"}\n{\"type\":\"write\",\"data\":\"\"}\n",
                 5, "type", "out of order");
    expect_error(HEAD REQ "{\"type\":\"response\",\"status\":42}\n", 3, "status", "100 to 999");
    expect_error("{\"type\":\"capture\",\"version\":1,\"loss\":[\"vibes\"]}\n" REQ, 1, "loss",
                 "timing_synthesized");
}

Test(capture, no_response_and_crlf_lines)
{
    fl_capture_t *c =
        parse_ok(HEAD REQ "{\"type\":\"end\",\"t_ms\":30000,\"how\":\"no_response\"}\r\n");
    cr_assert_not(c->has_response);
    cr_assert_eq(c->end, FL_CAPTURE_END_NO_RESPONSE);
    cr_assert_eq(c->end_ms, 30000);
    fl_capture_free(c);
}

Test(capture, secret_headers)
{
    cr_assert(fl_capture_secret_header("Authorization"));
    cr_assert(fl_capture_secret_header("x-api-key"));
    cr_assert(fl_capture_secret_header("COOKIE"));
    cr_assert(fl_capture_secret_header("x-goog-api-key"));
    cr_assert_not(fl_capture_secret_header("content-type"));
    cr_assert_not(fl_capture_secret_header("anthropic-version"));
}

static void expect_redacted(const char *in, const char *want, size_t count)
{
    char buf[256];
    size_t len = strlen(in);
    memcpy(buf, in, len + 1);
    cr_assert_eq(fl_capture_redact_text(buf, &len), count, "%s", in);
    buf[len] = '\0';
    cr_assert_str_eq(buf, want);
}

Test(capture, redacts_keys_and_bearer_tokens)
{
    expect_redacted("{\"api_key\":\"sk-proj-abcdefghijklmnop1234\"}",
                    "{\"api_key\":\"sk-REDACTED\"}", 1);
    expect_redacted("key=sk-ant-api03-AAAAAAAAAAAAAAAAAAAA&x=1", "key=sk-REDACTED&x=1", 1);
    expect_redacted("AIzaSyA1234567890abcdefghijklmnopqrs", "AIza-REDACTED", 1);
    expect_redacted("Authorization: Bearer abc.def.ghi-123\n", "Authorization: Bearer REDACTED\n",
                    1);
    expect_redacted("two sk-aaaaaaaaaaaaaaaaaaaaaaaa and sk-bbbbbbbbbbbbbbbbbbbbbbbbbb",
                    "two sk-REDACTED and sk-REDACTED", 2);
    /* Not secrets: short, inside a word, already redacted. */
    expect_redacted("task-sk-aaaaaaaaaaaaaaaaaaaaaaaa", "task-sk-aaaaaaaaaaaaaaaaaaaaaaaa", 0);
    expect_redacted("sk-short", "sk-short", 0);
    expect_redacted("Bearer REDACTED", "Bearer REDACTED", 0);
    expect_redacted("a bearer of news", "a bearer of news", 0);
}

/* The wire plan's storage (wire.h) and the HTTP head formatter (httphead.h). */
#include "base/error.h"
#include "chaos/httphead.h"
#include "chaos/wire.h"

#include <criterion/criterion.h>
#include <string.h>

Test(wire, push_copies_bytes_and_counts_writes, .timeout = 5)
{
    fl_wire_t w;
    fl_wire_init(&w);
    cr_assert_eq(w.n_ops, 0);
    char buf[4] = "abc";
    fl_wire_op_t op = {.kind = FL_WIRE_WRITE, .at_ms = 5, .fault = FL_WIRE_NO_FAULT};
    cr_assert_eq(fl_wire_push(&w, &op, buf, 3), 0);
    buf[0] = 'X'; /* the plan owns a copy */
    op.kind = FL_WIRE_FIRE;
    op.off = 99;
    op.len = 99;
    cr_assert_eq(fl_wire_push(&w, &op, "ignored", 7), 0);
    op.kind = FL_WIRE_PING;
    op.every_ms = 1000;
    cr_assert_eq(fl_wire_push(&w, &op, ": ping\n\n", 8), 0);
    op.kind = FL_WIRE_WRITE;
    cr_assert_eq(fl_wire_push(&w, &op, "de", 2), 0);
    for (int i = 0; i < 40; i++) /* grows past the first allocation */
        cr_assert_eq(fl_wire_push(&w, &op, "f", 1), 0);
    cr_assert_eq(w.n_ops, 44);
    cr_assert_eq(w.ops[0].off, 0);
    cr_assert_eq(w.ops[0].len, 3);
    cr_assert(memcmp(w.bytes.data + w.ops[0].off, "abc", 3) == 0);
    cr_assert_eq(w.ops[1].len, 0); /* FIRE carries no bytes */
    cr_assert_eq(w.ops[1].off, 0);
    cr_assert(memcmp(w.bytes.data + w.ops[2].off, ": ping\n\n", 8) == 0);
    cr_assert_eq(w.ops[2].every_ms, 1000);
    cr_assert(memcmp(w.bytes.data + w.ops[3].off, "de", 2) == 0);
    /* pings are not part of the total: they repeat */
    cr_assert_eq(fl_wire_total_bytes(&w), 3 + 2 + 40);
    fl_wire_close(&w);
    cr_assert_eq(w.n_ops, 0);
    cr_assert_null(w.ops);
}

Test(httphead, chunked_stream_head, .timeout = 5)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_http_head_t h = fl_http_head_default(200);
    h.content_type = "text/event-stream";
    h.body = FL_HTTP_BODY_CHUNKED;
    h.request_id = "req_9";
    h.extra = "cache-control: no-cache\r\n";
    cr_assert_eq(fl_http_head_format(&b, &h), 0);
    cr_assert_str_eq(b.data, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                             "transfer-encoding: chunked\r\nx-request-id: req_9\r\n"
                             "cache-control: no-cache\r\n\r\n");
    fl_buf_close(&b);
}

Test(httphead, error_head_with_retry_headers, .timeout = 5)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append_str(&b, "keep|");
    fl_http_head_t h = fl_http_head_default(529);
    h.content_type = "application/json";
    h.content_length = 42;
    h.retry_after_s = 0;
    h.retry_after_ms = 250;
    cr_assert_eq(fl_http_head_format(&b, &h), 0);
    cr_assert_str_eq(b.data, "keep|HTTP/1.1 529 Site is overloaded\r\ncontent-type: "
                             "application/json\r\ncontent-length: 42\r\nretry-after: 0\r\n"
                             "retry-after-ms: 250\r\n\r\n");
    fl_buf_close(&b);
}

Test(httphead, close_framing_and_custom_reason, .timeout = 5)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_http_head_t h = fl_http_head_default(599);
    h.reason = "Made Up";
    h.body = FL_HTTP_BODY_CLOSE;
    cr_assert_eq(fl_http_head_format(&b, &h), 0);
    cr_assert_str_eq(b.data, "HTTP/1.1 599 Made Up\r\nconnection: close\r\n\r\n");
    fl_buf_close(&b);
}

Test(httphead, invalid_status_leaves_buffer_unchanged, .timeout = 5)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append_str(&b, "x");
    fl_http_head_t h = fl_http_head_default(42);
    cr_assert_eq(fl_http_head_format(&b, &h), FL_EINVAL);
    h.status = 1000;
    cr_assert_eq(fl_http_head_format(&b, &h), FL_EINVAL);
    cr_assert_str_eq(b.data, "x");
    fl_buf_close(&b);
}

Test(httphead, reason_phrases, .timeout = 5)
{
    cr_assert_str_eq(fl_http_reason(429), "Too Many Requests");
    cr_assert_str_eq(fl_http_reason(504), "Gateway Timeout");
    cr_assert_str_eq(fl_http_reason(524), "A Timeout Occurred");
    cr_assert_str_eq(fl_http_reason(503), "Service Unavailable");
    cr_assert_str_eq(fl_http_reason(299), "Unknown");
}

Test(httphead, connection_header_and_its_place, .timeout = 5)
{
    fl_buf_t b;
    fl_buf_init(&b);
    /* a server JSON answer: content-length, x-request-id, connection, then extra lines */
    fl_http_head_t h = fl_http_head_default(405);
    h.content_type = "application/json";
    h.content_length = 7;
    h.request_id = "req_1";
    h.connection = "keep-alive";
    h.extra = "allow: POST\r\n";
    cr_assert_eq(fl_http_head_format(&b, &h), 0);
    cr_assert_str_eq(b.data,
                     "HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\n"
                     "content-length: 7\r\nx-request-id: req_1\r\nconnection: keep-alive\r\n"
                     "allow: POST\r\n\r\n");
    /* a close-delimited body says connection: close once, whatever connection asks */
    b.len = 0;
    h = fl_http_head_default(200);
    h.body = FL_HTTP_BODY_CLOSE;
    h.connection = "keep-alive";
    cr_assert_eq(fl_http_head_format(&b, &h), 0);
    cr_assert_str_eq(b.data, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
    fl_buf_close(&b);
}

Test(httphead, reason_phrases_the_server_answers_with, .timeout = 5)
{
    /* every status the server's own replies use (routing, the request parser's refusals) */
    static const struct {
        int status;
        const char *reason;
    } cases[] = {{200, "OK"},
                 {400, "Bad Request"},
                 {404, "Not Found"},
                 {405, "Method Not Allowed"},
                 {413, "Content Too Large"},
                 {431, "Request Header Fields Too Large"},
                 {500, "Internal Server Error"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_str_eq(fl_http_reason(cases[i].status), cases[i].reason);
}

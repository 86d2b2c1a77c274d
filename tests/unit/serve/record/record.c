/*
 * The recorder (serve/record.h) without a socket: wire bytes in as a connection sends them, a
 * capture file out through the loop's thread pool, read back with the capture parser.
 */
#include "serve/record.h"
#include "model/capture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uv_loop_t loop;
static char dir[64];

static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    snprintf(dir, sizeof(dir), "/tmp/fl-record-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    cr_assert_eq(uv_loop_close(&loop), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(record, .init = setup, .fini = teardown, .timeout = 10);

static fl_http_request_t *request(const char *body)
{
    static fl_http_header_t headers[2];
    static fl_http_request_t req;
    headers[0] = (fl_http_header_t){"content-type", "application/json"};
    headers[1] = (fl_http_header_t){"authorization", "Bearer sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX"};
    memset(&req, 0, sizeof(req));
    strcpy(req.method, "POST");
    req.path = "/v1/chat/completions";
    req.headers = headers;
    req.n_headers = 2;
    req.body = (char *)body;
    req.body_len = strlen(body);
    return &req;
}

/* The one capture file in dir, parsed. */
static fl_capture_t *read_back(const char *want_suffix)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    char path[512] = "";
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            n++;
            cr_assert(strstr(e->d_name, want_suffix), "%s", e->d_name);
        }
    closedir(d);
    cr_assert_eq(n, 1, "%d files (a .tmp left?)", n);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_capture_t *c = NULL;
    cr_assert_eq(fl_capture_load_file(path, &c, &diags), 0);
    fl_diag_list_close(&diags);
    return c;
}

#define HEAD                                                                                       \
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

Test(record, chunked_stream_reset)
{
    fl_record_t *r;
    cr_assert_eq(fl_record_new(&loop, dir, 0, 0, &r), 0);
    fl_record_exchange_t *x =
        fl_record_begin(r, request("{\"api_key\":\"sk-abcdefghijklmnopqrstuvwxyz\"}"), 1000);
    cr_assert_not_null(x);
    /* the head and the first chunk in one send, then a chunk split across two sends */
    fl_record_wire(x, HEAD "6\r\ndata:1\r\n", strlen(HEAD) + 11, 1002);
    fl_record_wire(x, "8\r\ndata", 7, 1040);
    fl_record_wire(x, ": 2\n\r\n", 6, 1041);
    fl_record_end(x, FL_END_RESET, "chat-reset", 1050);
    uv_run(&loop, UV_RUN_DEFAULT); /* the file is written off the loop thread */
    cr_assert_eq(fl_record_written(r), 1);
    cr_assert_eq(fl_record_dropped(r), 0);
    fl_record_free(r);

    fl_capture_t *c = read_back("000001-chat-reset.capture.jsonl");
    cr_assert_str_eq(c->source, "serve");
    cr_assert_eq(c->status, 200);
    cr_assert_eq(c->head_ms, 2);
    cr_assert_eq(c->n_writes, 3);
    cr_assert_eq(c->writes[0].t_ms, 2);
    cr_assert_eq(c->writes[0].len, 6);
    cr_assert_eq(memcmp(c->writes[0].bytes, "data:1", 6), 0);
    cr_assert_eq(c->writes[1].t_ms, 40);
    cr_assert_eq(memcmp(c->writes[1].bytes, "data", 4), 0);
    cr_assert_eq(memcmp(c->writes[2].bytes, ": 2\n", 4), 0);
    cr_assert_eq(c->end, FL_CAPTURE_END_RST);
    cr_assert_eq(c->end_ms, 50);
    /* secrets: the header value and the key in the body */
    for (size_t i = 0; i < c->n_req_headers; i++)
        if (strcmp(c->req_headers[i].name, "authorization") == 0)
            cr_assert_str_eq(c->req_headers[i].value, "REDACTED");
    cr_assert_null(memmem(c->req_body, c->req_body_len, "abcdefghijklmnop", 16));
    cr_assert_eq(c->n_redacted, 2);
    fl_capture_free(c);
}

Test(record, terminator_makes_it_complete_and_stall_is_timeout)
{
    fl_record_t *r;
    cr_assert_eq(fl_record_new(&loop, dir, 0, 0, &r), 0);
    fl_record_exchange_t *x = fl_record_begin(r, request(""), 0);
    fl_record_wire(x, HEAD, strlen(HEAD), 0);
    fl_record_wire(x, "2\r\nhi\r\n0\r\n\r\n", 12, 5);
    fl_record_end(x, FL_END_CLIENT_CLOSED, "a", 9); /* the terminator went out: complete */
    uv_run(&loop, UV_RUN_DEFAULT);
    fl_capture_t *c = read_back("-a.capture.jsonl");
    cr_assert_eq(c->end, FL_CAPTURE_END_COMPLETE);
    cr_assert_eq(c->n_writes, 1);
    fl_capture_free(c);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", dir);
    cr_assert_eq(system(cmd), 0);

    x = fl_record_begin(r, request(""), 0);
    fl_record_wire(x, HEAD, strlen(HEAD), 0);
    fl_record_end(x, FL_END_STALLED, "b", 1000); /* the client left a silent server */
    uv_run(&loop, UV_RUN_DEFAULT);
    c = read_back("-b.capture.jsonl");
    cr_assert_eq(c->end, FL_CAPTURE_END_TIMEOUT);
    cr_assert_eq(c->n_writes, 0);
    fl_capture_free(c);
    fl_record_free(r);
}

Test(record, bounds)
{
    /* a capture keeps at most 4 body bytes here: the rest is dropped and flagged */
    fl_record_t *r;
    cr_assert_eq(fl_record_new(&loop, dir, 4, 0, &r), 0);
    fl_record_exchange_t *x = fl_record_begin(r, request(""), 0);
    const char *page = "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 10\r\n\r\n0123456789";
    fl_record_wire(x, page, strlen(page), 1);
    fl_record_end(x, FL_END_COMPLETE, NULL, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    fl_capture_t *c = read_back("-unrouted.capture.jsonl");
    cr_assert_eq(c->status, 429);
    cr_assert_str_eq(c->reason, "Too Many Requests");
    cr_assert_eq(c->n_writes, 1);
    cr_assert_eq(c->writes[0].len, 4);
    cr_assert(c->loss & FL_CAPTURE_LOSS_TRUNCATED);
    fl_capture_free(c);
    fl_record_free(r);

    /* at most 10 bytes may wait for the disk: a capture is larger, so it is dropped */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(fl_record_new(&loop, dir, 0, 10, &r), 0);
    x = fl_record_begin(r, request(""), 0);
    fl_record_end(x, FL_END_CLOSED, "c", 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(fl_record_written(r), 0);
    cr_assert_eq(fl_record_dropped(r), 1);
    fl_record_free(r);
}

/*
 * The server end to end: a fl_server on its own loop in a thread, driven with libcurl and raw
 * sockets over 127.0.0.1 (port 0). The journal is read over HTTP, never across threads.
 */
#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"
#include "serve/server.h"
#include "sse_parse.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ANSWER   "Hello there, brave tester."
#define MAX_BODY 4096

static uv_loop_t loop;
static uv_async_t stop_async;
static fl_server_t *srv;
static fl_scenario_set_t set;
static pthread_t thread;
static int port;
static char base[64];

static void on_stop(uv_async_t *a)
{
    fl_server_stop(srv, NULL, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

static void setup(void)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_set_init(&set);
    cr_assert_eq(fl_scenario_set_load(&set, FL_TESTDATA_DIR "/serve", &diags), 0);
    fl_diag_list_close(&diags);
    cr_assert_eq(uv_loop_init(&loop), 0);
    fl_server_opts_t opts = {.max_body = MAX_BODY};
    cr_assert_eq(fl_server_new(&loop, &set, &opts, &srv), 0);
    cr_assert_eq(fl_server_start(srv, "127.0.0.1", 0), 0);
    port = fl_server_port(srv);
    cr_assert_gt(port, 0);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    cr_assert_eq(uv_async_init(&loop, &stop_async, on_stop), 0);
    cr_assert_eq(pthread_create(&thread, NULL, run_loop, NULL), 0);
}

static void teardown(void)
{
    uv_async_send(&stop_async);
    pthread_join(thread, NULL);
    cr_assert_eq(uv_loop_close(&loop), 0);
    fl_scenario_set_close(&set);
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 60);

/* --- a small libcurl client --- */

typedef struct resp_s {
    long status;
    char *body;
    size_t len;
    char *head;
    size_t head_len;
    double total_ms;
    size_t abort_after; /* abort the transfer once this many body bytes arrived (0 = never) */
} resp_t;

static size_t append(char **p, size_t *n, const char *d, size_t k)
{
    *p = realloc(*p, *n + k + 1);
    memcpy(*p + *n, d, k);
    *n += k;
    (*p)[*n] = '\0';
    return k;
}

static size_t on_body(char *d, size_t sz, size_t nm, void *u)
{
    resp_t *r = u;
    append(&r->body, &r->len, d, sz * nm);
    if (r->abort_after && r->len >= r->abort_after)
        return 0; /* makes libcurl abort and close the connection */
    return sz * nm;
}

static size_t on_head(char *d, size_t sz, size_t nm, void *u)
{
    resp_t *r = u;
    return append(&r->head, &r->head_len, d, sz * nm);
}

/* method NULL = POST when body, else GET; extra_header may be NULL. */
static CURLcode request_on(CURL *c, const char *method, const char *path, const char *body,
                           const char *extra_header, resp_t *r)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    if (extra_header)
        h = curl_slist_append(h, extra_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    double t = 0;
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &t);
    r->total_ms = t * 1000.0;
    curl_slist_free_all(h);
    return rc;
}

static CURLcode request(const char *method, const char *path, const char *body,
                        const char *extra_header, resp_t *r)
{
    CURL *c = curl_easy_init();
    CURLcode rc = request_on(c, method, path, body, extra_header, r);
    curl_easy_cleanup(c);
    return rc;
}

static void resp_free(resp_t *r)
{
    free(r->body);
    free(r->head);
    memset(r, 0, sizeof(*r));
}

static json_t *journal(void)
{
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/_faultline/journal", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "journal is not JSON: %s", r.body);
    resp_free(&r);
    return json_object_get(j, "requests") ? j : (json_decref(j), NULL);
}

static void reset(void)
{
    resp_t r = {0};
    cr_assert_eq(request("POST", "/_faultline/reset", "", NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
}

/* --- streaming, per dialect --- */

static void check_stream(const char *path, const char *scenario)
{
    resp_t r = {0};
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "x-faultline-scenario: %s", scenario);
    cr_assert_eq(request(NULL, path, "{\"stream\":true,\"model\":\"x\"}", hdr, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.head, "content-type: text/event-stream"));
    cr_assert_not_null(strstr(r.head, "transfer-encoding: chunked"));
    cr_assert_not_null(strstr(r.head, "x-request-id: req_"));
    /* ttft 100 ms, then 3 intervals of 20 ms: generous bounds. */
    cr_assert_geq(r.total_ms, 150.0, "too fast: %f ms", r.total_ms);
    cr_assert_lt(r.total_ms, 10000.0);

    test_sse_t sse;
    test_sse_parse(r.body, r.len, &sse);
    cr_assert_gt(sse.n, 3);
    char text[256] = "";
    const char *last_event = sse.events[sse.n - 1].event;
    const char *last_data = sse.events[sse.n - 1].data;
    for (size_t i = 0; i < sse.n; i++) {
        if (strcmp(sse.events[i].data, "[DONE]") == 0)
            continue;
        json_t *d = json_loads(sse.events[i].data, 0, NULL);
        cr_assert_not_null(d, "event %zu data is not JSON: %s", i, sse.events[i].data);
        const char *piece = NULL;
        if (strstr(path, "chat")) {
            piece = json_string_value(json_object_get(
                json_object_get(json_array_get(json_object_get(d, "choices"), 0), "delta"),
                "content"));
        } else if (strstr(path, "responses")) {
            cr_assert_str_eq(json_string_value(json_object_get(d, "type")), sse.events[i].event);
            if (strcmp(sse.events[i].event, "response.output_text.delta") == 0)
                piece = json_string_value(json_object_get(d, "delta"));
        } else {
            cr_assert_str_eq(json_string_value(json_object_get(d, "type")), sse.events[i].event);
            if (strcmp(sse.events[i].event, "content_block_delta") == 0)
                piece = json_string_value(json_object_get(json_object_get(d, "delta"), "text"));
        }
        if (piece)
            strncat(text, piece, sizeof(text) - strlen(text) - 1);
        json_decref(d);
    }
    cr_assert_str_eq(text, ANSWER);
    if (strstr(path, "chat")) {
        cr_assert_str_eq(last_data, "[DONE]");
    } else if (strstr(path, "responses")) {
        cr_assert_str_eq(sse.events[0].event, "response.created");
        cr_assert_str_eq(last_event, "response.completed");
    } else {
        cr_assert_str_eq(sse.events[0].event, "message_start");
        cr_assert_str_eq(last_event, "message_stop");
    }
    test_sse_free(&sse);
    resp_free(&r);
}

Test(serve, streams_openai_chat)
{
    check_stream("/v1/chat/completions", "serve-chat");
}

Test(serve, streams_openai_responses)
{
    check_stream("/v1/responses", "serve-responses");
}

Test(serve, streams_anthropic_messages)
{
    check_stream("/v1/messages", "serve-messages");
}

Test(serve, close_framing_ends_at_fin)
{
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/s/serve-close/v1/chat/completions", "{\"stream\":true}", NULL, &r),
                 CURLE_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_null(strstr(r.head, "transfer-encoding"));
    cr_assert_not_null(strstr(r.head, "connection: close"));
    cr_assert_not_null(strstr(r.body, "data: [DONE]\n\n"));
    resp_free(&r);
}

Test(serve, non_streaming_json)
{
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/v1/chat/completions", "{\"model\":\"x\"}", NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.head, "content-type: application/json"));
    cr_assert_not_null(strstr(r.head, "x-request-id: req_"));
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "object")), "chat.completion");
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"),
            "content")),
        ANSWER);
    json_decref(j);
    resp_free(&r);
}

/* --- journal --- */

Test(serve, journal_counts_attempts_and_reset_clears)
{
    reset();
    for (int i = 0; i < 2; i++) {
        resp_t r = {0};
        cr_assert_eq(request(NULL, "/v1/chat/completions", "{\"stream\":true}",
                             "Authorization: Bearer sk-do-not-log", &r),
                     CURLE_OK);
        cr_assert_eq(r.status, 200);
        resp_free(&r);
    }
    json_t *j = journal();
    json_t *list = json_object_get(j, "requests");
    cr_assert_eq(json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(list, i);
        cr_assert_str_eq(json_string_value(json_object_get(e, "scenario")), "serve-chat");
        cr_assert_eq(json_integer_value(json_object_get(e, "attempt")), (json_int_t)i + 1);
        cr_assert(json_is_true(json_object_get(e, "stream")));
        cr_assert_eq(json_integer_value(json_object_get(e, "status")), 200);
        cr_assert_str_eq(json_string_value(json_object_get(e, "end")), "complete");
        cr_assert_str_eq(json_string_value(json_object_get(e, "framing")), "chunked");
        cr_assert_gt(json_integer_value(json_object_get(e, "events")), 3);
        cr_assert_gt(json_integer_value(json_object_get(e, "bytes")), 100);
        cr_assert_str_eq(
            json_string_value(json_object_get(json_object_get(e, "headers"), "authorization")),
            "[redacted]");
        json_int_t first = json_integer_value(json_object_get(e, "first_byte_ms"));
        json_int_t last = json_integer_value(json_object_get(e, "last_byte_ms"));
        cr_assert_geq(last - first, 100, "first %lld last %lld", (long long)first, (long long)last);
    }
    json_decref(j);
    reset();
    j = journal();
    cr_assert_eq(json_array_size(json_object_get(j, "requests")), 0);
    json_decref(j);
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/v1/chat/completions", "{}", NULL, &r), CURLE_OK);
    resp_free(&r);
    j = journal();
    cr_assert_eq(json_integer_value(
                     json_object_get(json_array_get(json_object_get(j, "requests"), 0), "attempt")),
                 1);
    json_decref(j);
}

/* --- connection reuse --- */

Test(serve, keep_alive_reuses_the_connection)
{
    CURL *c = curl_easy_init();
    resp_t a = {0}, b = {0};
    cr_assert_eq(request_on(c, NULL, "/v1/messages", "{\"stream\":true}", NULL, &a), CURLE_OK);
    long n = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(request_on(c, NULL, "/v1/messages", "{}", NULL, &b), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n);
    cr_assert_eq(n, 0, "the second request opened a new connection");
    cr_assert_eq(a.status, 200);
    cr_assert_eq(b.status, 200);
    resp_free(&a);
    resp_free(&b);
    curl_easy_cleanup(c);
}

static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Reads until EOF (or the 10 s receive timeout); returns a NUL-terminated buffer. */
static char *read_all(int fd, size_t *len)
{
    char *out = NULL;
    size_t n = 0;
    char buf[4096];
    ssize_t k;
    while ((k = recv(fd, buf, sizeof(buf), 0)) > 0)
        append(&out, &n, buf, (size_t)k);
    if (!out)
        append(&out, &n, "", 0);
    *len = n;
    return out;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    cr_assert_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

Test(serve, pipelined_requests_answered_in_order)
{
    int fd = raw_connect();
    send_all(fd, "POST /s/serve-chat/v1/chat/completions HTTP/1.1\r\nHost: t\r\n"
                 "Content-Length: 15\r\n\r\n{\"stream\":true}"
                 "GET /_faultline/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    size_t n;
    char *all = read_all(fd, &n);
    close(fd);
    char *first = strstr(all, "HTTP/1.1 200 OK");
    cr_assert_not_null(first, "%s", all);
    char *done = strstr(all, "data: [DONE]");
    char *terminator = done ? strstr(done, "\r\n0\r\n\r\n") : NULL;
    char *second = strstr(first + 1, "HTTP/1.1 200 OK");
    cr_assert_not_null(done);
    cr_assert_not_null(terminator);
    cr_assert_not_null(second, "%s", all);
    cr_assert_gt(second, terminator, "the second response overtook the stream");
    cr_assert_not_null(strstr(second, "{\"status\":\"ok\"}"));
    free(all);
}

/* --- errors --- */

Test(serve, bad_json_is_400_in_dialect_shape)
{
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/v1/messages", "{not json", NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 400);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "error");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "type")),
                     "invalid_request_error");
    json_decref(j);
    resp_free(&r);
    cr_assert_eq(request(NULL, "/v1/chat/completions", "[1,2]", NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 400);
    j = json_loads(r.body, 0, NULL);
    cr_assert(json_is_string(json_object_get(json_object_get(j, "error"), "message")));
    json_decref(j);
    resp_free(&r);
}

Test(serve, malformed_http_is_400_and_closed)
{
    int fd = raw_connect();
    send_all(fd, "THIS IS NOT HTTP\r\n\r\n");
    size_t n;
    char *all = read_all(fd, &n); /* returns at EOF: the server closed */
    close(fd);
    cr_assert(strncmp(all, "HTTP/1.1 400 ", 13) == 0, "%s", all);
    cr_assert_not_null(strstr(all, "connection: close"));
    cr_assert_not_null(strstr(all, "{\"error\":{\"message\":"));
    free(all);
}

Test(serve, not_found_and_wrong_method)
{
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/v2/nothing", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 404);
    cr_assert_not_null(strstr(r.body, "\"error\""));
    resp_free(&r);
    cr_assert_eq(request(NULL, "/v1/messages", "{}", "x-faultline-scenario: no-such", &r),
                 CURLE_OK);
    cr_assert_eq(r.status, 404);
    cr_assert_not_null(strstr(r.body, "no-such"));
    resp_free(&r);
    cr_assert_eq(request(NULL, "/s/serve-chat/v1/messages", "{}", NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 404);
    cr_assert_not_null(strstr(r.body, "/v1/chat/completions"), "%s", r.body);
    resp_free(&r);
    cr_assert_eq(request(NULL, "/v1/chat/completions", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 405);
    cr_assert_not_null(strstr(r.head, "allow: POST"));
    resp_free(&r);
    cr_assert_eq(request("DELETE", "/_faultline/health", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 405);
    cr_assert_not_null(strstr(r.head, "allow: GET"));
    resp_free(&r);
}

Test(serve, body_over_limit_is_413)
{
    char *big = malloc(MAX_BODY + 200);
    memset(big, ' ', MAX_BODY + 199);
    big[0] = '{';
    big[MAX_BODY + 197] = '}';
    big[MAX_BODY + 199] = '\0';
    resp_t r = {0};
    request(NULL, "/v1/chat/completions", big, NULL, &r);
    cr_assert_eq(r.status, 413);
    resp_free(&r);
    free(big);
    /* The server is still fine. */
    cr_assert_eq(request(NULL, "/_faultline/health", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
}

/* --- robustness --- */

/* Polls the journal until the newest entry for path has this end, for up to 5 s. */
static bool wait_end(const char *scenario, const char *end)
{
    for (int i = 0; i < 100; i++) {
        json_t *j = journal();
        json_t *list = json_object_get(j, "requests");
        bool found = false;
        for (size_t k = 0; k < json_array_size(list); k++) {
            json_t *e = json_array_get(list, k);
            if (strcmp(json_string_value(json_object_get(e, "scenario")) ?: "", scenario) == 0 &&
                strcmp(json_string_value(json_object_get(e, "end")), end) == 0)
                found = true;
        }
        json_decref(j);
        if (found)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

Test(serve, client_disconnect_mid_stream)
{
    reset();
    resp_t r = {0};
    r.abort_after = 100;
    CURLcode rc = request(NULL, "/s/serve-slow/v1/chat/completions", "{\"stream\":true}", NULL, &r);
    cr_assert_eq(rc, CURLE_WRITE_ERROR);
    resp_free(&r);
    cr_assert(wait_end("serve-slow", "client_closed"), "journal never said client_closed");
    cr_assert_eq(request(NULL, "/_faultline/health", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    check_stream("/v1/chat/completions", "serve-chat");
}

Test(serve, half_request_does_not_block_others)
{
    int fd = raw_connect();
    send_all(fd, "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{");
    resp_t r = {0};
    cr_assert_eq(request(NULL, "/_faultline/health", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    check_stream("/v1/messages", "serve-messages");
    close(fd);
    cr_assert_eq(request(NULL, "/_faultline/health", NULL, NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
}

/* --- scenario choice --- */

static const char *last_scenario(void)
{
    static char name[64];
    json_t *j = journal();
    json_t *list = json_object_get(j, "requests");
    json_t *e = json_array_get(list, json_array_size(list) - 1);
    snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(e, "scenario")) ?: "");
    json_decref(j);
    return name;
}

Test(serve, scenario_selection)
{
    resp_t r = {0};
    /* default: the first chat scenario in load order */
    cr_assert_eq(request(NULL, "/v1/chat/completions", "{}", NULL, &r), CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    cr_assert_str_eq(last_scenario(), "serve-chat");
    /* model */
    cr_assert_eq(request(NULL, "/v1/chat/completions", "{\"model\":\"serve-slow\"}", NULL, &r),
                 CURLE_OK);
    resp_free(&r);
    cr_assert_str_eq(last_scenario(), "serve-slow");
    /* prefix beats model */
    cr_assert_eq(
        request(NULL, "/s/serve-close/v1/chat/completions", "{\"model\":\"serve-slow\"}", NULL, &r),
        CURLE_OK);
    resp_free(&r);
    cr_assert_str_eq(last_scenario(), "serve-close");
    /* header beats prefix */
    cr_assert_eq(request(NULL, "/s/serve-close/v1/chat/completions", "{}",
                         "x-faultline-scenario: serve-slow", &r),
                 CURLE_OK);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    cr_assert_str_eq(last_scenario(), "serve-slow");
}

Test(serve, http10_client_gets_a_body_ending_at_fin)
{
    int fd = raw_connect();
    send_all(fd,
             "POST /v1/chat/completions HTTP/1.0\r\nContent-Length: 15\r\n\r\n{\"stream\":true}");
    size_t n;
    char *all = read_all(fd, &n);
    close(fd);
    cr_assert(strncmp(all, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", all);
    cr_assert_null(strstr(all, "transfer-encoding"));
    cr_assert_not_null(strstr(all, "connection: close"));
    static const char tail[] = "data: [DONE]\n\n";
    cr_assert_geq(n, sizeof(tail) - 1);
    cr_assert_str_eq(all + n - (sizeof(tail) - 1), tail);
    free(all);
}

/*
 * Faults that cannot apply to a response are skipped, not a 500 (issue 11): an HTTP/1.0 client
 * gets a close-delimited body, where a chunk_size fault has no chunk-size line to break; a
 * "stream": false request gets one JSON object, where a fault at a later event, an in-stream
 * error or injected bytes have nothing to act on. Each such request gets its clean response,
 * byte for byte (ids and times normalised) what the scenario's clean attempt 2 sends, and the
 * journal lists the skipped fault with its reason. The last suite asks the catalog's own two
 * scenarios the issue names.
 */
#include "e2e_server.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAT      "/v1/chat/completions"
#define RESPONSES "/v1/responses"
#define MESSAGES  "/v1/messages"

/* The reasons, as the chaos compiler words them (chaos/chaos.h fl_chaos_applies). */
#define CLOSE_DELIMITED                                                                            \
    "chunk_size needs chunked framing; this response is close-delimited (HTTP/1.0)"
#define REWRITES(what)                                                                             \
    what " rewrites the event stream; a non-streaming body is one JSON object with a fixed "       \
         "content-length"
#define NO_EVENT(n)                                                                                \
    "event " #n " does not exist in a non-streaming body (one JSON object: event 1 is its start)"

/* One request whose faults cannot all apply. */
typedef struct skip_case_s {
    const char *scenario;
    const char *path;
    bool http10;             /* an HTTP/1.0 streaming request; else HTTP/1.1 "stream": false */
    const char *fault;       /* the skipped fault's name */
    const char *description; /* its description, or the start of it */
    const char *reason;      /* why it was skipped */
    const char *fired;       /* a fault of the same plan that still fires; NULL: none */
    double min_end_ms;       /* the response ends no sooner (the stall that fired) */
} skip_case_t;

static const skip_case_t cases[] = {
    {"skip-chunk-size-messages", MESSAGES, true, "corrupt", "corrupt chunk_size at event 6",
     CLOSE_DELIMITED, NULL, 0},
    {"skip-chunk-size-chat", CHAT, true, "corrupt", "corrupt chunk_size at event 3",
     CLOSE_DELIMITED, NULL, 0},
    {"skip-json-event5", CHAT, false, "corrupt", "corrupt json at event 5",
     REWRITES("corrupt json"), NULL, 0},
    {"skip-json-event5-responses", RESPONSES, false, "corrupt", "corrupt json at event 5",
     REWRITES("corrupt json"), NULL, 0},
    {"skip-reset-event5", CHAT, false, "reset", "reset at event 5", NO_EVENT(5), NULL, 0},
    {"skip-error-event", CHAT, false, "error_event", "error_event overloaded at event 3",
     REWRITES("error_event"), NULL, 0},
    {"skip-inject", MESSAGES, false, "inject", "inject 3 bytes at byte 0", REWRITES("inject"), NULL,
     0},
    /* at the body's end too: no SSE byte is appended after the JSON object (issue 17) */
    {"skip-error-event-end-responses", RESPONSES, false, "error_event", "error_event server at end",
     REWRITES("error_event"), NULL, 0},
    {"skip-inject-end-chat", CHAT, false, "inject", "inject 12 bytes at end", REWRITES("inject"),
     NULL, 0},
    /* seeded draws follow the same rule: the garbage is skipped, the stall at event 1 (the
     * only event a one-event body can draw) holds the JSON body back */
    {"skip-seeded", CHAT, false, "corrupt", "corrupt garbage 16 bytes (seed ",
     REWRITES("corrupt garbage"), "stall", 300},
};

/* The request into req (size bytes): HTTP/1.0 with "stream": true (no keep-alive: the body
 * ends at FIN), or HTTP/1.1 with "stream": false and Connection: close. Returns its length. */
static size_t build(const char *scenario, const char *path, bool http10, char *req, size_t size)
{
    const char *stream = http10 ? "true" : "false";
    char body[256];
    if (strcmp(path, RESPONSES) == 0)
        snprintf(body, sizeof(body), "{\"model\":\"m\",\"stream\":%s,\"input\":\"Say hello.\"}",
                 stream);
    else
        snprintf(body, sizeof(body),
                 "{\"model\":\"m\",\"stream\":%s,\"max_tokens\":64,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}",
                 stream);
    int n = snprintf(req, size,
                     "POST /s/%s%s HTTP/%s\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s",
                     scenario, path, http10 ? "1.0" : "1.1", strlen(body),
                     http10 ? "" : "Connection: close\r\n", body);
    cr_assert(n > 0 && (size_t)n < size);
    return (size_t)n;
}

/* One exchange, decoded, its body normalised. */
typedef struct exchange_s {
    fl_raw_result_t r;
    es_resp_t d;
    char *norm;
    size_t norm_len;
} exchange_t;

static void run(const skip_case_t *c, exchange_t *x)
{
    char req[1024];
    size_t len = build(c->scenario, c->path, c->http10, req, sizeof(req));
    fl_raw_opts_t opts = {.timeout_ms = 5000};
    cr_assert_eq(fl_raw_exchange(es_port(), req, len, &opts, &x->r), 0, "cannot reach the server");
    es_decode(&x->r, &x->d);
    x->norm = es_normalise(x->d.dc.data, x->d.dc.len, &x->norm_len);
}

static void exchange_free(exchange_t *x)
{
    free(x->norm);
    es_resp_free(&x->d);
    fl_raw_result_free(&x->r);
}

/* What both attempts must be: a whole 200 response in the request's framing. */
static void assert_whole(const skip_case_t *c, const exchange_t *x, const char *which)
{
    cr_assert_eq(x->r.end, FL_RAW_EOF, "%s %s: ended %s", c->scenario, which,
                 fl_raw_end_name(x->r.end));
    cr_assert_eq(x->d.status, 200, "%s %s: status %d: %s", c->scenario, which, x->d.status,
                 x->d.dc.data ? x->d.dc.data : "");
    cr_assert_not(x->d.chunked, "%s %s: chunked", c->scenario, which);
    char v[64];
    if (c->http10) {
        cr_assert(fl_raw_header(x->d.head, x->d.head_len, "connection", v, sizeof(v)));
        cr_assert_str_eq(v, "close");
        cr_assert_not(fl_raw_header(x->d.head, x->d.head_len, "content-length", v, sizeof(v)));
        return;
    }
    cr_assert(fl_raw_header(x->d.head, x->d.head_len, "content-type", v, sizeof(v)));
    cr_assert_str_eq(v, "application/json");
    cr_assert(fl_raw_header(x->d.head, x->d.head_len, "content-length", v, sizeof(v)));
    cr_assert_eq(strtoull(v, NULL, 10), x->d.dc.len, "%s %s: content-length %s, body %zu bytes",
                 c->scenario, which, v, x->d.dc.len);
    json_t *j = json_loadb(x->d.dc.data, x->d.dc.len, 0, NULL);
    cr_assert_not_null(j, "%s %s: the body is not JSON: %s", c->scenario, which, x->d.dc.data);
    cr_assert(json_is_object(j));
    json_decref(j);
}

static void assert_journal(const skip_case_t *c)
{
    json_t *e = es_entry(c->scenario, 1, 2000);
    cr_assert_not_null(e, "%s: no journal entry for attempt 1", c->scenario);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    cr_assert_eq(es_int(e, "status", 0), 200);
    cr_assert_str_eq(es_str(e, "framing"), c->http10 ? "close" : "length");
    json_t *skipped = json_object_get(e, "skipped");
    cr_assert(json_is_array(skipped), "%s: no skipped array", c->scenario);
    cr_assert_eq(json_array_size(skipped), 1, "%s: %zu skipped", c->scenario,
                 json_array_size(skipped));
    const json_t *s = json_array_get(skipped, 0);
    cr_assert_str_eq(es_str(s, "fault"), c->fault);
    cr_assert(strncmp(es_str(s, "description"), c->description, strlen(c->description)) == 0,
              "%s: description '%s'", c->scenario, es_str(s, "description"));
    cr_assert_str_eq(es_str(s, "reason"), c->reason);
    json_t *faults = json_object_get(e, "faults");
    if (c->fired) {
        es_assert_fault(e, c->fired, 1, 0, 50);
    } else {
        cr_assert(json_is_array(faults));
        cr_assert_eq(json_array_size(faults), 0, "%s: a skipped fault fired", c->scenario);
    }
    json_decref(e);
    /* the clean attempt: "skipped" is there, and empty */
    e = es_entry(c->scenario, 2, 2000);
    cr_assert_not_null(e);
    skipped = json_object_get(e, "skipped");
    cr_assert(json_is_array(skipped));
    cr_assert_eq(json_array_size(skipped), 0);
    json_decref(e);
}

static void start(void)
{
    es_start(FL_TESTDATA_DIR "/skip");
}

TestSuite(skipped, .init = start, .fini = es_stop, .timeout = 30);

ParameterizedTestParameters(skipped, cases)
{
    static size_t idx[sizeof(cases) / sizeof(cases[0])];
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(size_t *row, skipped, cases)
{
    const skip_case_t *c = &cases[*row];
    exchange_t faulty = {0}, clean = {0};
    run(c, &faulty);
    run(c, &clean);
    assert_whole(c, &faulty, "attempt 1");
    assert_whole(c, &clean, "attempt 2");
    /* the same body byte for byte, once the response id and time are normalised */
    cr_assert_eq(faulty.d.dc.len, clean.d.dc.len, "%s: %zu bytes, the clean body %zu", c->scenario,
                 faulty.d.dc.len, clean.d.dc.len);
    cr_assert_str_eq(faulty.norm, clean.norm, "%s", c->scenario);
    if (c->http10) {
        /* the whole stream, to its end marker */
        const char *marker =
            strcmp(c->path, MESSAGES) == 0 ? "event: message_stop\n" : "data: [DONE]\n\n";
        cr_assert_not_null(strstr(faulty.norm, marker), "%s: no end marker", c->scenario);
    }
    cr_assert_geq(faulty.r.end_ms, c->min_end_ms, "%s: ended after %.0f ms", c->scenario,
                  faulty.r.end_ms);
    assert_journal(c);
    exchange_free(&faulty);
    exchange_free(&clean);
}

/* The catalog's own scenarios the issue names: 200 and the answer instead of a 500. */
static void start_catalog(void)
{
    es_start(FL_SOURCE_DIR "/scenarios/malformed");
}

TestSuite(skipped_catalog, .init = start_catalog, .fini = es_stop, .timeout = 30);

/* The answer's text, from the stream's deltas or the JSON body's content. */
static const char *const catalog_text = "Retries are cheap when the request is idempotent, and a "
                                        "stream is only whole when its end marker arrives.";

Test(skipped_catalog, http10_bad_chunk_size)
{
    skip_case_t c = {"anthropic-bad-chunk-size",      MESSAGES,        true, "corrupt",
                     "corrupt chunk_size at event 6", CLOSE_DELIMITED, NULL, 0};
    exchange_t x = {0};
    run(&c, &x);
    assert_whole(&c, &x, "attempt 1");
    cr_assert_not_null(strstr(x.norm, "event: message_stop\n"));
    json_t *e = es_entry(c.scenario, 1, 2000);
    cr_assert_not_null(e);
    const json_t *s = json_array_get(json_object_get(e, "skipped"), 0);
    cr_assert_str_eq(es_str(s, "reason"), CLOSE_DELIMITED);
    json_decref(e);
    exchange_free(&x);
}

Test(skipped_catalog, non_streaming_truncated_json_always)
{
    skip_case_t c = {"openai-chat-truncated-json-always",
                     CHAT,
                     false,
                     "corrupt",
                     "corrupt json at event 3",
                     REWRITES("corrupt json"),
                     NULL,
                     0};
    exchange_t x = {0};
    run(&c, &x);
    assert_whole(&c, &x, "attempt 1");
    json_t *j = json_loadb(x.d.dc.data, x.d.dc.len, 0, NULL);
    const char *content = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
    cr_assert_not_null(content, "%s", x.d.dc.data);
    cr_assert_str_eq(content, catalog_text);
    json_decref(j);
    json_t *e = es_entry(c.scenario, 1, 2000);
    cr_assert_not_null(e);
    const json_t *s = json_array_get(json_object_get(e, "skipped"), 0);
    cr_assert_str_eq(es_str(s, "description"), "corrupt json at event 3");
    cr_assert_str_eq(es_str(s, "reason"), REWRITES("corrupt json"));
    json_decref(e);
    exchange_free(&x);
}

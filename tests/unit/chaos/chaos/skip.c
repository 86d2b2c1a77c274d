/*
 * Which faults can apply to which response (fl_chaos_applies), as compiled plans: every fault
 * kind against the three bodies the server sends (a streamed SSE body, chunked; the same body
 * close-delimited, as an HTTP/1.0 client gets it; the non-streaming JSON object with a
 * content-length). A fault that applies fires; a skipped one is listed in the plan with its
 * reason and leaves the plan exactly as the clean one.
 */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bodies, as the columns of the table. */
enum { CHUNKED, CLOSE, JSON, N_BODIES };
static const char *const body_names[] = {"streamed chunked", "streamed close", "non-streaming"};

#define HEAD_CLOSE "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
#define JSON_BODY                                                                                  \
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"             \
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello world\"},\"finish_reason\":"          \
    "\"stop\"}]}"
static fl_script_t stream, json;
static char head_json[128]; /* the JSON body's head, with its content-length */

static void setup(void)
{
    fl_script_init(&stream);
    cx_script(&stream);
    fl_script_init(&json);
    /* Due 100 ms after the headers (the server's is due at once) so that the timeouts below
     * have a silence to trip on, as they do on the stream. */
    cr_assert_eq(fl_script_push(&json, FL_EVENT_CONTENT, 100, JSON_BODY, strlen(JSON_BODY)), 0);
    snprintf(head_json, sizeof(head_json),
             "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n\r\n",
             strlen(JSON_BODY));
}

static void teardown(void)
{
    fl_script_close(&stream);
    fl_script_close(&json);
}

TestSuite(skip, .init = setup, .fini = teardown, .timeout = 10);

static fl_chaos_input_t input(int body)
{
    fl_chaos_input_t in;
    switch (body) {
    case CHUNKED:
        return cx_input(&stream, FL_BODY_CHUNKED);
    case CLOSE:
        in = cx_input(&stream, FL_BODY_CLOSE);
        in.head = HEAD_CLOSE;
        in.head_len = strlen(HEAD_CLOSE);
        in.framing_why = "HTTP/1.0";
        return in;
    default:
        in = cx_input(&json, FL_BODY_LENGTH);
        in.kind = FL_BODY_JSON;
        in.head = head_json;
        in.head_len = strlen(head_json);
        return in;
    }
}

/* The reasons, as the compiler words them. */
#define REWRITES(what)                                                                             \
    what " rewrites the event stream; a non-streaming body is one JSON object with a fixed "       \
         "content-length"
#define NO_EVENT(n)                                                                                \
    "event " #n " does not exist in a non-streaming body (one JSON object: event 1 is its start)"
#define PINGS       "stall's keep-alive pings are SSE comments, which a non-streaming body cannot carry"
#define CHUNK_CLOSE "chunk_size needs chunked framing; this response is close-delimited (HTTP/1.0)"
#define CHUNK_JSON                                                                                 \
    "chunk_size needs chunked framing; this response has a content-length (non-streaming)"

/* One fault, and what becomes of it on each body: NULL when it applies (and fires), else the
 * reason it is skipped. */
struct rule_case {
    fl_fault_kind_t kind;
    fl_corrupt_kind_t corrupt;
    fl_at_kind_t at;
    uint64_t n;            /* the position's event, byte or ms */
    uint64_t ms;           /* stall, idle_timeout, delay_headers; proxy_timeout's after_ms */
    uint64_t keepalive_ms; /* stall */
    uint64_t bytes;        /* throttle, fragment, garbage */
    const char *why[N_BODIES];
};

/* Criterion hands parameters to another process: pass indices, keep the table here. */
static const struct rule_case cases[] = {
    /* every kind where the position exists on every body (event 1, or none) */
    {FL_FAULT_RESET, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_CLOSE, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_END, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, REWRITES("end")}},
    {FL_FAULT_DROP_SENTINEL, 0, FL_AT_DEFAULT, 0, 0, 0, 0, {NULL, NULL, REWRITES("drop_sentinel")}},
    {FL_FAULT_STALL, 0, FL_AT_EVENT, 1, 50, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_STALL, 0, FL_AT_EVENT, 1, 50, 20, 0, {NULL, NULL, PINGS}},
    {FL_FAULT_STALL, 0, FL_AT_HEADERS, 0, 50, 20, 0, {NULL, NULL, NULL}},
    {FL_FAULT_THROTTLE, 0, FL_AT_EVENT, 1, 0, 0, 1000, {NULL, NULL, NULL}},
    {FL_FAULT_FRAGMENT, 0, FL_AT_EVENT, 1, 0, 0, 4, {NULL, NULL, NULL}},
    {FL_FAULT_CORRUPT,
     FL_CORRUPT_JSON,
     FL_AT_EVENT,
     1,
     0,
     0,
     0,
     {NULL, NULL, REWRITES("corrupt json")}},
    {FL_FAULT_CORRUPT,
     FL_CORRUPT_UTF8,
     FL_AT_EVENT,
     1,
     0,
     0,
     0,
     {NULL, NULL, REWRITES("corrupt utf8")}},
    {FL_FAULT_CORRUPT,
     FL_CORRUPT_CHUNK_SIZE,
     FL_AT_EVENT,
     1,
     0,
     0,
     0,
     {NULL, CHUNK_CLOSE, CHUNK_JSON}},
    {FL_FAULT_CORRUPT,
     FL_CORRUPT_GARBAGE,
     FL_AT_EVENT,
     1,
     0,
     0,
     16,
     {NULL, NULL, REWRITES("corrupt garbage")}},
    {FL_FAULT_CORRUPT,
     FL_CORRUPT_SSE,
     FL_AT_EVENT,
     1,
     0,
     0,
     0,
     {NULL, NULL, REWRITES("corrupt sse")}},
    {FL_FAULT_LINE_ENDINGS, 0, FL_AT_DEFAULT, 0, 0, 0, 0, {NULL, NULL, REWRITES("line_endings")}},
    {FL_FAULT_DUPLICATE, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, REWRITES("duplicate")}},
    {FL_FAULT_INJECT, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, REWRITES("inject")}},
    {FL_FAULT_INJECT, 0, FL_AT_BYTE, 0, 0, 0, 0, {NULL, NULL, REWRITES("inject")}},
    {FL_FAULT_HTTP_ERROR, 0, FL_AT_DEFAULT, 0, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_ERROR_EVENT, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, REWRITES("error_event")}},
    {FL_FAULT_PROXY_TIMEOUT, 0, FL_AT_DEFAULT, 0, 10, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_IDLE_TIMEOUT, 0, FL_AT_DEFAULT, 0, 50, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_DELAY_HEADERS, 0, FL_AT_DEFAULT, 0, 30, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_REFUSE, 0, FL_AT_DEFAULT, 0, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_NO_RESPONSE, 0, FL_AT_DEFAULT, 0, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_DROP, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, REWRITES("drop")}},
    {FL_FAULT_REPLACE, 0, FL_AT_EVENT, 1, 0, 0, 0, {NULL, NULL, REWRITES("replace")}},
    /* positions: a non-streaming body has its start (event 1), bytes, times, headers, end */
    {FL_FAULT_RESET, 0, FL_AT_EVENT, 2, 0, 0, 0, {NULL, NULL, NO_EVENT(2)}},
    {FL_FAULT_RESET, 0, FL_AT_DEFAULT, 0, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_RESET, 0, FL_AT_HEADERS, 0, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_RESET, 0, FL_AT_BYTE, 20, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_RESET, 0, FL_AT_MS, 50, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_RESET, 0, FL_AT_END, 0, 0, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_CLOSE, 0, FL_AT_EVENT, 5, 0, 0, 0, {NULL, NULL, NO_EVENT(5)}},
    {FL_FAULT_STALL, 0, FL_AT_EVENT, 4, 50, 0, 0, {NULL, NULL, NO_EVENT(4)}},
    {FL_FAULT_STALL, 0, FL_AT_MS, 50, 50, 0, 0, {NULL, NULL, NULL}},
    {FL_FAULT_THROTTLE, 0, FL_AT_EVENT, 2, 0, 0, 1000, {NULL, NULL, NO_EVENT(2)}},
    {FL_FAULT_FRAGMENT, 0, FL_AT_EVENT, 3, 0, 0, 4, {NULL, NULL, NO_EVENT(3)}},
    {FL_FAULT_FRAGMENT, 0, FL_AT_BYTE, 20, 0, 0, 4, {NULL, NULL, NULL}},
    /* the kind rule comes before the position rule */
    {FL_FAULT_ERROR_EVENT, 0, FL_AT_EVENT, 3, 0, 0, 0, {NULL, NULL, REWRITES("error_event")}},
    {FL_FAULT_CORRUPT,
     FL_CORRUPT_JSON,
     FL_AT_EVENT,
     5,
     0,
     0,
     0,
     {NULL, NULL, REWRITES("corrupt json")}},
};

static fl_fault_t make(const struct rule_case *rc)
{
    static char inject[] = ": x\n\n";
    fl_fault_t f = cx_fault(rc->kind);
    f.at.kind = rc->at;
    f.at.n = rc->n;
    f.corrupt = rc->corrupt;
    f.ms = rc->ms;
    f.keepalive_ms = rc->keepalive_ms;
    f.bytes = rc->bytes;
    f.crlf = true;
    f.status = rc->kind == FL_FAULT_HTTP_ERROR ? 429 : 504;
    f.error_class = rc->kind == FL_FAULT_HTTP_ERROR ? FL_ERR_RATE_LIMIT : FL_ERR_SERVER;
    f.seed = 42;
    f.inject = inject;
    f.inject_len = strlen(inject);
    return f;
}

ParameterizedTestParameters(skip, rule)
{
    static int idx[sizeof(cases) / sizeof(cases[0])];
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(int *ci, skip, rule)
{
    const struct rule_case *rc = &cases[*ci];
    fl_fault_t f = make(rc);
    for (int b = 0; b < N_BODIES; b++) {
        fl_chaos_input_t in = input(b);
        const char *name = fl_fault_name(f.kind);
        fl_wire_t w, clean;
        cx_compile(&in, &f, 1, &w);
        cx_compile(&in, NULL, 0, &clean);
        char reason[FL_WIRE_REASON_BYTES] = "";
        bool applies = fl_chaos_applies(&in, &f, reason, sizeof(reason));
        if (!rc->why[b]) {
            cr_assert(applies, "case %d %s on %s: skipped (%s)", *ci, name, body_names[b], reason);
            cr_assert_eq(w.n_skipped, 0, "case %d %s on %s", *ci, name, body_names[b]);
            cr_assert_not_null(cx_fire(&w, 0), "case %d %s on %s: applies but never fires", *ci,
                               name, body_names[b]);
        } else {
            cr_assert_not(applies, "case %d %s on %s: applies", *ci, name, body_names[b]);
            cr_assert_str_eq(reason, rc->why[b], "case %d on %s", *ci, body_names[b]);
            cr_assert_eq(w.n_skipped, 1, "case %d %s on %s", *ci, name, body_names[b]);
            cr_assert_eq(w.skipped[0].fault, 0);
            cr_assert_str_eq(w.skipped[0].reason, rc->why[b]);
            /* the plan is the clean one: same ops, same bytes, no FIRE */
            cr_assert_null(cx_fire(&w, 0));
            char *ops = cx_ops(&w), *clean_ops = cx_ops(&clean);
            cr_assert_str_eq(ops, clean_ops, "case %d on %s", *ci, body_names[b]);
            size_t n, clean_n;
            char *got = cx_bytes(&w, &n), *want = cx_bytes(&clean, &clean_n);
            cr_assert_eq(n, clean_n, "case %d on %s", *ci, body_names[b]);
            cr_assert(memcmp(got, want, n) == 0, "case %d on %s", *ci, body_names[b]);
            cr_assert_eq(w.status, 200);
            free(ops);
            free(clean_ops);
            free(got);
            free(want);
        }
        fl_wire_close(&w);
        fl_wire_close(&clean);
    }
}

/* Every fault kind and corrupt kind has a row, so that a new one cannot go untested. */
Test(skip, every_kind_is_in_the_table)
{
    bool seen[FL_FAULT__COUNT] = {false};
    bool corrupt[FL_CORRUPT_SSE + 1] = {false};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seen[cases[i].kind] = true;
        if (cases[i].kind == FL_FAULT_CORRUPT)
            corrupt[cases[i].corrupt] = true;
    }
    for (int k = 0; k < FL_FAULT__COUNT; k++)
        cr_assert(seen[k], "%s has no row", fl_fault_name((fl_fault_kind_t)k));
    for (int k = 0; k <= FL_CORRUPT_SSE; k++)
        cr_assert(corrupt[k], "corrupt kind %d has no row", k);
}

/* A skipped fault leaves the others as they were, at their own indices. */
Test(skip, the_rest_of_the_plan_compiles)
{
    static const struct rule_case ee = {FL_FAULT_ERROR_EVENT, 0, FL_AT_EVENT, 1, 0, 0, 0, {0}};
    static const struct rule_case inj = {FL_FAULT_INJECT, 0, FL_AT_BYTE, 0, 0, 0, 0, {0}};
    static const struct rule_case rst = {FL_FAULT_RESET, 0, FL_AT_BYTE, 20, 0, 0, 0, {0}};
    fl_fault_t f[3] = {make(&ee), make(&inj), make(&rst)};
    fl_chaos_input_t in = input(JSON);
    fl_wire_t w;
    cx_compile(&in, f, 3, &w);
    cr_assert_eq(w.n_skipped, 2);
    cr_assert_eq(w.skipped[0].fault, 0);
    cr_assert_str_eq(w.skipped[0].reason, REWRITES("error_event"));
    cr_assert_eq(w.skipped[1].fault, 1);
    cr_assert_str_eq(w.skipped[1].reason, REWRITES("inject"));
    cr_assert_null(cx_fire(&w, 0));
    cr_assert_null(cx_fire(&w, 1));
    const fl_wire_op_t *fire = cx_fire(&w, 2);
    cr_assert_not_null(fire);
    cr_assert_eq(fire->body_off, 20);
    /* the head and the JSON body's first 20 bytes, untouched, then RST */
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, "W@0 W@100 F@100#2 R@100#2");
    free(ops);
    size_t n;
    char *got = cx_bytes(&w, &n);
    cr_assert_eq(n, strlen(head_json) + 20);
    cr_assert(memcmp(got, head_json, strlen(head_json)) == 0);
    cr_assert(memcmp(got + strlen(head_json), JSON_BODY, 20) == 0);
    free(got);
    fl_wire_close(&w);
}

/* The reason may be cut, never overrun; a zero-sized buffer takes nothing. */
Test(skip, reason_buffer_bounds)
{
    static const struct rule_case ee = {FL_FAULT_ERROR_EVENT, 0, FL_AT_EVENT, 1, 0, 0, 0, {0}};
    fl_fault_t f = make(&ee);
    fl_chaos_input_t in = input(JSON);
    char small[12];
    memset(small, 'x', sizeof(small));
    cr_assert_not(fl_chaos_applies(&in, &f, small, 8));
    cr_assert_str_eq(small, "error_e");
    cr_assert_eq(small[8], 'x');
    cr_assert_not(fl_chaos_applies(&in, &f, NULL, 0));
    /* framing: close named as the scenario's own */
    static const struct rule_case cs = {
        FL_FAULT_CORRUPT, FL_CORRUPT_CHUNK_SIZE, FL_AT_EVENT, 1, 0, 0, 0, {0}};
    f = make(&cs);
    in = input(CLOSE);
    in.framing_why = "framing: close";
    char reason[FL_WIRE_REASON_BYTES];
    cr_assert_not(fl_chaos_applies(&in, &f, reason, sizeof(reason)));
    cr_assert_str_eq(reason, "chunk_size needs chunked framing; this response is close-delimited "
                             "(framing: close)");
    in.framing_why = NULL;
    cr_assert_not(fl_chaos_applies(&in, &f, reason, sizeof(reason)));
    cr_assert_str_eq(reason, "chunk_size needs chunked framing; this response is close-delimited");
}

/* A shared plan is read-only: nothing is listed through it. */
Test(skip, shared_plan_takes_no_skip)
{
    fl_wire_t w;
    fl_wire_init(&w);
    cr_assert_eq(fl_wire_skip(&w, 3, "why"), 0);
    cr_assert_eq(w.n_skipped, 1);
    cr_assert_eq(w.skipped[0].fault, 3);
    cr_assert_str_eq(w.skipped[0].reason, "why");
    fl_wire_t s = w;
    s.shared = true;
    cr_assert_eq(fl_wire_skip(&s, 4, "no"), FL_EINVAL);
    cr_assert_eq(s.n_skipped, 1);
    /* a long reason is cut to fit, NUL-terminated */
    char long_reason[300];
    memset(long_reason, 'r', sizeof(long_reason) - 1);
    long_reason[sizeof(long_reason) - 1] = '\0';
    cr_assert_eq(fl_wire_skip(&w, 5, long_reason), 0);
    cr_assert_eq(strlen(w.skipped[1].reason), FL_WIRE_REASON_BYTES - 1);
    fl_wire_close(&w);
    cr_assert_null(w.skipped);
    cr_assert_eq(w.n_skipped, 0);
}

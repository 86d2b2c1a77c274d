/* fl_chaos_compile: the clean path, positions, response-level faults and delay_headers. */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "encode/dialect.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#define E01  CX_E0 CX_E1
#define E012 CX_E0 CX_E1 CX_E2
#define BODY CX_E0 CX_E1 CX_E2 CX_E3 CX_E4

static fl_script_t script;
static fl_wire_t w;

static void setup(void)
{
    fl_script_init(&script);
    cx_script(&script);
    fl_wire_init(&w);
}

static void teardown(void)
{
    fl_wire_close(&w);
    fl_script_close(&script);
}

#define ASSERT_OPS(expect)                                                                         \
    do {                                                                                           \
        char *ops_ = cx_ops(&w);                                                                   \
        cr_assert_str_eq(ops_, expect);                                                            \
        free(ops_);                                                                                \
    } while (0)

/* expected bytes: the head, then chunks of each given string, then optionally the terminator */
static void assert_chunks(const char *const *chunks, size_t n, bool terminator)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append_str(&b, CX_HEAD);
    for (size_t i = 0; i < n; i++) {
        char *c = cx_chunk(chunks[i]);
        fl_buf_append_str(&b, c);
        free(c);
    }
    if (terminator)
        fl_buf_append_str(&b, "0\r\n\r\n");
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, b.data);
    free(got);
    fl_buf_close(&b);
}

TestSuite(compile, .init = setup, .fini = teardown, .timeout = 10);

Test(compile, clean_chunked)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, NULL, 0, &w);
    ASSERT_OPS("W@0 W@0 W@100 W@150 W@150 D@150");
    const char *chunks[] = {CX_E0, CX_E1, CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3, true);
    cr_assert_eq(w.status, 200);
    /* evidence: each write knows its clean event and offset */
    cr_assert_eq(w.ops[0].event, UINT32_MAX);
    cr_assert_eq(w.ops[2].event, 1);
    cr_assert_eq(w.ops[2].body_off, strlen(CX_E0));
    cr_assert_eq(w.ops[3].event, 2);
    cr_assert_eq(w.ops[3].body_off, strlen(E01));
    for (size_t i = 0; i < w.n_ops; i++) {
        cr_assert_eq(w.ops[i].fault, FL_WIRE_NO_FAULT);
        cr_assert_not(w.ops[i].own_write);
    }
}

Test(compile, clean_length_and_close)
{
    fl_body_framing_t framings[] = {FL_BODY_LENGTH, FL_BODY_CLOSE};
    for (size_t k = 0; k < 2; k++) {
        fl_chaos_input_t in = cx_input(&script, framings[k]);
        fl_wire_close(&w);
        cx_compile(&in, NULL, 0, &w);
        ASSERT_OPS("W@0 W@0 W@100 W@150 D@150");
        char *got = cx_bytes(&w, NULL);
        cr_assert_str_eq(got, CX_HEAD BODY);
        free(got);
    }
}

Test(compile, empty_script)
{
    fl_script_t empty;
    fl_script_init(&empty);
    fl_chaos_input_t in = cx_input(&empty, FL_BODY_CHUNKED);
    fl_fault_t f = cx_fault(FL_FAULT_RESET); /* default position: the end of an empty body */
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("W@0 F@0#0 R@0#0");
    fl_script_close(&empty);
}

struct pos_case {
    fl_at_kind_t kind;
    uint64_t n;
    const char *ops;
    uint32_t event; /* of the FIRE */
};

static size_t L(const char *s)
{
    return strlen(s);
}

/* Criterion hands parameters to another process: pass indices, keep the strings here. */
static const struct pos_case reset_cases[] = {
    {FL_AT_DEFAULT, 0, "W@0 W@0 W@100 F@150#0 R@150#0", 2},
    {FL_AT_EVENT, 3, "W@0 W@0 W@100 F@150#0 R@150#0", 2},
    {FL_AT_EVENT, 1, "W@0 F@0#0 R@0#0", 0},
    {FL_AT_EVENT, 6, "W@0 W@0 W@100 W@150 F@150#0 R@150#0", UINT32_MAX},
    {FL_AT_EVENT, 99, "W@0 W@0 W@100 W@150 F@150#0 R@150#0", UINT32_MAX},
    {FL_AT_END, 0, "W@0 W@0 W@100 W@150 F@150#0 R@150#0", UINT32_MAX},
    {FL_AT_HEADERS, 0, "F@0#0 R@0#0", UINT32_MAX},
    {FL_AT_MS, 120, "W@0 W@0 W@100 F@120#0 R@120#0", 2},
    {FL_AT_MS, 100, "W@0 W@0 F@100#0 R@100#0", 1},
    {FL_AT_BYTE, 5, "W@0 W@0 W@100 F@100#0 R@100#0", 1},       /* inside E1 */
    {FL_AT_BYTE, 3, "W@0 W@0 W@100 W@150 F@150#0 R@150#0", 3}, /* inside E3 */
    {FL_AT_BYTE, 100000, "W@0 W@0 W@100 W@150 F@150#0 R@150#0", UINT32_MAX},
};

ParameterizedTestParameters(compile, reset_positions)
{
    static int idx[sizeof(reset_cases) / sizeof(reset_cases[0])];
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(int *ci, compile, reset_positions)
{
    const struct pos_case *pc = &reset_cases[*ci];
    fl_fault_t f = cx_fault(FL_FAULT_RESET);
    f.at.kind = pc->kind;
    f.at.n = pc->n;
    /* byte cases are written relative to the start of their event */
    if (pc->kind == FL_AT_BYTE && pc->n == 5)
        f.at.n = L(CX_E0) + 5;
    if (pc->kind == FL_AT_BYTE && pc->n == 3)
        f.at.n = L(E012) + 3;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS(pc->ops);
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert(fire);
    cr_assert_eq(fire->event, pc->event);
    cr_assert_eq(w.ops[w.n_ops - 1].kind, FL_WIRE_RST);
    /* the body sent is exactly the clean body up to the position */
    size_t n;
    char *got = cx_bytes(&w, &n);
    uint64_t expect_off = pc->kind == FL_AT_HEADERS ? 0
                          : pc->event == UINT32_MAX ? L(BODY)
                          : pc->kind == FL_AT_BYTE  ? f.at.n
                                                    : script.events[pc->event].off;
    cr_assert_eq(fire->body_off, expect_off, "case %d", *ci);
    size_t body = 0;
    /* strip the head and the chunk framing to count body bytes */
    const char *p = got;
    if (n) {
        cr_assert(strncmp(p, CX_HEAD, L(CX_HEAD)) == 0);
        p += L(CX_HEAD);
        while (*p) {
            size_t len = strtoul(p, (char **)&p, 16);
            cr_assert(strncmp(p, "\r\n", 2) == 0);
            p += 2;
            cr_assert(memcmp(p, BODY + body, len) == 0);
            body += len;
            p += len + 2;
        }
    }
    cr_assert_eq(body, expect_off, "case %d", *ci);
    cr_assert_eq(w.status, pc->kind == FL_AT_HEADERS ? 0 : 200, "case %d", *ci);
    free(got);
}

Test(compile, event_zero_is_invalid)
{
    fl_fault_t f = cx_fault(FL_FAULT_INJECT);
    f.at.kind = FL_AT_EVENT;
    f.at.n = 0;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cr_assert_eq(fl_chaos_compile(&in, &f, 1, &w), FL_EINVAL);
    cr_assert_eq(w.n_ops, 0);
    cr_assert_eq(w.bytes.len, 0);
}

Test(compile, close_at_event)
{
    fl_fault_t f = cx_fault(FL_FAULT_CLOSE);
    f.at.kind = FL_AT_EVENT;
    f.at.n = 2;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("W@0 W@0 F@100#0 N@100#0");
    const char *chunks[] = {CX_E0};
    assert_chunks(chunks, 1, false);
}

Test(compile, inject_positions)
{
    struct {
        fl_at_kind_t kind;
        uint64_t n;
        const char *ops;
        const char *c1, *c2, *c3;
    } cases[] = {
        {FL_AT_EVENT, 2, "W@0 W@0 F@100#0 W@100#0 W@150 W@150 D@150", CX_E0, "X" CX_E1,
         CX_E2 CX_E3 CX_E4},
        {FL_AT_MS, 101, "W@0 W@0 W@100 F@150#0 W@150#0 W@150 D@150", CX_E0, CX_E1,
         "X" CX_E2 CX_E3 CX_E4},
        {FL_AT_END, 0, "W@0 W@0 W@100 F@150#0 W@150#0 W@150 D@150", CX_E0, CX_E1,
         CX_E2 CX_E3 CX_E4 "X"},
        {FL_AT_HEADERS, 0, "W@0 F@0#0 W@0#0 W@100 W@150 W@150 D@150", "X" CX_E0, CX_E1,
         CX_E2 CX_E3 CX_E4},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        fl_fault_t f = cx_fault(FL_FAULT_INJECT);
        f.at.kind = cases[k].kind;
        f.at.n = cases[k].n;
        f.inject = "X";
        f.inject_len = 1;
        fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
        fl_wire_close(&w);
        cx_compile(&in, &f, 1, &w);
        ASSERT_OPS(cases[k].ops);
        const char *chunks[] = {cases[k].c1, cases[k].c2, cases[k].c3};
        assert_chunks(chunks, 3, true);
    }
}

Test(compile, inject_inside_event_by_byte)
{
    fl_fault_t f = cx_fault(FL_FAULT_INJECT);
    f.at.kind = FL_AT_BYTE;
    f.at.n = L(CX_E0) + 6; /* after "data: " of E1 */
    f.inject = "X";
    f.inject_len = 1;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("W@0 W@0 F@100#0 W@100#0 W@150 W@150 D@150");
    const char *chunks[] = {CX_E0, "data: X{\"c\":\"Hello\"}\n\n", CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3, true);
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert_eq(fire->event, 1);
    cr_assert_eq(fire->body_off, L(CX_E0) + 6);
    cr_assert_eq(fire->at_ms, 100);
}

Test(compile, http_error_json_with_retry_headers)
{
    fl_fault_t f = cx_fault(FL_FAULT_HTTP_ERROR);
    f.status = 429;
    f.retry_after_s = 2;
    f.retry_after_ms = 1500;
    f.error_class = FL_ERR_RATE_LIMIT;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("F@0#0 W@0#0 D@0#0");
    fl_buf_t body, expect;
    fl_buf_init(&body);
    fl_buf_init(&expect);
    cr_assert_eq(
        fl_dialect_encode_error_body(FL_DIALECT_OPENAI_CHAT, FL_ERR_RATE_LIMIT, NULL, &body), 0);
    fl_buf_printf(&expect,
                  "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
                  "content-length: %zu\r\nx-request-id: req_1\r\nretry-after: 2\r\n"
                  "retry-after-ms: 1500\r\n\r\n%s",
                  body.len, body.data);
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, expect.data);
    cr_assert_eq(w.status, 429);
    free(got);
    fl_buf_close(&body);
    fl_buf_close(&expect);
}

Test(compile, http_error_html_after_delay_headers)
{
    fl_fault_t f[2] = {cx_fault(FL_FAULT_DELAY_HEADERS), cx_fault(FL_FAULT_HTTP_ERROR)};
    f[0].ms = 300;
    f[1].status = 503;
    f[1].html = true;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, f, 2, &w);
    ASSERT_OPS("F@0#0 F@300#1 W@300#1 D@300#1");
    char *got = cx_bytes(&w, NULL);
    const char *start = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\n";
    cr_assert(strncmp(got, start, strlen(start)) == 0);
    cr_assert(strstr(got, "<h1>503 Service Unavailable</h1>"));
    cr_assert_null(strstr(got, "retry-after"));
    /* content-length matches the page */
    const char *cl = strstr(got, "content-length: ");
    const char *body = strstr(got, "\r\n\r\n") + 4;
    cr_assert_eq(strtoul(cl + 16, NULL, 10), strlen(body));
    free(got);
}

Test(compile, refuse_and_no_response)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_fault_t f = cx_fault(FL_FAULT_REFUSE);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("F@0#0 N@0#0");
    cr_assert_eq(w.bytes.len, 0);
    cr_assert_eq(w.status, 0);
    fl_wire_close(&w);
    f.cut = FL_CUT_RST;
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("F@0#0 R@0#0");
    fl_wire_close(&w);
    f = cx_fault(FL_FAULT_NO_RESPONSE);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("F@0#0 H@0#0");
    cr_assert_eq(w.status, 0);
}

Test(compile, delay_headers_moves_everything)
{
    fl_fault_t f = cx_fault(FL_FAULT_DELAY_HEADERS);
    f.ms = 200;
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    cx_compile(&in, &f, 1, &w);
    ASSERT_OPS("F@0#0 W@200#0 W@200 W@300 W@350 W@350 D@350");
    const char *chunks[] = {CX_E0, CX_E1, CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3, true);
    cr_assert_eq(w.status, 200);
}

Test(compile, fault_names)
{
    cr_assert_str_eq(fl_fault_name(FL_FAULT_RESET), "reset");
    cr_assert_str_eq(fl_fault_name(FL_FAULT_NO_RESPONSE), "no_response");
    cr_assert_str_eq(fl_fault_name(FL_FAULT_ERROR_EVENT), "error_event");
    cr_assert_str_eq(fl_fault_name(FL_FAULT__COUNT), "unknown");
}

Test(compile, fault_close_frees_and_clears)
{
    fl_fault_t f = cx_fault(FL_FAULT_INJECT);
    f.inject = strdup("abc");
    f.inject_len = 3;
    f.message = strdup("m");
    f.offsets = calloc(2, sizeof(uint64_t));
    f.n_offsets = 2;
    fl_fault_close(&f);
    cr_assert_null(f.inject);
    cr_assert_null(f.message);
    cr_assert_null(f.offsets);
    cr_assert_eq(f.n_offsets, 0);
    fl_fault_close(&f); /* idempotent */
}

/* Every fault alone, at its default position with workable parameters: the plan is in time
 * order, fires exactly once, and ends with a terminal op. */
Test(compile, invariants_for_every_fault_kind)
{
    for (int k = 0; k < FL_FAULT__COUNT; k++) {
        for (int framing = 0; framing < 3; framing++) {
            fl_fault_t f = cx_fault((fl_fault_kind_t)k);
            f.ms = k == FL_FAULT_IDLE_TIMEOUT ? 80 : 300; /* the longest gap is 100 ms */
            f.bytes = 4;
            f.status = 500;
            f.inject = "zz";
            f.inject_len = 2;
            f.corrupt = framing == FL_BODY_CHUNKED ? FL_CORRUPT_CHUNK_SIZE : FL_CORRUPT_JSON;
            fl_chaos_input_t in = cx_input(&script, (fl_body_framing_t)framing);
            fl_wire_close(&w);
            cx_compile(&in, &f, 1, &w);
            size_t fires = 0;
            for (size_t i = 0; i < w.n_ops; i++) {
                if (i)
                    cr_assert_geq(w.ops[i].at_ms, w.ops[i - 1].at_ms, "%s: op %zu",
                                  fl_fault_name(k), i);
                if (w.ops[i].kind == FL_WIRE_FIRE) {
                    fires++;
                    cr_assert_eq(w.ops[i].fault, 0);
                }
                if (w.ops[i].kind == FL_WIRE_WRITE)
                    cr_assert_gt(w.ops[i].len, 0);
            }
            /* a proxy timeout after the stream completed does not fire */
            cr_assert_eq(fires, k == FL_FAULT_PROXY_TIMEOUT ? 0 : 1, "%s", fl_fault_name(k));
            fl_wire_op_kind_t last = w.ops[w.n_ops - 1].kind;
            cr_assert(last == FL_WIRE_DONE || last == FL_WIRE_FIN || last == FL_WIRE_RST ||
                          last == FL_WIRE_HANG || last == FL_WIRE_PING,
                      "%s", fl_fault_name(k));
        }
    }
}

/* Body faults: line_endings, drop_sentinel, duplicate, corrupt (all kinds), error_event, end. */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "encode/dialect.h"
#include "dialect_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(body, .init = setup, .fini = teardown, .timeout = 10);

#define ASSERT_OPS(expect)                                                                         \
    do {                                                                                           \
        char *ops_ = cx_ops(&w);                                                                   \
        cr_assert_str_eq(ops_, expect);                                                            \
        free(ops_);                                                                                \
    } while (0)

static void assert_chunks(const char *const *chunks, size_t n)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append_str(&b, CX_HEAD);
    for (size_t i = 0; i < n; i++) {
        char *c = cx_chunk(chunks[i]);
        fl_buf_append_str(&b, c);
        free(c);
    }
    fl_buf_append_str(&b, "0\r\n\r\n");
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, b.data);
    free(got);
    fl_buf_close(&b);
}

static fl_fault_t at_event(fl_fault_kind_t k, uint64_t n)
{
    fl_fault_t f = cx_fault(k);
    f.at.kind = FL_AT_EVENT;
    f.at.n = n;
    return f;
}

static void compile1(const fl_fault_t *f)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_wire_close(&w);
    cx_compile(&in, f, 1, &w);
}

/* Removes chunked framing and the head: the body as the client's SSE parser sees it. */
static char *dechunk(const char *wire, size_t *out_len)
{
    fl_buf_t b;
    fl_buf_init(&b);
    const char *p = strstr(wire, "\r\n\r\n") + 4;
    for (;;) {
        char *end;
        size_t len = strtoul(p, &end, 16);
        cr_assert(end != p && strncmp(end, "\r\n", 2) == 0);
        if (!len)
            break;
        fl_buf_append(&b, end + 2, len);
        p = end + 2 + len + 2;
    }
    fl_buf_append(&b, "", 0);
    if (out_len)
        *out_len = b.len;
    return b.data;
}

Test(body, line_endings_crlf_and_cr)
{
    fl_fault_t f = cx_fault(FL_FAULT_LINE_ENDINGS);
    f.crlf = true;
    compile1(&f);
    ASSERT_OPS("W@0 F@0#0 W@0#0 W@100 W@150 W@150 D@150");
    const char *crlf[] = {"data: {\"a\":\"x\"}\r\n\r\n", "data: {\"c\":\"Hello\"}\r\n\r\n",
                          "data: {\"c\":\" world\"}\r\n\r\ndata: {\"f\":\"stop\"}\r\n\r\n"
                          "data: [DONE]\r\n\r\n"};
    assert_chunks(crlf, 3);
    f.crlf = false;
    compile1(&f);
    const char *cr[] = {"data: {\"a\":\"x\"}\r\r", "data: {\"c\":\"Hello\"}\r\r",
                        "data: {\"c\":\" world\"}\r\rdata: {\"f\":\"stop\"}\r\rdata: [DONE]\r\r"};
    assert_chunks(cr, 3);
}

Test(body, drop_sentinel)
{
    fl_fault_t f = cx_fault(FL_FAULT_DROP_SENTINEL);
    compile1(&f);
    ASSERT_OPS("W@0 W@0 W@100 W@150 F@150#0 W@150 D@150");
    const char *chunks[] = {CX_E0, CX_E1, CX_E2 CX_E3};
    assert_chunks(chunks, 3);
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert_eq(fire->event, 4);
    cr_assert_eq(fire->body_off, script.events[4].off);

    f.drop_finish = true;
    compile1(&f);
    ASSERT_OPS("W@0 W@0 W@100 W@150 F@150#0 W@150 D@150");
    const char *chunks2[] = {CX_E0, CX_E1, CX_E2};
    assert_chunks(chunks2, 3);
    cr_assert_eq(cx_fire(&w, 0)->event, 3);
}

Test(body, drop_sentinel_responses_completed)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, "Hi there");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert(strstr(s.bytes.data, "response.completed"));
    fl_chaos_input_t in = cx_input(&s, FL_BODY_LENGTH);
    in.dialect = FL_DIALECT_OPENAI_RESPONSES;
    fl_fault_t f = cx_fault(FL_FAULT_DROP_SENTINEL);
    cx_compile(&in, &f, 1, &w);
    char *got = cx_bytes(&w, NULL);
    cr_assert_null(strstr(got, "response.completed"));
    cr_assert(strstr(got, "response.output_text.done"));
    /* everything but the sentinel event is there, in order */
    size_t last = s.n_events - 1;
    cr_assert_eq(s.events[last].kind, FL_EVENT_SENTINEL);
    cr_assert_eq(strlen(got), strlen(CX_HEAD) + s.events[last].off);
    cr_assert(memcmp(got + strlen(CX_HEAD), s.bytes.data, s.events[last].off) == 0);
    free(got);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(body, duplicate)
{
    fl_fault_t f = at_event(FL_FAULT_DUPLICATE, 2);
    compile1(&f);
    ASSERT_OPS("W@0 W@0 F@100#0 W@100#0 W@150 W@150 D@150");
    const char *chunks[] = {CX_E0, CX_E1 CX_E1, CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3);
    /* the default is the middle event (event 3 of 5) */
    f = cx_fault(FL_FAULT_DUPLICATE);
    compile1(&f);
    const char *chunks2[] = {CX_E0, CX_E1, CX_E2 CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks2, 3);
    cr_assert_eq(cx_fire(&w, 0)->event, 2);
}

Test(body, corrupt_json)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_JSON;
    compile1(&f);
    ASSERT_OPS("W@0 W@0 F@100#0 W@100#0 W@150 W@150 D@150");
    /* {"c":"Hello"} is 13 bytes: 6 are kept */
    const char *chunks[] = {CX_E0, "data: {\"c\":\"\n\n", CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3);
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert_eq(fire->event, 1);
    cr_assert_eq(fire->body_off, strlen(CX_E0));
    cr_assert_eq(fire->at_ms, 100);
}

Test(body, corrupt_utf8)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_UTF8;
    compile1(&f);
    const char *chunks[] = {CX_E0, "data: {\"c\":\"\xC3\x28\xFFHello\"}\n\n", CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3);
}

Test(body, corrupt_utf8_scanner_respects_escapes_and_keys)
{
    fl_script_t s;
    fl_script_init(&s);
    const char *ev = "data: {\"t\":\"say \\\"hi\\\": ok\",\"u\":1,\"k\":{\"x\":2}}\n\n";
    cr_assert_eq(fl_script_push(&s, FL_EVENT_CONTENT, 0, ev, strlen(ev)), 0);
    fl_chaos_input_t in = cx_input(&s, FL_BODY_LENGTH);
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 1);
    f.corrupt = FL_CORRUPT_UTF8;
    cx_compile(&in, &f, 1, &w);
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(
        got + strlen(CX_HEAD),
        "data: {\"t\":\"\xC3\x28\xFFsay \\\"hi\\\": ok\",\"u\":1,\"k\":{\"x\":2}}\n\n");
    free(got);
    /* a value inside an array counts; keys never do */
    fl_script_close(&s);
    fl_script_init(&s);
    ev = "data: {\"a\":[\"p\",\"q\"],\"key\":3}\n\n";
    cr_assert_eq(fl_script_push(&s, FL_EVENT_CONTENT, 0, ev, strlen(ev)), 0);
    in = cx_input(&s, FL_BODY_LENGTH);
    fl_wire_close(&w);
    cx_compile(&in, &f, 1, &w);
    got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got + strlen(CX_HEAD),
                     "data: {\"a\":[\"p\",\"\xC3\x28\xFFq\"],\"key\":3}\n\n");
    free(got);
    /* no string value at all: the fault cannot apply */
    fl_wire_close(&w);
    fl_wire_init(&w);
    f.at.n = 1;
    fl_script_close(&s);
    fl_script_init(&s);
    ev = "data: [DONE]\n\n";
    cr_assert_eq(fl_script_push(&s, FL_EVENT_SENTINEL, 0, ev, strlen(ev)), 0);
    in = cx_input(&s, FL_BODY_LENGTH);
    cr_assert_eq(fl_chaos_compile(&in, &f, 1, &w), FL_EINVAL);
    cr_assert_eq(w.n_ops, 0);
    fl_script_close(&s);
}

/*
 * A small WHATWG "event stream interpretation" (HTML Living Standard 9.2.6): lines end at CRLF,
 * LF or CR; a blank line dispatches; ':' starts a comment; a line with no colon is a field with
 * an empty value; one space after the colon is dropped; unknown fields are ignored. Writes
 * "type|data" lines for every dispatched event into out.
 */
static void whatwg_parse(const char *p, size_t n, fl_buf_t *out)
{
    fl_buf_t data, type, line;
    fl_buf_init(&data);
    fl_buf_init(&type);
    fl_buf_init(&line);
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && p[i] != '\r' && p[i] != '\n')
            i++;
        if (i == n)
            break; /* an incomplete line is never processed */
        line.len = 0;
        fl_buf_append(&line, p + s, i - s);
        fl_buf_append(&line, "", 0);
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            i++;
        i++;
        if (line.len == 0) {
            if (data.len) {
                data.len--; /* the last LF */
                fl_buf_printf(out, "%s|%.*s\n", type.len ? type.data : "message", (int)data.len,
                              data.data);
            }
            data.len = type.len = 0;
            continue;
        }
        if (line.data[0] == ':')
            continue;
        char *colon = strchr(line.data, ':');
        const char *value = "";
        if (colon) {
            *colon = '\0';
            value = colon + 1;
            if (*value == ' ')
                value++;
        }
        if (strcmp(line.data, "data") == 0) {
            fl_buf_append_str(&data, value);
            fl_buf_append(&data, "\n", 1);
        } else if (strcmp(line.data, "event") == 0) {
            type.len = 0;
            fl_buf_append_str(&type, value);
            fl_buf_append(&type, "", 0);
        }
    }
    fl_buf_append(out, "", 0);
    fl_buf_close(&data);
    fl_buf_close(&type);
    fl_buf_close(&line);
}

Test(body, corrupt_sse_loses_nothing_for_a_conforming_parser)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_SSE;
    compile1(&f);
    const char *chunks[] = {CX_E0, "bogus\nx-faultline: 1\ndata:{\"c\":\"Hello\"}\n\n",
                            CX_E2 CX_E3 CX_E4};
    assert_chunks(chunks, 3);

    /* every event corrupted, with CR line endings on top: the same events for WHATWG */
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, "One two three");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    fl_fault_t fs[16];
    size_t n = 0;
    fs[n] = cx_fault(FL_FAULT_LINE_ENDINGS);
    fs[n++].crlf = false;
    for (size_t e = 1; e <= s.n_events && n < 16; e++) {
        fs[n] = at_event(FL_FAULT_CORRUPT, e);
        fs[n++].corrupt = FL_CORRUPT_SSE;
    }
    fl_chaos_input_t in = cx_input(&s, FL_BODY_CHUNKED);
    in.dialect = FL_DIALECT_ANTHROPIC_MESSAGES;
    fl_wire_close(&w);
    cx_compile(&in, fs, n, &w);
    char *wire = cx_bytes(&w, NULL);
    size_t len;
    char *body = dechunk(wire, &len);
    cr_assert(strstr(body, "bogus\n"));
    cr_assert(strstr(body, "\r\r"));
    cr_assert_null(strstr(body, "data: "));
    fl_buf_t clean, faulty;
    fl_buf_init(&clean);
    fl_buf_init(&faulty);
    whatwg_parse(s.bytes.data, s.bytes.len, &clean);
    whatwg_parse(body, len, &faulty);
    cr_assert_gt(clean.len, 0);
    cr_assert_str_eq(faulty.data, clean.data);
    fl_buf_close(&clean);
    fl_buf_close(&faulty);
    free(body);
    free(wire);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

static char *garbage_plan(uint64_t seed)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_GARBAGE;
    f.bytes = 16;
    f.seed = seed;
    compile1(&f);
    char *wire = cx_bytes(&w, NULL);
    char *body = dechunk(wire, NULL);
    free(wire);
    return body;
}

Test(body, corrupt_garbage_is_seeded)
{
    char *a = garbage_plan(7);
    ASSERT_OPS("W@0 W@0 F@100#0 W@100#0 W@150 W@150 D@150");
    char *b = garbage_plan(7);
    char *c = garbage_plan(8);
    size_t pre = strlen(CX_E0);
    /* 16 bytes inserted before E1, the rest intact */
    cr_assert(memcmp(a + pre + 16, CX_E1 CX_E2 CX_E3 CX_E4, strlen(CX_E1 CX_E2 CX_E3 CX_E4)) == 0);
    cr_assert(memcmp(a, b, pre + 16) == 0);
    cr_assert(memcmp(a + pre, c + pre, 16) != 0);
    free(a);
    free(b);
    free(c);
}

Test(body, corrupt_chunk_size)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_CHUNK_SIZE;
    compile1(&f);
    ASSERT_OPS("W@0 W@0 F@100#0 W@100#0 W@150 W@150 D@150");
    char *got = cx_bytes(&w, NULL);
    char *c0 = cx_chunk(CX_E0), *c2 = cx_chunk(CX_E2 CX_E3 CX_E4);
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "%s%szz\r\n%s\r\n%s0\r\n\r\n", CX_HEAD, c0, CX_E1, c2);
    cr_assert_str_eq(got, b.data);
    fl_buf_close(&b);
    free(got);
    free(c0);
    free(c2);
    /* only chunked bodies have a chunk-size line: elsewhere the fault is skipped (skip.c) and
     * the body goes out clean */
    fl_chaos_input_t in = cx_input(&script, FL_BODY_LENGTH);
    fl_wire_close(&w);
    fl_wire_init(&w);
    cr_assert_eq(fl_chaos_compile(&in, &f, 1, &w), 0);
    cr_assert_eq(w.n_skipped, 1);
    cr_assert_null(cx_fire(&w, 0));
    got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, CX_HEAD CX_E0 CX_E1 CX_E2 CX_E3 CX_E4);
    free(got);
}

Test(body, end)
{
    fl_fault_t f = at_event(FL_FAULT_END, 3);
    compile1(&f);
    ASSERT_OPS("W@0 W@0 W@100 F@150#0 W@150#0 D@150#0");
    const char *chunks[] = {CX_E0, CX_E1};
    assert_chunks(chunks, 2);
    f.at.n = 2;
    compile1(&f);
    ASSERT_OPS("W@0 W@0 F@100#0 W@100#0 D@100#0");
}

static void error_event_case(fl_dialect_t d, uint64_t event, const char *must_contain)
{
    fl_scenario_t *sc = fx_scenario_text(d, "Alpha beta gamma delta");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_lt(event, s.n_events);
    fl_chaos_input_t in = cx_input(&s, FL_BODY_LENGTH);
    in.dialect = d;
    in.ctx = ctx;
    fl_fault_t f = at_event(FL_FAULT_ERROR_EVENT, event);
    f.error_class = FL_ERR_OVERLOADED;
    f.message = "boom";
    fl_wire_close(&w);
    cx_compile(&in, &f, 1, &w);

    /* expected: the clean events before the position, then the dialect's error event */
    fl_encode_ctx_t ectx = ctx;
    if (d == FL_DIALECT_OPENAI_RESPONSES) {
        json_t *j = fx_event_json(&s, event - 1, NULL);
        cr_assert(j);
        ectx.sequence_number = (uint64_t)json_integer_value(json_object_get(j, "sequence_number"));
        cr_assert_gt(ectx.sequence_number, 0);
        json_decref(j);
    }
    fl_buf_t expect;
    fl_buf_init(&expect);
    fl_buf_append_str(&expect, CX_HEAD);
    fl_buf_append(&expect, s.bytes.data, s.events[event - 1].off);
    cr_assert_eq(fl_dialect_encode_error_event(d, FL_ERR_OVERLOADED, "boom", &ectx, &expect), 0);
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, expect.data);
    cr_assert(strstr(got, must_contain), "%s", must_contain);
    cr_assert(strstr(got, "boom"));
    cr_assert_eq(w.ops[w.n_ops - 1].kind, FL_WIRE_DONE);
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert_eq(fire->event, event - 1);
    cr_assert_eq(fire->at_ms, s.events[event - 1].at_ms);
    free(got);
    fl_buf_close(&expect);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(body, error_event_openai_chat)
{
    error_event_case(FL_DIALECT_OPENAI_CHAT, 3, "data: {\"error\":");
}

Test(body, error_event_openai_responses)
{
    error_event_case(FL_DIALECT_OPENAI_RESPONSES, 5, "event: response.failed");
}

Test(body, error_event_anthropic)
{
    error_event_case(FL_DIALECT_ANTHROPIC_MESSAGES, 4, "overloaded_error");
}

Test(body, error_event_chunked_terminates)
{
    fl_fault_t f = at_event(FL_FAULT_ERROR_EVENT, 3);
    f.error_class = FL_ERR_SERVER;
    compile1(&f);
    ASSERT_OPS("W@0 W@0 W@100 F@150#0 W@150#0 W@150 D@150");
    char *wire = cx_bytes(&w, NULL);
    char *body = dechunk(wire, NULL);
    cr_assert(strncmp(body, CX_E0 CX_E1 "data: {\"error\":", strlen(CX_E0 CX_E1) + 15) == 0);
    cr_assert_null(strstr(body, "[DONE]"));
    free(body);
    free(wire);
}

/* Two faults at one position apply in the order written: bytes injected before event 3 are on
 * the wire before what `end` or `error_event` at event 3 does, whichever of the two follows (the
 * later fault used to find the injected piece first and remove it with the rest). */
Test(body, inject_then_end_or_error_event_at_the_same_event_keeps_the_bytes)
{
    static const fl_fault_kind_t after[] = {FL_FAULT_END, FL_FAULT_ERROR_EVENT};
    for (size_t k = 0; k < sizeof(after) / sizeof(after[0]); k++) {
        fl_fault_t f[2] = {at_event(FL_FAULT_INJECT, 3), at_event(after[k], 3)};
        f[0].inject = ": injected\n\n";
        f[0].inject_len = strlen(f[0].inject);
        f[1].error_class = FL_ERR_SERVER;
        fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
        fl_wire_close(&w);
        cx_compile(&in, f, 2, &w);
        char *wire = cx_bytes(&w, NULL);
        char *body = dechunk(wire, NULL);
        const char *want = CX_E0 CX_E1 ": injected\n\n";
        cr_assert(strncmp(body, want, strlen(want)) == 0, "%s: %s", fl_fault_name(after[k]), body);
        cr_assert_null(strstr(body, "world"), "%s: %s", fl_fault_name(after[k]), body);
        /* both faults fired, where they acted: before clean event 3 */
        cr_assert_eq(cx_fire(&w, 0)->event, 2);
        cr_assert_eq(cx_fire(&w, 1)->event, 2);
        free(body);
        free(wire);
    }
}

/*
 * Body faults on Gemini's stream, whose events end in CRLF CRLF and which has no sentinel:
 * drop_sentinel drops the finishReason chunk, error_event is Google's in-stream error, the lines
 * corrupt adds end as the event's do, and line_endings treats a CRLF pair as one line end, also
 * when a fault position splits it.
 */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "dialect_fixture.h"
#include "encode/dialect.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fl_scenario_t *sc;
static fl_script_t script;
static fl_wire_t w;

static void setup(void)
{
    sc = fx_scenario_text(FL_DIALECT_GEMINI, "Alpha beta gamma delta");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_init(&script);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &script), 0);
    cr_assert_eq(script.n_events, 5);
    fl_wire_init(&w);
}

static void teardown(void)
{
    fl_wire_close(&w);
    fl_script_close(&script);
    fx_scenario_free(sc);
}

TestSuite(gemini_body, .init = setup, .fini = teardown, .timeout = 10);

/* Compiles faults f[0, n) on the Gemini script, content-length framing (no chunk framing to
 * strip), and returns the body sent (the head removed), malloc'd. */
static char *compile_body(const fl_fault_t *f, size_t n, size_t *len)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_LENGTH);
    in.dialect = FL_DIALECT_GEMINI;
    in.ctx = fx_ctx();
    fl_wire_close(&w);
    cx_compile(&in, f, n, &w);
    size_t all;
    char *wire = cx_bytes(&w, &all);
    cr_assert_geq(all, strlen(CX_HEAD));
    cr_assert_eq(memcmp(wire, CX_HEAD, strlen(CX_HEAD)), 0);
    size_t blen = all - strlen(CX_HEAD);
    memmove(wire, wire + strlen(CX_HEAD), blen + 1);
    if (len)
        *len = blen;
    return wire;
}

static fl_fault_t at_event(fl_fault_kind_t k, uint64_t n)
{
    fl_fault_t f = cx_fault(k);
    f.at.kind = FL_AT_EVENT;
    f.at.n = n;
    return f;
}

/* The clean body with every CRLF replaced by with. malloc'd. */
static char *clean_with(const char *with)
{
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < script.bytes.len; i++) {
        if (script.bytes.data[i] == '\r' && script.bytes.data[i + 1] == '\n') {
            fl_buf_append_str(&b, with);
            i++;
        } else {
            fl_buf_append(&b, &script.bytes.data[i], 1);
        }
    }
    fl_buf_append(&b, "", 0);
    return b.data;
}

/* The clean body's first cut bytes, then mid, then the clean body from resume on (none when
 * resume is the body's length). malloc'd. */
static char *splice(size_t cut, const char *mid, size_t resume)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append(&b, script.bytes.data, cut);
    fl_buf_append_str(&b, mid);
    fl_buf_append(&b, script.bytes.data + resume, script.bytes.len - resume);
    fl_buf_append(&b, "", 0);
    return b.data;
}

/* No sentinel: the end marker drop_sentinel drops is the chunk with finishReason. */
Test(gemini_body, drop_sentinel_drops_the_finish_chunk)
{
    fl_fault_t f = cx_fault(FL_FAULT_DROP_SENTINEL);
    size_t len;
    char *body = compile_body(&f, 1, &len);
    size_t last = script.n_events - 1;
    cr_assert_eq(script.events[last].kind, FL_EVENT_SENTINEL);
    cr_assert_eq(len, script.events[last].off);
    cr_assert_eq(memcmp(body, script.bytes.data, len), 0);
    cr_assert_null(strstr(body, "finishReason"));
    cr_assert(strstr(body, "delta"), "every text chunk is kept");
    cr_assert_eq(cx_fire(&w, 0)->event, last);
    free(body);
}

/* Gemini is CRLF already: crlf leaves the bytes as they are (no CR CR LF), cr turns each CRLF
 * into one CR. */
Test(gemini_body, line_endings_treat_crlf_as_one_line_end)
{
    fl_fault_t f = cx_fault(FL_FAULT_LINE_ENDINGS);
    f.crlf = true;
    char *body = compile_body(&f, 1, NULL);
    cr_assert_str_eq(body, script.bytes.data);
    free(body);
    f.crlf = false;
    body = compile_body(&f, 1, NULL);
    char *want = clean_with("\r");
    cr_assert_str_eq(body, want);
    cr_assert_null(strchr(body, '\n'));
    free(want);
    free(body);
}

/* A position between the CR and the LF of a line end splits them into two pieces; the pair is
 * still one line end. */
Test(gemini_body, line_endings_across_a_split_crlf)
{
    const char *cr = memchr(script.bytes.data, '\r', script.bytes.len);
    cr_assert_not_null(cr);
    fl_fault_t fs[2] = {cx_fault(FL_FAULT_LINE_ENDINGS), cx_fault(FL_FAULT_STALL)};
    fs[0].crlf = false;
    fs[1].at.kind = FL_AT_BYTE;
    fs[1].at.n = (uint64_t)(cr - script.bytes.data) + 1;
    fs[1].ms = 5;
    char *body = compile_body(fs, 2, NULL);
    char *want = clean_with("\r");
    cr_assert_str_eq(body, want);
    free(want);
    free(body);

    /* and a reset there sends the line up to the pair, whose end never arrives */
    fl_fault_t rs[2] = {fs[0], cx_fault(FL_FAULT_RESET)};
    rs[1].at = fs[1].at;
    size_t len;
    body = compile_body(rs, 2, &len);
    cr_assert_eq(len, (size_t)(cr - script.bytes.data));
    cr_assert_eq(memcmp(body, script.bytes.data, len), 0);
    free(body);
}

/* corrupt json cuts the JSON and ends the event with CRLF CRLF, as Gemini's events end. */
Test(gemini_body, corrupt_json_keeps_crlf)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_JSON;
    char *body = compile_body(&f, 1, NULL);
    size_t data_len = script.events[1].len - 6 - 4; /* without "data: " and CRLF CRLF */
    char *want = splice(script.events[1].off + 6 + data_len / 2, "\r\n\r\n", script.events[2].off);
    cr_assert_str_eq(body, want);
    free(want);
    free(body);
}

/* corrupt sse adds its odd lines with CRLF, and a conforming parser loses nothing. */
Test(gemini_body, corrupt_sse_in_crlf)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 3);
    f.corrupt = FL_CORRUPT_SSE;
    size_t len;
    char *body = compile_body(&f, 1, &len);
    cr_assert(strstr(body, "bogus\r\nx-faultline: 1\r\ndata:{"), "%s", body);
    cr_assert_null(strstr(body, "bogus\n"));
    test_sse_t clean, faulty;
    test_sse_parse(script.bytes.data, script.bytes.len, &clean);
    test_sse_parse(body, len, &faulty);
    cr_assert_eq(faulty.n, clean.n);
    for (size_t i = 0; i < clean.n; i++)
        cr_assert_str_eq(faulty.events[i].data, clean.events[i].data, "event %zu", i);
    test_sse_free(&clean);
    test_sse_free(&faulty);
    free(body);
}

/* error_event: the clean chunks before the position, then Google's {"error": ...} event, and the
 * body ends. */
Test(gemini_body, error_event_is_googles)
{
    fl_fault_t f = at_event(FL_FAULT_ERROR_EVENT, 3);
    f.error_class = FL_ERR_RATE_LIMIT;
    size_t len;
    char *body = compile_body(&f, 1, &len);
    char *want =
        splice(script.events[2].off,
               "data: {\"error\": {\"code\": 429,\"message\": \"Resource has been "
               "exhausted (e.g. check quota).\",\"status\": \"RESOURCE_EXHAUSTED\"}}\r\n\r\n",
               script.bytes.len);
    cr_assert_str_eq(body, want);
    cr_assert_eq(w.ops[w.n_ops - 1].kind, FL_WIRE_DONE);
    free(want);
    free(body);
}

/*
 * gemini encoder: golden bytes of every stream shape (text, function call, each finish reason,
 * the in-stream error), kinds and times, the generateContent and error bodies, and every stream
 * through the test SSE parser whole and cut after every byte.
 */
#include "encode/dialect.h"
#include "base/error.h"
#include "dialect_fixture.h"
#include "sse_parse.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* One chunk as Google writes it: `data: `, the JSON with ": " after keys and "," bare, then
 * CRLF CRLF. usage is the usageMetadata object's text. */
#define CHUNK(candidate, usage)                                                                    \
    "data: {\"candidates\": [" candidate "],\"usageMetadata\": " usage                             \
    ",\"modelVersion\": \"test-model\",\"responseId\": \"abc123\"}\r\n\r\n"
#define TEXT_CAND(text)                                                                            \
    "{\"content\": {\"parts\": [{\"text\": \"" text "\"}],\"role\": \"model\"},\"index\": 0}"
#define FINISH_CAND(reason)                                                                        \
    "{\"content\": {\"role\": \"model\"},\"finishReason\": \"" reason "\",\"index\": 0}"
#define USAGE(in, out, total)                                                                      \
    "{\"promptTokenCount\": " in ",\"candidatesTokenCount\": " out ",\"totalTokenCount\": " total  \
    "}"

static const char golden_text[] = CHUNK(TEXT_CAND("Hello,"), USAGE("5", "1", "6"))
    CHUNK(TEXT_CAND(" world!"), USAGE("5", "2", "7"))
        CHUNK(FINISH_CAND("STOP"), USAGE("5", "2", "7"));

static const char golden_tool[] =
    CHUNK("{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": "
          "{\"city\": \"Paris\",\"days\": 3}}}],\"role\": \"model\"},\"index\": 0}",
          USAGE("5", "1", "6")) CHUNK(FINISH_CAND("STOP"), USAGE("5", "1", "6"));

static void encode(const fl_scenario_t *sc, fl_script_t *s)
{
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_init(s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, s), 0);
}

Test(gemini, golden_text_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_GEMINI, "Hello, world!");
    fl_script_t s;
    encode(sc, &s);
    cr_assert_str_eq(s.bytes.data, golden_text);
    /* No role chunk, no sentinel: content at ttft and each interval, the finish chunk (the end
     * marker, hence SENTINEL) with the last content. */
    fl_event_kind_t kinds[] = {FL_EVENT_CONTENT, FL_EVENT_CONTENT, FL_EVENT_SENTINEL};
    uint64_t at[] = {100, 150, 150};
    fx_check_script(&s, kinds, at, 3);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

/* A call is not streamed in fragments: the bytes:8 chunking of the arguments does not apply,
 * args is the parsed object, and the scripted call id is not sent. */
Test(gemini, golden_function_call_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_tool(FL_DIALECT_GEMINI, "get_weather",
                                         "{\"city\":\"Paris\",\"days\":3}", "call_01");
    fl_script_t s;
    encode(sc, &s);
    cr_assert_str_eq(s.bytes.data, golden_tool);
    fl_event_kind_t kinds[] = {FL_EVENT_CONTENT, FL_EVENT_SENTINEL};
    uint64_t at[] = {100, 100};
    fx_check_script(&s, kinds, at, 2);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(gemini, finish_reasons, .timeout = 10)
{
    struct {
        fl_finish_t finish;
        const char *bytes;
    } cases[] = {
        {FL_FINISH_STOP, CHUNK(FINISH_CAND("STOP"), USAGE("5", "1", "6"))},
        {FL_FINISH_LENGTH, CHUNK(FINISH_CAND("MAX_TOKENS"), USAGE("5", "1", "6"))},
        {FL_FINISH_TOOL_CALLS, CHUNK(FINISH_CAND("STOP"), USAGE("5", "1", "6"))},
        {FL_FINISH_CONTENT_FILTER, CHUNK(FINISH_CAND("SAFETY"), USAGE("5", "1", "6"))},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_GEMINI, "x");
        sc->response.finish_reason = cases[i].finish;
        fl_script_t s;
        encode(sc, &s);
        cr_assert_eq(s.n_events, 2);
        char *last = fx_event_bytes(&s, 1);
        cr_assert_str_eq(last, cases[i].bytes, "finish %d", (int)cases[i].finish);
        free(last);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

/* Every chunk carries usageMetadata with the candidate tokens so far, spread evenly over the
 * content events; the finish chunk and the body carry the total. */
Test(gemini, running_usage, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_GEMINI, "one two three four");
    sc->response.input_tokens = 12;
    sc->response.output_tokens = 10;
    fl_script_t s;
    encode(sc, &s);
    long long want[] = {2, 5, 7, 10, 10};
    cr_assert_eq(s.n_events, 5);
    for (size_t i = 0; i < s.n_events; i++) {
        json_t *j = fx_event_json(&s, i, NULL);
        cr_assert_not_null(j, "event %zu is not JSON", i);
        json_t *u = json_object_get(j, "usageMetadata");
        cr_assert_eq(json_integer_value(json_object_get(u, "promptTokenCount")), 12);
        cr_assert_eq(json_integer_value(json_object_get(u, "candidatesTokenCount")), want[i],
                     "event %zu", i);
        cr_assert_eq(json_integer_value(json_object_get(u, "totalTokenCount")), 12 + want[i]);
        json_decref(j);
    }
    fl_script_close(&s);

    fl_buf_t b;
    fl_buf_init(&b);
    fl_encode_ctx_t ctx = fx_ctx();
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    json_t *j = json_loads(b.data, 0, NULL);
    cr_assert_eq(json_integer_value(
                     json_object_get(json_object_get(j, "usageMetadata"), "candidatesTokenCount")),
                 10);
    json_decref(j);
    fl_buf_close(&b);
    fx_scenario_free(sc);
}

/* Google's spacing is added outside strings only: colons, quotes and backslashes in the text
 * come back unchanged. */
Test(gemini, spacing_leaves_strings_alone, .timeout = 10)
{
    const char *chunks[] = {"a:b,c \"q:\" \\:", "{\"k\":1}"};
    fl_scenario_t *sc = fx_scenario_chunks(FL_DIALECT_GEMINI, chunks, 2);
    fl_script_t s;
    encode(sc, &s);
    char *first = fx_event_bytes(&s, 0);
    cr_assert_str_eq(first, CHUNK(TEXT_CAND("a:b,c \\\"q:\\\" \\\\:"), USAGE("5", "1", "6")));
    free(first);
    for (size_t i = 0; i < 2; i++) {
        json_t *j = fx_event_json(&s, i, NULL);
        json_t *part = json_array_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(j, "candidates"), 0), "content"),
                "parts"),
            0);
        cr_assert_str_eq(json_string_value(json_object_get(part, "text")), chunks[i]);
        json_decref(j);
    }
    fl_script_close(&s);
    fx_scenario_free(sc);
}

/* The events of body[0, n) must be the first events of the whole body, data for data. */
static void check_prefixes(const char *body, size_t len, const test_sse_t *whole)
{
    for (size_t n = 0; n <= len; n++) {
        test_sse_t p;
        test_sse_parse(body, n, &p);
        cr_assert_leq(p.n, whole->n, "cut at %zu: %zu events", n, p.n);
        for (size_t i = 0; i < p.n; i++) {
            cr_assert_str_eq(p.events[i].event, whole->events[i].event, "cut at %zu", n);
            cr_assert_str_eq(p.events[i].data, whole->events[i].data, "cut at %zu, event %zu", n,
                             i);
        }
        if (n == len)
            cr_assert_eq(p.n, whole->n);
        test_sse_free(&p);
    }
}

/*
 * Every shape through the SSE parser: one message event per script event (no `event:` field),
 * its data the event's JSON exactly (the CR of CRLF is no part of it), the text deltas joined
 * give the answer; then cut after every byte, as a client's reads may cut it.
 */
Test(gemini, sse_whole_and_cut_after_every_byte, .timeout = 60)
{
    const char *text = "Caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80, fin.";
    fl_scenario_t *scs[] = {
        fx_scenario_text(FL_DIALECT_GEMINI, text),
        fx_scenario_text(FL_DIALECT_GEMINI, text),
        fx_scenario_tool(FL_DIALECT_GEMINI, "get_weather", "{\"city\":\"Paris\"}", NULL),
    };
    scs[1]->response.chunking = FL_CHUNKING_CHAR;
    for (size_t k = 0; k < sizeof(scs) / sizeof(scs[0]); k++) {
        fl_script_t s;
        encode(scs[k], &s);
        test_sse_t whole;
        test_sse_parse(s.bytes.data, s.bytes.len, &whole);
        cr_assert_eq(whole.n, s.n_events, "case %zu", k);
        char joined[256] = "";
        for (size_t i = 0; i < whole.n; i++) {
            cr_assert_str_eq(whole.events[i].event, "");
            char *raw = fx_event_bytes(&s, i);
            size_t rl = strlen(raw);
            cr_assert(rl > 10 && strncmp(raw, "data: ", 6) == 0 &&
                          strcmp(raw + rl - 4, "\r\n\r\n") == 0,
                      "event %zu framing: %s", i, raw);
            raw[rl - 4] = '\0';
            cr_assert_str_eq(whole.events[i].data, raw + 6);
            free(raw);
            json_t *j = json_loads(whole.events[i].data, 0, NULL);
            cr_assert_not_null(j, "event %zu is not JSON", i);
            json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
            json_t *part =
                json_array_get(json_object_get(json_object_get(cand, "content"), "parts"), 0);
            if (json_string_value(json_object_get(part, "text")))
                strcat(joined, json_string_value(json_object_get(part, "text")));
            cr_assert_eq(json_object_get(cand, "finishReason") != NULL, i + 1 == whole.n,
                         "finishReason on event %zu of %zu", i, whole.n);
            json_decref(j);
        }
        if (k < 2)
            cr_assert_str_eq(joined, text);
        check_prefixes(s.bytes.data, s.bytes.len, &whole);
        test_sse_free(&whole);
        fl_script_close(&s);
        fx_scenario_free(scs[k]);
    }
}

Test(gemini, bodies, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_GEMINI, "Hello, world!");
    sc->response.input_tokens = 12;
    fl_encode_ctx_t ctx = fx_ctx();
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(b.data, "{\n"
                             "  \"candidates\": [\n"
                             "    {\n"
                             "      \"content\": {\n"
                             "        \"parts\": [\n"
                             "          {\n"
                             "            \"text\": \"Hello, world!\"\n"
                             "          }\n"
                             "        ],\n"
                             "        \"role\": \"model\"\n"
                             "      },\n"
                             "      \"finishReason\": \"STOP\",\n"
                             "      \"index\": 0\n"
                             "    }\n"
                             "  ],\n"
                             "  \"usageMetadata\": {\n"
                             "    \"promptTokenCount\": 12,\n"
                             "    \"candidatesTokenCount\": 2,\n"
                             "    \"totalTokenCount\": 14\n"
                             "  },\n"
                             "  \"modelVersion\": \"test-model\",\n"
                             "  \"responseId\": \"abc123\"\n"
                             "}\n");
    fl_buf_close(&b);
    fx_scenario_free(sc);

    sc = fx_scenario_tool(FL_DIALECT_GEMINI, "get_weather", "{\"city\":\"Paris\"}", NULL);
    sc->response.finish_reason = FL_FINISH_LENGTH;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    json_t *j = json_loads(b.data, 0, NULL);
    cr_assert_not_null(j);
    json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
    json_t *call = json_object_get(
        json_array_get(json_object_get(json_object_get(cand, "content"), "parts"), 0),
        "functionCall");
    cr_assert_str_eq(json_string_value(json_object_get(call, "name")), "get_weather");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(call, "args"), "city")),
                     "Paris");
    cr_assert_str_eq(json_string_value(json_object_get(cand, "finishReason")), "MAX_TOKENS");
    cr_assert_eq(json_integer_value(
                     json_object_get(json_object_get(j, "usageMetadata"), "candidatesTokenCount")),
                 1);
    json_decref(j);
    fl_buf_close(&b);

    /* Arguments that are not a JSON object cannot become args. */
    fx_assert_body_refuses_arguments(sc, "[1, 2]");
    fx_scenario_free(sc);
}

Test(gemini, error_bodies, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(
        fl_dialect_encode_http_error_body(FL_DIALECT_GEMINI, 429, FL_ERR_RATE_LIMIT, NULL, &b), 0);
    cr_assert_str_eq(b.data, "{\n"
                             "  \"error\": {\n"
                             "    \"code\": 429,\n"
                             "    \"message\": \"Resource has been exhausted (e.g. check "
                             "quota).\",\n"
                             "    \"status\": \"RESOURCE_EXHAUSTED\"\n"
                             "  }\n"
                             "}\n");
    fl_buf_close(&b);

    /* The body repeats the HTTP status it goes out with; the class names the status. */
    fl_buf_init(&b);
    cr_assert_eq(
        fl_dialect_encode_http_error_body(FL_DIALECT_GEMINI, 502, FL_ERR_SERVER, "bad gw", &b), 0);
    cr_assert_str_eq(b.data, "{\n  \"error\": {\n    \"code\": 502,\n    \"message\": \"bad gw\",\n"
                             "    \"status\": \"INTERNAL\"\n  }\n}\n");
    fl_buf_close(&b);

    struct {
        int code;
        const char *status;
    } want[] = {
        [FL_ERR_INVALID_REQUEST] = {400, "INVALID_ARGUMENT"},
        [FL_ERR_AUTHENTICATION] = {401, "UNAUTHENTICATED"},
        [FL_ERR_PERMISSION] = {403, "PERMISSION_DENIED"},
        [FL_ERR_NOT_FOUND] = {404, "NOT_FOUND"},
        [FL_ERR_REQUEST_TOO_LARGE] = {400, "INVALID_ARGUMENT"},
        [FL_ERR_RATE_LIMIT] = {429, "RESOURCE_EXHAUSTED"},
        [FL_ERR_SERVER] = {500, "INTERNAL"},
        [FL_ERR_OVERLOADED] = {503, "UNAVAILABLE"},
        [FL_ERR_TIMEOUT] = {504, "DEADLINE_EXCEEDED"},
    };
    for (int cls = FL_ERR_INVALID_REQUEST; cls <= FL_ERR_TIMEOUT; cls++) {
        fl_buf_init(&b);
        cr_assert_eq(
            fl_dialect_encode_error_body(FL_DIALECT_GEMINI, (fl_error_class_t)cls, NULL, &b), 0);
        cr_assert_eq(b.data[b.len - 1], '\n');
        json_t *j = json_loads(b.data, 0, NULL);
        json_t *e = json_object_get(j, "error");
        cr_assert_eq(json_object_size(j), 1);
        cr_assert_eq(json_integer_value(json_object_get(e, "code")), want[cls].code, "%d", cls);
        cr_assert_str_eq(json_string_value(json_object_get(e, "status")), want[cls].status);
        cr_assert(strlen(json_string_value(json_object_get(e, "message"))) > 0);
        json_decref(j);
        fl_buf_close(&b);
    }
}

/* The in-stream error: one data event in the stream's own framing, with the class's code. */
Test(gemini, error_event, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_encode_ctx_t ctx = fx_ctx();
    cr_assert_eq(
        fl_dialect_encode_error_event(FL_DIALECT_GEMINI, FL_ERR_OVERLOADED, NULL, &ctx, &b), 0);
    cr_assert_str_eq(b.data, "data: {\"error\": {\"code\": 503,\"message\": \"The model is "
                             "overloaded. Please try again later.\",\"status\": "
                             "\"UNAVAILABLE\"}}\r\n\r\n");
    fl_buf_close(&b);
    fl_buf_init(&b);
    cr_assert_eq(
        fl_dialect_encode_error_event(FL_DIALECT_GEMINI, FL_ERR_RATE_LIMIT, "Quota: 0", &ctx, &b),
        0);
    cr_assert_str_eq(b.data, "data: {\"error\": {\"code\": 429,\"message\": \"Quota: 0\","
                             "\"status\": \"RESOURCE_EXHAUSTED\"}}\r\n\r\n");
    fl_buf_close(&b);
}

Test(gemini, names_and_ping, .timeout = 10)
{
    cr_assert_str_eq(fl_dialect_name(FL_DIALECT_GEMINI), "gemini");
    fl_dialect_t d;
    cr_assert_eq(fl_dialect_parse("gemini", &d), 0);
    cr_assert_eq(d, FL_DIALECT_GEMINI);
    cr_assert_str_eq(fl_dialect_sentinel_name(FL_DIALECT_GEMINI), "finishReason");
    cr_assert_str_eq(fl_dialect_path(FL_DIALECT_GEMINI),
                     "/v1beta/models/{model}:streamGenerateContent");
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_ping(FL_DIALECT_GEMINI, &b), 0);
    cr_assert_str_eq(b.data, ": ping\r\n\r\n");
    fl_buf_close(&b);
}

/* openai-chat encoder: golden bytes, timeline, usage, bodies and errors. */
#include "encode/dialect.h"
#include "dialect_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_HEAD                                                                                 \
    "data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":"          \
    "1700000000,\"model\":\"test-model\",\"system_fingerprint\":\"fp_faultline\",\"choices\":"

static const char golden_text[] =
    CHUNK_HEAD "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":"
               "null,\"finish_reason\":null}]}\n\n" CHUNK_HEAD
               "[{\"index\":0,\"delta\":{\"content\":\"Hello,\"},\"logprobs\":null,"
               "\"finish_reason\":null}]}\n\n" CHUNK_HEAD
               "[{\"index\":0,\"delta\":{\"content\":\" world!\"},\"logprobs\":null,"
               "\"finish_reason\":null}]}\n\n" CHUNK_HEAD
               "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
               "data: [DONE]\n\n";

Test(openai_chat, golden_text_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_CHAT, "Hello, world!");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, golden_text);
    cr_assert_eq(s.bytes.len, strlen(golden_text));

    fl_event_kind_t kinds[] = {FL_EVENT_META, FL_EVENT_CONTENT, FL_EVENT_CONTENT, FL_EVENT_FINISH,
                               FL_EVENT_SENTINEL};
    uint64_t at[] = {0, 100, 150, 150, 150};
    cr_assert_eq(s.n_events, 5);
    size_t off = 0;
    for (size_t i = 0; i < s.n_events; i++) {
        cr_assert_eq(s.events[i].kind, kinds[i], "event %zu", i);
        cr_assert_eq(s.events[i].at_ms, at[i], "event %zu", i);
        cr_assert_eq(s.events[i].off, off);
        off += s.events[i].len;
    }
    cr_assert_eq(off, s.bytes.len);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

static const char golden_tool[] = CHUNK_HEAD
    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":"
    "0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n" CHUNK_HEAD
    "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"{\\\"city\\\":\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n" CHUNK_HEAD
    "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"\\\"Paris\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n" CHUNK_HEAD
    "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: [DONE]\n\n";

Test(openai_chat, golden_tool_stream, .timeout = 10)
{
    fl_scenario_t *sc =
        fx_scenario_tool(FL_DIALECT_OPENAI_CHAT, "get_weather", "{\"city\":\"Paris\"}", "call_1");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, golden_tool);
    fl_event_kind_t kinds[] = {FL_EVENT_CONTENT, FL_EVENT_CONTENT, FL_EVENT_CONTENT,
                               FL_EVENT_FINISH, FL_EVENT_SENTINEL};
    uint64_t at[] = {100, 150, 200, 200, 200};
    cr_assert_eq(s.n_events, 5);
    for (size_t i = 0; i < s.n_events; i++) {
        cr_assert_eq(s.events[i].kind, kinds[i], "event %zu", i);
        cr_assert_eq(s.events[i].at_ms, at[i], "event %zu", i);
    }
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(openai_chat, tool_id_from_ctx_when_scenario_has_none, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_tool(FL_DIALECT_OPENAI_CHAT, "f", "{}", NULL);
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    json_t *j = fx_event_json(&s, 0, NULL);
    cr_assert_not_null(j);
    json_t *tc = json_array_get(
        json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"),
                        "tool_calls"),
        0);
    cr_assert_str_eq(json_string_value(json_object_get(tc, "id")), "call_abc123");
    json_decref(j);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

/* Every data line but [DONE] is a chunk with the provider's fields; deltas rebuild the text. */
Test(openai_chat, chunks_parse_and_concatenate, .timeout = 10)
{
    const char *text = "  Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 and \xf0\x9f\x98\x80 done.\n";
    fl_chunking_kind_t kinds[] = {FL_CHUNKING_WORD, FL_CHUNKING_CHAR, FL_CHUNKING_BYTES};
    for (size_t k = 0; k < 3; k++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_CHAT, text);
        sc->response.chunking = kinds[k];
        sc->response.chunk_bytes = 3;
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
        char joined[256] = "";
        for (size_t i = 0; i + 1 < s.n_events; i++) {
            json_t *j = fx_event_json(&s, i, NULL);
            cr_assert_not_null(j, "event %zu is not JSON", i);
            cr_assert_str_eq(json_string_value(json_object_get(j, "object")),
                             "chat.completion.chunk");
            cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "chatcmpl-abc123");
            cr_assert_eq(json_integer_value(json_object_get(j, "created")), 1700000000);
            cr_assert_str_eq(json_string_value(json_object_get(j, "model")), "test-model");
            cr_assert_null(json_object_get(j, "usage"));
            json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
            cr_assert_eq(json_integer_value(json_object_get(choice, "index")), 0);
            cr_assert(json_is_null(json_object_get(choice, "logprobs")));
            json_t *content = json_object_get(json_object_get(choice, "delta"), "content");
            if (s.events[i].kind == FL_EVENT_CONTENT)
                strcat(joined, json_string_value(content));
            json_decref(j);
        }
        cr_assert_str_eq(joined, text, "chunking %zu", k);
        char *last = fx_event_bytes(&s, s.n_events - 1);
        cr_assert_str_eq(last, "data: [DONE]\n\n");
        free(last);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

Test(openai_chat, include_usage, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_CHAT, "Hello, world!");
    fl_encode_ctx_t ctx = fx_ctx();
    ctx.include_usage = true;
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_eq(s.n_events, 6);
    for (size_t i = 0; i < 4; i++) {
        json_t *j = fx_event_json(&s, i, NULL);
        json_t *u = json_object_get(j, "usage");
        cr_assert(u && json_is_null(u), "event %zu lacks usage:null", i);
        json_decref(j);
    }
    char *usage = fx_event_bytes(&s, 4);
    cr_assert_str_eq(usage, CHUNK_HEAD "[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,"
                                       "\"total_tokens\":7}}\n\n");
    free(usage);
    cr_assert_eq(s.events[4].kind, FL_EVENT_META);
    cr_assert_eq(s.events[4].at_ms, 150);
    cr_assert_eq(s.events[5].kind, FL_EVENT_SENTINEL);

    /* Given token counts win over the derived ones. */
    fl_script_close(&s);
    fl_script_init(&s);
    sc->response.input_tokens = 11;
    sc->response.output_tokens = 22;
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    json_t *j = fx_event_json(&s, 4, NULL);
    json_t *u = json_object_get(j, "usage");
    cr_assert_eq(json_integer_value(json_object_get(u, "prompt_tokens")), 11);
    cr_assert_eq(json_integer_value(json_object_get(u, "completion_tokens")), 22);
    cr_assert_eq(json_integer_value(json_object_get(u, "total_tokens")), 33);
    json_decref(j);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(openai_chat, finish_reasons, .timeout = 10)
{
    const char *names[] = {"stop", "length", "tool_calls", "content_filter"};
    fl_finish_t f[] = {FL_FINISH_STOP, FL_FINISH_LENGTH, FL_FINISH_TOOL_CALLS,
                       FL_FINISH_CONTENT_FILTER};
    for (size_t i = 0; i < 4; i++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_CHAT, "a b");
        sc->response.finish_reason = f[i];
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
        size_t fin = s.n_events - 2;
        cr_assert_eq(s.events[fin].kind, FL_EVENT_FINISH);
        json_t *j = fx_event_json(&s, fin, NULL);
        json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(choice, "finish_reason")), names[i]);
        json_decref(j);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

Test(openai_chat, body_text, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_CHAT, "Hello, world!");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(
        b.data, "{\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion\",\"created\":"
                "1700000000,\"model\":\"test-model\",\"choices\":[{\"index\":0,\"message\":{"
                "\"role\":\"assistant\",\"content\":\"Hello, world!\",\"refusal\":null},"
                "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
                "\"completion_tokens\":2,\"total_tokens\":7},\"system_fingerprint\":"
                "\"fp_faultline\"}");
    fl_buf_close(&b);
    fx_scenario_free(sc);
}

Test(openai_chat, body_tool_and_chunks, .timeout = 10)
{
    fl_scenario_t *sc =
        fx_scenario_tool(FL_DIALECT_OPENAI_CHAT, "get_weather", "{\"city\":\"Paris\"}", "call_1");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(b.data,
                     "{\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion\",\"created\":"
                     "1700000000,\"model\":\"test-model\",\"choices\":[{\"index\":0,\"message\":{"
                     "\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
                     "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                     "\"{\\\"city\\\":\\\"Paris\\\"}\"}}],\"refusal\":null},\"logprobs\":null,"
                     "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,"
                     "\"completion_tokens\":3,\"total_tokens\":8},\"system_fingerprint\":"
                     "\"fp_faultline\"}");
    fl_buf_close(&b);
    fx_scenario_free(sc);

    const char *chunks[] = {"Hel", "lo"};
    sc = fx_scenario_chunks(FL_DIALECT_OPENAI_CHAT, chunks, 2);
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    json_t *j = json_loads(b.data, 0, NULL);
    json_t *msg = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message");
    cr_assert_str_eq(json_string_value(json_object_get(msg, "content")), "Hello");
    json_decref(j);
    fl_buf_close(&b);
    fx_scenario_free(sc);
}

Test(openai_chat, error_body_and_event, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_error_body(FL_DIALECT_OPENAI_CHAT, FL_ERR_RATE_LIMIT, NULL, &b),
                 0);
    cr_assert_str_eq(b.data, "{\"error\":{\"message\":\"Rate limit reached for requests. Please "
                             "try again later.\",\"type\":\"requests\",\"param\":null,\"code\":"
                             "\"rate_limit_exceeded\"}}");
    fl_buf_close(&b);

    fl_buf_init(&b);
    fl_encode_ctx_t ctx = fx_ctx();
    cr_assert_eq(
        fl_dialect_encode_error_event(FL_DIALECT_OPENAI_CHAT, FL_ERR_SERVER, "boom", &ctx, &b), 0);
    cr_assert_str_eq(b.data, "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\","
                             "\"param\":null,\"code\":null}}\n\n");
    fl_buf_close(&b);

    /* Every class has the four fields, a non-empty message and a type. */
    for (int cls = FL_ERR_INVALID_REQUEST; cls <= FL_ERR_TIMEOUT; cls++) {
        fl_buf_init(&b);
        cr_assert_eq(fl_dialect_encode_error_body(FL_DIALECT_OPENAI_RESPONSES,
                                                  (fl_error_class_t)cls, NULL, &b),
                     0);
        json_t *j = json_loads(b.data, 0, NULL);
        json_t *e = json_object_get(j, "error");
        cr_assert_eq(json_object_size(e), 4, "class %d", cls);
        cr_assert(strlen(json_string_value(json_object_get(e, "message"))) > 0);
        cr_assert(strlen(json_string_value(json_object_get(e, "type"))) > 0);
        cr_assert(json_is_null(json_object_get(e, "param")));
        json_decref(j);
        fl_buf_close(&b);
    }
}

/* anthropic-messages encoder: golden bytes, kinds and times, bodies and errors. */
#include "encode/dialect.h"
#include "dialect_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_START(usage)                                                                       \
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"                 \
    "\"msg_abc123\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"         \
    "\"test-model\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":" usage "}}\n\n"
#define PING "event: ping\ndata: {\"type\": \"ping\"}\n\n"
#define DELTA(type, key, value)                                                                    \
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"  \
    "\"type\":\"" type "\",\"" key "\":\"" value "\"}}\n\n"
#define TAIL(stop, out)                                                                            \
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"           \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" stop   \
    "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" out "}}\n\n"                        \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

static const char golden_text[] = MESSAGE_START(
    "{\"input_tokens\":5,\"output_tokens\":1}") "event: content_block_start\ndata: "
                                                "{\"type\":\"content_block_start\",\"index\":0,"
                                                "\"content_block\":{\"type\":\"text\",\"text\":"
                                                "\"\"}}\n\n" PING DELTA("text_delta", "text",
                                                                        "Hello,")
                                                    DELTA("text_delta", "text", " world!")
                                                        TAIL("end_turn", "2");

Test(anthropic, golden_text_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, "Hello, world!");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, golden_text);
    fl_event_kind_t kinds[] = {FL_EVENT_META,    FL_EVENT_META, FL_EVENT_PING,   FL_EVENT_CONTENT,
                               FL_EVENT_CONTENT, FL_EVENT_META, FL_EVENT_FINISH, FL_EVENT_SENTINEL};
    uint64_t at[] = {0, 0, 0, 100, 150, 150, 150, 150};
    fx_check_script(&s, kinds, at, 8);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

static const char golden_tool[] = MESSAGE_START(
    "{\"input_tokens\":5,\"output_tokens\":1}") "event: content_block_start\ndata: "
                                                "{\"type\":\"content_block_start\",\"index\":0,"
                                                "\"content_block\":{\"type\":\"tool_use\",\"id\":"
                                                "\"toolu_01\",\"name\":\"get_weather\","
                                                "\"input\":{}}}\n\n" PING DELTA("input_json_delta",
                                                                                "partial_json",
                                                                                "{\\\"city\\\":")
                                                    DELTA("input_json_delta", "partial_json",
                                                          "\\\"Paris\\\"}") TAIL("tool_use", "3");

Test(anthropic, golden_tool_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_tool(FL_DIALECT_ANTHROPIC_MESSAGES, "get_weather",
                                         "{\"city\":\"Paris\"}", "toolu_01");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, golden_tool);
    fl_event_kind_t kinds[] = {FL_EVENT_META,    FL_EVENT_CONTENT, FL_EVENT_PING,
                               FL_EVENT_CONTENT, FL_EVENT_CONTENT, FL_EVENT_META,
                               FL_EVENT_FINISH,  FL_EVENT_SENTINEL};
    uint64_t at[] = {0, 100, 100, 150, 200, 200, 200, 200};
    fx_check_script(&s, kinds, at, 8);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

/* Every event's name matches its data's "type"; text deltas rebuild the text. */
Test(anthropic, events_parse_and_concatenate, .timeout = 10)
{
    const char *text = "Caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80, fin.";
    fl_chunking_kind_t kinds[] = {FL_CHUNKING_WORD, FL_CHUNKING_CHAR, FL_CHUNKING_BYTES};
    for (size_t k = 0; k < 3; k++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, text);
        sc->response.chunking = kinds[k];
        sc->response.chunk_bytes = 2;
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
        char joined[256] = "";
        for (size_t i = 0; i < s.n_events; i++) {
            char *name;
            json_t *j = fx_event_json(&s, i, &name);
            cr_assert_not_null(j, "event %zu is not JSON", i);
            cr_assert_not_null(name);
            cr_assert_str_eq(json_string_value(json_object_get(j, "type")), name);
            if (s.events[i].kind == FL_EVENT_CONTENT) {
                json_t *d = json_object_get(j, "delta");
                cr_assert_str_eq(json_string_value(json_object_get(d, "type")), "text_delta");
                strcat(joined, json_string_value(json_object_get(d, "text")));
            }
            free(name);
            json_decref(j);
        }
        cr_assert_str_eq(joined, text);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

Test(anthropic, stop_reasons, .timeout = 10)
{
    const char *names[] = {"end_turn", "max_tokens", "tool_use", "refusal"};
    fl_finish_t f[] = {FL_FINISH_STOP, FL_FINISH_LENGTH, FL_FINISH_TOOL_CALLS,
                       FL_FINISH_CONTENT_FILTER};
    for (size_t i = 0; i < 4; i++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, "x");
        sc->response.finish_reason = f[i];
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
        json_t *j = fx_event_json(&s, s.n_events - 2, NULL);
        cr_assert_str_eq(
            json_string_value(json_object_get(json_object_get(j, "delta"), "stop_reason")),
            names[i]);
        json_decref(j);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

Test(anthropic, bodies, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, "Hello, world!");
    sc->response.input_tokens = 12;
    fl_encode_ctx_t ctx = fx_ctx();
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(b.data,
                     "{\"id\":\"msg_abc123\",\"type\":\"message\",\"role\":\"assistant\","
                     "\"content\":[{\"type\":\"text\",\"text\":\"Hello, world!\"}],\"model\":"
                     "\"test-model\",\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                     "\"usage\":{\"input_tokens\":12,\"output_tokens\":2}}");
    fl_buf_close(&b);
    fx_scenario_free(sc);

    sc = fx_scenario_tool(FL_DIALECT_ANTHROPIC_MESSAGES, "get_weather", "{\"city\":\"Paris\"}",
                          NULL);
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(b.data,
                     "{\"id\":\"msg_abc123\",\"type\":\"message\",\"role\":\"assistant\","
                     "\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_abc123\",\"name\":"
                     "\"get_weather\",\"input\":{\"city\":\"Paris\"}}],\"model\":\"test-model\","
                     "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{"
                     "\"input_tokens\":5,\"output_tokens\":3}}");
    fl_buf_close(&b);

    /* Arguments that are not JSON cannot become `input`. */
    fx_assert_body_refuses_arguments(sc, "{not json");
    fx_scenario_free(sc);
}

Test(anthropic, errors, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(
        fl_dialect_encode_error_body(FL_DIALECT_ANTHROPIC_MESSAGES, FL_ERR_OVERLOADED, NULL, &b),
        0);
    cr_assert_str_eq(b.data,
                     "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
                     "\"Overloaded\"}}");
    fl_buf_close(&b);

    fl_buf_init(&b);
    fl_encode_ctx_t ctx = fx_ctx();
    cr_assert_eq(fl_dialect_encode_error_event(FL_DIALECT_ANTHROPIC_MESSAGES, FL_ERR_RATE_LIMIT,
                                               "slow down", &ctx, &b),
                 0);
    cr_assert_str_eq(b.data, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                             "\"rate_limit_error\",\"message\":\"slow down\"}}\n\n");
    fl_buf_close(&b);

    const char *types[] = {
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
        "request_too_large",     "rate_limit_error",     "api_error",        "overloaded_error",
        "timeout_error"};
    for (int cls = FL_ERR_INVALID_REQUEST; cls <= FL_ERR_TIMEOUT; cls++) {
        fl_buf_init(&b);
        cr_assert_eq(fl_dialect_encode_error_body(FL_DIALECT_ANTHROPIC_MESSAGES,
                                                  (fl_error_class_t)cls, NULL, &b),
                     0);
        json_t *j = json_loads(b.data, 0, NULL);
        cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "error");
        json_t *e = json_object_get(j, "error");
        cr_assert_str_eq(json_string_value(json_object_get(e, "type")), types[cls]);
        cr_assert(strlen(json_string_value(json_object_get(e, "message"))) > 0);
        json_decref(j);
        fl_buf_close(&b);
    }
}

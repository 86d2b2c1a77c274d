/* openai-responses encoder: golden bytes, sequence numbers, kinds and times, bodies, errors. */
#include "encode/dialect.h"
#include "dialect_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define EV(name, seq, rest)                                                                        \
    "event: " name "\ndata: {\"type\":\"" name "\",\"sequence_number\":" seq "," rest "}\n\n"
#define RESP(status, details, output, usage)                                                       \
    "{\"id\":\"resp_abc123\",\"object\":\"response\",\"created_at\":1700000000,\"status\":"        \
    "\"" status "\",\"error\":null,\"incomplete_details\":" details ",\"model\":\"test-model\","   \
    "\"output\":" output ",\"usage\":" usage "}"
#define USAGE(in, out, total)                                                                      \
    "{\"input_tokens\":" in                                                                        \
    ",\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":" out                       \
    ",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":" total "}"
#define IDX "\"item_id\":\"msg_abc123\",\"output_index\":0,\"content_index\":0,"
#define MSG_ITEM(status, content)                                                                  \
    "{\"id\":\"msg_abc123\",\"type\":\"message\",\"status\":\"" status "\",\"content\":" content   \
    ",\"role\":\"assistant\"}"
#define TEXT_PART(t) "{\"type\":\"output_text\",\"annotations\":[],\"text\":\"" t "\"}"

static const char golden_text[] = EV("response.created", "0",
                                     "\"response\":" RESP("in_progress", "null", "[]", "null"))
    EV("response.in_progress", "1", "\"response\":" RESP("in_progress", "null", "[]", "null")) EV(
        "response.output_item.added", "2",
        "\"output_index\":0,\"item\":" MSG_ITEM("in_progress", "[]"))
        EV("response.content_part.added", "3", IDX "\"part\":" TEXT_PART("")) EV(
            "response.output_text.delta", "4", IDX "\"delta\":\"Hello,\",\"logprobs\":[]")
            EV("response.output_text.delta", "5", IDX "\"delta\":\" world!\",\"logprobs\":[]") EV(
                "response.output_text.done", "6", IDX "\"text\":\"Hello, world!\",\"logprobs\":[]")
                EV("response.content_part.done", "7", IDX "\"part\":" TEXT_PART("Hello, world!"))
                    EV("response.output_item.done", "8",
                       "\"output_index\":0,\"item\":" MSG_ITEM("completed",
                                                               "[" TEXT_PART("Hello, world!") "]"))
                        EV("response.completed", "9",
                           "\"response\":" RESP(
                               "completed", "null",
                               "[" MSG_ITEM("completed", "[" TEXT_PART("Hello, world!") "]") "]",
                               USAGE("5", "2", "7")));

Test(openai_responses, golden_text_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, "Hello, world!");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, golden_text);
    fl_event_kind_t kinds[] = {FL_EVENT_META,    FL_EVENT_META,    FL_EVENT_META, FL_EVENT_META,
                               FL_EVENT_CONTENT, FL_EVENT_CONTENT, FL_EVENT_META, FL_EVENT_META,
                               FL_EVENT_META,    FL_EVENT_SENTINEL};
    uint64_t at[] = {0, 0, 0, 0, 100, 150, 150, 150, 150, 150};
    fx_check_script(&s, kinds, at, 10);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

#define FC_ITEM(status, args)                                                                      \
    "{\"id\":\"fc_abc123\",\"type\":\"function_call\",\"status\":\"" status                        \
    "\",\"arguments\":\"" args "\",\"call_id\":\"call_1\",\"name\":\"get_weather\"}"
#define ARGS "{\\\"city\\\":\\\"Paris\\\"}"

static const char golden_tool[] =
    EV("response.created", "0", "\"response\":" RESP("in_progress", "null", "[]", "null"))
        EV("response.in_progress", "1", "\"response\":" RESP("in_progress", "null", "[]", "null"))
            EV("response.output_item.added", "2",
               "\"output_index\":0,\"item\":" FC_ITEM("in_progress", ""))
                EV("response.function_call_arguments.delta", "3",
                   "\"item_id\":\"fc_abc123\",\"output_index\":0,\"delta\":\"{\\\"city\\\":\"")
                    EV("response.function_call_arguments.delta", "4",
                       "\"item_id\":\"fc_abc123\",\"output_index\":0,\"delta\":\"\\\"Paris\\\"}\"")
                        EV("response.function_call_arguments.done", "5",
                           "\"item_id\":\"fc_abc123\",\"output_index\":0,\"arguments\":\"" ARGS
                           "\"") EV("response.output_item.done", "6",
                                    "\"output_index\":0,\"item\":" FC_ITEM("completed", ARGS))
                            EV("response.completed", "7",
                               "\"response\":" RESP("completed", "null",
                                                    "[" FC_ITEM("completed", ARGS) "]",
                                                    USAGE("5", "3", "8")));

Test(openai_responses, golden_tool_stream, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_tool(FL_DIALECT_OPENAI_RESPONSES, "get_weather",
                                         "{\"city\":\"Paris\"}", "call_1");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, golden_tool);
    fl_event_kind_t kinds[] = {FL_EVENT_META,    FL_EVENT_META,    FL_EVENT_CONTENT,
                               FL_EVENT_CONTENT, FL_EVENT_CONTENT, FL_EVENT_META,
                               FL_EVENT_META,    FL_EVENT_SENTINEL};
    uint64_t at[] = {0, 0, 100, 150, 200, 200, 200, 200};
    fx_check_script(&s, kinds, at, 8);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

/* type matches the event name, sequence numbers are 0.. consecutive, deltas rebuild text. */
Test(openai_responses, events_parse_and_concatenate, .timeout = 10)
{
    const char *text = "Caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 fin.";
    fl_chunking_kind_t kinds[] = {FL_CHUNKING_WORD, FL_CHUNKING_CHAR, FL_CHUNKING_BYTES};
    for (size_t k = 0; k < 3; k++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, text);
        sc->response.chunking = kinds[k];
        sc->response.chunk_bytes = 4;
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
        char joined[256] = "";
        for (size_t i = 0; i < s.n_events; i++) {
            char *name;
            json_t *j = fx_event_json(&s, i, &name);
            cr_assert_not_null(j, "event %zu is not JSON", i);
            cr_assert_str_eq(json_string_value(json_object_get(j, "type")), name);
            cr_assert_eq(json_integer_value(json_object_get(j, "sequence_number")), (json_int_t)i);
            if (s.events[i].kind == FL_EVENT_CONTENT)
                strcat(joined, json_string_value(json_object_get(j, "delta")));
            free(name);
            json_decref(j);
        }
        cr_assert_str_eq(joined, text);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

Test(openai_responses, length_is_incomplete, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, "cut");
    sc->response.finish_reason = FL_FINISH_LENGTH;
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    char *name;
    json_t *j = fx_event_json(&s, s.n_events - 1, &name);
    cr_assert_str_eq(name, "response.completed");
    json_t *r = json_object_get(j, "response");
    cr_assert_str_eq(json_string_value(json_object_get(r, "status")), "incomplete");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r, "incomplete_details"), "reason")),
        "max_output_tokens");
    free(name);
    json_decref(j);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(openai_responses, bodies, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, "Hello, world!");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(b.data, RESP("completed", "null",
                                  "[" MSG_ITEM("completed", "[" TEXT_PART("Hello, world!") "]") "]",
                                  USAGE("5", "2", "7")));
    fl_buf_close(&b);
    fx_scenario_free(sc);

    sc = fx_scenario_tool(FL_DIALECT_OPENAI_RESPONSES, "get_weather", "{\"city\":\"Paris\"}",
                          "call_1");
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
    cr_assert_str_eq(b.data, RESP("completed", "null", "[" FC_ITEM("completed", ARGS) "]",
                                  USAGE("5", "3", "8")));
    fl_buf_close(&b);
    fx_scenario_free(sc);
}

Test(openai_responses, error_event, .timeout = 10)
{
    fl_encode_ctx_t ctx = fx_ctx();
    ctx.sequence_number = 7;
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(
        fl_dialect_encode_error_event(FL_DIALECT_OPENAI_RESPONSES, FL_ERR_SERVER, "boom", &ctx, &b),
        0);
    cr_assert_str_eq(
        b.data,
        "event: error\ndata: {\"type\":\"error\",\"sequence_number\":7,\"code\":\"server_error\","
        "\"message\":\"boom\",\"param\":null}\n\n"
        "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":8,"
        "\"response\":{\"id\":\"resp_abc123\",\"object\":\"response\",\"created_at\":1700000000,"
        "\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"},"
        "\"incomplete_details\":null,\"output\":[],\"usage\":null}}\n\n");
    fl_buf_close(&b);

    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_error_event(FL_DIALECT_OPENAI_RESPONSES, FL_ERR_RATE_LIMIT, NULL,
                                               &ctx, &b),
                 0);
    cr_assert_not_null(strstr(b.data, "\"code\":\"rate_limit_exceeded\""));
    fl_buf_close(&b);
}

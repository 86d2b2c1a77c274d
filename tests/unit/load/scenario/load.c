/* Valid scenario files load with the values they state and the documented defaults. */
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static fl_scenario_t *load_valid(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/scenarios/valid/%s", FL_TESTDATA_DIR, name);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_file(path, &sc, &diags);
    char line[1536] = "";
    if (diags.len)
        fl_diag_format(&diags.items[0], line, sizeof(line));
    cr_assert_eq(rc, 0, "%s: rc %d, first diagnostic: %s", name, rc, line);
    cr_assert_eq(diags.len, 0, "%s: unexpected diagnostic %s", name, line);
    cr_assert_not_null(sc);
    fl_diag_list_close(&diags);
    return sc;
}

Test(scenario_load, minimal_gets_defaults)
{
    fl_scenario_t *sc = load_valid("minimal.yaml");
    cr_assert_eq(sc->version, 1);
    cr_assert_str_eq(sc->name, "minimal");
    cr_assert_str_eq(sc->description, "");
    cr_assert(strstr(sc->path, "valid/minimal.yaml") != NULL);
    cr_assert_eq(sc->dialect, FL_DIALECT_ANTHROPIC_MESSAGES);
    cr_assert_str_eq(sc->model, "claude-sonnet-4-5");
    cr_assert_str_eq(sc->prompt, "Say hello.");
    const fl_response_t *r = &sc->response;
    cr_assert_str_eq(r->text, "Hi.");
    cr_assert_null(r->chunks);
    cr_assert_null(r->tool_call);
    cr_assert_null(r->events);
    cr_assert_eq(r->chunking, FL_CHUNKING_WORD);
    cr_assert_eq(r->ttft_ms, 0);
    cr_assert_eq(r->interval_ms, 0);
    cr_assert_eq(r->jitter_ms, 0);
    cr_assert_eq(r->seed, 1);
    cr_assert_eq(r->finish_reason, FL_FINISH_STOP);
    cr_assert_eq(r->input_tokens, -1);
    cr_assert_eq(r->output_tokens, -1);
    cr_assert_eq(r->framing, FL_FRAMING_CHUNKED);
    cr_assert_null(sc->attempts);
    cr_assert_eq(sc->n_attempts, 0);
    cr_assert_eq(sc->expect.outcome, FL_OUTCOME_COMPLETE);
    cr_assert_eq(sc->expect.deadline_ms, 20000);
    cr_assert_eq(sc->expect.max_attempts, 4);
    cr_assert_eq(sc->expect.min_backoff_ms, 0);
    cr_assert(sc->expect.respect_retry_after);
    cr_assert_str_eq(fl_scenario_answer(sc), "Hi.");
    fl_scenario_free(sc);
}

Test(scenario_load, every_text_option)
{
    fl_scenario_t *sc = load_valid("full-text.yaml");
    cr_assert_str_eq(sc->description, "Every text option set away from its default.");
    cr_assert_eq(sc->dialect, FL_DIALECT_OPENAI_RESPONSES);
    cr_assert_str_eq(sc->model, "gpt-4.1");
    cr_assert_str_eq(sc->prompt, "Explain TCP.");
    const fl_response_t *r = &sc->response;
    cr_assert_str_eq(r->text, "Hello, w\xc3\xb6rld");
    cr_assert_eq(r->chunking, FL_CHUNKING_BYTES);
    cr_assert_eq(r->chunk_bytes, 3);
    cr_assert_eq(r->ttft_ms, 150);
    cr_assert_eq(r->interval_ms, 20);
    cr_assert_eq(r->jitter_ms, 25);
    cr_assert_eq(r->seed, UINT64_MAX);
    cr_assert_eq(r->finish_reason, FL_FINISH_LENGTH);
    cr_assert_eq(r->input_tokens, 12);
    cr_assert_eq(r->output_tokens, 40);
    cr_assert_eq(r->framing, FL_FRAMING_CLOSE);
    cr_assert_eq(sc->n_attempts, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_null(sc->attempts[i].faults);
        cr_assert_eq(sc->attempts[i].n_faults, 0);
    }
    cr_assert_eq(sc->expect.outcome, FL_OUTCOME_EITHER);
    cr_assert_eq(sc->expect.deadline_ms, 5000);
    cr_assert_eq(sc->expect.max_attempts, 1);
    cr_assert_eq(sc->expect.min_backoff_ms, 100);
    cr_assert_not(sc->expect.respect_retry_after);
    /* An explicit expect.answer wins over the text. */
    cr_assert_str_eq(fl_scenario_answer(sc), "Hello");
    fl_scenario_free(sc);
}

Test(scenario_load, chunks_are_joined_for_the_answer)
{
    fl_scenario_t *sc = load_valid("chunks.yaml");
    cr_assert_eq(sc->dialect, FL_DIALECT_OPENAI_CHAT);
    cr_assert_str_eq(sc->model, "gpt-4o-mini");
    cr_assert_null(sc->response.text);
    cr_assert_eq(sc->response.n_chunks, 4);
    cr_assert_str_eq(sc->response.chunks[0], "Hel");
    cr_assert_str_eq(sc->response.chunks[2], " wo");
    cr_assert_eq(sc->response.chunking, FL_CHUNKING_CHAR);
    cr_assert_str_eq(fl_scenario_answer(sc), "Hello world");
    fl_scenario_free(sc);
}

Test(scenario_load, tool_call_mapping_becomes_compact_json)
{
    fl_scenario_t *sc = load_valid("tool-call.yaml");
    const fl_tool_call_t *tc = sc->response.tool_call;
    cr_assert_not_null(tc);
    cr_assert_str_eq(tc->name, "get_weather");
    cr_assert_str_eq(tc->arguments, "{\"city\":\"Paris\",\"days\":3,\"metric\":true,"
                                    "\"tags\":[\"a\",\"1\"],\"note\":null,\"ratio\":0.5}");
    cr_assert_str_eq(tc->id, "call_get_weather");
    cr_assert_eq(sc->response.finish_reason, FL_FINISH_TOOL_CALLS);
    cr_assert_str_eq(fl_scenario_answer(sc),
                     "{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"days\":3,"
                     "\"metric\":true,\"tags\":[\"a\",\"1\"],\"note\":null,\"ratio\":0.5}}");
    fl_scenario_free(sc);
}

Test(scenario_load, tool_call_string_is_reencoded_compact)
{
    fl_scenario_t *sc = load_valid("tool-call-string.yaml");
    const fl_tool_call_t *tc = sc->response.tool_call;
    cr_assert_str_eq(tc->arguments, "{\"q\":\"tcp\",\"n\":[1,2]}");
    cr_assert_str_eq(tc->id, "call_1");
    /* An explicit finish_reason overrides the tool_calls default. */
    cr_assert_eq(sc->response.finish_reason, FL_FINISH_STOP);
    cr_assert_str_eq(fl_scenario_answer(sc), "{\"name\":\"lookup\",\"arguments\":{\"q\":\"tcp\","
                                             "\"n\":[1,2]}}");
    fl_scenario_free(sc);
}

Test(scenario_load, raw_events_as_written)
{
    fl_scenario_t *sc = load_valid("events.yaml");
    const fl_response_t *r = &sc->response;
    cr_assert_eq(r->n_events, 4);
    cr_assert_str_eq(r->events[0].event, "message_start");
    cr_assert_str_eq(r->events[0].data, "{\"type\":\"message_start\"}");
    cr_assert_str_eq(r->events[0].id, "1");
    cr_assert_eq(r->events[0].retry, 3000);
    cr_assert_null(r->events[0].raw);
    cr_assert_null(r->events[1].event);
    cr_assert_str_eq(r->events[1].data, "{\"type\":\"ping\",\"n\":1}");
    cr_assert_eq(r->events[1].retry, -1);
    cr_assert_eq(r->events[2].raw_len, 11);
    cr_assert_eq(memcmp(r->events[2].raw, ": comment\n\n", 11), 0);
    cr_assert_null(r->events[2].data);
    cr_assert_str_eq(r->events[3].data, "line one\nline two");
    cr_assert_str_eq(fl_scenario_answer(sc), "Hi");
    fl_scenario_free(sc);
}

Test(scenario_load, aliases_within_bounds_are_expanded)
{
    fl_scenario_t *sc = load_valid("anchors.yaml");
    cr_assert_str_eq(sc->response.tool_call->arguments,
                     "{\"first\":{\"x\":1,\"y\":2},\"second\":{\"x\":1,\"y\":2}}");
    fl_scenario_free(sc);
}

Test(scenario_load, from_memory_without_nul)
{
    const char yaml[] = "faultline: 1\nname: mem\ndialect: openai-chat\nresponse: {text: ok}\n"
                        "GARBAGE";
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    /* The length stops before GARBAGE, which must not be read. */
    int rc = fl_scenario_load_string("mem.yaml", yaml, sizeof(yaml) - 1 - 7, &sc, &diags);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(sc->path, "mem.yaml");
    cr_assert_str_eq(sc->response.text, "ok");
    fl_scenario_free(sc);
    fl_diag_list_close(&diags);
}

Test(scenario_load, names_round_trip)
{
    fl_dialect_t d;
    for (int i = 0; i <= FL_DIALECT_ANTHROPIC_MESSAGES; i++) {
        cr_assert_eq(fl_dialect_parse(fl_dialect_name((fl_dialect_t)i), &d), 0);
        cr_assert_eq(d, (fl_dialect_t)i);
    }
    cr_assert_eq(fl_dialect_parse("openai", &d), FL_EINVAL);
    cr_assert_str_eq(fl_finish_name(FL_FINISH_CONTENT_FILTER), "content_filter");
    cr_assert_str_eq(fl_finish_name(FL_FINISH_TOOL_CALLS), "tool_calls");
}

/*
 * The journal says how each answer ended, as sent (issue 17): the clean response's finish reason
 * in the dialect's words and its usage, and whether the events carrying them went out whole
 * (finish_sent, usage_sent). A client's structured result is judged against these.
 */
#include "e2e_server.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

static void start(void)
{
    es_start(FL_TESTDATA_DIR "/outcome");
}

TestSuite(outcome, .init = start, .fini = es_stop, .timeout = 30);

/* One streamed request of scenario on path; returns its journal entry (attempt). */
static json_t *entry_after(const char *scenario, const char *path, int attempt)
{
    es_ex_t x;
    es_run(scenario, path, 2000, 0, &x);
    es_ex_free(&x);
    json_t *e = es_entry(scenario, attempt, 2000);
    cr_assert_not_null(e, "%s: no journal entry for attempt %d", scenario, attempt);
    return e;
}

static void assert_usage(const json_t *e, long long in, long long out)
{
    const json_t *u = json_object_get(e, "usage");
    cr_assert(json_is_object(u));
    cr_assert_eq(es_int(u, "input_tokens", -2), in);
    cr_assert_eq(es_int(u, "output_tokens", -2), out);
}

Test(outcome, dropped_finish_is_not_sent)
{
    json_t *e = entry_after("outcome-drop-finish", "/v1/chat/completions", 1);
    cr_assert_str_eq(es_str(e, "finish_reason"), "stop"); /* what the clean stream carries */
    cr_assert(json_is_false(json_object_get(e, "finish_sent")));
    /* no include_usage: a chat stream carries no usage at all */
    cr_assert(json_is_null(json_object_get(e, "usage")));
    cr_assert(json_is_false(json_object_get(e, "usage_sent")));
    cr_assert_eq(strlen(es_str(e, "response_id")), 20);
    json_decref(e);
    e = entry_after("outcome-drop-finish", "/v1/chat/completions", 2);
    cr_assert(json_is_true(json_object_get(e, "finish_sent")));
    json_decref(e);
}

Test(outcome, reset_before_message_delta)
{
    json_t *e = entry_after("outcome-reset-before-finish", "/v1/messages", 1);
    cr_assert_str_eq(es_str(e, "end"), "reset");
    cr_assert_str_eq(es_str(e, "finish_reason"), "end_turn");
    cr_assert(json_is_false(json_object_get(e, "finish_sent")));
    /* output tokens ride on message_delta, which never went out */
    cr_assert(json_is_false(json_object_get(e, "usage_sent")));
    json_decref(e);
    e = entry_after("outcome-reset-before-finish", "/v1/messages", 2);
    cr_assert(json_is_true(json_object_get(e, "finish_sent")));
    cr_assert(json_is_true(json_object_get(e, "usage_sent")));
    json_decref(e);
}

Test(outcome, length_in_responses_words)
{
    json_t *e = entry_after("outcome-length", "/v1/responses", 1);
    cr_assert_str_eq(es_str(e, "finish_reason"), "incomplete");
    cr_assert(json_is_true(json_object_get(e, "finish_sent")));
    assert_usage(e, 7, 11);
    cr_assert(json_is_true(json_object_get(e, "usage_sent")));
    json_decref(e);
}

/* Gemini names its finish reason and usage in its own words, streamed and as one body: the
 * journal reads them from whichever events carry them (none is skipped as a plain content
 * event). */
Test(outcome, gemini_streamed_and_whole)
{
    json_t *e = entry_after("outcome-gemini-length",
                            "/v1beta/models/test-model:streamGenerateContent?alt=sse", 1);
    cr_assert_str_eq(es_str(e, "finish_reason"), "MAX_TOKENS");
    cr_assert(json_is_true(json_object_get(e, "finish_sent")));
    assert_usage(e, 7, 11);
    cr_assert(json_is_true(json_object_get(e, "usage_sent")));
    json_decref(e);
    e = entry_after("outcome-gemini-length", "/v1beta/models/test-model:generateContent", 2);
    cr_assert_str_eq(es_str(e, "finish_reason"), "MAX_TOKENS");
    assert_usage(e, 7, 11);
    json_decref(e);
}

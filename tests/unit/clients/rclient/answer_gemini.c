/*
 * The robust client's Gemini answer (clients/c/robust/rc_answer.c): streams through its SSE
 * parser whole, split at every offset and byte by byte, and the verdicts it reaches on each
 * chunk: text, a whole functionCall, finishReason as the end marker (there is no sentinel),
 * in-stream errors by their status, a blocked prompt, a replayed chunk, and generateContent
 * bodies.
 */
#include "rc_answer.h"
#include "rc_sse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define CHUNK(cand) "data: {\"candidates\": [" cand "],\"modelVersion\": \"m\"}\r\n\r\n"
#define TEXT(t)                                                                                    \
    "{\"content\": {\"parts\": [{\"text\": \"" t "\"}],\"role\": \"model\"},\"index\": 0}"
#define FINISH(r) "{\"content\": {\"role\": \"model\"},\"finishReason\": \"" r "\",\"index\": 0}"

/* The parser feeds the answer; the callback stops reading when the answer is done or broken,
 * as robust.c's does. */
typedef struct {
    rc_answer_t ans;
    int content; /* events that carried content */
} run_t;

static int on_event(void *ud, const rc_sse_event_t *ev)
{
    run_t *r = ud;
    int rc = rc_answer_event(&r->ans, ev);
    if (rc == 1)
        r->content++;
    return rc < 0 && r->ans.state != RC_ANS_DONE;
}

/* Feeds in: whole (piece 0), in pieces of `piece` bytes, or split once at `split`. */
static void feed(run_t *r, const char *in, size_t piece, size_t split)
{
    memset(r, 0, sizeof(*r));
    rc_answer_init(&r->ans, RC_GEMINI);
    rc_sse_t p = {0};
    rc_sse_init(&p, on_event, r);
    size_t len = strlen(in);
    if (split) {
        rc_sse_feed(&p, in, split);
        rc_sse_feed(&p, in + split, len - split);
    } else if (!piece) {
        rc_sse_feed(&p, in, len);
    } else {
        for (size_t i = 0; i < len; i += piece)
            rc_sse_feed(&p, in + i, len - i < piece ? len - i : piece);
    }
    rc_sse_finish(&p);
    rc_sse_close(&p);
}

static void expect_text(const char *in, rc_ans_state_t state, const char *text)
{
    run_t r;
    size_t len = strlen(in);
    for (size_t mode = 0; mode < len + 2; mode++) {
        /* mode 0: whole; 1: byte by byte; then split after byte mode - 1 */
        feed(&r, in, mode == 1 ? 1 : 0, mode >= 2 ? mode - 1 : 0);
        cr_assert_eq(r.ans.state, state, "mode %zu: state %d (%s)", mode, r.ans.state,
                     r.ans.reason.data ? r.ans.reason.data : "");
        cr_assert_str_eq(r.ans.text.data ? r.ans.text.data : "", text, "mode %zu", mode);
        rc_answer_close(&r.ans);
    }
}

Test(answer_gemini, text_then_finish_chunk)
{
    expect_text(CHUNK(TEXT("Hello,")) CHUNK(TEXT(" world!")) CHUNK(FINISH("STOP")), RC_ANS_DONE,
                "Hello, world!");
}

/* Captured streams end with the last words and finishReason in one chunk. */
Test(answer_gemini, last_words_with_the_finish)
{
    expect_text(CHUNK(TEXT("Captured "))
                    CHUNK("{\"content\": {\"parts\": [{\"text\": \"stream.\"}],\"role\": "
                          "\"model\"},\"finishReason\": \"MAX_TOKENS\",\"index\": 0}"),
                RC_ANS_DONE, "Captured stream.");
}

/* Without the finishReason chunk nothing says the answer is whole. */
Test(answer_gemini, no_finish_reason_is_partial)
{
    expect_text(CHUNK(TEXT("Hello,")) CHUNK(TEXT(" world!")), RC_ANS_PARTIAL, "Hello, world!");
}

Test(answer_gemini, function_call_whole)
{
    run_t r;
    feed(&r,
         CHUNK("{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": "
               "{\"city\": \"Paris\",\"days\": 3}}}],\"role\": \"model\"},\"index\": 0}")
             CHUNK(FINISH("STOP")),
         0, 0);
    cr_assert_eq(r.ans.state, RC_ANS_DONE);
    cr_assert_eq(r.content, 1);
    rc_buf_t out = {0};
    cr_assert_eq(rc_answer_format(&r.ans, &out), 0);
    cr_assert_str_eq(out.data,
                     "{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"days\":3}}");
    rc_buf_free(&out);
    rc_answer_close(&r.ans);
}

/* {"error": ...} on the 200 stream: transient or not by its status. */
Test(answer_gemini, in_stream_errors)
{
    struct {
        const char *status;
        int code, retryable;
    } cases[] = {{"UNAVAILABLE", 503, 1},      {"RESOURCE_EXHAUSTED", 429, 1},
                 {"INTERNAL", 500, 1},         {"DEADLINE_EXCEEDED", 504, 1},
                 {"INVALID_ARGUMENT", 400, 0}, {"PERMISSION_DENIED", 403, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[512];
        snprintf(in, sizeof(in),
                 CHUNK(TEXT("Half")) "data: {\"error\": {\"code\": %d,\"message\": \"m\","
                                     "\"status\": \"%s\"}}\r\n\r\n",
                 cases[i].code, cases[i].status);
        run_t r;
        feed(&r, in, 0, 0);
        cr_assert_eq(r.ans.state, RC_ANS_ERROR, "%s", cases[i].status);
        cr_assert_eq(r.ans.retryable, cases[i].retryable, "%s", cases[i].status);
        cr_assert(strstr(r.ans.reason.data, cases[i].status), "%s", r.ans.reason.data);
        rc_answer_close(&r.ans);
    }
}

Test(answer_gemini, blocked_prompt_is_not_retried)
{
    run_t r;
    feed(&r,
         "data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"},\"usageMetadata\": "
         "{\"promptTokenCount\": 4}}\r\n\r\n",
         0, 0);
    cr_assert_eq(r.ans.state, RC_ANS_ERROR);
    cr_assert_eq(r.ans.retryable, 0);
    rc_answer_close(&r.ans);
}

Test(answer_gemini, broken_streams)
{
    run_t r;
    feed(&r, CHUNK(TEXT("Hello,")) "data: {\"candidates\": [{\"con\r\n\r\n", 0, 0);
    cr_assert_eq(r.ans.state, RC_ANS_BROKEN);
    cr_assert_eq(r.ans.retryable, 1);
    rc_answer_close(&r.ans);
    /* the same chunk twice in a row is a replay */
    feed(&r, CHUNK(TEXT("Hello,")) CHUNK(TEXT("Hello,")) CHUNK(FINISH("STOP")), 0, 0);
    cr_assert_eq(r.ans.state, RC_ANS_BROKEN);
    rc_answer_close(&r.ans);
}

Test(answer_gemini, bodies)
{
    rc_answer_t a = {0};
    static const char ok[] =
        "{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n          {\n"
        "            \"text\": \"Hello\"\n          }\n        ],\n        \"role\": \"model\"\n"
        "      },\n      \"finishReason\": \"STOP\",\n      \"index\": 0\n    }\n  ]\n}\n";
    rc_answer_init(&a, RC_GEMINI);
    cr_assert_eq(rc_answer_body(&a, ok, strlen(ok)), 0);
    cr_assert_eq(a.state, RC_ANS_DONE);
    cr_assert_str_eq(a.text.data, "Hello");

    static const char unfinished[] =
        "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}]},\"index\": 0}]}";
    rc_answer_init(&a, RC_GEMINI);
    cr_assert_eq(rc_answer_body(&a, unfinished, strlen(unfinished)), -1);
    cr_assert_eq(a.state, RC_ANS_BROKEN);

    static const char err[] = "{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The model "
                              "is overloaded.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";
    rc_answer_init(&a, RC_GEMINI);
    cr_assert_eq(rc_answer_body(&a, err, strlen(err)), -1);
    cr_assert_eq(a.state, RC_ANS_ERROR);
    cr_assert_eq(a.retryable, 1);
    cr_assert(strstr(a.reason.data, "503 UNAVAILABLE"), "%s", a.reason.data);
    rc_answer_close(&a);
}

/* What all dialects share: the timeline, raw events, usage counting, names and pings. */
#include "encode/dialect.h"
#include "dialect_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const fl_dialect_t all[] = {FL_DIALECT_OPENAI_CHAT, FL_DIALECT_OPENAI_RESPONSES,
                                   FL_DIALECT_ANTHROPIC_MESSAGES};

/* The at_ms of the content events of a 20-word answer. */
static size_t content_times(fl_dialect_t d, uint64_t seed, uint64_t jitter, uint64_t *at,
                            size_t max)
{
    fl_scenario_t *sc =
        fx_scenario_text(d, "one two three four five six seven eight nine ten a b c d e f g h i j");
    sc->response.ttft_ms = 300;
    sc->response.interval_ms = 20;
    sc->response.jitter_ms = jitter;
    sc->response.seed = seed;
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    size_t n = 0;
    uint64_t last_content = 0;
    for (size_t i = 0; i < s.n_events; i++) {
        if (s.events[i].kind == FL_EVENT_CONTENT && n < max)
            at[n++] = last_content = s.events[i].at_ms;
        else if (n == 0)
            cr_assert_eq(s.events[i].at_ms, 0, "pre-content event %zu", i);
        else
            cr_assert_eq(s.events[i].at_ms, last_content, "post-content event %zu", i);
    }
    fl_script_close(&s);
    fx_scenario_free(sc);
    return n;
}

Test(timeline, ttft_interval_jitter_seeded, .timeout = 10)
{
    for (size_t d = 0; d < 3; d++) {
        uint64_t a[32], b[32], c[32];
        size_t n = content_times(all[d], 99, 15, a, 32);
        cr_assert_eq(n, 20);
        cr_assert_eq(content_times(all[d], 99, 15, b, 32), 20);
        cr_assert_eq(content_times(all[d], 100, 15, c, 32), 20);
        cr_assert_eq(a[0], 300);
        cr_assert_eq(memcmp(a, b, sizeof(uint64_t) * 20), 0, "same seed, other times");
        cr_assert_neq(memcmp(a, c, sizeof(uint64_t) * 20), 0, "other seed, same times");
        int varied = 0;
        for (size_t i = 1; i < n; i++) {
            uint64_t k = a[i] - a[i - 1];
            cr_assert(k >= 5 && k <= 35, "interval %llu out of [5, 35]", (unsigned long long)k);
            varied += k != 20;
        }
        cr_assert_gt(varied, 0);
        /* The same seed gives the same times in every dialect. */
        uint64_t z[32];
        content_times(all[0], 99, 15, z, 32);
        cr_assert_eq(memcmp(a, z, sizeof(uint64_t) * 20), 0);
    }
}

Test(timeline, no_jitter_is_exact_and_clamps_at_zero, .timeout = 10)
{
    uint64_t a[32];
    size_t n = content_times(FL_DIALECT_OPENAI_CHAT, 5, 0, a, 32);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(a[i], 300 + 20 * i);
    /* Jitter larger than the interval: intervals never go negative. */
    n = content_times(FL_DIALECT_OPENAI_CHAT, 5, 1000, a, 32);
    int zero = 0;
    for (size_t i = 1; i < n; i++) {
        cr_assert_geq(a[i], a[i - 1]);
        cr_assert_leq(a[i] - a[i - 1], 1020);
        zero += a[i] == a[i - 1];
    }
    cr_assert_gt(zero, 0);
}

Test(timeline, empty_answer_ends_at_ttft, .timeout = 10)
{
    for (size_t d = 0; d < 3; d++) {
        fl_scenario_t *sc = fx_scenario_text(all[d], "");
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
        cr_assert_eq(s.events[s.n_events - 1].kind, FL_EVENT_SENTINEL);
        cr_assert_eq(s.events[s.n_events - 1].at_ms, 100);
        for (size_t i = 0; i < s.n_events; i++)
            cr_assert_neq(s.events[i].kind, FL_EVENT_CONTENT);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

Test(raw, events_verbatim_and_encoded, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, "unused");
    fl_raw_event_t *ev = calloc(3, sizeof(*ev));
    ev[0].raw = strdup("data: half");
    ev[0].raw_len = 10;
    ev[0].retry = -1;
    ev[1].event = strdup("custom");
    ev[1].data = strdup("l1\nl2");
    ev[1].id = strdup("9");
    ev[1].retry = 250;
    ev[2].data = strdup("{}");
    ev[2].retry = -1;
    sc->response.events = ev;
    sc->response.n_events = 3;
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_str_eq(s.bytes.data, "data: half"
                                   "id: 9\nevent: custom\nretry: 250\ndata: l1\ndata: l2\n\n"
                                   "data: {}\n\n");
    cr_assert_eq(s.n_events, 3);
    uint64_t at[] = {100, 150, 200};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(s.events[i].kind, FL_EVENT_RAW);
        cr_assert_eq(s.events[i].at_ms, at[i]);
    }
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), FL_EDIALECT);
    cr_assert_eq(b.len, 0);
    fl_buf_close(&b);

    /* An event name with a line break cannot be encoded: the script is left empty. */
    free(ev[1].event);
    ev[1].event = strdup("bad\nname");
    fl_script_close(&s);
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), FL_EINVAL);
    cr_assert_eq(s.n_events, 0);
    cr_assert_eq(s.bytes.len, 0);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(usage, input_tokens_from_prompt, .timeout = 10)
{
    const char *prompts[] = {"Say hello to the world", "  spaced\tout\nwords  ", "", NULL};
    json_int_t want[] = {5, 3, 1, 1};
    for (size_t i = 0; i < 4; i++) {
        fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_ANTHROPIC_MESSAGES, "x");
        free(sc->prompt);
        sc->prompt = prompts[i] ? strdup(prompts[i]) : NULL;
        fl_encode_ctx_t ctx = fx_ctx();
        fl_buf_t b;
        fl_buf_init(&b);
        cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), 0);
        json_t *j = json_loads(b.data, 0, NULL);
        json_t *u = json_object_get(j, "usage");
        cr_assert_eq(json_integer_value(json_object_get(u, "input_tokens")), want[i], "%zu", i);
        json_decref(j);
        fl_buf_close(&b);
        fx_scenario_free(sc);
    }
}

Test(chunks, exact_chunks_are_content_events, .timeout = 10)
{
    const char *chunks[] = {"He", "", "llo \xe4\xb8\xad"};
    fl_scenario_t *sc = fx_scenario_chunks(FL_DIALECT_OPENAI_CHAT, chunks, 3);
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    size_t n = 0;
    for (size_t i = 0; i < s.n_events; i++) {
        if (s.events[i].kind != FL_EVENT_CONTENT)
            continue;
        json_t *j = fx_event_json(&s, i, NULL);
        json_t *c = json_object_get(
            json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"), "content");
        cr_assert_str_eq(json_string_value(c), chunks[n]);
        n++;
        json_decref(j);
    }
    cr_assert_eq(n, 3);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

Test(names, sentinel_path_ping, .timeout = 10)
{
    cr_assert_str_eq(fl_dialect_sentinel_name(FL_DIALECT_OPENAI_CHAT), "[DONE]");
    cr_assert_str_eq(fl_dialect_sentinel_name(FL_DIALECT_OPENAI_RESPONSES), "response.completed");
    cr_assert_str_eq(fl_dialect_sentinel_name(FL_DIALECT_ANTHROPIC_MESSAGES), "message_stop");
    cr_assert_str_eq(fl_dialect_path(FL_DIALECT_OPENAI_CHAT), "/v1/chat/completions");
    cr_assert_str_eq(fl_dialect_path(FL_DIALECT_OPENAI_RESPONSES), "/v1/responses");
    cr_assert_str_eq(fl_dialect_path(FL_DIALECT_ANTHROPIC_MESSAGES), "/v1/messages");
    const char *ping[] = {": ping\n\n", ": ping\n\n",
                          "event: ping\ndata: {\"type\": \"ping\"}\n\n"};
    for (size_t d = 0; d < 3; d++) {
        fl_buf_t b;
        fl_buf_init(&b);
        cr_assert_eq(fl_dialect_encode_ping(all[d], &b), 0);
        cr_assert_str_eq(b.data, ping[d]);
        fl_buf_close(&b);
    }
}

Test(names, error_class_for_status, .timeout = 10)
{
    struct {
        int status;
        fl_error_class_t cls;
    } cases[] = {{400, FL_ERR_INVALID_REQUEST}, {401, FL_ERR_AUTHENTICATION},
                 {403, FL_ERR_PERMISSION},      {404, FL_ERR_NOT_FOUND},
                 {408, FL_ERR_TIMEOUT},         {413, FL_ERR_REQUEST_TOO_LARGE},
                 {422, FL_ERR_INVALID_REQUEST}, {429, FL_ERR_RATE_LIMIT},
                 {500, FL_ERR_SERVER},          {502, FL_ERR_SERVER},
                 {503, FL_ERR_OVERLOADED},      {504, FL_ERR_TIMEOUT},
                 {529, FL_ERR_OVERLOADED}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(fl_fault_error_class_for_status(cases[i].status), cases[i].cls, "%d",
                     cases[i].status);
}

Test(text, invalid_utf8_is_refused, .timeout = 10)
{
    for (size_t d = 0; d < 3; d++) {
        fl_scenario_t *sc = fx_scenario_text(all[d], "bad \xff byte");
        fl_encode_ctx_t ctx = fx_ctx();
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), FL_EINVAL);
        cr_assert_eq(s.n_events, 0);
        fl_buf_t b;
        fl_buf_init(&b);
        cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), FL_EINVAL);
        fl_buf_close(&b);
        fl_script_close(&s);
        fx_scenario_free(sc);
    }
}

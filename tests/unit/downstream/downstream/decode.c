/* The downstream decoders (harness/downstream): each format's bodies, fed whole, then split in
 * two at every byte, then one byte at a time; every way must give the same text, end and
 * error. */
#include "base/error.h"
#include "downstream/downstream.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *label;
    fl_downstream_format_t format;
    const char *body;
    bool clean;       /* the transport ended cleanly */
    const char *text; /* the decoded answer */
    bool done, error, malformed;
    const char *error_msg; /* NULL: not checked */
} dcase_t;

static const dcase_t cases[] = {
    {"chat whole", FL_DOWNSTREAM_OPENAI_CHAT,
     "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
     "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
     ": keep-alive\n\n"
     "data: {\"choices\":[{\"delta\":{\"content\":\"lo \\u00e9\"}}]}\r\n\r\n"
     "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
     "data: [DONE]\n\n",
     true, "Hello \xc3\xa9", true, false, false, NULL},
    {"chat no [DONE]", FL_DOWNSTREAM_OPENAI_CHAT,
     "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n", true, "Hi", false, false, false,
     NULL},
    {"chat error event", FL_DOWNSTREAM_OPENAI_CHAT,
     "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
     "data: {\"error\":{\"message\":\"server had an error\",\"type\":\"server_error\"}}\n\n",
     true, "Hi", false, true, false, "server had an error"},
    {"chat event cut at the end is discarded", FL_DOWNSTREAM_OPENAI_CHAT,
     "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]", false, "Hi", false,
     false, false, NULL},
    {"chat malformed", FL_DOWNSTREAM_OPENAI_CHAT, "data: {\"choices\":\n\ndata: [DONE]\n\n", true,
     "", true, false, true, NULL},
    {"responses", FL_DOWNSTREAM_OPENAI_RESPONSES,
     "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
     "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
     "\"delta\":\"Hello\"}\n\n"
     "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n",
     true, "Hello", true, false, false, NULL},
    {"responses failed", FL_DOWNSTREAM_OPENAI_RESPONSES,
     "data: {\"type\":\"response.output_text.delta\",\"delta\":\"He\"}\n\n"
     "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"message\":\"boom\"}}}\n\n",
     true, "He", false, true, false, "boom"},
    {"anthropic CR endings", FL_DOWNSTREAM_ANTHROPIC_MESSAGES,
     "event: message_start\rdata: {\"type\":\"message_start\"}\r\r"
     "event: ping\rdata: {\"type\": \"ping\"}\r\r"
     "event: content_block_delta\rdata: {\"type\":\"content_block_delta\",\"index\":0,"
     "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi there\"}}\r\r"
     "event: message_stop\rdata: {\"type\":\"message_stop\"}\r\r",
     true, "Hi there", true, false, false, NULL},
    {"anthropic error", FL_DOWNSTREAM_ANTHROPIC_MESSAGES,
     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
     "\"message\":\"Overloaded\"}}\n\n",
     true, "", false, true, false, "Overloaded"},
    {"text clean", FL_DOWNSTREAM_TEXT, "Hello, \nworld.", true, "Hello, \nworld.", true, false,
     false, NULL},
    {"text aborted", FL_DOWNSTREAM_TEXT, "Hello, ", false, "Hello, ", false, false, false, NULL},
    {"ndjson", FL_DOWNSTREAM_NDJSON, "{\"text\":\"Hel\"}\n\n{\"text\":\"lo\"}\r\n{\"done\":true}",
     true, "Hello", true, false, false, NULL},
    {"ndjson error", FL_DOWNSTREAM_NDJSON, "{\"text\":\"Hel\"}\n{\"error\":\"upstream reset\"}\n",
     true, "Hel", false, true, false, "upstream reset"},
    {"ndjson error object", FL_DOWNSTREAM_NDJSON, "{\"error\":{\"message\":\"m\",\"code\":1}}\n",
     true, "", false, true, false, "m"},
    {"ai-sdk-ui", FL_DOWNSTREAM_AI_SDK_UI,
     "data: {\"type\":\"start\"}\n\ndata: {\"type\":\"start-step\"}\n\n"
     "data: {\"type\":\"text-start\",\"id\":\"0\"}\n\n"
     "data: {\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\"Hello\"}\n\n"
     ": ping\n\n"
     "data: {\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\", world.\"}\n\n"
     "data: {\"type\":\"text-end\",\"id\":\"0\"}\n\ndata: {\"type\":\"finish-step\"}\n\n"
     "data: {\"type\":\"finish\"}\n\ndata: [DONE]\n\n",
     true, "Hello, world.", true, false, false, NULL},
    {"ai-sdk-ui error part", FL_DOWNSTREAM_AI_SDK_UI,
     "data: {\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\"Hel\"}\n\n"
     "data: {\"type\":\"error\",\"errorText\":\"Failed after 3 attempts.\"}\n\n"
     "data: [DONE]\n\n",
     true, "Hel", false, true, false, "Failed after 3 attempts."},
    {"ai-sdk-ui no finish", FL_DOWNSTREAM_AI_SDK_UI,
     "data: {\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\"Hel\"}\n\ndata: [DONE]\n\n", true,
     "Hel", false, false, false, NULL},
    {"ai-sdk-ui text after finish ignored", FL_DOWNSTREAM_AI_SDK_UI,
     "data: {\"type\":\"finish\"}\n\n"
     "data: {\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\"late\"}\n\n",
     true, "", true, false, false, NULL},
};

/* Feeds body cut at the given points (sorted, within the body; n_cuts of them). */
static void decode(const dcase_t *c, const size_t *cuts, size_t n_cuts, fl_downstream_t *d)
{
    fl_downstream_init(d, c->format);
    size_t len = strlen(c->body), from = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : len;
        cr_assert_eq(fl_downstream_feed(d, c->body + from, to - from), 0);
        from = to;
    }
    fl_downstream_finish(d, c->clean);
}

static void check(const dcase_t *c, const fl_downstream_t *d, const char *how)
{
    size_t n = strlen(c->text);
    cr_assert_eq(d->text.len, n, "%s, %s: text of %zu bytes, expected %zu", c->label, how,
                 d->text.len, n);
    cr_assert(n == 0 || memcmp(d->text.data, c->text, n) == 0, "%s, %s: text differs", c->label,
              how);
    cr_assert_eq(d->done, c->done, "%s, %s: done %d", c->label, how, d->done);
    cr_assert_eq(d->error, c->error, "%s, %s: error %d", c->label, how, d->error);
    cr_assert_eq(d->malformed, c->malformed, "%s, %s: malformed %d", c->label, how, d->malformed);
    if (c->error_msg)
        cr_assert_str_eq(d->error_msg, c->error_msg, "%s, %s", c->label, how);
}

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Criterion copies parameters between processes; an index into the table is the safe size. */
ParameterizedTestParameters(downstream, every_split)
{
    static size_t idx[N_CASES];
    for (size_t i = 0; i < N_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_CASES);
}

ParameterizedTest(size_t *ci, downstream, every_split, .timeout = 30)
{
    const dcase_t *c = &cases[*ci];
    fl_downstream_t d;
    decode(c, NULL, 0, &d);
    check(c, &d, "whole");
    fl_downstream_close(&d);
    size_t len = strlen(c->body);
    for (size_t at = 1; at < len; at++) {
        char how[32];
        snprintf(how, sizeof(how), "split at %zu", at);
        decode(c, &at, 1, &d);
        check(c, &d, how);
        fl_downstream_close(&d);
    }
    size_t *bytes = malloc(len * sizeof(*bytes));
    cr_assert(bytes);
    for (size_t i = 0; i + 1 < len; i++)
        bytes[i] = i + 1;
    decode(c, bytes, len ? len - 1 : 0, &d);
    check(c, &d, "byte by byte");
    fl_downstream_close(&d);
    free(bytes);
}

Test(downstream, formats_round_trip)
{
    for (unsigned f = 0; f < FL_DOWNSTREAM_COUNT; f++) {
        fl_downstream_format_t got;
        cr_assert_eq(fl_downstream_format_parse(fl_downstream_format_name(f), &got), 0);
        cr_assert_eq(got, f);
        cr_assert(strstr(fl_downstream_default_request(f), "{prompt}"));
    }
    fl_downstream_format_t got;
    cr_assert_eq(fl_downstream_format_parse("sse", &got), FL_EINVAL);
}

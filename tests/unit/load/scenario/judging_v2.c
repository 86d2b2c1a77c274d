/*
 * The format additions of issue 17, read by the loader: response status, headers and path,
 * a per-attempt response, resume and expect.resume, and the faults drop and replace; each
 * refused form with the exact first diagnostic a user sees.
 */
#include "load/load.h"
#include "model/fault.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#define HEAD "faultline: 1\nname: s\n"

static fl_scenario_t *load_ok(const char *yaml)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("t.yaml", yaml, strlen(yaml), &sc, &d);
    char buf[1024];
    cr_assert_eq(rc, 0, "%s", d.len ? fl_diag_format(&d.items[0], buf, sizeof(buf)) : "?");
    fl_diag_list_close(&d);
    return sc;
}

Test(judging_v2, response_status_headers_path)
{
    fl_scenario_t *sc = load_ok(HEAD "dialect: openai-chat\n"
                                     "response:\n"
                                     "  text: hi\n"
                                     "  status: 203\n"
                                     "  path: /api/v1/chat/completions\n"
                                     "  headers:\n"
                                     "    Content-Type: text/event-stream; charset=UTF-8\n"
                                     "    x-empty: ''\n");
    cr_assert_eq(sc->response.status, 203);
    cr_assert_str_eq(sc->response.path, "/api/v1/chat/completions");
    cr_assert_eq(sc->response.n_headers, 2);
    cr_assert_str_eq(sc->response.headers[0].name, "content-type"); /* lower-cased */
    cr_assert_str_eq(sc->response.headers[0].value, "text/event-stream; charset=UTF-8");
    cr_assert_str_eq(sc->response.headers[1].value, "");
    fl_scenario_free(sc);
}

Test(judging_v2, attempt_response_resume_drop_replace)
{
    fl_scenario_t *sc = load_ok(HEAD "dialect: openai-responses\n"
                                     "resume: true\n"
                                     "response: {text: one two three}\n"
                                     "attempts:\n"
                                     "  - response: {chunks: [a, b], status: 201}\n"
                                     "    faults: [{drop: {at: {event: 2}}}]\n"
                                     "  - faults:\n"
                                     "      - replace: {at: {content: 1}, data: {type: x}}\n"
                                     "      - replace: {data: \"l1\\nl2\"}\n"
                                     "      - drop\n"
                                     "expect: {resume: required}\n");
    cr_assert(sc->resume);
    cr_assert_eq(sc->expect.resume, FL_RESUME_REQUIRED);
    cr_assert_eq(sc->n_attempts, 2);
    const fl_response_t *r = sc->attempts[0].response;
    cr_assert_not_null(r);
    cr_assert_eq(r->n_chunks, 2);
    cr_assert_eq(r->status, 201);
    cr_assert_null(sc->attempts[1].response);
    cr_assert_eq(sc->attempts[0].faults[0].kind, FL_FAULT_DROP);
    const fl_fault_t *f = sc->attempts[1].faults;
    cr_assert_eq(f[0].kind, FL_FAULT_REPLACE);
    cr_assert_str_eq(f[0].inject, "{\"type\":\"x\"}");
    cr_assert_eq(f[0].at.kind, FL_AT_CONTENT);
    cr_assert_str_eq(f[1].inject, "l1\nl2");
    cr_assert_eq(f[1].inject_len, 5);
    cr_assert_eq(f[2].kind, FL_FAULT_DROP);
    /* the answer judged is still the top-level one */
    cr_assert_str_eq(fl_scenario_answer(sc), "one two three");
    fl_scenario_free(sc);
}

typedef struct {
    char yaml[512];
    char first[320];
} bad_case_t;

static bad_case_t bad[] = {
    {HEAD "dialect: openai-chat\nresponse: {text: hi, status: 204}\n",
     "t.yaml:4:30: response.status: 204 is not a status with a body of the answer (200 to 299 but "
     "204 and 205; an error status is the http_error fault)"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi, status: 500}\n",
     "t.yaml:4:30: response.status: 500 is not a status with a body of the answer (200 to 299 but "
     "204 and 205; an error status is the http_error fault)"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi, headers: {Transfer-Encoding: x}}\n",
     "t.yaml:4:32: response.headers.Transfer-Encoding: transfer-encoding is the server's framing "
     "(set response.framing instead)"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi, headers: {\"a b\": x}}\n",
     "t.yaml:4:32: response.headers: a header name is a token (letters, digits, !#$%&'*+-.^_`|~)"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi, headers: {x: \"a\\nb\"}}\n",
     "t.yaml:4:35: response.headers.x: must not contain a line break"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi, path: /_faultline/x}\n",
     "t.yaml:4:28: response.path: '/_faultline/x' must be a path of at most 200 bytes starting "
     "with '/', without a query, outside /_faultline/ and /s/"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi}\nattempts:\n  - response: {text: x, path: "
          "/y}\n",
     "t.yaml:6:15: attempts[0].response: path is where the scenario is served, the same for every "
     "attempt: set it in the top-level response"},
    {HEAD "dialect: openai-chat\nresume: true\nresponse: {text: hi}\n",
     "t.yaml:4:9: resume: openai-chat events carry no ids to resume from: resume needs "
     "openai-responses (sequence_number) or raw events with an id"},
    {HEAD "dialect: openai-responses\nresponse: {text: hi}\nexpect: {resume: required}\n",
     "t.yaml:1:1: expect.resume: judges a resume the server must offer: set resume: true"},
    {HEAD "dialect: openai-responses\nresume: true\nresponse: {text: hi}\nexpect: {resume: "
          "always}\n",
     "t.yaml:6:18: expect.resume: unknown resume 'always' (valid: allowed, required)"},
    {HEAD
     "dialect: openai-chat\nresponse: {text: hi}\nattempts:\n  - response: {text: hi, ttft_ms: "
     "-1}\n",
     "t.yaml:6:35: attempts[0].response.ttft_ms: must be >= 0, got -1"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi}\nattempts:\n  - faults: [replace]\n",
     "t.yaml:6:14: attempts[0].faults[0].replace: replace needs parameters: data"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi}\nattempts:\n  - faults: [{drop: {at: "
          "end}}]\n",
     "t.yaml:6:26: attempts[0].faults[0].drop.at: drop acts on one whole event: use {event: N}"},
    {HEAD "dialect: openai-chat\nresponse: {text: hi}\nattempts:\n  - faults: [{replace: {at: "
          "{event: 9}, data: x}}]\n",
     "t.yaml:6:15: attempts[0].faults[0].replace.at: event 9 is past the end of the stream (it "
     "has 4 events, 1 of them content events)"},
};

ParameterizedTestParameters(judging_v2, refused)
{
    return cr_make_param_array(bad_case_t, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(bad_case_t *c, judging_v2, refused)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("t.yaml", c->yaml, strlen(c->yaml), &sc, &d);
    cr_assert_neq(rc, 0, "loaded: %s", c->yaml);
    cr_assert_null(sc);
    cr_assert_gt(d.len, 0);
    char buf[1024];
    cr_assert_str_eq(fl_diag_format(&d.items[0], buf, sizeof(buf)), c->first);
    fl_diag_list_close(&d);
}

/*
 * Byte-exact timed replays (`response.writes:`), from YAML to the wire plan: one WRITE per
 * captured write at its time (scaled by speed), events derived from the bytes for fault
 * positions, and the ending the capture had.
 */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "encode/dialect.h"
#include "encode/replay.h"
#include "encode/sse.h"
#include "load/load.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD "faultline: 1\nname: r\ndialect: openai-chat\n"
/* Three writes; the second ends inside the third event, which the third write finishes. */
#define W1 "data: {\"c\":\"Hel\"}\n\n"
#define W2 "data: {\"c\":\"lo\"}\n\ndata: {\"c"
#define W3 "\":\"!\"}\n\ndata: [DONE]\n\n"
#define WRITES                                                                                     \
    "  writes:\n"                                                                                  \
    "    - {ms: 10, data: \"data: {\\\"c\\\":\\\"Hel\\\"}\\n\\n\"}\n"                              \
    "    - {ms: 40, data: \"data: {\\\"c\\\":\\\"lo\\\"}\\n\\ndata: {\\\"c\"}\n"                   \
    "    - {ms: 90, b64: \"IjoiISJ9CgpkYXRhOiBbRE9ORV0KCg==\"}\n"

static fl_scenario_t *load(const char *yaml)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("r.yaml", yaml, strlen(yaml), &sc, &d);
    cr_assert_eq(rc, 0, "%s", d.len ? d.items[0].message : "?");
    fl_diag_list_close(&d);
    return sc;
}

/* The first diagnostic's "field: message" for a file that must not load. */
static void load_fails(const char *yaml, const char *field, const char *needle)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    cr_assert_neq(fl_scenario_load_string("r.yaml", yaml, strlen(yaml), &sc, &d), 0);
    cr_assert_null(sc);
    cr_assert_geq(d.len, 1);
    size_t i = 0;
    while (i + 1 < d.len && strcmp(d.items[i].field, field) != 0)
        i++;
    cr_assert_str_eq(d.items[i].field, field);
    cr_assert(strstr(d.items[i].message, needle), "%s", d.items[i].message);
    fl_diag_list_close(&d);
}

/* Compiles sc's first attempt (or no faults) into w with CX_HEAD. */
static void compile(const fl_scenario_t *sc, fl_script_t *s, fl_wire_t *w)
{
    fl_encode_ctx_t ctx = {.id = "00000000000000000000", .created = 1700000000};
    fl_script_init(s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, s), 0);
    fl_chaos_input_t in = cx_input(s, FL_BODY_CHUNKED);
    const fl_attempt_t *a = sc->n_attempts ? &sc->attempts[0] : NULL;
    cx_compile(&in, a ? a->faults : NULL, a ? a->n_faults : 0, w);
}

static char *expect_bytes(const char *const *writes, size_t n, const char *tail)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append_str(&b, CX_HEAD);
    for (size_t i = 0; i < n; i++) {
        char *c = cx_chunk(writes[i]);
        fl_buf_append_str(&b, c);
        free(c);
    }
    fl_buf_append_str(&b, tail);
    return fl_buf_detach(&b, NULL);
}

/* At speed > 0 every captured write is its own send ("!"), even when due with another; at
 * speed 0 writes due together share a send, each still its own chunk. */
Test(replay, one_write_per_captured_write_at_its_time)
{
    fl_scenario_t *sc = load(HEAD "response:\n" WRITES);
    fl_script_t s;
    fl_wire_t w;
    compile(sc, &s, &w);
    /* events come from the bytes: four SSE events, the third spanning writes 2 and 3 */
    cr_assert_eq(s.n_events, 4);
    cr_assert_eq(s.events[2].at_ms, 40);
    cr_assert_eq(s.events[3].kind, FL_EVENT_SENTINEL);
    const char *ws[] = {W1, W2, W3};
    char *want = expect_bytes(ws, 3, "0\r\n\r\n");
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, want);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, "W@0 W@10! W@40! W@90! W@90 D@90");
    free(ops);
    free(got);
    free(want);
    fl_wire_close(&w);
    fl_script_close(&s);
    fl_scenario_free(sc);
}

typedef struct {
    const char *yaml; /* extra response keys */
    const char *ops;  /* the plan */
    bool terminator;  /* 0\r\n\r\n is sent */
} ending_case_t;

/* Criterion hands parameters to another process: pass indices, keep the strings here. */
static const ending_case_t ending_cases[] = {
    {"  ending: complete\n", "W@0 W@10! W@40! W@90! W@90 D@90", true},
    {"  ending: fin\n  end_ms: 120\n", "W@0 W@10! W@40! W@90! N@120", false},
    {"  ending: rst\n", "W@0 W@10! W@40! W@90! R@90", false},
    {"  ending: timeout\n  end_ms: 500\n", "W@0 W@10! W@40! W@90! H@500", false},
    {"  speed: 10\n", "W@0 W@1! W@4! W@9! W@9 D@9", true},
    {"  speed: 0\n  ending: rst\n", "W@0 W@0 W@0 W@0 R@0", false},
    {"  speed: 0.5\n", "W@0 W@20! W@80! W@180! W@180 D@180", true},
};

ParameterizedTestParameters(replay, endings)
{
    static int idx[sizeof(ending_cases) / sizeof(ending_cases[0])];
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(int *ci, replay, endings)
{
    const ending_case_t *c = &ending_cases[*ci];
    char yaml[2048];
    snprintf(yaml, sizeof(yaml), HEAD "response:\n" WRITES "%s", c->yaml);
    fl_scenario_t *sc = load(yaml);
    fl_script_t s;
    fl_wire_t w;
    compile(sc, &s, &w);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, c->ops, "%s: %s", c->yaml, ops);
    const char *ws[] = {W1, W2, W3};
    char *want = expect_bytes(ws, 3, c->terminator ? "0\r\n\r\n" : "");
    char *got = cx_bytes(&w, NULL);
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    free(ops);
    fl_wire_close(&w);
    fl_script_close(&s);
    fl_scenario_free(sc);
}

/* Faults apply on top: positions by event (derived from the bytes), byte and ms. */
Test(replay, faults_on_top)
{
    struct {
        const char *fault;
        const char *ops;
        const char *bytes_tail; /* the last body bytes the client gets, before the end */
    } cases[] = {
        /* before event 3, which starts inside write 2: write 2 is cut there */
        {"{reset: {at: {event: 3}}}", "W@0 W@10! W@40! F@40#0 R@40#0", "data: {\"c\":\"lo\"}\n\n"},
        /* byte 5 of the body is in write 1 */
        {"{close: {at: {byte: 5}}}", "W@0 W@10! F@10#0 N@10#0", "data:"},
        {"{stall: {ms: 100, at: {ms: 40}}}", "W@0 W@10! F@40#0 W@140!#0 W@190! W@190 D@190",
         "data: [DONE]\n\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[2048];
        snprintf(yaml, sizeof(yaml), HEAD "response:\n" WRITES "attempts:\n  - faults: [%s]\n",
                 cases[i].fault);
        fl_scenario_t *sc = load(yaml);
        fl_script_t s;
        fl_wire_t w;
        compile(sc, &s, &w);
        char *ops = cx_ops(&w);
        cr_assert_str_eq(ops, cases[i].ops, "%s: %s", cases[i].fault, ops);
        size_t n;
        char *got = cx_bytes(&w, &n);
        /* the last WRITE's chunk ends with the tail and its CRLF (the terminator aside) */
        const char *t = cases[i].bytes_tail;
        size_t tl = strlen(t);
        const char *end = got + n;
        if (n >= 5 && memcmp(end - 5, "0\r\n\r\n", 5) == 0)
            end -= 5;
        cr_assert_geq((size_t)(end - got), tl + 2);
        cr_assert(memcmp(end - 2 - tl, t, tl) == 0, "%s: ends %.*s", cases[i].fault, (int)tl + 2,
                  end - 2 - tl);
        free(got);
        free(ops);
        fl_wire_close(&w);
        fl_script_close(&s);
        fl_scenario_free(sc);
    }
}

Test(replay, bad_writes_are_refused)
{
    load_fails(HEAD "response:\n  writes: []\n", "response.writes", "non-empty list");
    load_fails(HEAD "response:\n  writes: [{ms: 5, data: a}, {ms: 4, data: b}]\n",
               "response.writes[1].ms", "before the previous");
    load_fails(HEAD "response:\n  writes: [{ms: 5}]\n", "response.writes[0]",
               "exactly one of data, b64");
    load_fails(HEAD "response:\n  writes: [{ms: 5, b64: '***'}]\n", "response.writes[0].b64",
               "not base64");
    load_fails(HEAD "response:\n  text: hi\n  writes: [{ms: 5, data: a}]\n", "response.writes",
               "only one of");
    load_fails(HEAD "response:\n  text: hi\n  speed: 2\n", "response.speed", "only applies");
    load_fails(HEAD "response:\n  writes: [{ms: 5, data: a}]\n  speed: -1\n", "response.speed",
               "from 0");
    load_fails(HEAD "response:\n  writes: [{ms: 5, data: a}]\n  end_ms: 4\n", "response.end_ms",
               "before the last write");
    load_fails(HEAD "response:\n  capture: does-not-exist.capture.jsonl\n", "response.capture",
               "cannot replay 'does-not-exist.capture.jsonl'");
}

Test(replay, sse_event_len)
{
    cr_assert_eq(fl_sse_event_len("data: a\n\ndata: b\n\n", 18), 9);
    cr_assert_eq(fl_sse_event_len("data: a\r\n\r\nx", 12), 11);
    cr_assert_eq(fl_sse_event_len("data: a\r\rx", 10), 9);
    cr_assert_eq(fl_sse_event_len("data: a\ndata: b", 15), 15);
    cr_assert_eq(fl_sse_event_len("", 0), 0);
}

/* response.capture: the capture's writes (not the withheld one), times after its head, its
 * ending; the path is relative to the scenario file. */
Test(replay, capture_file)
{
    const char *yaml = HEAD "response:\n  capture: chat-rst.capture.jsonl\n";
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string(FL_TESTDATA_DIR "/captures/chat-rst.yaml", yaml, strlen(yaml),
                                     &sc, &d);
    cr_assert_eq(rc, 0, "%s", d.len ? d.items[0].message : "?");
    fl_diag_list_close(&d);
    const fl_replay_t *rp = sc->response.replay;
    cr_assert_not_null(rp);
    cr_assert_eq(rp->n_writes, 3);
    cr_assert_eq(rp->writes[0].at_ms, 39);
    cr_assert_eq(rp->writes[2].len, 4);
    cr_assert_eq(memcmp(rp->writes[2].bytes, "\xde\xad\xbe\xef", 4), 0);
    cr_assert_eq(rp->ending, FL_REPLAY_RST);
    cr_assert_eq(rp->end_ms, 118);
    fl_script_t s;
    fl_wire_t w;
    compile(sc, &s, &w);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, "W@0 W@39! W@80! W@88! R@118");
    free(ops);
    fl_wire_close(&w);
    fl_script_close(&s);
    fl_scenario_free(sc);
}

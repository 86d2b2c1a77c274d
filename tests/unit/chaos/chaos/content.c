/*
 * `at: {content: N}`: positions users can count. Each dialect's encoder marks the pieces of the
 * answer (words with chunking: word, the chunks of `chunks:`, tool-call argument fragments, not
 * the events that announce them); content N stands before the Nth piece, and the plan it
 * compiles to is exactly the plan of the protocol event it names. The pairs below are the
 * README's examples ("Positions: at"), one per dialect.
 */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "dialect_fixture.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "param_index.h"

typedef struct {
    const char *name;
    fl_dialect_t dialect;
    int answer; /* 0 text, 1 chunks, 2 tool call */
    uint64_t content, event;
    const char *sent;     /* the piece just before the position: on the wire before the reset */
    const char *not_sent; /* the piece at the position: never on the wire (NULL: none) */
} content_case_t;

#define TEXT "One two three four five six"

static const content_case_t cases[] = {
    /* the role chunk is event 1, then one word per event */
    {"chat word 4", FL_DIALECT_OPENAI_CHAT, 0, 4, 5, "three", "four"},
    /* response.created, .in_progress, .output_item.added, .content_part.added, then words */
    {"responses word 4", FL_DIALECT_OPENAI_RESPONSES, 0, 4, 8, "three", "four"},
    /* message_start, content_block_start, ping, then words */
    {"anthropic word 4", FL_DIALECT_ANTHROPIC_MESSAGES, 0, 4, 7, "three", "four"},
    /* gemini has no protocol event before the first word */
    {"gemini word 4", FL_DIALECT_GEMINI, 0, 4, 4, "three", "four"},
    {"gemini past the last word", FL_DIALECT_GEMINI, 0, 7, 7, "six", "STOP"},
    {"chat chunk 3", FL_DIALECT_OPENAI_CHAT, 1, 3, 4, "\"lo\"", "wor"},
    /* right after the last piece: the event that follows it (the finish) */
    {"chat past the last word", FL_DIALECT_OPENAI_CHAT, 0, 7, 8, "six", "\"stop\""},
    {"anthropic past the last word", FL_DIALECT_ANTHROPIC_MESSAGES, 0, 7, 10, "six", "end_turn"},
    /* a tool call's announcement is no piece (in chat it is event 1 and carries the role):
     * the first fragment of its arguments is */
    {"chat tool fragment 1", FL_DIALECT_OPENAI_CHAT, 2, 1, 2, "get_weather", "city"},
    {"responses tool fragment 2", FL_DIALECT_OPENAI_RESPONSES, 2, 2, 5, "city", "Paris"},
    {"anthropic tool fragment 1", FL_DIALECT_ANTHROPIC_MESSAGES, 2, 1, 4, "get_weather", "city"},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

FL_PARAM_INDEXES(content, same_plan_as_its_event, N_CASES)

static fl_scenario_t *scenario(const content_case_t *c)
{
    static const char *const chunks[] = {"Hel", "lo", " wor", "ld"};
    switch (c->answer) {
    case 0:
        return fx_scenario_text(c->dialect, TEXT);
    case 1:
        return fx_scenario_chunks(c->dialect, chunks, 4);
    default:
        return fx_scenario_tool(c->dialect, "get_weather", "{\"city\":\"Paris\"}", NULL);
    }
}

static void compile_at(const fl_script_t *s, fl_dialect_t d, fl_at_kind_t kind, uint64_t n,
                       fl_wire_t *w)
{
    fl_chaos_input_t in = cx_input(s, FL_BODY_CHUNKED);
    in.dialect = d;
    fl_fault_t f = cx_fault(FL_FAULT_RESET);
    f.at.kind = kind;
    f.at.n = n;
    cx_compile(&in, &f, 1, w);
}

ParameterizedTest(size_t *ci, content, same_plan_as_its_event, .timeout = 10)
{
    const content_case_t *c = &cases[*ci];
    fl_scenario_t *sc = scenario(c);
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s;
    fl_script_init(&s);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    cr_assert_eq(fl_script_content_event(&s, c->content), c->event - 1,
                 "%s: content %llu is event %zu", c->name, (unsigned long long)c->content,
                 fl_script_content_event(&s, c->content) + 1);

    /* exactly content - 1 pieces come before it */
    size_t n_before = 0;
    for (size_t i = 0; i + 1 < c->event; i++)
        n_before += s.events[i].piece;
    cr_assert_eq(n_before, c->content - 1, "%s: %zu pieces before", c->name, n_before);

    fl_wire_t by_content, by_event;
    compile_at(&s, c->dialect, FL_AT_CONTENT, c->content, &by_content);
    compile_at(&s, c->dialect, FL_AT_EVENT, c->event, &by_event);
    char *ops_c = cx_ops(&by_content), *ops_e = cx_ops(&by_event);
    cr_expect_str_eq(ops_c, ops_e, "%s: plans differ", c->name);
    size_t len_c, len_e;
    char *bytes_c = cx_bytes(&by_content, &len_c), *bytes_e = cx_bytes(&by_event, &len_e);
    cr_expect(len_c == len_e && memcmp(bytes_c, bytes_e, len_c) == 0, "%s: bytes differ", c->name);
    /* what a person counted: the piece before the position went out, the one at it did not */
    cr_expect_not_null(strstr(bytes_c, c->sent), "%s: '%s' not sent", c->name, c->sent);
    if (c->not_sent)
        cr_expect_null(strstr(bytes_c, c->not_sent), "%s: '%s' sent", c->name, c->not_sent);
    const fl_wire_op_t *fire = cx_fire(&by_content, 0);
    cr_assert_not_null(fire);
    cr_expect_eq(fire->event, c->event - 1, "%s: fired at event %u", c->name, fire->event + 1);
    free(ops_c);
    free(ops_e);
    free(bytes_c);
    free(bytes_e);
    fl_wire_close(&by_content);
    fl_wire_close(&by_event);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

/* The script's own bookkeeping: pieces are counted from 1, N = pieces + 1 is the event after
 * the last one, and past that, 0, or no pieces at all give the end (n_events). */
Test(content, script_lookup)
{
    fl_script_t s;
    fl_script_init(&s);
    cx_script(&s); /* META, CONTENT, CONTENT, FINISH, SENTINEL: no piece marked */
    cr_assert_eq(fl_script_pieces(&s), 0);
    cr_assert_eq(fl_script_content_event(&s, 1), 5);
    s.events[1].piece = s.events[2].piece = true;
    cr_assert_eq(fl_script_pieces(&s), 2);
    cr_assert_eq(fl_script_content_event(&s, 0), 5);
    cr_assert_eq(fl_script_content_event(&s, 1), 1);
    cr_assert_eq(fl_script_content_event(&s, 2), 2);
    cr_assert_eq(fl_script_content_event(&s, 3), 3);
    cr_assert_eq(fl_script_content_event(&s, 4), 5);
    fl_script_close(&s);
}

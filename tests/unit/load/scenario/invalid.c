/*
 * Invalid scenario files are refused with the exact diagnostic a user sees, at the right
 * line:col and field, every problem collected, and nothing half-loaded.
 */
#include "base/buf.h"
#include "load/load.h"
#include "model/scenario.h"

#include "invalid_check.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    /* Arrays, not pointers: Criterion runs each parameter in a fresh process, where the
       addresses of string literals from the parent are not valid. */
    char file[64];   /* under tests/data/scenarios/invalid/ */
    char first[256]; /* the first diagnostic, fl_diag_format'ed, path relative to that dir */
    size_t count;    /* how many diagnostics the file produces */
} invalid_case_t;

static invalid_case_t cases[] = {
    {"alias-bomb.yaml",
     "alias-bomb.yaml:6:52: aliases expand to more than 10000 nodes (an alias bomb?): file refused",
     1},
    {"arguments-array.yaml",
     "arguments-array.yaml:7:16: response.tool_call.arguments: the JSON must be an object, not an "
     "array",
     1},
    {"arguments-bad-json.yaml",
     "arguments-bad-json.yaml:7:16: response.tool_call.arguments: not valid JSON: unexpected token "
     "near '}' (at character 7)",
     1},
    {"arguments-number.yaml",
     "arguments-number.yaml:5:35: response.tool_call.arguments: expected a mapping or a quoted "
     "string holding a JSON object, got a scalar",
     1},
    {"attempts-mapping.yaml",
     "attempts-mapping.yaml:5:11: attempts: expected a list, got a mapping", 1},
    {"bad-name.yaml",
     "bad-name.yaml:2:7: name: 'Bad_Name' must match ^[a-z0-9-]+$ (at most 64 characters)", 1},
    {"bytes-zero.yaml",
     "bytes-zero.yaml:6:13: response.chunking: 'bytes:0': N in bytes:N must be 1 to 1048576", 1},
    {"chunks-empty-piece.yaml",
     "chunks-empty-piece.yaml:5:15: response.chunks[1]: must not be empty", 1},
    {"duplicate-key.yaml",
     "duplicate-key.yaml:7:3: response.interval_ms: duplicate key (first given at line 6)", 1},
    {"empty-text.yaml", "empty-text.yaml:5:9: response.text: must not be empty", 1},
    {"empty.yaml",
     "empty.yaml:1:1: empty file: a scenario needs at least faultline, name, dialect and response",
     1},
    {"event-data-list.yaml",
     "event-data-list.yaml:6:29: response.events[0].event: must not contain a line break", 2},
    {"event-empty.yaml",
     "event-empty.yaml:7:7: response.events[1]: an event needs at least one of event, data, id, "
     "retry, raw",
     1},
    {"event-retry-string.yaml",
     "event-retry-string.yaml:6:24: response.events[0].retry: expected an integer, got 'soon'", 1},
    {"events-no-answer.yaml", "events-no-answer.yaml:1:1: expect.answer: missing required key", 1},
    {"expect-bad.yaml",
     "expect-bad.yaml:6:12: expect.outcome: unknown outcome 'success' (valid: complete, error, "
     "either)",
     4},
    {"int-out-of-range.yaml",
     "int-out-of-range.yaml:6:9: response.seed: 18446744073709551616 is out of range (0 to "
     "18446744073709551615)",
     1},
    {"missing-required.yaml", "missing-required.yaml:1:1: faultline: missing required key", 3},
    {"multi-doc.yaml",
     "multi-doc.yaml:6:1: more than one YAML document in the file (one scenario per file)", 1},
    {"name-null.yaml", "name-null.yaml:2:6: name: expected a string, got null", 1},
    {"negative-interval.yaml",
     "negative-interval.yaml:6:16: response.interval_ms: must be >= 0, got -20", 1},
    {"no-kind.yaml",
     "no-kind.yaml:5:3: response: one of text, chunks, tool_call or events is required", 1},
    {"not-mapping.yaml", "not-mapping.yaml:1:1: a scenario file must be a mapping, got a list", 1},
    {"not-utf8.yaml", "not-utf8.yaml:5:12: not valid UTF-8 (byte 0xe9); scenario files are UTF-8",
     1},
    {"raw-with-data.yaml",
     "raw-with-data.yaml:6:25: response.events[0].data: raw excludes the other fields (send them "
     "inside the raw bytes)",
     1},
    {"response-list.yaml", "response-list.yaml:5:3: response: expected a mapping, got a list", 1},
    {"self-alias.yaml",
     "self-alias.yaml:5:8: nesting deeper than 64 levels (a self-referencing alias?): file refused",
     1},
    {"syntax-error.yaml",
     "syntax-error.yaml:3:10: YAML syntax error: mapping values are not allowed in this context",
     1},
    {"tool-name-bad.yaml",
     "tool-name-bad.yaml:5:21: response.tool_call.name: 'get weather' must match [A-Za-z0-9_-]+ "
     "(at most 64 characters)",
     1},
    {"ttft-string.yaml",
     "ttft-string.yaml:6:12: response.ttft_ms: expected an integer, got the string \"150\"", 1},
    {"two-kinds.yaml",
     "two-kinds.yaml:6:3: response.chunks: only one of text, chunks, tool_call, events may be "
     "given (text is already)",
     1},
    {"unknown-chunking.yaml",
     "unknown-chunking.yaml:6:13: response.chunking: unknown chunking 'sentence' (valid: word, "
     "char, bytes:N)",
     1},
    {"unknown-dialect.yaml",
     "unknown-dialect.yaml:3:10: dialect: unknown dialect 'openai' (valid: openai-chat, "
     "openai-responses, anthropic-messages, gemini)",
     1},
    {"unknown-fault.yaml",
     "unknown-fault.yaml:8:9: attempts[1].faults[0].resett: unknown fault 'resett' (did you mean "
     "'reset'?)",
     1},
    {"unknown-key-list.yaml",
     "unknown-key-list.yaml:6:1: colour: unknown key 'colour' (valid keys: faultline, name, "
     "description, dialect, model, prompt, response, attempts, expect, downstream, resume)",
     1},
    {"unknown-key-suggest.yaml",
     "unknown-key-suggest.yaml:6:3: response.ttft: unknown key 'ttft' (did you mean 'ttft_ms'?)",
     1},
    {"usage-negative.yaml",
     "usage-negative.yaml:6:25: response.usage.input_tokens: must be >= 0, got -1", 1},
    {"version-2.yaml",
     "version-2.yaml:1:12: faultline: unsupported format version 2 (this Faultline reads version "
     "1)",
     1},
};

ParameterizedTestParameters(scenario_invalid, first_diagnostic)
{
    return cr_make_param_array(invalid_case_t, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(invalid_case_t *tc, scenario_invalid, first_diagnostic)
{
    fl_check_invalid_file(tc->file, tc->first, tc->count, 0);
}

/* Every rule is reached by at least 25 files, not just a handful. */
Test(scenario_invalid, table_is_large_enough)
{
    cr_assert_geq(sizeof(cases) / sizeof(cases[0]), 25);
}

Test(scenario_invalid, error_codes_say_what_kind)
{
    static const struct {
        const char *file;
        int rc;
    } codes[] = {
        {"alias-bomb.yaml", FL_ELIMIT},    {"self-alias.yaml", FL_ELIMIT},
        {"syntax-error.yaml", FL_ESYNTAX}, {"not-utf8.yaml", FL_ESYNTAX},
        {"two-kinds.yaml", FL_ESCHEMA},    {"empty.yaml", FL_ESCHEMA},
        {"no-such-file.yaml", FL_EIO},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char path[1280];
        snprintf(path, sizeof(path), "%s/scenarios/invalid/%s", FL_TESTDATA_DIR, codes[i].file);
        fl_diag_list_t diags;
        fl_diag_list_init(&diags);
        fl_scenario_t *sc;
        cr_assert_eq(fl_scenario_load_file(path, &sc, &diags), codes[i].rc, "%s", codes[i].file);
        cr_assert_null(sc);
        fl_diag_list_close(&diags);
    }
}

/* The billion-laughs pattern: nine levels of nine aliases, about 4e8 nodes if expanded. */
Test(scenario_invalid, alias_bomb_is_refused_unexpanded, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_buf_append_str(&b, "faultline: 1\nname: bomb\ndialect: openai-chat\n"
                                       "response:\n  tool_call:\n    name: f\n    arguments:\n"
                                       "      a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, "
                                       "lol]\n"),
                 0);
    for (int lvl = 1; lvl <= 9; lvl++) {
        fl_buf_printf(&b, "      a%d: &a%d [", lvl, lvl);
        for (int i = 0; i < 9; i++)
            fl_buf_printf(&b, "%s*a%d", i ? ", " : "", lvl - 1);
        fl_buf_append_str(&b, "]\n");
    }
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc;
    int rc = fl_scenario_load_string("bomb.yaml", b.data, b.len, &sc, &diags);
    cr_assert_eq(rc, FL_ELIMIT);
    cr_assert_null(sc);
    cr_assert_eq(diags.len, 1);
    cr_assert(strstr(diags.items[0].message, "more than 10000 nodes") != NULL, "%s",
              diags.items[0].message);
    fl_diag_list_close(&diags);
    fl_buf_close(&b);
}

Test(scenario_invalid, deep_nesting_is_refused)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_append_str(&b, "faultline: 1\nname: deep\ndialect: openai-chat\nresponse:\n"
                          "  tool_call: {name: f, arguments: {a: ");
    for (int i = 0; i < FL_SCENARIO_MAX_DEPTH; i++)
        fl_buf_append_str(&b, "[");
    for (int i = 0; i < FL_SCENARIO_MAX_DEPTH; i++)
        fl_buf_append_str(&b, "]");
    fl_buf_append_str(&b, "}}\n");
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc;
    cr_assert_eq(fl_scenario_load_string("deep.yaml", b.data, b.len, &sc, &diags), FL_ELIMIT);
    cr_assert_null(sc);
    cr_assert(strstr(diags.items[0].message, "deeper than 64") != NULL);
    fl_diag_list_close(&diags);
    fl_buf_close(&b);
}

/* A sparse file just over the limit: refused from its size, without reading it. */
Test(scenario_invalid, oversized_file_is_refused)
{
    char path[] = "/tmp/fl-big-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)FL_SCENARIO_MAX_FILE_BYTES + 1), 0);
    close(fd);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc;
    int rc = fl_scenario_load_file(path, &sc, &diags);
    unlink(path);
    cr_assert_eq(rc, FL_ELIMIT);
    cr_assert_null(sc);
    cr_assert(strstr(diags.items[0].message, "limit") != NULL);
    fl_diag_list_close(&diags);
}

/* Problems from every section are collected in one pass, in document order. */
Test(scenario_invalid, collects_every_error)
{
    static const char yaml[] = "faultline: 1\n"
                               "name: many\n"
                               "dialect: openai-chatt\n"
                               "response:\n"
                               "  text: hi\n"
                               "  interval: 10\n"
                               "  jitter_ms: -1\n"
                               "expect: {outcome: done}\n";
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc;
    cr_assert_eq(fl_scenario_load_string("many.yaml", yaml, sizeof(yaml) - 1, &sc, &diags),
                 FL_ESCHEMA);
    cr_assert_eq(diags.len, 4);
    cr_assert_str_eq(diags.items[0].field, "dialect");
    cr_assert_eq(diags.items[0].line, 3);
    cr_assert_str_eq(diags.items[1].field, "response.interval");
    cr_assert(strstr(diags.items[1].message, "did you mean 'interval_ms'?") != NULL);
    cr_assert_str_eq(diags.items[2].field, "response.jitter_ms");
    cr_assert_eq(diags.items[2].line, 7);
    cr_assert_eq(diags.items[2].col, 14);
    cr_assert_str_eq(diags.items[3].field, "expect.outcome");
    fl_diag_list_close(&diags);
}

/* Found by fuzz_scenario_load: a prompt or model that is not a string was reported, then the
 * load failed with FL_ENOMEM ("out of memory") instead of FL_ESCHEMA, because the missing value
 * was taken for a failed copy of the default. */
Test(scenario_invalid, prompt_or_model_not_a_string_is_a_schema_error)
{
    static const struct {
        const char *yaml;
        const char *field;
    } bad[] = {
        {"faultline: 1\nname: p\ndialect: openai-chat\nprompt: {text: hi}\n"
         "response: {text: hi}\n",
         "prompt"},
        {"faultline: 1\nname: m\ndialect: anthropic-messages\nmodel: [claude]\n"
         "response: {text: hi}\n",
         "model"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_diag_list_t diags;
        fl_diag_list_init(&diags);
        fl_scenario_t *sc;
        int rc = fl_scenario_load_string("f.yaml", bad[i].yaml, strlen(bad[i].yaml), &sc, &diags);
        cr_assert_eq(rc, FL_ESCHEMA, "%s: rc %d (%s)", bad[i].field, rc, fl_strerror(rc));
        cr_assert_null(sc);
        cr_assert_eq(diags.len, 1, "%s: %zu diagnostics", bad[i].field, diags.len);
        cr_assert_str_eq(diags.items[0].field, bad[i].field);
        fl_diag_list_close(&diags);
    }
}

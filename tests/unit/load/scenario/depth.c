/*
 * Nesting is refused while libyaml's events are parsed, before any tree is built: 100,000
 * levels of `[` (200 KB) are refused with the depth diagnostic at the first node one level too
 * deep, and the limit is exact (64 levels load, 65 do not) for flow and block collections alike.
 * The time this takes is measured by a shell command in the report, not asserted here.
 */
#include "base/buf.h"
#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Loads yaml; returns the code and copies the first diagnostic, fl_diag_format'ed, to first. */
static int load(const fl_buf_t *yaml, char *first, size_t n)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string("deep.yaml", yaml->data, yaml->len, &sc, &diags);
    first[0] = '\0';
    if (diags.len)
        fl_diag_format(&diags.items[0], first, n);
    if (rc == 0)
        fl_scenario_free(sc);
    else
        cr_expect_null(sc);
    fl_diag_list_close(&diags);
    return rc;
}

Test(scenario_depth, hundred_thousand_brackets_refused_at_the_limit, .timeout = 60)
{
    fl_buf_t b;
    fl_buf_init(&b);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(fl_buf_append(&b, "[", 1), 0);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(fl_buf_append(&b, "]", 1), 0);
    cr_assert_eq(b.len, 200000);
    char first[512];
    cr_expect_eq(load(&b, first, sizeof(first)), FL_ELIMIT);
    /* the 65th `[` opens the node one level too deep: line 1, column 65 */
    cr_expect_str_eq(first, "deep.yaml:1:65: nesting deeper than 64 levels: file refused");
    fl_buf_close(&b);
}

/* The same input unterminated: refused for its depth, not read to the end for its syntax. */
Test(scenario_depth, unterminated_brackets_refused_for_depth, .timeout = 60)
{
    fl_buf_t b;
    fl_buf_init(&b);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(fl_buf_append(&b, "[", 1), 0);
    char first[512];
    cr_expect_eq(load(&b, first, sizeof(first)), FL_ELIMIT);
    cr_expect_str_eq(first, "deep.yaml:1:65: nesting deeper than 64 levels: file refused");
    fl_buf_close(&b);
}

/* A scenario whose tool-call arguments hold `levels` nested lists around a scalar, in flow or
 * block style. The root mapping is level 1, so the scalar sits at levels + 5. */
static void nested(fl_buf_t *b, int levels, bool block)
{
    fl_buf_append_str(b, "faultline: 1\nname: deep\ndialect: openai-chat\nresponse:\n"
                         "  tool_call:\n    name: f\n    arguments:\n      a:\n");
    if (!block) {
        fl_buf_append_str(b, "        ");
        for (int i = 0; i < levels; i++)
            fl_buf_append_str(b, "[");
        fl_buf_append_str(b, "1");
        for (int i = 0; i < levels; i++)
            fl_buf_append_str(b, "]");
        fl_buf_append_str(b, "\n");
        return;
    }
    for (int i = 0; i < levels; i++) {
        fl_buf_printf(b, "%*s-", 8 + 2 * i, "");
        fl_buf_append_str(b, i + 1 < levels ? "\n" : " 1\n");
    }
}

Test(scenario_depth, the_limit_is_exact_in_flow_and_block_style)
{
    /* root mapping, response, tool_call, arguments: 4 mappings above the lists, so 59 lists
     * put the scalar at level 64 and 60 put it at 65, refused where it stands */
    static const char *const refused[] = {
        "deep.yaml:9:69: nesting deeper than 64 levels: file refused",   /* flow */
        "deep.yaml:68:129: nesting deeper than 64 levels: file refused", /* block */
    };
    int fits = FL_SCENARIO_MAX_DEPTH - 5;
    for (int block = 0; block < 2; block++) {
        char first[512];
        fl_buf_t b;
        fl_buf_init(&b);
        nested(&b, fits, block);
        cr_expect_eq(load(&b, first, sizeof(first)), 0, "%s: %s", block ? "block" : "flow", first);
        fl_buf_close(&b);

        fl_buf_init(&b);
        nested(&b, fits + 1, block);
        cr_expect_eq(load(&b, first, sizeof(first)), FL_ELIMIT, "%s", block ? "block" : "flow");
        cr_expect_str_eq(first, refused[block]);
        fl_buf_close(&b);
    }
}

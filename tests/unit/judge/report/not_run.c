/* Reports of a run that did not judge every planned run: interrupted (no score, the runs not
 * run listed, JUnit errors and the suite marked) or stopped after a failure (JUnit skipped).
 * The XML is validated against tests/data/junit.xsd. */
#include "base/error.h"
#include "judge/evidence.h"
#include "judge/report.h"
#include "judge/verdict.h"
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fl_scenario_t *sc_a, *sc_b;
static fl_run_result_t done[1];
static fl_report_not_run_t not_run[3];
static char dir[64];

static fl_scenario_t *load_yaml(const char *yaml)
{
    fl_scenario_t *sc;
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    cr_assert_eq(fl_scenario_load_string("inline.yaml", yaml, strlen(yaml), &sc, &d), 0);
    fl_diag_list_close(&d);
    return sc;
}

/* One judged run (alpha#1, correct) and three not judged: alpha#2 cut short, beta#1 and
 * beta#2 never started. */
static void setup(void)
{
    sc_a = load_yaml("faultline: 1\nname: alpha\ndialect: openai-chat\nresponse: {text: hi}\n");
    sc_b = load_yaml("faultline: 1\nname: beta\ndialect: anthropic-messages\n"
                     "response: {text: hi}\n");
    fl_evidence_init(&done[0].ev, sc_a, 1, 7);
    fl_buf_append_str(&done[0].ev.out, "hi\n");
    done[0].ev.wall_ms = 40;
    done[0].j = (fl_judgement_t){.verdict = FL_VERDICT_CORRECT,
                                 .score = 100,
                                 .passed = true,
                                 .reason = "exit 0 with the exact answer",
                                 .diff_at = -1};
    not_run[0] = (fl_report_not_run_t){.scenario = sc_a, .repeat = 2, .started = true};
    not_run[1] = (fl_report_not_run_t){.scenario = sc_b, .repeat = 1, .started = false};
    not_run[2] = (fl_report_not_run_t){.scenario = sc_b, .repeat = 2, .started = false};
    snprintf(dir, sizeof(dir), "/tmp/fl-notrun-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    fl_evidence_close(&done[0].ev);
    fl_scenario_free(sc_a);
    fl_scenario_free(sc_b);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(not_run, .init = setup, .fini = teardown, .timeout = 30);

static fl_report_t report(bool interrupted)
{
    fl_report_t r = {.client = "client",
                     .seed = 7,
                     .jobs = 2,
                     .started = "2026-11-21T08:20:50Z",
                     .wall_ms = 1500,
                     .min_score = -1,
                     .items = done,
                     .n_items = 1,
                     .not_run = not_run,
                     .n_not_run = 3,
                     .interrupted = interrupted};
    return r;
}

Test(not_run, json_interrupted_has_no_score_and_lists_the_runs)
{
    fl_report_t r = report(true);
    json_t *root = fl_report_to_json(&r);
    cr_assert_not_null(root);
    cr_expect(json_is_true(json_object_get(root, "interrupted")));
    /* the one judged run scored 100: a partial mean must not read as the client's score */
    cr_expect(json_is_null(json_object_get(root, "score")));
    cr_expect_eq(json_integer_value(json_object_get(root, "passed")), 1);
    cr_expect_eq(json_array_size(json_object_get(root, "runs")), 1);
    json_t *nr = json_object_get(root, "not_run");
    cr_assert_eq(json_array_size(nr), 3);
    static const char *const want[] = {"alpha#2", "beta#1", "beta#2"};
    for (size_t i = 0; i < 3; i++)
        cr_expect_str_eq(json_string_value(json_array_get(nr, i)), want[i]);
    json_decref(root);
}

Test(not_run, json_complete_run_has_its_score)
{
    fl_report_t r = report(false);
    r.n_not_run = 0;
    json_t *root = fl_report_to_json(&r);
    cr_assert_not_null(root);
    cr_expect(json_is_false(json_object_get(root, "interrupted")));
    cr_expect_float_eq(json_real_value(json_object_get(root, "score")), 100.0, 1e-9);
    cr_expect_eq(json_array_size(json_object_get(root, "not_run")), 0);
    json_decref(root);
}

/* Writes the JUnit report of r, checks it validates, and returns an XPath context on it
 * (*doc to free with xmlFreeDoc after the context). */
static xmlXPathContextPtr junit(const fl_report_t *r, xmlDocPtr *doc)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/junit-%d.xml", dir, r->interrupted);
    fl_diag_t diag;
    cr_assert_eq(fl_report_write_junit(r, path, &diag), 0, "%s", diag.message);
    *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    cr_assert_not_null(*doc, "JUnit file does not parse");
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(FL_TESTDATA_DIR "/junit.xsd");
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    cr_assert_not_null(schema);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    cr_expect_eq(xmlSchemaValidateDoc(vc, *doc), 0, "JUnit file does not validate");
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
    return xmlXPathNewContext(*doc);
}

static void expect_xpath(xmlXPathContextPtr xp, const char *expr, const char *want)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    cr_assert_not_null(o, "%s", expr);
    xmlChar *v = xmlXPathCastToString(o);
    cr_expect_str_eq((const char *)v, want, "%s", expr);
    xmlFree(v);
    xmlXPathFreeObject(o);
}

Test(not_run, junit_interrupted_runs_are_errors_and_the_suite_is_marked)
{
    fl_report_t r = report(true);
    xmlDocPtr doc;
    xmlXPathContextPtr xp = junit(&r, &doc);
    static const struct {
        const char *expr, *want;
    } checks[] = {
        {"string(/testsuites/@tests)", "4"},
        {"string(/testsuites/@errors)", "3"},
        {"string(/testsuites/testsuite/@tests)", "4"},
        {"string(/testsuites/testsuite/@errors)", "3"},
        {"string(/testsuites/testsuite/@failures)", "0"},
        {"string(/testsuites/testsuite/@skipped)", "0"},
        {"string(//property[@name='interrupted']/@value)", "true"},
        {"count(//testcase)", "4"},
        {"count(//testcase/error[@type='interrupted'])", "3"},
        {"count(//testcase/skipped)", "0"},
        {"string(//testcase[@name='alpha#2']/error/@message)",
         "interrupted while running: its client was killed"},
        {"string(//testcase[@name='beta#1']/error/@message)", "interrupted before it started"},
        {"string(//testcase[@name='beta#2']/@classname)", "anthropic-messages"},
        {"count(//testcase[@name='alpha#1']/error)", "0"},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        expect_xpath(xp, checks[i].expr, checks[i].want);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
}

Test(not_run, junit_runs_not_started_after_a_failure_are_skipped)
{
    fl_report_t r = report(false);
    xmlDocPtr doc;
    xmlXPathContextPtr xp = junit(&r, &doc);
    expect_xpath(xp, "string(/testsuites/testsuite/@skipped)", "3");
    expect_xpath(xp, "string(/testsuites/testsuite/@errors)", "0");
    expect_xpath(xp, "count(//testcase/skipped[@type='not_run'])", "3");
    expect_xpath(xp, "count(//property[@name='interrupted'])", "0");
    expect_xpath(xp, "string(//testcase[@name='beta#2']/skipped/@message)",
                 "not started: an earlier run did not pass (--keep-going runs them all)");
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
}

static char *table(const fl_report_t *r)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    fl_report_print_table(r, f, false);
    fclose(f);
    return buf;
}

Test(not_run, table_says_interrupted_and_shows_no_score)
{
    fl_report_t r = report(true);
    char *t = table(&r);
    cr_expect_not_null(strstr(t, "INTERRUPTED: 3 of 4 runs not run, no score  (1 correct)"), "%s",
                       t);
    cr_expect_null(strstr(t, "score 100"), "%s", t);
    cr_expect_not_null(strstr(t, "alpha#2"), "%s", t);
    cr_expect_not_null(strstr(t, "interrupted while running"), "%s", t);
    cr_expect_not_null(strstr(t, "beta#2"), "%s", t);
    free(t);

    r.interrupted = false;
    t = table(&r);
    cr_expect_not_null(strstr(t, "score 100.0/100  (1 correct); 3 not run"), "%s", t);
    cr_expect_not_null(strstr(t, "not started: an earlier run did not pass"), "%s", t);
    free(t);
}

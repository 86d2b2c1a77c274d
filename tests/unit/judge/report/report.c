/* Reports: the JSON report read back, JUnit XML validated against tests/data/junit.xsd, the
 * table with and without color, and the errors a bad path gives. */
#include "base/error.h"
#include "judge/evidence.h"
#include "judge/report.h"
#include "load/load.h"
#include "model/scenario.h"
#include "judge/verdict.h"

#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fl_scenario_t *sc_text, *sc_tool;
static fl_run_result_t items[3];
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

static void add_attempt(fl_evidence_t *ev, uint64_t start, int64_t end, const char *endname,
                        json_t *faults)
{
    ev->attempts = realloc(ev->attempts, (ev->n_attempts + 1) * sizeof(*ev->attempts));
    cr_assert_not_null(ev->attempts);
    fl_attempt_ev_t *a = &ev->attempts[ev->n_attempts];
    memset(a, 0, sizeof(*a));
    a->start_ms = start;
    a->end_ms = end;
    a->gap_ms = ev->n_attempts ? (int64_t)start - ev->attempts[ev->n_attempts - 1].end_ms : -1;
    a->retry_after_ms = -1;
    a->status = 200;
    a->stream = true;
    a->bytes = 640;
    a->events = 4;
    a->events_sent = 3;
    a->first_byte_ms = (int64_t)start + 1;
    a->last_byte_ms = end;
    a->sent_retry_after_ms = -1;
    snprintf(a->end, sizeof(a->end), "%s", endname);
    a->faults = faults;
    ev->n_attempts++;
}

/* Three runs: a correct one, a silent truncation whose stdout and stderr are hostile (bad
 * UTF-8, control characters, an XML end tag), and a hung tool-call run. */
static void setup(void)
{
    sc_text = load_yaml("faultline: 1\nname: truncated-reset\ndialect: openai-chat\n"
                        "response: {text: 'Caf\xc3\xa9 au lait, s''il vous pla\xc3\xaet.'}\n");
    sc_tool = load_yaml("faultline: 1\nname: tool-stall\ndialect: anthropic-messages\n"
                        "response:\n  tool_call: {name: get_weather, arguments: {city: Paris}}\n");

    fl_evidence_t *ev = &items[0].ev;
    fl_evidence_init(ev, sc_text, 1, 42);
    fl_buf_append_str(&ev->out, "Caf\xc3\xa9 au lait, s'il vous pla\xc3\xaet.\n");
    add_attempt(ev, 3, 120, "complete", json_array());
    ev->wall_ms = 130;

    ev = &items[1].ev;
    fl_evidence_init(ev, sc_text, 2, 42);
    fl_buf_append_str(&ev->out, "Caf\xc3");
    fl_buf_append_str(&ev->err, "warn: \x01\x02 odd bytes \xff\xfe </system-err> & \x1b[0m done\n");
    add_attempt(ev, 2, 60, "reset",
                json_pack("[{s:s, s:s, s:i, s:i, s:i}]", "fault", "reset", "description",
                          "reset at event 2", "event", 2, "byte", 40, "ms", 55));
    ev->wall_ms = 75;

    ev = &items[2].ev;
    fl_evidence_init(ev, sc_tool, 1, 42);
    ev->exit_kind = FL_EXIT_DEADLINE;
    add_attempt(ev, 5, -1, "in_progress",
                json_pack("[{s:s, s:s}]", "fault", "stall", "description", "stall forever"));
    ev->attempts[0].stalled = true;
    ev->wall_ms = 20000;

    for (int i = 0; i < 3; i++)
        fl_verdict_judge(&items[i].ev, &items[i].j);
    cr_assert_eq(items[0].j.verdict, FL_VERDICT_CORRECT, "%s", items[0].j.reason);
    cr_assert_eq(items[1].j.verdict, FL_VERDICT_SILENT_TRUNCATION, "%s", items[1].j.reason);
    cr_assert_eq(items[2].j.verdict, FL_VERDICT_HUNG, "%s", items[2].j.reason);

    snprintf(dir, sizeof(dir), "/tmp/fl-report-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        fl_evidence_close(&items[i].ev);
    fl_scenario_free(sc_text);
    fl_scenario_free(sc_tool);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static fl_report_t report(void)
{
    fl_report_t r = {
        .client = "python3 client.py --flag \xff",
        .seed = 42,
        .jobs = 2,
        .shard = NULL,
        .started = "2026-11-21T08:20:50.123Z",
        .wall_ms = 20210,
        .min_score = -1,
        .items = items,
        .n_items = 3,
    };
    return r;
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 20);

Test(report, score_and_failures)
{
    fl_report_t r = report();
    cr_expect_float_eq(fl_report_score(&r), 100.0 / 3.0, 1e-9);
    cr_expect_eq(fl_report_failures(&r), 2);
    r.n_items = 0;
    cr_expect_float_eq(fl_report_score(&r), 100.0, 1e-9);
    cr_expect_eq(fl_report_failures(&r), 0);
}

Test(report, json_round_trip)
{
    fl_report_t r = report();
    char path[128];
    snprintf(path, sizeof(path), "%s/report.json", dir);
    fl_diag_t diag;
    cr_assert_eq(fl_report_write_json(&r, path, &diag), 0, "%s", diag.message);

    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    cr_assert_not_null(root, "report does not parse: %s", e.text);
    static const char *const top[] = {"faultline", "client",  "seed",     "jobs",      "shard",
                                      "started",   "wall_ms", "score",    "min_score", "passed",
                                      "failed",    "counts",  "findings", "runs"};
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
        cr_expect_not_null(json_object_get(root, top[i]), "missing %s", top[i]);
    cr_expect_gt(strlen(json_string_value(json_object_get(root, "faultline"))), 0);
    cr_expect_str_eq(json_string_value(json_object_get(root, "client")),
                     "python3 client.py --flag \xef\xbf\xbd");
    cr_expect_eq(json_integer_value(json_object_get(root, "seed")), 42);
    cr_expect(json_is_null(json_object_get(root, "min_score")));
    cr_expect(json_is_null(json_object_get(root, "shard")));
    cr_expect_eq(json_integer_value(json_object_get(root, "passed")), 1);
    cr_expect_eq(json_integer_value(json_object_get(root, "failed")), 2);

    json_t *counts = json_object_get(root, "counts");
    cr_expect_eq(json_object_size(counts), FL_VERDICT_COUNT);
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++)
        cr_expect(json_is_integer(json_object_get(counts, fl_verdict_name((fl_verdict_t)v))),
                  "counts lacks %s", fl_verdict_name((fl_verdict_t)v));
    cr_expect_eq(json_integer_value(json_object_get(counts, "hung")), 1);
    json_t *findings = json_object_get(root, "findings");
    size_t n_findings = 0; /* every finding of the catalog, each present */
#define X(name, s, bit) n_findings++;
    FL_FINDING_MAP(X)
#undef X
    cr_expect_eq(json_object_size(findings), n_findings);
    cr_expect_eq(json_integer_value(json_object_get(findings, "stall_undetected")), 1);

    json_t *runs = json_object_get(root, "runs");
    cr_assert_eq(json_array_size(runs), 3);
    json_t *t = json_array_get(runs, 1);
    cr_expect_str_eq(json_string_value(json_object_get(t, "scenario")), "truncated-reset");
    cr_expect_str_eq(json_string_value(json_object_get(t, "dialect")), "openai-chat");
    cr_expect_eq(json_integer_value(json_object_get(t, "repeat")), 2);
    cr_expect_str_eq(json_string_value(json_object_get(t, "verdict")), "silent_truncation");
    cr_expect_eq(json_integer_value(json_object_get(t, "score")), 0);
    cr_expect(json_is_false(json_object_get(t, "passed")));
    /* the cut-off é is one bad byte: U+FFFD */
    cr_expect_str_eq(json_string_value(json_object_get(t, "stdout")), "Caf\xef\xbf\xbd");
    cr_expect(json_is_false(json_object_get(t, "stdout_truncated")));
    const char *tail = json_string_value(json_object_get(t, "stderr_tail"));
    cr_assert_not_null(tail);
    cr_expect_not_null(strstr(tail, "\x01\x02 odd bytes \xef\xbf\xbd\xef\xbf\xbd </system-err>"));
    json_t *diff = json_object_get(t, "diff");
    cr_assert(json_is_object(diff));
    cr_expect_eq(json_integer_value(json_object_get(diff, "at")), 4); /* \xc3 matched */
    cr_expect_str_eq(json_string_value(json_object_get(diff, "got")), "Caf\xef\xbf\xbd");
    cr_expect_not_null(strstr(json_string_value(json_object_get(diff, "expected")), "Caf\xc3\xa9"));
    json_t *exit = json_object_get(t, "exit");
    cr_expect_str_eq(json_string_value(json_object_get(exit, "kind")), "code");
    cr_expect_eq(json_integer_value(json_object_get(exit, "code")), 0);
    cr_expect(json_is_null(json_object_get(exit, "signal")));
    json_t *a = json_array_get(json_object_get(t, "attempts"), 0);
    static const char *const akeys[] = {
        "n",      "start_ms",    "end_ms", "gap_ms",        "retry_after_ms", "sent_retry_after_ms",
        "status", "stream",      "end",    "first_byte_ms", "last_byte_ms",   "bytes",
        "events", "events_sent", "faults"};
    for (size_t i = 0; i < sizeof(akeys) / sizeof(akeys[0]); i++)
        cr_expect_not_null(json_object_get(a, akeys[i]), "attempt lacks %s", akeys[i]);
    cr_expect_eq(json_integer_value(json_object_get(a, "n")), 1);
    cr_expect(json_is_null(json_object_get(a, "gap_ms")));
    /* what was sent beside what passed, and when the bytes went out */
    cr_expect_eq(json_integer_value(json_object_get(a, "events_sent")), 3);
    cr_expect_eq(json_integer_value(json_object_get(a, "events")), 4);
    cr_expect_eq(json_integer_value(json_object_get(a, "first_byte_ms")), 3);
    cr_expect_eq(json_integer_value(json_object_get(a, "last_byte_ms")), 60);
    cr_expect(json_is_null(json_object_get(a, "sent_retry_after_ms")));
    cr_expect_str_eq(json_string_value(json_object_get(a, "end")), "reset");
    cr_expect_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(a, "faults"), 0), "fault")),
                     "reset");

    json_t *c = json_array_get(runs, 0);
    cr_expect(json_is_null(json_object_get(c, "diff")));
    cr_expect_eq(json_array_size(json_object_get(c, "findings")), 0);
    json_t *h = json_array_get(runs, 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(h, "exit"), "kind")),
                     "deadline");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(h, "findings"), 0)),
                     "stall_undetected");
    cr_expect(
        json_is_null(json_object_get(json_array_get(json_object_get(h, "attempts"), 0), "end_ms")));
    cr_expect_str_eq(json_string_value(json_object_get(h, "expected")),
                     "{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}");
    json_decref(root);

    /* nothing left beside it: the temporary file was renamed */
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) -eq 1", dir);
    cr_expect_eq(system(cmd), 0);
}

/* The string value of an XPath expression; caller frees with xmlFree. */
static xmlChar *xpath_str(xmlXPathContextPtr xp, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xp);
    cr_assert_not_null(o, "%s", expr);
    xmlChar *v = xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    return v;
}

/* One XPath expression over a JUnit document and the string it must give. */
typedef struct {
    const char *expr;
    const char *want;
} xpath_case_t;

static void expect_xpaths(xmlXPathContextPtr xp, const xpath_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        xmlChar *v = xpath_str(xp, cases[i].expr);
        cr_expect_str_eq((const char *)v, cases[i].want, "%s", cases[i].expr);
        xmlFree(v);
    }
}

/* Writes r as JUnit to dir/name and returns the parsed document, which must validate against
 * tests/data/junit.xsd (FL_SHOW_JUNIT=1 prints it). */
static xmlDocPtr junit_document(const fl_report_t *r, const char *name)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fl_diag_t diag;
    cr_assert_eq(fl_report_write_junit(r, path, &diag), 0, "%s", diag.message);

    if (getenv("FL_SHOW_JUNIT")) {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "cat '%s' >&2", path);
        cr_expect_eq(system(cmd), 0);
    }
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    cr_assert_not_null(doc, "JUnit file does not parse");
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(FL_TESTDATA_DIR "/junit.xsd");
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    cr_assert_not_null(schema, "junit.xsd does not parse");
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    cr_expect_eq(xmlSchemaValidateDoc(vc, doc), 0, "JUnit file does not validate");
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
    return doc;
}

Test(report, junit_validates)
{
    fl_report_t r = report();
    xmlDocPtr doc = junit_document(&r, "junit.xml");
    xmlXPathContextPtr xp = xmlXPathNewContext(doc);
    static const xpath_case_t checks[] = {
        {"string(/testsuites/testsuite/@tests)", "3"},
        {"string(/testsuites/testsuite/@failures)", "2"},
        {"string(/testsuites/testsuite/@errors)", "0"},
        {"string(/testsuites/testsuite/@skipped)", "0"},
        {"string(/testsuites/testsuite/@time)", "20.210"},
        {"count(/testsuites/testsuite/testcase)", "3"},
        {"count(//testcase/failure)", "2"},
        {"string(//testcase[1]/@name)", "truncated-reset#1"},
        {"string(//testcase[2]/@name)", "truncated-reset#2"},
        {"string(//testcase[2]/@classname)", "openai-chat"},
        {"string(//testcase[2]/@time)", "0.075"},
        {"string(//testcase[2]/failure/@type)", "silent_truncation"},
        {"string(//testcase[3]/failure/@type)", "hung"},
        {"string(//testcase[3]/@classname)", "anthropic-messages"},
        {"string(//property[@name='seed']/@value)", "42"},
    };
    expect_xpaths(xp, checks, sizeof(checks) / sizeof(checks[0]));
    xmlChar *err = xpath_str(xp, "string(//testcase[2]/system-err)");
    /* \x01 and \x02 dropped, bad bytes replaced, markup kept as text */
    cr_expect_not_null(strstr((const char *)err, "warn:  odd bytes \xef\xbf\xbd\xef\xbf\xbd "
                                                 "</system-err> & [0m done"),
                       "system-err: %s", err);
    xmlFree(err);
    xmlChar *msg = xpath_str(xp, "string(//testcase[2]/failure/@message)");
    cr_expect_eq(strncmp((const char *)msg, "silent_truncation: exit 0 with 4 of ", 36), 0, "%s",
                 msg);
    xmlFree(msg);
    xmlChar *ev = xpath_str(xp, "string(//testcase[2]/failure)");
    cr_expect_not_null(strstr((const char *)ev, "attempt 1: start 2 ms, end 60 ms"), "%s", ev);
    cr_expect_not_null(strstr((const char *)ev, "reset at event 2"), "%s", ev);
    cr_expect_not_null(strstr((const char *)ev, "first difference at byte 4"), "%s", ev);
    xmlFree(ev);

    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
}

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err; /* the rejection is what the test expects; its text is noise */
}

/* The schema is strict enough to catch a broken report. */
Test(report, xsd_rejects_a_bad_document)
{
    static const char bad[] = "<testsuites><testsuite name='x' tests='one' failures='0' "
                              "errors='0'><testcase name='a'/></testsuite></testsuites>";
    xmlDocPtr doc = xmlReadMemory(bad, sizeof(bad) - 1, "bad.xml", NULL, XML_PARSE_NONET);
    cr_assert_not_null(doc);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(FL_TESTDATA_DIR "/junit.xsd");
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    cr_assert_not_null(schema);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(vc, quiet, NULL);
    cr_expect_neq(xmlSchemaValidateDoc(vc, doc), 0);
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
    xmlFreeDoc(doc);
}

static char *table(bool color, size_t *len)
{
    fl_report_t r = report();
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    cr_assert_not_null(f);
    fl_report_print_table(&r, f, color);
    fclose(f);
    if (getenv("FL_SHOW_TABLE"))
        fputs(buf, stderr);
    return buf;
}

Test(report, table_plain)
{
    size_t len;
    char *t = table(false, &len);
    cr_expect_null(memchr(t, '\x1b', len), "escape bytes in a plain table:\n%s", t);
    cr_expect_not_null(strstr(t, "truncated-reset#1"));
    cr_expect_not_null(strstr(t, "truncated-reset#2"));
    cr_expect_not_null(strstr(t, "tool-stall#1"));
    cr_expect_not_null(strstr(t, "silent_truncation"));
    cr_expect_not_null(strstr(t, "score 33.3/100  (1 correct, 1 silent_truncation, 1 hung)"), "%s",
                       t);
    cr_expect_not_null(strstr(t, "findings: 1 stall_undetected"), "%s", t);
    /* every line fits in 100 columns (the table holds ASCII here, so bytes are columns) */
    for (char *line = t; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (strncmp(line, "score ", 6) != 0)
            cr_expect_leq(n, 100, "line too long: %.*s", (int)n, line);
        line += n + (nl != NULL);
    }
    free(t);
}

Test(report, table_color)
{
    size_t len;
    char *t = table(true, &len);
    cr_expect_not_null(strstr(t, "\x1b[32mcorrect"), "%s", t);
    cr_expect_not_null(strstr(t, "\x1b[31msilent_truncation"), "%s", t);
    cr_expect_not_null(strstr(t, "\x1b[1mscore 33.3/100"), "%s", t);
    free(t);
}

Test(report, unwritable_path_names_it)
{
    fl_report_t r = report();
    char path[160];
    snprintf(path, sizeof(path), "%s/no/such/dir/report.json", dir);
    fl_diag_t diag;
    cr_expect_eq(fl_report_write_json(&r, path, &diag), FL_EIO);
    cr_expect_str_eq(diag.file, path);
    cr_expect_not_null(strstr(diag.message, "No such file"), "%s", diag.message);
    cr_expect_eq(fl_report_write_junit(&r, path, &diag), FL_EIO);
    cr_expect_str_eq(diag.file, path);
}

/* ---- runs that got no verdict -------------------------------------------------------------- */

/* The report above plus three runs not judged: truncated-reset#3 cut short by the interruption,
 * tool-stall#2 and #3 never started. */
static fl_report_t with_not_run(fl_report_not_run_t nr[3], bool interrupted)
{
    nr[0] = (fl_report_not_run_t){.scenario = sc_text, .repeat = 3, .started = true};
    nr[1] = (fl_report_not_run_t){.scenario = sc_tool, .repeat = 2, .started = false};
    nr[2] = (fl_report_not_run_t){.scenario = sc_tool, .repeat = 3, .started = false};
    fl_report_t r = report();
    r.not_run = nr;
    r.n_not_run = 3;
    r.interrupted = interrupted;
    return r;
}

Test(report, json_complete_run_is_not_interrupted)
{
    fl_report_t r = report();
    json_t *root = fl_report_to_json(&r);
    cr_assert_not_null(root);
    cr_expect(json_is_false(json_object_get(root, "interrupted")));
    cr_expect_float_eq(json_real_value(json_object_get(root, "score")), 100.0 / 3.0, 1e-9);
    cr_expect(json_is_array(json_object_get(root, "not_run")));
    cr_expect_eq(json_array_size(json_object_get(root, "not_run")), 0);
    json_decref(root);
}

Test(report, json_interrupted_has_no_score_and_lists_the_runs_not_run)
{
    fl_report_not_run_t nr[3];
    fl_report_t r = with_not_run(nr, true);
    json_t *root = fl_report_to_json(&r);
    cr_assert_not_null(root);
    cr_expect(json_is_true(json_object_get(root, "interrupted")));
    /* a partial mean must never read as the client's score */
    cr_expect(json_is_null(json_object_get(root, "score")));
    cr_expect_eq(json_integer_value(json_object_get(root, "failed")), 2);
    cr_expect_eq(json_array_size(json_object_get(root, "runs")), 3);
    json_t *list = json_object_get(root, "not_run");
    cr_assert_eq(json_array_size(list), 3);
    static const char *const want[] = {"truncated-reset#3", "tool-stall#2", "tool-stall#3"};
    for (size_t i = 0; i < 3; i++)
        cr_expect_str_eq(json_string_value(json_array_get(list, i)), want[i]);
    json_decref(root);
}

Test(report, junit_interrupted_runs_are_errors_and_the_suite_is_marked)
{
    fl_report_not_run_t nr[3];
    fl_report_t r = with_not_run(nr, true);
    xmlDocPtr doc = junit_document(&r, "interrupted.xml");
    xmlXPathContextPtr xp = xmlXPathNewContext(doc);
    static const xpath_case_t checks[] = {
        {"string(/testsuites/@tests)", "6"},
        {"string(/testsuites/@errors)", "3"},
        {"string(/testsuites/testsuite/@tests)", "6"},
        {"string(/testsuites/testsuite/@failures)", "2"},
        {"string(/testsuites/testsuite/@errors)", "3"},
        {"string(/testsuites/testsuite/@skipped)", "0"},
        {"string(//property[@name='interrupted']/@value)", "true"},
        {"count(//testcase)", "6"},
        {"count(//testcase/error[@type='interrupted'])", "3"},
        {"count(//testcase/skipped)", "0"},
        {"string(//testcase[@name='truncated-reset#3']/error/@message)",
         "interrupted while running: its client was killed"},
        {"string(//testcase[@name='tool-stall#2']/error/@message)",
         "interrupted before it started"},
        {"string(//testcase[@name='tool-stall#3']/@classname)", "anthropic-messages"},
        {"count(//testcase[@name='truncated-reset#1']/error)", "0"},
    };
    expect_xpaths(xp, checks, sizeof(checks) / sizeof(checks[0]));
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
}

Test(report, junit_runs_not_started_after_a_failure_are_skipped)
{
    fl_report_not_run_t nr[3];
    fl_report_t r = with_not_run(nr, false);
    xmlDocPtr doc = junit_document(&r, "stopped.xml");
    xmlXPathContextPtr xp = xmlXPathNewContext(doc);
    static const xpath_case_t checks[] = {
        {"string(/testsuites/testsuite/@tests)", "6"},
        {"string(/testsuites/testsuite/@skipped)", "3"},
        {"string(/testsuites/testsuite/@errors)", "0"},
        {"count(//testcase/skipped[@type='not_run'])", "3"},
        {"count(//property[@name='interrupted'])", "0"},
        {"string(//testcase[@name='tool-stall#3']/skipped/@message)",
         "not started: an earlier run did not pass (-x/--exitfirst stops there)"},
    };
    expect_xpaths(xp, checks, sizeof(checks) / sizeof(checks[0]));
    xmlXPathFreeContext(xp);
    xmlFreeDoc(doc);
}

Test(report, table_says_interrupted_and_shows_no_score)
{
    fl_report_not_run_t nr[3];
    fl_report_t r = with_not_run(nr, true);
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    fl_report_print_table(&r, f, false);
    fclose(f);
    cr_expect_not_null(
        strstr(buf, "INTERRUPTED: 3 of 6 runs not run, no score  (1 correct, 1 silent_truncation, "
                    "1 hung)"),
        "%s", buf);
    cr_expect_null(strstr(buf, "score 33.3"), "%s", buf);
    cr_expect_not_null(strstr(buf, "truncated-reset#3  not run"), "%s", buf);
    cr_expect_not_null(strstr(buf, "interrupted while running"), "%s", buf);
    cr_expect_not_null(strstr(buf, "tool-stall#3"), "%s", buf);
    free(buf);

    r.interrupted = false;
    buf = NULL;
    f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    fl_report_print_table(&r, f, false);
    fclose(f);
    cr_expect_not_null(strstr(buf, "score 33.3/100  (1 correct, 1 silent_truncation, 1 hung); 3 "
                                   "not run; findings: 1 stall_undetected"),
                       "%s", buf);
    free(buf);
}

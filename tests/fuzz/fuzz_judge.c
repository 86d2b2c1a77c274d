/*
 * Fuzz target: the judge, journal -> evidence -> verdict -> reports (harness/judge/).
 *
 * Input layout (tests/fuzz/README.md):
 *   byte 0     the scenario, one of four built in below (text, tool call, raw events, error)
 *   byte 1     how the client ended: fl_exit_kind_t (mod 4)
 *   byte 2     its exit code or signal
 *   byte 3     bit 0/1 stdout/stderr truncated, bit 2 a colored table, bits 3-4 runs - 1 (the
 *              same evidence repeated, names get "#N"), bit 5 a shard, bit 6 a --min-score
 *   bytes 4-5  the journal-clock time of the spawn (ms, little endian)
 *   bytes 6-7  the client's wall time (ms)
 *   byte 8     the table's width
 *   then       the journal JSON, NUL, the client's stdout, NUL, its stderr, and when a NUL
 *              follows, the structured result file it wrote (README, client contract)
 * Each run's evidence is built from the journal (fl_evidence_add_journal) and the captures,
 * judged (fl_verdict_judge), and all runs are reported three ways: the JSON report and JUnit
 * written to files in a private temporary directory and read back (jansson, libxml2), and the
 * table into memory. Checked: the add keeps its contract, the verdict follows the decision order
 * of verdict.h and the score the rubric (0..100, passed exactly at 100), the reason is one
 * printable line, the JSON report parses with the runs, score and failures it was given, the
 * JUnit file is well-formed XML with one testcase per run, and the table has one line per run.
 */
#include "fuzz.h"

#include "base/error.h"
#include "judge/evidence.h"
#include "judge/report.h"
#include "judge/verdict.h"
#include "load/load.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define HEADER   9
#define MAX_RUNS 4

static const char *const yamls[] = {
    "faultline: 1\nname: text\ndialect: openai-chat\n"
    "response: {text: \"The answer, in words: caf\\u00e9 \\u2713.\", ttft_ms: 10}\n"
    "attempts:\n  - faults: [{reset: {at: {event: 3}}}]\n  - {}\n"
    "expect: {outcome: complete, max_attempts: 2, min_backoff_ms: 200}\n",

    "faultline: 1\nname: tool\ndialect: anthropic-messages\n"
    "response:\n  tool_call: {name: get_weather, arguments: {city: Paris, days: [1, 2]}}\n"
    "expect: {outcome: complete}\n",

    "faultline: 1\nname: raw\ndialect: openai-responses\n"
    "response:\n  events:\n    - {event: response.created, data: "
    "'{\"type\":\"response.created\"}'}\n"
    "    - {raw: \": comment\\n\\n\"}\n"
    "expect: {outcome: either, answer: \"Raw answer.\", respect_retry_after: true}\n",

    "faultline: 1\nname: error\ndialect: openai-chat\n"
    "response: {text: unused}\n"
    "attempts: [{faults: [{http_error: {status: 429, retry_after_s: 2}}]}]\n"
    "expect: {outcome: error, answer: \"\\u00e9t\\u00e9\", respect_retry_after: false}\n",
};
#define N_SCENARIOS (sizeof(yamls) / sizeof(yamls[0]))

static fl_scenario_t *scenarios[N_SCENARIOS];
static char dir[] = "/tmp/fl-fuzz-judge.XXXXXX";
static char json_path[64], junit_path[64];

static void cleanup(void)
{
    unlink(json_path);
    unlink(junit_path);
    rmdir(dir);
    for (size_t i = 0; i < N_SCENARIOS; i++)
        fl_scenario_free(scenarios[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (size_t i = 0; i < N_SCENARIOS; i++) {
        fl_diag_list_t d;
        fl_diag_list_init(&d);
        int rc =
            fl_scenario_load_string("judge.yaml", yamls[i], strlen(yamls[i]), &scenarios[i], &d);
        FZ_CHECK(rc == 0, "built-in scenario %zu: %s", i, d.len ? d.items[0].message : "?");
        fl_diag_list_close(&d);
    }
    FZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(json_path, sizeof(json_path), "%s/report.json", dir);
    snprintf(junit_path, sizeof(junit_path), "%s/report.xml", dir);
    atexit(cleanup);
    return 0;
}

/* Splits off the bytes up to the next NUL (or the end). */
static void next_part(const uint8_t **p, const uint8_t *end, const char **part, size_t *len)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    const uint8_t *stop = nul ? nul : end;
    *part = (const char *)*p;
    *len = (size_t)(stop - *p);
    *p = nul ? nul + 1 : end;
}

static void check_evidence(const fl_evidence_t *ev, const json_t *journal, int rc)
{
    FZ_CHECK(rc == 0 || rc == FL_EINVAL, "add_journal returned %d", rc);
    if (rc == FL_EINVAL) {
        FZ_CHECK(ev->n_attempts == 0 && ev->attempts == NULL, "EINVAL changed the evidence");
        return;
    }
    FZ_CHECK(ev->n_attempts == json_array_size(json_object_get(journal, "requests")),
             "%zu attempts for %zu requests", ev->n_attempts,
             json_array_size(json_object_get(journal, "requests")));
    for (size_t i = 0; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        FZ_CHECK(memchr(a->end, '\0', sizeof(a->end)) != NULL, "end not NUL-terminated");
        FZ_CHECK(a->status >= 0, "attempt %zu status %d", i, a->status);
        FZ_CHECK(a->end_ms >= -1 && a->retry_after_ms >= -1, "attempt %zu end %lld ra %lld", i,
                 (long long)a->end_ms, (long long)a->retry_after_ms);
        FZ_CHECK(json_is_array(a->faults), "attempt %zu faults not an array", i);
        if (i == 0)
            FZ_CHECK(a->gap_ms == -1 && a->retry_after_ms == -1, "first attempt has a gap");
    }
}

static bool exit0_verdict(fl_verdict_t v)
{
    return v == FL_VERDICT_CORRECT || v == FL_VERDICT_RECOVERED ||
           v == FL_VERDICT_SILENT_TRUNCATION || v == FL_VERDICT_DUPLICATED ||
           v == FL_VERDICT_CORRUPTED;
}

static void check_judgement(const fl_evidence_t *ev, const fl_judgement_t *j)
{
    unsigned all = 0;
#define X(name, s, bit) all |= (bit);
    FL_FINDING_MAP(X)
#undef X
    FZ_CHECK((unsigned)j->verdict < FL_VERDICT_COUNT, "verdict %d", (int)j->verdict);
    FZ_CHECK(strcmp(fl_verdict_name(j->verdict), "?") != 0, "verdict without a name");
    FZ_CHECK((j->findings & ~all) == 0, "unknown finding bits %#x", j->findings);
    int score = fl_verdict_base_score(j->verdict);
    for (unsigned bit = 1; bit & all; bit <<= 1)
        if (j->findings & bit)
            score -= fl_finding_penalty(bit);
    score = score < 0 ? 0 : score;
    FZ_CHECK(j->score >= 0 && j->score <= 100, "score %d", j->score);
    FZ_CHECK(j->score == score, "score %d, the rubric gives %d", j->score, score);
    FZ_CHECK(j->passed == (j->score == 100), "passed %d with score %d", j->passed, j->score);
    FZ_CHECK(memchr(j->reason, '\0', sizeof(j->reason)) != NULL, "reason not NUL-terminated");
    FZ_CHECK(j->reason[0] != '\0', "empty reason");
    for (const char *c = j->reason; *c; c++)
        FZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f, "reason holds control byte 0x%02x: %s",
                 (unsigned char)*c, j->reason);
    FZ_CHECK(j->diff_at >= -1 && (j->diff_at < 0 || (uint64_t)j->diff_at <= ev->out.len),
             "diff_at %lld of %zu bytes", (long long)j->diff_at, ev->out.len);

    /* The decision order of verdict.h / the README's rubric. */
    switch (ev->exit_kind) {
    case FL_EXIT_SPAWN:
        FZ_CHECK(j->verdict == FL_VERDICT_NO_REQUEST && j->findings == 0, "spawn failure: %s",
                 fl_verdict_name(j->verdict));
        break;
    case FL_EXIT_DEADLINE:
        FZ_CHECK(j->verdict == FL_VERDICT_HUNG, "deadline: %s", fl_verdict_name(j->verdict));
        break;
    case FL_EXIT_SIGNAL:
        FZ_CHECK(j->verdict == FL_VERDICT_CRASHED, "signal: %s", fl_verdict_name(j->verdict));
        break;
    case FL_EXIT_CODE:
        if (ev->n_attempts == 0)
            FZ_CHECK(j->verdict == FL_VERDICT_NO_REQUEST, "no request: %s",
                     fl_verdict_name(j->verdict));
        else if (ev->exit_code != 0)
            FZ_CHECK(j->verdict == FL_VERDICT_GAVE_UP || j->verdict == FL_VERDICT_FAILED_CLEANLY,
                     "exit %d: %s", ev->exit_code, fl_verdict_name(j->verdict));
        else
            FZ_CHECK(exit0_verdict(j->verdict), "exit 0: %s", fl_verdict_name(j->verdict));
        break;
    }
    if (j->verdict == FL_VERDICT_CORRECT)
        FZ_CHECK(!fl_evidence_any_fault(ev), "correct although a fault fired");
    if (j->verdict == FL_VERDICT_RECOVERED)
        FZ_CHECK(fl_evidence_any_fault(ev), "recovered although no fault fired");
}

static void check_json_report(const fl_report_t *rep)
{
    fl_diag_t diag;
    int rc = fl_report_write_json(rep, json_path, &diag);
    FZ_CHECK(rc == 0, "JSON report: %s", diag.message);
    json_error_t e;
    json_t *root = json_load_file(json_path, 0, &e);
    FZ_CHECK(root != NULL, "JSON report does not parse: %s at %d:%d", e.text, e.line, e.column);
    FZ_CHECK(json_array_size(json_object_get(root, "runs")) == rep->n_items, "runs");
    double score = json_number_value(json_object_get(root, "score"));
    FZ_CHECK(fabs(score - fl_report_score(rep)) < 1e-9 && score >= 0 && score <= 100,
             "score %f, report %f", score, fl_report_score(rep));
    FZ_CHECK((size_t)json_integer_value(json_object_get(root, "failed")) == fl_report_failures(rep),
             "failed");
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(root, "runs"), i, run)
    {
        const char *v = json_string_value(json_object_get(run, "verdict"));
        FZ_CHECK(v && strcmp(v, fl_verdict_name(rep->items[i].j.verdict)) == 0, "run %zu verdict",
                 i);
    }
    json_decref(root);
}

static size_t count_testcases(xmlNode *n)
{
    size_t k = 0;
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "testcase") == 0)
            k++;
        k += count_testcases(n->children);
    }
    return k;
}

static void check_junit(const fl_report_t *rep)
{
    fl_diag_t diag;
    int rc = fl_report_write_junit(rep, junit_path, &diag);
    FZ_CHECK(rc == 0, "JUnit report: %s", diag.message);
    xmlDoc *doc = xmlReadFile(junit_path, NULL, XML_PARSE_NONET);
    FZ_CHECK(doc != NULL, "JUnit report is not well-formed XML");
    xmlNode *root = xmlDocGetRootElement(doc);
    FZ_CHECK(root && xmlStrcmp(root->name, BAD_CAST "testsuites") == 0, "JUnit root");
    FZ_CHECK(count_testcases(root) == rep->n_items, "%zu testcases for %zu runs",
             count_testcases(root), rep->n_items);
    xmlFreeDoc(doc);
}

static void check_table(const fl_report_t *rep, bool color)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FZ_CHECK(f != NULL, "open_memstream");
    fl_report_print_table(rep, f, color);
    FZ_CHECK(fclose(f) == 0, "fclose");
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += text[i] == '\n';
        FZ_CHECK(color || text[i] != '\033', "an escape sequence in an uncolored table");
    }
    /* header, one line per run, a blank line, the score */
    FZ_CHECK(lines == rep->n_items + 3, "%zu table lines for %zu runs:\n%s", lines, rep->n_items,
             text);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    const fl_scenario_t *sc = scenarios[data[0] % N_SCENARIOS];
    fl_exit_kind_t kind = (fl_exit_kind_t)(data[1] % 4);
    int code = data[2];
    unsigned flags = data[3];
    size_t n_runs = 1 + ((flags >> 3) & 3);
    uint64_t spawn_ms = (uint64_t)(data[4] | data[5] << 8);
    uint64_t wall_ms = (uint64_t)(data[6] | data[7] << 8);
    const uint8_t *p = data + HEADER, *end = data + size;
    const char *jtext, *out, *err, *res = NULL;
    size_t jlen, out_len, err_len, res_len = 0;
    next_part(&p, end, &jtext, &jlen);
    next_part(&p, end, &out, &out_len);
    const uint8_t *before_err = p;
    next_part(&p, end, &err, &err_len);
    bool has_result = (size_t)(p - before_err) == err_len + 1; /* a NUL ended stderr */
    if (has_result)
        next_part(&p, end, &res, &res_len);

    json_t *journal = json_loadb(jtext, jlen, 0, NULL);
    fl_run_result_t runs[MAX_RUNS];
    for (size_t i = 0; i < n_runs; i++) {
        fl_evidence_t *ev = &runs[i].ev;
        fl_evidence_init(ev, sc, (unsigned)i + 1, 42);
        if (journal)
            check_evidence(ev, journal,
                           fl_evidence_add_journal(ev, journal, spawn_ms, spawn_ms + wall_ms));
        FZ_CHECK(fl_buf_append(&ev->out, out, out_len) == 0, "oom");
        FZ_CHECK(fl_buf_append(&ev->err, err, err_len) == 0, "oom");
        if (has_result) {
            ev->result_found = true;
            FZ_CHECK(fl_buf_append(&ev->result, res ? res : "", res_len) == 0, "oom");
        }
        ev->out_truncated = flags & 1;
        ev->err_truncated = flags & 2;
        ev->exit_kind = kind;
        ev->exit_code = kind == FL_EXIT_CODE ? code : 0;
        ev->term_signal = kind == FL_EXIT_SIGNAL ? code : 0;
        if (kind == FL_EXIT_SPAWN)
            snprintf(ev->spawn_error, sizeof(ev->spawn_error), "%s", uv_strerror(UV_ENOENT));
        ev->wall_ms = wall_ms;
        fl_verdict_judge(ev, &runs[i].j);
        check_judgement(ev, &runs[i].j);
    }
    json_decref(journal);

    fl_report_t rep = {.client = "fuzz-client --mode 'x'",
                       .seed = 42,
                       .jobs = 2,
                       .shard = (flags & 0x20) ? "1/2" : NULL,
                       .started = "2025-01-01T00:00:00Z",
                       .wall_ms = wall_ms,
                       .min_score = (flags & 0x40) ? 90.0 : -1,
                       .table_cols = data[8],
                       .items = runs,
                       .n_items = n_runs};
    check_json_report(&rep);
    check_junit(&rep);
    check_table(&rep, flags & 4);
    for (size_t i = 0; i < n_runs; i++)
        fl_evidence_close(&runs[i].ev);
    return 0;
}

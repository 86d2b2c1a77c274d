/* The Markdown summary (--summary): read back line by line. Client text is hostile (table
 * pipes, HTML, markup, control bytes, bad UTF-8) and must stay inside its cell as typed; the
 * file is appended to; the decision follows the exit-status rule; a bad path is an error. */
#include "base/error.h"
#include "base/text.h"
#include "base/version.h"
#include "judge/evidence.h"
#include "judge/report.h"
#include "judge/verdict.h"
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fl_scenario_set_t set; /* run-clean (openai-chat), anthropic-text */
static fl_run_result_t runs[2];
static char tmpdir[64];
static char path[128];

#define HOSTILE_CLIENT "node 'my|client' <b>x</b>"
#define HOSTILE_REASON                                                                             \
    "got a | b <script>x</script> *bold* `code` [l](u) &amp; $x$ @team \x01\ttab \xff end"
/* HOSTILE_REASON as the summary must write it. */
#define ESCAPED_REASON                                                                             \
    "got a \\| b \\<script\\>x\\</script\\> \\*bold\\* \\`code\\` \\[l\\](u) \\&amp; \\$x\\$ "     \
    "\\@team   tab \xef\xbf\xbd end"

static void judged(fl_run_result_t *r, fl_scenario_t *sc, fl_verdict_t v, int score,
                   const char *reason)
{
    fl_evidence_init(&r->ev, sc, 1, 0);
    r->j.verdict = v;
    r->j.score = score;
    r->j.passed = score == 100;
    r->j.diff_at = -1;
    snprintf(r->j.reason, sizeof(r->j.reason), "%s", reason);
}

static void setup(void)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_set_init(&set);
    cr_assert_eq(fl_scenario_set_load(&set, FL_TESTDATA_DIR "/run/clean.yaml", &d), 0);
    cr_assert_eq(
        fl_scenario_set_load(&set, FL_SOURCE_DIR "/scenarios/clean/anthropic-text.yaml", &d), 0);
    fl_diag_list_close(&d);
    cr_assert_eq(set.len, 2);
    judged(&runs[0], set.items[0], FL_VERDICT_CORRECT, 100, "exit 0 with the exact answer");
    judged(&runs[1], set.items[1], FL_VERDICT_DUPLICATED, 0, HOSTILE_REASON);
    runs[1].j.findings = FL_FINDING_NO_BACKOFF | FL_FINDING_RETRY_STORM;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl-summary-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/summary.md", tmpdir);
}

static void teardown(void)
{
    for (size_t i = 0; i < 2; i++)
        fl_evidence_close(&runs[i].ev);
    fl_scenario_set_close(&set);
    unlink(path);
    rmdir(tmpdir);
}

TestSuite(summary, .init = setup, .fini = teardown, .timeout = 20);

static fl_report_t report(size_t n, double min_score)
{
    return (fl_report_t){.client = HOSTILE_CLIENT,
                         .seed = 7,
                         .jobs = 4,
                         .shard = "2/3",
                         .wall_ms = 1500,
                         .min_score = min_score,
                         .items = runs,
                         .n_items = n};
}

/* The whole file, NUL-terminated; caller frees. */
static char *slurp(size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *buf = malloc(1 << 16);
    cr_assert_not_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Writes r's summary (appending) and returns the whole file, as slurp. */
static char *write_and_read(const fl_report_t *r, size_t *len)
{
    fl_diag_t d;
    cr_assert_eq(fl_report_write_summary(r, path, &d), 0, "%s", d.message);
    return slurp(len);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(summary, failed_run_reads_back)
{
    fl_report_t r = report(2, -1);
    size_t len;
    char *md = write_and_read(&r, &len);
    cr_assert(fl_utf8_valid(md, len), "the summary is not valid UTF-8");
    cr_assert(strncmp(md, "### Faultline: failed, score 50.0/100\n\n", 39) == 0, "%s", md);
    cr_assert_not_null(strstr(md, "Client: node 'my\\|client' \\<b\\>x\\</b\\>  \n"), "%s", md);
    cr_assert_not_null(
        strstr(md, "2 runs: 1 passed, 1 did not (1 correct, 1 duplicated; findings: 1 retry_storm, "
                   "1 no_backoff)  \n"),
        "%s", md);
    const char *bad_row =
        "| anthropic-text | anthropic-messages | **duplicated** | 0 | " ESCAPED_REASON " |\n";
    const char *failed = strstr(md, "#### Did not pass (1)\n\n| scenario | dialect | verdict |");
    cr_assert_not_null(failed, "%s", md);
    const char *all = strstr(md, "<details><summary>All 2 runs</summary>\n\n");
    cr_assert_not_null(all, "%s", md);
    cr_assert(failed < all);
    /* the failure is in both tables, the correct run only in the full one */
    cr_assert_eq(count(md, bad_row), 2, "%s", md);
    const char *ok_row =
        "| run-clean | openai-chat | correct | 100 | exit 0 with the exact answer |\n";
    cr_assert_eq(count(md, ok_row), 1, "%s", md);
    cr_assert(strstr(md, ok_row) > all);
    cr_assert_not_null(strstr(md, "\n</details>\n"));
    char footer[160];
    snprintf(footer, sizeof(footer),
             "<sub>faultline %s · seed 7 · -j 4 · shard 2/3 · 1.5 s</sub>\n", FL_VERSION);
    cr_assert_not_null(strstr(md, footer), "%s", md);
    /* Client text opened no HTML and broke no table row: every row has exactly six unescaped
     * pipes, and the only control character is the line feed. */
    cr_assert_null(strstr(md, "<script>"));
    cr_assert_null(strstr(md, "<b>"));
    for (const char *line = md; *line;) {
        const char *end = strchr(line, '\n');
        cr_assert_not_null(end, "the summary does not end with a line feed");
        if (line[0] == '|') {
            int pipes = 0;
            for (const char *p = line; p < end; p++)
                pipes += *p == '|' && (p == line || p[-1] != '\\');
            cr_assert_eq(pipes, 6, "row with %d cells: %.*s", pipes - 1, (int)(end - line), line);
        }
        for (const char *p = line; p < end; p++)
            cr_assert((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in: %.*s",
                      (int)(end - line), line);
        line = end + 1;
    }
    free(md);
}

Test(summary, appends)
{
    fl_report_t r = report(2, -1);
    size_t first_len, len;
    char *first = write_and_read(&r, &first_len);
    r.n_items = 1; /* a second step writes a different, passing run */
    char *md = write_and_read(&r, &len);
    cr_assert_gt(len, first_len);
    cr_assert(memcmp(md, first, first_len) == 0, "the first summary was rewritten");
    cr_assert(strncmp(md + first_len, "### Faultline: passed, score 100.0/100\n", 39) == 0, "%s",
              md + first_len);
    cr_assert_eq(count(md, "### Faultline: "), 2);
    free(first);
    free(md);
}

Test(summary, min_score_decides)
{
    fl_report_t r = report(2, 40);
    char *md = write_and_read(&r, NULL);
    cr_assert(strncmp(md, "### Faultline: passed, score 50.0/100\n", 38) == 0, "%s", md);
    cr_assert_not_null(strstr(md, "--min-score 40.0: reached  \n"), "%s", md);
    /* the run that did not pass is still listed */
    cr_assert_not_null(strstr(md, "#### Did not pass (1)"));
    free(md);
    unlink(path);
    r.min_score = 60;
    md = write_and_read(&r, NULL);
    cr_assert(strncmp(md, "### Faultline: failed, score 50.0/100\n", 38) == 0, "%s", md);
    cr_assert_not_null(strstr(md, "--min-score 60.0: not reached  \n"), "%s", md);
    free(md);
}

Test(summary, no_runs)
{
    fl_report_t r = report(0, -1);
    char *md = write_and_read(&r, NULL);
    cr_assert(strncmp(md, "### Faultline: passed, score 100.0/100\n", 39) == 0, "%s", md);
    cr_assert_not_null(strstr(md, "0 runs: 0 passed, 0 did not  \n"), "%s", md);
    cr_assert_null(strstr(md, "| scenario |"), "a table for no runs: %s", md);
    cr_assert_null(strstr(md, "<details>"));
    free(md);
}

Test(summary, bad_path)
{
    fl_report_t r = report(2, -1);
    fl_diag_t d;
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/missing/summary.md", tmpdir);
    cr_assert_eq(fl_report_write_summary(&r, bad, &d), FL_EIO);
    cr_assert_str_eq(d.file, bad);
    cr_assert(strncmp(d.message, "cannot open for appending: ", 27) == 0, "%s", d.message);
}

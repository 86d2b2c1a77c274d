/*
 * The Markdown summary of a run (`faultline run --summary PATH`), for a CI job's page: GitHub
 * Actions renders the file named by $GITHUB_STEP_SUMMARY as GitHub-flavored Markdown
 * (docs.github.com, "Adding a job summary"). A heading with the score and the decision, the
 * verdict and finding counts, a table of the runs that did not pass, every run in a collapsed
 * <details> table, and the version that wrote it.
 *
 * Client text (the command, reasons quoting its output) is arbitrary bytes: it is made valid
 * UTF-8, kept on one line, and every character that could start markup is backslash-escaped
 * (CommonMark lets any ASCII punctuation be escaped), so it renders as typed, never as a link,
 * a table cell break or HTML.
 */
#include "judge/report.h"

#include "base/text.h"
#include "base/version.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

/* Characters that start markup in a GFM paragraph or table cell ('$' opens math on GitHub). */
#define MD_SPECIAL "\\`*_[]<>|~&$@!#"

/* Appends s[0, n) as Markdown text on one line: bad UTF-8 becomes U+FFFD, control characters
 * a space, markup characters escaped. Returns 0 or FL_ENOMEM. */
static int md_text(fl_buf_t *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = fl_utf8_char_len(s + i, n - i);
        if (k == 1 && c >= 0x80)
            rc = fl_buf_append(b, "\xef\xbf\xbd", 3);
        else if (c < 0x20 || c == 0x7f)
            rc = fl_buf_append(b, " ", 1);
        else if (k == 1 && strchr(MD_SPECIAL, c))
            rc = fl_buf_printf(b, "\\%c", c);
        else
            rc = fl_buf_append(b, s + i, k);
        i += k;
    }
    return rc;
}

static int md_str(fl_buf_t *b, const char *s)
{
    return md_text(b, s ? s : "", s ? strlen(s) : 0);
}

/* Whether the run passed by the same rule as the exit status of `faultline run`. */
static bool run_passed(const fl_report_t *r)
{
    return r->min_score >= 0 ? fl_report_score(r) >= r->min_score : fl_report_failures(r) == 0;
}

/* "80 correct, 3 recovered" and, after "; findings: ", each finding with its count. */
static int counts_line(fl_buf_t *b, const fl_report_t *r)
{
    size_t counts[FL_VERDICT_COUNT] = {0};
    for (size_t i = 0; i < r->n_items; i++)
        if ((unsigned)r->items[i].j.verdict < FL_VERDICT_COUNT)
            counts[r->items[i].j.verdict]++;
    int rc = 0;
    const char *sep = "";
    for (unsigned v = 0; v < FL_VERDICT_COUNT && !rc; v++) {
        if (!counts[v])
            continue;
        rc = fl_buf_printf(b, "%s%zu %s", sep, counts[v], fl_verdict_name((fl_verdict_t)v));
        sep = ", ";
    }
    static const struct {
        const char *name;
        unsigned bit;
    } findings[] = {
#define X(fname, s, bit) {s, bit},
        FL_FINDING_MAP(X)
#undef X
    };
    sep = "; findings: ";
    for (size_t f = 0; f < sizeof(findings) / sizeof(findings[0]) && !rc; f++) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_items; i++)
            n += (r->items[i].j.findings & findings[f].bit) != 0;
        if (n) {
            rc = fl_buf_printf(b, "%s%zu %s", sep, n, findings[f].name);
            sep = ", ";
        }
    }
    return rc;
}

/* One table of runs: every run (failed_only false) or those that did not pass. */
static int runs_table(fl_buf_t *b, const fl_report_t *r, bool failed_only)
{
    bool repeated = false;
    for (size_t i = 0; i < r->n_items; i++)
        repeated |= r->items[i].ev.repeat > 1;
    int rc = fl_buf_append_str(b, "| scenario | dialect | verdict | score | reason |\n"
                                  "|---|---|---|--:|---|\n");
    for (size_t i = 0; i < r->n_items && !rc; i++) {
        const fl_run_result_t *it = &r->items[i];
        if (failed_only && it->j.passed)
            continue;
        rc = fl_buf_append_str(b, "| ");
        if (!rc)
            rc = md_str(b, it->ev.scenario->name);
        if (!rc && repeated)
            rc = fl_buf_printf(b, " \\#%u", it->ev.repeat);
        if (!rc)
            rc = fl_buf_printf(b, " | %s | %s%s%s | %d | ",
                               fl_dialect_name(it->ev.scenario->dialect), it->j.passed ? "" : "**",
                               fl_verdict_name(it->j.verdict), it->j.passed ? "" : "**",
                               it->j.score);
        if (!rc)
            rc = md_str(b, it->j.reason);
        if (!rc)
            rc = fl_buf_append_str(b, " |\n");
    }
    return rc;
}

/* The whole document. */
static int summary_document(fl_buf_t *b, const fl_report_t *r)
{
    size_t failed = fl_report_failures(r);
    bool ok = run_passed(r);
    int rc = fl_buf_printf(b, "### Faultline: %s, score %.1f/100\n\n", ok ? "passed" : "failed",
                           fl_report_score(r));
    if (!rc)
        rc = fl_buf_append_str(b, "Client: ");
    if (!rc)
        rc = md_str(b, r->client);
    if (!rc)
        rc = fl_buf_printf(b, "  \n%zu run%s: %zu passed, %zu did not", r->n_items,
                           r->n_items == 1 ? "" : "s", r->n_items - failed, failed);
    if (!rc && r->n_items)
        rc = fl_buf_append_str(b, " (");
    if (!rc && r->n_items)
        rc = counts_line(b, r);
    if (!rc && r->n_items)
        rc = fl_buf_append_str(b, ")");
    if (!rc)
        rc = fl_buf_append_str(b, "  \n");
    if (!rc && r->min_score >= 0)
        rc = fl_buf_printf(b, "--min-score %.1f: %s  \n", r->min_score,
                           ok ? "reached" : "not reached");
    if (!rc && failed) {
        rc = fl_buf_printf(b, "\n#### Did not pass (%zu)\n\n", failed);
        if (!rc)
            rc = runs_table(b, r, true);
    }
    if (!rc && r->n_items) {
        rc = fl_buf_printf(b, "\n<details><summary>All %zu runs</summary>\n\n", r->n_items);
        if (!rc)
            rc = runs_table(b, r, false);
        if (!rc)
            rc = fl_buf_append_str(b, "\n</details>\n");
    }
    if (!rc)
        rc = fl_buf_printf(b,
                           "\n<sub>faultline %s · seed %" PRIu64 " · -j %u%s%s · %.1f s</sub>\n\n",
                           FL_VERSION, r->seed, r->jobs, r->shard ? " · shard " : "",
                           r->shard ? r->shard : "", (double)r->wall_ms / 1000.0);
    return rc;
}

static int fail_diag(fl_diag_t *diag, const char *path, const char *message, int rc)
{
    if (diag) {
        memset(diag, 0, sizeof(*diag));
        snprintf(diag->file, sizeof(diag->file), "%s", path);
        snprintf(diag->message, sizeof(diag->message), "%s", message);
    }
    return rc;
}

int fl_report_write_summary(const fl_report_t *r, const char *path, fl_diag_t *diag)
{
    fl_buf_t b;
    fl_buf_init(&b);
    char why[256];
    int rc = summary_document(&b, r);
    if (rc) {
        rc = fail_diag(diag, path, "out of memory building the summary", FL_ENOMEM);
        goto done;
    }
    /* One append of the whole document: another writer's text never lands inside it. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot open for appending: %s", strerror(errno));
        rc = fail_diag(diag, path, why, FL_EIO);
        goto done;
    }
    for (size_t off = 0; off < b.len;) {
        ssize_t k = write(fd, b.data + off, b.len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(why, sizeof(why), "cannot write: %s", strerror(errno));
            rc = fail_diag(diag, path, why, FL_EIO);
            break;
        }
        off += (size_t)k;
    }
    if (close(fd) != 0 && !rc) {
        snprintf(why, sizeof(why), "cannot write: %s", strerror(errno));
        rc = fail_diag(diag, path, why, FL_EIO);
    }
done:
    fl_buf_close(&b);
    return rc;
}

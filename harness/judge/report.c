/*
 * The reports of a run (report.h): what every format shares. The score and counts, client
 * text made safe for JSON and XML, the head, tail and diff windows on client output, and the
 * atomic file write and the check that a path can take a report. One file per format holds
 * its writer: report_json.c, report_junit.c, report_table.c, report_summary.c, report_html.c
 * (report_impl.h lists them).
 */
#include "judge/report.h"

#include "base/text.h"
#include "judge/report_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

double fl_report_score(const fl_report_t *r)
{
    if (r->n_items == 0)
        return 100.0;
    double sum = 0;
    for (size_t i = 0; i < r->n_items; i++)
        sum += r->items[i].j.score;
    return sum / (double)r->n_items;
}

size_t fl_report_failures(const fl_report_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_items; i++)
        n += !r->items[i].j.passed;
    return n;
}

void fl_report__count_verdicts(const fl_report_t *r, size_t counts[FL_VERDICT_COUNT])
{
    memset(counts, 0, FL_VERDICT_COUNT * sizeof(counts[0]));
    for (size_t i = 0; i < r->n_items; i++)
        if ((unsigned)r->items[i].j.verdict < FL_VERDICT_COUNT)
            counts[r->items[i].j.verdict]++;
}

size_t fl_report__count_finding(const fl_report_t *r, unsigned bit)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_items; i++)
        n += (r->items[i].j.findings & bit) != 0;
    return n;
}

/* ---- text cleaning and windows ---------------------------------------------------------- */

int fl_report__clean_text(fl_buf_t *b, const char *s, size_t n, bool xml)
{
    if (fl_buf_reserve(b, n + 1))
        return FL_ENOMEM;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = fl_utf8_char_len(s + i, n - i);
        int rc = 0;
        if (k == 1 && c >= 0x80) {
            rc = fl_buf_append(b, "\xef\xbf\xbd", 3);
        } else if (xml && k == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            rc = 0;
        } else if (xml && k == 3 && c == 0xef && (unsigned char)s[i + 1] == 0xbf &&
                   (unsigned char)s[i + 2] >= 0xbe) {
            rc = 0;
        } else {
            rc = fl_buf_append(b, s + i, k);
        }
        if (rc)
            return rc;
        i += k;
    }
    b->data[b->len] = '\0'; /* reserved above: terminated even when nothing was kept */
    return 0;
}

static bool is_continuation(const char *s, size_t i)
{
    return ((unsigned char)s[i] & 0xc0) == 0x80;
}

size_t fl_report__head_len(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t cut = max;
    for (int k = 0; k < 3 && cut > 0 && is_continuation(s, cut); k++)
        cut--;
    return cut;
}

size_t fl_report__tail_start(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return 0;
    size_t start = n - max;
    for (int k = 0; k < 3 && start < n && is_continuation(s, start); k++)
        start++;
    return start;
}

/* Bytes shown before and after the first difference in a diff window. */
#define DIFF_BEFORE 24
#define DIFF_AFTER  40

/* The window [*from, *to) of s around byte at, on character boundaries. */
static void window(const char *s, size_t n, size_t at, size_t *from, size_t *to)
{
    size_t a = at > n ? n : at;
    size_t f = a > DIFF_BEFORE ? a - DIFF_BEFORE : 0;
    for (int k = 0; k < 3 && f > 0 && f < n && is_continuation(s, f); k++)
        f--;
    size_t t = a + DIFF_AFTER < n ? a + DIFF_AFTER : n;
    for (int k = 0; k < 3 && t < n && is_continuation(s, t); k++)
        t++;
    *from = f;
    *to = t;
}

/* The stdout a report compares: one trailing newline (LF or CRLF) removed. */
static size_t compared_len(const fl_buf_t *out)
{
    size_t n = out->len;
    if (n >= 1 && out->data[n - 1] == '\n')
        n -= (n >= 2 && out->data[n - 2] == '\r') ? 2 : 1;
    return n;
}

bool fl_report__diff(const fl_run_result_t *it, fl_report__diff_t *d)
{
    const char *ans = fl_scenario_answer(it->ev.scenario);
    if (it->j.diff_at < 0 || !ans)
        return false;
    const char *out = it->ev.out.data ? it->ev.out.data : "";
    size_t f, t, ef, et;
    window(out, compared_len(&it->ev.out), (size_t)it->j.diff_at, &f, &t);
    window(ans, strlen(ans), (size_t)it->j.diff_at, &ef, &et);
    d->at = it->j.diff_at;
    d->expected = ans + ef;
    d->expected_len = et - ef;
    d->got = out + f;
    d->got_len = t - f;
    return true;
}

void fl_report__name(const fl_scenario_t *sc, unsigned repeat, bool repeated, char *buf, size_t n)
{
    if (repeated)
        snprintf(buf, n, "%s#%u", sc->name, repeat);
    else
        snprintf(buf, n, "%s", sc->name);
}

bool fl_report__any_repeat(const fl_report_t *r)
{
    for (size_t i = 0; i < r->n_items; i++)
        if (r->items[i].ev.repeat > 1)
            return true;
    for (size_t i = 0; i < r->n_not_run; i++)
        if (r->not_run[i].repeat > 1)
            return true;
    return false;
}

const char *fl_report__not_run_reason(const fl_report_t *r, const fl_report_not_run_t *nr)
{
    if (!r->interrupted)
        return "not started: an earlier run did not pass (-x/--exitfirst stops there)";
    return nr->started ? "interrupted while running: its client was killed"
                       : "interrupted before it started";
}

/* ---- files ------------------------------------------------------------------------------ */

static int io_error(fl_diag_t *diag, const char *path, const char *what, int err)
{
    if (diag) {
        memset(diag, 0, sizeof(*diag));
        snprintf(diag->file, sizeof(diag->file), "%s", path);
        snprintf(diag->message, sizeof(diag->message), "cannot %s: %s", what, strerror(err));
    }
    return FL_EIO;
}

int fl_report__oom(fl_diag_t *diag, const char *path)
{
    if (diag) {
        memset(diag, 0, sizeof(*diag));
        snprintf(diag->file, sizeof(diag->file), "%s", path);
        snprintf(diag->message, sizeof(diag->message), "out of memory building the report");
    }
    return FL_ENOMEM;
}

/* A new temporary file beside path, "<path>.tmp.XXXXXX", open; *tmp is owned by the caller.
 * Returns the descriptor, or -1 with errno set (*tmp NULL when out of memory). */
static int temp_beside(const char *path, char **tmp)
{
    size_t plen = strlen(path);
    *tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
    if (!*tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(*tmp, path, plen);
    memcpy(*tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
    return mkstemp(*tmp);
}

int fl_report_check_path(const char *path, bool append, fl_diag_t *diag)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return io_error(diag, path, "write a report to", EISDIR);
    if (append && stat(path, &st) == 0) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            return io_error(diag, path, "open for appending", errno);
        close(fd);
        return 0;
    }
    /* what the atomic write does first (and a summary that does not exist yet needs) */
    char *tmp;
    int fd = temp_beside(path, &tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return io_error(diag, path, "write a file in its folder", err);
    }
    close(fd);
    unlink(tmp);
    free(tmp);
    return 0;
}

int fl_report__write_atomic(const char *path, const char *data, size_t len, fl_diag_t *diag)
{
    char *tmp;
    int rc = 0;
    int fd = temp_beside(path, &tmp);
    if (!tmp)
        return fl_report__oom(diag, path);
    if (fd < 0) {
        rc = io_error(diag, path, "create a temporary file for", errno);
        goto fail_tmp;
    }
    for (size_t off = 0; off < len;) {
        ssize_t k = write(fd, data + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = io_error(diag, path, "write", errno);
            goto fail_fd;
        }
        off += (size_t)k;
    }
    /* mkstemp makes the file 0600; a report is an ordinary file for whoever reads it */
    if (fchmod(fd, 0644) != 0) {
        rc = io_error(diag, path, "set the mode of", errno);
        goto fail_fd;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = io_error(diag, path, "write", errno);
        goto fail_fd;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = io_error(diag, path, "rename the temporary file to", errno);
        goto fail_fd;
    }
    free(tmp);
    return 0;
fail_fd:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
fail_tmp:
    free(tmp);
    return rc;
}

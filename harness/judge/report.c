/*
 * The reports of a run: JSON (schema in README, "The JSON report"), JUnit XML and the table.
 *
 * Client output is arbitrary bytes. JSON strings must be UTF-8 and XML 1.0 forbids most
 * control characters, so every piece of client text goes through clean_text() first: bad
 * UTF-8 becomes U+FFFD, and for XML the forbidden characters are dropped.
 */
#include "judge/report.h"

#include "base/text.h"
#include "base/version.h"

#include <errno.h>
#include <inttypes.h>
#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FL_VERSION
#define FL_VERSION "unknown"
#endif

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

/* ---- text cleaning and windows ---------------------------------------------------------- */

/* Appends s[0, n) as valid UTF-8: a byte that starts no well-formed character becomes U+FFFD.
 * With xml, characters XML 1.0 forbids (C0 controls but TAB, LF, CR; U+FFFE, U+FFFF) are
 * dropped. Returns 0 or FL_ENOMEM. */
static int clean_text(fl_buf_t *b, const char *s, size_t n, bool xml)
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

/* A JSON string of client bytes, made valid UTF-8 first. NULL when out of memory. */
static json_t *jtext(const char *s, size_t n)
{
    fl_buf_t b;
    fl_buf_init(&b);
    json_t *v = NULL;
    if (clean_text(&b, s ? s : "", s ? n : 0, false) == 0)
        v = json_stringn(b.data ? b.data : "", b.len);
    fl_buf_close(&b);
    return v;
}

static bool is_continuation(const char *s, size_t i)
{
    return ((unsigned char)s[i] & 0xc0) == 0x80;
}

/* Length of the head of s kept under max bytes, not cutting a character in two. */
static size_t head_len(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t cut = max;
    for (int k = 0; k < 3 && cut > 0 && is_continuation(s, cut); k++)
        cut--;
    return cut;
}

/* Start of the tail of s kept under max bytes, not starting inside a character. */
static size_t tail_start(const char *s, size_t n, size_t max)
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

static const char *exit_kind_name(fl_exit_kind_t k)
{
    switch (k) {
    case FL_EXIT_CODE:
        return "code";
    case FL_EXIT_SIGNAL:
        return "signal";
    case FL_EXIT_DEADLINE:
        return "deadline";
    default:
        return "spawn";
    }
}

/* The stdout a report compares: one trailing newline (LF or CRLF) removed. */
static size_t compared_len(const fl_buf_t *out)
{
    size_t n = out->len;
    if (n >= 1 && out->data[n - 1] == '\n')
        n -= (n >= 2 && out->data[n - 2] == '\r') ? 2 : 1;
    return n;
}

/* A run's name in reports: the scenario, plus "#N" when the run repeats scenarios. */
static void run_name(const fl_run_result_t *it, bool repeated, char *buf, size_t n)
{
    if (repeated)
        snprintf(buf, n, "%s#%u", it->ev.scenario->name, it->ev.repeat);
    else
        snprintf(buf, n, "%s", it->ev.scenario->name);
}

static bool any_repeat(const fl_report_t *r)
{
    for (size_t i = 0; i < r->n_items; i++)
        if (r->items[i].ev.repeat > 1)
            return true;
    return false;
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* Sets key to a new reference; a NULL value (allocation failed) is an error. */
static int put(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1; /* which decrefs v when it fails */
}

static json_t *ms_or_null(int64_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *u64(uint64_t v)
{
    return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

static json_t *attempts_json(const fl_evidence_t *ev)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (size_t i = 0; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        bool gap_known = i > 0 && ev->attempts[i - 1].end_ms >= 0;
        json_t *o = json_object();
        if (!o || json_array_append_new(list, o) || put(o, "n", json_integer((json_int_t)i + 1)) ||
            put(o, "start_ms", u64(a->start_ms)) || put(o, "end_ms", ms_or_null(a->end_ms)) ||
            put(o, "gap_ms", gap_known ? json_integer(a->gap_ms) : json_null()) ||
            put(o, "retry_after_ms", ms_or_null(a->retry_after_ms)) ||
            put(o, "status", json_integer(a->status)) ||
            put(o, "stream", json_boolean(a->stream)) || put(o, "end", json_string(a->end)) ||
            put(o, "bytes", u64(a->bytes)) || put(o, "events", u64(a->events)) ||
            put(o, "faults", a->faults ? json_incref(a->faults) : json_array())) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

static json_t *findings_json(unsigned bits)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
#define X(name, s, bit)                                                                            \
    if ((bits & (bit)) && json_array_append_new(list, json_string(s))) {                           \
        json_decref(list);                                                                         \
        return NULL;                                                                               \
    }
    FL_FINDING_MAP(X)
#undef X
    return list;
}

static json_t *diff_json(const fl_run_result_t *it, const char *ans)
{
    if (it->j.diff_at < 0 || !ans)
        return json_null();
    const char *out = it->ev.out.data ? it->ev.out.data : "";
    size_t n = compared_len(&it->ev.out), m = strlen(ans), f, t, ef, et;
    window(out, n, (size_t)it->j.diff_at, &f, &t);
    window(ans, m, (size_t)it->j.diff_at, &ef, &et);
    return json_pack("{s:I, s:o, s:o}", "at", (json_int_t)it->j.diff_at, "expected",
                     jtext(ans + ef, et - ef), "got", jtext(out + f, t - f));
}

static json_t *exit_json(const fl_evidence_t *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (put(o, "kind", json_string(exit_kind_name(ev->exit_kind))) ||
        put(o, "code", ev->exit_kind == FL_EXIT_CODE ? json_integer(ev->exit_code) : json_null()) ||
        put(o, "signal",
            ev->exit_kind == FL_EXIT_SIGNAL ? json_integer(ev->term_signal) : json_null()) ||
        (ev->exit_kind == FL_EXIT_SPAWN &&
         put(o, "error", jtext(ev->spawn_error, strlen(ev->spawn_error))))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *run_json(const fl_run_result_t *it)
{
    const fl_evidence_t *ev = &it->ev;
    const fl_scenario_t *sc = ev->scenario;
    const char *ans = fl_scenario_answer(sc);
    const char *out = ev->out.data ? ev->out.data : "";
    size_t head = head_len(out, ev->out.len, FL_REPORT_STDOUT_HEAD);
    const char *err = ev->err.data ? ev->err.data : "";
    size_t tail = tail_start(err, ev->err.len, FL_REPORT_STDERR_TAIL);

    json_t *o = json_object();
    if (!o)
        return NULL;
    if (put(o, "scenario", json_string(sc->name)) ||
        put(o, "file", jtext(sc->path, sc->path ? strlen(sc->path) : 0)) ||
        put(o, "dialect", json_string(fl_dialect_name(sc->dialect))) ||
        put(o, "repeat", json_integer(ev->repeat)) ||
        put(o, "verdict", json_string(fl_verdict_name(it->j.verdict))) ||
        put(o, "findings", findings_json(it->j.findings)) ||
        put(o, "score", json_integer(it->j.score)) ||
        put(o, "passed", json_boolean(it->j.passed)) ||
        put(o, "reason", jtext(it->j.reason, strlen(it->j.reason))) ||
        put(o, "exit", exit_json(ev)) || put(o, "wall_ms", u64(ev->wall_ms)) ||
        put(o, "stdout", jtext(out, head)) ||
        put(o, "stdout_truncated", json_boolean(ev->out_truncated || head < ev->out.len)) ||
        put(o, "expected", ans ? jtext(ans, strlen(ans)) : json_null()) ||
        put(o, "diff", diff_json(it, ans)) ||
        put(o, "stderr_tail", jtext(err + tail, ev->err.len - tail)) ||
        put(o, "attempts", attempts_json(ev))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *fl_report_to_json(const fl_report_t *r)
{
    size_t counts[FL_VERDICT_COUNT] = {0};
    json_t *root = json_object(), *c = json_object(), *f = json_object(), *runs = json_array();
    if (!root || !c || !f || !runs)
        goto fail;
    for (size_t i = 0; i < r->n_items; i++) {
        json_t *run = run_json(&r->items[i]);
        if (!run || json_array_append_new(runs, run))
            goto fail;
        if ((unsigned)r->items[i].j.verdict < FL_VERDICT_COUNT)
            counts[r->items[i].j.verdict]++;
    }
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++)
        if (put(c, fl_verdict_name((fl_verdict_t)v), json_integer((json_int_t)counts[v])))
            goto fail;
#define X(name, s, bit)                                                                            \
    {                                                                                              \
        size_t n = 0;                                                                              \
        for (size_t i = 0; i < r->n_items; i++)                                                    \
            n += (r->items[i].j.findings & (bit)) != 0;                                            \
        if (put(f, s, json_integer((json_int_t)n)))                                                \
            goto fail;                                                                             \
    }
    FL_FINDING_MAP(X)
#undef X
    size_t failed = fl_report_failures(r);
    if (put(root, "faultline", json_string(FL_VERSION)) ||
        put(root, "client", r->client ? jtext(r->client, strlen(r->client)) : json_null()) ||
        put(root, "seed", u64(r->seed)) || put(root, "jobs", json_integer(r->jobs)) ||
        put(root, "shard", r->shard ? json_string(r->shard) : json_null()) ||
        put(root, "started", r->started ? json_string(r->started) : json_null()) ||
        put(root, "wall_ms", u64(r->wall_ms)) ||
        put(root, "score", json_real(fl_report_score(r))) ||
        put(root, "min_score", r->min_score < 0 ? json_null() : json_real(r->min_score)) ||
        put(root, "passed", json_integer((json_int_t)(r->n_items - failed))) ||
        put(root, "failed", json_integer((json_int_t)failed))) {
        goto fail;
    }
    /* put() owns its value from here on, whether or not it succeeds */
    int rc = put(root, "counts", c);
    c = NULL;
    rc |= put(root, "findings", f);
    f = NULL;
    rc |= put(root, "runs", runs);
    runs = NULL;
    if (rc)
        goto fail;
    return root;
fail:
    json_decref(runs);
    json_decref(f);
    json_decref(c);
    json_decref(root);
    return NULL;
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

static int oom(fl_diag_t *diag, const char *path)
{
    if (diag) {
        memset(diag, 0, sizeof(*diag));
        snprintf(diag->file, sizeof(diag->file), "%s", path);
        snprintf(diag->message, sizeof(diag->message), "out of memory building the report");
    }
    return FL_ENOMEM;
}

/* Writes len bytes to a temporary file beside path, then renames it over path, so a reader
 * never sees half a report. */
static int write_atomic(const char *path, const char *data, size_t len, fl_diag_t *diag)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
    if (!tmp)
        return oom(diag, path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
    int rc = 0;
    int fd = mkstemp(tmp);
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

int fl_report_write_json(const fl_report_t *r, const char *path, fl_diag_t *diag)
{
    json_t *root = fl_report_to_json(r);
    if (!root)
        return oom(diag, path);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text)
        return oom(diag, path);
    size_t len = strlen(text);
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_buf_append(&b, text, len) || fl_buf_append(&b, "\n", 1) ? FL_ENOMEM : 0;
    free(text);
    if (rc == 0)
        rc = write_atomic(path, b.data, b.len, diag);
    else
        rc = oom(diag, path);
    fl_buf_close(&b);
    return rc;
}

/* ---- JUnit ------------------------------------------------------------------------------ */

/* Evidence a CI reader sees in <failure>: the decision, the exit, each request, the diff. */
static int failure_text(const fl_run_result_t *it, fl_buf_t *b)
{
    const fl_evidence_t *ev = &it->ev;
    int rc = fl_buf_printf(b, "verdict: %s\nscore: %d\nreason: %s\n",
                           fl_verdict_name(it->j.verdict), it->j.score, it->j.reason);
    if (!rc && it->j.findings) {
        rc = fl_buf_append_str(b, "findings:");
#define X(name, s, bit)                                                                            \
    if (!rc && (it->j.findings & (bit)))                                                           \
        rc = fl_buf_printf(b, " %s", s);
        FL_FINDING_MAP(X)
#undef X
        if (!rc)
            rc = fl_buf_append_str(b, "\n");
    }
    if (!rc) {
        switch (ev->exit_kind) {
        case FL_EXIT_CODE:
            rc = fl_buf_printf(b, "exit: code %d after %" PRIu64 " ms\n", ev->exit_code,
                               ev->wall_ms);
            break;
        case FL_EXIT_SIGNAL:
            rc = fl_buf_printf(b, "exit: signal %d after %" PRIu64 " ms\n", ev->term_signal,
                               ev->wall_ms);
            break;
        case FL_EXIT_DEADLINE:
            rc = fl_buf_printf(b, "exit: killed at the deadline, %" PRIu64 " ms\n", ev->wall_ms);
            break;
        case FL_EXIT_SPAWN:
            rc = fl_buf_printf(b, "exit: not started: %s\n", ev->spawn_error);
            break;
        }
    }
    for (size_t i = 0; !rc && i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        rc = fl_buf_printf(b, "attempt %zu: start %" PRIu64 " ms, end ", i + 1, a->start_ms);
        if (!rc)
            rc = a->end_ms >= 0 ? fl_buf_printf(b, "%" PRId64 " ms", a->end_ms)
                                : fl_buf_append_str(b, "-");
        if (!rc)
            rc = fl_buf_printf(b, ", status %d, %s, %" PRIu64 " bytes, %" PRIu64 " events",
                               a->status, a->end, a->bytes, a->events);
        if (!rc && a->retry_after_ms >= 0)
            rc = fl_buf_printf(b, ", Retry-After %" PRId64 " ms", a->retry_after_ms);
        size_t k;
        const json_t *f;
        json_array_foreach(a->faults, k, f)
        {
            const char *d = json_string_value(json_object_get(f, "description"));
            if (!rc)
                rc = fl_buf_printf(b, "%s%s", k ? "; " : ", faults: ", d ? d : "?");
        }
        if (!rc)
            rc = fl_buf_append_str(b, "\n");
    }
    const char *ans = fl_scenario_answer(ev->scenario);
    if (!rc && it->j.diff_at >= 0 && ans) {
        const char *out = ev->out.data ? ev->out.data : "";
        size_t n = compared_len(&ev->out), m = strlen(ans), f, t, ef, et;
        window(out, n, (size_t)it->j.diff_at, &f, &t);
        window(ans, m, (size_t)it->j.diff_at, &ef, &et);
        rc = fl_buf_printf(b,
                           "first difference at byte %" PRId64 "\nexpected: %.*s\ngot:      %.*s\n",
                           it->j.diff_at, (int)(et - ef), ans + ef, (int)(t - f), out + f);
    }
    return rc;
}

/* Writes client text as element content, cleaned for XML 1.0. */
static int xml_text(xmlTextWriterPtr w, const char *s, size_t n)
{
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = clean_text(&b, s, n, true);
    if (!rc)
        rc = xmlTextWriterWriteString(w, BAD_CAST(b.data ? b.data : "")) < 0 ? FL_EIO : 0;
    fl_buf_close(&b);
    return rc;
}

static int xml_attr(xmlTextWriterPtr w, const char *name, const char *s)
{
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = clean_text(&b, s, strlen(s), true);
    if (!rc)
        rc = xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST(b.data ? b.data : "")) < 0
                 ? FL_EIO
                 : 0;
    fl_buf_close(&b);
    return rc;
}

static int xml_attrf(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int xml_attrf(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
{
    char v[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    return xml_attr(w, name, v);
}

static int xml_property(xmlTextWriterPtr w, const char *name, const char *value)
{
    if (xmlTextWriterStartElement(w, BAD_CAST "property") < 0)
        return FL_EIO;
    int rc = xml_attr(w, "name", name);
    if (!rc)
        rc = xml_attr(w, "value", value);
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    return rc;
}

static int junit_testcase(xmlTextWriterPtr w, const fl_run_result_t *it, bool repeated)
{
    const fl_evidence_t *ev = &it->ev;
    char name[160];
    run_name(it, repeated, name, sizeof(name));
    int rc = xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0 ? FL_EIO : 0;
    if (!rc)
        rc = xml_attr(w, "classname", fl_dialect_name(ev->scenario->dialect));
    if (!rc)
        rc = xml_attr(w, "name", name);
    if (!rc)
        rc = xml_attrf(w, "time", "%.3f", (double)ev->wall_ms / 1000.0);
    if (!rc && !it->j.passed) {
        fl_buf_t msg, text;
        fl_buf_init(&msg);
        fl_buf_init(&text);
        rc = fl_buf_printf(&msg, "%s: %s", fl_verdict_name(it->j.verdict), it->j.reason);
        if (!rc)
            rc = failure_text(it, &text);
        if (!rc && xmlTextWriterStartElement(w, BAD_CAST "failure") < 0)
            rc = FL_EIO;
        if (!rc)
            rc = xml_attr(w, "message", msg.data);
        if (!rc)
            rc = xml_attr(w, "type", fl_verdict_name(it->j.verdict));
        if (!rc)
            rc = xml_text(w, text.data, text.len);
        if (!rc && xmlTextWriterEndElement(w) < 0)
            rc = FL_EIO;
        fl_buf_close(&msg);
        fl_buf_close(&text);
    }
    const char *out = ev->out.data ? ev->out.data : "";
    const char *err = ev->err.data ? ev->err.data : "";
    size_t tail = tail_start(err, ev->err.len, FL_REPORT_STDERR_TAIL);
    if (!rc && xmlTextWriterStartElement(w, BAD_CAST "system-out") < 0)
        rc = FL_EIO;
    if (!rc)
        rc = xml_text(w, out, head_len(out, ev->out.len, FL_REPORT_STDOUT_HEAD));
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    if (!rc && xmlTextWriterStartElement(w, BAD_CAST "system-err") < 0)
        rc = FL_EIO;
    if (!rc)
        rc = xml_text(w, err + tail, ev->err.len - tail);
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    return rc;
}

/* The whole document, written by w. */
static int junit_document(xmlTextWriterPtr w, const fl_report_t *r)
{
    bool repeated = any_repeat(r);
    size_t failed = fl_report_failures(r);
    double secs = (double)r->wall_ms / 1000.0;
    char seed[32], jobs[16];
    snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
    snprintf(jobs, sizeof(jobs), "%u", r->jobs);

    int rc = xmlTextWriterSetIndent(w, 1) < 0 ||
                     xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0 ||
                     xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 ||
                     xmlTextWriterStartElement(w, BAD_CAST "testsuites") < 0
                 ? FL_EIO
                 : 0;
    if (!rc)
        rc = xml_attr(w, "name", "faultline");
    if (!rc)
        rc = xml_attrf(w, "tests", "%zu", r->n_items);
    if (!rc)
        rc = xml_attrf(w, "failures", "%zu", failed);
    if (!rc)
        rc = xml_attr(w, "errors", "0");
    if (!rc)
        rc = xml_attrf(w, "time", "%.3f", secs);
    if (!rc && xmlTextWriterStartElement(w, BAD_CAST "testsuite") < 0)
        rc = FL_EIO;
    if (!rc)
        rc = xml_attr(w, "name", "faultline");
    if (!rc)
        rc = xml_attrf(w, "tests", "%zu", r->n_items);
    if (!rc)
        rc = xml_attrf(w, "failures", "%zu", failed);
    if (!rc)
        rc = xml_attr(w, "errors", "0");
    if (!rc)
        rc = xml_attr(w, "skipped", "0");
    if (!rc)
        rc = xml_attrf(w, "time", "%.3f", secs);
    if (!rc && r->started)
        rc = xml_attr(w, "timestamp", r->started);
    if (!rc && xmlTextWriterStartElement(w, BAD_CAST "properties") < 0)
        rc = FL_EIO;
    if (!rc)
        rc = xml_property(w, "faultline", FL_VERSION);
    if (!rc)
        rc = xml_property(w, "client", r->client ? r->client : "");
    if (!rc)
        rc = xml_property(w, "seed", seed);
    if (!rc)
        rc = xml_property(w, "jobs", jobs);
    if (!rc && r->shard)
        rc = xml_property(w, "shard", r->shard);
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    for (size_t i = 0; !rc && i < r->n_items; i++)
        rc = junit_testcase(w, &r->items[i], repeated);
    if (!rc && xmlTextWriterEndDocument(w) < 0) /* closes testsuite and testsuites */
        rc = FL_EIO;
    return rc;
}

int fl_report_write_junit(const fl_report_t *r, const char *path, fl_diag_t *diag)
{
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf)
        return oom(diag, path);
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    if (!w) {
        xmlBufferFree(buf);
        return oom(diag, path);
    }
    int rc = junit_document(w, r);
    xmlFreeTextWriter(w); /* flushes into buf */
    if (rc == 0)
        rc = write_atomic(path, (const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf),
                          diag);
    else
        rc = oom(diag, path); /* the writer only fails here for want of memory */
    xmlBufferFree(buf);
    return rc;
}

/* ---- the table -------------------------------------------------------------------------- */

#define TABLE_COLS   100
#define NAME_COL_MAX 40
#define VERDICT_COL  17
#define SCORE_COL    5
#define ANSI_RESET   "\033[0m"
#define ANSI_BOLD    "\033[1m"
#define ANSI_RED     "\033[31m"
#define ANSI_GREEN   "\033[32m"
#define ANSI_YELLOW  "\033[33m"

static const char *verdict_color(const fl_judgement_t *j)
{
    switch (j->verdict) {
    case FL_VERDICT_CORRECT:
    case FL_VERDICT_RECOVERED:
    case FL_VERDICT_FAILED_CLEANLY:
        return j->findings ? ANSI_YELLOW : ANSI_GREEN;
    case FL_VERDICT_GAVE_UP:
    case FL_VERDICT_CRASHED:
        return ANSI_YELLOW;
    default:
        return ANSI_RED;
    }
}

/* Prints s cut to at most cols characters (code points), "..." marking a cut. */
static void print_cut(FILE *out, const char *s, size_t cols)
{
    size_t n = strlen(s), chars = 0, i = 0;
    while (i < n) {
        i += fl_utf8_char_len(s + i, n - i);
        chars++;
    }
    if (chars <= cols) {
        fputs(s, out);
        return;
    }
    size_t keep = cols > 3 ? cols - 3 : 0;
    i = 0;
    for (size_t c = 0; c < keep && i < n; c++)
        i += fl_utf8_char_len(s + i, n - i);
    fprintf(out, "%.*s...", (int)i, s);
}

void fl_report_print_table(const fl_report_t *r, FILE *out, bool color)
{
    bool repeated = any_repeat(r);
    size_t name_w = strlen("scenario");
    char name[160];
    for (size_t i = 0; i < r->n_items; i++) {
        run_name(&r->items[i], repeated, name, sizeof(name));
        size_t n = strlen(name);
        if (n > name_w)
            name_w = n > NAME_COL_MAX ? NAME_COL_MAX : n;
    }
    size_t cols = r->table_cols ? r->table_cols : TABLE_COLS;
    size_t fixed = name_w + VERDICT_COL + SCORE_COL + 6;
    size_t reason_w = cols > fixed + 20 ? cols - fixed : 20;

    fprintf(out, "%-*s  %-*s  %*s  %s\n", (int)name_w, "scenario", VERDICT_COL, "verdict",
            SCORE_COL, "score", "reason");
    for (size_t i = 0; i < r->n_items; i++) {
        const fl_run_result_t *it = &r->items[i];
        run_name(it, repeated, name, sizeof(name));
        print_cut(out, name, name_w);
        size_t shown = strlen(name) > name_w ? name_w : strlen(name);
        fprintf(out, "%*s  ", (int)(name_w - shown), "");
        const char *v = fl_verdict_name(it->j.verdict);
        fprintf(out, "%s%s%s%*s", color ? verdict_color(&it->j) : "", v, color ? ANSI_RESET : "",
                (int)(VERDICT_COL - strlen(v)), "");
        fprintf(out, "  %*d  ", SCORE_COL, it->j.score);
        print_cut(out, it->j.reason, reason_w);
        fputc('\n', out);
    }

    size_t counts[FL_VERDICT_COUNT] = {0};
    for (size_t i = 0; i < r->n_items; i++)
        if ((unsigned)r->items[i].j.verdict < FL_VERDICT_COUNT)
            counts[r->items[i].j.verdict]++;
    fputc('\n', out);
    if (color)
        fputs(ANSI_BOLD, out);
    fprintf(out, "score %.1f/100", fl_report_score(r));
    if (color)
        fputs(ANSI_RESET, out);
    fputs("  (", out);
    const char *sep = "";
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++) {
        if (!counts[v])
            continue;
        fprintf(out, "%s%zu %s", sep, counts[v], fl_verdict_name((fl_verdict_t)v));
        sep = ", ";
    }
    if (!r->n_items)
        fputs("no runs", out);
    fputs(")", out);
    const char *fsep = "; findings: ";
#define X(fname, s, bit)                                                                           \
    {                                                                                              \
        size_t n = 0;                                                                              \
        for (size_t i = 0; i < r->n_items; i++)                                                    \
            n += (r->items[i].j.findings & (bit)) != 0;                                            \
        if (n) {                                                                                   \
            fprintf(out, "%s%s%zu %s%s", fsep, color ? ANSI_YELLOW : "", n, s,                     \
                    color ? ANSI_RESET : "");                                                      \
            fsep = ", ";                                                                           \
        }                                                                                          \
    }
    FL_FINDING_MAP(X)
#undef X
    fputc('\n', out);
}

/*
 * JUnit XML for CI systems: one <testsuite name="faultline"> with one <testcase> per run; a
 * run that did not pass carries <failure> with the verdict, the reason and the evidence. The
 * element and attribute set follows the format's common documentation (tests/data/junit.xsd).
 * Client text is cleaned for XML 1.0 first.
 */
#include "judge/report.h"

#include "base/version.h"
#include "judge/report_impl.h"

#include <inttypes.h>
#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
            rc = fl_buf_printf(b,
                               ", status %d, %s, %" PRIu64 " bytes, %" PRIu64
                               " events sent (%" PRIu64 " passed in the script)",
                               a->status, a->end, a->bytes, a->events_sent, a->events);
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
    fl_report__diff_t d;
    if (!rc && fl_report__diff(it, &d))
        rc = fl_buf_printf(b,
                           "first difference at byte %" PRId64 "\nexpected: %.*s\ngot:      %.*s\n",
                           d.at, (int)d.expected_len, d.expected, (int)d.got_len, d.got);
    return rc;
}

/* Writes client text as element content, cleaned for XML 1.0. */
static int xml_text(xmlTextWriterPtr w, const char *s, size_t n)
{
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_report__clean_text(&b, s, n, true);
    if (!rc)
        rc = xmlTextWriterWriteString(w, BAD_CAST(b.data ? b.data : "")) < 0 ? FL_EIO : 0;
    fl_buf_close(&b);
    return rc;
}

static int xml_attr(xmlTextWriterPtr w, const char *name, const char *s)
{
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_report__clean_text(&b, s, strlen(s), true);
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

/* Starts <testcase> with its classname (the dialect) and name. */
static int start_testcase(xmlTextWriterPtr w, const fl_scenario_t *sc, unsigned repeat,
                          bool repeated)
{
    char name[160];
    fl_report__name(sc, repeat, repeated, name, sizeof(name));
    int rc = xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0 ? FL_EIO : 0;
    if (!rc)
        rc = xml_attr(w, "classname", fl_dialect_name(sc->dialect));
    if (!rc)
        rc = xml_attr(w, "name", name);
    return rc;
}

/* A run not judged: an error when the run was interrupted (CI must not read it as a pass),
 * skipped when it was never started after an earlier failure. */
static int junit_not_run(xmlTextWriterPtr w, const fl_report_t *r, const fl_report_not_run_t *nr,
                         bool repeated)
{
    int rc = start_testcase(w, nr->scenario, nr->repeat, repeated);
    if (!rc && xmlTextWriterStartElement(w, BAD_CAST(r->interrupted ? "error" : "skipped")) < 0)
        rc = FL_EIO;
    if (!rc)
        rc = xml_attr(w, "message", fl_report__not_run_reason(r, nr));
    if (!rc)
        rc = xml_attr(w, "type", r->interrupted ? "interrupted" : "not_run");
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    return rc;
}

static int junit_testcase(xmlTextWriterPtr w, const fl_run_result_t *it, bool repeated)
{
    const fl_evidence_t *ev = &it->ev;
    int rc = start_testcase(w, ev->scenario, ev->repeat, repeated);
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
    size_t tail = fl_report__tail_start(err, ev->err.len, FL_REPORT_STDERR_TAIL);
    if (!rc && xmlTextWriterStartElement(w, BAD_CAST "system-out") < 0)
        rc = FL_EIO;
    if (!rc)
        rc = xml_text(w, out, fl_report__head_len(out, ev->out.len, FL_REPORT_STDOUT_HEAD));
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

/* Starts <elem name="faultline"> with the counts CI systems read, the same on <testsuites>
 * and on its one <testsuite>. */
static int start_suite(xmlTextWriterPtr w, const char *elem, const fl_report_t *r)
{
    int rc = xmlTextWriterStartElement(w, BAD_CAST elem) < 0 ? FL_EIO : 0;
    if (!rc)
        rc = xml_attr(w, "name", "faultline");
    if (!rc)
        rc = xml_attrf(w, "tests", "%zu", r->n_items + r->n_not_run);
    if (!rc)
        rc = xml_attrf(w, "failures", "%zu", fl_report_failures(r));
    if (!rc)
        rc = xml_attrf(w, "errors", "%zu", r->interrupted ? r->n_not_run : 0);
    if (!rc)
        rc = xml_attrf(w, "skipped", "%zu", r->interrupted ? 0 : r->n_not_run);
    if (!rc)
        rc = xml_attrf(w, "time", "%.3f", (double)r->wall_ms / 1000.0);
    return rc;
}

/* The whole document, written by w. */
static int junit_document(xmlTextWriterPtr w, const fl_report_t *r)
{
    bool repeated = fl_report__any_repeat(r);
    char seed[32], jobs[16];
    snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
    snprintf(jobs, sizeof(jobs), "%u", r->jobs);

    int rc = xmlTextWriterSetIndent(w, 1) < 0 ||
                     xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0 ||
                     xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0
                 ? FL_EIO
                 : 0;
    if (!rc)
        rc = start_suite(w, "testsuites", r);
    if (!rc)
        rc = start_suite(w, "testsuite", r);
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
    if (!rc && r->interrupted)
        rc = xml_property(w, "interrupted", "true");
    if (!rc && xmlTextWriterEndElement(w) < 0)
        rc = FL_EIO;
    for (size_t i = 0; !rc && i < r->n_items; i++)
        rc = junit_testcase(w, &r->items[i], repeated);
    for (size_t i = 0; !rc && i < r->n_not_run; i++)
        rc = junit_not_run(w, r, &r->not_run[i], repeated);
    if (!rc && xmlTextWriterEndDocument(w) < 0) /* closes testsuite and testsuites */
        rc = FL_EIO;
    return rc;
}

int fl_report_write_junit(const fl_report_t *r, const char *path, fl_diag_t *diag)
{
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf)
        return fl_report__oom(diag, path);
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    if (!w) {
        xmlBufferFree(buf);
        return fl_report__oom(diag, path);
    }
    int rc = junit_document(w, r);
    xmlFreeTextWriter(w); /* flushes into buf */
    if (rc == 0)
        rc = fl_report__write_atomic(path, (const char *)xmlBufferContent(buf),
                                     (size_t)xmlBufferLength(buf), diag);
    else
        rc = fl_report__oom(diag, path); /* the writer only fails here for want of memory */
    xmlBufferFree(buf);
    return rc;
}

/*
 * Internals of the report writers, shared by the one file per format (not a public API; the
 * double underscore marks the names as internal, as libuv's uv__ does):
 *  report.c        the score and counts, client text made safe, windows, atomic files;
 *  report_json.c   the JSON report;
 *  report_junit.c  JUnit XML;
 *  report_table.c  the table a person reads;
 *  report_summary.c the Markdown summary for a CI job's page;
 *  report_html.c   the HTML page with every run's timeline.
 *
 * Client output is arbitrary bytes. JSON strings must be UTF-8 and XML 1.0 forbids most
 * control characters, so every piece of client text goes through fl_report__clean_text first.
 */
#ifndef FL_REPORT_IMPL_H
#define FL_REPORT_IMPL_H

#include "judge/report.h"

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Appends s[0, n) to b as valid UTF-8: a byte that starts no well-formed character becomes
 * U+FFFD. With xml, characters XML 1.0 forbids (C0 controls but TAB, LF, CR; U+FFFE, U+FFFF)
 * are dropped. b stays NUL-terminated. Returns 0 or FL_ENOMEM.
 */
int fl_report__clean_text(fl_buf_t *b, const char *s, size_t n, bool xml);

/** Length of the head of s[0, n) kept under max bytes, not cutting a character in two. */
size_t fl_report__head_len(const char *s, size_t n, size_t max);

/** Start of the tail of s[0, n) kept under max bytes, not starting inside a character. */
size_t fl_report__tail_start(const char *s, size_t n, size_t max);

/** Where a run's stdout first differs from the expected answer, and a window on each side. */
typedef struct fl_report__diff_s {
    int64_t at;           /* byte offset of the first difference */
    const char *expected; /* borrowed from the scenario: the window of the answer */
    size_t expected_len;
    const char *got; /* borrowed from the evidence: the window of the client's stdout */
    size_t got_len;
} fl_report__diff_t;

/** Fills *d and returns true when the run has a first difference with a known answer. */
bool fl_report__diff(const fl_run_result_t *it, fl_report__diff_t *d);

/** A run's name in reports: the scenario, plus "#N" when the run repeats scenarios. */
void fl_report__name(const fl_scenario_t *sc, unsigned repeat, bool repeated, char *buf, size_t n);

/** True when some run, judged or not, is a repetition (repeat > 1): names need their "#N". */
bool fl_report__any_repeat(const fl_report_t *r);

/** Why a run has no verdict, one line for a person (static text). */
const char *fl_report__not_run_reason(const fl_report_t *r, const fl_report_not_run_t *nr);

/** Runs per verdict, indexed by fl_verdict_t. */
void fl_report__count_verdicts(const fl_report_t *r, size_t counts[FL_VERDICT_COUNT]);

/** Runs whose findings include bit (one FL_FINDING_MAP bit). */
size_t fl_report__count_finding(const fl_report_t *r, unsigned bit);

/**
 * Writes len bytes to a temporary file beside path, then renames it over path, so a reader
 * never sees half a report. Returns 0, or FL_EIO / FL_ENOMEM with the file and the system's
 * reason in *diag (may be NULL).
 */
int fl_report__write_atomic(const char *path, const char *data, size_t len, fl_diag_t *diag);

/** Fills *diag (may be NULL) with "out of memory building the report" for path; FL_ENOMEM. */
int fl_report__oom(fl_diag_t *diag, const char *path);

#endif

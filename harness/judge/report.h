/*
 * Reports of a `faultline run`: the table a person reads, the JSON report (schema in README,
 * "The JSON report"), JUnit XML for CI systems (one testcase per run), a Markdown summary for
 * a CI job's page and a self-contained HTML page with every run's timeline.
 *
 * Data flows one way: evidence -> verdict -> report. The report borrows everything; it only
 * formats. Files are written to a temporary name in the same directory and renamed into place,
 * so a report is never left half-written.
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include "base/error.h"
#include "judge/evidence.h"
#include "judge/verdict.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/** One run and its judgement. */
typedef struct fl_run_result_s {
    fl_evidence_t ev;
    fl_judgement_t j;
} fl_run_result_t;

/** A planned run that has no verdict. */
typedef struct fl_report_not_run_s {
    const fl_scenario_t *scenario; /* borrowed */
    unsigned repeat;               /* 1-based repetition */
    bool started;                  /* its client was running when the run was interrupted */
} fl_report_not_run_t;

/** A whole `faultline run`. Everything borrowed from the caller. */
typedef struct fl_report_s {
    const char *client;           /* the --client command */
    uint64_t seed;                /* --seed */
    unsigned jobs;                /* -j */
    const char *shard;            /* "K/N" or NULL */
    const char *started;          /* ISO-8601 UTC wall time of the start */
    uint64_t wall_ms;             /* the whole run */
    double min_score;             /* --min-score, or -1 when not given */
    unsigned table_cols;          /* width the table fits in (columns); 0 = 100 */
    const fl_run_result_t *items; /* in scenario order (name, then repeat) */
    size_t n_items;
    /* Runs planned but not judged, in scenario order: after an interruption, or after the
     * first run that did not pass with -x/--exitfirst. */
    const fl_report_not_run_t *not_run;
    size_t n_not_run;
    bool interrupted; /* SIGINT/SIGTERM ended the run early: the reports give no score */
} fl_report_t;

/**
 * The client's score: the mean of the judged runs' scores (0..100); 100 for an empty run.
 * Meaningless for an interrupted run (the reports then write no score).
 */
double fl_report_score(const fl_report_t *r);

/** Number of runs that did not pass. */
size_t fl_report_failures(const fl_report_t *r);

/**
 * Builds one run's object of the JSON report (an item of its "runs": scenario, verdict,
 * findings, score, passed, reason, exit, stdout, diff, stderr_tail, attempts...). Also the
 * answer of POST /_faultline/judge. Returns a new reference, or NULL when out of memory.
 */
json_t *fl_report_run_to_json(const fl_run_result_t *it);

/** Builds the JSON report. Returns a new reference, or NULL when out of memory. */
json_t *fl_report_to_json(const fl_report_t *r);

/**
 * Writes the JSON report to path (temporary file, then rename). Returns 0, or FL_EIO /
 * FL_ENOMEM with the file and the system's reason in *diag (caller-owned).
 */
int fl_report_write_json(const fl_report_t *r, const char *path, fl_diag_t *diag);

/**
 * Writes JUnit XML to path: <testsuites> holding one <testsuite name="faultline"> with one
 * <testcase> per run (classname the scenario's dialect, name the scenario, plus "#N" when
 * repeated); a run that did not pass carries <failure> with the verdict, reason and evidence;
 * <system-err> holds the client's stderr tail. A run not judged is a testcase too: <error
 * type="interrupted"> after an interruption (the suite then has the property interrupted=true),
 * else <skipped>. Same errors as fl_report_write_json.
 */
int fl_report_write_junit(const fl_report_t *r, const char *path, fl_diag_t *diag);

/**
 * Appends a GitHub-flavored Markdown summary to path (created when missing; appended to, as
 * GitHub Actions expects of $GITHUB_STEP_SUMMARY, where several steps write one page): the
 * score and the pass/fail decision, the verdict and finding counts, the runs that did not pass,
 * then every run in a collapsed table, and the version. Client text is escaped so it renders
 * as typed, never as markup or HTML. Returns 0, or FL_EIO / FL_ENOMEM with the file and the
 * system's reason in *diag (caller-owned).
 */
int fl_report_write_summary(const fl_report_t *r, const char *path, fl_diag_t *diag);

/**
 * Writes one self-contained HTML page to path (temporary file, then rename): the summary
 * (score, verdict and finding counts, client, version, seed), a table of the runs that filters
 * by verdict, and for each run its reason, a timeline of its attempts drawn to scale in SVG
 * (each request from arrival to end, its bytes between first and last byte, the faults where
 * they fired, backoff gaps and Retry-After windows, how it ended), the stdout diff against the
 * answer and the stderr tail. It loads nothing from anywhere (no fonts, scripts or images; a
 * Content-Security-Policy forbids it), and every piece of client text is escaped. Same errors
 * as fl_report_write_json.
 */
int fl_report_write_html(const fl_report_t *r, const char *path, fl_diag_t *diag);

/**
 * Checks, before a run, that a report can be written to path: it is not a folder, its folder
 * takes a new file (a temporary one is created and removed) and, with append (the Markdown
 * summary, appended to an existing file), an existing file opens for appending. Returns 0, or
 * FL_EIO with the path and the system's reason in *diag (may be NULL).
 */
int fl_report_check_path(const char *path, bool append, fl_diag_t *diag);

/**
 * Prints the table for a person: scenario, verdict, score and reason per run, then each run
 * not judged ("not run"), then the total score and verdict counts (after an interruption, the
 * word INTERRUPTED and no score). color adds ANSI colors (the caller decides: a terminal and no
 * NO_COLOR).
 */
void fl_report_print_table(const fl_report_t *r, FILE *out, bool color);

/** Bytes of stderr kept as the "tail" in reports. */
#define FL_REPORT_STDERR_TAIL 2048

/** Bytes of stdout kept in reports (the head; "stdout_truncated" says when more was printed). */
#define FL_REPORT_STDOUT_HEAD 65536

#endif

/*
 * Verdicts on demand: judges a test's run from what a test suite reports (its output, exit code,
 * error message) and the server's journal of its requests, for POST /_faultline/judge. The
 * evidence is built as `faultline run` builds it (fl_evidence_add_journal) and judged by the
 * same code (fl_verdict_judge), and the answer is a run's object of the JSON report
 * (fl_report_run_to_json): there is no second implementation of any verdict.
 *
 * What a test suite cannot show is the process: a test has no exit signal and no deadline
 * kill of its own. It says so in the request instead: "timed_out": true (the test's own
 * timeout fired, e.g. the SDK call never returned) judges as `faultline run` judges a client
 * killed at its deadline (hung, with stall_undetected or retry_after_past_deadline when they
 * apply), and "signal": N as a client killed by signal N (crashed).
 */
#ifndef FL_ONDEMAND_H
#define FL_ONDEMAND_H

#include "model/scenario.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Judges one run of sc (borrowed). journal is {"requests":[...]} with the run's requests (the
 * server's journal entries for sc in the test's session); spawn_ms is when the test began and
 * now_ms now, both ms on the journal's clock. request is the test's report, an object:
 *   "output"        string: what the code under test produced (stdout of `faultline run`);
 *                   default ""
 *   "error_message" string: the error it raised, if any (stderr); default ""
 *   "exit_code"     integer: default 1 when error_message is not empty, else 0
 *   "timed_out"     true: the test gave up waiting (a client killed at the deadline: hung)
 *   "signal"        integer > 0: the code under test died of that signal (crashed)
 * Returns 0 and sets *out to a new reference to the run's object (fl_report_run_to_json),
 * FL_EINVAL with a message in err (err_len bytes) when request has a field of the wrong type,
 * or FL_ENOMEM.
 */
int fl_ondemand_judge(const fl_scenario_t *sc, const json_t *journal, uint64_t spawn_ms,
                      uint64_t now_ms, const json_t *request, json_t **out, char *err,
                      size_t err_len);

#endif

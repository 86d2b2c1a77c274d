/*
 * The order in which `faultline run` starts its runs: the longest first.
 *
 * With -j N runs at once, a long scenario that starts last sets the wall time of the whole
 * catalog. Each job's scripted duration is estimated from the plans the mock server will serve
 * (the same pipeline, serve/reply.h), and the runner starts jobs in decreasing order of that
 * estimate, so the wall time approaches the longest scenario plus the client's own time.
 * Reports keep the jobs' own order; only the start order changes.
 */
#ifndef FL_SCHEDULE_H
#define FL_SCHEDULE_H

#include "model/scenario.h"
#include "run/run.h"

#include <stddef.h>
#include <stdint.h>

/** ms an attempt is counted for once its response hangs (a stall forever, no_response, HANG):
 * the client's own read timeout ends it, which the harness cannot know; a guess that ranks such
 * scenarios as long without letting one hang outweigh several scripted seconds. */
#define FL_SCHEDULE_HANG_MS 3000

/**
 * Estimates how long the mock server keeps a client busy on sc, in ms, from the wire plans it
 * would serve a streaming request: for attempt 1, 2, ... up to expect.max_attempts, the time of
 * the plan's last op (TTFT, intervals, and what stalls, delays, throttles and fragments add),
 * plus FL_SCHEDULE_HANG_MS when it hangs, plus the wait before the next attempt (the Retry-After
 * it demands, else expect.min_backoff_ms). Attempts stop at the first that completes: its plan
 * ends the stream (DONE) with a 2xx status and no fault that breaks the body or the connection
 * fired (only time and wire faults: stall, delay_headers, throttle, fragment). The sum is capped
 * at expect.deadline_ms. A plan that cannot be compiled counts as 0 ms.
 * Returns the estimate in ms.
 */
uint64_t fl_schedule_estimate_ms(const fl_scenario_t *sc);

/**
 * Fills order (n entries) with the job indexes 0..n-1 sorted by decreasing estimate, ties in
 * job order. Consecutive jobs of one scenario name (repetitions) share one estimate.
 * Returns 0 or FL_ENOMEM (order untouched).
 */
int fl_schedule_order(const fl_run_job_t *jobs, size_t n, size_t *order);

#endif

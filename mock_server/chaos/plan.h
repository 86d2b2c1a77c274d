/*
 * Fault plans per attempt: which faults the Nth request of a scenario gets, and how a fault
 * is described in the journal and reports.
 *
 * A scenario's `attempts:` list (scenario.h, loaded by fault_load.c) gives attempt N entry N;
 * the last entry repeats for every later attempt, and a scenario without `attempts:` is clean.
 * An entry's written faults come first, in the order given; then, when the entry has a seeded
 * `chaos:` block, each candidate is drawn with its probability from a generator seeded by the
 * chaos seed and the attempt number, so the same scenario, attempt and stream length always
 * give the same plan. The fault catalog itself is documented in the Faults section of README.md.
 */
#ifndef FL_PLAN_H
#define FL_PLAN_H

#include "base/buf.h"
#include "chaos/chaos.h"
#include "model/scenario.h"

#include <stddef.h>
#include <stdint.h>

/** Mixed into the chaos seed per attempt: seed ^ (attempt * FL_PLAN_ATTEMPT_MIX). */
#define FL_PLAN_ATTEMPT_MIX UINT64_C(0x9E3779B97F4A7C15)

/**
 * The `attempts:` entry the Nth request of a scenario uses: index attempt-1, the last entry for
 * every later attempt (attempt 0 is treated as 1). Returns SIZE_MAX when the scenario has no
 * `attempts:` (every request is clean). Requests with the same entry get the same plan unless
 * that entry is seeded.
 */
size_t fl_plan_entry(const fl_scenario_t *sc, uint64_t attempt);

/**
 * Builds the fault plan of one attempt (the faults of its fl_plan_entry).
 * attempt: 1-based request number of the scenario (0 is treated as 1).
 * n_events: events in the clean stream of this response; a drawn candidate without a position
 * that takes one gets `event: N` with N uniform in [1, n_events].
 * On success returns 0 and sets *out to a new array of *n_out faults (NULL and 0 for a clean
 * attempt); the caller frees it with fl_plan_free. Returns FL_ENOMEM (out untouched).
 */
int fl_plan_for_attempt(const fl_scenario_t *sc, uint64_t attempt, size_t n_events,
                        fl_fault_t **out, size_t *n_out);

/** Frees a plan from fl_plan_for_attempt: fl_fault_close on each fault, then the array. */
void fl_plan_free(fl_fault_t *faults, size_t n);

#endif

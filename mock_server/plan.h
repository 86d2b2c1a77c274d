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

#include "buf.h"
#include "chaos.h"
#include "scenario.h"

#include <stddef.h>
#include <stdint.h>

/** Mixed into the chaos seed per attempt: seed ^ (attempt * FL_PLAN_ATTEMPT_MIX). */
#define FL_PLAN_ATTEMPT_MIX UINT64_C(0x9E3779B97F4A7C15)

/**
 * Builds the fault plan of one attempt.
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

/**
 * Deep-copies one fault (offsets, inject bytes, message) into *dst.
 * Returns 0 or FL_ENOMEM (dst zeroed).
 */
int fl_fault_copy(fl_fault_t *dst, const fl_fault_t *src);

/**
 * Appends a one-line description of f for the journal and reports, e.g. `reset at event 12`,
 * `stall 5000 ms (keepalive 1000 ms) at byte 300`, `http_error 429 retry-after 2 s`.
 * No trailing newline. Returns 0 or FL_ENOMEM.
 */
int fl_fault_describe(const fl_fault_t *f, fl_buf_t *out);

/**
 * The scenario-file name of an error class (fl_error_class_t): invalid_request, authentication,
 * permission, not_found, request_too_large, rate_limit, server, overloaded, timeout.
 * Returns a static string ("unknown" when out of range).
 */
const char *fl_fault_error_type_name(int error_class);

/**
 * Parses an error type as written in a scenario: one of the names above, or a provider's own
 * spelling (invalid_request_error, authentication_error, permission_error, not_found_error,
 * rate_limit_error, rate_limit_exceeded, api_error, server_error, overloaded_error,
 * timeout_error). Returns 0 and sets *out to an fl_error_class_t, or FL_EINVAL.
 */
int fl_fault_error_type_parse(const char *name, int *out);

#endif

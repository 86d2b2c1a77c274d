/*
 * Per-attempt fault plans (plan.h): the written faults of the attempt's entry, then the seeded
 * chaos draws. The draw order is part of the format (a seed must replay the same plan in every
 * version): one 53-bit uniform per candidate, in order; only for an included candidate, then
 * its event (when it has no position and takes one), then its garbage seed (when not written).
 */
#include "chaos/plan.h"

#include "base/rand.h"

#include <stdlib.h>
#include <string.h>

/* A uniform double in [0, 1) from the top 53 bits of one draw. */
static double draw_unit(fl_rand_t *r)
{
    return (double)(fl_rand_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

void fl_plan_free(fl_fault_t *faults, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_fault_close(&faults[i]);
    free(faults);
}

size_t fl_plan_entry(const fl_scenario_t *sc, uint64_t attempt)
{
    if (sc->n_attempts == 0)
        return SIZE_MAX;
    if (attempt == 0)
        attempt = 1;
    return attempt < sc->n_attempts ? (size_t)attempt - 1 : sc->n_attempts - 1;
}

int fl_plan_for_attempt(const fl_scenario_t *sc, uint64_t attempt, size_t n_events,
                        fl_fault_t **out, size_t *n_out)
{
    size_t idx = fl_plan_entry(sc, attempt);
    if (idx == SIZE_MAX) {
        *out = NULL;
        *n_out = 0;
        return 0;
    }
    if (attempt == 0)
        attempt = 1; /* the seed mixes in the attempt number, 0 as 1 */
    const fl_attempt_t *a = &sc->attempts[idx];
    size_t cap = a->n_faults + (a->seeded ? a->n_chaos_faults : 0);
    fl_fault_t *plan = NULL;
    size_t n = 0;
    if (cap) {
        plan = calloc(cap, sizeof(*plan));
        if (!plan)
            return FL_ENOMEM;
    }
    for (size_t i = 0; i < a->n_faults; i++, n++)
        if (fl_fault_copy(&plan[n], &a->faults[i]))
            goto fail;
    if (a->seeded) {
        fl_rand_t r;
        fl_rand_seed(&r, a->chaos_seed ^ (attempt * FL_PLAN_ATTEMPT_MIX));
        for (size_t i = 0; i < a->n_chaos_faults; i++) {
            const fl_fault_t *cand = &a->chaos_faults[i];
            if (!(draw_unit(&r) < a->chaos_probability))
                continue;
            if (fl_fault_copy(&plan[n], cand))
                goto fail;
            fl_fault_t *f = &plan[n++];
            if (f->at.kind == FL_AT_DEFAULT && fl_fault_takes_position(f->kind)) {
                f->at.kind = FL_AT_EVENT;
                f->at.n = (uint64_t)fl_rand_range(&r, 1, (int64_t)n_events);
            }
            if (f->kind == FL_FAULT_CORRUPT && f->corrupt == FL_CORRUPT_GARBAGE && !f->seed_set) {
                f->seed = fl_rand_next(&r);
                f->seed_set = true;
            }
        }
    }
    if (n == 0) {
        free(plan);
        plan = NULL;
    }
    *out = plan;
    *n_out = n;
    return 0;
fail:
    fl_plan_free(plan, n);
    return FL_ENOMEM;
}

/* Longest-first start order for the runner (schedule.h). */
#include "run/schedule.h"

#include "base/error.h"
#include "serve/reply.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Attempts looked at, whatever expect.max_attempts says. */
#define MAX_ATTEMPTS 32

/* What one attempt's plan costs the client, in ms, and whether the client stops after it. */
typedef struct {
    uint64_t ms;
    uint64_t wait_ms; /* before the next attempt */
    bool complete;
} attempt_cost_t;

static bool breaks_stream(const fl_fault_record_t *ev, uint32_t fault)
{
    if (fault >= ev->n_faults)
        return true;
    fl_fault_phase_t ph = fl_fault_phase(ev->faults[fault].kind);
    return ph != FL_PHASE_TIME && ph != FL_PHASE_WIRE;
}

static int attempt_cost(const fl_scenario_t *sc, uint64_t attempt, fl_reply_cache_t *cache,
                        attempt_cost_t *out)
{
    static const char id[FL_ENCODE_ID_LEN + 1] = "scheduleestimate0000";
    fl_reply_job_t job = {.sc = sc,
                          .attempt = attempt,
                          .stream = true,
                          .framing = FL_BODY_CHUNKED,
                          .ctx = {.id = id, .created = 1700000000}};
    fl_reply_t r;
    fl_reply_init(&r);
    int rc = fl_reply_scenario(cache, &job, NULL, &r);
    if (rc == 0)
        rc = fl_reply_finish(&r);
    if (rc) {
        fl_reply_close(&r);
        return rc;
    }
    uint64_t end = 0;
    bool done = false, hang = false, broken = false;
    for (size_t i = 0; i < r.plan.n_ops; i++) {
        const fl_wire_op_t *op = &r.plan.ops[i];
        if (op->at_ms > end)
            end = op->at_ms;
        switch (op->kind) {
        case FL_WIRE_DONE:
            done = true;
            break;
        case FL_WIRE_HANG:
        case FL_WIRE_PING:
            hang = true;
            break;
        case FL_WIRE_FIRE:
            if (op->silent_ms == FL_WIRE_FOREVER)
                hang = true;
            else if (op->silent_ms && op->at_ms + op->silent_ms > end)
                end = op->at_ms + op->silent_ms;
            if (breaks_stream(&r.evidence, op->fault))
                broken = true;
            break;
        default:
            break;
        }
    }
    out->ms = end + (hang ? FL_SCHEDULE_HANG_MS : 0);
    out->complete = done && !hang && !broken && r.plan.status >= 200 && r.plan.status < 300;
    out->wait_ms =
        r.plan.retry_after_ms >= 0 ? (uint64_t)r.plan.retry_after_ms : sc->expect.min_backoff_ms;
    fl_reply_close(&r);
    return 0;
}

uint64_t fl_schedule_estimate_ms(const fl_scenario_t *sc)
{
    fl_reply_cache_t cache;
    fl_reply_cache_init(&cache);
    uint64_t max = sc->expect.max_attempts ? sc->expect.max_attempts : 1;
    if (max > MAX_ATTEMPTS)
        max = MAX_ATTEMPTS;
    uint64_t total = 0;
    for (uint64_t n = 1; n <= max; n++) {
        attempt_cost_t c;
        if (attempt_cost(sc, n, &cache, &c))
            break;
        total += c.ms;
        if (c.complete || n == max)
            break;
        total += c.wait_ms;
    }
    fl_reply_cache_close(&cache);
    uint64_t deadline = sc->expect.deadline_ms;
    return deadline && total > deadline ? deadline : total;
}

typedef struct {
    size_t job;
    uint64_t ms;
} ranked_t;

static int by_estimate(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms > y->ms ? -1 : 1;
    return x->job < y->job ? -1 : x->job > y->job;
}

int fl_schedule_order(const fl_run_job_t *jobs, size_t n, size_t *order)
{
    ranked_t *r = calloc(n ? n : 1, sizeof(*r));
    if (!r)
        return FL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r[i].job = i;
        bool same = i > 0 && strcmp(jobs[i].scenario->name, jobs[i - 1].scenario->name) == 0;
        r[i].ms = same ? r[i - 1].ms : fl_schedule_estimate_ms(jobs[i].scenario);
    }
    qsort(r, n, sizeof(*r), by_estimate);
    for (size_t i = 0; i < n; i++)
        order[i] = r[i].job;
    free(r);
    return 0;
}

/* The runner's start order (run/schedule.h): estimates built from the served plans add up what
 * each fault adds to the clean stream, and jobs start longest first, ties in job order. */
#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"
#include "run/schedule.h"

#include <criterion/criterion.h>
#include <string.h>

/* 5 words at ttft 100 ms, interval 50 ms: the clean stream's last content event is at 300 ms. */
#define RESPONSE "response: {text: 'one two three four five', ttft_ms: 100, interval_ms: 50}\n"

enum { SC_CLEAN, SC_STALL, SC_RETRY_AFTER, SC_NO_RESPONSE, SC_DEADLINE, SC_THROTTLE, SC_COUNT };

static const char *const yaml[SC_COUNT] = {
    [SC_CLEAN] = "faultline: 1\nname: clean\ndialect: openai-chat\n" RESPONSE,
    /* a 2 s stall mid-stream: a time fault, the stream still completes on attempt 1 */
    [SC_STALL] = "faultline: 1\nname: stall\ndialect: openai-chat\n" RESPONSE
                 "attempts:\n  - faults: [{stall: {ms: 2000, at: {event: 3}}}]\n",
    /* a 429 asking for 1.5 s, then clean: the wait counts, and the clean attempt after it */
    [SC_RETRY_AFTER] =
        "faultline: 1\nname: retry-after\ndialect: anthropic-messages\n" RESPONSE
        "attempts:\n  - faults: [{http_error: {status: 429, retry_after_ms: 1500}}]\n"
        "  - {}\nexpect: {min_backoff_ms: 200}\n",
    /* never answered, 3 attempts with 200 ms between them */
    [SC_NO_RESPONSE] = "faultline: 1\nname: no-response\ndialect: openai-chat\n" RESPONSE
                       "attempts:\n  - faults: [no_response]\n"
                       "expect: {outcome: error, max_attempts: 3, min_backoff_ms: 200}\n",
    /* hangs on every attempt, but the deadline comes first */
    [SC_DEADLINE] = "faultline: 1\nname: deadline\ndialect: openai-chat\n" RESPONSE
                    "attempts:\n  - faults: [{stall: {ms: forever}}]\n"
                    "expect: {outcome: error, max_attempts: 4, deadline_ms: 5000}\n",
    /* 50 bytes/s: the body takes seconds, and the attempt still completes */
    [SC_THROTTLE] = "faultline: 1\nname: throttle\ndialect: openai-chat\n" RESPONSE
                    "attempts:\n  - faults: [{throttle: {bytes_per_s: 1000}}]\n",
};

static fl_scenario_t *sc[SC_COUNT];

static void load(void)
{
    for (int i = 0; i < SC_COUNT; i++) {
        fl_diag_list_t d;
        fl_diag_list_init(&d);
        int rc = fl_scenario_load_string("inline.yaml", yaml[i], strlen(yaml[i]), &sc[i], &d);
        cr_assert_eq(rc, 0, "scenario %d: %s", i, d.len ? d.items[0].message : "?");
        fl_diag_list_close(&d);
    }
}

static void unload(void)
{
    for (int i = 0; i < SC_COUNT; i++)
        fl_scenario_free(sc[i]);
}

TestSuite(schedule, .init = load, .fini = unload, .timeout = 30);

Test(schedule, clean_is_its_scripted_stream)
{
    uint64_t clean = fl_schedule_estimate_ms(sc[SC_CLEAN]);
    /* ttft + 4 intervals for the content, plus the finish events at the same pace or after */
    cr_assert_geq(clean, 300);
    cr_assert_lt(clean, 600);
}

Test(schedule, faults_add_their_time)
{
    uint64_t clean = fl_schedule_estimate_ms(sc[SC_CLEAN]);
    cr_assert_eq(fl_schedule_estimate_ms(sc[SC_STALL]), clean + 2000);
    /* attempt 1 is an immediate 429, then the demanded 1.5 s (not min_backoff_ms), then the
     * clean anthropic stream, which has more events than the chat one */
    uint64_t ra = fl_schedule_estimate_ms(sc[SC_RETRY_AFTER]);
    cr_assert_geq(ra, 1500 + 300);
    cr_assert_lt(ra, 1500 + 1000);
    /* three hangs with two backoffs between them */
    cr_assert_eq(fl_schedule_estimate_ms(sc[SC_NO_RESPONSE]), 3 * FL_SCHEDULE_HANG_MS + 2 * 200);
    cr_assert_eq(fl_schedule_estimate_ms(sc[SC_DEADLINE]), 5000);
    /* a throttled body completes on its first attempt, later than the clean one */
    uint64_t thr = fl_schedule_estimate_ms(sc[SC_THROTTLE]);
    cr_assert_gt(thr, clean + 500);
    cr_assert_lt(thr, FL_SCHEDULE_HANG_MS * 2, "a throttle is not retried: %llu ms",
                 (unsigned long long)thr);
}

Test(schedule, longest_first_ties_in_job_order)
{
    fl_run_job_t jobs[] = {
        {sc[SC_CLEAN], 1}, {sc[SC_STALL], 1},       {sc[SC_NO_RESPONSE], 1},
        {sc[SC_CLEAN], 2}, {sc[SC_RETRY_AFTER], 1}, {sc[SC_DEADLINE], 1},
    };
    size_t n = sizeof(jobs) / sizeof(jobs[0]);
    size_t order[6];
    cr_assert_eq(fl_schedule_order(jobs, n, order), 0);
    /* no-response 9.4 s, deadline 5 s, stall 2.x s, retry-after ~1.9 s, then the two cleans
     * (repetitions of one name: equal estimates) in job order */
    size_t want[] = {2, 5, 1, 4, 0, 3};
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(order[i], want[i], "position %zu: job %zu, want %zu", i, order[i], want[i]);
}

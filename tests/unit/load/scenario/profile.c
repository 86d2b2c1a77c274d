/*
 * Fault profiles: a scenario without `response:` carries faults for a live upstream (faultline
 * proxy). Its positions count live events, so they are not checked against a stream of its
 * own; what needs an answer of its own is refused with the field named.
 */
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <string.h>

#define HEAD "faultline: 1\nname: p\ndialect: openai-chat\n"

static int load(const char *yaml, fl_scenario_t **sc, char *first, size_t n)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    int rc = fl_scenario_load_string("p.yaml", yaml, strlen(yaml), sc, &d);
    first[0] = '\0';
    if (d.len)
        fl_diag_format(&d.items[0], first, n);
    fl_diag_list_close(&d);
    return rc;
}

Test(profile, positions_are_live_events)
{
    fl_scenario_t *sc = NULL;
    char msg[1024];
    cr_assert_eq(load(HEAD "attempts:\n  - faults: [{reset: {at: {event: 40}}}]\n  - {}\n", &sc,
                      msg, sizeof(msg)),
                 0, "%s", msg);
    cr_assert(sc->profile);
    cr_assert_eq(sc->n_attempts, 2);
    cr_assert_null(fl_scenario_answer(sc), "a profile has no answer of its own");
    fl_scenario_free(sc);
}

Test(profile, a_scenario_with_a_response_is_not_one)
{
    fl_scenario_t *sc = NULL;
    char msg[1024];
    /* The same position on a scenario's own short stream is checked, and refused. */
    cr_assert_neq(load(HEAD "response: {text: hi}\nattempts:\n  - faults: [{reset: {at: {event: "
                            "40}}}]\n",
                       &sc, msg, sizeof(msg)),
                  0);
    cr_assert_not_null(strstr(msg, "event"), "%s", msg);
    cr_assert_eq(load(HEAD "response: {text: hi}\n", &sc, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_not(sc->profile);
    fl_scenario_free(sc);
}

Test(profile, refuses_what_needs_an_answer)
{
    fl_scenario_t *sc = NULL;
    char msg[1024];
    cr_assert_neq(load("faultline: 1\nname: p\ndialect: openai-responses\nresume: true\n", &sc, msg,
                       sizeof(msg)),
                  0);
    cr_assert_not_null(strstr(msg, "resume: a fault profile"), "%s", msg);
    cr_assert_neq(load(HEAD "attempts:\n  - response: {text: hi}\n", &sc, msg, sizeof(msg)), 0);
    cr_assert_not_null(strstr(msg, "attempts[0].response: a fault profile"), "%s", msg);
}

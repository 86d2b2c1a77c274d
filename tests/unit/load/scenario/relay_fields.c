/* The relay-mode fields of a scenario: expect.heartbeat_ms and downstream.disconnect_after_ms
 * are read, default to 0 (not checked, stay to the end), refuse 0, and downstream takes no
 * other key. */
#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define HEAD "faultline: 1\nname: r\ndialect: openai-chat\nresponse: {text: 'Hi.'}\n"

static int load(const char *yaml, fl_scenario_t **sc, char *msg, size_t n)
{
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    int rc = fl_scenario_load_string("r.yaml", yaml, strlen(yaml), sc, &d);
    snprintf(msg, n, "%s", d.len ? d.items[0].message : "");
    fl_diag_list_close(&d);
    return rc;
}

Test(relay_fields, read_and_defaults)
{
    fl_scenario_t *sc = NULL;
    char msg[600];
    cr_assert_eq(load(HEAD, &sc, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(sc->expect.heartbeat_ms, 0);
    cr_assert_eq(sc->downstream.disconnect_after_ms, 0);
    fl_scenario_free(sc);
    cr_assert_eq(load(HEAD "expect: {heartbeat_ms: 1500}\ndownstream: {disconnect_after_ms: 700}\n",
                      &sc, msg, sizeof(msg)),
                 0, "%s", msg);
    cr_assert_eq(sc->expect.heartbeat_ms, 1500);
    cr_assert_eq(sc->downstream.disconnect_after_ms, 700);
    fl_scenario_free(sc);
}

Test(relay_fields, refused)
{
    static const struct {
        const char *yaml, *says;
    } bad[] = {
        {HEAD "expect: {heartbeat_ms: 0}\n", "must be > 0"},
        {HEAD "downstream: {disconnect_after_ms: 0}\n", "must be > 0"},
        {HEAD "downstream: {disconnect_after: 5}\n", "unknown key"},
        {HEAD "downstream: 5\n", "mapping"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_scenario_t *sc = NULL;
        char msg[600];
        cr_assert_neq(load(bad[i].yaml, &sc, msg, sizeof(msg)), 0, "case %zu loaded", i);
        cr_assert(strstr(msg, bad[i].says), "case %zu: '%s' lacks '%s'", i, msg, bad[i].says);
        cr_assert_null(sc);
    }
}

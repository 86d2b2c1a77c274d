/*
 * The fault catalog as data (FL_FAULT_MAP in model/fault.h): lookups by name and kind, the rows'
 * own consistency (parameters, what a bare name lacks), and the defaults a fault starts from.
 * The JSON Schema is checked against the same rows in tests/unit/load/fault/schema.c.
 */
#include "base/error.h"
#include "model/fault.h"

#include <criterion/criterion.h>
#include <string.h>

static bool has_param(const fl_fault_info_t *info, const char *key, size_t len)
{
    for (const char *const *p = info->params; *p; p++)
        if (strlen(*p) == len && strncmp(*p, key, len) == 0)
            return true;
    return false;
}

Test(fault_catalog, names_and_kinds_round_trip)
{
    const char *const *names = fl_fault_names();
    for (int k = 0; k < FL_FAULT__COUNT; k++) {
        fl_fault_kind_t got = FL_FAULT__COUNT;
        cr_assert_not_null(names[k]);
        cr_assert_eq(fl_fault_kind_parse(names[k], &got), 0, "%s", names[k]);
        cr_assert_eq(got, (fl_fault_kind_t)k, "%s", names[k]);
        cr_assert_str_eq(fl_fault_name(got), names[k]);
        cr_assert_str_eq(fl_fault_info(got)->name, names[k]);
    }
    cr_assert_null(names[FL_FAULT__COUNT], "the names list ends with NULL");
    cr_assert_null(fl_fault_info(FL_FAULT__COUNT));
    fl_fault_kind_t k = FL_FAULT_RESET;
    cr_assert_eq(fl_fault_kind_parse("stal", &k), FL_EINVAL);
    cr_assert_eq(fl_fault_kind_parse("", &k), FL_EINVAL);
    cr_assert_eq(k, FL_FAULT_RESET, "a failed lookup leaves *out alone");
    cr_assert_eq(fl_fault_kind_parse("no_response", &k), 0);
    cr_assert_eq(k, FL_FAULT_NO_RESPONSE);
}

Test(fault_catalog, rows_are_consistent)
{
    for (int k = 0; k < FL_FAULT__COUNT; k++) {
        const fl_fault_info_t *info = fl_fault_info((fl_fault_kind_t)k);
        cr_assert_eq(fl_fault_takes_position((fl_fault_kind_t)k), info->takes_position);
        cr_assert_eq(fl_fault_phase((fl_fault_kind_t)k), info->phase);
        size_t n = 0;
        for (const char *const *p = info->params; *p; p++, n++) {
            cr_assert_str_neq(*p, "at", "%s: `at` is the position column, not a parameter",
                              info->name);
            for (const char *const *q = info->params; q < p; q++)
                cr_assert_str_neq(*p, *q, "%s: %s twice", info->name, *p);
        }
        cr_assert_leq(n, FL_FAULT_MAX_PARAMS, "%s", info->name);
        /* what a bare name lacks names parameters of the fault ("a or b": either) */
        for (const char *r = info->required; r && *r;) {
            const char * or = strstr(r, " or ");
            size_t len = or ? (size_t)(or -r) : strlen(r);
            cr_assert(has_param(info, r, len), "%s: required %.*s is not a parameter", info->name,
                      (int)len, r);
            r = or ? or +4 : r + len;
        }
        /* a response-level fault replaces the whole response: there is no place to put it */
        if (info->phase == FL_PHASE_RESPONSE)
            cr_assert_not(info->takes_position, "%s", info->name);
    }
    cr_assert_eq(fl_fault_phase(FL_FAULT_RESET), FL_PHASE_CUT);
    cr_assert_eq(fl_fault_phase(FL_FAULT_STALL), FL_PHASE_TIME);
    cr_assert_eq(fl_fault_phase(FL_FAULT_FRAGMENT), FL_PHASE_WIRE);
    cr_assert_eq(fl_fault_phase(FL_FAULT_INJECT), FL_PHASE_BODY);
    cr_assert_eq(fl_fault_phase(FL_FAULT_HTTP_ERROR), FL_PHASE_RESPONSE);
    cr_assert_not(fl_fault_takes_position(FL_FAULT__COUNT));
}

Test(fault_catalog, init_sets_each_kinds_defaults)
{
    fl_fault_t f;
    memset(&f, 0x5a, sizeof(f));
    fl_fault_init(&f, FL_FAULT_RESET);
    cr_assert_eq(f.kind, FL_FAULT_RESET);
    cr_assert_eq(f.cut, FL_CUT_RST);
    cr_assert_eq(f.at.kind, FL_AT_DEFAULT);
    cr_assert_eq(f.retry_after_s, -1);
    cr_assert_eq(f.retry_after_ms, -1);
    cr_assert_null(f.offsets);
    cr_assert_null(f.inject);
    cr_assert_null(f.message);
    cr_assert_eq(f.ms, 0);
    fl_fault_init(&f, FL_FAULT_CLOSE);
    cr_assert_eq(f.cut, FL_CUT_FIN);
    cr_assert_eq(f.status, 0);
    fl_fault_init(&f, FL_FAULT_PROXY_TIMEOUT);
    cr_assert_eq(f.status, 504);
    cr_assert_eq(f.cut, FL_CUT_FIN);
    fl_fault_init(&f, FL_FAULT_IDLE_TIMEOUT);
    cr_assert_eq(f.status, 504);
    fl_fault_init(&f, FL_FAULT_ERROR_EVENT);
    cr_assert_eq(f.error_class, FL_ERR_SERVER);
    fl_fault_init(&f, FL_FAULT_HTTP_ERROR);
    cr_assert_eq(f.status, 0, "http_error's status is required, never defaulted");
}

#include "invalid_check.h"

#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

void fl_check_invalid_file(const char *file, const char *first, size_t count, int want_rc)
{
    char dir[1024], path[1280], line[1536];
    snprintf(dir, sizeof(dir), "%s/scenarios/invalid/", FL_TESTDATA_DIR);
    snprintf(path, sizeof(path), "%s%s", dir, file);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = (fl_scenario_t *)1;
    int rc = fl_scenario_load_file(path, &sc, &diags);
    if (want_rc)
        cr_assert_eq(rc, want_rc, "%s: rc %d, expected %d", file, rc, want_rc);
    else
        cr_assert_lt(rc, 0, "%s: loaded", file);
    cr_assert_null(sc, "%s: *out must be NULL on failure", file);
    cr_assert_gt(diags.len, 0, "%s: no diagnostic", file);
    fl_diag_format(&diags.items[0], line, sizeof(line));
    cr_assert_eq(strncmp(line, dir, strlen(dir)), 0, "%s: %s", file, line);
    cr_assert_str_eq(line + strlen(dir), first);
    cr_assert_eq(diags.len, count, "%s: %zu diagnostics, expected %zu", file, diags.len, count);
    fl_diag_list_close(&diags);
}

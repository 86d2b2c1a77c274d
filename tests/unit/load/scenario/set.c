/* Sets: directories are walked recursively in path order, names are unique across files. */
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static int load_into(fl_scenario_set_t *set, const char *rel, fl_diag_list_t *diags)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", FL_TESTDATA_DIR, rel);
    return fl_scenario_set_load(set, path, diags);
}

Test(scenario_set, directory_in_path_order)
{
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    cr_assert_eq(load_into(&set, "scenarios/valid", &diags), 0);
    cr_assert_eq(diags.len, 0);
    cr_assert_eq(set.len, 7);
    /* anchors.yaml sorts first, tool-call.yaml last ("tool-call-string" < "tool-call.") */
    cr_assert_str_eq(set.items[0]->name, "anchors");
    cr_assert_str_eq(set.items[6]->name, "tool-call");
    for (size_t i = 1; i < set.len; i++)
        cr_assert_lt(strcmp(set.items[i - 1]->path, set.items[i]->path), 0);
    fl_scenario_t *sc = fl_scenario_set_find(&set, "chunks");
    cr_assert_not_null(sc);
    cr_assert_eq(sc->response.n_chunks, 4);
    cr_assert_null(fl_scenario_set_find(&set, "nope"));
    fl_scenario_set_close(&set);
    cr_assert_eq(set.len, 0);
    fl_diag_list_close(&diags);
}

Test(scenario_set, duplicate_name_names_both_files)
{
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    cr_assert_eq(load_into(&set, "scenarios/duplicate", &diags), FL_ESCHEMA);
    /* The first twin and the unrelated scenario after the duplicate still load. */
    cr_assert_eq(set.len, 2);
    cr_assert_str_eq(set.items[0]->name, "twin");
    cr_assert_str_eq(set.items[1]->name, "other");
    cr_assert_eq(diags.len, 1);
    const fl_diag_t *d = &diags.items[0];
    cr_assert(strstr(d->file, "duplicate/nested/b.yml") != NULL, "%s", d->file);
    cr_assert_str_eq(d->field, "name");
    cr_assert(strstr(d->message, "duplicate scenario name 'twin'") != NULL, "%s", d->message);
    cr_assert(strstr(d->message, "duplicate/a.yaml") != NULL, "%s", d->message);
    fl_scenario_set_close(&set);
    fl_diag_list_close(&diags);
}

Test(scenario_set, same_file_twice_is_a_duplicate)
{
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    cr_assert_eq(load_into(&set, "scenarios/valid/minimal.yaml", &diags), 0);
    cr_assert_eq(load_into(&set, "scenarios/valid/minimal.yaml", &diags), FL_ESCHEMA);
    cr_assert_eq(set.len, 1);
    cr_assert_eq(diags.len, 1);
    fl_scenario_set_close(&set);
    fl_diag_list_close(&diags);
}

Test(scenario_set, unknown_directory)
{
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    cr_assert_eq(load_into(&set, "scenarios/no-such-dir", &diags), FL_EIO);
    cr_assert_eq(set.len, 0);
    cr_assert_eq(diags.len, 1);
    cr_assert(strstr(diags.items[0].file, "no-such-dir") != NULL);
    cr_assert(strstr(diags.items[0].message, "cannot open") != NULL);
    fl_scenario_set_close(&set);
    fl_diag_list_close(&diags);
}

/* A bad file does not stop the walk: every file's problems are reported. */
Test(scenario_set, keeps_going_after_bad_files)
{
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    int rc = load_into(&set, "scenarios/invalid", &diags);
    cr_assert_lt(rc, 0);
    cr_assert_eq(set.len, 0);
    /* At least one diagnostic per file in the directory. */
    cr_assert_geq(diags.len, 38);
    fl_scenario_set_close(&set);
    fl_diag_list_close(&diags);
}

/* Every shipped example scenario loads and validates. */
Test(scenario_set, shipped_scenarios_are_valid)
{
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    char path[1024];
    snprintf(path, sizeof(path), "%s/scenarios", FL_SOURCE_DIR);
    int rc = fl_scenario_set_load(&set, path, &diags);
    char line[1536] = "";
    if (diags.len)
        fl_diag_format(&diags.items[0], line, sizeof(line));
    cr_assert_eq(rc, 0, "%s", line);
    cr_assert_geq(set.len, 10);
    fl_scenario_t *hello = fl_scenario_set_find(&set, "hello");
    cr_assert_not_null(hello);
    cr_assert_eq(hello->dialect, FL_DIALECT_OPENAI_CHAT);
    cr_assert_eq(hello->response.ttft_ms, 300);
    cr_assert_eq(hello->response.interval_ms, 60);
    cr_assert_eq(hello->response.jitter_ms, 10);
    bool kinds[4] = {false, false, false, false};
    for (size_t i = 0; i < set.len; i++) {
        const fl_scenario_t *sc = set.items[i];
        cr_assert_gt(strlen(sc->description), 40, "%s needs a real description", sc->name);
        kinds[0] |= sc->response.text != NULL;
        kinds[1] |= sc->response.chunks != NULL;
        kinds[2] |= sc->response.tool_call != NULL;
        kinds[3] |= sc->response.events != NULL;
    }
    for (int k = 0; k < 4; k++)
        cr_assert(kinds[k], "no example of response kind %d", k);
    fl_scenario_set_close(&set);
    fl_diag_list_close(&diags);
}

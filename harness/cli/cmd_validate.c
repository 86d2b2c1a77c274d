/*
 * `faultline validate FILE|DIR…`: loads every scenario the way `serve` would and prints each
 * problem as file:line:col: field: message, so an editor or CI log can jump to it.
 */
#include "cli/cmd.h"

#include "load/load.h"
#include "model/scenario.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: faultline validate FILE|DIR...\n"
    "\n"
    "Checks scenario files (directories are searched for *.yaml and *.yml).\n"
    "Every problem is printed to stderr as file:line:col: field: message.\n"
    "A path that starts with '-' goes after '--'.\n"
    "Exit status: 0 when every scenario is valid, 2 otherwise.\n";

static const char *const validate_options[] = {"--help", "-h", NULL};

int fl_cmd_validate(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    /* Options first, so that nothing is loaded for a command line that is wrong. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return fl_cmd_unknown_option("validate", argv[i], validate_options);
    }
    fl_scenario_set_t set;
    fl_diag_list_t diags;
    fl_scenario_set_init(&set);
    fl_diag_list_init(&diags);
    int failed = 0;
    bool paths_only = false; /* after "--", every argument is a path */
    for (int i = 1; i < argc; i++) {
        if (!paths_only && strcmp(argv[i], "--") == 0) {
            paths_only = true;
            continue;
        }
        if (fl_scenario_set_load(&set, argv[i], &diags) != 0)
            failed = 1;
    }
    char line[1536];
    for (size_t i = 0; i < diags.len; i++)
        fprintf(stderr, "%s\n", fl_diag_format(&diags.items[i], line, sizeof(line)));
    if (!failed)
        printf("ok: %zu scenario%s\n", set.len, set.len == 1 ? "" : "s");
    fl_diag_list_close(&diags);
    fl_scenario_set_close(&set);
    return failed ? 2 : 0;
}

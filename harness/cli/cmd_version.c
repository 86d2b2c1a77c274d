/*
 * `faultline version [--paths]` (also `faultline --version`): the version and git revision
 * built (base/version.h), and with --paths where this binary finds its catalog, schema and
 * bundled clients (paths.h), so an installed tree can be checked at a glance.
 */
#include "cli/cmd.h"

#include "base/version.h"
#include "cli/paths.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: faultline version [--paths]\n"
    "\n"
    "Prints \"faultline VERSION (git REVISION)\"; the revision is the commit\n"
    "built, with -dirty for uncommitted changes, and absent in builds from\n"
    "an archive. --paths adds the binary, the catalog, the schema and the\n"
    "bundled clients in use, each with where it was found. Catalog order:\n";

static void print_path(const char *label, fl_data_t what)
{
    char path[PATH_MAX];
    fl_origin_t o = fl_paths_find(what, path, sizeof(path));
    if (o == FL_ORIGIN_NONE)
        printf("%-8s (not found)\n", label);
    else
        printf("%-8s %s (%s)\n", label, path, fl_paths_origin_name(o));
}

int fl_cmd_version(int argc, char **argv)
{
    bool paths = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            fputs(fl_paths_catalog_order, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--paths") != 0) {
            fprintf(stderr, "faultline version: unknown argument '%s'\n\n%s", argv[i], usage);
            return 2;
        }
        paths = true;
    }
    printf("faultline %s\n", FL_VERSION);
    if (paths) {
        char exe[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[k > 0 ? k : 0] = '\0';
        printf("%-8s %s\n", "binary:", k > 0 ? exe : "(unknown)");
        print_path("catalog:", FL_DATA_CATALOG);
        print_path("schema:", FL_DATA_SCHEMA);
        print_path("clients:", FL_DATA_CLIENTS);
    }
    return 0;
}

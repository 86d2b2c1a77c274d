/*
 * Finding the catalog, schema and clients: $FAULTLINE_CATALOG, then relative to the binary,
 * then the build's own source tree (see paths.h). The relative and build paths come from
 * CMake (harness/CMakeLists.txt), computed from GNUInstallDirs.
 */
#include "cli/paths.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FL_REL_CATALOG
#define FL_REL_CATALOG "../share/faultline/scenarios"
#endif
#ifndef FL_REL_CLIENTS
#define FL_REL_CLIENTS "../libexec/faultline/clients"
#endif
#ifndef FL_BUILD_DIR
#define FL_BUILD_DIR "" /* no build directory known: step 3 never applies */
#endif
#ifndef FL_BUILD_CATALOG
#define FL_BUILD_CATALOG ""
#endif
#ifndef FL_BUILD_CLIENTS
#define FL_BUILD_CLIENTS ""
#endif

#define SCHEMA_FILE "/faultline.schema.json"

const char fl_paths_catalog_order[] =
    "  1. $FAULTLINE_CATALOG, when set\n"
    "  2. " FL_REL_CATALOG " from the folder of this binary (an installed tree)\n"
    "  3. the source tree's scenarios/, only for the binary of a build directory\n";

/* The folder holding the running binary, symlinks resolved. Returns false when unknown. */
static bool self_dir(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (k <= 0)
        return false;
    exe[k] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash || (size_t)(slash - exe) >= n)
        return false;
    *slash = '\0';
    snprintf(out, n, "%s", exe[0] ? exe : "/");
    return true;
}

/* Resolves path (made absolute against base when relative) into out when it exists as a
 * folder (dir) or a regular file (!dir). */
static bool existing(const char *base, const char *path, bool dir, char *out, size_t n)
{
    char joined[PATH_MAX], real[PATH_MAX];
    int k = path[0] == '/' ? snprintf(joined, sizeof(joined), "%s", path)
                           : snprintf(joined, sizeof(joined), "%s/%s", base, path);
    if (k < 0 || (size_t)k >= sizeof(joined) || !realpath(joined, real))
        return false;
    struct stat st;
    if (stat(real, &st) != 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
        return false;
    if (strlen(real) >= n)
        return false;
    snprintf(out, n, "%s", real);
    return true;
}

/* Whether dir is the build directory this binary was made in. */
static bool is_build_dir(const char *dir)
{
    char real[PATH_MAX];
    return FL_BUILD_DIR[0] && realpath(FL_BUILD_DIR, real) && strcmp(real, dir) == 0;
}

fl_origin_t fl_paths_find(fl_data_t what, char *out, size_t n)
{
    if (n == 0)
        return FL_ORIGIN_NONE;
    out[0] = '\0';
    if (what == FL_DATA_CATALOG) {
        const char *env = getenv("FAULTLINE_CATALOG");
        if (env && *env && strlen(env) < n) {
            snprintf(out, n, "%s", env);
            return FL_ORIGIN_ENV;
        }
    }
    char dir[PATH_MAX];
    if (!self_dir(dir, sizeof(dir)))
        return FL_ORIGIN_NONE;
    const char *rel = what == FL_DATA_CLIENTS ? FL_REL_CLIENTS : FL_REL_CATALOG;
    const char *built = what == FL_DATA_CLIENTS ? FL_BUILD_CLIENTS : FL_BUILD_CATALOG;
    const char *file = what == FL_DATA_SCHEMA ? SCHEMA_FILE : "";
    bool want_dir = what != FL_DATA_SCHEMA;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s%s", rel, file);
    if (existing(dir, path, want_dir, out, n))
        return FL_ORIGIN_INSTALL;
    snprintf(path, sizeof(path), "%s%s", built, file);
    if (built[0] && is_build_dir(dir) && existing(dir, path, want_dir, out, n))
        return FL_ORIGIN_BUILD;
    out[0] = '\0';
    return FL_ORIGIN_NONE;
}

const char *fl_paths_origin_name(fl_origin_t origin)
{
    switch (origin) {
    case FL_ORIGIN_ENV:
        return "$FAULTLINE_CATALOG";
    case FL_ORIGIN_INSTALL:
        return "installed";
    case FL_ORIGIN_BUILD:
        return "build directory";
    default:
        return "not found";
    }
}

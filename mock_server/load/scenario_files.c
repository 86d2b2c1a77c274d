/*
 * Reading scenarios from disk: one file under a size bound, or every *.yaml / *.yml under a
 * directory into a set. The YAML walking itself is in scenario_load.c.
 */
#include "load/load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fl_scenario_load_file(const char *path, fl_scenario_t **out, fl_diag_list_t *diags)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fl_diag_add(diags, path, 0, 0, "", "cannot open: %s", strerror(errno));
        return FL_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fl_diag_add(diags, path, 0, 0, "", "not a regular file");
        fclose(f);
        return FL_EIO;
    }
    if ((uint64_t)st.st_size > FL_SCENARIO_MAX_FILE_BYTES) {
        fl_diag_add(diags, path, 0, 0, "", "file is %lld bytes, more than the %u-byte limit",
                    (long long)st.st_size, FL_SCENARIO_MAX_FILE_BYTES);
        fclose(f);
        return FL_ELIMIT;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *data = malloc(cap);
    if (!data) {
        fclose(f);
        return FL_ENOMEM;
    }
    /* Read one byte past the size seen by fstat so a file that grew is still caught. */
    size_t len = fread(data, 1, cap, f);
    int read_err = ferror(f);
    fclose(f);
    if (read_err) {
        fl_diag_add(diags, path, 0, 0, "", "cannot read: %s", strerror(errno));
        free(data);
        return FL_EIO;
    }
    if (len == cap) {
        fl_diag_add(diags, path, 0, 0, "", "file changed while being read");
        free(data);
        return FL_EIO;
    }
    int rc = fl_scenario_load_string(path, data, len, out, diags);
    free(data);
    return rc;
}

typedef struct {
    char **items;
    size_t len, cap;
} paths_t;

static void paths_free(paths_t *p)
{
    for (size_t i = 0; i < p->len; i++)
        free(p->items[i]);
    free(p->items);
}

static int paths_push(paths_t *p, char *s)
{
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **items = realloc(p->items, cap * sizeof(*items));
        if (!items)
            return FL_ENOMEM;
        p->items = items;
        p->cap = cap;
    }
    p->items[p->len++] = s;
    return 0;
}

static bool has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* Collects *.yaml and *.yml under dir, skipping hidden entries. depth bounds symlink loops. */
static int collect(const char *dir, paths_t *out, int depth, fl_diag_list_t *diags)
{
    if (depth > 32) {
        fl_diag_add(diags, dir, 0, 0, "", "directories nested too deep (a symlink loop?)");
        return FL_ELIMIT;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fl_diag_add(diags, dir, 0, 0, "", "cannot open directory: %s", strerror(errno));
        return FL_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = FL_ENOMEM;
            break;
        }
        snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = collect(p, out, depth + 1, diags);
            free(p);
        } else if (S_ISREG(st.st_mode) && has_yaml_ext(e->d_name)) {
            rc = paths_push(out, p);
            if (rc)
                free(p);
        } else {
            free(p);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int set_add_file(fl_scenario_set_t *set, const char *path, fl_diag_list_t *diags)
{
    fl_scenario_t *sc;
    int rc = fl_scenario_load_file(path, &sc, diags);
    if (rc)
        return rc;
    fl_scenario_t *prev = fl_scenario_set_find(set, sc->name);
    if (prev) {
        fl_diag_add(diags, path, 0, 0, "name", "duplicate scenario name '%s' (also in %s)",
                    sc->name, prev->path);
        fl_scenario_free(sc);
        return FL_ESCHEMA;
    }
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        fl_scenario_t **items = realloc(set->items, cap * sizeof(*items));
        if (!items) {
            fl_scenario_free(sc);
            return FL_ENOMEM;
        }
        set->items = items;
        set->cap = cap;
    }
    set->items[set->len++] = sc;
    return 0;
}

int fl_scenario_set_load(fl_scenario_set_t *set, const char *path, fl_diag_list_t *diags)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fl_diag_add(diags, path, 0, 0, "", "cannot open: %s", strerror(errno));
        return FL_EIO;
    }
    if (!S_ISDIR(st.st_mode))
        return set_add_file(set, path, diags);

    paths_t paths = {0};
    int first = collect(path, &paths, 0, diags);
    if (first == 0 && paths.len == 0) {
        fl_diag_add(diags, path, 0, 0, "", "no *.yaml or *.yml files in this directory");
        first = FL_ENOTFOUND;
    }
    if (paths.len)
        qsort(paths.items, paths.len, sizeof(char *), cmp_path);
    for (size_t i = 0; i < paths.len; i++) {
        int rc = set_add_file(set, paths.items[i], diags);
        if (rc && !first)
            first = rc;
        if (rc == FL_ENOMEM)
            break;
    }
    paths_free(&paths);
    return first;
}

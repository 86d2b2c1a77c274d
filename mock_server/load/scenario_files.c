/*
 * Reading scenarios from disk: one file under a size bound, or every *.yaml / *.yml under a
 * directory into a set. The YAML walking itself is in scenario_load.c.
 */
#include "load/load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a path that is not a regular file is, for the diagnostic; NULL for a regular file. */
static const char *not_regular(mode_t mode)
{
    if (S_ISREG(mode))
        return NULL;
    if (S_ISDIR(mode))
        return "is a directory, not a scenario file";
    if (S_ISFIFO(mode))
        return "is a FIFO (named pipe), not a regular file";
    if (S_ISSOCK(mode))
        return "is a socket, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "is a device, not a regular file";
    return "is not a regular file";
}

/* Reads the regular file open on fd whole into a new buffer (*out, NUL-terminated, *len
 * bytes), refusing one over the size limit. Returns 0 or an error after a diagnostic. */
static int read_whole(int fd, const char *path, const struct stat *st, char **out, size_t *len,
                      fl_diag_list_t *diags)
{
    if ((uint64_t)st->st_size > FL_SCENARIO_MAX_FILE_BYTES) {
        fl_diag_add(diags, path, 0, 0, "", "file is %lld bytes, more than the %u-byte limit",
                    (long long)st->st_size, FL_SCENARIO_MAX_FILE_BYTES);
        return FL_ELIMIT;
    }
    /* Room for one byte past the size fstat saw, so a file that grew is caught. */
    size_t cap = (size_t)st->st_size + 1;
    char *data = malloc(cap + 1);
    if (!data)
        return FL_ENOMEM;
    size_t n = 0;
    while (n < cap) {
        ssize_t k = read(fd, data + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            fl_diag_add(diags, path, 0, 0, "", "cannot read: %s", strerror(errno));
            free(data);
            return FL_EIO;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n == cap) {
        fl_diag_add(diags, path, 0, 0, "", "file changed while being read");
        free(data);
        return FL_EIO;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    return 0;
}

int fl_scenario_load_file(const char *path, fl_scenario_t **out, fl_diag_list_t *diags)
{
    *out = NULL;
    /* Anything but a regular file is refused before it is opened: opening a FIFO blocks until
     * a writer comes, and opening a device can have effects of its own. */
    struct stat st;
    if (stat(path, &st) != 0) {
        fl_diag_add(diags, path, 0, 0, "", "cannot open: %s", strerror(errno));
        return FL_EIO;
    }
    const char *what = not_regular(st.st_mode);
    if (what) {
        fl_diag_add(diags, path, 0, 0, "", "%s", what);
        return FL_EIO;
    }
    /* O_NONBLOCK: should the path become a FIFO after the stat, open still returns at once,
     * and fstat refuses it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fl_diag_add(diags, path, 0, 0, "", "cannot open: %s", strerror(errno));
        return FL_EIO;
    }
    int rc = FL_EIO;
    if (fstat(fd, &st) != 0) {
        fl_diag_add(diags, path, 0, 0, "", "cannot open: %s", strerror(errno));
        goto done;
    }
    if ((what = not_regular(st.st_mode))) {
        fl_diag_add(diags, path, 0, 0, "", "%s", what);
        goto done;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        fl_diag_add(diags, path, 0, 0, "", "cannot read: %s", strerror(errno));
        goto done;
    }
    char *data;
    size_t len;
    rc = read_whole(fd, path, &st, &data, &len, diags);
    if (rc)
        goto done;
    close(fd);
    fd = -1;
    rc = fl_scenario_load_string(path, data, len, out, diags);
    free(data);
done:
    if (fd >= 0)
        close(fd);
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

/* Collects *.yaml and *.yml under dir, skipping hidden entries. depth bounds symlink loops.
 * A *.yaml that is not a regular file is reported and sets *refused, and the walk goes on. */
static int collect(const char *dir, paths_t *out, int depth, fl_diag_list_t *diags, int *refused)
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
            rc = collect(p, out, depth + 1, diags, refused);
            free(p);
        } else if (S_ISREG(st.st_mode) && has_yaml_ext(e->d_name)) {
            rc = paths_push(out, p);
            if (rc)
                free(p);
        } else if (has_yaml_ext(e->d_name)) {
            /* Named as a scenario but a FIFO, socket or device: refused, never opened. */
            fl_diag_add(diags, p, 0, 0, "", "%s", not_regular(st.st_mode));
            *refused = FL_EIO;
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
    return fl_scenario_set_add(set, sc);
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
    int refused = 0;
    int first = collect(path, &paths, 0, diags, &refused);
    if (first == 0)
        first = refused;
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

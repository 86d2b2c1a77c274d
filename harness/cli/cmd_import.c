/*
 * `faultline import SOURCE… [-o DIR]`: evidence of a field bug (a capture, a HAR, `curl -N -i`
 * or `curl --trace-time --trace-ascii` output, a bare SSE body) in, one validated v1 scenario per
 * exchange out (mock_server/import/import.h). Every scenario is loaded back with the loader
 * before it is written, and written atomically (a temporary file renamed over the name), so a
 * directory never holds a half-written or invalid scenario.
 */
#include "cli/cmd.h"

#include "base/buf.h"
#include "base/error.h"
#include "import/import.h"
#include "load/load.h"
#include "model/scenario.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: faultline import SOURCE... [-o DIR]\n"
    "\n"
    "Turns evidence of a field bug into scenarios that replay it byte for byte with its timing:\n"
    "a capture (*.capture.jsonl), a HAR 1.2 file (every text/event-stream entry), the output\n"
    "of `curl -N -i`, a trace file of curl (its trace-time option with trace-ascii or trace),\n"
    "or a bare SSE body.\n"
    "One scenario per exchange, named after its source, validated before it is written.\n"
    "API keys, cookies and authorization values are never copied; secrets in bodies are\n"
    "redacted and reported.\n"
    "\n"
    "  -o, --output DIR   where the scenarios go (default: the current directory)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 when every source was imported, 2 when a source could not be (each\n"
    "problem is printed as file: entry N: message).\n";

static const char *const import_options[] = {"--output", "-o", "--help", "-h", NULL};

/* A name not used yet in this run: stem, else stem-2, stem-3, ... */
static void unique_name(const char *stem, char **used, size_t n_used, char *out, size_t n)
{
    snprintf(out, n, "%s", stem);
    for (unsigned k = 2;; k++) {
        bool taken = false;
        for (size_t i = 0; i < n_used && !taken; i++)
            taken = strcmp(used[i], out) == 0;
        if (!taken)
            return;
        snprintf(out, n, "%.60s-%u", stem, k);
    }
}

/* Writes len bytes to path through a temporary file in the same folder and a rename. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = -errno;
            close(fd);
            unlink(tmp);
            return e;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = -errno;
        unlink(tmp);
        return e;
    }
    /* mkstemp makes the file 0600; a scenario is no secret */
    chmod(tmp, 0644);
    if (rename(tmp, path) != 0) {
        int e = -errno;
        unlink(tmp);
        return e;
    }
    return 0;
}

static void print_diags(const fl_diag_list_t *d, size_t from)
{
    char line[1536];
    for (size_t i = from; i < d->len; i++)
        fprintf(stderr, "%s\n", fl_diag_format(&d->items[i], line, sizeof(line)));
}

/* One exchange: the scenario, checked by the loader, written. Returns 0 or 1. */
static int import_item(const fl_import_item_t *it, const char *dir, char ***used, size_t *n_used)
{
    char name[80], path[4096];
    unique_name(it->stem, *used, *n_used, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
    fl_buf_t y;
    fl_buf_init(&y);
    fl_import_notes_t nt;
    int rc = fl_import_scenario(it, name, &y, &nt);
    if (rc) {
        fprintf(stderr, "faultline import: %s: %s\n", it->label, fl_strerror(rc));
        fl_buf_close(&y);
        return 1;
    }
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    fl_scenario_t *sc = NULL;
    rc = fl_scenario_load_string(path, y.data, y.len, &sc, &d);
    fl_scenario_free(sc);
    if (rc) {
        fprintf(stderr,
                "faultline import: %s: the scenario made from it does not validate "
                "(a bug in faultline import; nothing written):\n",
                it->label);
        print_diags(&d, 0);
        fl_diag_list_close(&d);
        fl_buf_close(&y);
        return 1;
    }
    fl_diag_list_close(&d);
    rc = write_atomic(path, y.data, y.len);
    fl_buf_close(&y);
    if (rc) {
        fprintf(stderr, "faultline import: %s: %s\n", path, strerror(-rc));
        return 1;
    }
    char **v = realloc(*used, (*n_used + 1) * sizeof(*v));
    if (v) {
        *used = v;
        if ((v[*n_used] = strdup(name)))
            (*n_used)++;
    }
    const fl_capture_t *c = it->capture;
    printf("%s -> %s: %s, %zu write%s, %s; %s%s\n", it->label, path, nt.dialect, nt.writes,
           nt.writes == 1 ? "" : "s", nt.ending,
           nt.answer ? "expect.answer derived" : "no expect.answer: ",
           nt.answer ? "" : nt.why_no_answer);
    if (c->n_redacted || nt.redacted) {
        printf("  redacted:");
        for (size_t i = 0; i < c->n_redacted; i++)
            printf("%s %s", i ? "," : "", c->redacted[i]);
        if (nt.redacted)
            printf("%s %zu secret%s in the response body", c->n_redacted ? "," : "", nt.redacted,
                   nt.redacted == 1 ? "" : "s");
        printf("\n");
    }
    return 0;
}

int fl_cmd_import(int argc, char **argv)
{
    const char *dir = ".";
    int n_src = 0;
    char **srcs = calloc((size_t)argc, sizeof(*srcs));
    if (!srcs)
        return 1;
    bool paths_only = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!paths_only && strcmp(a, "--") == 0) {
            paths_only = true;
        } else if (!paths_only && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage, stdout);
            free(srcs);
            return 0;
        } else if (!paths_only && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "faultline import: %s needs a directory\n\n%s", a, usage);
                free(srcs);
                return 2;
            }
            dir = argv[++i];
        } else if (!paths_only && strncmp(a, "--output=", 9) == 0) {
            dir = a + 9;
        } else if (!paths_only && a[0] == '-' && a[1] != '\0') {
            free(srcs);
            return fl_cmd_unknown_option("import", a, import_options);
        } else {
            srcs[n_src++] = argv[i];
        }
    }
    if (!n_src) {
        fputs(usage, stderr);
        free(srcs);
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "faultline import: cannot create %s: %s\n", dir, strerror(errno));
        free(srcs);
        return 2;
    }
    int status = 0;
    char **used = NULL;
    size_t n_used = 0;
    for (int s = 0; s < n_src; s++) {
        fl_import_list_t l;
        fl_diag_list_t d;
        fl_import_list_init(&l);
        fl_diag_list_init(&d);
        int rc = fl_import_read(srcs[s], &l, &d);
        print_diags(&d, 0);
        if (rc || d.len)
            status = 2;
        for (size_t i = 0; i < l.len; i++)
            if (import_item(&l.items[i], dir, &used, &n_used))
                status = 2;
        if (l.skipped)
            printf("%s: %zu entr%s not an event stream, skipped\n", srcs[s], l.skipped,
                   l.skipped == 1 ? "y is" : "ies are");
        fl_diag_list_close(&d);
        fl_import_list_close(&l);
    }
    for (size_t i = 0; i < n_used; i++)
        free(used[i]);
    free(used);
    free(srcs);
    return status;
}

/*
 * What the benchmarks share: starting `faultline serve` as a child process and reading its URL
 * line, so each benchmark says only what it serves, and sorting their figures.
 */
#ifndef FL_TEST_SERVE_CHILD_H
#define FL_TEST_SERVE_CHILD_H

#include <sys/types.h>

/**
 * Runs `bin serve path` with its stdout on a pipe, reads the first line (the base URL) and sets
 * *port from it. Returns the child's pid, or 0 when it could not start or printed no URL.
 * The caller stops it (SIGTERM) and reaps it.
 */
pid_t fl_serve_child(const char *bin, const char *path, int *port);

/** qsort's comparison for doubles, ascending (figures before their percentiles are read). */
int fl_cmp_double(const void *a, const void *b);

#endif

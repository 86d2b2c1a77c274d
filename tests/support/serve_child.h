/*
 * Benchmarks start `faultline serve` as a child process and read its URL line: one helper, so
 * each benchmark says only what it serves.
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

#endif

/*
 * What the libFuzzer targets in this folder share: the entry point's prototype and an assertion
 * that names the broken invariant before it aborts, so a finding's log says what was wrong and
 * not only where. A failed check is a finding exactly like a sanitizer report: libFuzzer saves
 * the input as crash-<sha1> and stops.
 */
#ifndef FL_FUZZ_H
#define FL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/** libFuzzer's entry point: called once per input (data borrowed, size in bytes); returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Aborts with the file, line and a printf-style message when cond is false. */
#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

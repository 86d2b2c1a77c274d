/*
 * Shared check for the tables of invalid scenario files (tests/data/scenarios/invalid/): the
 * file is refused, nothing is returned, and its first diagnostic and diagnostic count are exact.
 */
#ifndef FL_TEST_INVALID_CHECK_H
#define FL_TEST_INVALID_CHECK_H

#include <stddef.h>

/**
 * Loads tests/data/scenarios/invalid/<file> and asserts (Criterion) that it fails with want_rc
 * (0: any negative code), leaves *out NULL, and that its first diagnostic, fl_diag_format'ed
 * with the path relative to that directory, equals `first`, and that there are `count` of them.
 */
void fl_check_invalid_file(const char *file, const char *first, size_t count, int want_rc);

#endif

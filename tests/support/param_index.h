/*
 * Criterion parameterized tests over a static table of cases: the parameter is the row's index,
 * the one value that survives Criterion copying parameters into the process that runs each
 * test (a row's own pointers might not), and the test reads the row from the table.
 */
#ifndef FL_TEST_PARAM_INDEX_H
#define FL_TEST_PARAM_INDEX_H

#include <criterion/parameterized.h>
#include <stddef.h>

/** Defines suite::name's parameters as the indexes 0..n-1 (n a constant expression). */
#define FL_PARAM_INDEXES(suite, name, n)                                                           \
    ParameterizedTestParameters(suite, name)                                                       \
    {                                                                                              \
        static size_t idx[n];                                                                      \
        for (size_t i = 0; i < (n); i++)                                                           \
            idx[i] = i;                                                                            \
        return cr_make_param_array(size_t, idx, (n));                                              \
    }

#endif

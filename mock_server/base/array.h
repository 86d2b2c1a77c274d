/*
 * Growable arrays: the one place where Faultline doubles an array's capacity. Every list that
 * grows one item at a time (diagnostics, script events, text pieces, ...) keeps its items, its
 * length and its capacity in its own struct and calls FL_ARRAY_GROW before it appends.
 */
#ifndef FL_ARRAY_H
#define FL_ARRAY_H

#include <stddef.h>

/**
 * Makes room for one more item in an array of len items of size bytes whose capacity is *cap:
 * when len == *cap, reallocates the array that *items_ptr points to (a `T **` passed as
 * void *) to twice the capacity, or to first items when the capacity is 0, and updates *cap.
 * Returns 0, or FL_ENOMEM with the array and *cap unchanged.
 */
int fl_array_grow(void *items_ptr, size_t *cap, size_t len, size_t size, size_t first);

/** fl_array_grow for an array `T *items` with its size taken from the type. */
#define FL_ARRAY_GROW(items, cap, len, first)                                                      \
    fl_array_grow(&(items), &(cap), (len), sizeof(*(items)), (first))

#endif

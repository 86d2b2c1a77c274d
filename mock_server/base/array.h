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

/**
 * Inserts the item at (size bytes) at index at of an array of *len items (at <= *len), growing it
 * as fl_array_grow does and moving the items from at on up by one. Returns 0, or FL_ENOMEM with
 * the array unchanged.
 */
int fl_array_insert(void *items_ptr, size_t *cap, size_t *len, size_t size, size_t first, size_t at,
                    const void *item);

/** fl_array_insert for an array `T *items`. */
#define FL_ARRAY_INSERT(items, cap, len, first, at, item)                                          \
    fl_array_insert(&(items), &(cap), &(len), sizeof(*(items)), (first), (at), (item))

/**
 * A malloc'd copy of the n bytes at p, or NULL when n is 0 or out of memory (so callers that
 * copy an empty array get NULL, and test n to tell the two apart). The caller frees it.
 */
void *fl_memdup(const void *p, size_t n);

/**
 * Name tables: an enum's names, indexed by its values (e.g. dialects, error classes).
 * fl_names_get returns names[i], or "unknown" when i >= n. fl_names_find returns the index of
 * name in names[0, n), or -1 when it is not there.
 */
const char *fl_names_get(const char *const *names, size_t n, size_t i);
long fl_names_find(const char *const *names, size_t n, const char *name);

/** The number of items of a static array. */
#define FL_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif

#include "base/array.h"

#include "base/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fl_array_grow(void *items_ptr, size_t *cap, size_t len, size_t size, size_t first)
{
    if (len < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap <= len || ncap > SIZE_MAX / 2 / size)
        return FL_ENOMEM;
    /* The caller's pointer is a T *, not a void *: copy it as bytes rather than write through a
     * void ** (every object pointer has one representation on the platforms libuv supports). */
    void *items;
    memcpy(&items, items_ptr, sizeof(items));
    void *grown = realloc(items, ncap * size);
    if (!grown)
        return FL_ENOMEM;
    memcpy(items_ptr, &grown, sizeof(grown));
    *cap = ncap;
    return 0;
}

void *fl_memdup(const void *p, size_t n)
{
    void *q = n ? malloc(n) : NULL;
    if (q)
        memcpy(q, p, n);
    return q;
}

const char *fl_names_get(const char *const *names, size_t n, size_t i)
{
    return i < n ? names[i] : "unknown";
}

long fl_names_find(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return (long)i;
    return -1;
}

int fl_array_insert(void *items_ptr, size_t *cap, size_t *len, size_t size, size_t first, size_t at,
                    const void *item)
{
    if (fl_array_grow(items_ptr, cap, *len, size, first))
        return FL_ENOMEM;
    char *items;
    memcpy(&items, items_ptr, sizeof(items));
    memmove(items + (at + 1) * size, items + at * size, (*len - at) * size);
    memcpy(items + at * size, item, size);
    (*len)++;
    return 0;
}

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

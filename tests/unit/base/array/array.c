/* fl_array_grow: capacity doubling from a first size, no change while there is room, and the
 * refusals that leave the array as it was. */
#include "base/array.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint64_t a;
    char b[24];
} item_t;

Test(array, grows_from_first_then_doubles, .timeout = 10)
{
    item_t *items = NULL;
    size_t len = 0, cap = 0;
    size_t caps[100];
    for (size_t i = 0; i < 100; i++) {
        cr_assert_eq(FL_ARRAY_GROW(items, cap, len, 4), 0, "append %zu", i);
        cr_assert_gt(cap, len);
        items[len] = (item_t){.a = i};
        len++;
        caps[i] = cap;
    }
    cr_assert_eq(caps[0], 4);
    cr_assert_eq(caps[3], 4);
    cr_assert_eq(caps[4], 8);
    cr_assert_eq(caps[8], 16);
    cr_assert_eq(caps[99], 128);
    /* the items survived every move */
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(items[i].a, i);
    free(items);
}

Test(array, room_left_is_a_no_op, .timeout = 10)
{
    item_t *items = NULL;
    size_t cap = 0;
    cr_assert_eq(FL_ARRAY_GROW(items, cap, 0, 8), 0);
    item_t *before = items;
    cr_assert_eq(FL_ARRAY_GROW(items, cap, 7, 8), 0);
    cr_assert_eq(items, before, "moved although 7 of 8 were used");
    cr_assert_eq(cap, 8);
    free(items);
}

Test(array, refuses_overflow_and_a_zero_first, .timeout = 10)
{
    /* a capacity whose double does not fit in size_t bytes */
    item_t one;
    item_t *items = &one;
    size_t cap = SIZE_MAX / sizeof(item_t) / 2 + 1;
    cr_assert_eq(FL_ARRAY_GROW(items, cap, cap, 4), FL_ENOMEM);
    cr_assert_eq(items, &one);
    cr_assert_eq(cap, SIZE_MAX / sizeof(item_t) / 2 + 1);
    /* first 0 on an empty array would never make room */
    item_t *none = NULL;
    size_t zero = 0;
    cr_assert_eq(FL_ARRAY_GROW(none, zero, 0, 0), FL_ENOMEM);
    cr_assert_null(none);
    cr_assert_eq(zero, 0);
}

Test(array, insert_keeps_order_at_front_middle_and_end, .timeout = 10)
{
    int *v = NULL;
    size_t len = 0, cap = 0;
    /* Build 0..9 by inserting at the end, then put 100 at the front, 200 in the middle. */
    for (int i = 0; i < 10; i++)
        cr_assert_eq(FL_ARRAY_INSERT(v, cap, len, 2, len, &i), 0);
    int front = 100, mid = 200;
    cr_assert_eq(FL_ARRAY_INSERT(v, cap, len, 2, 0, &front), 0);
    cr_assert_eq(FL_ARRAY_INSERT(v, cap, len, 2, 6, &mid), 0);
    int want[] = {100, 0, 1, 2, 3, 4, 200, 5, 6, 7, 8, 9};
    cr_assert_eq(len, FL_COUNT(want));
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(v[i], want[i], "item %zu", i);
    free(v);
}

Test(array, memdup_and_name_tables, .timeout = 10)
{
    static const char *const names[] = {"zero", "one", "two"};
    cr_assert_str_eq(fl_names_get(names, FL_COUNT(names), 1), "one");
    cr_assert_str_eq(fl_names_get(names, FL_COUNT(names), 3), "unknown");
    cr_assert_eq(fl_names_find(names, FL_COUNT(names), "two"), 2);
    cr_assert_eq(fl_names_find(names, FL_COUNT(names), "three"), -1);
    uint64_t src[3] = {1, 2, 3};
    uint64_t *copy = fl_memdup(src, sizeof(src));
    cr_assert_not_null(copy);
    cr_assert_neq(copy, src);
    cr_assert_eq(copy[2], 3);
    free(copy);
    cr_assert_null(fl_memdup(src, 0));
}

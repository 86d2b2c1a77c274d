/* fl_buf: appends keep the bytes NUL-terminated; truncate drops a tail and never grows. */
#include "base/buf.h"

#include <criterion/criterion.h>
#include <string.h>

Test(buf, append_printf_truncate, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_buf_truncate(&b, 0); /* empty, no storage: nothing to do */
    cr_assert_null(b.data);
    cr_assert_eq(fl_buf_append_str(&b, "data: a\n"), 0);
    size_t mark = b.len;
    cr_assert_eq(fl_buf_printf(&b, "data: %d\n\n", 42), 0);
    cr_assert_str_eq(b.data, "data: a\ndata: 42\n\n");
    fl_buf_truncate(&b, mark);
    cr_assert_eq(b.len, mark);
    cr_assert_str_eq(b.data, "data: a\n");
    fl_buf_truncate(&b, 100); /* past the end: unchanged */
    cr_assert_eq(b.len, mark);
    cr_assert_str_eq(b.data, "data: a\n");
    fl_buf_truncate(&b, 0);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    fl_buf_close(&b);
}

#include "base/error.h"

#include "base/array.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define FL_DIAG_MAX 100

const char *fl_strerror(int err)
{
    switch (err) {
#define XX(name, code, msg)                                                                        \
    case code:                                                                                     \
        return msg;
        FL_ERRNO_MAP(XX)
#undef XX
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return uv_strerror(err);
    return "unknown error";
}

void fl_diag_list_init(fl_diag_list_t *list)
{
    memset(list, 0, sizeof(*list));
}

void fl_diag_list_close(fl_diag_list_t *list)
{
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

int fl_diag_add(fl_diag_list_t *list, const char *file, int line, int col, const char *field,
                const char *fmt, ...)
{
    if (list->len >= FL_DIAG_MAX)
        return 0;
    if (FL_ARRAY_GROW(list->items, list->cap, list->len, 8))
        return FL_ENOMEM;
    fl_diag_t *d = &list->items[list->len++];
    copy_str(d->file, sizeof(d->file), file);
    copy_str(d->field, sizeof(d->field), field);
    d->line = line;
    d->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof(d->message), fmt, ap);
    va_end(ap);
    return 0;
}

char *fl_diag_format(const fl_diag_t *d, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
#define APPEND(...)                                                                                \
    do {                                                                                           \
        if (off < n) {                                                                             \
            int w = snprintf(buf + off, n - off, __VA_ARGS__);                                     \
            off += w > 0 ? (size_t)w : 0;                                                          \
        }                                                                                          \
    } while (0)
    if (d->file[0]) {
        APPEND("%s", d->file);
        if (d->line > 0)
            APPEND(":%d:%d", d->line, d->col);
        APPEND(": ");
    }
    if (d->field[0])
        APPEND("%s: ", d->field);
    APPEND("%s", d->message);
#undef APPEND
    return buf;
}

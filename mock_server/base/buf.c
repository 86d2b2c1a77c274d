#include "base/buf.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_buf_init(fl_buf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void fl_buf_close(fl_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int fl_buf_reserve(fl_buf_t *b, size_t n)
{
    if (n > ((size_t)-1) / 2 - b->len)
        return FL_ENOMEM;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return FL_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int fl_buf_append(fl_buf_t *b, const void *p, size_t n)
{
    int rc = fl_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int fl_buf_append_str(fl_buf_t *b, const char *s)
{
    return fl_buf_append(b, s, strlen(s));
}

int fl_buf_printf(fl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return FL_EINVAL;
    int rc = fl_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void fl_buf_truncate(fl_buf_t *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

char *fl_buf_detach(fl_buf_t *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof(*b));
    return p;
}

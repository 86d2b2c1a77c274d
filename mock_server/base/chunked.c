#include "base/chunked.h"

#include "base/error.h"

#include <string.h>

enum { S_SIZE, S_EXT, S_DATA, S_DATA_END, S_TRAILER };

void fl_chunked_init(fl_chunked_t *d)
{
    memset(d, 0, sizeof(*d));
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int fl_chunked_feed(fl_chunked_t *d, const char *p, size_t n, fl_buf_t *out)
{
    for (size_t i = 0; i < n && !d->bad && !d->done;) {
        char ch = p[i];
        switch (d->state) {
        case S_SIZE: {
            int v = hex_value(ch);
            if (v >= 0 && d->left < (UINT64_MAX >> 4))
                d->left = d->left * 16 + (uint64_t)v;
            else if (ch == ';' || ch == ' ' || ch == '\t' || ch == '\r')
                d->state = S_EXT;
            else if (ch == '\n')
                d->state = d->left ? S_DATA : S_TRAILER;
            else
                d->bad = true;
            i++;
            break;
        }
        case S_EXT:
            if (ch == '\n')
                d->state = d->left ? S_DATA : S_TRAILER;
            i++;
            break;
        case S_DATA: {
            size_t k = n - i < d->left ? n - i : (size_t)d->left;
            int rc = fl_buf_append(out, p + i, k);
            if (rc)
                return rc;
            d->left -= k;
            i += k;
            if (!d->left)
                d->state = S_DATA_END;
            break;
        }
        case S_DATA_END:
            if (ch == '\n')
                d->state = S_SIZE;
            i++;
            break;
        default:
            /* the last chunk's size line is read: the body is complete (trailers ignored) */
            d->done = true;
            break;
        }
    }
    if (d->state == S_TRAILER)
        d->done = true;
    return 0;
}

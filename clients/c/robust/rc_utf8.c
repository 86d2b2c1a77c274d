/* Incremental UTF-8 validation; see rc_utf8.h. */
#include "rc_utf8.h"

void rc_utf8_init(rc_utf8_t *d)
{
    d->cp = 0;
    d->min = 0;
    d->need = 0;
    d->have = 0;
}

int rc_utf8_feed(rc_utf8_t *d, const char *in, size_t len, rc_utf8_sink_fn sink, void *ud)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t run = 0;  /* start of the run of whole code points not yet handed to the sink */
    size_t lead = 0; /* where the partial sequence began, when it began in this feed */
    int in_feed = 0; /* the partial sequence began in this feed (else in pending[] only) */
    int rc;

    for (size_t i = 0; i < len; i++) {
        unsigned char b = p[i];
        if (d->need == 0) {
            if (b < 0x80)
                continue;
            /* 0xC0/0xC1 can only encode overlongs; 0xF5.. would exceed U+10FFFF. */
            if (b >= 0xC2 && b <= 0xDF) {
                d->need = 1, d->cp = b & 0x1Fu, d->min = 0x80;
            } else if (b >= 0xE0 && b <= 0xEF) {
                d->need = 2, d->cp = b & 0x0Fu, d->min = 0x800;
            } else if (b >= 0xF0 && b <= 0xF4) {
                d->need = 3, d->cp = b & 0x07u, d->min = 0x10000;
            } else {
                return RC_UTF8_EINVAL;
            }
            d->have = 0;
            d->pending[d->have++] = b;
            lead = i;
            in_feed = 1;
            continue;
        }
        if ((b & 0xC0u) != 0x80)
            return RC_UTF8_EINVAL;
        d->cp = (d->cp << 6) | (b & 0x3Fu);
        d->pending[d->have++] = b;
        if (!in_feed)
            run = i + 1; /* this byte is held in pending[], not in the run */
        if (--d->need > 0)
            continue;
        if (d->cp < d->min || (d->cp >= 0xD800 && d->cp <= 0xDFFF) || d->cp > 0x10FFFF)
            return RC_UTF8_EINVAL;
        /* A sequence that began in an earlier feed is delivered whole from pending[]; one that
         * lies in this feed simply stays part of the run. */
        if (!in_feed && (rc = sink(ud, (const char *)d->pending, d->have)))
            return rc;
        in_feed = 0;
    }
    /* A partial code point at the end of this feed is held back in pending[]. */
    size_t end = d->need > 0 && in_feed ? lead : len;
    if (end > run && (rc = sink(ud, in + run, end - run)))
        return rc;
    return 0;
}

int rc_utf8_finish(const rc_utf8_t *d)
{
    return d->need > 0 ? RC_UTF8_EINVAL : 0;
}

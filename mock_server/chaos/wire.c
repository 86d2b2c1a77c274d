/*
 * The wire plan's storage (wire.h). Ops are appended in time order by the chaos compiler; this
 * file only owns memory, it never reorders or merges ops.
 */
#include "chaos/wire.h"

#include "base/array.h"
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_wire_init(fl_wire_t *w)
{
    memset(w, 0, sizeof(*w));
    w->retry_after_ms = -1;
    w->usage_input = -1;
    w->usage_output = -1;
    fl_buf_init(&w->bytes);
}

void fl_wire_close(fl_wire_t *w)
{
    if (!w->shared) {
        fl_buf_close(&w->bytes);
        free(w->ops);
        free(w->skipped);
    }
    memset(w, 0, sizeof(*w));
}

int fl_wire_push(fl_wire_t *w, const fl_wire_op_t *op, const void *bytes, size_t len)
{
    bool has_bytes = op->kind == FL_WIRE_WRITE || op->kind == FL_WIRE_PING;
    if (w->shared)
        return FL_EINVAL; /* a template's plan is read-only */
    if (FL_ARRAY_GROW(w->ops, w->cap_ops, w->n_ops, 16))
        return FL_ENOMEM;
    fl_wire_op_t o = *op;
    if (has_bytes) {
        o.off = w->bytes.len;
        o.len = len;
        if (len && fl_buf_append(&w->bytes, bytes, len))
            return FL_ENOMEM;
    } else {
        o.off = 0;
        o.len = 0;
    }
    w->ops[w->n_ops++] = o;
    return 0;
}

int fl_wire_skip(fl_wire_t *w, uint32_t fault, const char *reason)
{
    if (w->shared)
        return FL_EINVAL; /* a template's plan is read-only */
    /* skips are few (at most one per fault): grow one at a time */
    fl_wire_skip_t *v = realloc(w->skipped, (w->n_skipped + 1) * sizeof(*v));
    if (!v)
        return FL_ENOMEM;
    w->skipped = v;
    fl_wire_skip_t *k = &v[w->n_skipped++];
    k->fault = fault;
    snprintf(k->reason, sizeof(k->reason), "%s", reason);
    return 0;
}

/* Index of the first patch that ends after off. */
static size_t first_patch(const fl_wire_t *w, size_t off)
{
    size_t lo = 0, hi = w->n_patches;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->patches[mid].off + w->patches[mid].len <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool fl_wire_span_clean(const fl_wire_t *w, size_t off, size_t len)
{
    size_t i = first_patch(w, off);
    return i == w->n_patches || w->patches[i].off >= off + len;
}

/* Copies n <= FL_WIRE_STAMP_BYTES bytes with fixed-size moves the compiler inlines: a patch is
 * a few dozen bytes, every event of a stream has one or two, and a call to memcpy for each
 * cost a tenth of the server's CPU on workload 1 of scripts/bench.sh. */
static inline void copy_patch(char *dst, const char *src, size_t n)
{
    if (n >= 16) {
        memcpy(dst, src, 16);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

void fl_wire_read(const fl_wire_t *w, size_t off, size_t len, char *dst)
{
    memcpy(dst, w->bytes.data + off, len);
    for (size_t i = first_patch(w, off); i < w->n_patches && w->patches[i].off < off + len; i++) {
        const fl_wire_patch_t *p = &w->patches[i];
        /* Clip the patch to the span: a write may start or end inside an id. */
        size_t from = p->off > off ? p->off : off;
        size_t to = p->off + p->len < off + len ? p->off + p->len : off + len;
        const char *src = w->stamp + p->from + (from - p->off);
        if (to - from <= FL_WIRE_STAMP_BYTES)
            copy_patch(dst + (from - off), src, to - from);
        else
            memcpy(dst + (from - off), src, to - from);
    }
}

size_t fl_wire_total_bytes(const fl_wire_t *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_ops; i++)
        if (w->ops[i].kind == FL_WIRE_WRITE)
            n += w->ops[i].len;
    return n;
}

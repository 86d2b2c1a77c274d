#include "encode/script.h"

#include "base/array.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

void fl_script_init(fl_script_t *s)
{
    memset(s, 0, sizeof(*s));
    fl_buf_init(&s->bytes);
}

void fl_script_close(fl_script_t *s)
{
    fl_buf_close(&s->bytes);
    free(s->events);
    free(s->writes);
    memset(s, 0, sizeof(*s));
}

int fl_script_push(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const void *bytes,
                   size_t len)
{
    if (s->n_events && at_ms < s->events[s->n_events - 1].at_ms)
        return FL_EINVAL;
    if (FL_ARRAY_GROW(s->events, s->cap_events, s->n_events, 16))
        return FL_ENOMEM;
    size_t off = s->bytes.len;
    int rc = fl_buf_append(&s->bytes, bytes, len);
    if (rc)
        return rc;
    s->events[s->n_events++] = (fl_script_event_t){kind, at_ms, off, len, false};
    return 0;
}

int fl_script_push_span(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, size_t off,
                        size_t len)
{
    const fl_script_event_t *prev = s->n_events ? &s->events[s->n_events - 1] : NULL;
    if ((prev && (at_ms < prev->at_ms || off != prev->off + prev->len)) || (!prev && off) ||
        off + len > s->bytes.len)
        return FL_EINVAL;
    if (FL_ARRAY_GROW(s->events, s->cap_events, s->n_events, 16))
        return FL_ENOMEM;
    s->events[s->n_events++] = (fl_script_event_t){kind, at_ms, off, len, false};
    return 0;
}

void fl_script_mark_piece(fl_script_t *s)
{
    if (s->n_events)
        s->events[s->n_events - 1].piece = true;
}

size_t fl_script_content_event(const fl_script_t *s, uint64_t n)
{
    uint64_t seen = 0;
    size_t last = s->n_events;
    for (size_t i = 0; i < s->n_events; i++) {
        if (!s->events[i].piece)
            continue;
        if (++seen == n)
            return i;
        last = i;
    }
    return n == seen + 1 && last < s->n_events ? last + 1 : s->n_events;
}

size_t fl_script_pieces(const fl_script_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_events; i++)
        n += s->events[i].piece;
    return n;
}

int fl_script_add_write(fl_script_t *s, size_t off, uint64_t at_ms)
{
    if (s->n_writes &&
        (off < s->writes[s->n_writes - 1].off || at_ms < s->writes[s->n_writes - 1].at_ms))
        return FL_EINVAL;
    if (FL_ARRAY_GROW(s->writes, s->cap_writes, s->n_writes, 16))
        return FL_ENOMEM;
    s->writes[s->n_writes++] = (fl_script_write_t){off, at_ms};
    return 0;
}

/* The value of the last `id` field among the event's lines (WHATWG HTML, "Server-sent events",
 * 9.2.6: "id" followed by a colon and an optional space; a line "id" alone is an empty id). */
static int sse_id(const char *p, size_t n, char *buf, size_t cap)
{
    int found = -1;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t stop = nl ? (size_t)(nl - p) : n;
        size_t len = stop - i;
        if (len && p[i + len - 1] == '\r')
            len--;
        if (len >= 2 && memcmp(p + i, "id", 2) == 0 && (len == 2 || p[i + 2] == ':')) {
            size_t v = len > 2 ? 3 : 2;
            if (v < len && p[i + v] == ' ')
                v++;
            size_t vl = len - v < cap - 1 ? len - v : cap - 1;
            memcpy(buf, p + i + v, vl);
            buf[vl] = '\0';
            found = (int)vl;
        }
        i = nl ? stop + 1 : n;
    }
    return found;
}

int fl_script_event_id(const fl_script_t *s, size_t i, char *buf, size_t cap)
{
    if (i >= s->n_events || cap == 0)
        return -1;
    const char *p = s->bytes.data + s->events[i].off;
    size_t n = s->events[i].len;
    int len = sse_id(p, n, buf, cap);
    if (len >= 0)
        return len;
    static const char key[] = "\"sequence_number\":";
    for (size_t k = 0; k + sizeof(key) - 1 <= n; k++) {
        if (memcmp(p + k, key, sizeof(key) - 1) != 0)
            continue;
        size_t j = k + sizeof(key) - 1, d = 0;
        while (j < n && p[j] == ' ')
            j++;
        while (j < n && p[j] >= '0' && p[j] <= '9' && d + 1 < cap)
            buf[d++] = p[j++];
        buf[d] = '\0';
        return d ? (int)d : -1;
    }
    return -1;
}

int fl_script_resume(const fl_script_t *s, const char *id, size_t len, fl_script_t *out,
                     size_t *skipped)
{
    char buf[256];
    size_t at = s->n_events;
    for (size_t i = s->n_events; i-- > 0;) {
        int n = fl_script_event_id(s, i, buf, sizeof(buf));
        if (n >= 0 && (size_t)n == len && memcmp(buf, id, len) == 0) {
            at = i;
            break;
        }
    }
    if (at == s->n_events)
        return FL_ENOTFOUND;
    uint64_t t0 = s->events[at].at_ms;
    for (size_t i = at + 1; i < s->n_events; i++) {
        const fl_script_event_t *e = &s->events[i];
        int rc = fl_script_push(out, e->kind, e->at_ms - t0, s->bytes.data + e->off, e->len);
        if (rc)
            return rc;
        out->events[out->n_events - 1].piece = e->piece;
    }
    *skipped = at + 1;
    return 0;
}

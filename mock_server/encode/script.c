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

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
    s->events[s->n_events++] = (fl_script_event_t){kind, at_ms, off, len};
    return 0;
}

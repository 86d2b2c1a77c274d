#include "encode/sse.h"

#include "base/error.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

/* A field value with CR, LF or NUL cannot round-trip: the parser would end the line there (CR,
 * LF) or, for `id`, ignore the field (WHATWG 9.2.6, "If the field value does not contain U+0000
 * NULL"). */
static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int append_field(fl_buf_t *out, const char *name, const char *value, size_t len)
{
    int rc = fl_buf_append_str(out, name);
    if (!rc)
        rc = fl_buf_append(out, ": ", 2);
    if (!rc)
        rc = fl_buf_append(out, value, len);
    if (!rc)
        rc = fl_buf_append(out, "\n", 1);
    return rc;
}

/* One `data:` line per line of the payload. CR, LF and CRLF each end a line, as the parser's
 * line splitting does (WHATWG 9.2.5), so the client reassembles the payload with LF joins. */
static int append_data(fl_buf_t *out, const char *data, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\r' && data[i] != '\n')
            continue;
        int rc = append_field(out, "data", data + start, i - start);
        if (rc)
            return rc;
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    return append_field(out, "data", data + start, len - start);
}

int fl_sse_encode(fl_buf_t *out, const fl_sse_event_t *ev)
{
    if (ev->event && has_line_break(ev->event))
        return FL_EINVAL;
    if (ev->id && has_line_break(ev->id))
        return FL_EINVAL;
    if (ev->retry < -1)
        return FL_EINVAL;

    size_t mark = out->len;
    int rc = 0;
    if (ev->id)
        rc = append_field(out, "id", ev->id, strlen(ev->id));
    if (!rc && ev->event)
        rc = append_field(out, "event", ev->event, strlen(ev->event));
    if (!rc && ev->retry >= 0)
        rc = fl_buf_printf(out, "retry: %" PRId64 "\n", ev->retry);
    if (!rc && ev->data) {
        size_t len = ev->data_len == (size_t)-1 ? strlen(ev->data) : ev->data_len;
        rc = append_data(out, ev->data, len);
    }
    if (!rc)
        rc = fl_buf_append(out, "\n", 1);
    if (rc)
        goto fail;
    return 0;

fail:
    /* Leave no half-written event behind. */
    fl_buf_truncate(out, mark);
    return rc;
}

int fl_sse_encode_comment(fl_buf_t *out, const char *text)
{
    if (has_line_break(text))
        return FL_EINVAL;
    size_t mark = out->len;
    int rc = fl_buf_append(out, ": ", 2);
    if (!rc)
        rc = fl_buf_append_str(out, text);
    if (!rc)
        rc = fl_buf_append(out, "\n", 1);
    if (rc)
        fl_buf_truncate(out, mark);
    return rc;
}

size_t fl_sse_event_len(const char *p, size_t len)
{
    size_t i = 0;
    bool line_empty = true;
    while (i < len) {
        char ch = p[i++];
        if (ch != '\r' && ch != '\n') {
            line_empty = false;
            continue;
        }
        if (ch == '\r' && i < len && p[i] == '\n')
            i++;
        if (line_empty)
            return i;
        line_empty = true;
    }
    return len;
}

/* Server-Sent Events parser; see rc_sse.h for the rules and their source. */
#include "rc_sse.h"

#include <stdlib.h>
#include <string.h>

int rc_buf_append(rc_buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *n = realloc(b->data, cap);
        if (!n)
            return -1;
        b->data = n;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

void rc_buf_clear(rc_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void rc_buf_free(rc_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void rc_sse_init(rc_sse_t *p, rc_sse_event_fn on_event, void *ud)
{
    rc_utf8_init(&p->utf8);
    rc_buf_clear(&p->line);
    rc_buf_clear(&p->data);
    rc_buf_clear(&p->type);
    rc_buf_clear(&p->id);
    p->after_cr = 0;
    p->bom_done = 0;
    p->on_event = on_event;
    p->ud = ud;
}

void rc_sse_close(rc_sse_t *p)
{
    rc_buf_free(&p->line);
    rc_buf_free(&p->data);
    rc_buf_free(&p->type);
    rc_buf_free(&p->id);
}

static int dispatch(rc_sse_t *p)
{
    int rc = 0;
    if (p->data.len > 0) {
        /* remove the data buffer's last LF */
        p->data.data[--p->data.len] = '\0';
        rc_sse_event_t ev = {
            .type = p->type.len ? p->type.data : "message",
            .data = p->data.data,
            .data_len = p->data.len,
            .id = p->id.len ? p->id.data : "",
        };
        rc = p->on_event(p->ud, &ev);
    }
    rc_buf_clear(&p->data);
    rc_buf_clear(&p->type);
    return rc;
}

static int process_line(rc_sse_t *p)
{
    const char *line = p->line.data ? p->line.data : "";
    size_t len = p->line.len;
    if (len == 0)
        return dispatch(p);
    if (line[0] == ':')
        return 0; /* comment */
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t value_len = (size_t)(line + len - value);
    if (value_len > 0 && value[0] == ' ')
        value++, value_len--;

    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        rc_buf_clear(&p->type);
        if (rc_buf_append(&p->type, value, value_len))
            return RC_SSE_ENOMEM;
    } else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->data.len + value_len + 1 > RC_SSE_MAX_LINE)
            return RC_SSE_ETOOLONG;
        if (rc_buf_append(&p->data, value, value_len) || rc_buf_append(&p->data, "\n", 1))
            return RC_SSE_ENOMEM;
    } else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(value, '\0', value_len)) {
            rc_buf_clear(&p->id);
            if (rc_buf_append(&p->id, value, value_len))
                return RC_SSE_ENOMEM;
        }
    }
    /* `retry` and unknown fields are ignored. */
    return 0;
}

/* Receives validated UTF-8 (whole code points) from the decoder. */
static int on_text(void *ud, const char *s, size_t len)
{
    rc_sse_t *p = ud;
    int rc;
    if (!p->bom_done) {
        /* The decoder hands over whole code points, so a BOM arrives in one piece. */
        p->bom_done = 1;
        if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3, len -= 3;
    }
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c != '\r' && c != '\n') {
            p->after_cr = 0;
            continue;
        }
        if (c == '\n' && p->after_cr && i == start) {
            /* the LF of a CRLF whose CR ended the previous line */
            p->after_cr = 0;
            start = i + 1;
            continue;
        }
        if (p->line.len + (i - start) > RC_SSE_MAX_LINE)
            return RC_SSE_ETOOLONG;
        if (rc_buf_append(&p->line, s + start, i - start))
            return RC_SSE_ENOMEM;
        rc = process_line(p);
        rc_buf_clear(&p->line);
        if (rc)
            return rc;
        p->after_cr = c == '\r';
        start = i + 1;
    }
    if (len > start) {
        if (p->line.len + (len - start) > RC_SSE_MAX_LINE)
            return RC_SSE_ETOOLONG;
        if (rc_buf_append(&p->line, s + start, len - start))
            return RC_SSE_ENOMEM;
    }
    return 0;
}

int rc_sse_feed(rc_sse_t *p, const char *data, size_t len)
{
    return rc_utf8_feed(&p->utf8, data, len, on_text, p);
}

int rc_sse_finish(rc_sse_t *p)
{
    return rc_utf8_finish(&p->utf8);
}

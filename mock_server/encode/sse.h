/*
 * Server-Sent Events framing, per the WHATWG HTML Living Standard, section 9.2
 * "Server-sent events" (html.spec.whatwg.org/multipage/server-sent-events.html), the
 * "event stream interpretation": fields `event`, `data`, `id`, `retry`; an event ends at a
 * blank line; a `data` value with line breaks is sent as one `data:` line per line; lines
 * starting with ':' are comments. Faultline writes LF line endings with one space after the
 * colon, as every provider does; the chaos layer rewrites line endings when told to.
 */
#ifndef FL_SSE_H
#define FL_SSE_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/** One event to encode. All strings are borrowed; NULL means the field is absent. */
typedef struct fl_sse_event_s {
    const char *event; /* `event:` name; must not contain CR or LF */
    const char *data;  /* `data:` payload; CR, LF and CRLF split it into several data lines */
    size_t data_len;   /* bytes of data; (size_t)-1 means strlen(data) */
    const char *id;    /* `id:`; must not contain CR, LF or NUL */
    int64_t retry;     /* `retry:` in ms; -1 when absent */
} fl_sse_event_t;

/**
 * Appends the event's wire bytes, fields in the order id, event, retry, data, then the blank
 * line. Returns 0, FL_EINVAL (an event name or id with a line break) or FL_ENOMEM.
 */
int fl_sse_encode(fl_buf_t *out, const fl_sse_event_t *ev);

/** Appends an SSE comment line ": text\n" (text must not contain CR or LF). Returns 0 or
 * FL_EINVAL / FL_ENOMEM. */
int fl_sse_encode_comment(fl_buf_t *out, const char *text);

/**
 * Length of the first event in p[0, len): its bytes up to and including the blank line that
 * ends it (a line ends at CRLF, LF or CR; WHATWG "event stream interpretation"), or len when
 * the bytes stop before such a blank line (an event cut short). A CR as the very last byte
 * counts as a line end (a CRLF cut after its CR is still a line break). 0 for len 0.
 */
size_t fl_sse_event_len(const char *p, size_t len);

#endif

/*
 * Server-Sent Events parser for the robust reference client, written from the WHATWG HTML
 * Living Standard, 9.2.6 "Parsing an event stream" (and 9.2.5 for dispatch):
 *  - the stream is UTF-8 (validated here by rc_utf8_t; invalid bytes are a broken stream);
 *    one leading U+FEFF BOM is stripped;
 *  - lines end in CRLF, LF or CR; a CR at the end of one feed and an LF at the start of the
 *    next are one line end;
 *  - a blank line dispatches the event; a line starting with ':' is a comment; otherwise the
 *    field name runs to the first ':' (or the whole line, with an empty value), and one space
 *    after the colon is dropped;
 *  - `event` sets the type, `data` appends the value and an LF, `id` sets the last event id
 *    (unless the value holds NUL), `retry` and unknown fields are ignored here (this client
 *    does its own backoff);
 *  - an event whose data buffer is empty is not dispatched; the trailing LF of the data is
 *    removed; the type defaults to "message";
 *  - an event not finished by a blank line when the stream ends is discarded.
 * Independent of mock_server/: a client must not share the server's framing code.
 */
#ifndef RC_SSE_H
#define RC_SSE_H

#include <stddef.h>

#include "rc_utf8.h"

/** A growable byte buffer; `data` is heap memory owned by the buffer, NUL-terminated when
 *  non-NULL (the NUL is not counted in `len`). */
typedef struct rc_buf_s {
    char *data;
    size_t len;
    size_t cap;
} rc_buf_t;

/** Appends `len` bytes; returns 0 or -1 on out-of-memory (the buffer is unchanged then). */
int rc_buf_append(rc_buf_t *b, const void *data, size_t len);
/** Empties the buffer, keeping its memory. */
void rc_buf_clear(rc_buf_t *b);
/** Frees the buffer's memory and zeroes it. */
void rc_buf_free(rc_buf_t *b);

/** One dispatched event. Every pointer is owned by the parser and valid only during the
 *  callback. `data` is NUL-terminated; `data_len` excludes the NUL. */
typedef struct rc_sse_event_s {
    const char *type; /* the `event` field, or "message" */
    const char *data;
    size_t data_len;
    const char *id; /* the last event id seen so far ("" when none) */
} rc_sse_event_t;

/** Event callback: returns 0 to go on, non-zero to stop; rc_sse_feed returns that value. */
typedef int (*rc_sse_event_fn)(void *ud, const rc_sse_event_t *ev);

/** Limit on one line and on one event's data, bytes: more is treated as a broken stream. */
#define RC_SSE_MAX_LINE (8u * 1024u * 1024u)

/** Parser errors (negative, distinct from RC_UTF8_EINVAL). */
#define RC_SSE_ENOMEM   (-1002)
#define RC_SSE_ETOOLONG (-1003)

/** Parser state; initialize with rc_sse_init, release with rc_sse_close. */
typedef struct rc_sse_s {
    rc_utf8_t utf8;
    rc_buf_t line; /* the current line, without its end */
    rc_buf_t data; /* the data buffer of the event being built */
    rc_buf_t type; /* the event type buffer ("" = message) */
    rc_buf_t id;   /* the last event id */
    int after_cr;  /* the previous byte was a CR: an LF next is part of the same line end */
    int bom_done;  /* the start of the stream (and any BOM) has been passed */
    rc_sse_event_fn on_event; /* not owned */
    void *ud;                 /* not owned; passed to on_event */
} rc_sse_t;

/** Prepares `p` for a new stream delivering events to `on_event(ud, ...)`. Allocates nothing. */
void rc_sse_init(rc_sse_t *p, rc_sse_event_fn on_event, void *ud);

/**
 * Feeds `len` raw bytes (any split). Dispatches every event completed by these bytes.
 * Returns 0, RC_UTF8_EINVAL (invalid UTF-8), RC_SSE_ENOMEM, RC_SSE_ETOOLONG, or the callback's
 * non-zero return. After an error the stream is broken: call rc_sse_init again for a new one.
 */
int rc_sse_feed(rc_sse_t *p, const char *data, size_t len);

/**
 * Ends the stream: returns RC_UTF8_EINVAL when it ended inside a UTF-8 sequence, else 0. A
 * pending event without its blank line is discarded, as the standard says.
 */
int rc_sse_finish(rc_sse_t *p);

/** Frees the parser's buffers. */
void rc_sse_close(rc_sse_t *p);

#endif

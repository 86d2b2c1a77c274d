/*
 * A growable byte buffer: the one place where Faultline appends bytes it will send or print.
 * Encoders write into it, the server hands its bytes to libuv.
 */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stdarg.h>
#include <stddef.h>

/** Owned bytes; data is always NUL-terminated (not counted in len) so it can be printed. */
typedef struct fl_buf_s {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
} fl_buf_t;

/** Prepares an empty buffer. Never fails, allocates nothing. */
void fl_buf_init(fl_buf_t *b);
/** Frees the storage and leaves the buffer empty and reusable. */
void fl_buf_close(fl_buf_t *b);
/** Ensures room for n more bytes. Returns 0 or FL_ENOMEM (buffer unchanged). */
int fl_buf_reserve(fl_buf_t *b, size_t n);
/** Appends n bytes. Returns 0 or FL_ENOMEM (buffer unchanged). */
int fl_buf_append(fl_buf_t *b, const void *p, size_t n);
/** Appends a NUL-terminated string. Returns 0 or FL_ENOMEM. */
int fl_buf_append_str(fl_buf_t *b, const char *s);
/** Appends printf-formatted text. Returns 0 or FL_ENOMEM (buffer unchanged). */
int fl_buf_printf(fl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Drops the bytes past len (len <= b->len), e.g. a half-written event after a failure. */
void fl_buf_truncate(fl_buf_t *b, size_t len);
/** Hands the storage to the caller (who frees it with free()) and empties the buffer. */
char *fl_buf_detach(fl_buf_t *b, size_t *len);

#endif

/*
 * A streaming decoder of HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1): feed it the
 * bytes of a body as they come, in any fragmentation, and it appends the chunk data. Chunk
 * extensions and trailer fields are skipped. The recorder (serve/record.c) and the curl trace
 * importer (import/import_trace.c) use it to turn wire bytes into body writes.
 */
#ifndef FL_CHUNKED_H
#define FL_CHUNKED_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Decoder state; zero-initialised (fl_chunked_init) before the body's first byte. */
typedef struct fl_chunked_s {
    int state;     /* internal: size line, extension, data, data's CRLF, trailers */
    uint64_t left; /* data bytes left in the current chunk */
    bool done;     /* the last chunk (size 0) has been read: the body is complete */
    bool bad;      /* a size line held something else than hex digits: decoding stopped */
} fl_chunked_t;

/** Prepares a decoder for a new body. */
void fl_chunked_init(fl_chunked_t *d);

/**
 * Decodes n bytes of the body, appending chunk data to out; bytes after the last chunk or after
 * a bad size line are ignored. Returns 0 or FL_ENOMEM.
 */
int fl_chunked_feed(fl_chunked_t *d, const char *p, size_t n, fl_buf_t *out);

#endif

/*
 * A raw-socket recording client for end-to-end tests: it sends one request's bytes to
 * 127.0.0.1:port and records every read (its bytes and arrival time) until EOF, an error or a
 * timeout, so tests can assert what reached the wire, when, and how the connection ended (FIN,
 * RST, or still open). Helpers split the response head from the body, decode a chunked body
 * strictly (RFC 9112 section 7.1), incrementally or at once, and build streaming POST requests.
 *
 * Times are ms on CLOCK_MONOTONIC since the request was fully written.
 */
#ifndef FL_TEST_RAWCLIENT_H
#define FL_TEST_RAWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** How an exchange ended. */
typedef enum {
    FL_RAW_EOF,     /* the server sent FIN (recv returned 0) */
    FL_RAW_RESET,   /* the server sent RST (ECONNRESET) */
    FL_RAW_TIMEOUT, /* nothing ended the connection within the timeout; the socket was open */
    FL_RAW_CLOSED,  /* we closed the socket ourselves after close_after_ms */
    FL_RAW_ERROR,   /* any other socket error (errno in err) */
} fl_raw_end_t;

/** Returns "eof", "reset", "timeout", "closed" or "error". */
const char *fl_raw_end_name(fl_raw_end_t e);

/** One recv() that returned bytes. */
typedef struct fl_raw_read_s {
    char *bytes; /* owned by the result */
    size_t len;  /* bytes */
    double t_ms; /* arrival, ms after the request was written */
} fl_raw_read_t;

/** Everything one exchange recorded. Free with fl_raw_result_free. */
typedef struct fl_raw_result_s {
    fl_raw_read_t *reads; /* owned, in arrival order */
    size_t n_reads;
    char *all;  /* owned: every read concatenated, NUL-terminated (may hold NULs itself) */
    size_t len; /* bytes in all */
    fl_raw_end_t end;
    double end_ms; /* when it ended, ms after the request was written */
    int err;       /* errno for FL_RAW_ERROR, else 0 */
} fl_raw_result_t;

/** Options of one exchange. Zero fields take the defaults. */
typedef struct fl_raw_opts_s {
    int timeout_ms;     /* give up (FL_RAW_TIMEOUT) after this many ms; default 5000 */
    int close_after_ms; /* close the socket ourselves after this many ms (FL_RAW_CLOSED); 0 never */
} fl_raw_opts_t;

/**
 * Connects to 127.0.0.1:port, writes req_len bytes of req, then reads until the connection ends
 * or a limit is hit. opts may be NULL. out is filled (and must be freed) on success.
 * Returns 0, or -errno when the connection or the write failed (out is then empty).
 */
int fl_raw_exchange(int port, const char *req, size_t req_len, const fl_raw_opts_t *opts,
                    fl_raw_result_t *out);

/** Frees what a result owns and zeroes it. */
void fl_raw_result_free(fl_raw_result_t *r);

/**
 * Finds the end of the response head (the blank line) in buf. Returns the head's length in
 * bytes, blank line included, or 0 when the head is not complete.
 */
size_t fl_raw_head_len(const char *buf, size_t len);

/**
 * Returns the value of header name (case-insensitive) in a head, copied and NUL-terminated
 * into out (out_size bytes); true when found.
 */
bool fl_raw_header(const char *head, size_t head_len, const char *name, char *out, size_t out_size);

/** The status code of a head ("HTTP/1.1 200 OK" → 200), or 0 when it is not a status line. */
int fl_raw_status(const char *head, size_t head_len);

/** An incremental, strict chunked-body decoder (RFC 9112 section 7.1). */
typedef struct fl_raw_dechunk_s {
    int state;       /* internal */
    uint64_t size;   /* the chunk size being read or the bytes left of the current chunk */
    int digits;      /* hex digits of the current size line */
    char *data;      /* owned: the decoded body so far, NUL-terminated */
    size_t len;      /* bytes in data */
    size_t cap;      /* internal */
    size_t n_chunks; /* data chunks completed (the zero-length one not counted) */
    size_t fed;      /* bytes consumed so far (the terminator's included) */
    size_t rest;     /* bytes fed after the terminator (not consumed) */
    bool terminated; /* the zero-length chunk and the final CRLF arrived */
    bool bad;        /* a framing error was seen; nothing more is consumed */
    size_t bad_at;   /* offset (in all bytes fed) of the offending byte */
    const char *why; /* static: what was wrong */
} fl_raw_dechunk_t;

/** Prepares an empty decoder. */
void fl_raw_dechunk_init(fl_raw_dechunk_t *d);
/** Frees the decoded data. */
void fl_raw_dechunk_close(fl_raw_dechunk_t *d);
/**
 * Feeds len bytes of chunked body. Returns 0, or -1 on malformed framing (then bad, bad_at and
 * why say where and what; later feeds return -1 at once). Aborts on out of memory.
 */
int fl_raw_dechunk_feed(fl_raw_dechunk_t *d, const char *buf, size_t len);

/**
 * Builds a streaming POST for a dialect path ("/v1/chat/completions", "/v1/responses",
 * "/v1/messages", optionally behind "/s/<scenario>"): a small JSON body with "stream": true
 * and the dialect's input field, Content-Length, and `Connection: close` so a complete response
 * ends at FIN. extra_headers (each ending in CRLF) may be NULL. Returns a malloc'd
 * NUL-terminated request; *len gets its length.
 */
char *fl_raw_post(const char *path, const char *extra_headers, size_t *len);

/** Builds a bodyless GET (or another method) for path with `Connection: close`. malloc'd. */
char *fl_raw_get(const char *method, const char *path, size_t *len);

#endif

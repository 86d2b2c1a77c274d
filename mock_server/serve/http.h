/*
 * The HTTP/1.1 request parser: the only place that knows http-parser (so a move to llhttp
 * touches http.c alone).
 *
 * Feed it the bytes of one connection as they arrive, in any fragmentation; it yields complete
 * requests one after another (pipelining), each with its method, path (query split off),
 * version, headers (names lower-cased, copied out of the parser's callbacks), de-chunked body
 * and keep-alive flag. It enforces a body limit and a header-size limit and reports malformed
 * input; after an error the parser is dead and says which status to answer with (400, 413,
 * 431). The header limit counts every byte fed while a request's head is being read (request
 * line, headers, whitespace, CRLFs and any blank lines before the request line), so a flood of
 * tiny headers or of whitespace is refused as soon as it crosses the limit, and the parser says
 * where the request in progress stands (fl_http_parser_phase) so the connection can time each
 * phase. Wire format: RFC 9112 (HTTP/1.1 message syntax), as implemented by http-parser 2.9.
 */
#ifndef FL_HTTP_H
#define FL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/** One request header; both strings owned by the request. */
typedef struct fl_http_header_s {
    char *name;  /* owned, lower-cased */
    char *value; /* owned, as sent (http-parser strips leading and trailing whitespace) */
} fl_http_header_t;

/** One complete request. Owned by whoever took it from fl_http_parser_next; free with
 * fl_http_request_free. */
typedef struct fl_http_request_s {
    char method[24];           /* "GET", "POST", ... */
    char *path;                /* owned: the request target up to '?' (e.g. "/v1/messages") */
    char *query;               /* owned or NULL: what follows '?', without it */
    int http_major;            /* 1 */
    int http_minor;            /* 0 or 1 */
    fl_http_header_t *headers; /* owned array, in arrival order */
    size_t n_headers;
    char *body;      /* owned, NUL-terminated (not counted); chunked bodies de-chunked */
    size_t body_len; /* bytes */
    bool keep_alive; /* http_should_keep_alive: the connection may carry another request */
    struct fl_http_request_s *next; /* free for the owner's queue; NULL when yielded */
} fl_http_request_t;

/** Frees a request and everything it owns. NULL is a no-op. */
void fl_http_request_free(fl_http_request_t *req);

/** Returns the value of the first header called name (lower-case), borrowed, or NULL. */
const char *fl_http_request_header(const fl_http_request_t *req, const char *name);

/** An incremental request parser for one connection (opaque). */
typedef struct fl_http_parser_s fl_http_parser_t;

/**
 * Creates a parser. max_body is the largest request body accepted in bytes (larger → 413);
 * max_header the most bytes of a request's head (request line, headers, every line end up to
 * and including the blank line, and blank lines before the request line): one more byte → 431,
 * and no byte past that one is parsed.
 * Returns 0 and sets *out (free with fl_http_parser_free), or FL_ENOMEM.
 */
int fl_http_parser_new(size_t max_body, size_t max_header, fl_http_parser_t **out);

/** Frees the parser and any requests it still holds. NULL is a no-op. */
void fl_http_parser_free(fl_http_parser_t *p);

/**
 * Parses len bytes (copied as needed; data may be freed after the call). Complete requests are
 * queued for fl_http_parser_next. Returns 0, or after malformed input or an exceeded limit
 * FL_EHTTP / FL_ELIMIT / FL_ENOMEM, and from then on returns that error for every call;
 * requests completed before the error stay available.
 */
int fl_http_parser_feed(fl_http_parser_t *p, const char *data, size_t len);

/** Takes the oldest complete request (caller owns it) or returns NULL when there is none. */
fl_http_request_t *fl_http_parser_next(fl_http_parser_t *p);

/** Number of complete requests waiting in fl_http_parser_next. */
size_t fl_http_parser_pending(const fl_http_parser_t *p);

/** Where the request in progress stands. */
typedef enum {
    FL_HTTP_IDLE, /* no byte of a next request has arrived */
    FL_HTTP_HEAD, /* bytes of a request's head arrived, the head is not complete */
    FL_HTTP_BODY, /* the head is complete, its body is not */
} fl_http_phase_t;

/** The phase of the request being received (not of complete requests waiting in
 * fl_http_parser_next). After an error it is the phase the error happened in. */
fl_http_phase_t fl_http_parser_phase(const fl_http_parser_t *p);

/**
 * After an error: the status to answer with (400 malformed, 413 body too large, 431 headers
 * too large) and a static message for the body. Returns 0 while there was no error.
 */
int fl_http_parser_error(const fl_http_parser_t *p, const char **message);

#endif

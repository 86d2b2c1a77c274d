/*
 * A small formatter for HTTP/1.1 response heads: the status line and the headers Faultline
 * sends, ending in the blank line (RFC 9112 section 4 "Status Line" and section 6 "Message
 * Body"; RFC 9110 section 10.2.3 "Retry-After"; RFC 9112 section 9.6 "connection"). Every head
 * Faultline sends is formatted here: the chaos layer's own responses (http_error, a proxy's
 * 504/524 page) and the server's (streamed and JSON answers, control routes, errors). Header names
 * are written in lower case, as HTTP/2-era providers send them; lines end in CRLF.
 */
#ifndef FL_HTTPHEAD_H
#define FL_HTTPHEAD_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/** How the body after the head is delimited. */
typedef enum {
    FL_HTTP_BODY_LENGTH,  /* content-length: content_length */
    FL_HTTP_BODY_CHUNKED, /* transfer-encoding: chunked */
    FL_HTTP_BODY_CLOSE,   /* connection: close, no length: the body ends at FIN */
} fl_http_body_t;

/** What one head says. Strings are borrowed; NULL leaves the header out. */
typedef struct fl_http_head_s {
    int status;               /* 100..999 */
    const char *reason;       /* reason phrase; NULL: fl_http_reason(status) */
    const char *content_type; /* e.g. "text/event-stream", "application/json" */
    fl_http_body_t body;      /* framing of the body that follows */
    size_t content_length;    /* bytes, for FL_HTTP_BODY_LENGTH */
    const char *request_id;   /* x-request-id */
    int64_t retry_after_s;    /* retry-after in seconds; -1 leaves it out */
    int64_t retry_after_ms;   /* retry-after-ms (OpenAI's and Anthropic's SDKs read it); -1 out */
    const char *connection;   /* connection: "keep-alive" or "close"; FL_HTTP_BODY_CLOSE always
                                 says close, so it is not repeated there */
    const char *extra;        /* more header lines, each ending in CRLF; NULL for none */
} fl_http_head_t;

/** Returns a head with every optional header left out (retry fields -1), for `status`. */
fl_http_head_t fl_http_head_default(int status);

/**
 * Returns the standard reason phrase of a status (RFC 9110 section 15), the vendors' for
 * 524 ("A Timeout Occurred", Cloudflare) and 529 ("Site is overloaded", Anthropic), or
 * "Unknown" for others. Static string.
 */
const char *fl_http_reason(int status);

/**
 * Appends "HTTP/1.1 <status> <reason>\r\n", the headers (content-type, the framing header,
 * x-request-id, retry-after, retry-after-ms, connection, then extra) and the blank line to out.
 * Returns 0, FL_EINVAL (status outside 100..999) or FL_ENOMEM (out unchanged).
 */
int fl_http_head_format(fl_buf_t *out, const fl_http_head_t *h);

#endif

/* The http-parser wrapper; see http.h. Everything http-parser hands us is copied inside the
 * callback that hands it over, because its pointers point into the caller's read buffer.
 *
 * Header bytes are counted by the feeder, not by the data callbacks (which never see
 * whitespace, line ends or empty values): the parser pauses itself (http_parser_pause) when a
 * head completes and when a message completes, so every http_parser_execute call runs within one
 * phase and the bytes it consumed are that phase's. In the head phase a call is given at most
 * one byte more than the limit leaves, so nothing past the limit is ever parsed. */
#include "serve/http.h"

#include "base/buf.h"
#include "base/error.h"

#include <ctype.h>
#include <http_parser.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_http_parser_s {
    http_parser hp;
    http_parser_settings settings;
    size_t max_body;     /* bytes */
    size_t max_header;   /* bytes */
    size_t header_bytes; /* bytes fed in the head phase of the current message */
    fl_http_phase_t phase;
    fl_buf_t url;
    fl_buf_t field; /* current header name, accumulated across callbacks */
    fl_buf_t value; /* current header value */
    bool in_value;  /* the last header callback was for a value */
    fl_buf_t body;
    fl_http_header_t *headers;
    size_t n_headers, cap_headers;
    fl_http_request_t *head, *tail; /* complete requests, oldest first */
    size_t pending;
    int err;    /* 0, or the sticky error */
    int status; /* 400, 413, 431 after an error */
    const char *message;
};

void fl_http_request_free(fl_http_request_t *req)
{
    if (!req)
        return;
    for (size_t i = 0; i < req->n_headers; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    free(req->path);
    free(req->query);
    free(req->body);
    free(req);
}

const char *fl_http_request_header(const fl_http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static fl_http_parser_t *parser_of(http_parser *hp)
{
    return (fl_http_parser_t *)((char *)hp - offsetof(fl_http_parser_t, hp));
}

/* Marks the sticky error and makes http_parser_execute stop (a non-zero callback return). */
static int fail(fl_http_parser_t *p, int err, int status, const char *message)
{
    if (!p->err) {
        p->err = err;
        p->status = status;
        p->message = message;
    }
    return -1;
}

static void reset_message(fl_http_parser_t *p)
{
    for (size_t i = 0; i < p->n_headers; i++) {
        free(p->headers[i].name);
        free(p->headers[i].value);
    }
    free(p->headers);
    p->headers = NULL;
    p->n_headers = p->cap_headers = 0;
    fl_buf_close(&p->url);
    fl_buf_close(&p->field);
    fl_buf_close(&p->value);
    fl_buf_close(&p->body);
    p->in_value = false;
}

static char *dup_buf(const fl_buf_t *b)
{
    char *s = malloc(b->len + 1);
    if (!s)
        return NULL;
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

/* Moves the accumulated name/value pair into the header list. */
static int flush_header(fl_http_parser_t *p)
{
    if (!p->in_value)
        return 0;
    if (p->n_headers == p->cap_headers) {
        size_t cap = p->cap_headers ? p->cap_headers * 2 : 16;
        fl_http_header_t *h = realloc(p->headers, cap * sizeof(*h));
        if (!h)
            return fail(p, FL_ENOMEM, 500, "out of memory");
        p->headers = h;
        p->cap_headers = cap;
    }
    char *name = dup_buf(&p->field);
    char *value = dup_buf(&p->value);
    if (!name || !value) {
        free(name);
        free(value);
        return fail(p, FL_ENOMEM, 500, "out of memory");
    }
    for (char *c = name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    p->headers[p->n_headers++] = (fl_http_header_t){name, value};
    fl_buf_close(&p->field);
    fl_buf_close(&p->value);
    p->in_value = false;
    return 0;
}

static int on_message_begin(http_parser *hp)
{
    reset_message(parser_of(hp));
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
    fl_http_parser_t *p = parser_of(hp);
    if (fl_buf_append(&p->url, at, len))
        return fail(p, FL_ENOMEM, 500, "out of memory");
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    fl_http_parser_t *p = parser_of(hp);
    if (flush_header(p))
        return -1;
    if (fl_buf_append(&p->field, at, len))
        return fail(p, FL_ENOMEM, 500, "out of memory");
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    fl_http_parser_t *p = parser_of(hp);
    p->in_value = true;
    /* Reserve even for an empty value so that the value's data is never NULL. */
    if (fl_buf_reserve(&p->value, 1) || fl_buf_append(&p->value, at, len))
        return fail(p, FL_ENOMEM, 500, "out of memory");
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    fl_http_parser_t *p = parser_of(hp);
    if (flush_header(p))
        return -1;
    /* http-parser 2.9 leaves content_length at ULLONG_MAX when there is no Content-Length. */
    if (hp->content_length != ULLONG_MAX && hp->content_length > p->max_body)
        return fail(p, FL_ELIMIT, 413, "request body too large");
    if (hp->upgrade)
        return fail(p, FL_EHTTP, 400, "protocol upgrade is not supported");
    /* Stop here so the feeder knows where the head ended (see the top of this file). */
    p->phase = FL_HTTP_BODY;
    http_parser_pause(hp, 1);
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    fl_http_parser_t *p = parser_of(hp);
    if (p->body.len + len > p->max_body)
        return fail(p, FL_ELIMIT, 413, "request body too large");
    if (fl_buf_append(&p->body, at, len))
        return fail(p, FL_ENOMEM, 500, "out of memory");
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    fl_http_parser_t *p = parser_of(hp);
    fl_http_request_t *req = calloc(1, sizeof(*req));
    if (!req)
        return fail(p, FL_ENOMEM, 500, "out of memory");
    snprintf(req->method, sizeof(req->method), "%s", http_method_str(hp->method));
    req->http_major = hp->http_major;
    req->http_minor = hp->http_minor;
    req->keep_alive = http_should_keep_alive(hp) != 0;

    const char *url = p->url.data ? p->url.data : "";
    const char *q = strchr(url, '?');
    size_t path_len = q ? (size_t)(q - url) : p->url.len;
    req->path = strndup(url, path_len);
    if (q)
        req->query = strdup(q + 1);
    req->body = dup_buf(&p->body);
    req->body_len = p->body.len;
    if (!req->path || (q && !req->query) || !req->body) {
        fl_http_request_free(req);
        return fail(p, FL_ENOMEM, 500, "out of memory");
    }
    req->headers = p->headers;
    req->n_headers = p->n_headers;
    p->headers = NULL;
    p->n_headers = p->cap_headers = 0;
    reset_message(p);

    if (p->tail)
        p->tail->next = req;
    else
        p->head = req;
    p->tail = req;
    p->pending++;
    p->phase = FL_HTTP_IDLE;
    p->header_bytes = 0;
    http_parser_pause(hp, 1);
    return 0;
}

int fl_http_parser_new(size_t max_body, size_t max_header, fl_http_parser_t **out)
{
    fl_http_parser_t *p = calloc(1, sizeof(*p));
    if (!p)
        return FL_ENOMEM;
    http_parser_init(&p->hp, HTTP_REQUEST);
    http_parser_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_url = on_url;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_value = on_header_value;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    p->max_body = max_body;
    p->max_header = max_header;
    fl_buf_init(&p->url);
    fl_buf_init(&p->field);
    fl_buf_init(&p->value);
    fl_buf_init(&p->body);
    *out = p;
    return 0;
}

void fl_http_parser_free(fl_http_parser_t *p)
{
    if (!p)
        return;
    reset_message(p);
    while (p->head) {
        fl_http_request_t *r = p->head;
        p->head = r->next;
        fl_http_request_free(r);
    }
    free(p);
}

/* Runs http-parser over one piece that lies within one phase (see the top of this file). */
static int feed_piece(fl_http_parser_t *p, const char *data, size_t len, size_t *used)
{
    fl_http_phase_t was = p->phase;
    size_t n = http_parser_execute(&p->hp, &p->settings, data, len);
    *used = n;
    if (was != FL_HTTP_BODY) {
        /* A head completes on its last LF, which http-parser leaves unconsumed when it pauses
         * there (it takes it again on resuming): that byte is the head's too. */
        p->header_bytes += n + (p->phase == FL_HTTP_BODY ? 1 : 0);
        if (was == FL_HTTP_IDLE && p->phase == FL_HTTP_IDLE && n > 0)
            p->phase = FL_HTTP_HEAD;
    }
    if (p->err)
        return p->err;
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (e == HPE_PAUSED)
        http_parser_pause(&p->hp, 0);
    else if (e == HPE_HEADER_OVERFLOW)
        fail(p, FL_ELIMIT, 431, "request header fields too large");
    else if (e != HPE_OK || n != len)
        fail(p, FL_EHTTP, 400, "malformed HTTP request");
    if (!p->err && was != FL_HTTP_BODY && p->header_bytes > p->max_header)
        fail(p, FL_ELIMIT, 431, "request header fields too large");
    return p->err;
}

int fl_http_parser_feed(fl_http_parser_t *p, const char *data, size_t len)
{
    while (!p->err && len > 0) {
        size_t piece = len;
        if (p->phase != FL_HTTP_BODY && piece > p->max_header - p->header_bytes + 1)
            piece = p->max_header - p->header_bytes + 1;
        size_t used;
        if (feed_piece(p, data, piece, &used))
            break;
        data += used;
        len -= used;
    }
    return p->err;
}

fl_http_request_t *fl_http_parser_next(fl_http_parser_t *p)
{
    fl_http_request_t *r = p->head;
    if (!r)
        return NULL;
    p->head = r->next;
    if (!p->head)
        p->tail = NULL;
    r->next = NULL;
    p->pending--;
    return r;
}

size_t fl_http_parser_pending(const fl_http_parser_t *p)
{
    return p->pending;
}

fl_http_phase_t fl_http_parser_phase(const fl_http_parser_t *p)
{
    return p->phase;
}

int fl_http_parser_error(const fl_http_parser_t *p, const char **message)
{
    if (message)
        *message = p->err ? p->message : NULL;
    return p->err ? p->status : 0;
}

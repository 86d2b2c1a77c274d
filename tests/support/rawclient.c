/*
 * The recording client (see rawclient.h). Blocking sockets driven by poll(): a test thread owns
 * the socket, so nothing here needs a loop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "rawclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "rawclient: out of memory\n");
        abort();
    }
    return q;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

const char *fl_raw_end_name(fl_raw_end_t e)
{
    switch (e) {
    case FL_RAW_EOF:
        return "eof";
    case FL_RAW_RESET:
        return "reset";
    case FL_RAW_TIMEOUT:
        return "timeout";
    case FL_RAW_CLOSED:
        return "closed";
    case FL_RAW_ERROR:
        break;
    }
    return "error";
}

static void record(fl_raw_result_t *r, const char *buf, size_t n, double t)
{
    r->reads = xrealloc(r->reads, (r->n_reads + 1) * sizeof(*r->reads));
    fl_raw_read_t *rd = &r->reads[r->n_reads++];
    rd->bytes = xrealloc(NULL, n);
    memcpy(rd->bytes, buf, n);
    rd->len = n;
    rd->t_ms = t;
    r->all = xrealloc(r->all, r->len + n + 1);
    memcpy(r->all + r->len, buf, n);
    r->len += n;
    r->all[r->len] = '\0';
}

int fl_raw_exchange(int port, const char *req, size_t req_len, const fl_raw_opts_t *opts,
                    fl_raw_result_t *out)
{
    int timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 5000;
    int close_after = opts ? opts->close_after_ms : 0;
    int rc;
    memset(out, 0, sizeof(*out));
    out->all = xrealloc(NULL, 1);
    out->all[0] = '\0';

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        rc = -errno;
        goto fail_fd;
    }
    for (size_t sent = 0; sent < req_len;) {
        ssize_t k = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = -errno;
            goto fail_fd;
        }
        sent += (size_t)k;
    }
    double t0 = now_ms();

    char buf[65536];
    for (;;) {
        double t = now_ms() - t0;
        double limit = timeout_ms;
        bool ours = close_after > 0 && close_after < timeout_ms;
        if (ours)
            limit = close_after;
        if (t >= limit) {
            out->end = ours ? FL_RAW_CLOSED : FL_RAW_TIMEOUT;
            out->end_ms = t;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int wait = (int)(limit - t) + 1;
        int n = poll(&p, 1, wait);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            out->end = FL_RAW_ERROR;
            out->err = errno;
            out->end_ms = now_ms() - t0;
            break;
        }
        if (n == 0)
            continue; /* the limit check above ends the loop */
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        t = now_ms() - t0;
        if (k > 0) {
            record(out, buf, (size_t)k, t);
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        out->end_ms = t;
        if (k == 0) {
            out->end = FL_RAW_EOF;
        } else if (errno == ECONNRESET) {
            out->end = FL_RAW_RESET;
        } else {
            out->end = FL_RAW_ERROR;
            out->err = errno;
        }
        break;
    }
    close(fd);
    return 0;

fail_fd:
    close(fd);
fail:
    fl_raw_result_free(out);
    return rc;
}

void fl_raw_result_free(fl_raw_result_t *r)
{
    for (size_t i = 0; i < r->n_reads; i++)
        free(r->reads[i].bytes);
    free(r->reads);
    free(r->all);
    memset(r, 0, sizeof(*r));
}

size_t fl_raw_head_len(const char *buf, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

bool fl_raw_header(const char *head, size_t head_len, const char *name, char *out, size_t out_size)
{
    size_t nl = strlen(name);
    const char *end = head + head_len;
    /* skip the status line */
    const char *p = memchr(head, '\n', head_len);
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            size_t n = (size_t)(ve - v);
            if (n >= out_size)
                n = out_size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = eol;
    }
    return false;
}

int fl_raw_status(const char *head, size_t head_len)
{
    if (head_len < 12 || strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
        return 0;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return 0;
        st = st * 10 + (head[i] - '0');
    }
    return st;
}

/* --- the chunked decoder --- */

enum {
    DC_SIZE,     /* hex digits of a chunk-size */
    DC_EXT,      /* after ';': a chunk extension, up to CR */
    DC_SIZE_LF,  /* CR seen after the size line, LF expected */
    DC_DATA,     /* size bytes of chunk data */
    DC_DATA_CR,  /* CR expected after the data */
    DC_DATA_LF,  /* LF expected */
    DC_TRAILER,  /* at the start of a trailer line (after the zero-length chunk) */
    DC_TR_LINE,  /* inside a trailer field line */
    DC_TR_LF,    /* CR seen in a trailer field line */
    DC_FINAL_LF, /* CR seen at the start of a trailer line: LF ends the body */
    DC_DONE,
};

void fl_raw_dechunk_init(fl_raw_dechunk_t *d)
{
    memset(d, 0, sizeof(*d));
    d->data = xrealloc(NULL, 1);
    d->data[0] = '\0';
    d->cap = 1;
}

void fl_raw_dechunk_close(fl_raw_dechunk_t *d)
{
    free(d->data);
    memset(d, 0, sizeof(*d));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int bad(fl_raw_dechunk_t *d, const char *why)
{
    d->bad = true;
    d->bad_at = d->fed;
    d->why = why;
    return -1;
}

static void put(fl_raw_dechunk_t *d, const char *p, size_t n)
{
    if (d->len + n + 1 > d->cap) {
        size_t cap = d->cap * 2;
        while (cap < d->len + n + 1)
            cap *= 2;
        d->data = xrealloc(d->data, cap);
        d->cap = cap;
    }
    memcpy(d->data + d->len, p, n);
    d->len += n;
    d->data[d->len] = '\0';
}

int fl_raw_dechunk_feed(fl_raw_dechunk_t *d, const char *buf, size_t len)
{
    if (d->bad)
        return -1;
    size_t i = 0;
    while (i < len) {
        char c = buf[i];
        switch (d->state) {
        case DC_SIZE: {
            int h = hexval(c);
            if (h >= 0) {
                if (d->digits == 15)
                    return bad(d, "chunk-size too long");
                d->size = d->size * 16 + (uint64_t)h;
                d->digits++;
            } else if (d->digits == 0) {
                return bad(d, "chunk-size line does not start with a hex digit");
            } else if (c == ';') {
                d->state = DC_EXT;
            } else if (c == '\r') {
                d->state = DC_SIZE_LF;
            } else {
                return bad(d, "unexpected byte in chunk-size line");
            }
            break;
        }
        case DC_EXT:
            if (c == '\r')
                d->state = DC_SIZE_LF;
            else if (c == '\n')
                return bad(d, "bare LF in chunk-size line");
            break;
        case DC_SIZE_LF:
            if (c != '\n')
                return bad(d, "chunk-size line not ended by CRLF");
            d->state = d->size ? DC_DATA : DC_TRAILER;
            break;
        case DC_DATA: {
            size_t n = len - i;
            if (n > d->size)
                n = (size_t)d->size;
            put(d, buf + i, n);
            d->size -= n;
            d->fed += n;
            i += n;
            if (!d->size)
                d->state = DC_DATA_CR;
            continue;
        }
        case DC_DATA_CR:
            if (c != '\r')
                return bad(d, "chunk data not followed by CRLF");
            d->state = DC_DATA_LF;
            break;
        case DC_DATA_LF:
            if (c != '\n')
                return bad(d, "chunk data not followed by CRLF");
            d->n_chunks++;
            d->size = 0;
            d->digits = 0;
            d->state = DC_SIZE;
            break;
        case DC_TRAILER:
            d->state = c == '\r' ? DC_FINAL_LF : DC_TR_LINE;
            break;
        case DC_TR_LINE:
            if (c == '\r')
                d->state = DC_TR_LF;
            break;
        case DC_TR_LF:
            if (c != '\n')
                return bad(d, "trailer line not ended by CRLF");
            d->state = DC_TRAILER;
            break;
        case DC_FINAL_LF:
            if (c != '\n')
                return bad(d, "last chunk not ended by CRLF");
            d->state = DC_DONE;
            d->terminated = true;
            break;
        case DC_DONE:
            d->rest += len - i;
            return 0;
        }
        d->fed++;
        i++;
    }
    return 0;
}

/* --- requests --- */

static char *format(size_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *format(size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "rawclient: out of memory\n");
        abort();
    }
    if (len)
        *len = (size_t)n;
    return s;
}

char *fl_raw_post(const char *path, const char *extra_headers, size_t *len)
{
    const char *body;
    if (strstr(path, "/v1/responses"))
        body = "{\"model\":\"m\",\"stream\":true,\"input\":\"Say hello.\"}";
    else if (strstr(path, "/v1/messages"))
        body = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":64,"
               "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
    else
        body = "{\"model\":\"m\",\"stream\":true,"
               "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
    return format(len,
                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                  path, strlen(body), extra_headers ? extra_headers : "", body);
}

char *fl_raw_get(const char *method, const char *path, size_t *len)
{
    return format(len,
                  "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n",
                  method ? method : "GET", path);
}

/*
 * `curl --trace-time --trace-ascii FILE` and `curl --trace-time --trace FILE` output (curl's
 * src/tool_cb_dbg.c): a line per event, `HH:MM:SS.uuuuuu == Info: ...`, `=> Send header, N
 * bytes (0xN)`, `<= Recv data, N bytes (0xN)`, each block followed by its dump lines
 * `OOOO: ...` (OOOO the hex offset in the block). --trace dumps 16 bytes a line in hex, exact.
 * --trace-ascii dumps 64 a line as text: CR LF ends a dump line (the next offset tells it was
 * there), every other byte outside 0x20-0x7f shows as '.'; a run of '.' before an SSE field,
 * before CR LF or at the block's end is read back as LF (other '.' stay '.').
 * Every `<= Recv data` block is one write at its time (ms after the first `=> Send header`);
 * chunked framing (RFC 9112 section 7.1), when the head says so and the bytes carry it, is
 * decoded across blocks, and its terminator makes the ending complete; otherwise curl's Info
 * lines say how it ended (reset, "transfer closed with outstanding read data", a timeout).
 */
#include "import/import_impl.h"

#include "base/chunked.h"
#include "base/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { B_NONE, B_INFO, B_SEND_HEAD, B_SEND_DATA, B_RECV_HEAD, B_RECV_DATA, B_OTHER } blk_t;

typedef struct line_s {
    const char *p;
    size_t n;
} line_t;

/* Parses "HH:MM:SS.uuuuuu " at p; returns its length (16) and *us (microseconds), or 0. */
static size_t parse_time(const char *p, size_t n, uint64_t *us_out)
{
    if (n < 16 || p[2] != ':' || p[5] != ':' || p[8] != '.' || p[15] != ' ')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 2 && i != 5 && i != 8 && !isdigit((unsigned char)p[i]))
            return 0;
    uint64_t h = (uint64_t)atoi(p), m = (uint64_t)atoi(p + 3), s = (uint64_t)atoi(p + 6),
             us = (uint64_t)strtoul(p + 9, NULL, 10);
    *us_out = ((h * 60 + m) * 60 + s) * 1000000 + us;
    return 16;
}

/* The kind of a trace event line (after its time), or B_NONE when it is not one. */
static blk_t event_kind(const char *p, size_t n)
{
    static const struct {
        const char *prefix;
        blk_t kind;
    } kinds[] = {{"== Info:", B_INFO},          {"=> Send header", B_SEND_HEAD},
                 {"=> Send data", B_SEND_DATA}, {"<= Recv header", B_RECV_HEAD},
                 {"<= Recv data", B_RECV_DATA}, {"=> Send SSL data", B_OTHER},
                 {"<= Recv SSL data", B_OTHER}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t k = strlen(kinds[i].prefix);
        if (n >= k && memcmp(p, kinds[i].prefix, k) == 0)
            return kinds[i].kind;
    }
    return B_NONE;
}

bool fl_import__is_trace(const char *text, size_t len)
{
    const char *e = memchr(text, '\n', len);
    size_t n = e ? (size_t)(e - text) : len;
    uint64_t ms;
    size_t t = parse_time(text, n, &ms);
    return event_kind(text + t, n - t) != B_NONE;
}

static bool is_hex_dump(const char *p, size_t n)
{
    /* "0000: 48 54 54 50 ..." : offset, then pairs of hex digits with a space after each */
    return n >= 9 && isxdigit((unsigned char)p[6]) && isxdigit((unsigned char)p[7]) && p[8] == ' ';
}

static bool field_start(const char *p, size_t n)
{
    static const char *const f[] = {"data:", "event:", "id:", "retry:", NULL};
    if (n && p[0] == ':')
        return true;
    for (const char *const *k = f; *k; k++)
        if (n >= strlen(*k) && memcmp(p, *k, strlen(*k)) == 0)
            return true;
    return false;
}

/* --trace-ascii: every run of '.' before an SSE field, before CR LF or at the end is LF. */
static void dots_to_lf(char *b, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (b[i] != '.') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && b[j] == '.')
            j++;
        bool lf =
            j == n || field_start(b + j, n - j) || (j + 1 < n && b[j] == '\r' && b[j + 1] == '\n');
        if (lf)
            memset(b + i, '\n', j - i);
        i = j;
    }
}

/* Decodes one block's dump lines (lines[0, n)) of size bytes into out. */
static int dump_bytes(const line_t *lines, size_t n, size_t size, bool *ascii, fl_buf_t *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        const char *p = lines[i].p;
        size_t len = lines[i].n;
        if (len < 6 || p[4] != ':')
            continue;
        size_t off = strtoul(p, NULL, 16);
        size_t next = i + 1 < n && lines[i + 1].n >= 6 ? strtoul(lines[i + 1].p, NULL, 16) : size;
        int rc;
        if (is_hex_dump(p, len)) {
            *ascii = false;
            for (size_t k = 6;
                 k + 2 <= len && isxdigit((unsigned char)p[k]) &&
                 isxdigit((unsigned char)p[k + 1]) && (k + 2 == len || p[k + 2] == ' ');
                 k += 3) {
                char hx[3] = {p[k], p[k + 1], 0};
                char byte = (char)strtoul(hx, NULL, 16);
                if ((rc = fl_buf_append(out, &byte, 1)))
                    return rc;
            }
            continue;
        }
        const char *text = p + 6;
        size_t tl = len - 6;
        if ((rc = fl_buf_append(out, text, tl)))
            return rc;
        if (next > off + tl && (rc = fl_buf_append(out, "\r\n", 2)))
            return rc;
    }
    if (*ascii)
        dots_to_lf(out->data + start, out->len - start);
    return 0;
}

typedef struct trace_s {
    const char *name;
    fl_diag_list_t *diags;
    fl_capture_t *c;
    bool timed, chunked, ascii;
    uint64_t t0;
    bool t0_set;
    fl_chunked_t dc;
    bool dechunk_checked, use_dechunk;
    fl_capture_end_t how;
    bool how_set;
    uint64_t end_ms;
    char detail[200];
} trace_t;

static int on_request_head(trace_t *t, const char *p, size_t n)
{
    /* "POST /v1/chat/completions HTTP/1.1\r\nHost: ...\r\n..." */
    const char *e = memchr(p, '\r', n);
    size_t l0 = e ? (size_t)(e - p) : n;
    const char *sp = memchr(p, ' ', l0),
               *sp2 = sp ? memchr(sp + 1, ' ', l0 - (size_t)(sp + 1 - p)) : NULL;
    if (sp) {
        free(t->c->method);
        free(t->c->path);
        t->c->method = strndup(p, (size_t)(sp - p));
        t->c->path = strndup(sp + 1, sp2 ? (size_t)(sp2 - sp - 1) : l0 - (size_t)(sp + 1 - p));
        if (!t->c->method || !t->c->path)
            return FL_ENOMEM;
    }
    return fl_import__header_lines(t->c, false, p + l0, n - l0, NULL);
}

static int on_response_head(trace_t *t, const char *p, size_t n, uint64_t at)
{
    const char *e = memchr(p, '\r', n);
    size_t l0 = e ? (size_t)(e - p) : n;
    if (l0 > 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new head (after a 1xx): start over */
        t->c->head_ms = at;
        t->chunked = false;
        return fl_import__status_line(t->c, p, l0);
    }
    /* curl reports each header line as its own Recv header block */
    return fl_import__header_lines(t->c, true, p, n, &t->chunked);
}

static int on_data(trace_t *t, const char *p, size_t n, uint64_t at)
{
    if (!t->dechunk_checked) {
        /* curl before 8 traced the bytes off the socket (chunk framing in); later ones may not */
        t->dechunk_checked = true;
        size_t k = 0;
        while (k < n && isxdigit((unsigned char)p[k]))
            k++;
        t->use_dechunk = t->chunked && k > 0 && k + 1 < n && (p[k] == '\r' || p[k] == ';');
    }
    if (!t->use_dechunk)
        return fl_capture_add_write(t->c, at, p, n, FL_CAPTURE_ORIGIN_UPSTREAM);
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_chunked_feed(&t->dc, p, n, &b);
    if (!rc && b.len)
        rc = fl_capture_add_write(t->c, at, b.data, b.len, FL_CAPTURE_ORIGIN_UPSTREAM);
    fl_buf_close(&b);
    return rc;
}

static void on_info(trace_t *t, const char *p, size_t n, uint64_t at)
{
    static const struct {
        const char *needle;
        fl_capture_end_t how;
    } infos[] = {
        {"reset by peer", FL_CAPTURE_END_RST},
        {"Connection reset", FL_CAPTURE_END_RST},
        {"Recv failure", FL_CAPTURE_END_RST},
        {"outstanding read data", FL_CAPTURE_END_FIN},
        {"end of response with", FL_CAPTURE_END_FIN},
        {"Operation timed out", FL_CAPTURE_END_TIMEOUT},
        {"Empty reply from server", FL_CAPTURE_END_NO_RESPONSE},
    };
    for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
        if (!t->how_set && memmem(p, n, infos[i].needle, strlen(infos[i].needle))) {
            t->how = infos[i].how;
            t->how_set = true;
            t->end_ms = at;
            while (n && *p == ' ')
                p++, n--;
            snprintf(t->detail, sizeof(t->detail), "%.*s", (int)(n < 190 ? n : 190), p);
        }
    if (!t->how_set && t->c->has_response)
        t->end_ms = at; /* the last thing curl said, e.g. "Connection #0 ... left intact" */
}

static int block(trace_t *t, blk_t kind, uint64_t at, size_t size, const line_t *lines, size_t nl)
{
    if (kind == B_INFO || kind == B_OTHER || kind == B_NONE)
        return 0;
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = dump_bytes(lines, nl, size, &t->ascii, &b);
    if (!rc && b.len > size)
        b.len = size; /* never more than curl said it had */
    if (!rc) {
        const char *p = b.data ? b.data : "";
        if (kind == B_SEND_HEAD)
            rc = on_request_head(t, p, b.len);
        else if (kind == B_SEND_DATA) {
            char *body = realloc(t->c->req_body, t->c->req_body_len + b.len + 1);
            if (!body) {
                rc = FL_ENOMEM;
            } else {
                memcpy(body + t->c->req_body_len, p, b.len);
                t->c->req_body = body;
                t->c->req_body_len += b.len;
                body[t->c->req_body_len] = '\0';
            }
        } else if (kind == B_RECV_HEAD)
            rc = on_response_head(t, p, b.len, at);
        else if (kind == B_RECV_DATA)
            rc = on_data(t, p, b.len, at);
    }
    fl_buf_close(&b);
    return rc;
}

int fl_import__trace(const char *name, const char *text, size_t len, fl_import_list_t *l,
                     fl_diag_list_t *diags)
{
    trace_t t = {.name = name, .diags = diags, .ascii = true};
    if (!(t.c = fl_import__capture("curl", name, "GET", "/", 0)))
        return FL_ENOMEM;
    line_t *lines = NULL;
    size_t nl = 0, capl = 0, size = 0;
    blk_t kind = B_NONE;
    uint64_t at = 0, last_at = 0;
    int rc = 0;
    for (size_t i = 0; i <= len && !rc;) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        size_t n = e - i;
        if (n && text[i + n - 1] == '\r')
            n--;
        uint64_t ms = 0; /* microseconds, from parse_time */
        size_t tl = i < len ? parse_time(text + i, n, &ms) : 0;
        blk_t k = i < len ? event_kind(text + i + tl, n - tl) : B_NONE;
        if (k != B_NONE || i >= len) {
            rc = block(&t, kind, at, size, lines, nl);
            nl = 0;
            if (i >= len)
                break;
            t.timed = t.timed || tl;
            if (tl && !t.t0_set && k == B_SEND_HEAD) {
                t.t0 = ms;
                t.t0_set = true;
            }
            /* times after midnight wrap; rounded to the nearest ms from microseconds */
            uint64_t rel_us =
                tl && t.t0_set ? (ms >= t.t0 ? ms - t.t0 : ms + 86400000000ull - t.t0) : 0;
            uint64_t rel = (rel_us + 500) / 1000;
            at = rel > last_at ? rel : last_at;
            last_at = at;
            kind = k;
            const char *comma = memchr(text + i + tl, ',', n - tl);
            size = comma ? strtoul(comma + 1, NULL, 10) : 0;
            if (k == B_INFO)
                on_info(&t, text + i + tl + 8, n - tl - 8, at);
        } else if (n >= 6 && text[i + 4] == ':' && text[i + 5] == ' ') {
            if (nl == capl) {
                size_t nc = capl ? capl * 2 : 64;
                line_t *v = realloc(lines, nc * sizeof(*v));
                if (!v) {
                    rc = FL_ENOMEM;
                    break;
                }
                lines = v;
                capl = nc;
            }
            lines[nl++] = (line_t){text + i, n};
        }
        i = e + 1;
    }
    free(lines);
    fl_capture_t *c = t.c;
    if (!rc && !c->has_response && !t.how_set) {
        fl_diag_add(diags, name, 0, 0, "", "curl trace with no `<= Recv header`: no response");
        t.how = FL_CAPTURE_END_NO_RESPONSE;
        t.how_set = true;
    }
    if (rc) {
        fl_capture_free(c);
        return rc;
    }
    c->loss = t.timed ? 0 : FL_CAPTURE_LOSS_TIMING_SYNTHESIZED;
    c->has_end = true;
    if (t.use_dechunk && t.dc.done)
        c->end = FL_CAPTURE_END_COMPLETE;
    else if (t.how_set)
        c->end = t.how;
    else if (t.use_dechunk)
        c->end = FL_CAPTURE_END_FIN; /* no terminator, and curl said nothing */
    else
        c->end = FL_CAPTURE_END_COMPLETE;
    if (!c->has_response)
        c->end = FL_CAPTURE_END_NO_RESPONSE;
    uint64_t last = c->n_writes ? c->writes[c->n_writes - 1].t_ms : c->head_ms;
    c->end_ms = t.end_ms > last ? t.end_ms : last;
    if (t.detail[0] && !(c->end_detail = strdup(t.detail))) {
        fl_capture_free(c);
        return FL_ENOMEM;
    }
    if (c->req_body) {
        if (fl_capture_redact_text(c->req_body, &c->req_body_len) &&
            (rc = fl_capture_add_redacted(c, "request.body"))) {
            fl_capture_free(c);
            return rc;
        }
    }
    return fl_import__add(l, c, name, 0,
                          t.ascii ? "--trace-ascii shows bytes outside 0x20-0x7f as '.': '.' runs "
                                    "before an SSE field or a line end were read as LF"
                                  : NULL);
}

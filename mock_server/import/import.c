/*
 * Importers (import.h): recognising a source, the capture and bare-SSE sources, `curl -i`
 * output, and the helpers the other sources share.
 */
#include "import/import.h"

#include "import/import_impl.h"
#include "base/array.h"
#include "base/error.h"
#include "base/text.h"
#include "encode/sse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fl_import_kind_name(fl_import_kind_t k)
{
    static const char *const names[] = {"capture", "har", "curl -i", "curl trace", "sse"};
    return fl_names_get(names, FL_COUNT(names), (size_t)k);
}

void fl_import_list_init(fl_import_list_t *l)
{
    memset(l, 0, sizeof(*l));
}

void fl_import_list_close(fl_import_list_t *l)
{
    for (size_t i = 0; i < l->len; i++) {
        fl_capture_free(l->items[i].capture);
        free(l->items[i].label);
        free(l->items[i].stem);
        free(l->items[i].loss_note);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* A scenario name stem from a path: the file name without its extensions, [a-z0-9-] only. */
static char *make_stem(const char *name, size_t entry)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char out[80];
    size_t n = 0;
    bool dash = false;
    for (const char *p = base; *p && *p != '.' && n < 56; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch)) {
            if (dash && n)
                out[n++] = '-';
            out[n++] = (char)tolower(ch);
            dash = false;
        } else {
            dash = true;
        }
    }
    if (!n)
        n = (size_t)snprintf(out, sizeof(out), "imported");
    out[n] = '\0';
    if (entry)
        snprintf(out + n, sizeof(out) - n, "-%zu", entry);
    return strdup(out);
}

int fl_import__add(fl_import_list_t *l, fl_capture_t *cap, const char *name, size_t entry,
                   const char *note)
{
    char label[600];
    if (entry)
        snprintf(label, sizeof(label), "%s entry %zu", name, entry);
    else
        snprintf(label, sizeof(label), "%s", name);
    fl_import_item_t it = {cap, strdup(label), make_stem(name, entry), note ? strdup(note) : NULL};
    if (!it.label || !it.stem || (note && !it.loss_note) ||
        FL_ARRAY_GROW(l->items, l->cap, l->len, 4)) {
        fl_capture_free(cap);
        free(it.label);
        free(it.stem);
        free(it.loss_note);
        return FL_ENOMEM;
    }
    l->items[l->len++] = it;
    return 0;
}

fl_capture_t *fl_import__capture(const char *scheme, const char *name, const char *method,
                                 const char *path, unsigned loss)
{
    fl_capture_t *c = fl_capture_new();
    if (!c)
        return NULL;
    size_t n = strlen(scheme) + strlen(name) + 2;
    if ((c->source = malloc(n)))
        snprintf(c->source, n, "%s:%s", scheme, name);
    c->method = strdup(method ? method : "POST");
    c->path = strdup(path ? path : "/");
    c->loss = loss;
    if (!c->source || !c->method || !c->path) {
        fl_capture_free(c);
        return NULL;
    }
    return c;
}

int fl_import__header(fl_capture_t *c, bool response, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    char n[256];
    snprintf(n, sizeof(n), "%.*s", (int)(nlen < 255 ? nlen : 255), name);
    bool secret = fl_capture_secret_header(n);
    char *v = secret ? strdup("REDACTED") : fl_memdup(value, vlen + 1);
    if (!v)
        return FL_ENOMEM;
    if (!secret)
        v[vlen] = '\0';
    int rc = 0;
    if (secret) {
        char what[300];
        snprintf(what, sizeof(what), "%s.headers.%s", response ? "response" : "request", n);
        for (char *p = what; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        rc = fl_capture_add_redacted(c, what);
    }
    if (!rc)
        rc = response ? fl_capture_add_header(&c->resp_headers, &c->n_resp_headers, n, v)
                      : fl_capture_add_header(&c->req_headers, &c->n_req_headers, n, v);
    free(v);
    return rc;
}

int fl_import__status_line(fl_capture_t *c, const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    c->status = sp ? atoi(sp + 1) : 0;
    const char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line)) : NULL;
    free(c->reason);
    c->reason = sp2 ? strndup(sp2 + 1, len - (size_t)(sp2 + 1 - line)) : strdup("");
    for (size_t i = 0; i < c->n_resp_headers; i++) {
        free(c->resp_headers[i].name);
        free(c->resp_headers[i].value);
    }
    c->n_resp_headers = 0;
    c->has_response = true;
    return c->reason ? 0 : FL_ENOMEM;
}

int fl_import__header_lines(fl_capture_t *c, bool response, const char *p, size_t n, bool *chunked)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j] != '\r' && p[j] != '\n')
            j++;
        const char *colon = memchr(p + i, ':', j - i);
        if (colon) {
            const char *v = colon + 1;
            while (v < p + j && *v == ' ')
                v++;
            size_t nl = (size_t)(colon - p - i), vl = (size_t)(p + j - v);
            if (chunked && nl == 17 && strncasecmp(p + i, "transfer-encoding", 17) == 0 &&
                vl >= 7 && strncasecmp(v, "chunked", 7) == 0)
                *chunked = true;
            int rc = fl_import__header(c, response, p + i, nl, v, vl);
            if (rc)
                return rc;
        }
        while (j < n && (p[j] == '\r' || p[j] == '\n'))
            j++;
        i = j;
    }
    return 0;
}

int fl_import__spread(fl_capture_t *c, const char *body, size_t len, uint64_t start_ms,
                      uint64_t span_ms)
{
    size_t n = 0;
    for (size_t off = 0; off < len; n++)
        off += fl_sse_event_len(body + off, len - off);
    size_t i = 0;
    for (size_t off = 0; off < len; i++) {
        size_t e = fl_sse_event_len(body + off, len - off);
        uint64_t t = start_ms + (n > 1 ? span_ms * i / (n - 1) : 0);
        int rc = fl_capture_add_write(c, t, body + off, e, FL_CAPTURE_ORIGIN_UPSTREAM);
        if (rc)
            return rc;
        off += e;
    }
    return 0;
}

bool fl_import__cut_event(const char *body, size_t len)
{
    size_t off = 0, last = 0;
    while (off < len) {
        last = fl_sse_event_len(body + off, len - off);
        off += last;
    }
    if (!len)
        return false;
    /* the last event is whole when it ends in a blank line */
    const char *e = body + len - last;
    size_t k = fl_sse_event_len(e, last);
    return k == last && !(last >= 2 && (body[len - 1] == '\n' || body[len - 1] == '\r') &&
                          (body[len - 2] == '\n' || body[len - 2] == '\r'));
}

static bool is_field_line(const char *p, size_t n)
{
    static const char *const fields[] = {"data:", "event:", "id:", "retry:", NULL};
    if (n && p[0] == ':')
        return true;
    for (const char *const *f = fields; *f; f++)
        if (n >= strlen(*f) && memcmp(p, *f, strlen(*f)) == 0)
            return true;
    return false;
}

bool fl_import__looks_sse(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == '\n' || text[i] == '\r'))
        i++;
    size_t e = i;
    while (e < len && text[e] != '\n' && text[e] != '\r')
        e++;
    return e > i && is_field_line(text + i, e - i);
}

/* ---- a capture file ------------------------------------------------------------------------ */

static int read_capture(const char *name, const char *text, size_t len, fl_import_list_t *l,
                        fl_diag_list_t *diags)
{
    fl_capture_t *c = NULL;
    int rc = fl_capture_parse(name, text, len, &c, diags);
    if (rc)
        return rc;
    return fl_import__add(l, c, name, 0, NULL);
}

/* ---- a bare SSE body ----------------------------------------------------------------------- */

static int read_sse(const char *name, const char *text, size_t len, fl_import_list_t *l)
{
    fl_capture_t *c =
        fl_import__capture("sse", name, "POST", "/",
                           FL_CAPTURE_LOSS_TIMING_SYNTHESIZED | FL_CAPTURE_LOSS_BOUNDARIES_LOST);
    if (!c)
        return FL_ENOMEM;
    c->has_response = true;
    c->status = 200;
    int rc = fl_import__spread(c, text, len, 0, 0);
    if (!rc && !(c->reason = strdup("OK")))
        rc = FL_ENOMEM;
    if (rc) {
        fl_capture_free(c);
        return rc;
    }
    c->has_end = true;
    c->end = fl_import__cut_event(text, len) ? FL_CAPTURE_END_FIN : FL_CAPTURE_END_COMPLETE;
    return fl_import__add(l, c, name, 0,
                          "a bare SSE body keeps no request, head, write boundaries or timing");
}

/* ---- curl -N -i ---------------------------------------------------------------------------- */

/* The end of the line at p (its CR LF or LF not included) and where the next one starts. */
static size_t line_end(const char *t, size_t len, size_t p, size_t *next)
{
    size_t e = p;
    while (e < len && t[e] != '\n')
        e++;
    *next = e < len ? e + 1 : len;
    return e > p && t[e - 1] == '\r' ? e - 1 : e;
}

/* How a `curl: (N) message` line says the transfer ended (curl's exit codes, libcurl-errors(3)). */
static fl_capture_end_t curl_error_end(int code, const char *msg)
{
    if (code == 56 && strstr(msg, "reset")) /* CURLE_RECV_ERROR: Connection reset by peer */
        return FL_CAPTURE_END_RST;
    if (code == 28) /* CURLE_OPERATION_TIMEDOUT */
        return FL_CAPTURE_END_TIMEOUT;
    if (code == 52) /* CURLE_GOT_NOTHING */
        return FL_CAPTURE_END_NO_RESPONSE;
    return FL_CAPTURE_END_FIN; /* 18 partial file, 92 HTTP/2 stream error, 56 other recv */
}

static bool is_status_line(const char *t, size_t len)
{
    return len > 9 && memcmp(t, "HTTP/", 5) == 0;
}

static int read_curl_include(const char *name, const char *t, size_t len, fl_import_list_t *l)
{
    fl_capture_t *c =
        fl_import__capture("curl", name, "POST", "/",
                           FL_CAPTURE_LOSS_TIMING_SYNTHESIZED | FL_CAPTURE_LOSS_BOUNDARIES_LOST);
    if (!c)
        return FL_ENOMEM;
    int rc = 0;
    size_t p = 0, next;
    /* `curl -i -L` or a 100 Continue shows several heads: the last one is the answer's */
    for (;;) {
        size_t e = line_end(t, len, p, &next);
        if ((rc = fl_import__status_line(c, t + p, e - p)))
            return fl_capture_free(c), rc;
        size_t h = next;
        p = next;
        while (p < len && line_end(t, len, p, &next) != p)
            p = next; /* to the blank line */
        if ((rc = fl_import__header_lines(c, true, t + h, p - h, NULL)))
            return fl_capture_free(c), rc;
        if (p < len)
            p = next;
        /* an interim (1xx), redirect or proxy CONNECT head followed by another head */
        if (p < len && is_status_line(t + p, len - p) && c->status != 0)
            continue;
        break;
    }
    c->has_response = true;
    /* a trailing `curl: (N) ...` line (stderr in the same file) says how it ended */
    size_t body_end = len;
    fl_capture_end_t how = FL_CAPTURE_END_COMPLETE;
    char detail[200] = "";
    for (size_t q = len; q > p;) {
        size_t s = q - 1;
        while (s > p && t[s - 1] != '\n')
            s--;
        if (q - s > 7 && memcmp(t + s, "curl: (", 7) == 0) {
            int code = atoi(t + s + 7);
            snprintf(detail, sizeof(detail), "%.*s", (int)(q - s - (t[q - 1] == '\n')), t + s);
            how = curl_error_end(code, detail);
            body_end = s;
            break;
        }
        if (q - s > 1 && !(q - s == 1 && t[s] == '\n'))
            break;
        q = s;
    }
    if (how == FL_CAPTURE_END_COMPLETE && fl_import__cut_event(t + p, body_end - p))
        how = FL_CAPTURE_END_FIN;
    if (how == FL_CAPTURE_END_NO_RESPONSE)
        how = FL_CAPTURE_END_FIN; /* a head came: "got nothing" cannot be */
    rc = fl_import__spread(c, t + p, body_end - p, 0, 0);
    if (rc)
        return fl_capture_free(c), rc;
    c->has_end = true;
    c->end = how;
    if (detail[0] && !(c->end_detail = strdup(detail)))
        return fl_capture_free(c), FL_ENOMEM;
    return fl_import__add(l, c, name, 0,
                          "curl -i output keeps no request, write boundaries or timing");
}

/* ---- recognition --------------------------------------------------------------------------- */

static bool starts_with_json_object(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)t[i]))
        i++;
    return i < len && t[i] == '{';
}

int fl_import_parse(const char *name, const char *text, size_t len, fl_import_list_t *l,
                    fl_diag_list_t *diags)
{
    if (memchr(text, '\0', len) || !fl_utf8_valid(text, len)) {
        fl_diag_add(diags, name, 0, 0, "",
                    "binary data: not a capture, a HAR, curl output or an SSE body");
        return FL_ESCHEMA;
    }
    if (len > 24 && strncmp(text, "{\"type\":\"capture\"", 17) == 0) {
        l->kind = FL_IMPORT_CAPTURE;
        return read_capture(name, text, len, l, diags);
    }
    if (starts_with_json_object(text, len)) {
        l->kind = FL_IMPORT_HAR;
        return fl_import__har(name, text, len, l, diags);
    }
    if (fl_import__is_trace(text, len)) {
        l->kind = FL_IMPORT_CURL_TRACE;
        return fl_import__trace(name, text, len, l, diags);
    }
    if (is_status_line(text, len)) {
        l->kind = FL_IMPORT_CURL_INCLUDE;
        return read_curl_include(name, text, len, l);
    }
    if (fl_import__looks_sse(text, len)) {
        l->kind = FL_IMPORT_SSE;
        return read_sse(name, text, len, l);
    }
    fl_diag_add(diags, name, 0, 0, "",
                "not a capture, a HAR, `curl -i` or `curl --trace` output or an SSE body");
    return FL_ESCHEMA;
}

int fl_import_read(const char *path, fl_import_list_t *l, fl_diag_list_t *diags)
{
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_capture_read_whole(path, &b, diags);
    if (!rc && !b.len) {
        fl_diag_add(diags, path, 0, 0, "", "empty file");
        rc = FL_ESCHEMA;
    }
    if (!rc)
        rc = fl_import_parse(path, b.data, b.len, l, diags);
    fl_buf_close(&b);
    return rc;
}

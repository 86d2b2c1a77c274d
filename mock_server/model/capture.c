/*
 * Captures: the JSON Lines file format of docs/capture.md, read and written with jansson;
 * base64 from OpenSSL's libcrypto.
 */
#include "model/capture.h"

#include "base/array.h"
#include "base/text.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const end_names[] = {
#define X(name, s) s,
    FL_CAPTURE_END_MAP(X)
#undef X
};

const char *fl_capture_end_name(fl_capture_end_t e)
{
    return fl_names_get(end_names, FL_COUNT(end_names), (size_t)e);
}

int fl_capture_end_parse(const char *s, fl_capture_end_t *out)
{
    long i = fl_names_find(end_names, FL_COUNT(end_names), s);
    if (i < 0)
        return FL_EINVAL;
    *out = (fl_capture_end_t)i;
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
} loss_names[] = {
#define X(name, s, bit) {s, bit},
    FL_CAPTURE_LOSS_MAP(X)
#undef X
};

static const char *const origin_names[] = {"upstream", "fault", "withheld"};

fl_capture_t *fl_capture_new(void)
{
    fl_capture_t *c = calloc(1, sizeof *c);
    if (c)
        c->version = FL_CAPTURE_VERSION;
    return c;
}

static void headers_free(fl_capture_header_t *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

void fl_capture_free(fl_capture_t *c)
{
    if (!c)
        return;
    free(c->source);
    free(c->created);
    for (size_t i = 0; i < c->n_redacted; i++)
        free(c->redacted[i]);
    free(c->redacted);
    free(c->method);
    free(c->path);
    headers_free(c->req_headers, c->n_req_headers);
    free(c->req_body);
    free(c->reason);
    headers_free(c->resp_headers, c->n_resp_headers);
    for (size_t i = 0; i < c->n_writes; i++)
        free(c->writes[i].bytes);
    free(c->writes);
    free(c->end_detail);
    free(c);
}

int fl_capture_add_write(fl_capture_t *c, uint64_t t_ms, const void *bytes, size_t len,
                         fl_capture_origin_t origin)
{
    if (c->n_writes >= FL_CAPTURE_MAX_WRITES)
        return FL_ELIMIT;
    if (FL_ARRAY_GROW(c->writes, c->cap_writes, c->n_writes, 16) < 0)
        return FL_ENOMEM;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return FL_ENOMEM;
    if (len)
        memcpy(copy, bytes, len);
    c->writes[c->n_writes++] = (fl_capture_write_t){t_ms, copy, len, origin};
    return 0;
}

int fl_capture_add_header(fl_capture_header_t **headers, size_t *n, const char *name,
                          const char *value)
{
    if (*n >= FL_CAPTURE_MAX_HEADERS)
        return FL_ELIMIT;
    fl_capture_header_t *grown = realloc(*headers, (*n + 1) * sizeof **headers);
    if (!grown)
        return FL_ENOMEM;
    *headers = grown;
    char *nm = strdup(name), *val = strdup(value);
    if (!nm || !val) {
        free(nm);
        free(val);
        return FL_ENOMEM;
    }
    grown[(*n)++] = (fl_capture_header_t){nm, val};
    return 0;
}

int fl_capture_add_redacted(fl_capture_t *c, const char *what)
{
    for (size_t i = 0; i < c->n_redacted; i++)
        if (strcmp(c->redacted[i], what) == 0)
            return 0;
    char **grown = realloc(c->redacted, (c->n_redacted + 1) * sizeof *grown);
    if (!grown)
        return FL_ENOMEM;
    c->redacted = grown;
    if (!(grown[c->n_redacted] = strdup(what)))
        return FL_ENOMEM;
    c->n_redacted++;
    return 0;
}

/* ---- writing ---- */

/* Appends obj as one compact line and consumes the reference. */
static int put_line(fl_buf_t *b, json_t *obj)
{
    if (!obj)
        return FL_ENOMEM;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!s)
        return FL_ENOMEM;
    int rc = fl_buf_append_str(b, s);
    free(s);
    return rc < 0 ? rc : fl_buf_append(b, "\n", 1);
}

static bool text_safe(const void *p, size_t n)
{
    return fl_utf8_valid(p, n) && !memchr(p, '\0', n);
}

/* Sets obj[text_key] to the bytes as a string, or obj[b64_key] to their base64. */
static int set_bytes(json_t *obj, const char *text_key, const char *b64_key, const void *p,
                     size_t n)
{
    if (text_safe(p, n))
        return json_object_set_new(obj, text_key, json_stringn(p, n)) ? FL_ENOMEM : 0;
    if (n > (size_t)INT32_MAX / 2)
        return FL_ELIMIT;
    char *enc = malloc(4 * ((n + 2) / 3) + 1);
    if (!enc)
        return FL_ENOMEM;
    EVP_EncodeBlock((unsigned char *)enc, p, (int)n);
    int rc = json_object_set_new(obj, b64_key, json_string(enc)) ? FL_ENOMEM : 0;
    free(enc);
    return rc;
}

static json_t *headers_json(const fl_capture_header_t *h, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_pack("[ss]", h[i].name, h[i].value))) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *flags_json(unsigned loss)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < FL_COUNT(loss_names); i++)
        if ((loss & loss_names[i].bit) &&
            json_array_append_new(arr, json_string(loss_names[i].name))) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

int fl_capture_line_header(fl_buf_t *b, const fl_capture_t *c)
{
    json_t *o = json_pack("{s:s, s:i, s:s}", "type", "capture", "version", FL_CAPTURE_VERSION,
                          "source", c->source ? c->source : "");
    json_t *red = json_array();
    for (size_t i = 0; red && i < c->n_redacted; i++)
        json_array_append_new(red, json_string(c->redacted[i]));
    if (!o || !red || (c->created && json_object_set_new(o, "created", json_string(c->created))) ||
        json_object_set_new(o, "loss", flags_json(c->loss)) ||
        json_object_set_new(o, "redacted", red)) {
        json_decref(o);
        return FL_ENOMEM;
    }
    return put_line(b, o);
}

int fl_capture_line_request(fl_buf_t *b, const fl_capture_t *c)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:o*}", "type", "request", "t_ms", 0, "method",
                          c->method ? c->method : "GET", "path", c->path ? c->path : "/", "headers",
                          headers_json(c->req_headers, c->n_req_headers));
    if (!o)
        return FL_ENOMEM;
    if (c->req_body && set_bytes(o, "body", "body_b64", c->req_body, c->req_body_len) < 0) {
        json_decref(o);
        return FL_ENOMEM;
    }
    return put_line(b, o);
}

int fl_capture_line_response(fl_buf_t *b, const fl_capture_t *c)
{
    json_t *o =
        json_pack("{s:s, s:I, s:i, s:s, s:o*}", "type", "response", "t_ms", (json_int_t)c->head_ms,
                  "status", c->status, "reason", c->reason ? c->reason : "", "headers",
                  headers_json(c->resp_headers, c->n_resp_headers));
    return put_line(b, o);
}

int fl_capture_line_write(fl_buf_t *b, uint64_t t_ms, const void *bytes, size_t len,
                          fl_capture_origin_t origin)
{
    json_t *o = json_pack("{s:s, s:I}", "type", "write", "t_ms", (json_int_t)t_ms);
    if (!o)
        return FL_ENOMEM;
    int rc = set_bytes(o, "data", "b64", bytes, len);
    if (rc == 0 && origin != FL_CAPTURE_ORIGIN_UPSTREAM &&
        json_object_set_new(o, "origin", json_string(origin_names[origin])))
        rc = FL_ENOMEM;
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    return put_line(b, o);
}

int fl_capture_line_end(fl_buf_t *b, fl_capture_end_t how, uint64_t t_ms, const char *detail,
                        unsigned loss)
{
    json_t *o = json_pack("{s:s, s:I, s:s}", "type", "end", "t_ms", (json_int_t)t_ms, "how",
                          fl_capture_end_name(how));
    if (o && detail && json_object_set_new(o, "detail", json_string(detail)))
        goto fail;
    if (o && loss && json_object_set_new(o, "loss", flags_json(loss)))
        goto fail;
    return put_line(b, o);
fail:
    json_decref(o);
    return FL_ENOMEM;
}

int fl_capture_write(fl_buf_t *b, const fl_capture_t *c)
{
    int rc = fl_capture_line_header(b, c);
    if (rc == 0)
        rc = fl_capture_line_request(b, c);
    if (rc == 0 && c->has_response)
        rc = fl_capture_line_response(b, c);
    for (size_t i = 0; rc == 0 && i < c->n_writes; i++) {
        const fl_capture_write_t *w = &c->writes[i];
        rc = fl_capture_line_write(b, w->t_ms, w->bytes, w->len, w->origin);
    }
    if (rc == 0 && c->has_end)
        rc = fl_capture_line_end(b, c->end, c->end_ms, c->end_detail, 0);
    return rc;
}

int fl_capture_body(const fl_capture_t *c, fl_buf_t *out)
{
    for (size_t i = 0; i < c->n_writes; i++) {
        const fl_capture_write_t *w = &c->writes[i];
        if (w->origin != FL_CAPTURE_ORIGIN_WITHHELD && fl_buf_append(out, w->bytes, w->len) < 0)
            return FL_ENOMEM;
    }
    return 0;
}

/* ---- reading ---- */

/* Where the parser is, for diagnostics. */
typedef struct parse_s {
    const char *name;
    int line;
    fl_diag_list_t *diags;
    fl_capture_t *c;
    int stage; /* 0 header, 1 request, 2 response, 3 writes, 4 ended */
} parse_t;

static int bad(parse_t *p, int col, const char *field, const char *msg)
{
    fl_diag_add(p->diags, p->name, p->line, col, field, "%s", msg);
    return FL_ESCHEMA;
}

/* Decodes obj[text_key] or obj[b64_key] into a fresh buffer. 1 when neither is there. */
static int get_bytes(parse_t *p, json_t *obj, const char *text_key, const char *b64_key, char **out,
                     size_t *len)
{
    json_t *t = json_object_get(obj, text_key), *b = json_object_get(obj, b64_key);
    if (json_is_string(t)) {
        *len = json_string_length(t);
        *out = fl_memdup(json_string_value(t), *len);
        return *out || !*len ? 0 : FL_ENOMEM;
    }
    if (!b)
        return 1;
    const char *s = json_string_value(b);
    int rc = s ? fl_capture_b64_decode(s, strlen(s), out, len) : FL_EINVAL;
    if (rc == FL_EINVAL)
        return bad(p, 0, b64_key, "is not base64 (RFC 4648, padded, no line breaks)");
    return rc;
}

int fl_capture_b64_decode(const char *s, size_t n, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (n % 4 || n > (size_t)INT32_MAX)
        return FL_EINVAL;
    unsigned char *dec = malloc(n / 4 * 3 + 1);
    if (!dec)
        return FL_ENOMEM;
    int got = EVP_DecodeBlock(dec, (const unsigned char *)s, (int)n);
    if (got < 0) {
        free(dec);
        return FL_EINVAL;
    }
    for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
        got--; /* EVP_DecodeBlock counts the padding as zero bytes */
    dec[got] = '\0';
    *out = (char *)dec;
    *len = (size_t)got;
    return 0;
}

static int get_headers(parse_t *p, json_t *obj, fl_capture_header_t **h, size_t *n)
{
    json_t *arr = json_object_get(obj, "headers"), *pair;
    size_t i;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return bad(p, 0, "headers", "must be an array of [name, value] pairs");
    json_array_foreach(arr, i, pair)
    {
        const char *nm = json_string_value(json_array_get(pair, 0));
        const char *val = json_string_value(json_array_get(pair, 1));
        if (!nm || !val || json_array_size(pair) != 2)
            return bad(p, 0, "headers", "must be an array of [name, value] pairs");
        int rc = fl_capture_add_header(h, n, nm, val);
        if (rc < 0)
            return rc == FL_ELIMIT ? bad(p, 0, "headers", "too many headers") : rc;
    }
    return 0;
}

static int get_flags(parse_t *p, json_t *arr, unsigned *loss)
{
    json_t *v;
    size_t i;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return bad(p, 0, "loss", "must be an array of flag names");
    json_array_foreach(arr, i, v)
    {
        size_t k = 0;
        while (k < FL_COUNT(loss_names) &&
               !(json_is_string(v) && strcmp(json_string_value(v), loss_names[k].name) == 0))
            k++;
        if (k == FL_COUNT(loss_names))
            return bad(p, 0, "loss",
                       "unknown flag (known: timing_synthesized, boundaries_lost, truncated)");
        *loss |= loss_names[k].bit;
    }
    return 0;
}

static uint64_t get_ms(json_t *obj)
{
    json_int_t v = json_integer_value(json_object_get(obj, "t_ms"));
    return v > 0 ? (uint64_t)v : 0;
}

static int dup_field(json_t *obj, const char *key, char **out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return 1;
    return (*out = strdup(s)) ? 0 : FL_ENOMEM;
}

static int read_header(parse_t *p, json_t *o)
{
    json_int_t v = json_integer_value(json_object_get(o, "version"));
    if (v < 1 || v > FL_CAPTURE_VERSION)
        return bad(p, 0, "version", "must be 1 (this Faultline reads capture version 1)");
    json_t *red = json_object_get(o, "redacted"), *it;
    size_t i;
    json_array_foreach(red, i, it)
    {
        if (json_is_string(it) && fl_capture_add_redacted(p->c, json_string_value(it)) < 0)
            return FL_ENOMEM;
    }
    if (dup_field(o, "source", &p->c->source) < 0 || dup_field(o, "created", &p->c->created) < 0)
        return FL_ENOMEM;
    return get_flags(p, json_object_get(o, "loss"), &p->c->loss);
}

static int read_request(parse_t *p, json_t *o)
{
    fl_capture_t *c = p->c;
    if (dup_field(o, "method", &c->method) || dup_field(o, "path", &c->path))
        return bad(p, 0, "method", "a request needs string fields method and path");
    int rc = get_bytes(p, o, "body", "body_b64", &c->req_body, &c->req_body_len);
    if (rc < 0)
        return rc;
    return get_headers(p, o, &c->req_headers, &c->n_req_headers);
}

static int read_response(parse_t *p, json_t *o)
{
    fl_capture_t *c = p->c;
    json_int_t st = json_integer_value(json_object_get(o, "status"));
    if (st < 100 || st > 999)
        return bad(p, 0, "status", "must be an HTTP status code, 100 to 999");
    c->has_response = true;
    c->status = (int)st;
    c->head_ms = get_ms(o);
    if (dup_field(o, "reason", &c->reason) < 0)
        return FL_ENOMEM;
    return get_headers(p, o, &c->resp_headers, &c->n_resp_headers);
}

static int read_write(parse_t *p, json_t *o)
{
    char *bytes = NULL;
    size_t len = 0;
    int rc = get_bytes(p, o, "data", "b64", &bytes, &len);
    if (rc == 1)
        return bad(p, 0, "data", "a write needs \"data\" (UTF-8 text) or \"b64\" (base64)");
    if (rc < 0)
        return rc;
    const char *origin = json_string_value(json_object_get(o, "origin"));
    long k = origin ? fl_names_find(origin_names, FL_COUNT(origin_names), origin) : 0;
    if (k < 0)
        rc = bad(p, 0, "origin", "must be upstream, fault or withheld");
    if (rc == 0)
        rc = fl_capture_add_write(p->c, get_ms(o), bytes, len, (fl_capture_origin_t)k);
    free(bytes);
    if (rc == FL_ELIMIT)
        return bad(p, 0, "", "too many writes (bound: FL_CAPTURE_MAX_WRITES)");
    return rc;
}

static int read_end(parse_t *p, json_t *o)
{
    fl_capture_t *c = p->c;
    const char *how = json_string_value(json_object_get(o, "how"));
    if (!how || fl_capture_end_parse(how, &c->end) < 0)
        return bad(p, 0, "how",
                   "must be complete, fin, rst, timeout, client_closed or no_response");
    c->has_end = true;
    c->end_ms = get_ms(o);
    if (dup_field(o, "detail", &c->end_detail) < 0)
        return FL_ENOMEM;
    return get_flags(p, json_object_get(o, "loss"), &c->loss);
}

/* Lines must come in order: capture, request, [response], write*, [end]. */
static int read_line(parse_t *p, json_t *o)
{
    static const char *const types[] = {"capture", "request", "response", "write", "end"};
    const char *type = json_string_value(json_object_get(o, "type"));
    long t = type ? fl_names_find(types, FL_COUNT(types), type) : -1;
    if (t < 0)
        return bad(p, 0, "type", "must be capture, request, response, write or end");
    int want = p->stage;
    bool ok = (t == 0 && want == 0) || (t == 1 && want == 1) || (t == 2 && want == 2) ||
              (t == 3 && want == 3) || (t == 4 && (want == 2 || want == 3));
    if (!ok)
        return bad(p, 0, "type",
                   "out of order: lines go capture, request, response, write..., end");
    static int (*const readers[])(parse_t *, json_t *) = {read_header, read_request, read_response,
                                                          read_write, read_end};
    p->stage = t >= 3 ? (int)t : (int)t + 1;
    return readers[t](p, o);
}

static int parse_lines(parse_t *p, const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        p->line++;
        if (n > 0 && !(n == 1 && text[pos] == '\r')) {
            json_error_t err;
            json_t *o = json_loadb(text + pos, n, 0, &err);
            if (!json_is_object(o)) {
                json_decref(o);
                fl_diag_add(p->diags, p->name, p->line, o ? 1 : err.column, "",
                            "not a JSON object: %s", o ? "another JSON value" : err.text);
                return FL_EJSON;
            }
            int rc = read_line(p, o);
            json_decref(o);
            if (rc < 0)
                return rc;
        }
        pos += n + 1;
    }
    if (p->stage < 2)
        return bad(p, 0, "", p->stage == 0 ? "empty: no capture line" : "no request line");
    return 0;
}

int fl_capture_parse(const char *name, const char *text, size_t len, fl_capture_t **out,
                     fl_diag_list_t *diags)
{
    *out = NULL;
    if (len > FL_CAPTURE_MAX_BYTES) {
        fl_diag_add(diags, name, 0, 0, "", "larger than %u bytes", FL_CAPTURE_MAX_BYTES);
        return FL_ELIMIT;
    }
    parse_t p = {name, 0, diags, fl_capture_new(), 0};
    if (!p.c)
        return FL_ENOMEM;
    int rc = parse_lines(&p, text, len);
    if (rc < 0) {
        fl_capture_free(p.c);
        return rc;
    }
    *out = p.c;
    return 0;
}

int fl_capture_read_whole(const char *path, fl_buf_t *out, fl_diag_list_t *diags)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fl_diag_add(diags, path, 0, 0, "", "cannot open: %s", strerror(errno));
        return FL_EIO;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = out->len + n > FL_CAPTURE_MAX_BYTES ? FL_ELIMIT : fl_buf_append(out, chunk, n);
    if (rc == 0 && ferror(f))
        rc = FL_EIO;
    fclose(f);
    if (rc)
        fl_diag_add(diags, path, 0, 0, "", "%s",
                    rc == FL_ELIMIT ? "larger than the capture bound (64 MiB)" : fl_strerror(rc));
    return rc;
}

int fl_capture_load_file(const char *path, fl_capture_t **out, fl_diag_list_t *diags)
{
    *out = NULL;
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_capture_read_whole(path, &b, diags);
    if (rc == 0)
        rc = fl_capture_parse(path, b.data ? b.data : "", b.len, out, diags);
    fl_buf_close(&b);
    return rc;
}

/* ---- redaction ---- */

bool fl_capture_secret_header(const char *name)
{
    static const char *const secret[] = {"authorization", "proxy-authorization", "x-api-key",
                                         "api-key",       "x-goog-api-key",      "cookie",
                                         "set-cookie"};
    for (size_t i = 0; i < FL_COUNT(secret); i++)
        if (strcasecmp(name, secret[i]) == 0)
            return true;
    return false;
}

static bool key_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '_';
}

/* Length of the key-like run at s (bytes). */
static size_t key_run(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && key_char(s[k]))
        k++;
    return k;
}

/* Replaces text[at, at+old) with rep, shrinking the text. */
static void splice(char *text, size_t *len, size_t at, size_t old, const char *rep)
{
    size_t r = strlen(rep);
    memcpy(text + at, rep, r);
    memmove(text + at + r, text + at + old, *len - at - old);
    *len -= old - r;
}

/* At i, a secret: returns the bytes it spans and sets *rep, or 0. */
static size_t secret_at(const char *t, size_t n, size_t i, const char **rep)
{
    if (i > 0 && key_char(t[i - 1]))
        return 0;
    size_t run = key_run(t + i, n - i);
    if (run >= 20 && strncmp(t + i, "sk-", 3) == 0) {
        *rep = "sk-REDACTED";
        return run;
    }
    if (run >= 24 && strncmp(t + i, "AIza", 4) == 0) {
        *rep = "AIza-REDACTED";
        return run;
    }
    if (n - i > 7 && strncasecmp(t + i, "bearer ", 7) == 0) {
        size_t tok = 0;
        while (i + 7 + tok < n && !isspace((unsigned char)t[i + 7 + tok]) && t[i + 7 + tok] != '"')
            tok++;
        if (tok >= 8 && strncmp(t + i + 7, "REDACTED", tok) != 0) {
            *rep = "Bearer REDACTED";
            return 7 + tok;
        }
    }
    return 0;
}

size_t fl_capture_redact_text(char *text, size_t *len)
{
    size_t count = 0;
    for (size_t i = 0; i < *len; i++) {
        const char *rep = NULL;
        size_t span = secret_at(text, *len, i, &rep);
        if (!span)
            continue;
        splice(text, len, i, span, rep);
        i += strlen(rep) - 1;
        count++;
    }
    return count;
}

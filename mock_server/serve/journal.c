/* The journal; see journal.h. */
#include "serve/journal.h"

#include "base/error.h"
#include "base/text.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *fl_end_name(fl_end_t e)
{
    switch (e) {
    case FL_END_IN_PROGRESS:
        return "in_progress";
    case FL_END_COMPLETE:
        return "complete";
    case FL_END_CLIENT_CLOSED:
        return "client_closed";
    case FL_END_SERVER_FAULT:
        return "server_fault";
    case FL_END_RESET:
        return "reset";
    case FL_END_CLOSED:
        return "closed";
    case FL_END_STALLED:
        return "stalled";
    }
    return "unknown";
}

static void entry_free(fl_journal_entry_t *e)
{
    if (!e)
        return;
    free(e->path);
    free(e->scenario);
    free(e->resume_after);
    free(e->headers);
    json_decref(e->faults);
    json_decref(e->skipped);
    free(e->extra);
    free(e);
}

/* What an entry is counted for beyond its strings: the struct and the allocator's headers of
 * its allocations; a fault adds its strings and about this much for its jansson object. */
#define ENTRY_OVERHEAD (sizeof(fl_journal_entry_t) + 64)
#define FAULT_OVERHEAD 512

/* Changes what e is counted for by delta bytes (may be negative). */
static void count(fl_journal_entry_t *e, ptrdiff_t delta)
{
    e->mem = (size_t)((ptrdiff_t)e->mem + delta);
    if (e->journal)
        e->journal->bytes = (size_t)((ptrdiff_t)e->journal->bytes + delta);
}

/* Drops the oldest entry. */
static void drop_oldest(fl_journal_t *j)
{
    fl_journal_entry_t *e = j->ring[j->head];
    j->bytes -= e->mem;
    entry_free(e);
    j->ring[j->head] = NULL;
    j->head = (j->head + 1) % j->capacity;
    j->count--;
}

int fl_journal_init(fl_journal_t *j, size_t capacity, uint64_t t0_ms)
{
    memset(j, 0, sizeof(*j));
    j->max_bytes = FL_JOURNAL_DEFAULT_BYTES;
    j->capacity = capacity ? capacity : FL_JOURNAL_DEFAULT_CAPACITY;
    j->ring = calloc(j->capacity, sizeof(*j->ring));
    if (!j->ring)
        return FL_ENOMEM;
    j->t0_ms = t0_ms;
    return 0;
}

void fl_journal_set_max_bytes(fl_journal_t *j, size_t max_bytes)
{
    j->max_bytes = max_bytes ? max_bytes : FL_JOURNAL_DEFAULT_BYTES;
}

void fl_journal_reset(fl_journal_t *j)
{
    while (j->count)
        drop_oldest(j);
    j->head = 0;
}

void fl_journal_close(fl_journal_t *j)
{
    if (j->ring)
        fl_journal_reset(j);
    free(j->ring);
    memset(j, 0, sizeof(*j));
}

static bool redacted(const char *name)
{
    /* x-goog-api-key: Gemini's key header. Its other way in, ?key=, is in the query, which the
       journal does not record (only the path). */
    return strcmp(name, "authorization") == 0 || strcmp(name, "proxy-authorization") == 0 ||
           strcmp(name, "x-api-key") == 0 || strcmp(name, "x-goog-api-key") == 0;
}

/* JSON text is written here directly rather than through jansson objects: a journal of
 * thousands of entries is served in batches on the loop, and building and dumping a jansson
 * object per entry (and a string per header) costs several times the text itself. Strings are
 * escaped as jansson's compact dump escapes them (RFC 8259 section 7), so fl_journal_to_json
 * can be the same text parsed. */

/* The escape of byte c inside a JSON string, or NULL when it goes as is. */
static const char *escape_of(unsigned char c, char buf[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    }
    if (c >= 0x20)
        return NULL;
    snprintf(buf, 8, "\\u%04X", c);
    return buf;
}

/* Length of s (n bytes of valid UTF-8) as a JSON string, quotes included. */
static size_t json_str_len(const char *s, size_t n)
{
    char buf[8];
    size_t len = 2;
    for (size_t i = 0; i < n; i++) {
        const char *e = escape_of((unsigned char)s[i], buf);
        len += e ? strlen(e) : 1;
    }
    return len;
}

/* Appends s (n bytes of valid UTF-8) as a JSON string. Returns 0 or FL_ENOMEM. */
static int put_str(fl_buf_t *out, const char *s, size_t n)
{
    if (fl_buf_reserve(out, json_str_len(s, n)))
        return FL_ENOMEM;
    char buf[8];
    out->data[out->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        const char *e = escape_of((unsigned char)s[i], buf);
        if (!e) {
            out->data[out->len++] = s[i];
            continue;
        }
        size_t k = strlen(e);
        memcpy(out->data + out->len, e, k);
        out->len += k;
    }
    out->data[out->len++] = '"';
    out->data[out->len] = '\0';
    return 0;
}

/* A copy of s in which every byte that is not part of valid UTF-8 is '?', so that the journal's
 * JSON stays valid whatever a client sent; NULL when out of memory. */
static char *utf8_copy(const char *s)
{
    size_t n = strlen(s);
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = fl_utf8_char_len(s + i, n - i);
        if (k == 1 && (unsigned char)s[i] >= 0x80) {
            c[i++] = '?'; /* not the start of a well-formed character */
            continue;
        }
        memcpy(c + i, s + i, k);
        i += k;
    }
    c[n] = '\0';
    return c;
}

/* One header field as the journal keeps it: repeated fields joined. */
typedef struct field_s {
    const char *name; /* borrowed from the request */
    fl_buf_t value;
    bool redacted;
} field_t;

static void fields_free(field_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fl_buf_close(&f[i].value);
    free(f);
}

/* Heads with up to this many fields find a repeated name by a linear scan of the fields so far;
 * larger ones through a hash index. The index (a jansson object) was a quarter of the journal's
 * cost per request for the usual handful of fields (perf, 1,000 one-event requests). */
#define FIELDS_SCAN_MAX 32

/* Position of the field named name among f[0..n), found by scan or index; -1 when new. */
static long field_find(const field_t *f, size_t n, json_t *index, const char *name)
{
    if (index) {
        json_t *at = json_object_get(index, name);
        return at ? (long)json_integer_value(at) : -1;
    }
    for (size_t k = 0; k < n; k++)
        if (strcmp(f[k].name, name) == 0)
            return (long)k;
    return -1;
}

/* The request's fields in order of first appearance, a repeated field joined with ", " as RFC
 * 9110 section 5.3 allows. Linear in the headers: a head of thousands of repeats of one field
 * must not cost a copy of the joined value per repeat. Returns 0 or FL_ENOMEM. */
static int fields_of(const fl_http_request_t *req, field_t **out, size_t *n_out)
{
    field_t *f = calloc(req->n_headers ? req->n_headers : 1, sizeof(*f));
    /* name -> its field's position, for large heads only */
    json_t *index = req->n_headers > FIELDS_SCAN_MAX ? json_object() : NULL;
    size_t n = 0;
    if (!f || (req->n_headers > FIELDS_SCAN_MAX && !index))
        goto fail;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[i].name;
        bool red = redacted(name);
        const char *value = red ? "[redacted]" : req->headers[i].value;
        long at = field_find(f, n, index, name);
        field_t *fd;
        if (at >= 0) {
            fd = &f[at];
            if (fd->redacted)
                continue; /* "[redacted]" once, however many credentials */
            if (fl_buf_append(&fd->value, ", ", 2))
                goto fail;
        } else {
            fd = &f[n];
            fl_buf_init(&fd->value);
            fd->name = name;
            fd->redacted = red;
            if (index && json_object_set_new(index, name, json_integer((json_int_t)n)))
                goto fail;
            n++;
        }
        if (fl_buf_reserve(&fd->value, 1) || fl_buf_append(&fd->value, value, strlen(value)))
            goto fail;
    }
    json_decref(index);
    *out = f;
    *n_out = n;
    return 0;

fail:
    json_decref(index);
    if (f)
        fields_free(f, n);
    return FL_ENOMEM;
}

/*
 * The headers as one compact JSON object text (owned by the caller): the first fields, in
 * order, whose text fits in FL_JOURNAL_HEADER_BYTES; *cut_bytes and *cut_fields say what was
 * left out. Header values need not be UTF-8; one that is not is recorded as null. Text, not a
 * json_t: a jansson object costs about five times its text in memory, and thousands of streams
 * may be open. Returns NULL when out of memory.
 */
static char *headers_text(const fl_http_request_t *req, size_t *cut_bytes, size_t *cut_fields)
{
    field_t *f;
    size_t n;
    if (fields_of(req, &f, &n))
        return NULL;
    fl_buf_t out;
    fl_buf_init(&out);
    size_t full = 2; /* the braces */
    int rc = fl_buf_append(&out, "{", 1);
    *cut_fields = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const fl_buf_t *v = &f[i].value;
        bool utf8 = fl_utf8_valid(v->data, v->len);
        size_t name_len = strlen(f[i].name); /* a token (RFC 9110 section 5.1): ASCII */
        size_t pair = json_str_len(f[i].name, name_len) + 1 +
                      (utf8 ? json_str_len(v->data, v->len) : strlen("null"));
        size_t sep = i ? 1 : 0; /* the comma before every field but the first */
        full += sep + pair;
        /* in order: once one field does not fit, the rest are left out too */
        if (*cut_fields || out.len + sep + pair + 1 > FL_JOURNAL_HEADER_BYTES) {
            (*cut_fields)++;
            continue;
        }
        if (sep)
            rc = fl_buf_append(&out, ",", 1);
        if (!rc)
            rc = put_str(&out, f[i].name, name_len);
        if (!rc)
            rc = fl_buf_append(&out, ":", 1);
        if (!rc)
            rc = utf8 ? put_str(&out, v->data, v->len) : fl_buf_append_str(&out, "null");
    }
    if (!rc)
        rc = fl_buf_append(&out, "}", 1);
    fields_free(f, n);
    if (rc) {
        fl_buf_close(&out);
        return NULL;
    }
    *cut_bytes = full - out.len;
    return fl_buf_detach(&out, NULL);
}

fl_journal_entry_t *fl_journal_add(fl_journal_t *j, const fl_http_request_t *req, uint64_t now_ms)
{
    fl_journal_entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->path = utf8_copy(req->path ? req->path : "");
    e->headers = headers_text(req, &e->headers_truncated, &e->headers_dropped);
    if (!e->path || !e->headers) {
        entry_free(e);
        return NULL;
    }
    e->mem = ENTRY_OVERHEAD + strlen(e->path) + strlen(e->headers);
    snprintf(e->method, sizeof(e->method), "%s", req->method);
    e->t_ms = now_ms >= j->t0_ms ? now_ms - j->t0_ms : 0;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(e->wall, sizeof(e->wall), "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000L) % 1000);
    e->framing = "length";
    e->first_byte_ms = -1;
    e->last_byte_ms = -1;
    e->client_closed_ms = -1;
    e->retry_after_ms = -1;
    e->resume_skipped = -1;
    e->usage_input = -1;
    e->usage_output = -1;
    e->end = FL_END_IN_PROGRESS;
    e->seq = j->next_seq++;

    while (j->count == j->capacity || (j->count && j->bytes + e->mem > j->max_bytes))
        drop_oldest(j);
    j->ring[(j->head + j->count) % j->capacity] = e;
    j->count++;
    e->journal = j;
    j->bytes += e->mem;
    return e;
}

fl_journal_entry_t *fl_journal_find(fl_journal_t *j, uint64_t seq)
{
    if (j->count == 0)
        return NULL;
    uint64_t first = j->ring[j->head]->seq;
    if (seq < first || seq >= first + j->count)
        return NULL;
    return j->ring[(j->head + (size_t)(seq - first)) % j->capacity];
}

void fl_journal_entry_set_session(fl_journal_entry_t *e, const char *id)
{
    snprintf(e->session, sizeof(e->session), "%s", id ? id : "");
}

/* Replaces the entry's string *field with a copy of len bytes of text, recounting its memory. */
static int set_text(fl_journal_entry_t *e, char **field, const char *text, size_t len)
{
    char *s = strndup(text, len);
    if (!s)
        return FL_ENOMEM;
    count(e, (ptrdiff_t)strlen(s) - (ptrdiff_t)(*field ? strlen(*field) : 0));
    free(*field);
    *field = s;
    return 0;
}

int fl_journal_entry_set_extra(fl_journal_entry_t *e, const char *members)
{
    char *s = members ? strdup(members) : NULL;
    if (members && !s)
        return FL_ENOMEM;
    count(e, (ptrdiff_t)(s ? strlen(s) : 0) - (ptrdiff_t)(e->extra ? strlen(e->extra) : 0));
    free(e->extra);
    e->extra = s;
    return 0;
}

int fl_journal_entry_set_scenario(fl_journal_entry_t *e, const char *name)
{
    return set_text(e, &e->scenario, name, strlen(name));
}

int fl_journal_entry_set_resume(fl_journal_entry_t *e, const char *id, size_t len)
{
    return set_text(e, &e->resume_after, id, len > 128 ? 128 : len);
}

void fl_journal_entry_progress(fl_journal_t *j, fl_journal_entry_t *e, uint64_t bytes,
                               uint64_t events, uint64_t now_ms)
{
    int64_t t = now_ms >= j->t0_ms ? (int64_t)(now_ms - j->t0_ms) : 0;
    if (bytes && e->first_byte_ms < 0)
        e->first_byte_ms = t;
    if (bytes)
        e->last_byte_ms = t;
    e->bytes += bytes;
    e->events = events;
}

/* Appends o (a new reference, NULL when out of memory) to the entry's list *list, created on
 * first use, and counts text_bytes more toward the journal's byte bound. */
static int append_record(fl_journal_entry_t *e, json_t **list, json_t *o, size_t text_bytes)
{
    if (!o)
        return FL_ENOMEM;
    if (!*list && !(*list = json_array())) {
        json_decref(o);
        return FL_ENOMEM;
    }
    if (json_array_append_new(*list, o))
        return FL_ENOMEM;
    count(e, (ptrdiff_t)(FAULT_OVERHEAD + text_bytes));
    return 0;
}

int fl_journal_entry_fault(fl_journal_entry_t *e, const char *fault, const char *description,
                           uint64_t event, uint64_t byte, uint64_t ms)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:I}", "fault", fault, "description", description,
                          "event", event ? json_integer((json_int_t)event) : json_null(), "byte",
                          (json_int_t)byte, "ms", (json_int_t)ms);
    return append_record(e, &e->faults, o, strlen(fault) + strlen(description));
}

int fl_journal_entry_skipped(fl_journal_entry_t *e, const char *fault, const char *description,
                             const char *reason)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "fault", fault, "description", description, "reason", reason);
    return append_record(e, &e->skipped, o, strlen(fault) + strlen(description) + strlen(reason));
}

/* Appends ,"key": and a number, or null when v < 0. */
static int put_ms(fl_buf_t *out, const char *key, int64_t v)
{
    return v < 0 ? fl_buf_printf(out, ",\"%s\":null", key)
                 : fl_buf_printf(out, ",\"%s\":%lld", key, (long long)v);
}

/* Appends one entry as a compact JSON object (see fl_journal_to_json for its fields). */
static int entry_text(const fl_journal_entry_t *e, fl_buf_t *out)
{
    int rc = fl_buf_printf(out, "{\"seq\":%llu,\"t_ms\":%llu,\"time\":", (unsigned long long)e->seq,
                           (unsigned long long)e->t_ms);
    if (!rc)
        rc = put_str(out, e->wall, strlen(e->wall));
    if (!rc)
        rc = fl_buf_append_str(out, ",\"method\":");
    if (!rc)
        rc = put_str(out, e->method, strlen(e->method));
    if (!rc)
        rc = fl_buf_append_str(out, ",\"path\":");
    if (!rc)
        rc = put_str(out, e->path, strlen(e->path));
    if (!rc)
        rc = fl_buf_append_str(out, ",\"session\":");
    if (!rc)
        rc = e->session[0] ? put_str(out, e->session, strlen(e->session))
                           : fl_buf_append_str(out, "null");
    if (!rc)
        rc = fl_buf_append_str(out, ",\"scenario\":");
    if (!rc)
        rc = e->scenario ? put_str(out, e->scenario, strlen(e->scenario))
                         : fl_buf_append_str(out, "null");
    if (!rc)
        rc = e->attempt ? fl_buf_printf(out, ",\"attempt\":%llu", (unsigned long long)e->attempt)
                        : fl_buf_append_str(out, ",\"attempt\":null");
    if (!rc)
        rc =
            fl_buf_printf(out,
                          ",\"stream\":%s,\"headers\":%s,\"headers_truncated\":%zu,"
                          "\"headers_dropped\":%zu,\"status\":%d,\"framing\":\"%s\",\"bytes\":%llu,"
                          "\"events\":%llu,\"events_sent\":%llu",
                          e->stream ? "true" : "false", e->headers, e->headers_truncated,
                          e->headers_dropped, e->status, e->framing, (unsigned long long)e->bytes,
                          (unsigned long long)e->events, (unsigned long long)e->events_sent);
    if (!rc)
        rc = put_ms(out, "first_byte_ms", e->first_byte_ms);
    if (!rc)
        rc = put_ms(out, "last_byte_ms", e->last_byte_ms);
    if (!rc)
        rc = put_ms(out, "client_closed_ms", e->client_closed_ms);
    if (!rc)
        rc = put_ms(out, "retry_after_ms", e->retry_after_ms);
    if (!rc)
        rc = fl_buf_append_str(out, ",\"response_id\":");
    if (!rc)
        rc = e->response_id[0] ? put_str(out, e->response_id, strlen(e->response_id))
                               : fl_buf_append_str(out, "null");
    if (!rc)
        rc = fl_buf_printf(
            out, ",\"background\":%s,\"resume_after\":", e->background ? "true" : "false");
    if (!rc)
        rc = e->resume_after ? put_str(out, e->resume_after, strlen(e->resume_after))
                             : fl_buf_append_str(out, "null");
    if (!rc)
        rc = put_ms(out, "resume_skipped", e->resume_skipped);
    if (!rc)
        rc = fl_buf_append_str(out, ",\"finish_reason\":");
    if (!rc)
        rc = e->finish_reason[0] ? put_str(out, e->finish_reason, strlen(e->finish_reason))
                                 : fl_buf_append_str(out, "null");
    if (!rc)
        rc = fl_buf_printf(out, ",\"finish_sent\":%s", e->finish_sent ? "true" : "false");
    if (!rc)
        rc = e->usage_input >= 0 || e->usage_output >= 0
                 ? fl_buf_printf(out, ",\"usage\":{\"input_tokens\":%lld,\"output_tokens\":%lld}",
                                 (long long)e->usage_input, (long long)e->usage_output)
                 : fl_buf_append_str(out, ",\"usage\":null");
    if (!rc)
        rc = fl_buf_printf(out, ",\"usage_sent\":%s,\"end\":\"%s\",\"faults\":",
                           e->usage_sent ? "true" : "false", fl_end_name(e->end));
    if (!rc) {
        char *faults = e->faults ? json_dumps(e->faults, JSON_COMPACT) : NULL;
        if (e->faults && !faults)
            return FL_ENOMEM;
        rc = fl_buf_append_str(out, faults ? faults : "[]");
        free(faults);
    }
    if (!rc) { /* always present, like "faults" */
        char *skipped = e->skipped ? json_dumps(e->skipped, JSON_COMPACT) : NULL;
        if (e->skipped && !skipped)
            return FL_ENOMEM;
        rc = fl_buf_printf(out, ",\"skipped\":%s", skipped ? skipped : "[]");
        free(skipped);
    }
    if (!rc && e->extra && *e->extra)
        rc = fl_buf_printf(out, ",%s", e->extra);
    if (!rc)
        rc = fl_buf_append(out, "}", 1);
    return rc;
}

json_t *fl_journal_to_json(const fl_journal_t *j)
{
    fl_journal_page_t pg;
    fl_buf_t text;
    fl_buf_init(&text);
    fl_journal_page_init(j, 0, 0, &pg);
    json_t *doc = NULL;
    if (fl_journal_page_write(j, &pg, SIZE_MAX, &text) == 0)
        doc = json_loadb(text.data, text.len, 0, NULL);
    fl_buf_close(&text);
    return doc;
}

/* The seq of the oldest entry kept, or next_seq when there is none. */
static uint64_t first_seq(const fl_journal_t *j)
{
    return j->count ? j->ring[j->head]->seq : j->next_seq;
}

void fl_journal_page_init(const fl_journal_t *j, uint64_t since, size_t limit,
                          fl_journal_page_t *pg)
{
    memset(pg, 0, sizeof(*pg));
    pg->next = since;
    pg->end = j->next_seq;
    pg->left = limit ? limit : SIZE_MAX;
}

int fl_journal_page_filter(fl_journal_page_t *pg, const char *session, const char *scenario)
{
    scenario = scenario ? scenario : "";
    if ((session && strlen(session) >= sizeof(pg->session)) ||
        strlen(scenario) >= sizeof(pg->scenario))
        return FL_ELIMIT;
    pg->by_session = session != NULL;
    strcpy(pg->session, session ? session : "");
    strcpy(pg->scenario, scenario);
    return 0;
}

/* True when the page's filters let e through. */
static bool page_wants(const fl_journal_page_t *pg, const fl_journal_entry_t *e)
{
    return (!pg->by_session || strcmp(pg->session, e->session) == 0) &&
           (!pg->scenario[0] || (e->scenario && strcmp(pg->scenario, e->scenario) == 0));
}

/* True when the page has nothing more to write; first moves it past dropped entries and past
 * those its filters leave out. */
static bool page_over(const fl_journal_t *j, fl_journal_page_t *pg)
{
    if (pg->next < first_seq(j))
        pg->next = first_seq(j);
    while (pg->next < pg->end && !page_wants(pg, fl_journal_find((fl_journal_t *)j, pg->next)))
        pg->next++;
    return pg->left == 0 || pg->next >= pg->end;
}

int fl_journal_page_write(const fl_journal_t *j, fl_journal_page_t *pg, size_t batch_bytes,
                          fl_buf_t *out)
{
    if (pg->done)
        return 0;
    if (!pg->started) {
        if (fl_buf_append_str(out, "{\"requests\":["))
            return FL_ENOMEM;
        pg->started = true;
    }
    size_t start = out->len;
    while (!page_over(j, pg) && out->len - start < batch_bytes) {
        /* first_seq <= next < end <= next_seq: the entry is kept (entries are contiguous) */
        if (pg->written && fl_buf_append(out, ",", 1))
            return FL_ENOMEM;
        if (entry_text(fl_journal_find((fl_journal_t *)j, pg->next), out))
            return FL_ENOMEM;
        pg->written++;
        pg->left--;
        pg->next++;
    }
    if (!page_over(j, pg))
        return 0;
    if (fl_buf_printf(out, "],\"next\":%llu}", (unsigned long long)pg->next))
        return FL_ENOMEM;
    pg->done = true;
    return 0;
}

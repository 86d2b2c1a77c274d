/* The journal; see journal.h. */
#include "serve/journal.h"

#include "base/error.h"

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
    free(e->headers);
    json_decref(e->faults);
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
    return strcmp(name, "authorization") == 0 || strcmp(name, "proxy-authorization") == 0 ||
           strcmp(name, "x-api-key") == 0;
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

/* The request's fields in order of first appearance, a repeated field joined with ", " as RFC
 * 9110 section 5.3 allows. Linear in the headers: a head of thousands of repeats of one field
 * must not cost a copy of the joined value per repeat. Returns 0 or FL_ENOMEM. */
static int fields_of(const fl_http_request_t *req, field_t **out, size_t *n_out)
{
    field_t *f = calloc(req->n_headers ? req->n_headers : 1, sizeof(*f));
    json_t *index = json_object(); /* name -> its field's position */
    size_t n = 0;
    if (!f || !index)
        goto fail;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[i].name;
        bool red = redacted(name);
        const char *value = red ? "[redacted]" : req->headers[i].value;
        json_t *at = json_object_get(index, name);
        field_t *fd;
        if (at) {
            fd = &f[json_integer_value(at)];
            if (fd->redacted)
                continue; /* "[redacted]" once, however many credentials */
            if (fl_buf_append(&fd->value, ", ", 2))
                goto fail;
        } else {
            fd = &f[n];
            fl_buf_init(&fd->value);
            fd->name = name;
            fd->redacted = red;
            if (json_object_set_new(index, name, json_integer((json_int_t)n++)))
                goto fail;
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
 * left out. Text, not a json_t: a jansson object costs about five times its text in memory, and
 * thousands of streams may be open. Returns NULL when out of memory.
 */
static char *headers_text(const fl_http_request_t *req, size_t *cut_bytes, size_t *cut_fields)
{
    field_t *f;
    size_t n;
    if (fields_of(req, &f, &n))
        return NULL;
    json_t *kept = json_object();
    char *text = NULL;
    size_t full = 2, used = 2; /* the braces */
    *cut_fields = 0;
    for (size_t i = 0; kept && i < n; i++) {
        /* Header bytes need not be UTF-8; jansson refuses those, so they are recorded as null
         * rather than dropping the whole entry. */
        json_t *v = json_stringn(f[i].value.data, f[i].value.len);
        json_t *k = json_string(f[i].name);
        if (!v)
            v = json_null();
        size_t pair = json_dumpb(k, NULL, 0, JSON_ENCODE_ANY) + 1 +
                      json_dumpb(v, NULL, 0, JSON_ENCODE_ANY | JSON_COMPACT);
        size_t sep = i ? 1 : 0; /* the comma before every field but the first */
        full += sep + pair;
        json_decref(k);
        /* in order: once one field does not fit, the rest are left out too */
        if (*cut_fields == 0 && used + sep + pair <= FL_JOURNAL_HEADER_BYTES) {
            used += sep + pair;
            if (json_object_set_new(kept, f[i].name, v)) {
                json_decref(kept);
                kept = NULL;
            }
        } else {
            (*cut_fields)++;
            json_decref(v);
        }
    }
    if (kept)
        text = json_dumps(kept, JSON_COMPACT);
    json_decref(kept);
    fields_free(f, n);
    *cut_bytes = text ? full - strlen(text) : 0;
    return text;
}

fl_journal_entry_t *fl_journal_add(fl_journal_t *j, const fl_http_request_t *req, uint64_t now_ms)
{
    fl_journal_entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->path = strdup(req->path ? req->path : "");
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
    e->framing = "content-length";
    e->first_byte_ms = -1;
    e->last_byte_ms = -1;
    e->client_closed_ms = -1;
    e->retry_after_ms = -1;
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

int fl_journal_entry_set_scenario(fl_journal_entry_t *e, const char *name)
{
    char *s = strdup(name);
    if (!s)
        return FL_ENOMEM;
    count(e, (ptrdiff_t)strlen(s) - (ptrdiff_t)(e->scenario ? strlen(e->scenario) : 0));
    free(e->scenario);
    e->scenario = s;
    return 0;
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

int fl_journal_entry_fault(fl_journal_entry_t *e, const char *fault, const char *description,
                           uint64_t event, uint64_t byte, uint64_t ms)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:I}", "fault", fault, "description", description,
                          "event", event ? json_integer((json_int_t)event) : json_null(), "byte",
                          (json_int_t)byte, "ms", (json_int_t)ms);
    if (!o)
        return FL_ENOMEM;
    if (!e->faults && !(e->faults = json_array())) {
        json_decref(o);
        return FL_ENOMEM;
    }
    if (json_array_append_new(e->faults, o))
        return FL_ENOMEM;
    count(e, (ptrdiff_t)(FAULT_OVERHEAD + strlen(fault) + strlen(description)));
    return 0;
}

static json_t *ms_or_null(int64_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *entry_json(const fl_journal_entry_t *e)
{
    json_t *headers = json_loads(e->headers, 0, NULL);
    json_t *faults = e->faults ? json_incref(e->faults) : json_array();
    if (!headers || !faults) {
        json_decref(headers);
        json_decref(faults);
        return NULL;
    }
    return json_pack(
        "{s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:I, s:I, s:i, s:s, s:I, "
        "s:I, s:o, s:o, s:o, s:o, s:s, s:o}",
        "seq", (json_int_t)e->seq, "t_ms", (json_int_t)e->t_ms, "time", e->wall, "method",
        e->method, "path", e->path, "scenario",
        e->scenario ? json_string(e->scenario) : json_null(), "attempt",
        e->attempt ? json_integer((json_int_t)e->attempt) : json_null(), "stream", e->stream,
        "headers", headers, "headers_truncated", (json_int_t)e->headers_truncated,
        "headers_dropped", (json_int_t)e->headers_dropped, "status", e->status, "framing",
        e->framing, "bytes", (json_int_t)e->bytes, "events", (json_int_t)e->events, "first_byte_ms",
        ms_or_null(e->first_byte_ms), "last_byte_ms", ms_or_null(e->last_byte_ms),
        "client_closed_ms", ms_or_null(e->client_closed_ms), "retry_after_ms",
        ms_or_null(e->retry_after_ms), "end", fl_end_name(e->end), "faults", faults);
}

json_t *fl_journal_to_json(const fl_journal_t *j)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (size_t i = 0; i < j->count; i++) {
        json_t *o = entry_json(j->ring[(j->head + i) % j->capacity]);
        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            return NULL;
        }
    }
    return json_pack("{s:o, s:I}", "requests", list, "next", (json_int_t)j->next_seq);
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

/* True when the page has nothing more to write; first moves it past dropped entries. */
static bool page_over(const fl_journal_t *j, fl_journal_page_t *pg)
{
    if (pg->next < first_seq(j))
        pg->next = first_seq(j);
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
        json_t *o = entry_json(fl_journal_find((fl_journal_t *)j, pg->next));
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        int rc = text ? 0 : FL_ENOMEM;
        if (!rc && pg->written && fl_buf_append(out, ",", 1))
            rc = FL_ENOMEM;
        if (!rc && fl_buf_append_str(out, text))
            rc = FL_ENOMEM;
        free(text);
        if (rc)
            return rc;
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

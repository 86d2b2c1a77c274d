/* The journal; see journal.h. */
#include "serve/journal.h"

#include "base/error.h"

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

int fl_journal_init(fl_journal_t *j, size_t capacity, uint64_t t0_ms)
{
    memset(j, 0, sizeof(*j));
    j->capacity = capacity ? capacity : FL_JOURNAL_DEFAULT_CAPACITY;
    j->ring = calloc(j->capacity, sizeof(*j->ring));
    if (!j->ring)
        return FL_ENOMEM;
    j->t0_ms = t0_ms;
    return 0;
}

void fl_journal_reset(fl_journal_t *j)
{
    for (size_t i = 0; i < j->count; i++) {
        size_t k = (j->head + i) % j->capacity;
        entry_free(j->ring[k]);
        j->ring[k] = NULL;
    }
    j->head = 0;
    j->count = 0;
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

static json_t *headers_json(const fl_http_request_t *req)
{
    json_t *h = json_object();
    if (!h)
        return NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *name = req->headers[i].name;
        const char *value = redacted(name) ? "[redacted]" : req->headers[i].value;
        /* A repeated field is joined with ", ", as RFC 9110 section 5.3 allows. */
        json_t *old = json_object_get(h, name);
        json_t *v;
        if (old && !redacted(name)) {
            const char *o = json_string_value(old);
            v = json_sprintf("%s, %s", o ? o : "", value);
        } else {
            v = json_string(value);
        }
        /* Header bytes need not be UTF-8; jansson refuses those, so they are recorded as null
         * rather than dropping the whole entry. */
        if (!v)
            v = json_null();
        if (json_object_set_new(h, name, v)) {
            json_decref(h);
            return NULL;
        }
    }
    return h;
}

/* The headers as one compact JSON object text (owned by the caller), or NULL. A jansson
 * object costs about five times its text in memory, and thousands of streams may be open. */
static char *headers_text(const fl_http_request_t *req)
{
    json_t *h = headers_json(req);
    char *s = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    return s;
}

fl_journal_entry_t *fl_journal_add(fl_journal_t *j, const fl_http_request_t *req, uint64_t now_ms)
{
    fl_journal_entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->path = strdup(req->path ? req->path : "");
    e->headers = headers_text(req);
    if (!e->path || !e->headers) {
        entry_free(e);
        return NULL;
    }
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

    if (j->count == j->capacity) {
        entry_free(j->ring[j->head]);
        j->ring[j->head] = NULL;
        j->head = (j->head + 1) % j->capacity;
        j->count--;
    }
    j->ring[(j->head + j->count) % j->capacity] = e;
    j->count++;
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
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:i, s:s, s:I, s:I, s:I, s:o, "
                     "s:o, s:o, s:o, s:s, s:o}",
                     "t_ms", (json_int_t)e->t_ms, "time", e->wall, "method", e->method, "path",
                     e->path, "scenario", e->scenario ? json_string(e->scenario) : json_null(),
                     "attempt", e->attempt ? json_integer((json_int_t)e->attempt) : json_null(),
                     "stream", e->stream, "headers", headers, "status", e->status, "framing",
                     e->framing, "bytes", (json_int_t)e->bytes, "events", (json_int_t)e->events,
                     "events_sent", (json_int_t)e->events_sent, "first_byte_ms",
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
    return json_pack("{s:o}", "requests", list);
}

/*
 * Evidence from the server's journal: one fl_attempt_ev_t per request, on the client's clock.
 *
 * The journal measures on its own clock (ms since the server started); the runner passes the
 * journal-clock time of the spawn, and everything here is shifted so that 0 is the spawn.
 */
#include "judge/evidence.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

void fl_evidence_init(fl_evidence_t *ev, const fl_scenario_t *sc, unsigned repeat, uint64_t seed)
{
    memset(ev, 0, sizeof(*ev));
    ev->scenario = sc;
    ev->repeat = repeat;
    ev->seed = seed;
    fl_buf_init(&ev->out);
    fl_buf_init(&ev->err);
    fl_buf_init(&ev->relay_err);
    fl_buf_init(&ev->result);
    ev->exit_kind = FL_EXIT_CODE;
}

void fl_evidence_close(fl_evidence_t *ev)
{
    fl_buf_close(&ev->out);
    fl_buf_close(&ev->err);
    fl_buf_close(&ev->relay_err);
    fl_buf_close(&ev->result);
    for (size_t i = 0; i < ev->n_attempts; i++)
        json_decref(ev->attempts[i].faults);
    free(ev->attempts);
    ev->attempts = NULL;
    ev->n_attempts = 0;
}

bool fl_evidence_any_fault(const fl_evidence_t *ev)
{
    for (size_t i = 0; i < ev->n_attempts; i++)
        if (json_array_size(ev->attempts[i].faults) > 0)
            return true;
    return false;
}

/* An integer field, or -1 when it is null or absent (the journal's "none"). */
static int64_t ms_or_none(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* Journal-clock ms converted to ms after the spawn; times before the spawn clamp to 0. */
static int64_t since_spawn(int64_t t, uint64_t spawn_ms)
{
    if (t < 0)
        return -1;
    return (uint64_t)t > spawn_ms ? t - (int64_t)spawn_ms : 0;
}

/* Stall-type faults keep a response silent on purpose; a client must notice them itself. */
static bool is_stall_fault(const char *name)
{
    return strcmp(name, "stall") == 0 || strcmp(name, "no_response") == 0 ||
           strcmp(name, "delay_headers") == 0;
}

static bool has_stall_fault(const json_t *faults)
{
    size_t i;
    const json_t *f;
    json_array_foreach(faults, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "fault"));
        if (name && is_stall_fault(name))
            return true;
    }
    return false;
}

/* When the response ended for the client, on the journal clock; -1 when it had not. */
static int64_t journal_end_ms(const json_t *req, const char *end, int64_t t_ms)
{
    int64_t last = ms_or_none(req, "last_byte_ms");
    int64_t closed = ms_or_none(req, "client_closed_ms");
    if (strcmp(end, "stalled") == 0 || strcmp(end, "client_closed") == 0) {
        if (closed >= 0)
            return t_ms + closed;
        return last >= 0 ? last : t_ms;
    }
    if (strcmp(end, "complete") == 0 || strcmp(end, "reset") == 0 || strcmp(end, "closed") == 0 ||
        strcmp(end, "server_fault") == 0)
        return last >= 0 ? last : t_ms;
    return -1; /* in_progress, or a spelling this harness does not know */
}

/*
 * Keeps the journal's "end" for the reports. Faultline's spellings are short [a-z_] words
 * (serve/journal.c, fl_end_name); anything else is cut to the field and every other byte becomes
 * '?', so a foreign journal can put neither a control character (a line break in the table) nor
 * half a UTF-8 character (a JSON report jansson refuses to build) into a report.
 */
static void copy_end(char *dst, size_t n, const char *end)
{
    size_t i = 0;
    for (; end[i] && i + 1 < n; i++) {
        unsigned char c = (unsigned char)end[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        dst[i] = plain ? (char)c : '?';
    }
    dst[i] = '\0';
}

/* A journal string kept for the judge: cut to the field, and every byte outside printable
 * ASCII becomes '?' (as copy_end does), so a foreign journal cannot reach a report with it. */
static void copy_text(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[i] = '\0';
}

int fl_evidence_add_journal(fl_evidence_t *ev, const json_t *journal, uint64_t spawn_ms,
                            uint64_t now_ms)
{
    (void)now_ms; /* an unfinished response has no end; the run's end is not its end */
    const json_t *reqs = json_object_get(journal, "requests");
    if (!json_is_array(reqs))
        return FL_EINVAL;
    size_t n = json_array_size(reqs);
    for (size_t i = 0; i < n; i++)
        if (!json_is_integer(json_object_get(json_array_get(reqs, i), "t_ms")))
            return FL_EINVAL;
    /* the journal is the whole record of the run: it replaces what was there */
    for (size_t i = 0; i < ev->n_attempts; i++)
        json_decref(ev->attempts[i].faults);
    free(ev->attempts);
    ev->attempts = NULL;
    ev->n_attempts = 0;
    if (n == 0)
        return 0;
    ev->attempts = malloc(n * sizeof(*ev->attempts));
    if (!ev->attempts)
        return FL_ENOMEM;

    for (size_t i = 0; i < n; i++) {
        const json_t *req = json_array_get(reqs, i);
        fl_attempt_ev_t *a = &ev->attempts[ev->n_attempts];
        memset(a, 0, sizeof(*a));
        int64_t t_ms = (int64_t)json_integer_value(json_object_get(req, "t_ms"));
        const char *end = json_string_value(json_object_get(req, "end"));
        if (!end)
            end = "in_progress";

        a->start_ms = (uint64_t)since_spawn(t_ms < 0 ? 0 : t_ms, spawn_ms);
        a->end_ms = since_spawn(journal_end_ms(req, end, t_ms), spawn_ms);
        a->status = (int)ms_or_none(req, "status");
        if (a->status < 0)
            a->status = 0;
        a->stream = json_is_true(json_object_get(req, "stream"));
        copy_end(a->end, sizeof(a->end), end);
        int64_t bytes = ms_or_none(req, "bytes"), events = ms_or_none(req, "events");
        int64_t sent = ms_or_none(req, "events_sent");
        a->bytes = bytes > 0 ? (uint64_t)bytes : 0;
        a->events = events > 0 ? (uint64_t)events : 0;
        a->events_sent = sent > 0 ? (uint64_t)sent : 0;
        a->first_byte_ms = since_spawn(ms_or_none(req, "first_byte_ms"), spawn_ms);
        a->last_byte_ms = since_spawn(ms_or_none(req, "last_byte_ms"), spawn_ms);
        a->sent_retry_after_ms = ms_or_none(req, "retry_after_ms");
        a->resume_asked = json_is_string(json_object_get(req, "resume_after"));
        a->resume_skipped = ms_or_none(req, "resume_skipped");
        const char *method = json_string_value(json_object_get(req, "method"));
        a->retrieved = method && strcmp(method, "GET") == 0;
        copy_text(a->response_id, sizeof(a->response_id),
                  json_string_value(json_object_get(req, "response_id")));
        copy_text(a->finish_reason, sizeof(a->finish_reason),
                  json_string_value(json_object_get(req, "finish_reason")));
        a->finish_sent = json_is_true(json_object_get(req, "finish_sent"));
        const json_t *usage = json_object_get(req, "usage");
        a->usage_input = ms_or_none(usage, "input_tokens");
        a->usage_output = ms_or_none(usage, "output_tokens");
        a->usage_sent = json_is_true(json_object_get(req, "usage_sent"));

        json_t *faults = json_object_get(req, "faults");
        a->faults = json_is_array(faults) ? json_incref(faults) : json_array();
        if (!a->faults)
            return FL_ENOMEM; /* the attempts so far stay valid and owned */
        a->stalled = has_stall_fault(a->faults) &&
                     (strcmp(end, "stalled") == 0 || strcmp(end, "in_progress") == 0);

        a->gap_ms = -1;
        a->retry_after_ms = -1;
        if (i > 0) {
            const fl_attempt_ev_t *prev = &ev->attempts[i - 1];
            if (prev->end_ms >= 0)
                a->gap_ms = (int64_t)a->start_ms - prev->end_ms;
            /* the previous response's demand is in force for this attempt */
            a->retry_after_ms = ms_or_none(json_array_get(reqs, i - 1), "retry_after_ms");
        }
        ev->n_attempts++;
    }
    return 0;
}

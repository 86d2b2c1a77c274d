/*
 * The runner of the end-to-end chaos case tables (see chaos_e2e.h).
 */
#include "chaos_e2e.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PING       ": ping\n\n"
#define MAX_EVENTS 64

double ce_max_gap(const fl_raw_result_t *r, size_t *after)
{
    double g = 0;
    for (size_t i = 1; i < r->n_reads; i++)
        if (r->reads[i].t_ms - r->reads[i - 1].t_ms > g) {
            g = r->reads[i].t_ms - r->reads[i - 1].t_ms;
            if (after)
                *after = i;
        }
    return g;
}

const json_t *ce_fault_n(const json_t *entry, size_t i)
{
    return json_array_get(json_object_get(entry, "faults"), i);
}

void ce_header_is(const es_ex_t *x, const char *name, const char *want)
{
    char v[128];
    cr_assert(fl_raw_header(x->d.head, x->d.head_len, name, v, sizeof(v)), "no %s header in %s",
              name, x->d.head);
    cr_assert_str_eq(v, want, "%s", name);
}

static void in_range(const char *scenario, const char *what, double v, ce_ms_t r)
{
    if (r.lo == 0 && r.hi == 0)
        return;
    cr_assert(v >= r.lo && (r.hi == 0 || v < r.hi), "%s: %s %.1f ms, want [%.0f, %.0f)", scenario,
              what, v, r.lo, r.hi);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The start of a clean stream's last event in the dialect of path: its end marker. */
static const char *sentinel(const char *path)
{
    if (strcmp(path, CE_RESPONSES) == 0)
        return "event: response.completed\n";
    if (strcmp(path, CE_MESSAGES) == 0)
        return "event: message_stop\n";
    return "data: [DONE]\n\n";
}

/* Parses a row's events map ("0-2 ? 3-6") into want; returns how many entries, -1 for "?". */
static size_t parse_events(const char *scenario, const char *map, long want[MAX_EVENTS])
{
    size_t k = 0;
    for (const char *p = map; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        cr_assert_lt(k, MAX_EVENTS, "%s: events map too long", scenario);
        if (*p == '?') {
            want[k++] = -1;
            p++;
            continue;
        }
        char *e;
        long lo = strtol(p, &e, 10), hi = lo;
        cr_assert(e != p, "%s: bad events map '%s'", scenario, map);
        if (*e == '-') {
            p = e + 1;
            hi = strtol(p, &e, 10);
            cr_assert(e != p && hi >= lo, "%s: bad range in events map '%s'", scenario, map);
        }
        for (long v = lo; v <= hi; v++) {
            cr_assert_lt(k, MAX_EVENTS, "%s: events map too long", scenario);
            want[k++] = v;
        }
        p = e;
    }
    return k;
}

/* x's events without the keep-alive pings; returns how many pings there were. */
static size_t strip_pings(const es_ex_t *x, es_events_t *kept)
{
    size_t pings = 0;
    kept->ev = calloc(x->ev.n + 1, sizeof(*kept->ev));
    cr_assert_not_null(kept->ev);
    kept->n = 0;
    for (size_t i = 0; i < x->ev.n; i++) {
        if (strcmp(x->ev.ev[i], PING) == 0)
            pings++;
        else
            kept->ev[kept->n++] = x->ev.ev[i];
    }
    return pings;
}

/* The events of the faulty attempt against the clean attempt's, by the row's map. */
static void check_events(const ce_run_t *run)
{
    const ce_case_t *c = run->c;
    long want[MAX_EVENTS];
    size_t n = parse_events(c->scenario, c->events, want);
    cr_assert(c->clean_timeout_ms > 0, "%s: an events map needs the clean attempt", c->scenario);
    cr_assert_eq(run->kept.n, n, "%s: %zu events, want %zu", c->scenario, run->kept.n, n);
    bool whole = true;
    for (size_t i = 0; i < n; i++) {
        if (want[i] < 0) {
            whole = false;
            continue;
        }
        cr_assert_lt((size_t)want[i], run->clean.ev.n, "%s: no clean event %ld", c->scenario,
                     want[i]);
        cr_assert_str_eq(run->kept.ev[i], run->clean.ev.ev[want[i]],
                         "%s: event %zu is not clean event %ld", c->scenario, i, want[i]);
    }
    if (!whole)
        return;
    /* the body, pings taken out, is exactly those clean events */
    char *body = es_join(&run->kept, 0, run->kept.n);
    es_events_t chosen = {calloc(n + 1, sizeof(char *)), n};
    cr_assert_not_null(chosen.ev);
    for (size_t i = 0; i < n; i++)
        chosen.ev[i] = run->clean.ev.ev[want[i]];
    char *expect = es_join(&chosen, 0, n);
    cr_assert_str_eq(body, expect, "%s: the body is not the clean events", c->scenario);
    free(chosen.ev);
    free(body);
    free(expect);
}

/* Everything the row expects of the faulty attempt on the wire. */
static void check_wire(ce_run_t *run)
{
    const ce_case_t *c = run->c;
    const es_ex_t *x = &run->x;
    const char *sc = c->scenario;
    cr_assert_eq(x->r.end, c->end, "%s: ended with %s, want %s", sc, fl_raw_end_name(x->r.end),
                 fl_raw_end_name(c->end));
    cr_assert_eq(x->d.status, c->status, "%s: status %d, want %d: %s", sc, x->d.status, c->status,
                 x->r.all);
    cr_assert_eq(x->d.dc_rc, c->dc_rc, "%s: chunked framing %d (%s), want %d", sc, x->d.dc_rc,
                 x->d.dc.why ? x->d.dc.why : "", c->dc_rc);
    if (c->terminated == CE_YES) {
        cr_assert(x->d.dc.terminated, "%s: no terminating chunk", sc);
        cr_assert_eq(x->d.dc.rest, 0, "%s: %zu bytes after the terminating chunk", sc,
                     x->d.dc.rest);
    } else if (c->terminated == CE_NO) {
        cr_assert_not(x->d.dc.terminated, "%s: a cut stream must not carry the terminating chunk",
                      sc);
    }
    size_t pings = strip_pings(x, &run->kept);
    cr_assert_eq(pings, c->pings, "%s: %zu pings, want %zu", sc, pings, c->pings);
    if (c->events)
        check_events(run);
    if (c->n_events)
        cr_assert_eq(run->kept.n, c->n_events, "%s: %zu events, want %zu", sc, run->kept.n,
                     c->n_events);
    if (c->tail) {
        size_t n = strlen(c->tail);
        cr_assert_geq(x->r.len, n, "%s: %zu bytes on the wire", sc, x->r.len);
        cr_assert(memcmp(x->r.all + x->r.len - n, c->tail, n) == 0,
                  "%s: the wire does not end as it should", sc);
    }
    if (c->silent)
        cr_assert_eq(x->r.len, 0, "%s: %zu bytes arrived, want none", sc, x->r.len);
    if (c->content_type)
        ce_header_is(x, "content-type", c->content_type);
    for (size_t i = 0; i < 2; i++) {
        if (c->has[i])
            cr_assert_not_null(strstr(x->norm, c->has[i]), "%s: no %s in %s", sc, c->has[i],
                               x->norm);
        if (c->lacks[i]) {
            cr_assert_null(strstr(x->r.all, c->lacks[i]), "%s: %s on the wire", sc, c->lacks[i]);
            cr_assert_null(strstr(x->norm, c->lacks[i]), "%s: %s in the body", sc, c->lacks[i]);
        }
    }
    in_range(sc, "ended after", x->r.end_ms, c->end_ms);
    if (c->first_ms.lo != 0 || c->first_ms.hi != 0) {
        cr_assert_gt(x->r.n_reads, 0, "%s: nothing arrived", sc);
        in_range(sc, "first byte after", x->r.reads[0].t_ms, c->first_ms);
    }
    in_range(sc, "largest gap", ce_max_gap(&x->r, NULL), c->max_gap_ms);
}

/* Attempt 2 is the whole clean stream. */
static void check_clean(const ce_run_t *run)
{
    const es_ex_t *x = &run->clean;
    const char *sc = run->c->scenario;
    size_t want = run->c->clean_events ? run->c->clean_events : 7;
    cr_assert_eq(x->r.end, FL_RAW_EOF, "%s: clean attempt ended with %s", sc,
                 fl_raw_end_name(x->r.end));
    cr_assert_eq(x->d.status, 200, "%s: clean attempt status %d", sc, x->d.status);
    cr_assert(x->d.chunked, "%s: clean attempt not chunked", sc);
    cr_assert_eq(x->d.dc_rc, 0, "%s: bad chunk framing: %s", sc, x->d.dc.why);
    cr_assert(x->d.dc.terminated, "%s: no terminating chunk on a clean attempt", sc);
    cr_assert_eq(x->d.dc.rest, 0, "%s: bytes after the clean terminating chunk", sc);
    cr_assert_eq(x->ev.n, want, "%s: clean stream has %zu events, want %zu", sc, x->ev.n, want);
    cr_assert(starts_with(x->ev.ev[want - 1], sentinel(run->path)),
              "%s: the clean stream does not end with %s", sc, sentinel(run->path));
}

/* The names of an entry's faults joined by spaces, malloc'd. */
static char *fault_names(const json_t *entry)
{
    size_t n = 1;
    const json_t *f;
    for (size_t i = 0; (f = ce_fault_n(entry, i)); i++)
        n += strlen(es_str(f, "fault")) + 1;
    char *s = calloc(n, 1);
    cr_assert_not_null(s);
    for (size_t i = 0; (f = ce_fault_n(entry, i)); i++) {
        if (i)
            strcat(s, " ");
        strcat(s, es_str(f, "fault"));
    }
    return s;
}

/* What the journal says about attempt 1 (and attempt 2 when the row asks). */
static void check_journal(ce_run_t *run)
{
    const ce_case_t *c = run->c;
    const char *sc = c->scenario;
    json_t *e = run->entry = es_entry(sc, 1, 3000);
    cr_assert_not_null(e, "%s: no journal entry for attempt 1 (still in_progress?)", sc);
    cr_assert_str_eq(es_str(e, "end"), c->j_end, "%s: journal end", sc);
    if (c->j_status)
        cr_assert_eq(es_int(e, "status", 0), c->j_status, "%s: journal status", sc);
    if (c->fault)
        es_assert_fault(e, c->fault, c->event, c->min_ms, c->max_ms);
    if (c->faults) {
        char *names = fault_names(e);
        cr_assert_str_eq(names, c->faults, "%s: journal faults", sc);
        free(names);
        size_t n = json_array_size(json_object_get(e, "faults"));
        in_range(sc, "last fault fired at", (double)es_int(ce_fault_n(e, n - 1), "ms", -1),
                 c->last_fault_ms);
    }
    if (c->j_events)
        cr_assert_eq(es_int(e, "events", -1), (long long)c->j_events, "%s: journal events", sc);
    if (c->j_sent)
        cr_assert_eq(es_int(e, "events_sent", -1), c->j_sent == CE_NONE ? 0 : c->j_sent,
                     "%s: journal events_sent %lld", sc, es_int(e, "events_sent", -1));
    if (c->j_bytes)
        cr_assert_eq((size_t)es_int(e, "bytes", -1), run->x.r.len,
                     "%s: journal bytes are not the bytes read", sc);
    if (c->closed_null)
        cr_assert(json_is_null(json_object_get(e, "client_closed_ms")),
                  "%s: client_closed_ms is not null", sc);
    if (c->closed_ms.lo != 0 || c->closed_ms.hi != 0)
        in_range(sc, "client_closed_ms", (double)es_int(e, "client_closed_ms", -1), c->closed_ms);
    if (!c->clean_entry)
        return;
    json_t *e2 = es_entry(sc, 2, 3000);
    cr_assert_not_null(e2, "%s: no journal entry for attempt 2", sc);
    cr_assert_str_eq(es_str(e2, "end"), "complete", "%s: attempt 2", sc);
    cr_assert_eq(es_int(e2, "status", 0), 200, "%s: attempt 2 status", sc);
    cr_assert_eq(json_array_size(json_object_get(e2, "faults")), 0, "%s: attempt 2 faults", sc);
    cr_assert(json_is_null(json_object_get(e2, "retry_after_ms")), "%s: attempt 2 Retry-After", sc);
    cr_assert_eq(es_int(e2, "events", -1), (long long)run->clean.ev.n, "%s: attempt 2 events", sc);
    cr_assert_eq((size_t)es_int(e2, "bytes", -1), run->clean.r.len, "%s: attempt 2 bytes", sc);
    json_decref(e2);
}

void ce_start(void)
{
    es_start(FL_TESTDATA_DIR "/chaos");
}

void ce_run(const ce_case_t *c)
{
    ce_run_t run = {.c = c, .path = c->path ? c->path : CE_CHAT};
    es_run(c->scenario, run.path, c->timeout_ms, c->close_after_ms, &run.x);
    if (c->clean_timeout_ms > 0) {
        es_run(c->scenario, run.path, c->clean_timeout_ms, 0, &run.clean);
        check_clean(&run);
    }
    check_wire(&run);
    if (c->j_end)
        check_journal(&run);
    if (c->check)
        c->check(&run);
    json_decref(run.entry);
    free(run.kept.ev);
    es_ex_free(&run.x);
    es_ex_free(&run.clean);
}

/*
 * The JSON report (schema in README, "The JSON report"): the run's settings, the score and
 * counts, and every run with its evidence. Client text is made valid UTF-8 first.
 */
#include "judge/report.h"

#include "base/version.h"
#include "judge/report_impl.h"

#include <stdlib.h>
#include <string.h>

/* A JSON string of client bytes, made valid UTF-8 first. NULL when out of memory. */
static json_t *jtext(const char *s, size_t n)
{
    fl_buf_t b;
    fl_buf_init(&b);
    json_t *v = NULL;
    if (fl_report__clean_text(&b, s ? s : "", s ? n : 0, false) == 0)
        v = json_stringn(b.data ? b.data : "", b.len);
    fl_buf_close(&b);
    return v;
}

/* Sets key to a new reference; a NULL value (allocation failed) is an error. */
static int put(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1; /* which decrefs v when it fails */
}

static json_t *ms_or_null(int64_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *u64(uint64_t v)
{
    return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

static const char *exit_kind_name(fl_exit_kind_t k)
{
    switch (k) {
    case FL_EXIT_CODE:
        return "code";
    case FL_EXIT_SIGNAL:
        return "signal";
    case FL_EXIT_DEADLINE:
        return "deadline";
    default:
        return "spawn";
    }
}

static json_t *attempts_json(const fl_evidence_t *ev)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (size_t i = 0; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        bool gap_known = i > 0 && ev->attempts[i - 1].end_ms >= 0;
        json_t *o = json_object();
        if (!o || json_array_append_new(list, o) || put(o, "n", json_integer((json_int_t)i + 1)) ||
            put(o, "start_ms", u64(a->start_ms)) || put(o, "end_ms", ms_or_null(a->end_ms)) ||
            put(o, "gap_ms", gap_known ? json_integer(a->gap_ms) : json_null()) ||
            put(o, "retry_after_ms", ms_or_null(a->retry_after_ms)) ||
            put(o, "sent_retry_after_ms", ms_or_null(a->sent_retry_after_ms)) ||
            put(o, "status", json_integer(a->status)) ||
            put(o, "stream", json_boolean(a->stream)) || put(o, "end", json_string(a->end)) ||
            put(o, "first_byte_ms", ms_or_null(a->first_byte_ms)) ||
            put(o, "last_byte_ms", ms_or_null(a->last_byte_ms)) || put(o, "bytes", u64(a->bytes)) ||
            put(o, "events", u64(a->events)) || put(o, "events_sent", u64(a->events_sent)) ||
            put(o, "faults", a->faults ? json_incref(a->faults) : json_array())) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

static json_t *findings_json(unsigned bits)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
#define X(name, s, bit)                                                                            \
    if ((bits & (bit)) && json_array_append_new(list, json_string(s))) {                           \
        json_decref(list);                                                                         \
        return NULL;                                                                               \
    }
    FL_FINDING_MAP(X)
#undef X
    return list;
}

static json_t *diff_json(const fl_run_result_t *it)
{
    fl_report__diff_t d;
    if (!fl_report__diff(it, &d))
        return json_null();
    return json_pack("{s:I, s:o, s:o}", "at", (json_int_t)d.at, "expected",
                     jtext(d.expected, d.expected_len), "got", jtext(d.got, d.got_len));
}

static json_t *exit_json(const fl_evidence_t *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (put(o, "kind", json_string(exit_kind_name(ev->exit_kind))) ||
        put(o, "code", ev->exit_kind == FL_EXIT_CODE ? json_integer(ev->exit_code) : json_null()) ||
        put(o, "signal",
            ev->exit_kind == FL_EXIT_SIGNAL ? json_integer(ev->term_signal) : json_null()) ||
        (ev->exit_kind == FL_EXIT_SPAWN &&
         put(o, "error", jtext(ev->spawn_error, strlen(ev->spawn_error))))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Relay mode: what the browser saw (evidence.h, fl_relay_ev_t); times in ms after the relay's
 * spawn, null for "never". */
static json_t *relay_json(const fl_evidence_t *ev)
{
    const fl_relay_ev_t *r = &ev->relay;
    if (!r->on)
        return NULL;
#define MS(v) ms_or_null(v)
    const char *err = ev->relay_err.data ? ev->relay_err.data : "";
    size_t tail = fl_report__tail_start(err, ev->relay_err.len, FL_REPORT_STDERR_TAIL);
    return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:o}",
                     "format", r->format, "status", r->status, "sent_ms", MS(r->sent_ms),
                     "first_byte_ms", MS(r->first_byte_ms), "first_text_ms", MS(r->first_text_ms),
                     "end_ms", MS(r->end_ms), "max_gap_ms", MS(r->max_gap_ms), "max_gap_at_ms",
                     MS(r->max_gap_at_ms), "left_ms", MS(r->left_ms), "complete", r->complete,
                     "error", r->error, "clean", r->clean, "malformed", r->malformed, "stderr_tail",
                     jtext(err + tail, ev->relay_err.len - tail));
#undef MS
}

json_t *fl_report_run_to_json(const fl_run_result_t *it)
{
    const fl_evidence_t *ev = &it->ev;
    const fl_scenario_t *sc = ev->scenario;
    const char *ans = fl_scenario_answer(sc);
    const char *out = ev->out.data ? ev->out.data : "";
    size_t head = fl_report__head_len(out, ev->out.len, FL_REPORT_STDOUT_HEAD);
    const char *err = ev->err.data ? ev->err.data : "";
    size_t tail = fl_report__tail_start(err, ev->err.len, FL_REPORT_STDERR_TAIL);

    json_t *o = json_object();
    if (!o)
        return NULL;
    if (put(o, "scenario", json_string(sc->name)) ||
        put(o, "file", jtext(sc->path, sc->path ? strlen(sc->path) : 0)) ||
        put(o, "dialect", json_string(fl_dialect_name(sc->dialect))) ||
        put(o, "repeat", json_integer(ev->repeat)) ||
        put(o, "verdict", json_string(fl_verdict_name(it->j.verdict))) ||
        put(o, "findings", findings_json(it->j.findings)) ||
        put(o, "score", json_integer(it->j.score)) ||
        put(o, "passed", json_boolean(it->j.passed)) ||
        put(o, "reason", jtext(it->j.reason, strlen(it->j.reason))) ||
        put(o, "exit", exit_json(ev)) || put(o, "wall_ms", u64(ev->wall_ms)) ||
        put(o, "stdout", jtext(out, head)) ||
        put(o, "stdout_truncated", json_boolean(ev->out_truncated || head < ev->out.len)) ||
        put(o, "expected", ans ? jtext(ans, strlen(ans)) : json_null()) ||
        put(o, "diff", diff_json(it)) ||
        put(o, "stderr_tail", jtext(err + tail, ev->err.len - tail)) ||
        put(o, "attempts", attempts_json(ev)) ||
        (ev->relay.on && put(o, "relay", relay_json(ev)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The names of the runs not judged ("#N" when the run repeats scenarios, as in the table). */
static json_t *not_run_json(const fl_report_t *r)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    bool repeated = fl_report__any_repeat(r);
    char name[160];
    for (size_t i = 0; i < r->n_not_run; i++) {
        fl_report__name(r->not_run[i].scenario, r->not_run[i].repeat, repeated, name, sizeof(name));
        if (json_array_append_new(list, json_string(name))) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

json_t *fl_report_to_json(const fl_report_t *r)
{
    size_t counts[FL_VERDICT_COUNT];
    json_t *root = json_object(), *c = json_object(), *f = json_object(), *runs = json_array();
    if (!root || !c || !f || !runs)
        goto fail;
    for (size_t i = 0; i < r->n_items; i++) {
        json_t *run = fl_report_run_to_json(&r->items[i]);
        if (!run || json_array_append_new(runs, run))
            goto fail;
    }
    fl_report__count_verdicts(r, counts);
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++)
        if (put(c, fl_verdict_name((fl_verdict_t)v), json_integer((json_int_t)counts[v])))
            goto fail;
#define X(name, s, bit)                                                                            \
    if (put(f, s, json_integer((json_int_t)fl_report__count_finding(r, bit))))                     \
        goto fail;
    FL_FINDING_MAP(X)
#undef X
    size_t failed = fl_report_failures(r);
    if (put(root, "faultline", json_string(FL_VERSION)) ||
        put(root, "client", r->client ? jtext(r->client, strlen(r->client)) : json_null()) ||
        put(root, "seed", u64(r->seed)) || put(root, "jobs", json_integer(r->jobs)) ||
        put(root, "shard", r->shard ? json_string(r->shard) : json_null()) ||
        put(root, "started", r->started ? json_string(r->started) : json_null()) ||
        put(root, "wall_ms", u64(r->wall_ms)) ||
        put(root, "interrupted", json_boolean(r->interrupted)) ||
        /* an interrupted run has no score: a partial mean must never read as the client's */
        put(root, "score", r->interrupted ? json_null() : json_real(fl_report_score(r))) ||
        put(root, "min_score", r->min_score < 0 ? json_null() : json_real(r->min_score)) ||
        put(root, "passed", json_integer((json_int_t)(r->n_items - failed))) ||
        put(root, "failed", json_integer((json_int_t)failed)) ||
        put(root, "not_run", not_run_json(r))) {
        goto fail;
    }
    /* put() owns its value from here on, whether or not it succeeds */
    int rc = put(root, "counts", c);
    c = NULL;
    rc |= put(root, "findings", f);
    f = NULL;
    rc |= put(root, "runs", runs);
    runs = NULL;
    if (rc)
        goto fail;
    return root;
fail:
    json_decref(runs);
    json_decref(f);
    json_decref(c);
    json_decref(root);
    return NULL;
}

int fl_report_write_json(const fl_report_t *r, const char *path, fl_diag_t *diag)
{
    json_t *root = fl_report_to_json(r);
    if (!root)
        return fl_report__oom(diag, path);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text)
        return fl_report__oom(diag, path);
    size_t len = strlen(text);
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_buf_append(&b, text, len) || fl_buf_append(&b, "\n", 1) ? FL_ENOMEM : 0;
    free(text);
    if (rc == 0)
        rc = fl_report__write_atomic(path, b.data, b.len, diag);
    else
        rc = fl_report__oom(diag, path);
    fl_buf_close(&b);
    return rc;
}

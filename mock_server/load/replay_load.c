/*
 * The loader's part for replays (scenario.h fl_replay_t): `response.writes:` (exact writes,
 * each {ms, data | b64}), `response.capture:` (a capture file, docs/capture.md, relative to
 * the scenario's folder), and their `ending`, `end_ms` and `speed`.
 *
 *   response:
 *     writes:
 *       - {ms: 0, data: "data: {\"choices\":[...]}\n\n"}
 *       - {ms: 41, b64: "ZGF0YTogWy..."}
 *     ending: rst      # complete (default), fin, rst, timeout
 *     end_ms: 83       # default: the last write's ms
 *     speed: 1         # 1 real time, 10 ten times faster, 0 as fast as possible
 */
#include "load/load_impl.h"

#include "base/array.h"
#include "base/error.h"
#include "model/capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPEED 1000.0

static const char *const endings[] = {"complete", "fin", "rst", "timeout", NULL};

static void read_write(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_replay_write_t *w,
                       uint64_t prev_ms)
{
    static const char *const keys[] = {"ms", "data", "b64", NULL};
    yaml_node_t *v[3], *k[3];
    char f[256];
    if (fl_load__get_map(c, n, field, keys, v, k))
        return;
    if (!v[0]) {
        fl_load__report_missing(c, n, field, "ms");
    } else {
        fl_load__join_key(f, sizeof(f), field, "ms");
        if (fl_load__get_uint(c, v[0], f, MAX_TIME_MS, &w->at_ms) == 0 && w->at_ms < prev_ms)
            fl_load__report(c, &v[0]->start_mark, f,
                            "%llu is before the previous write's %llu (writes go in time order)",
                            (unsigned long long)w->at_ms, (unsigned long long)prev_ms);
    }
    if (!v[1] == !v[2]) {
        fl_load__report(c, &n->start_mark, field, "a write needs exactly one of data, b64");
        return;
    }
    yaml_node_t *d = v[1] ? v[1] : v[2];
    fl_load__join_key(f, sizeof(f), field, v[1] ? "data" : "b64");
    if (d->type != YAML_SCALAR_NODE || fl_load__is_null(d) || d->data.scalar.length == 0) {
        fl_load__report(c, &d->start_mark, f, "expected a non-empty string, got %s",
                        d->type == YAML_SCALAR_NODE ? "nothing" : fl_load__kind_name(d));
        return;
    }
    if (v[1]) {
        w->len = d->data.scalar.length;
        if (!(w->bytes = fl_memdup(fl_load__sval(d), w->len)))
            c->oom = 1;
        return;
    }
    int rc = fl_capture_b64_decode(fl_load__sval(d), d->data.scalar.length, &w->bytes, &w->len);
    if (rc == FL_ENOMEM)
        c->oom = 1;
    else if (rc)
        fl_load__report(c, &d->start_mark, f, "is not base64 (RFC 4648, padded, no line breaks)");
}

static void read_writes(fl_load_ctx_t *c, yaml_node_t *n, fl_replay_t *rp)
{
    const char *field = "response.writes";
    if (n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.top == n->data.sequence.items.start) {
        fl_load__report(c, &n->start_mark, field, "expected a non-empty list of writes, got %s",
                        n->type == YAML_SEQUENCE_NODE ? "an empty list" : fl_load__kind_name(n));
        return;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count > FL_CAPTURE_MAX_WRITES) {
        fl_load__report(c, &n->start_mark, field, "%zu writes, more than the limit of %u", count,
                        FL_CAPTURE_MAX_WRITES);
        return;
    }
    if (!(rp->writes = calloc(count, sizeof(*rp->writes)))) {
        c->oom = 1;
        return;
    }
    rp->n_writes = count;
    uint64_t prev = 0;
    for (size_t i = 0; i < count; i++) {
        char f[256];
        fl_load__join_index(f, sizeof(f), field, i);
        read_write(c, fl_load__node_at(c, n->data.sequence.items.start[i]), f, &rp->writes[i],
                   prev);
        if (rp->writes[i].at_ms > prev)
            prev = rp->writes[i].at_ms;
    }
}

/* The capture's path: as written when absolute, else relative to the scenario file's folder. */
static void capture_path(const char *scenario, const char *rel, char *out, size_t n)
{
    const char *slash = scenario ? strrchr(scenario, '/') : NULL;
    if (rel[0] == '/' || !slash)
        snprintf(out, n, "%s", rel);
    else
        snprintf(out, n, "%.*s/%s", (int)(slash - scenario), scenario, rel);
}

static void read_capture(fl_load_ctx_t *c, yaml_node_t *n, fl_replay_t *rp, bool *has_ending)
{
    const char *field = "response.capture";
    if (fl_load__get_str(c, n, field, false, &rp->capture))
        return;
    char path[4096];
    capture_path(c->file, rp->capture, path, sizeof(path));
    fl_capture_t *cap = NULL;
    int rc = fl_capture_load_file(path, &cap, c->diags);
    if (rc == FL_ENOMEM) {
        c->oom = 1;
        return;
    }
    if (rc) {
        fl_load__report(c, &n->start_mark, field, "cannot replay '%.200s' (see above)", path);
        return;
    }
    if (!cap->has_response || cap->end == FL_CAPTURE_END_NO_RESPONSE) {
        fl_load__report(c, &n->start_mark, field,
                        "'%.200s' has no response head: replay it with the no_response fault",
                        path);
        goto done;
    }
    if (cap->status < 200 || cap->status > 299) {
        fl_load__report(c, &n->start_mark, field,
                        "'%.200s' answered HTTP %d: replay a non-2xx answer with the http_error "
                        "fault (faultline import writes it)",
                        path, cap->status);
        goto done;
    }
    size_t count = 0;
    for (size_t i = 0; i < cap->n_writes; i++)
        count += cap->writes[i].origin != FL_CAPTURE_ORIGIN_WITHHELD && cap->writes[i].len;
    if (count && !(rp->writes = calloc(count, sizeof(*rp->writes)))) {
        c->oom = 1;
        goto done;
    }
    for (size_t i = 0; i < cap->n_writes; i++) {
        fl_capture_write_t *w = &cap->writes[i];
        if (w->origin == FL_CAPTURE_ORIGIN_WITHHELD || !w->len)
            continue;
        fl_replay_write_t *o = &rp->writes[rp->n_writes++];
        o->at_ms = w->t_ms > cap->head_ms ? w->t_ms - cap->head_ms : 0;
        o->bytes = w->bytes; /* taken over from the capture */
        o->len = w->len;
        w->bytes = NULL;
        w->len = 0;
    }
    if (!*has_ending) {
        uint64_t end = cap->has_end ? cap->end_ms : 0;
        rp->end_ms = end > cap->head_ms ? end - cap->head_ms : 0;
        rp->ending = !cap->has_end                         ? FL_REPLAY_TIMEOUT
                     : cap->end == FL_CAPTURE_END_COMPLETE ? FL_REPLAY_COMPLETE
                     : cap->end == FL_CAPTURE_END_FIN      ? FL_REPLAY_FIN
                     : cap->end == FL_CAPTURE_END_RST      ? FL_REPLAY_RST
                                                           : FL_REPLAY_TIMEOUT;
        *has_ending = true;
    }
done:
    fl_capture_free(cap);
}

/* Reads a speed: a plain number from 0 to MAX_SPEED. Returns 0 or -1 after reporting. */
static int read_speed(fl_load_ctx_t *c, yaml_node_t *n, double *out)
{
    const char *field = "response.speed";
    const char *s = n->type == YAML_SCALAR_NODE ? fl_load__sval(n) : "";
    char *end = NULL;
    double d = n->type == YAML_SCALAR_NODE && fl_load__is_plain(n) && s[0] ? strtod(s, &end) : NAN;
    if (!end || *end || strpbrk(s, "xXpP") || !isfinite(d) || d < 0 || d > MAX_SPEED) {
        fl_load__report(c, &n->start_mark, field,
                        "expected a number from 0 (as fast as possible) to %g (1 is real time), "
                        "got %s",
                        MAX_SPEED, n->type == YAML_SCALAR_NODE ? s : fl_load__kind_name(n));
        return -1;
    }
    *out = d;
    return 0;
}

void fl_load__replay(fl_load_ctx_t *c, const fl_load_replay_keys_t *k, fl_response_t *r)
{
    fl_replay_t *rp = calloc(1, sizeof(*rp));
    if (!rp) {
        c->oom = 1;
        return;
    }
    r->replay = rp;
    rp->speed = 1;
    bool has_ending = false;
    if (k->ending) {
        int e = fl_load__get_enum(c, k->ending, "response.ending", "ending", endings);
        if (e >= 0)
            rp->ending = (fl_replay_end_t)e;
        has_ending = true;
    }
    if (k->writes)
        read_writes(c, k->writes, rp);
    else
        read_capture(c, k->capture, rp, &has_ending);
    uint64_t last = rp->n_writes ? rp->writes[rp->n_writes - 1].at_ms : 0;
    if (k->end_ms) {
        if (fl_load__get_uint(c, k->end_ms, "response.end_ms", MAX_TIME_MS, &rp->end_ms) == 0 &&
            rp->end_ms < last)
            fl_load__report(c, &k->end_ms->start_mark, "response.end_ms",
                            "%llu is before the last write's ms %llu",
                            (unsigned long long)rp->end_ms, (unsigned long long)last);
    } else if (rp->end_ms < last) {
        rp->end_ms = last;
    }
    if (k->speed)
        read_speed(c, k->speed, &rp->speed);
}

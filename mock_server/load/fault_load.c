/*
 * The loader's `attempts:` section: the fault catalog (model/fault.h) read from YAML into
 * fl_fault_t, every parameter checked, then every position checked against the scenario's
 * encoded stream. Which keys each fault accepts, whether it takes `at`, and what its bare name
 * lacks come from the catalog's columns; reading each parameter's value is per fault here.
 *
 * Shapes accepted (the Faults section of README.md is the user's reference):
 *   attempts: [ {faults: [...], chaos: {seed, probability, faults: [...]}}, {}, ... ]
 *   a fault item: {<fault>: {params}} (one key), {<fault>: null}, or a bare `<fault>` when the
 *   fault has no required parameter; line_endings also takes its style as the value itself.
 *   at: headers | end | {event: N>=1} | {content: N>=1} | {byte: N>=0} | {ms: N>=0}, exactly
 *   one key.
 * Diagnostics go through the shared helpers (load_impl.h), so they carry file:line:col and the
 * field path, e.g. attempts[0].faults[1].stall.ms.
 */
#include "chaos/chaos.h"
#include "encode/dialect.h"
#include "load/load_impl.h"
#include "chaos/plan.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAULTS        64u      /* per list: more is a typo or a generator gone wrong */
#define MAX_PIECE_BYTES   1048576u /* fragment and throttle sizes */
#define MAX_GARBAGE_BYTES 65536u
#define MAX_RETRY_AFTER_S 86400u
#define MAX_OFFSETS       4096u

/* The keys a fault accepts: `at` when it takes a position, then its parameters (the catalog's
 * columns, model/fault.h). keys holds FL_FAULT_MAX_PARAMS + 2 entries. */
static void keys_of(fl_fault_kind_t k, const char **keys)
{
    const fl_fault_info_t *info = fl_fault_info(k);
    size_t n = 0;
    if (info->takes_position)
        keys[n++] = "at";
    for (const char *const *p = info->params; *p; p++)
        keys[n++] = *p;
    keys[n] = NULL;
}

/* duplicate, drop, replace and the corrupt kinds other than garbage act on one whole event: a
 * position inside an event, or the end, gives them nothing to act on. */
static bool acts_on_whole_event(const fl_fault_t *f)
{
    return f->kind == FL_FAULT_DUPLICATE || f->kind == FL_FAULT_DROP ||
           f->kind == FL_FAULT_REPLACE ||
           (f->kind == FL_FAULT_CORRUPT && f->corrupt != FL_CORRUPT_GARBAGE);
}

static yaml_node_t *param(const char *const *keys, yaml_node_t **vals, const char *name)
{
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(keys[i], name) == 0)
            return vals[i];
    return NULL;
}

static yaml_node_t *param_key(const char *const *keys, yaml_node_t **knodes, const char *name)
{
    return param(keys, knodes, name);
}

/* Reads a number in [0, 1] (probability). Returns 0 or -1 after reporting. */
static int get_probability(fl_load_ctx_t *c, yaml_node_t *n, const char *field, double *out)
{
    if (n->type != YAML_SCALAR_NODE || !fl_load__is_plain(n)) {
        fl_load__report(c, &n->start_mark, field, "expected a number from 0 to 1, got %s",
                        n->type == YAML_SCALAR_NODE ? "a quoted string" : fl_load__kind_name(n));
        return -1;
    }
    const char *s = fl_load__sval(n);
    char *end = NULL;
    double d = s[0] ? strtod(s, &end) : NAN;
    if (!end || *end || strpbrk(s, "xXpP") || !isfinite(d)) {
        fl_load__report(c, &n->start_mark, field, "expected a number from 0 to 1, got '%.40s'", s);
        return -1;
    }
    if (d < 0 || d > 1) {
        fl_load__report(c, &n->start_mark, field, "%.40s is out of range (0 to 1)", s);
        return -1;
    }
    *out = d;
    return 0;
}

/* Reads a status code in [400, 599]. */
static int get_status(fl_load_ctx_t *c, yaml_node_t *n, const char *field, int *out)
{
    uint64_t v;
    if (fl_load__get_uint(c, n, field, 999, &v))
        return -1;
    if (v < 400 || v > 599) {
        fl_load__report(c, &n->start_mark, field,
                        "status %" PRIu64 " is not an error status (400 to 599)", v);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int get_cut(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_cut_t *out)
{
    static const char *const cuts[] = {"fin", "rst", NULL};
    int i = fl_load__get_enum(c, n, field, "cut", cuts);
    if (i < 0)
        return -1;
    *out = i == 1 ? FL_CUT_RST : FL_CUT_FIN;
    return 0;
}

static int get_error_type(fl_load_ctx_t *c, yaml_node_t *n, const char *field,
                          fl_error_class_t *out)
{
    if (n->type == YAML_SCALAR_NODE && fl_fault_error_type_parse(fl_load__sval(n), out) == 0)
        return 0;
    if (n->type != YAML_SCALAR_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected an error type, got %s",
                        fl_load__kind_name(n));
        return -1;
    }
    fl_load__report(c, &n->start_mark, field,
                    "unknown error type '%.60s' (valid: invalid_request, authentication, "
                    "permission, not_found, request_too_large, rate_limit, server, overloaded, "
                    "timeout, or the providers' *_error names)",
                    fl_load__sval(n));
    return -1;
}

static int parse_at(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_at_t *at)
{
    static const char *const keys[] = {"event", "content", "byte", "ms", NULL};
    static const fl_at_kind_t kinds[] = {FL_AT_EVENT, FL_AT_CONTENT, FL_AT_BYTE, FL_AT_MS};
    if (n->type == YAML_SCALAR_NODE && !fl_load__is_null(n)) {
        if (strcmp(fl_load__sval(n), "headers") == 0) {
            at->kind = FL_AT_HEADERS;
            return 0;
        }
        if (strcmp(fl_load__sval(n), "end") == 0) {
            at->kind = FL_AT_END;
            return 0;
        }
    }
    if (n->type != YAML_MAPPING_NODE) {
        fl_load__report(c, &n->start_mark, field,
                        "expected headers, end, {event: N}, {content: N}, {byte: N} or {ms: N}, "
                        "got %s",
                        n->type == YAML_SCALAR_NODE && !fl_load__is_null(n) ? "a scalar"
                        : fl_load__is_null(n)                               ? "null"
                                              : fl_load__kind_name(n));
        return -1;
    }
    yaml_node_t *v[4], *k[4];
    int before = c->nerr;
    fl_load__get_map(c, n, field, keys, v, k);
    if (c->nerr != before)
        return -1;
    int given = 0, i = 0;
    for (int j = 3; j >= 0; j--)
        if (v[j]) {
            given++;
            i = j;
        }
    if (given != 1) {
        fl_load__report(c, &n->start_mark, field,
                        "exactly one of event, content, byte, ms is needed (got %d)", given);
        return -1;
    }
    char f[256];
    fl_load__join_key(f, sizeof(f), field, keys[i]);
    at->kind = kinds[i];
    uint64_t max = at->kind == FL_AT_MS ? MAX_TIME_MS : UINT32_MAX;
    if (fl_load__get_uint(c, v[i], f, max, &at->n))
        return -1;
    if ((at->kind == FL_AT_EVENT || at->kind == FL_AT_CONTENT) && at->n == 0) {
        fl_load__report(c, &v[i]->start_mark, f, "must be >= 1 (%s are numbered from 1)",
                        at->kind == FL_AT_EVENT ? "events" : "content events");
        return -1;
    }
    return 0;
}

/* Which `at` forms a fault takes, checked at parse time (the stream is not needed). */
static void check_at_form(fl_load_ctx_t *c, const fl_fault_t *f, yaml_node_t *n, const char *field)
{
    const char *name = fl_fault_name(f->kind);
    /* a body fault at a position rewrites bytes of the body: the headers come before any */
    bool body_only = fl_fault_phase(f->kind) == FL_PHASE_BODY;
    if (acts_on_whole_event(f) && f->at.kind != FL_AT_EVENT && f->at.kind != FL_AT_CONTENT &&
        f->at.kind != FL_AT_DEFAULT)
        fl_load__report(c, &n->start_mark, field, "%s acts on one whole event: use {event: N}",
                        name);
    else if (body_only && f->at.kind == FL_AT_HEADERS)
        fl_load__report(c, &n->start_mark, field,
                        "%s acts on the body: headers is before it (use {event: 1})", name);
}

/* Reads fragment.offsets: a non-empty, strictly increasing list of body offsets. */
static void load_offsets(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_fault_t *f)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected a list of byte offsets, got %s",
                        fl_load__kind_name(n));
        return;
    }
    size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (len == 0 || len > MAX_OFFSETS) {
        fl_load__report(c, &n->start_mark, field, "needs 1 to %u offsets, got %zu", MAX_OFFSETS,
                        len);
        return;
    }
    f->offsets = calloc(len, sizeof(*f->offsets));
    if (!f->offsets) {
        c->oom = 1;
        return;
    }
    f->n_offsets = len;
    for (size_t i = 0; i < len; i++) {
        char fi[256];
        yaml_node_t *item = fl_load__node_at(c, n->data.sequence.items.start[i]);
        fl_load__join_index(fi, sizeof(fi), field, i);
        if (fl_load__get_uint(c, item, fi, UINT32_MAX, &f->offsets[i]))
            return;
        if (i && f->offsets[i] <= f->offsets[i - 1]) {
            fl_load__report(c, &item->start_mark, fi,
                            "offsets must increase (%" PRIu64 " after %" PRIu64 ")", f->offsets[i],
                            f->offsets[i - 1]);
            return;
        }
    }
}

/* Reads one fault's parameters from the mapping n (or null) into f. */
static void load_params(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_fault_t *f)
{
    const char *keys[FL_FAULT_MAX_PARAMS + 2];
    yaml_node_t *v[FL_FAULT_MAX_PARAMS + 1] = {0}, *k[FL_FAULT_MAX_PARAMS + 1] = {0};
    char p[256];
    bool empty = fl_load__is_null(n);

    if (!empty && n->type != YAML_MAPPING_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected a mapping of parameters, got %s",
                        fl_load__kind_name(n));
        return;
    }
    keys_of(f->kind, keys);
    if (!empty) {
        if (!keys[0] && n->data.mapping.pairs.top != n->data.mapping.pairs.start) {
            yaml_node_t *key = fl_load__node_at(c, n->data.mapping.pairs.start->key);
            fl_load__report(c, &key->start_mark, field, "%s takes no parameters",
                            fl_fault_name(f->kind));
            return;
        }
        int before = c->nerr;
        fl_load__get_map(c, n, field, keys, v, k);
        if (c->nerr != before)
            return;
    }
    /* Missing parameters are reported at the parameter mapping. */
    yaml_node_t *where = n;
#define P(name)     param(keys, v, name)
#define FIELD(name) (fl_load__join_key(p, sizeof(p), field, name), p)
#define NEED(name)                                                                                 \
    do {                                                                                           \
        if (!P(name)) {                                                                            \
            fl_load__report(c, &where->start_mark, FIELD(name), "missing required key");           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

    if (P("at")) {
        if (parse_at(c, P("at"), FIELD("at"), &f->at))
            return;
    }
    switch (f->kind) {
    case FL_FAULT_DROP_SENTINEL:
        if (P("drop_finish"))
            fl_load__get_bool(c, P("drop_finish"), FIELD("drop_finish"), &f->drop_finish);
        break;
    case FL_FAULT_STALL:
        NEED("ms");
        if (fl_load__is_plain(P("ms")) && strcmp(fl_load__sval(P("ms")), "forever") == 0) {
            f->forever = true;
        } else if (fl_load__get_uint(c, P("ms"), FIELD("ms"), MAX_TIME_MS, &f->ms) == 0 &&
                   f->ms == 0) {
            fl_load__report(c, &P("ms")->start_mark, FIELD("ms"), "must be >= 1 (or forever)");
            return;
        }
        if (P("keepalive_ms") && fl_load__get_uint(c, P("keepalive_ms"), FIELD("keepalive_ms"),
                                                   MAX_TIME_MS, &f->keepalive_ms) == 0) {
            if (!f->forever && f->keepalive_ms >= f->ms)
                fl_load__report(c, &P("keepalive_ms")->start_mark, FIELD("keepalive_ms"),
                                "must be less than ms (%" PRIu64 "), or no ping is ever sent",
                                f->ms);
        }
        /* a gateway's own ping (": OPENROUTER PROCESSING\n\n") and its irregular period */
        if ((P("keepalive") || P("keepalive_jitter_ms")) && !f->keepalive_ms) {
            yaml_node_t *kn = P("keepalive") ? P("keepalive") : P("keepalive_jitter_ms");
            fl_load__report(c, &kn->start_mark,
                            P("keepalive") ? FIELD("keepalive") : FIELD("keepalive_jitter_ms"),
                            "needs keepalive_ms (the ping period)");
            return;
        }
        if (P("keepalive") &&
            fl_load__get_str(c, P("keepalive"), FIELD("keepalive"), false, &f->keepalive) == 0)
            f->keepalive_len = strlen(f->keepalive);
        if (P("keepalive_jitter_ms") &&
            fl_load__get_uint(c, P("keepalive_jitter_ms"), FIELD("keepalive_jitter_ms"),
                              MAX_TIME_MS, &f->keepalive_jitter_ms) == 0) {
            if (f->keepalive_jitter_ms >= f->keepalive_ms)
                fl_load__report(c, &P("keepalive_jitter_ms")->start_mark,
                                FIELD("keepalive_jitter_ms"),
                                "must be less than keepalive_ms (%" PRIu64 ")", f->keepalive_ms);
            else if (f->forever && f->keepalive_jitter_ms)
                fl_load__report(c, &P("keepalive_jitter_ms")->start_mark,
                                FIELD("keepalive_jitter_ms"),
                                "needs a finite ms: a stall forever pings at a fixed period");
        }
        break;
    case FL_FAULT_THROTTLE:
        NEED("bytes_per_s");
        if (fl_load__get_uint(c, P("bytes_per_s"), FIELD("bytes_per_s"), MAX_PIECE_BYTES,
                              &f->bytes) == 0 &&
            f->bytes == 0)
            fl_load__report(c, &P("bytes_per_s")->start_mark, FIELD("bytes_per_s"), "must be >= 1");
        break;
    case FL_FAULT_FRAGMENT:
        if (P("bytes") && P("offsets")) {
            fl_load__report(c, &param_key(keys, k, "offsets")->start_mark, FIELD("offsets"),
                            "give bytes or offsets, not both");
            return;
        }
        if (!P("bytes") && !P("offsets")) {
            fl_load__report(c, &where->start_mark, field,
                            "fragment needs bytes (piece size) or offsets (where to split)");
            return;
        }
        if (P("bytes") &&
            fl_load__get_uint(c, P("bytes"), FIELD("bytes"), MAX_PIECE_BYTES, &f->bytes) == 0 &&
            f->bytes == 0)
            fl_load__report(c, &P("bytes")->start_mark, FIELD("bytes"), "must be >= 1");
        if (P("offsets"))
            load_offsets(c, P("offsets"), FIELD("offsets"), f);
        if (P("gap_ms"))
            fl_load__get_uint(c, P("gap_ms"), FIELD("gap_ms"), MAX_TIME_MS, &f->gap_ms);
        break;
    case FL_FAULT_CORRUPT: {
        static const char *const kinds[] = {"json", "utf8", "chunk_size", "garbage", "sse", NULL};
        NEED("kind");
        int kind = fl_load__get_enum(c, P("kind"), FIELD("kind"), "corrupt kind", kinds);
        if (kind < 0)
            return;
        f->corrupt = (fl_corrupt_kind_t)kind;
        if (f->corrupt != FL_CORRUPT_GARBAGE) {
            const char *extra = P("bytes") ? "bytes" : P("seed") ? "seed" : NULL;
            if (extra) {
                fl_load__report(c, &param_key(keys, k, extra)->start_mark, FIELD(extra),
                                "%s applies only to kind: garbage", extra);
                return;
            }
            break;
        }
        f->bytes = 16;
        if (P("bytes") &&
            fl_load__get_uint(c, P("bytes"), FIELD("bytes"), MAX_GARBAGE_BYTES, &f->bytes) == 0 &&
            f->bytes == 0)
            fl_load__report(c, &P("bytes")->start_mark, FIELD("bytes"), "must be >= 1");
        if (P("seed") && fl_load__get_uint(c, P("seed"), FIELD("seed"), UINT64_MAX, &f->seed) == 0)
            f->seed_set = true;
        break;
    }
    case FL_FAULT_LINE_ENDINGS: {
        static const char *const styles[] = {"crlf", "cr", NULL};
        NEED("style");
        int s = fl_load__get_enum(c, P("style"), FIELD("style"), "line ending style", styles);
        f->crlf = s == 0;
        break;
    }
    case FL_FAULT_INJECT:
        NEED("bytes");
        if (fl_load__get_str(c, P("bytes"), FIELD("bytes"), false, &f->inject) == 0)
            f->inject_len = strlen(f->inject);
        break;
    case FL_FAULT_REPLACE:
        NEED("data");
        if (fl_load__data(c, P("data"), FIELD("data"), &f->inject) == 0)
            f->inject_len = strlen(f->inject);
        break;
    case FL_FAULT_HTTP_ERROR:
        NEED("status");
        if (get_status(c, P("status"), FIELD("status"), &f->status))
            return;
        f->error_class = fl_fault_error_class_for_status(f->status);
        if (P("type"))
            get_error_type(c, P("type"), FIELD("type"), &f->error_class);
        if (P("retry_after_s")) {
            uint64_t s;
            if (fl_load__get_uint(c, P("retry_after_s"), FIELD("retry_after_s"), MAX_RETRY_AFTER_S,
                                  &s) == 0)
                f->retry_after_s = (int64_t)s;
        }
        if (P("retry_after_ms")) {
            uint64_t ms;
            if (fl_load__get_uint(c, P("retry_after_ms"), FIELD("retry_after_ms"), MAX_TIME_MS,
                                  &ms) == 0)
                f->retry_after_ms = (int64_t)ms;
        }
        if (P("html"))
            fl_load__get_bool(c, P("html"), FIELD("html"), &f->html);
        if (P("message"))
            fl_load__get_str(c, P("message"), FIELD("message"), false, &f->message);
        break;
    case FL_FAULT_ERROR_EVENT:
        if (P("type"))
            get_error_type(c, P("type"), FIELD("type"), &f->error_class);
        if (P("message"))
            fl_load__get_str(c, P("message"), FIELD("message"), false, &f->message);
        break;
    case FL_FAULT_PROXY_TIMEOUT:
        NEED("after_ms");
        fl_load__get_uint(c, P("after_ms"), FIELD("after_ms"), MAX_TIME_MS, &f->ms);
        if (P("status"))
            get_status(c, P("status"), FIELD("status"), &f->status);
        if (P("cut"))
            get_cut(c, P("cut"), FIELD("cut"), &f->cut);
        break;
    case FL_FAULT_IDLE_TIMEOUT:
        NEED("ms");
        if (fl_load__get_uint(c, P("ms"), FIELD("ms"), MAX_TIME_MS, &f->ms) == 0 && f->ms == 0)
            fl_load__report(c, &P("ms")->start_mark, FIELD("ms"), "must be >= 1");
        if (P("status"))
            get_status(c, P("status"), FIELD("status"), &f->status);
        if (P("cut"))
            get_cut(c, P("cut"), FIELD("cut"), &f->cut);
        break;
    case FL_FAULT_DELAY_HEADERS:
        NEED("ms");
        fl_load__get_uint(c, P("ms"), FIELD("ms"), MAX_TIME_MS, &f->ms);
        break;
    case FL_FAULT_REFUSE:
        if (P("reset")) {
            bool rst = false;
            if (fl_load__get_bool(c, P("reset"), FIELD("reset"), &rst) == 0)
                f->cut = rst ? FL_CUT_RST : FL_CUT_FIN;
        }
        break;
    default:
        break;
    }
    if (P("at"))
        check_at_form(c, f, P("at"), FIELD("at"));
#undef P
#undef FIELD
#undef NEED
}

static void report_unknown_fault(fl_load_ctx_t *c, yaml_node_t *key, const char *field)
{
    const char *best = fl_load_suggest(fl_load__sval(key), fl_fault_names());
    if (best)
        fl_load__report(c, &key->start_mark, field, "unknown fault '%.60s' (did you mean '%s'?)",
                        fl_load__sval(key), best);
    else
        fl_load__report(c, &key->start_mark, field,
                        "unknown fault '%.60s' (see the README's Faults section for the catalog)",
                        fl_load__sval(key));
}

/* Reads one item of a faults list. Returns 0 when f is a complete fault. */
static int load_fault(fl_load_ctx_t *c, yaml_node_t *item, const char *field, fl_fault_t *f)
{
    char fk[256];
    int before = c->nerr;
    yaml_node_t *key, *val = NULL;
    fl_fault_kind_t kind;
    if (item->type == YAML_SCALAR_NODE && !fl_load__is_null(item)) {
        key = item; /* a bare name */
    } else if (item->type == YAML_MAPPING_NODE &&
               item->data.mapping.pairs.top - item->data.mapping.pairs.start == 1) {
        key = fl_load__node_at(c, item->data.mapping.pairs.start->key);
        val = fl_load__node_at(c, item->data.mapping.pairs.start->value);
        if (key->type != YAML_SCALAR_NODE) {
            fl_load__report(c, &key->start_mark, field, "keys must be strings, got %s",
                            fl_load__kind_name(key));
            return -1;
        }
    } else if (item->type == YAML_MAPPING_NODE) {
        size_t n = (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start);
        fl_load__report(c, &item->start_mark, field,
                        n ? "a fault item has exactly one key, the fault (got %zu; write each "
                            "fault as its own list item)"
                          : "a fault item has exactly one key, the fault (got %zu)",
                        n);
        return -1;
    } else {
        fl_load__report(c, &item->start_mark, field, "expected a fault, got %s",
                        fl_load__is_null(item) ? "null" : fl_load__kind_name(item));
        return -1;
    }
    fl_load__join_key(fk, sizeof(fk), field, fl_load__sval(key));
    if (fl_fault_kind_parse(fl_load__sval(key), &kind)) {
        report_unknown_fault(c, key, fk);
        return -1;
    }
    fl_fault_init(f, kind);
    f->line = (int)key->start_mark.line + 1;
    f->col = (int)key->start_mark.column + 1;
    if (f->kind == FL_FAULT_LINE_ENDINGS && val && val->type == YAML_SCALAR_NODE &&
        !fl_load__is_null(val)) {
        static const char *const styles[] = {"crlf", "cr", NULL};
        int s = fl_load__get_enum(c, val, fk, "line ending style", styles);
        f->crlf = s == 0;
        return c->nerr == before ? 0 : -1;
    }
    if (!val || fl_load__is_null(val)) {
        const char *req = fl_fault_info(kind)->required;
        if (req) {
            fl_load__report(c, &key->start_mark, fk, "%s needs parameters: %s", fl_load__sval(key),
                            req);
            return -1;
        }
        return 0;
    }
    load_params(c, val, fk, f);
    return c->nerr == before ? 0 : -1;
}

/* Reads a list of faults into a new array. */
static void load_fault_list(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_fault_t **out,
                            size_t *n_out)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected a list of faults, got %s",
                        fl_load__is_null(n) ? "null" : fl_load__kind_name(n));
        return;
    }
    size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (len > MAX_FAULTS) {
        fl_load__report(c, &n->start_mark, field, "at most %u faults, got %zu", MAX_FAULTS, len);
        return;
    }
    if (len == 0)
        return;
    *out = calloc(len, sizeof(**out));
    if (!*out) {
        c->oom = 1;
        return;
    }
    *n_out = len;
    for (size_t j = 0; j < len; j++) {
        char fi[256];
        fl_load__join_index(fi, sizeof(fi), field, j);
        load_fault(c, fl_load__node_at(c, n->data.sequence.items.start[j]), fi, &(*out)[j]);
    }
}

static void load_chaos(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_attempt_t *a)
{
    static const char *const keys[] = {"seed", "probability", "faults", NULL};
    yaml_node_t *v[3], *k[3];
    char f[256];
    if (fl_load__get_map(c, n, field, keys, v, k))
        return;
    for (int i = 0; i < 3; i++)
        if (!v[i])
            fl_load__report_missing(c, n, field, keys[i]);
    if (!v[0] || !v[1] || !v[2])
        return;
    a->seeded = true;
    fl_load__join_key(f, sizeof(f), field, "seed");
    fl_load__get_uint(c, v[0], f, UINT64_MAX, &a->chaos_seed);
    fl_load__join_key(f, sizeof(f), field, "probability");
    get_probability(c, v[1], f, &a->chaos_probability);
    fl_load__join_key(f, sizeof(f), field, "faults");
    load_fault_list(c, v[2], f, &a->chaos_faults, &a->n_chaos_faults);
}

/* The response reader names its fields response and response.KEY: diagnostics from diags[mark]
 * on about an attempt's response get its own path instead (attempts[1].response.KEY). */
static void name_fields(fl_load_ctx_t *c, size_t mark, const char *base)
{
    for (size_t i = mark; i < c->diags->len; i++) {
        fl_diag_t *d = &c->diags->items[i];
        if (strncmp(d->field, "response", 8) != 0 || (d->field[8] && d->field[8] != '.'))
            continue;
        char f[sizeof(d->field)];
        snprintf(f, sizeof(f), "%s%s", base, d->field + 8);
        snprintf(d->field, sizeof(d->field), "%s", f);
    }
}

void fl_load__attempts(fl_load_ctx_t *c, yaml_node_t *n, fl_scenario_t *sc)
{
    static const char *const keys[] = {"faults", "chaos", "response", NULL};
    if (n->type != YAML_SEQUENCE_NODE) {
        fl_load__report(c, &n->start_mark, "attempts", "expected a list, got %s",
                        fl_load__kind_name(n));
        return;
    }
    size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (len > MAX_ATTEMPTS) {
        fl_load__report(c, &n->start_mark, "attempts", "at most %u attempts, got %zu", MAX_ATTEMPTS,
                        len);
        return;
    }
    if (len) {
        sc->attempts = calloc(len, sizeof(*sc->attempts));
        if (!sc->attempts) {
            c->oom = 1;
            return;
        }
        sc->n_attempts = len;
    }
    for (size_t i = 0; i < len; i++) {
        char f[256], ff[256];
        yaml_node_t *v[3], *k[3];
        yaml_node_t *item = fl_load__node_at(c, n->data.sequence.items.start[i]);
        fl_attempt_t *a = &sc->attempts[i];
        fl_load__join_index(f, sizeof(f), "attempts", i);
        if (fl_load__is_null(item))
            continue; /* `- ` alone: an attempt with no faults */
        if (fl_load__get_map(c, item, f, keys, v, k))
            continue;
        if (v[0]) {
            fl_load__join_key(ff, sizeof(ff), f, "faults");
            load_fault_list(c, v[0], ff, &a->faults, &a->n_faults);
        }
        if (v[1]) {
            fl_load__join_key(ff, sizeof(ff), f, "chaos");
            load_chaos(c, v[1], ff, a);
        }
        if (v[2]) {
            fl_load__join_key(ff, sizeof(ff), f, "response");
            if (!(a->response = calloc(1, sizeof(*a->response)))) {
                c->oom = 1;
                return;
            }
            size_t mark = c->diags->len;
            fl_load__response(c, v[2], a->response);
            name_fields(c, mark, ff);
            if (a->response->path)
                fl_load__report(c, &v[2]->start_mark, ff,
                                "path is where the scenario is served, the same for every "
                                "attempt: set it in the top-level response");
        }
    }
}

/* ---- checks against the encoded stream ----------------------------------------------------- */

typedef struct {
    fl_load_ctx_t *c;
    const fl_scenario_t *sc;
    const fl_script_t *script;
    bool candidate; /* a chaos candidate: drawn later, maybe at any event */
    char field[256];
} check_t;

/* True when event i's data lines, joined, parse as a JSON object or array. */
static bool event_has_json(const fl_script_t *s, size_t i)
{
    const char *p = s->bytes.data + s->events[i].off;
    const char *end = p + s->events[i].len;
    fl_buf_t data;
    fl_buf_init(&data);
    bool ok = false, any = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n >= 5 && memcmp(p, "data:", 5) == 0) {
            size_t skip = n > 5 && p[5] == ' ' ? 6 : 5;
            if ((any && fl_buf_append(&data, "\n", 1)) || fl_buf_append(&data, p + skip, n - skip))
                goto done;
            any = true;
        }
        p = nl ? nl + 1 : end;
    }
    if (any && data.data) {
        json_t *j = json_loadb(data.data, data.len, 0, NULL);
        ok = j != NULL;
        json_decref(j);
    }
done:
    fl_buf_close(&data);
    return ok;
}

static void check_one(check_t *k, const fl_fault_t *f)
{
    fl_load_ctx_t *c = k->c;
    yaml_mark_t m = {0, (size_t)(f->line > 0 ? f->line - 1 : 0),
                     (size_t)(f->col > 0 ? f->col - 1 : 0)};
    char at[256];
    const char *name = fl_fault_name(f->kind);
    size_t n_events = k->script->n_events, pieces = fl_script_pieces(k->script);
    size_t body = k->script->bytes.len;
    fl_load__join_key(at, sizeof(at), k->field, "at");

    /* Both counts, so that a user who counted words and one who counted events both see where
     * they went wrong. */
    if (f->at.kind == FL_AT_EVENT && f->at.n > n_events + 1) {
        fl_load__report(c, &m, at,
                        "event %" PRIu64 " is past the end of the stream (it has %zu events, %zu "
                        "of them content events)",
                        f->at.n, n_events, pieces);
        return;
    }
    if (f->at.kind == FL_AT_CONTENT && (pieces == 0 || f->at.n > pieces + 1)) {
        fl_load__report(c, &m, at,
                        "content %" PRIu64 " is past the end of the stream (it has %zu content "
                        "events, %zu events in all%s)",
                        f->at.n, pieces, n_events,
                        k->sc->response.events ? "; raw events are no content events" : "");
        return;
    }
    /* the event a position names, 1-based (n_events + 1: the end); 0 for the other forms */
    uint64_t ev_n = f->at.kind == FL_AT_EVENT     ? f->at.n
                    : f->at.kind == FL_AT_CONTENT ? fl_script_content_event(k->script, f->at.n) + 1
                                                  : 0;
    const char *form = f->at.kind == FL_AT_CONTENT ? "content" : "event";
    if (f->at.kind == FL_AT_BYTE && f->at.n > body) {
        fl_load__report(c, &m, at,
                        "byte %" PRIu64 " is past the end of the stream (its body has %zu bytes)",
                        f->at.n, body);
        return;
    }
    if (acts_on_whole_event(f) && ev_n == n_events + 1) {
        fl_load__report(c, &m, at,
                        "%s %" PRIu64 " is the end of the stream: %s needs an event (it has "
                        "%zu events)",
                        form, f->at.n, name, n_events);
        return;
    }
    switch (f->kind) {
    case FL_FAULT_CORRUPT:
        if (f->corrupt == FL_CORRUPT_CHUNK_SIZE && k->sc->response.framing == FL_FRAMING_CLOSE) {
            fl_load__report(c, &m, k->field,
                            "chunk_size needs chunked framing (response.framing is close)");
            return;
        }
        if (f->corrupt != FL_CORRUPT_JSON && f->corrupt != FL_CORRUPT_UTF8)
            break;
        if (ev_n) {
            const fl_script_event_t *ev = &k->script->events[ev_n - 1];
            if (!event_has_json(k->script, (size_t)ev_n - 1))
                fl_load__report(c, &m, at, "%s %" PRIu64 " has no JSON data line to corrupt", form,
                                f->at.n);
            else if (!fl_chaos_can_corrupt(k->script->bytes.data + ev->off, ev->len, f->corrupt))
                fl_load__report(
                    c, &m, at, "%s %" PRIu64 " has no %s in its first data line to corrupt", form,
                    f->at.n, f->corrupt == FL_CORRUPT_JSON ? "JSON value" : "string value");
        } else if (k->candidate) {
            fl_load__report(c, &m, k->field,
                            "a chaos candidate corrupt %s needs at: {event: N} (a drawn event may "
                            "carry no JSON)",
                            f->corrupt == FL_CORRUPT_JSON ? "json" : "utf8");
        } else if (k->sc->response.events) {
            fl_load__report(c, &m, k->field,
                            "corrupt %s on raw events needs at: {event: N} naming an event with "
                            "JSON data",
                            f->corrupt == FL_CORRUPT_JSON ? "json" : "utf8");
        }
        break;
    case FL_FAULT_DROP_SENTINEL:
        if (k->sc->response.events) {
            fl_load__report(c, &m, k->field,
                            "raw events have no end marker to drop: they are sent as written "
                            "(leave the marker out of response.events instead)");
        } else if (f->drop_finish && k->sc->dialect == FL_DIALECT_OPENAI_RESPONSES) {
            fl_load__report(c, &m, k->field,
                            "drop_finish has no separate event on openai-responses: "
                            "response.completed carries the finish and is the end marker, so "
                            "drop_sentinel alone drops both");
        } else if (f->drop_finish && k->sc->dialect == FL_DIALECT_GEMINI) {
            fl_load__report(c, &m, k->field,
                            "drop_finish has no separate event on gemini: it has no sentinel, "
                            "the chunk with finishReason is the end marker, so drop_sentinel "
                            "alone drops it");
        }
        break;
    case FL_FAULT_FRAGMENT:
        for (size_t i = 0; i < f->n_offsets; i++) {
            if (f->offsets[i] >= body) {
                char fo[256];
                fl_load__join_key(fo, sizeof(fo), k->field, "offsets");
                fl_load__report(c, &m, fo,
                                "offset %" PRIu64 " is past the end of the stream (its body has "
                                "%zu bytes)",
                                f->offsets[i], body);
                return;
            }
        }
        break;
    default:
        break;
    }
}

void fl_load__check_faults(fl_load_ctx_t *c, const fl_scenario_t *sc)
{
    /* The ids and times the server sends vary, their lengths do not (encode/dialect.h): an id
       and a time of exactly those lengths give the body the server sends byte for byte, so a
       byte position is refused here exactly when the server could not honour it. The numbers
       of events do not depend on them. */
    char id[FL_ENCODE_ID_LEN + 1];
    memset(id, 'v', FL_ENCODE_ID_LEN);
    id[FL_ENCODE_ID_LEN] = '\0';
    int64_t created = 1; /* the smallest time with FL_ENCODE_CREATED_DIGITS digits */
    for (int i = 1; i < FL_ENCODE_CREATED_DIGITS; i++)
        created *= 10;
    fl_encode_ctx_t ctx = {.id = id, .created = created, .include_usage = false};
    fl_script_t script, own;
    fl_script_init(&script);
    fl_script_init(&own);
    int rc = fl_dialect_encode_stream(sc, &ctx, &script);
    if (rc) {
        if (rc == FL_ENOMEM)
            c->oom = 1;
        return;
    }
    check_t k = {.c = c, .sc = sc, .script = &script};
    for (size_t i = 0; i < sc->n_attempts; i++) {
        const fl_attempt_t *a = &sc->attempts[i];
        char base[96];
        /* an entry with a response of its own is checked against the stream it sends */
        fl_scenario_t alt;
        k.sc = sc;
        k.script = &script;
        if (a->response) {
            alt = *sc;
            alt.response = *a->response;
            fl_script_close(&own);
            fl_script_init(&own);
            if ((rc = fl_dialect_encode_stream(&alt, &ctx, &own))) {
                if (rc == FL_ENOMEM)
                    c->oom = 1;
                snprintf(base, sizeof(base), "attempts[%zu].response", i);
                if (rc != FL_ENOMEM)
                    fl_load__report(c, NULL, base, "cannot be encoded: %s", fl_strerror(rc));
                continue;
            }
            k.sc = &alt;
            k.script = &own;
        }
        for (size_t j = 0; j < a->n_faults; j++) {
            snprintf(base, sizeof(base), "attempts[%zu].faults[%zu]", i, j);
            fl_load__join_key(k.field, sizeof(k.field), base, fl_fault_name(a->faults[j].kind));
            k.candidate = false;
            check_one(&k, &a->faults[j]);
        }
        for (size_t j = 0; j < a->n_chaos_faults; j++) {
            snprintf(base, sizeof(base), "attempts[%zu].chaos.faults[%zu]", i, j);
            fl_load__join_key(k.field, sizeof(k.field), base,
                              fl_fault_name(a->chaos_faults[j].kind));
            k.candidate = true;
            check_one(&k, &a->chaos_faults[j]);
        }
    }
    fl_script_close(&own);
    fl_script_close(&script);
}

/*
 * The scenario loader: YAML text -> validated fl_scenario_t.
 *
 * A first pass over libyaml's events refuses nesting deeper than FL_SCENARIO_MAX_DEPTH before
 * any tree is built (check_depth_events). libyaml's document API then builds the node graph (an
 * alias becomes a second reference to the anchored node, so nothing is expanded while parsing).
 * A bounded pre-pass then walks the graph as a tree would be walked, counting every node
 * reached through an alias and the depth, so an alias bomb or a self-referencing anchor is
 * refused before anything is expanded. The schema walk that follows checks every key and value
 * and collects all problems, each with the 1-based line:col of the node and its dotted field
 * path.
 */
#include "load/load.h"
#include "model/scenario.h"

#include "base/buf.h"
#include "load/load_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_TOKENS      2147483647u
#define MAX_CHUNK_BYTES 1048576u
#define MAX_NAME_LEN    64

void fl_load__report(fl_load_ctx_t *c, const yaml_mark_t *m, const char *field, const char *fmt,
                     ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->nerr++;
    if (fl_diag_add(c->diags, c->file, m ? (int)m->line + 1 : 0, m ? (int)m->column + 1 : 0, field,
                    "%s", msg))
        c->oom = 1;
}

yaml_node_t *fl_load__node_at(fl_load_ctx_t *c, int idx)
{
    return yaml_document_get_node(c->doc, idx);
}

/* Appends src to the NUL-terminated dst of size n, truncating (paths are for messages). */
static void append(char *dst, size_t n, const char *src)
{
    size_t len = strlen(dst);
    size_t add = strlen(src);
    if (len + 1 >= n)
        return;
    if (add > n - len - 1)
        add = n - len - 1;
    memcpy(dst + len, src, add);
    dst[len + add] = '\0';
}

void fl_load__join_key(char *out, size_t n, const char *parent, const char *key)
{
    out[0] = '\0';
    append(out, n, parent);
    if (parent[0])
        append(out, n, ".");
    append(out, n, key);
}

void fl_load__join_index(char *out, size_t n, const char *parent, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof(idx), "[%zu]", i);
    out[0] = '\0';
    append(out, n, parent);
    append(out, n, idx);
}

const char *fl_load__kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

const char *fl_load__sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

bool fl_load__is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML 1.2 core schema null: an empty plain scalar, ~ or null. */
bool fl_load__is_null(const yaml_node_t *n)
{
    if (!fl_load__is_plain(n))
        return false;
    const char *s = fl_load__sval(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* ---- the alias and depth pre-pass ---------------------------------------------------------- */

typedef struct {
    unsigned char *seen;
    size_t alias_nodes;
    int failed;
} bound_t;

static void bound_walk(fl_load_ctx_t *c, bound_t *b, int idx, int depth, bool via_alias)
{
    if (b->failed)
        return;
    yaml_node_t *n = fl_load__node_at(c, idx);
    if (!n)
        return;
    if (depth > FL_SCENARIO_MAX_DEPTH) {
        fl_load__report(c, &n->start_mark, "",
                        "nesting deeper than %d levels (a self-referencing alias?): file refused",
                        FL_SCENARIO_MAX_DEPTH);
        b->failed = 1;
        return;
    }
    size_t slot = (size_t)(idx - 1);
    if (b->seen[slot])
        via_alias = true;
    b->seen[slot] = 1;
    if (via_alias && ++b->alias_nodes > FL_SCENARIO_MAX_ALIAS_NODES) {
        fl_load__report(c, &n->start_mark, "",
                        "aliases expand to more than %d nodes (an alias bomb?): file refused",
                        FL_SCENARIO_MAX_ALIAS_NODES);
        b->failed = 1;
        return;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top && !b->failed; it++)
            bound_walk(c, b, *it, depth + 1, via_alias);
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top && !b->failed; p++) {
            bound_walk(c, b, p->key, depth + 1, via_alias);
            bound_walk(c, b, p->value, depth + 1, via_alias);
        }
    }
}

/* ---- scalar readers ------------------------------------------------------------------------ */

/* Reads a string scalar into *out (owned). Returns 0 or -1 after reporting. */
int fl_load__get_str(fl_load_ctx_t *c, yaml_node_t *n, const char *field, bool allow_empty,
                     char **out)
{
    if (n->type != YAML_SCALAR_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected a string, got %s",
                        fl_load__kind_name(n));
        return -1;
    }
    if (fl_load__is_null(n)) {
        fl_load__report(c, &n->start_mark, field, "expected a string, got null");
        return -1;
    }
    if (memchr(fl_load__sval(n), '\0', n->data.scalar.length)) {
        fl_load__report(c, &n->start_mark, field, "must not contain NUL bytes");
        return -1;
    }
    if (!allow_empty && n->data.scalar.length == 0) {
        fl_load__report(c, &n->start_mark, field, "must not be empty");
        return -1;
    }
    *out = strdup(fl_load__sval(n));
    if (!*out) {
        c->oom = 1;
        return -1;
    }
    return 0;
}

/* Reads a non-negative decimal integer <= max. Returns 0 or -1 after reporting. */
int fl_load__get_uint(fl_load_ctx_t *c, yaml_node_t *n, const char *field, uint64_t max,
                      uint64_t *out)
{
    if (n->type != YAML_SCALAR_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected an integer, got %s",
                        fl_load__kind_name(n));
        return -1;
    }
    const char *s = fl_load__sval(n);
    if (!fl_load__is_plain(n)) {
        fl_load__report(c, &n->start_mark, field, "expected an integer, got the string \"%.40s\"",
                        s);
        return -1;
    }
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p || strspn(p, "0123456789") != strlen(p)) {
        fl_load__report(c, &n->start_mark, field, "expected an integer, got '%.40s'", s);
        return -1;
    }
    uint64_t v = 0;
    bool over = false;
    for (; *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = true;
        else
            v = v * 10 + d;
    }
    if (neg && (v != 0 || over)) {
        fl_load__report(c, &n->start_mark, field, "must be >= 0, got %.40s", s);
        return -1;
    }
    if (over || v > max) {
        fl_load__report(c, &n->start_mark, field, "%.40s is out of range (0 to %" PRIu64 ")", s,
                        max);
        return -1;
    }
    *out = v;
    return 0;
}

int fl_load__get_bool(fl_load_ctx_t *c, yaml_node_t *n, const char *field, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE"};
    static const char *const f[] = {"false", "False", "FALSE"};
    if (fl_load__is_plain(n)) {
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(fl_load__sval(n), t[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcmp(fl_load__sval(n), f[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    if (n->type == YAML_SCALAR_NODE)
        fl_load__report(c, &n->start_mark, field, "expected true or false, got '%.40s'",
                        fl_load__sval(n));
    else
        fl_load__report(c, &n->start_mark, field, "expected true or false, got %s",
                        fl_load__kind_name(n));
    return -1;
}

/* Matches a scalar against a NULL-terminated list of names; returns the index or -1. */
int fl_load__get_enum(fl_load_ctx_t *c, yaml_node_t *n, const char *field, const char *what,
                      const char *const *names)
{
    if (n->type == YAML_SCALAR_NODE) {
        for (int i = 0; names[i]; i++)
            if (strcmp(fl_load__sval(n), names[i]) == 0)
                return i;
    }
    char list[256] = "";
    size_t off = 0;
    for (int i = 0; names[i]; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);
    if (n->type == YAML_SCALAR_NODE)
        fl_load__report(c, &n->start_mark, field, "unknown %s '%.60s' (valid: %s)", what,
                        fl_load__sval(n), list);
    else
        fl_load__report(c, &n->start_mark, field, "expected one of %s, got %s", list,
                        fl_load__kind_name(n));
    return -1;
}

/* ---- mappings and keys --------------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static bool prefix_of(const char *a, const char *b)
{
    size_t la = strlen(a);
    return la >= 3 && strncmp(a, b, la) == 0;
}

const char *fl_load_suggest(const char *word, const char *const *names)
{
    const char *best = NULL;
    size_t best_d = 99;
    for (int i = 0; names[i]; i++) {
        size_t d = edit_distance(word, names[i]);
        if (prefix_of(word, names[i]) || prefix_of(names[i], word))
            d = d < 1 ? d : 1;
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best_d <= 2 ? best : NULL;
}

static void report_unknown_key(fl_load_ctx_t *c, yaml_node_t *key, const char *parent,
                               const char *const *keys)
{
    char field[256];
    fl_load__join_key(field, sizeof(field), parent, fl_load__sval(key));
    const char *best = fl_load_suggest(fl_load__sval(key), keys);
    if (best) {
        fl_load__report(c, &key->start_mark, field, "unknown key '%.60s' (did you mean '%s'?)",
                        fl_load__sval(key), best);
        return;
    }
    char list[256] = "";
    size_t off = 0;
    for (int i = 0; keys[i]; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", keys[i]);
    fl_load__report(c, &key->start_mark, field, "unknown key '%.60s' (valid keys: %s)",
                    fl_load__sval(key), list);
}

/*
 * Checks that n is a mapping whose keys are all in keys (NULL-terminated, at most 16), with
 * no duplicates, and fills vals[i] / keynodes[i] with the node for keys[i] (or NULL).
 * Returns 0 when n is a mapping (key problems are reported but do not stop the walk), -1 when
 * it is not a mapping at all.
 */
int fl_load__get_map(fl_load_ctx_t *c, yaml_node_t *n, const char *field, const char *const *keys,
                     yaml_node_t **vals, yaml_node_t **keynodes)
{
    size_t nkeys = 0;
    while (keys[nkeys])
        nkeys++;
    for (size_t i = 0; i < nkeys; i++)
        vals[i] = keynodes[i] = NULL;
    if (n->type != YAML_MAPPING_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected a mapping, got %s",
                        fl_load__is_null(n) ? "null" : fl_load__kind_name(n));
        return -1;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = fl_load__node_at(c, p->key), *v = fl_load__node_at(c, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            fl_load__report(c, &k->start_mark, field, "keys must be strings, got %s",
                            fl_load__kind_name(k));
            continue;
        }
        size_t i = 0;
        while (i < nkeys && strcmp(keys[i], fl_load__sval(k)) != 0)
            i++;
        if (i == nkeys) {
            report_unknown_key(c, k, field, keys);
            continue;
        }
        if (keynodes[i]) {
            char f[256];
            fl_load__join_key(f, sizeof(f), field, keys[i]);
            fl_load__report(c, &k->start_mark, f, "duplicate key (first given at line %d)",
                            (int)keynodes[i]->start_mark.line + 1);
            continue;
        }
        keynodes[i] = k;
        vals[i] = v;
    }
    return 0;
}

void fl_load__report_missing(fl_load_ctx_t *c, yaml_node_t *map, const char *parent,
                             const char *key)
{
    char f[256];
    fl_load__join_key(f, sizeof(f), parent, key);
    fl_load__report(c, &map->start_mark, f, "missing required key");
}

/* ---- YAML -> JSON (tool_call.arguments, events[].data) ------------------------------------- */

static bool full_match_int(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    return *p && strspn(p, "0123456789") == strlen(p);
}

static bool full_match_float(const char *s)
{
    char *end;
    const char *p = s + (*s == '-' || *s == '+');
    if (!*p || !(p[0] == '.' || (p[0] >= '0' && p[0] <= '9')))
        return false;
    (void)strtod(s, &end);
    return *end == '\0' && !strpbrk(s, "xXpP");
}

static json_t *scalar_to_json(fl_load_ctx_t *c, yaml_node_t *n, const char *field);

/*
 * Converts a node to JSON. Returns NULL after reporting a problem, or with c->oom set (the
 * input is known to be UTF-8, so jansson's constructors fail only for memory).
 */
static json_t *to_json(fl_load_ctx_t *c, yaml_node_t *n, const char *field)
{
    if (n->type == YAML_SCALAR_NODE) {
        int before = c->nerr;
        json_t *j = scalar_to_json(c, n, field);
        if (!j && c->nerr == before)
            c->oom = 1;
        return j;
    }
    char f[256];
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *arr = json_array();
        if (!arr)
            goto oom;
        size_t i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++, i++) {
            fl_load__join_index(f, sizeof(f), field, i);
            json_t *v = to_json(c, fl_load__node_at(c, *it), f);
            if (!v || json_array_append_new(arr, v)) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    json_t *obj = json_object();
    if (!obj)
        goto oom;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = fl_load__node_at(c, p->key);
        if (k->type != YAML_SCALAR_NODE) {
            fl_load__report(c, &k->start_mark, field, "keys must be strings, got %s",
                            fl_load__kind_name(k));
            json_decref(obj);
            return NULL;
        }
        fl_load__join_key(f, sizeof(f), field, fl_load__sval(k));
        if (json_object_get(obj, fl_load__sval(k))) {
            fl_load__report(c, &k->start_mark, f, "duplicate key");
            json_decref(obj);
            return NULL;
        }
        json_t *v = to_json(c, fl_load__node_at(c, p->value), f);
        if (!v || json_object_set_new(obj, fl_load__sval(k), v)) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
oom:
    c->oom = 1;
    return NULL;
}

static json_t *scalar_to_json(fl_load_ctx_t *c, yaml_node_t *n, const char *field)
{
    const char *s = fl_load__sval(n);
    if (!fl_load__is_plain(n))
        return json_stringn(s, n->data.scalar.length);
    if (fl_load__is_null(n))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (full_match_int(s)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno) {
            fl_load__report(c, &n->start_mark, field, "integer %.40s does not fit in 64 bits", s);
            return NULL;
        }
        return json_integer(v);
    }
    static const char *const special[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                          "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
        if (strcmp(s, special[i]) == 0) {
            fl_load__report(c, &n->start_mark, field, "'%s' has no JSON form", s);
            return NULL;
        }
    }
    if (full_match_float(s)) {
        double d = strtod(s, NULL);
        if (!isfinite(d)) {
            fl_load__report(c, &n->start_mark, field, "number %.40s is too large for JSON", s);
            return NULL;
        }
        return json_real(d);
    }
    return json_stringn(s, n->data.scalar.length);
}

static char *json_compact(fl_load_ctx_t *c, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        c->oom = 1;
    return s;
}

/* ---- response ------------------------------------------------------------------------------ */

static void load_chunking(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    const char *field = "response.chunking";
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = fl_load__sval(n);
        if (strcmp(s, "word") == 0) {
            r->chunking = FL_CHUNKING_WORD;
            return;
        }
        if (strcmp(s, "char") == 0) {
            r->chunking = FL_CHUNKING_CHAR;
            return;
        }
        if (strncmp(s, "bytes:", 6) == 0) {
            const char *p = s + 6;
            if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 8) {
                unsigned long v = strtoul(p, NULL, 10);
                if (v >= 1 && v <= MAX_CHUNK_BYTES) {
                    r->chunking = FL_CHUNKING_BYTES;
                    r->chunk_bytes = v;
                    return;
                }
            }
            fl_load__report(c, &n->start_mark, field, "'%.40s': N in bytes:N must be 1 to %u", s,
                            MAX_CHUNK_BYTES);
            return;
        }
        fl_load__report(c, &n->start_mark, field,
                        "unknown chunking '%.40s' (valid: word, char, bytes:N)", s);
        return;
    }
    fl_load__report(c, &n->start_mark, field, "expected word, char or bytes:N, got %s",
                    fl_load__kind_name(n));
}

/* An array for the items of a non-empty YAML list at n: calloc'd, size bytes per item, *len
 * items. NULL with *len 0 after reporting why n is not one, or when out of memory (c->oom). */
static void *nonempty_list(fl_load_ctx_t *c, yaml_node_t *n, const char *field,
                           const char *expected, size_t size, size_t *len)
{
    *len = 0;
    if (n->type != YAML_SEQUENCE_NODE) {
        fl_load__report(c, &n->start_mark, field, "expected %s, got %s", expected,
                        fl_load__kind_name(n));
        return NULL;
    }
    size_t items = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (items == 0) {
        fl_load__report(c, &n->start_mark, field, "must not be empty");
        return NULL;
    }
    void *p = calloc(items, size);
    if (!p)
        c->oom = 1;
    else
        *len = items;
    return p;
}

/* Item i of the YAML list n; f (n_f bytes) gets its field path, field[i]. */
static yaml_node_t *list_item(fl_load_ctx_t *c, yaml_node_t *n, const char *field, size_t i,
                              char *f, size_t n_f)
{
    fl_load__join_index(f, n_f, field, i);
    return fl_load__node_at(c, n->data.sequence.items.start[i]);
}

static void load_chunks(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    const char *field = "response.chunks";
    r->chunks = nonempty_list(c, n, field, "a list of strings", sizeof(char *), &r->n_chunks);
    for (size_t i = 0; i < r->n_chunks; i++) {
        char f[256];
        fl_load__get_str(c, list_item(c, n, field, i, f, sizeof(f)), f, false, &r->chunks[i]);
    }
}

static int valid_tool_name(const char *s)
{
    return s[0] && strlen(s) <= MAX_NAME_LEN &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               strlen(s);
}

static void load_tool_call(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    static const char *const keys[] = {"name", "arguments", "id", NULL};
    yaml_node_t *v[3], *k[3];
    const char *field = "response.tool_call";
    if (fl_load__get_map(c, n, field, keys, v, k))
        return;
    fl_tool_call_t *tc = calloc(1, sizeof(*tc));
    if (!tc) {
        c->oom = 1;
        return;
    }
    r->tool_call = tc;
    if (!v[0])
        fl_load__report_missing(c, n, field, "name");
    else if (fl_load__get_str(c, v[0], "response.tool_call.name", false, &tc->name) == 0 &&
             !valid_tool_name(tc->name))
        fl_load__report(c, &v[0]->start_mark, "response.tool_call.name",
                        "'%.60s' must match [A-Za-z0-9_-]+ (at most %d characters)", tc->name,
                        MAX_NAME_LEN);
    if (!v[1]) {
        tc->arguments = strdup("{}");
        if (!tc->arguments)
            c->oom = 1;
    } else if (v[1]->type == YAML_MAPPING_NODE) {
        json_t *j = to_json(c, v[1], "response.tool_call.arguments");
        if (j) {
            tc->arguments = json_compact(c, j);
            json_decref(j);
        }
    } else if (v[1]->type == YAML_SCALAR_NODE && !fl_load__is_plain(v[1])) {
        json_error_t err;
        json_t *j = json_loadb(fl_load__sval(v[1]), v[1]->data.scalar.length, 0, &err);
        if (!j)
            fl_load__report(c, &v[1]->start_mark, "response.tool_call.arguments",
                            "not valid JSON: %s (at character %d)", err.text, err.position);
        else if (!json_is_object(j))
            fl_load__report(c, &v[1]->start_mark, "response.tool_call.arguments",
                            "the JSON must be an object, not %s",
                            json_is_array(j) ? "an array" : "a scalar");
        else
            tc->arguments = json_compact(c, j);
        json_decref(j);
    } else {
        fl_load__report(c, &v[1]->start_mark, "response.tool_call.arguments",
                        "expected a mapping or a quoted string holding a JSON object, got %s",
                        fl_load__kind_name(v[1]));
    }
    if (v[2]) {
        fl_load__get_str(c, v[2], "response.tool_call.id", false, &tc->id);
    } else if (tc->name) {
        size_t len = strlen(tc->name) + 6;
        tc->id = malloc(len);
        if (!tc->id)
            c->oom = 1;
        else
            snprintf(tc->id, len, "call_%s", tc->name);
    }
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int fl_load__data(fl_load_ctx_t *c, yaml_node_t *n, const char *field, char **out)
{
    if (n->type == YAML_MAPPING_NODE) {
        json_t *j = to_json(c, n, field);
        if (!j)
            return -1;
        *out = json_compact(c, j);
        json_decref(j);
        return *out ? 0 : -1;
    }
    if (n->type == YAML_SCALAR_NODE)
        return fl_load__get_str(c, n, field, true, out);
    fl_load__report(c, &n->start_mark, field, "expected a string or a mapping, got %s",
                    fl_load__kind_name(n));
    return -1;
}

static void load_event(fl_load_ctx_t *c, yaml_node_t *n, const char *field, fl_raw_event_t *e)
{
    static const char *const keys[] = {"event", "data", "id", "retry", "raw", NULL};
    yaml_node_t *v[5], *k[5];
    char f[256];
    e->retry = -1;
    if (fl_load__get_map(c, n, field, keys, v, k))
        return;
    if (!v[0] && !v[1] && !v[2] && !v[3] && !v[4]) {
        if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
            fl_load__report(c, &n->start_mark, field,
                            "an event needs at least one of event, data, id, retry, raw");
        return;
    }
    if (v[4]) {
        for (int i = 0; i < 4; i++)
            if (v[i]) {
                fl_load__join_key(f, sizeof(f), field, keys[i]);
                fl_load__report(c, &k[i]->start_mark, f,
                                "raw excludes the other fields (send them inside the raw bytes)");
            }
        fl_load__join_key(f, sizeof(f), field, "raw");
        if (v[4]->type != YAML_SCALAR_NODE || fl_load__is_null(v[4])) {
            fl_load__report(c, &v[4]->start_mark, f, "expected a string, got %s",
                            fl_load__is_null(v[4]) ? "null" : fl_load__kind_name(v[4]));
        } else if (v[4]->data.scalar.length == 0) {
            fl_load__report(c, &v[4]->start_mark, f, "must not be empty");
        } else {
            e->raw_len = v[4]->data.scalar.length;
            e->raw = malloc(e->raw_len + 1);
            if (!e->raw)
                c->oom = 1;
            else
                memcpy(e->raw, fl_load__sval(v[4]), e->raw_len + 1);
        }
        return;
    }
    if (v[0]) {
        fl_load__join_key(f, sizeof(f), field, "event");
        if (fl_load__get_str(c, v[0], f, false, &e->event) == 0 && has_line_break(e->event))
            fl_load__report(c, &v[0]->start_mark, f, "must not contain a line break");
    }
    if (v[1]) {
        fl_load__join_key(f, sizeof(f), field, "data");
        fl_load__data(c, v[1], f, &e->data);
    }
    if (v[2]) {
        fl_load__join_key(f, sizeof(f), field, "id");
        if (fl_load__get_str(c, v[2], f, true, &e->id) == 0 && has_line_break(e->id))
            fl_load__report(c, &v[2]->start_mark, f, "must not contain a line break");
    }
    if (v[3]) {
        uint64_t retry;
        fl_load__join_key(f, sizeof(f), field, "retry");
        if (fl_load__get_uint(c, v[3], f, MAX_TIME_MS, &retry) == 0)
            e->retry = (int64_t)retry;
    }
}

static void load_events(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    const char *field = "response.events";
    r->events = nonempty_list(c, n, field, "a list of events", sizeof(*r->events), &r->n_events);
    for (size_t i = 0; i < r->n_events; i++) {
        char f[256];
        load_event(c, list_item(c, n, field, i, f, sizeof(f)), f, &r->events[i]);
    }
}

static void load_usage(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    static const char *const keys[] = {"input_tokens", "output_tokens", NULL};
    yaml_node_t *v[2], *k[2];
    uint64_t x;
    if (fl_load__get_map(c, n, "response.usage", keys, v, k))
        return;
    if (v[0] && fl_load__get_uint(c, v[0], "response.usage.input_tokens", MAX_TOKENS, &x) == 0)
        r->input_tokens = (int64_t)x;
    if (v[1] && fl_load__get_uint(c, v[1], "response.usage.output_tokens", MAX_TOKENS, &x) == 0)
        r->output_tokens = (int64_t)x;
}

static const char *const response_keys[] = {
    "text",      "chunks", "tool_call",     "events", "chunking", "ttft_ms", "interval_ms",
    "jitter_ms", "seed",   "finish_reason", "usage",  "framing",  "writes",  "capture",
    "ending",    "end_ms", "speed",         "status", "headers",  "path",    NULL};
enum {
    R_TEXT,
    R_CHUNKS,
    R_TOOL_CALL,
    R_EVENTS,
    R_CHUNKING,
    R_TTFT,
    R_INTERVAL,
    R_JITTER,
    R_SEED,
    R_FINISH,
    R_USAGE,
    R_FRAMING,
    R_WRITES,
    R_CAPTURE,
    R_ENDING,
    R_END_MS,
    R_SPEED,
    R_STATUS,
    R_HEADERS,
    R_PATH,
    R_NKEYS
};

/* Headers the server's framing owns: response.framing and the request decide them. */
static const char *const framing_headers[] = {"content-length", "transfer-encoding", "connection",
                                              NULL};

static bool is_token(const char *s)
{
    return s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "!#$%&'*+-.^_`|~") == strlen(s);
}

/* response.headers: a mapping of header name -> string value. */
static void load_headers(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    const char *field = "response.headers";
    if (n->type != YAML_MAPPING_NODE) {
        fl_load__report(c, &n->start_mark, field,
                        "expected a mapping of header name to value, got %s",
                        fl_load__kind_name(n));
        return;
    }
    size_t len = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (len == 0)
        return;
    if (!(r->headers = calloc(len, sizeof(*r->headers)))) {
        c->oom = 1;
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = fl_load__node_at(c, p->key), *v = fl_load__node_at(c, p->value);
        char f[256];
        if (k->type != YAML_SCALAR_NODE || !is_token(fl_load__sval(k))) {
            fl_load__report(c, &k->start_mark, field,
                            "a header name is a token (letters, digits, !#$%%&'*+-.^_`|~)");
            continue;
        }
        fl_load__join_key(f, sizeof(f), field, fl_load__sval(k));
        fl_header_t *h = &r->headers[r->n_headers];
        if (!(h->name = strdup(fl_load__sval(k)))) {
            c->oom = 1;
            return;
        }
        r->n_headers++;
        for (char *q = h->name; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        for (size_t i = 0; framing_headers[i]; i++)
            if (strcmp(h->name, framing_headers[i]) == 0)
                fl_load__report(c, &k->start_mark, f,
                                "%s is the server's framing (set response.framing instead)",
                                h->name);
        for (size_t i = 0; i + 1 < r->n_headers; i++)
            if (strcmp(r->headers[i].name, h->name) == 0)
                fl_load__report(c, &k->start_mark, f, "duplicate header");
        if (fl_load__get_str(c, v, f, true, &h->value) == 0 && has_line_break(h->value))
            fl_load__report(c, &v->start_mark, f, "must not contain a line break");
    }
}

/* response.path: an absolute path of its own (not a control route, not a /s/NAME/ prefix). */
static void load_path(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    const char *field = "response.path";
    if (fl_load__get_str(c, n, field, false, &r->path))
        return;
    const char *p = r->path;
    if (p[0] != '/' || strpbrk(p, "?# \t\r\n") || strncmp(p, "/_faultline/", 12) == 0 ||
        strncmp(p, "/s/", 3) == 0 || strlen(p) > 200)
        fl_load__report(c, &n->start_mark, field,
                        "'%.60s' must be a path of at most 200 bytes starting with '/', without "
                        "a query, outside /_faultline/ and /s/",
                        p);
}

static void load_response(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    static const char *const finishes[] = {"stop", "length", "tool_calls", "content_filter", NULL};
    static const char *const framings[] = {"chunked", "close", NULL};
    yaml_node_t *v[R_NKEYS], *k[R_NKEYS];
    r->chunking = FL_CHUNKING_WORD;
    r->seed = 1;
    r->input_tokens = r->output_tokens = -1;
    if (fl_load__get_map(c, n, "response", response_keys, v, k))
        return;

    /* Exactly one content kind: the first given wins, each further one is an error. */
    int kind = -1;
    for (int i = R_TEXT; i <= R_EVENTS; i++) {
        if (!v[i])
            continue;
        if (kind >= 0) {
            char f[64];
            fl_load__join_key(f, sizeof(f), "response", response_keys[i]);
            fl_load__report(
                c, &k[i]->start_mark, f,
                "only one of text, chunks, tool_call, events may be given (%s is already)",
                response_keys[kind]);
            continue;
        }
        kind = i;
    }
    /* a replay's writes (or capture) are one more content kind */
    for (int i = R_WRITES; i <= R_CAPTURE; i++) {
        if (!v[i])
            continue;
        if (kind >= 0) {
            char f[64];
            fl_load__join_key(f, sizeof(f), "response", response_keys[i]);
            fl_load__report(c, &k[i]->start_mark, f,
                            "only one of text, chunks, tool_call, events, writes, capture may be "
                            "given (%s is already)",
                            response_keys[kind]);
            continue;
        }
        kind = i;
    }
    for (int i = R_ENDING; i <= R_SPEED; i++)
        if (v[i] && kind != R_WRITES && kind != R_CAPTURE) {
            char f[64];
            fl_load__join_key(f, sizeof(f), "response", response_keys[i]);
            fl_load__report(c, &k[i]->start_mark, f, "only applies to writes or capture");
        }
    if (kind == R_WRITES || kind == R_CAPTURE) {
        fl_load_replay_keys_t rk = {v[R_WRITES], v[R_CAPTURE], v[R_ENDING], v[R_END_MS],
                                    v[R_SPEED]};
        fl_load__replay(c, &rk, r);
    }
    if (kind < 0)
        fl_load__report(c, &n->start_mark, "response",
                        "one of text, chunks, tool_call or events is required");
    else if (kind == R_TEXT)
        fl_load__get_str(c, v[R_TEXT], "response.text", false, &r->text);
    else if (kind == R_CHUNKS)
        load_chunks(c, v[R_CHUNKS], r);
    else if (kind == R_TOOL_CALL)
        load_tool_call(c, v[R_TOOL_CALL], r);
    else if (kind == R_EVENTS)
        load_events(c, v[R_EVENTS], r);

    if (v[R_CHUNKING])
        load_chunking(c, v[R_CHUNKING], r);
    if (v[R_TTFT])
        fl_load__get_uint(c, v[R_TTFT], "response.ttft_ms", MAX_TIME_MS, &r->ttft_ms);
    if (v[R_INTERVAL])
        fl_load__get_uint(c, v[R_INTERVAL], "response.interval_ms", MAX_TIME_MS, &r->interval_ms);
    if (v[R_JITTER])
        fl_load__get_uint(c, v[R_JITTER], "response.jitter_ms", MAX_TIME_MS, &r->jitter_ms);
    if (v[R_SEED])
        fl_load__get_uint(c, v[R_SEED], "response.seed", UINT64_MAX, &r->seed);
    r->finish_reason = kind == R_TOOL_CALL ? FL_FINISH_TOOL_CALLS : FL_FINISH_STOP;
    if (v[R_FINISH]) {
        int f =
            fl_load__get_enum(c, v[R_FINISH], "response.finish_reason", "finish_reason", finishes);
        if (f >= 0)
            r->finish_reason = (fl_finish_t)f;
    }
    if (v[R_USAGE])
        load_usage(c, v[R_USAGE], r);
    if (v[R_FRAMING]) {
        int f = fl_load__get_enum(c, v[R_FRAMING], "response.framing", "framing", framings);
        if (f >= 0)
            r->framing = (fl_framing_t)f;
    }
    if (v[R_STATUS]) {
        uint64_t st;
        if (fl_load__get_uint(c, v[R_STATUS], "response.status", 999, &st) == 0) {
            if (st < 200 || st > 299 || st == 204 || st == 205)
                fl_load__report(c, &v[R_STATUS]->start_mark, "response.status",
                                "%" PRIu64 " is not a status with a body of the answer (200 to "
                                "299 but 204 and 205; an error status is the http_error fault)",
                                st);
            else
                r->status = (int)st;
        }
    }
    if (v[R_HEADERS])
        load_headers(c, v[R_HEADERS], r);
    if (v[R_PATH])
        load_path(c, v[R_PATH], r);
}

void fl_load__response(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r)
{
    load_response(c, n, r);
}

/* ---- expect ------------------------------------------------------------------- */

static const char *const expect_keys[] = {"outcome",
                                          "deadline_ms",
                                          "max_attempts",
                                          "min_backoff_ms",
                                          "respect_retry_after",
                                          "answer",
                                          "heartbeat_ms",
                                          "resume",
                                          NULL};

static void load_expect(fl_load_ctx_t *c, yaml_node_t *n, fl_expect_t *e)
{
    static const char *const outcomes[] = {"complete", "error", "either", NULL};
    static const char *const resumes[] = {"allowed", "required", NULL};
    yaml_node_t *v[8], *k[8];
    if (fl_load__get_map(c, n, "expect", expect_keys, v, k))
        return;
    if (v[0]) {
        int o = fl_load__get_enum(c, v[0], "expect.outcome", "outcome", outcomes);
        if (o >= 0)
            e->outcome = (fl_outcome_t)o;
    }
    if (v[1] &&
        fl_load__get_uint(c, v[1], "expect.deadline_ms", MAX_TIME_MS, &e->deadline_ms) == 0 &&
        e->deadline_ms == 0)
        fl_load__report(c, &v[1]->start_mark, "expect.deadline_ms", "must be > 0");
    if (v[2] &&
        fl_load__get_uint(c, v[2], "expect.max_attempts", MAX_ATTEMPTS, &e->max_attempts) == 0 &&
        e->max_attempts == 0)
        fl_load__report(c, &v[2]->start_mark, "expect.max_attempts", "must be >= 1");
    if (v[3])
        fl_load__get_uint(c, v[3], "expect.min_backoff_ms", MAX_TIME_MS, &e->min_backoff_ms);
    if (v[4])
        fl_load__get_bool(c, v[4], "expect.respect_retry_after", &e->respect_retry_after);
    if (v[5])
        fl_load__get_str(c, v[5], "expect.answer", true, &e->answer);
    if (v[6] &&
        fl_load__get_uint(c, v[6], "expect.heartbeat_ms", MAX_TIME_MS, &e->heartbeat_ms) == 0 &&
        e->heartbeat_ms == 0)
        fl_load__report(c, &v[6]->start_mark, "expect.heartbeat_ms", "must be > 0");
    if (v[7]) {
        int r = fl_load__get_enum(c, v[7], "expect.resume", "resume", resumes);
        if (r >= 0)
            e->resume = r == 0 ? FL_RESUME_ALLOWED : FL_RESUME_REQUIRED;
    }
}

/* ---- downstream (relay mode) ------------------------------------------------------ */

static void load_downstream(fl_load_ctx_t *c, yaml_node_t *n, fl_scenario_downstream_t *d)
{
    static const char *const keys[] = {"disconnect_after_ms", NULL};
    yaml_node_t *v[1], *k[1];
    if (fl_load__get_map(c, n, "downstream", keys, v, k))
        return;
    if (v[0] &&
        fl_load__get_uint(c, v[0], "downstream.disconnect_after_ms", MAX_TIME_MS,
                          &d->disconnect_after_ms) == 0 &&
        d->disconnect_after_ms == 0)
        fl_load__report(c, &v[0]->start_mark, "downstream.disconnect_after_ms", "must be > 0");
}

/* ---- fault profiles ----------------------------------------------------------------------- */

/* A fault profile (no `response:`) breaks a live stream: what needs an answer of its own is
 * refused. */
static void check_profile(fl_load_ctx_t *c, yaml_node_t *root, yaml_node_t *rv,
                          const fl_scenario_t *sc)
{
    if (sc->resume)
        fl_load__report(c, &rv->start_mark, "resume",
                        "a fault profile (no response:) has no stream of its own to resume");
    for (size_t i = 0; i < sc->n_attempts; i++)
        if (sc->attempts[i].response) {
            char f[64];
            snprintf(f, sizeof(f), "attempts[%zu].response", i);
            fl_load__report(c, &root->start_mark, f,
                            "a fault profile (no top-level response:) cannot override one per "
                            "attempt");
            return;
        }
}

/* ---- top level ----------------------------------------------------------------------------- */

static const char *const top_keys[] = {"faultline", "name",       "description", "dialect",
                                       "model",     "prompt",     "response",    "attempts",
                                       "expect",    "downstream", "resume",      NULL};
enum {
    T_VERSION,
    T_NAME,
    T_DESC,
    T_DIALECT,
    T_MODEL,
    T_PROMPT,
    T_RESPONSE,
    T_ATTEMPTS,
    T_EXPECT,
    T_DOWNSTREAM,
    T_RESUME,
    T_NKEYS
};
/* True when some raw event of r carries an `id:` field. */
static bool raw_has_id(const fl_response_t *r)
{
    for (size_t i = 0; i < r->n_events; i++)
        if (r->events[i].id)
            return true;
    return false;
}

/* `resume: true` needs event ids to resume from, and expect.resume needs resume: true. */
static void check_resume(fl_load_ctx_t *c, yaml_node_t *root, yaml_node_t *rv, fl_scenario_t *sc)
{
    if (sc->resume && sc->dialect != FL_DIALECT_OPENAI_RESPONSES && !raw_has_id(&sc->response))
        fl_load__report(c, &rv->start_mark, "resume",
                        "%s events carry no ids to resume from: resume needs openai-responses "
                        "(sequence_number) or raw events with an id",
                        fl_dialect_name(sc->dialect));
    if (sc->expect.resume != FL_RESUME_UNJUDGED && !sc->resume)
        fl_load__report(c, &root->start_mark, "expect.resume",
                        "judges a resume the server must offer: set resume: true");
}

static bool valid_name(const char *s)
{
    return s[0] && strlen(s) <= MAX_NAME_LEN &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

/* The answer a correct client prints, computed once (see fl_scenario_answer). */
static void derive_answer(fl_load_ctx_t *c, fl_scenario_t *sc)
{
    fl_response_t *r = &sc->response;
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = 0;
    if (r->text) {
        rc = fl_buf_append_str(&b, r->text);
    } else if (r->chunks) {
        for (size_t i = 0; i < r->n_chunks && rc == 0; i++)
            rc = fl_buf_append_str(&b, r->chunks[i]);
    } else if (r->tool_call) {
        /* The name matches [A-Za-z0-9_-]+, so it needs no JSON escaping. */
        rc = fl_buf_printf(&b, "{\"name\":\"%s\",\"arguments\":%s}", r->tool_call->name,
                           r->tool_call->arguments);
    } else {
        return;
    }
    if (rc == 0 && !b.data)
        rc = fl_buf_append(&b, "", 0);
    if (rc) {
        fl_buf_close(&b);
        c->oom = 1;
        return;
    }
    sc->expect.answer = fl_buf_detach(&b, NULL);
}

static void load_root(fl_load_ctx_t *c, yaml_node_t *root, fl_scenario_t *sc)
{
    static const char *const dialects[] = {"openai-chat", "openai-responses", "anthropic-messages",
                                           "gemini", NULL};
    yaml_node_t *v[T_NKEYS], *k[T_NKEYS];
    sc->version = 1;
    sc->expect.outcome = FL_OUTCOME_COMPLETE;
    sc->expect.deadline_ms = 20000;
    sc->expect.max_attempts = 4;
    sc->expect.respect_retry_after = true;
    sc->response.seed = 1;
    sc->response.input_tokens = sc->response.output_tokens = -1;
    if (root->type != YAML_MAPPING_NODE) {
        fl_load__report(c, &root->start_mark, "", "a scenario file must be a mapping, got %s",
                        fl_load__kind_name(root));
        return;
    }
    fl_load__get_map(c, root, "", top_keys, v, k);

    if (!v[T_VERSION]) {
        fl_load__report_missing(c, root, "", "faultline");
    } else {
        uint64_t ver;
        if (fl_load__get_uint(c, v[T_VERSION], "faultline", UINT32_MAX, &ver) == 0 && ver != 1)
            fl_load__report(
                c, &v[T_VERSION]->start_mark, "faultline",
                "unsupported format version %" PRIu64 " (this Faultline reads version 1)", ver);
    }
    if (!v[T_NAME])
        fl_load__report_missing(c, root, "", "name");
    else if (fl_load__get_str(c, v[T_NAME], "name", false, &sc->name) == 0 && !valid_name(sc->name))
        fl_load__report(c, &v[T_NAME]->start_mark, "name",
                        "'%.80s' must match ^[a-z0-9-]+$ (at most %d characters)", sc->name,
                        MAX_NAME_LEN);
    if (v[T_DESC])
        fl_load__get_str(c, v[T_DESC], "description", true, &sc->description);
    bool have_dialect = false;
    if (!v[T_DIALECT]) {
        fl_load__report_missing(c, root, "", "dialect");
    } else {
        int d = fl_load__get_enum(c, v[T_DIALECT], "dialect", "dialect", dialects);
        if (d >= 0) {
            sc->dialect = (fl_dialect_t)d;
            have_dialect = true;
        }
    }
    /* A default that cannot be copied is out of memory; a given value that is refused was
       reported by its reader and leaves the field NULL in a scenario that is discarded. */
    if (v[T_MODEL])
        fl_load__get_str(c, v[T_MODEL], "model", false, &sc->model);
    else if (have_dialect &&
             !(sc->model = strdup(sc->dialect == FL_DIALECT_ANTHROPIC_MESSAGES ? "claude-sonnet-4-5"
                                  : sc->dialect == FL_DIALECT_GEMINI           ? "gemini-2.5-flash"
                                                                               : "gpt-4o-mini")))
        c->oom = 1;
    if (v[T_PROMPT])
        fl_load__get_str(c, v[T_PROMPT], "prompt", false, &sc->prompt);
    else if (!(sc->prompt = strdup("Say hello.")))
        c->oom = 1;
    if (v[T_RESPONSE])
        load_response(c, v[T_RESPONSE], &sc->response);
    else
        sc->profile = true; /* a fault profile: the live upstream gives the answer */
    if (v[T_ATTEMPTS])
        fl_load__attempts(c, v[T_ATTEMPTS], sc);
    if (v[T_EXPECT])
        load_expect(c, v[T_EXPECT], &sc->expect);
    if (v[T_DOWNSTREAM])
        load_downstream(c, v[T_DOWNSTREAM], &sc->downstream);
    if (v[T_RESUME])
        fl_load__get_bool(c, v[T_RESUME], "resume", &sc->resume);
    if (have_dialect)
        check_resume(c, root, v[T_RESUME], sc);
    if (sc->profile)
        check_profile(c, root, v[T_RESUME], sc);
    if (sc->response.events && !sc->expect.answer)
        fl_load__report_missing(
            c, v[T_EXPECT] && v[T_EXPECT]->type == YAML_MAPPING_NODE ? v[T_EXPECT] : root, "expect",
            "answer");
    /* After an error some pieces may be missing, and the scenario is discarded anyway. */
    if (!sc->expect.answer && c->nerr == 0 && !sc->profile)
        derive_answer(c, sc);
    if (!sc->description && !(sc->description = strdup("")))
        c->oom = 1;
}

/* ---- entry points -------------------------------------------------------------------------- */

/* Checks the input is UTF-8 (RFC 3629) and reports the first bad byte with its line:col. */
static int check_utf8(fl_load_ctx_t *c, const unsigned char *s, size_t len)
{
    size_t line = 0, col = 0;
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= len;
        uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
        for (size_t j = 1; ok && j < n; j++) {
            ok = (s[i + j] & 0xc0) == 0x80;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                   cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
            ok = false;
        if (!ok) {
            yaml_mark_t m = {i, line, col};
            fl_load__report(c, &m, "", "not valid UTF-8 (byte 0x%02x); scenario files are UTF-8",
                            b);
            return -1;
        }
        if (b == '\n') {
            line++;
            col = 0;
        } else {
            col++;
        }
        i += n;
    }
    return 0;
}

static void report_yaml_error(fl_load_ctx_t *c, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        m.line = 0;
        m.column = p->problem_offset;
    }
    fl_load__report(c, &m, "", "YAML syntax error: %s",
                    p->problem ? p->problem : "unknown problem");
}

/*
 * Refuses nesting deeper than FL_SCENARIO_MAX_DEPTH while parsing events, before any tree is
 * built. Building the whole document first (yaml_parser_load) costs time quadratic in the
 * nesting: 100,000 levels of `[` took tens of seconds to be refused. Here the parse stops at the
 * first node one level too deep, so the work is bounded by the depth limit, not by the input. The
 * depth is counted as bound_walk counts it (the root is at depth 1; a scalar or alias inside
 * a collection one deeper), so the two refuse the same plain nesting; bound_walk still bounds
 * what aliases reach. A syntax error is reported here as the full parse would report it.
 * Returns 0, FL_ELIMIT or FL_ESYNTAX after a diagnostic, or FL_ENOMEM.
 */
static int check_depth_events(fl_load_ctx_t *c, const char *yaml, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return FL_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    int open = 0, rc = 0;
    for (bool done = false; !done && !rc;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = p.error == YAML_MEMORY_ERROR ? FL_ENOMEM : FL_ESYNTAX;
            if (rc == FL_ESYNTAX)
                report_yaml_error(c, &p);
            break;
        }
        switch (ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SCALAR_EVENT:
        case YAML_ALIAS_EVENT:
            if (open + 1 > FL_SCENARIO_MAX_DEPTH) {
                fl_load__report(c, &ev.start_mark, "",
                                "nesting deeper than %d levels: file refused",
                                FL_SCENARIO_MAX_DEPTH);
                rc = FL_ELIMIT;
            }
            if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
                open++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            open--;
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

int fl_scenario_load_string(const char *name, const char *yaml, size_t len, fl_scenario_t **out,
                            fl_diag_list_t *diags)
{
    fl_load_ctx_t c = {.file = name, .diags = diags};
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    fl_scenario_t *sc = NULL;
    bound_t b = {0};
    int rc;

    *out = NULL;
    if (len > FL_SCENARIO_MAX_FILE_BYTES) {
        fl_load__report(&c, NULL, "", "file is %zu bytes, more than the %u-byte limit", len,
                        FL_SCENARIO_MAX_FILE_BYTES);
        return FL_ELIMIT;
    }
    if (check_utf8(&c, (const unsigned char *)yaml, len))
        return FL_ESYNTAX;
    if ((rc = check_depth_events(&c, yaml, len)))
        return rc;
    if (!yaml_parser_initialize(&parser))
        return FL_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = parser.error == YAML_MEMORY_ERROR ? FL_ENOMEM : FL_ESYNTAX;
        report_yaml_error(&c, &parser);
        goto fail_parser;
    }
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        yaml_mark_t m = {0, 0, 0};
        fl_load__report(&c, &m, "",
                        "empty file: a scenario needs at least faultline, name, dialect and "
                        "response");
        rc = FL_ESCHEMA;
        goto fail_doc;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        rc = parser.error == YAML_MEMORY_ERROR ? FL_ENOMEM : FL_ESYNTAX;
        report_yaml_error(&c, &parser);
        goto fail_doc;
    }
    yaml_node_t *second = yaml_document_get_root_node(&extra);
    if (second) {
        fl_load__report(&c, &extra.start_mark, "",
                        "more than one YAML document in the file (one scenario per file)");
        yaml_document_delete(&extra);
        rc = FL_ESCHEMA;
        goto fail_doc;
    }
    yaml_document_delete(&extra);

    size_t n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
    b.seen = calloc(n_nodes ? n_nodes : 1, 1);
    if (!b.seen) {
        rc = FL_ENOMEM;
        goto fail_doc;
    }
    bound_walk(&c, &b, 1, 1, false);
    free(b.seen);
    if (b.failed) {
        rc = FL_ELIMIT;
        goto fail_doc;
    }

    sc = calloc(1, sizeof(*sc));
    if (!sc) {
        rc = FL_ENOMEM;
        goto fail_doc;
    }
    sc->path = strdup(name ? name : "");
    if (!sc->path)
        c.oom = 1;
    load_root(&c, root, sc);
    /* Fault positions are checked against the encoded stream, so only a scenario that is
       otherwise whole gets there; a fault profile has no stream of its own to check against (its
       positions are live events, README "faultline proxy"). */
    if (!c.oom && c.nerr == 0 && sc->n_attempts && !sc->profile)
        fl_load__check_faults(&c, sc);
    if (c.oom) {
        rc = FL_ENOMEM;
        goto fail_scenario;
    }
    if (c.nerr) {
        rc = FL_ESCHEMA;
        goto fail_scenario;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    *out = sc;
    return 0;

fail_scenario:
    fl_scenario_free(sc);
fail_doc:
    yaml_document_delete(&doc);
fail_parser:
    yaml_parser_delete(&parser);
    return rc;
}

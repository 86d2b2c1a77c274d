/* Reply templates; see reply_cache.h. */
#include "serve/reply_cache.h"

#include "base/array.h"
#include "base/error.h"
#include "chaos/plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the evidence record --- */

int fl_fault_record_events(fl_fault_record_t *ev, const fl_script_t *script)
{
    ev->n_events = script->n_events;
    ev->body_len = script->bytes.len;
    if (!script->n_events)
        return 0;
    ev->event_ends = malloc(script->n_events * sizeof(*ev->event_ends));
    if (!ev->event_ends)
        return FL_ENOMEM;
    for (size_t i = 0; i < script->n_events; i++)
        ev->event_ends[i] = script->events[i].off + script->events[i].len;
    return 0;
}

void fl_fault_record_close(fl_fault_record_t *ev)
{
    fl_plan_free(ev->faults, ev->n_faults);
    free(ev->event_ends);
    memset(ev, 0, sizeof(*ev));
}

int fl_fault_record_copy(const fl_fault_record_t *src, fl_fault_record_t *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->n_events = src->n_events;
    dst->body_len = src->body_len;
    if (src->n_events &&
        !(dst->event_ends = fl_memdup(src->event_ends, src->n_events * sizeof(*dst->event_ends))))
        goto fail;
    if (src->n_faults) {
        dst->faults = calloc(src->n_faults, sizeof(*dst->faults));
        if (!dst->faults)
            goto fail;
        for (; dst->n_faults < src->n_faults; dst->n_faults++)
            if (fl_fault_copy(&dst->faults[dst->n_faults], &src->faults[dst->n_faults]))
                goto fail;
    }
    return 0;
fail:
    fl_fault_record_close(dst);
    return FL_ENOMEM;
}

/* --- templates --- */

/* Two sentinel ids and times. They only need to differ from each other and from the
 * scenario's own bytes; a collision is caught by the comparison and leaves the variant
 * uncacheable, never wrong. */
static const char ID_A[] = "QzTmplA0Xq7Wv3Ks9Lp1";
static const char ID_B[] = "JyTmplB5Rm2Nc8Hf4Dg6";
#define CREATED_A INT64_C(1700000001)
#define CREATED_B INT64_C(1800000002)

struct fl_reply_tmpl_s {
    fl_reply_tmpl_t *next;
    fl_reply_key_t key;
    bool cacheable;
    fl_wire_t plan; /* compiled with ID_A and CREATED_A */
    fl_fault_record_t evidence;
    size_t *id_offs, n_id; /* where ID_A stands in plan.bytes */
    size_t *created_offs, n_created;
    fl_wire_patch_t *patches; /* both of the above, sorted by offset; what copies share */
    size_t n_patches;
};

static bool key_eq(const fl_reply_key_t *a, const fl_reply_key_t *b)
{
    return a->scenario == b->scenario && a->entry == b->entry &&
           a->include_usage == b->include_usage && a->close == b->close && a->framing == b->framing;
}

static void tmpl_free(fl_reply_tmpl_t *t)
{
    fl_wire_close(&t->plan);
    fl_fault_record_close(&t->evidence);
    free(t->id_offs);
    free(t->created_offs);
    free(t->patches);
    free(t);
}

void fl_reply_cache_init(fl_reply_cache_t *c)
{
    c->list = NULL;
}

void fl_reply_cache_close(fl_reply_cache_t *c)
{
    while (c->list) {
        fl_reply_tmpl_t *t = c->list;
        c->list = t->next;
        tmpl_free(t);
    }
}

/* Every offset of needle (n bytes) in hay; *offs is a new array (NULL when none). */
static int find_all(const char *hay, size_t len, const char *needle, size_t n, size_t **offs,
                    size_t *count)
{
    *offs = NULL;
    *count = 0;
    size_t cap = 0;
    for (size_t i = 0; hay && i + n <= len;) {
        const char *p = memmem(hay + i, len - i, needle, n);
        if (!p)
            break;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            size_t *o = realloc(*offs, cap * sizeof(*o));
            if (!o) {
                free(*offs);
                *offs = NULL;
                return FL_ENOMEM;
            }
            *offs = o;
        }
        (*offs)[(*count)++] = (size_t)(p - hay);
        i = (size_t)(p - hay) + n;
    }
    return 0;
}

static void patch(char *bytes, const size_t *offs, size_t n, const char *with, size_t len)
{
    for (size_t i = 0; i < n; i++)
        memcpy(bytes + offs[i], with, len);
}

static bool ops_eq(const fl_wire_t *a, const fl_wire_t *b)
{
    if (a->n_ops != b->n_ops || a->status != b->status || a->retry_after_ms != b->retry_after_ms ||
        a->page != b->page || a->bytes.len != b->bytes.len || a->n_skipped != b->n_skipped)
        return false;
    for (size_t i = 0; i < a->n_ops; i++) {
        const fl_wire_op_t *x = &a->ops[i], *y = &b->ops[i];
        if (x->kind != y->kind || x->at_ms != y->at_ms || x->off != y->off || x->len != y->len ||
            x->every_ms != y->every_ms || x->own_write != y->own_write || x->fault != y->fault ||
            x->event != y->event || x->body_off != y->body_off || x->silent_ms != y->silent_ms ||
            x->marks != y->marks)
            return false;
    }
    return true;
}

static bool evidence_eq(const fl_fault_record_t *a, const fl_fault_record_t *b)
{
    if (a->n_faults != b->n_faults || a->n_events != b->n_events || a->body_len != b->body_len)
        return false;
    for (size_t i = 0; i < a->n_faults; i++)
        if (a->faults[i].kind != b->faults[i].kind)
            return false;
    return a->n_events == 0 ||
           memcmp(a->event_ends, b->event_ends, a->n_events * sizeof(*a->event_ends)) == 0;
}

/* Merges the id and time offsets into one sorted patch list. Where an id and a time would
 * overlap (they never do in a dialect's JSON), the variant is refused. Returns 0, 1 (refused)
 * or FL_ENOMEM. */
static int build_patches(fl_reply_tmpl_t *t)
{
    size_t n = t->n_id + t->n_created;
    if (n == 0)
        return 0;
    t->patches = malloc(n * sizeof(*t->patches));
    if (!t->patches)
        return FL_ENOMEM;
    size_t i = 0, k = 0;
    while (i < t->n_id || k < t->n_created) {
        bool id = k == t->n_created || (i < t->n_id && t->id_offs[i] < t->created_offs[k]);
        fl_wire_patch_t p = id ? (fl_wire_patch_t){t->id_offs[i++], FL_ENCODE_ID_LEN, 0}
                               : (fl_wire_patch_t){t->created_offs[k++], FL_ENCODE_CREATED_DIGITS,
                                                   FL_ENCODE_ID_LEN};
        if (t->n_patches &&
            t->patches[t->n_patches - 1].off + t->patches[t->n_patches - 1].len > p.off)
            return 1;
        t->patches[t->n_patches++] = p;
    }
    return 0;
}

/* Compiles the two sentinel variants and keeps the first as the template when patching
 * explains every difference. Returns 0 (t->cacheable says which) or FL_ENOMEM. */
static int tmpl_build(fl_reply_tmpl_t *t, fl_reply_compile_fn compile, void *arg)
{
    char ca[24], cb[24];
    snprintf(ca, sizeof(ca), "%" PRId64, CREATED_A);
    snprintf(cb, sizeof(cb), "%" PRId64, CREATED_B);
    fl_wire_t b;
    fl_fault_record_t evb = {0};
    fl_wire_init(&b);
    int rc = compile(arg, ID_A, CREATED_A, &t->plan, &t->evidence);
    if (rc == 0)
        rc = compile(arg, ID_B, CREATED_B, &b, &evb);
    if (rc) {
        /* Not compilable here: the caller's own path reports the error (or runs out of
         * memory the same way). */
        rc = rc == FL_ENOMEM ? FL_ENOMEM : 0;
        goto done;
    }
    char *bytes = t->plan.bytes.data;
    size_t len = t->plan.bytes.len;
    rc = find_all(bytes, len, ID_A, FL_ENCODE_ID_LEN, &t->id_offs, &t->n_id);
    if (rc == 0)
        rc = find_all(bytes, len, ca, FL_ENCODE_CREATED_DIGITS, &t->created_offs, &t->n_created);
    if (rc || !ops_eq(&t->plan, &b) || !evidence_eq(&t->evidence, &evb))
        goto done;
    /* Turn A into B in place, compare, and turn it back. */
    patch(bytes, t->id_offs, t->n_id, ID_B, FL_ENCODE_ID_LEN);
    patch(bytes, t->created_offs, t->n_created, cb, FL_ENCODE_CREATED_DIGITS);
    bool same = len == 0 || memcmp(bytes, b.bytes.data, len) == 0;
    patch(bytes, t->id_offs, t->n_id, ID_A, FL_ENCODE_ID_LEN);
    patch(bytes, t->created_offs, t->n_created, ca, FL_ENCODE_CREATED_DIGITS);
    if (same) {
        int prc = build_patches(t);
        t->cacheable = prc == 0;
        if (prc == FL_ENOMEM)
            rc = FL_ENOMEM;
    }
done:
    if (!t->cacheable) {
        /* Keep only the verdict. */
        fl_wire_close(&t->plan);
        fl_fault_record_close(&t->evidence);
    }
    fl_wire_close(&b);
    fl_fault_record_close(&evb);
    return rc;
}

/* The reply for one response: the template's bytes, ops and patches shared, read-only; only
 * this response's id and time are its own (they go in as the bytes are written out). */
static void plan_share(const fl_reply_tmpl_t *t, const char *id, const char *created,
                       fl_wire_t *plan)
{
    const fl_wire_t *src = &t->plan;
    fl_wire_init(plan);
    plan->shared = true;
    plan->bytes = src->bytes;
    plan->ops = src->ops;
    plan->n_ops = plan->cap_ops = src->n_ops;
    plan->patches = t->patches;
    plan->n_patches = t->n_patches;
    plan->status = src->status;
    plan->retry_after_ms = src->retry_after_ms;
    plan->page = src->page;
    memcpy(plan->finish_reason, src->finish_reason, sizeof(plan->finish_reason));
    plan->usage_input = src->usage_input;
    plan->usage_output = src->usage_output;
    plan->skipped = src->skipped;
    plan->n_skipped = src->n_skipped;
    memcpy(plan->stamp, id, FL_ENCODE_ID_LEN);
    memcpy(plan->stamp + FL_ENCODE_ID_LEN, created, FL_ENCODE_CREATED_DIGITS);
}

int fl_reply_cache_get(fl_reply_cache_t *c, const fl_reply_key_t *key, fl_reply_compile_fn compile,
                       void *arg, const char *id, int64_t created, fl_wire_t *plan,
                       fl_fault_record_t *ev)
{
    char cs[24];
    int n = snprintf(cs, sizeof(cs), "%" PRId64, created);
    if (strlen(id) != FL_ENCODE_ID_LEN || n != FL_ENCODE_CREATED_DIGITS)
        return 1;
    fl_reply_tmpl_t *t = c->list;
    while (t && !key_eq(&t->key, key))
        t = t->next;
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t)
            return FL_ENOMEM;
        t->key = *key;
        fl_wire_init(&t->plan);
        if (tmpl_build(t, compile, arg)) {
            tmpl_free(t);
            return FL_ENOMEM;
        }
        t->next = c->list;
        c->list = t;
    }
    if (!t->cacheable)
        return 1;
    int rc = fl_fault_record_copy(&t->evidence, ev);
    if (rc == 0)
        plan_share(t, id, cs, plan);
    return rc;
}

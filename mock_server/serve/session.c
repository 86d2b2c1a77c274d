/* Sessions and runtime scenarios; see session.h. */
#include "serve/session.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void scope_close(fl_scope_t *sc)
{
    fl_scenario_set_close(&sc->scenarios);
    for (size_t i = 0; i < sc->n_counters; i++)
        free(sc->counters[i].name);
    free(sc->counters);
    memset(sc, 0, sizeof(*sc));
}

void fl_sessions_init(fl_sessions_t *s, const fl_scenario_set_t *files, uint32_t salt)
{
    memset(s, 0, sizeof(*s));
    s->files = files;
    s->salt = salt;
    fl_scenario_set_init(&s->global.scenarios);
}

void fl_sessions_close(fl_sessions_t *s)
{
    while (s->list) {
        fl_session_t *x = s->list;
        s->list = x->next;
        scope_close(&x->scope);
        free(x);
    }
    scope_close(&s->global);
    s->count = 0;
}

int fl_sessions_create(fl_sessions_t *s, uint64_t now_ms, fl_session_t **out)
{
    if (s->count >= FL_SESSIONS_MAX)
        return FL_ELIMIT;
    fl_session_t *x = calloc(1, sizeof(*x));
    if (!x)
        return FL_ENOMEM;
    snprintf(x->id, sizeof(x->id), "%08x%08llx", s->salt,
             (unsigned long long)(s->next_id++ & 0xffffffffu));
    x->created_ms = now_ms;
    fl_scenario_set_init(&x->scope.scenarios);
    x->next = s->list;
    s->list = x;
    s->count++;
    *out = x;
    return 0;
}

fl_session_t *fl_sessions_get(const fl_sessions_t *s, const char *id)
{
    for (fl_session_t *x = s->list; x; x = x->next)
        if (strcmp(x->id, id) == 0)
            return x;
    return NULL;
}

int fl_sessions_delete(fl_sessions_t *s, const char *id)
{
    for (fl_session_t **p = &s->list; *p; p = &(*p)->next) {
        if (strcmp((*p)->id, id) != 0)
            continue;
        fl_session_t *x = *p;
        *p = x->next;
        scope_close(&x->scope);
        free(x);
        s->count--;
        return 0;
    }
    return FL_ENOTFOUND;
}

fl_scope_t *fl_sessions_scope(fl_sessions_t *s, fl_session_t *sess)
{
    return sess ? &sess->scope : &s->global;
}

const char *fl_source_name(fl_source_t src)
{
    switch (src) {
    case FL_SOURCE_SESSION:
        return "session";
    case FL_SOURCE_GLOBAL:
        return "global";
    default:
        return "file";
    }
}

/* The sets a session sees, in the order names resolve, and where each comes from. */
static size_t visible_sets(const fl_sessions_t *s, const fl_session_t *sess,
                           const fl_scenario_set_t *sets[3], fl_source_t srcs[3])
{
    size_t n = 0;
    if (sess) {
        sets[n] = &sess->scope.scenarios;
        srcs[n++] = FL_SOURCE_SESSION;
    }
    sets[n] = &s->global.scenarios;
    srcs[n++] = FL_SOURCE_GLOBAL;
    sets[n] = s->files;
    srcs[n++] = FL_SOURCE_FILE;
    return n;
}

const fl_scenario_t *fl_sessions_find(const fl_sessions_t *s, const fl_session_t *sess,
                                      const char *name, fl_source_t *src)
{
    const fl_scenario_set_t *sets[3];
    fl_source_t srcs[3];
    size_t n = visible_sets(s, sess, sets, srcs);
    for (size_t i = 0; i < n; i++) {
        const fl_scenario_t *sc = sets[i] ? fl_scenario_set_find(sets[i], name) : NULL;
        if (sc) {
            if (src)
                *src = srcs[i];
            return sc;
        }
    }
    return NULL;
}

const fl_scenario_t *fl_sessions_first(const fl_sessions_t *s, const fl_session_t *sess,
                                       fl_dialect_t d, fl_source_t *src)
{
    const fl_scenario_set_t *sets[3];
    fl_source_t srcs[3];
    size_t n = visible_sets(s, sess, sets, srcs);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; sets[i] && k < sets[i]->len; k++) {
            /* a fault profile has no answer of its own: only named, it is refused (route.c) */
            if (sets[i]->items[k]->dialect == d && !sets[i]->items[k]->profile) {
                if (src)
                    *src = srcs[i];
                return sets[i]->items[k];
            }
        }
    }
    return NULL;
}

/* The scope's counter for name, or NULL. */
static fl_counter_t *counter_find(fl_scope_t *sc, const char *name)
{
    for (size_t i = 0; i < sc->n_counters; i++)
        if (strcmp(sc->counters[i].name, name) == 0)
            return &sc->counters[i];
    return NULL;
}

/* Drops the scope's counter for name, if any. */
static void counter_drop(fl_scope_t *sc, const char *name)
{
    fl_counter_t *c = counter_find(sc, name);
    if (!c)
        return;
    free(c->name);
    *c = sc->counters[--sc->n_counters];
}

int fl_sessions_add_scenario(fl_sessions_t *s, fl_session_t *sess, fl_scenario_t *sc,
                             bool *replaced)
{
    fl_scope_t *scope = fl_sessions_scope(s, sess);
    fl_scenario_set_t *set = &scope->scenarios;
    counter_drop(scope, sc->name);
    for (size_t i = 0; i < set->len; i++) {
        if (strcmp(set->items[i]->name, sc->name) == 0) {
            fl_scenario_free(set->items[i]);
            set->items[i] = sc;
            if (replaced)
                *replaced = true;
            return 0;
        }
    }
    if (replaced)
        *replaced = false;
    if (set->len >= FL_SCOPE_SCENARIOS_MAX) {
        fl_scenario_free(sc);
        return FL_ELIMIT;
    }
    return fl_scenario_set_add(set, sc);
}

int fl_sessions_remove_scenario(fl_sessions_t *s, fl_session_t *sess, const char *name)
{
    fl_scope_t *scope = fl_sessions_scope(s, sess);
    fl_scenario_set_t *set = &scope->scenarios;
    for (size_t i = 0; i < set->len; i++) {
        if (strcmp(set->items[i]->name, name) != 0)
            continue;
        fl_scenario_free(set->items[i]);
        /* keep the order added: the first scenario of a dialect is the default one */
        memmove(&set->items[i], &set->items[i + 1], (set->len - i - 1) * sizeof(*set->items));
        set->len--;
        counter_drop(scope, name);
        return 0;
    }
    return FL_ENOTFOUND;
}

int fl_sessions_next_attempt(fl_sessions_t *s, fl_session_t *sess, const char *name,
                             uint64_t *attempt)
{
    fl_scope_t *scope = fl_sessions_scope(s, sess);
    fl_counter_t *c = counter_find(scope, name);
    if (!c) {
        if (scope->n_counters == scope->cap_counters) {
            size_t cap = scope->cap_counters ? scope->cap_counters * 2 : 8;
            fl_counter_t *cs = realloc(scope->counters, cap * sizeof(*cs));
            if (!cs)
                return FL_ENOMEM;
            scope->counters = cs;
            scope->cap_counters = cap;
        }
        char *copy = strdup(name);
        if (!copy)
            return FL_ENOMEM;
        c = &scope->counters[scope->n_counters++];
        *c = (fl_counter_t){.name = copy, .n = 0};
    }
    *attempt = ++c->n;
    return 0;
}

void fl_sessions_reset(fl_sessions_t *s)
{
    for (size_t i = 0; i < s->global.n_counters; i++)
        s->global.counters[i].n = 0;
    for (fl_session_t *x = s->list; x; x = x->next)
        for (size_t i = 0; i < x->scope.n_counters; i++)
            x->scope.counters[i].n = 0;
}

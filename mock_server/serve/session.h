/*
 * Sessions and runtime scenarios: everything a test suite changes in a running server, in one
 * place (the server's fl_sessions_t), so that a server running several event loops has one
 * thing to lock around.
 *
 * A scope is what requests see besides the scenario files: runtime scenarios (added over the
 * control API, POST /_faultline/scenarios) and per-scenario attempt counters. Requests made
 * without a session use the global scope; a session (POST /_faultline/sessions, then the
 * /t/ID/ base-URL prefix or the x-faultline-session header) has a scope of its own, so tests
 * running in parallel against one server never see each other's attempts or scenarios. A
 * scenario name resolves in the session's scope first, then in the global scope, then among
 * the scenario files. The journal stays the server's (one bounded ring), and every entry
 * records its session so the journal filters by session.
 */
#ifndef FL_SESSION_H
#define FL_SESSION_H

#include "model/scenario.h"
#include "serve/journal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most sessions alive at once; creating one more fails with FL_ELIMIT (429). */
#define FL_SESSIONS_MAX 4096
/** Most runtime scenarios in one scope; adding one more fails with FL_ELIMIT (429). */
#define FL_SCOPE_SCENARIOS_MAX 1024
/** Characters of a session id: 8 hex digits of the server's salt, 8 of a counter. */
#define FL_SESSION_ID_LEN 16
_Static_assert(FL_SESSION_ID_LEN < FL_JOURNAL_SESSION_BYTES, "the journal keeps a whole id");

/** A scenario's attempt count in one scope. */
typedef struct fl_counter_s {
    char *name; /* owned: the scenario's name */
    uint64_t n; /* requests it answered in the scope since the scope began, the scenario was
                   (re)added there, or the last reset */
} fl_counter_t;

/** Runtime scenarios and attempt counters. */
typedef struct fl_scope_s {
    fl_scenario_set_t scenarios; /* owned: the runtime scenarios, in the order added */
    fl_counter_t *counters;      /* owned array */
    size_t n_counters;
    size_t cap_counters;
} fl_scope_t;

/** One session. */
typedef struct fl_session_s {
    char id[FL_SESSION_ID_LEN + 1];
    uint64_t created_ms; /* creation, on the journal's clock (ms since its t0) */
    fl_scope_t scope;
    struct fl_session_s *next; /* in fl_sessions_t.list */
} fl_session_t;

/** Every session, the global scope, and the scenario files they fall back to. Memory provided
 * by the caller: init, then close. */
typedef struct fl_sessions_s {
    const fl_scenario_set_t *files; /* borrowed: the scenario files (may be empty) */
    fl_scope_t global;              /* requests without a session */
    fl_session_t *list;             /* owned, newest first */
    size_t count;
    uint64_t next_id; /* counter part of the next session id */
    uint32_t salt;    /* the server's, so ids differ across servers */
} fl_sessions_t;

/** Prepares the sessions of a server answering from files (borrowed). Never fails. */
void fl_sessions_init(fl_sessions_t *s, const fl_scenario_set_t *files, uint32_t salt);

/** Frees every session, runtime scenario and counter. */
void fl_sessions_close(fl_sessions_t *s);

/**
 * Creates a session at now_ms (journal clock). Returns 0 and sets *out (owned by s), or
 * FL_ENOMEM, or FL_ELIMIT when FL_SESSIONS_MAX are alive.
 */
int fl_sessions_create(fl_sessions_t *s, uint64_t now_ms, fl_session_t **out);

/** The session called id (borrowed), or NULL. */
fl_session_t *fl_sessions_get(const fl_sessions_t *s, const char *id);

/** Ends the session called id and frees its scenarios and counters. Returns 0 or
 * FL_ENOTFOUND. */
int fl_sessions_delete(fl_sessions_t *s, const char *id);

/** The scope of sess, or the global scope when sess is NULL. */
fl_scope_t *fl_sessions_scope(fl_sessions_t *s, fl_session_t *sess);

/** Where a scenario was found. */
typedef enum {
    FL_SOURCE_SESSION, /* a runtime scenario of the session */
    FL_SOURCE_GLOBAL,  /* a runtime scenario added without a session */
    FL_SOURCE_FILE,    /* a scenario file given to the server */
} fl_source_t;

/** "session", "global" or "file". */
const char *fl_source_name(fl_source_t src);

/**
 * Finds the scenario called name as sess (NULL: no session) sees it: its own runtime
 * scenarios, then the global ones, then the files. Returns it (borrowed: valid until it is
 * removed or replaced) and sets *src (may be NULL), or NULL.
 */
const fl_scenario_t *fl_sessions_find(const fl_sessions_t *s, const fl_session_t *sess,
                                      const char *name, fl_source_t *src);

/** The first scenario of dialect d as sess sees them (same order as fl_sessions_find), or
 * NULL. Sets *src (may be NULL). */
const fl_scenario_t *fl_sessions_first(const fl_sessions_t *s, const fl_session_t *sess,
                                       fl_dialect_t d, fl_source_t *src);

/**
 * Adds sc (taken: owned by the scope from now on, freed on failure too) to sess's scope (NULL:
 * the global one). A runtime scenario of the same name there is replaced; either way the
 * scope's attempt counter for that name starts again from 0. *replaced (may be NULL) says
 * whether one was. Returns 0, FL_ENOMEM, or FL_ELIMIT at FL_SCOPE_SCENARIOS_MAX.
 */
int fl_sessions_add_scenario(fl_sessions_t *s, fl_session_t *sess, fl_scenario_t *sc,
                             bool *replaced);

/** Removes the runtime scenario called name from sess's scope (NULL: the global one) and its
 * counter. Returns 0 or FL_ENOTFOUND. */
int fl_sessions_remove_scenario(fl_sessions_t *s, fl_session_t *sess, const char *name);

/**
 * Counts one more request for the scenario called name in sess's scope (NULL: global) and sets
 * *attempt to its 1-based number. Returns 0 or FL_ENOMEM.
 */
int fl_sessions_next_attempt(fl_sessions_t *s, fl_session_t *sess, const char *name,
                             uint64_t *attempt);

/** Sets every attempt counter of every scope to 0 (POST /_faultline/reset). */
void fl_sessions_reset(fl_sessions_t *s);

#endif

/*
 * Internal to the scenario loader: the YAML walking helpers scenario_load.c and fault_load.c
 * share (node access, typed scalar readers, key checking with suggestions, diagnostics).
 * Not part of the library's public API.
 *
 * Every reader reports its own problem (file:line:col, dotted field path, message) into the
 * context's diagnostic list and returns -1; the walk then goes on so that every problem in a
 * file is reported at once. Allocation failures set ctx->oom instead.
 */
#ifndef FL_LOAD_IMPL_H
#define FL_LOAD_IMPL_H

#include "load/load.h"
#include "model/scenario.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define MAX_TIME_MS  86400000u /* 24 h: any pause longer than that is a typo */
#define MAX_ATTEMPTS 100u      /* entries of `attempts:`; also expect.max_attempts */

/** One load in progress. All pointers borrowed for the duration of the load. */
typedef struct fl_load_ctx_s {
    const char *file;      /* name used in diagnostics */
    yaml_document_t *doc;  /* the parsed document */
    fl_diag_list_t *diags; /* where problems go */
    int nerr;              /* problems reported so far */
    int oom;               /* set when an allocation failed */
} fl_load_ctx_t;

/** Adds one diagnostic at mark m (NULL: no position) for field (dotted path). */
void fl_load__report(fl_load_ctx_t *c, const yaml_mark_t *m, const char *field, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
/** The node with document index idx (borrowed), or NULL. */
yaml_node_t *fl_load__node_at(fl_load_ctx_t *c, int idx);
/** out = parent.key (or key when parent is empty), truncated to n bytes. */
void fl_load__join_key(char *out, size_t n, const char *parent, const char *key);
/** out = parent[i], truncated to n bytes. */
void fl_load__join_index(char *out, size_t n, const char *parent, size_t i);
/** "a mapping", "a list" or "a scalar", for messages. */
const char *fl_load__kind_name(const yaml_node_t *n);
/** A scalar's NUL-terminated value (borrowed). */
const char *fl_load__sval(const yaml_node_t *n);
/** True for a plain (unquoted) scalar. */
bool fl_load__is_plain(const yaml_node_t *n);
/** True for a YAML 1.2 core-schema null: empty plain scalar, ~ or null. */
bool fl_load__is_null(const yaml_node_t *n);
/** Reads a string scalar into *out (owned by the caller). Returns 0 or -1 after reporting. */
int fl_load__get_str(fl_load_ctx_t *c, yaml_node_t *n, const char *field, bool allow_empty,
                     char **out);
/** Reads a plain non-negative decimal integer <= max. Returns 0 or -1 after reporting. */
int fl_load__get_uint(fl_load_ctx_t *c, yaml_node_t *n, const char *field, uint64_t max,
                      uint64_t *out);
/** Reads true/false. Returns 0 or -1 after reporting. */
int fl_load__get_bool(fl_load_ctx_t *c, yaml_node_t *n, const char *field, bool *out);
/** Matches a scalar against NULL-terminated names; returns the index, or -1 after reporting. */
int fl_load__get_enum(fl_load_ctx_t *c, yaml_node_t *n, const char *field, const char *what,
                      const char *const *names);
/**
 * Checks that n is a mapping whose keys are all in keys (NULL-terminated; vals and keynodes hold
 * one slot per key), with no duplicates, and fills vals[i] / keynodes[i] with the node for keys[i]
 * (or NULL). Unknown keys are reported with a suggestion. Returns 0 when n is a mapping, -1
 * (reported) when not.
 */
int fl_load__get_map(fl_load_ctx_t *c, yaml_node_t *n, const char *field, const char *const *keys,
                     yaml_node_t **vals, yaml_node_t **keynodes);
/** Reports "missing required key" for parent.key at the mapping map. */
void fl_load__report_missing(fl_load_ctx_t *c, yaml_node_t *map, const char *parent,
                             const char *key);
/**
 * Reads a `response:` mapping at n into r (zeroed by the caller); its diagnostics name the fields
 * response and response.KEY (scenario_load.c).
 */
void fl_load__response(fl_load_ctx_t *c, yaml_node_t *n, fl_response_t *r);
/**
 * Reads an SSE data value: a string (empty allowed) as it is, or a mapping encoded to compact
 * JSON, into *out (owned by the caller). Returns 0 or -1 after reporting.
 */
int fl_load__data(fl_load_ctx_t *c, yaml_node_t *n, const char *field, char **out);
/** Parses the `attempts:` list into sc->attempts (fault_load.c). */
void fl_load__attempts(fl_load_ctx_t *c, yaml_node_t *n, fl_scenario_t *sc);
/**
 * Checks every fault's position and kind against the scenario's clean stream (fault_load.c);
 * run once the whole scenario loaded without errors.
 */
void fl_load__check_faults(fl_load_ctx_t *c, const fl_scenario_t *sc);

/** The YAML nodes of a replay's keys in `response:` (NULL when absent); writes or capture set. */
typedef struct fl_load_replay_keys_s {
    yaml_node_t *writes, *capture, *ending, *end_ms, *speed;
} fl_load_replay_keys_t;

/**
 * Reads a replay (`response.writes` or `response.capture`, with `ending`, `end_ms`, `speed`)
 * into r->replay (replay_load.c). A capture file's own problems go to the diagnostics with its
 * file:line:col.
 */
void fl_load__replay(fl_load_ctx_t *c, const fl_load_replay_keys_t *k, fl_response_t *r);

#endif

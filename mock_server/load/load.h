/*
 * The scenario loader: YAML files (and YAML text) in, validated scenarios out.
 *
 * This is the only way a scenario comes into being. Files are read whole under a size bound,
 * parsed with libyaml, checked against the v1 schema (scenarios/faultline.schema.json) and then
 * against the stream the scenario encodes to, so every fault position a file names is one the
 * server can honour. Every problem is reported as a diagnostic naming file:line:col and the
 * field; loading never half-succeeds.
 */
#ifndef FL_LOAD_H
#define FL_LOAD_H

#include "base/error.h"
#include "model/scenario.h"

#include <stddef.h>

/** Bounds the loader enforces, so hostile files are refused rather than expanded. */
#define FL_SCENARIO_MAX_FILE_BYTES  (16u * 1024 * 1024)
#define FL_SCENARIO_MAX_ALIAS_NODES 10000 /* nodes reachable through aliases, in all */
#define FL_SCENARIO_MAX_DEPTH       64

/**
 * Loads and validates one scenario from a YAML file.
 * On success returns 0 and sets *out (caller frees with fl_scenario_free).
 * On failure returns FL_EIO, FL_ESYNTAX, FL_ESCHEMA or FL_ELIMIT, sets *out to NULL and adds
 * one or more diagnostics naming file:line:col and the field to diags.
 */
int fl_scenario_load_file(const char *path, fl_scenario_t **out, fl_diag_list_t *diags);

/**
 * The same from memory: name is used as the file name in diagnostics.
 * yaml need not be NUL-terminated; len is in bytes.
 */
int fl_scenario_load_string(const char *name, const char *yaml, size_t len, fl_scenario_t **out,
                            fl_diag_list_t *diags);

/**
 * Loads a file, or every *.yaml / *.yml under a directory (recursively, sorted by path), into
 * the set. Keeps going after a bad file so that every problem is reported; a duplicate name is
 * an error naming both files. Returns 0 when everything loaded, else the first error code.
 */
int fl_scenario_set_load(fl_scenario_set_t *set, const char *path, fl_diag_list_t *diags);

/**
 * Finds the name closest to word among names (NULL-terminated): edit distance <= 2, or a
 * prefix of at least 3 characters. Returns it (borrowed) or NULL. The loader's "did you mean"
 * for keys and faults; the command line's for options.
 */
const char *fl_load_suggest(const char *word, const char *const *names);

#endif

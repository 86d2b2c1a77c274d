/*
 * Internals of the importers (not a public API): import.c (recognition, captures, bare SSE,
 * curl -i), import_har.c, import_trace.c (curl --trace), import_scenario.c (capture -> YAML).
 */
#ifndef FL_IMPORT_IMPL_H
#define FL_IMPORT_IMPL_H

#include "import/import.h"

/**
 * Appends an item to l, taking cap (freed on failure). label and note are copied (note may be
 * NULL); the stem is made from the file name of `name` (and entry when > 0). Returns 0 or
 * FL_ENOMEM.
 */
int fl_import__add(fl_import_list_t *l, fl_capture_t *cap, const char *name, size_t entry,
                   const char *note);
/** A new capture with source set (copied) and the given request method and path. NULL on OOM. */
fl_capture_t *fl_import__capture(const char *source, const char *method, const char *path);
/** Adds a request or response header to the capture; secret values (fl_capture_secret_header)
 * become REDACTED and are listed in redacted. Returns 0 or FL_ENOMEM. */
int fl_import__header(fl_capture_t *c, bool response, const char *name, size_t nlen,
                      const char *value, size_t vlen);
/**
 * Adds a body with synthesized timing: one write per SSE event, the first at start_ms, the rest
 * spread evenly up to start_ms + span_ms. Returns 0, FL_ENOMEM or FL_ELIMIT.
 */
int fl_import__spread(fl_capture_t *c, const char *body, size_t len, uint64_t start_ms,
                      uint64_t span_ms);
/** Whether the body's last SSE event is cut (no blank line after it). */
bool fl_import__cut_event(const char *body, size_t len);
/** Whether text looks like an SSE body: its first non-blank line is a field or a comment. */
bool fl_import__looks_sse(const char *text, size_t len);

/** import_har.c: a HAR file's event-stream entries. Returns 0 or an error (reported). */
int fl_import__har(const char *name, const char *text, size_t len, fl_import_list_t *l,
                   fl_diag_list_t *diags);
/** import_trace.c: curl --trace-time --trace-ascii / --trace output. */
int fl_import__trace(const char *name, const char *text, size_t len, fl_import_list_t *l,
                     fl_diag_list_t *diags);
/** import_trace.c: whether text is curl trace output (its first line is a trace line). */
bool fl_import__is_trace(const char *text, size_t len);

#endif

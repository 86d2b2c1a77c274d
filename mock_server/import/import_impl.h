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
/** A new capture with source "scheme:name", the request's method and path (copied) and loss
 * flags. NULL when out of memory. */
fl_capture_t *fl_import__capture(const char *scheme, const char *name, const char *method,
                                 const char *path, unsigned loss);
/** Adds a request or response header to the capture; secret values (fl_capture_secret_header)
 * become REDACTED and are listed in redacted. Returns 0 or FL_ENOMEM. */
int fl_import__header(fl_capture_t *c, bool response, const char *name, size_t nlen,
                      const char *value, size_t vlen);
/** Sets the status and reason from a status line ("HTTP/1.1 200 OK", len bytes, no CRLF),
 * dropping any earlier head's headers (a 1xx before the answer). Returns 0 or FL_ENOMEM. */
int fl_import__status_line(fl_capture_t *c, const char *line, size_t len);
/** Adds every "Name: value" line of p[0, n) (CR, LF or CRLF between them) as a header (secret
 * values redacted); sets *chunked (when not NULL) on Transfer-Encoding: chunked. Returns 0 or
 * FL_ENOMEM. */
int fl_import__header_lines(fl_capture_t *c, bool response, const char *p, size_t n, bool *chunked);
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

/*
 * Private to the downstream layer: one handler per format, called by the framing in
 * downstream.c with one whole frame at a time.
 */
#ifndef FL_DOWNSTREAM_INT_H
#define FL_DOWNSTREAM_INT_H

#include "downstream/downstream.h"

#include <jansson.h>

/** An SSE event of a provider or ai-sdk-ui: its name ("" for none) and data (NUL-terminated). */
typedef void (*fl_downstream__sse_fn)(fl_downstream_t *d, const char *event, const char *data,
                                      size_t len);

/** The handlers of the SSE formats (downstream_sse.c). */
void fl_downstream__openai_chat(fl_downstream_t *d, const char *event, const char *data,
                                size_t len);
void fl_downstream__openai_responses(fl_downstream_t *d, const char *event, const char *data,
                                     size_t len);
void fl_downstream__anthropic(fl_downstream_t *d, const char *event, const char *data, size_t len);
void fl_downstream__ai_sdk_ui(fl_downstream_t *d, const char *event, const char *data, size_t len);

/** One ndjson line (downstream_lines.c), without its line end. */
void fl_downstream__ndjson(fl_downstream_t *d, const char *line, size_t len);

/** Appends decoded text, unless the stream already ended or failed (then after_end is set). */
void fl_downstream__text(fl_downstream_t *d, const char *s, size_t n);

/** Marks the explicit error, keeping the first message (one line, cut to fit). */
void fl_downstream__fail(fl_downstream_t *d, const char *msg);

/** Marks the complete end (unless an error came first). */
void fl_downstream__end(fl_downstream_t *d);

/** Parses a frame's JSON; NULL (and malformed set) when it is not a JSON object. */
json_t *fl_downstream__json(fl_downstream_t *d, const char *s, size_t n);

#endif

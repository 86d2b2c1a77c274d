/*
 * Test helpers for the dialect encoders: hand-built scenarios (the YAML loader is another
 * module) and a small reader that splits a script's events back into SSE fields.
 */
#ifndef FL_TEST_DIALECT_FIXTURE_H
#define FL_TEST_DIALECT_FIXTURE_H

#include "encode/dialect.h"
#include "encode/script.h"

#include <jansson.h>

/** A text scenario: word chunking, ttft 100 ms, interval 50 ms, no jitter, seed 1, finish
 * stop, usage -1/-1, model "test-model", prompt "Say hello to the world". Aborts on OOM. */
fl_scenario_t *fx_scenario_text(fl_dialect_t d, const char *text);
/** The same with exact chunks instead of text. */
fl_scenario_t *fx_scenario_chunks(fl_dialect_t d, const char *const *chunks, size_t n);
/** A tool call scenario (finish tool_calls), arguments chunked by bytes:8. */
fl_scenario_t *fx_scenario_tool(fl_dialect_t d, const char *name, const char *arguments,
                                const char *id);
/** Frees what the fx_scenario_* helpers allocate (raw events included). */
void fx_scenario_free(fl_scenario_t *sc);
/** id "abc123", created 1700000000, include_usage false, sequence_number 0. */
fl_encode_ctx_t fx_ctx(void);

/** Asserts the script has n events with these kinds and at_ms times. */
void fx_check_script(const fl_script_t *s, const fl_event_kind_t *kinds, const uint64_t *at,
                     size_t n);
/** Asserts that with these tool-call arguments the non-streaming body is refused with FL_EJSON
 * and leaves what the buffer held. sc's arguments are replaced. */
void fx_assert_body_refuses_arguments(fl_scenario_t *sc, const char *arguments);

/** The bytes of event i as a NUL-terminated copy (caller frees). */
char *fx_event_bytes(const fl_script_t *s, size_t i);
/**
 * Parses event i's SSE fields: *name gets a malloc'd copy of the `event:` value or NULL, and
 * the return is the `data:` lines joined by LF (malloc'd) or NULL when there is no data line.
 * Lines end in LF or CRLF (Gemini's).
 */
char *fx_event_parse(const fl_script_t *s, size_t i, char **name);
/** The data of event i parsed as JSON (NULL when it is not JSON); *name as above (may be
 * NULL to ignore). */
json_t *fx_event_json(const fl_script_t *s, size_t i, char **name);

#endif

/*
 * A small SSE parser for tests (WHATWG HTML "event stream interpretation"): splits a whole
 * body into events with their `event` name and joined `data`. Comments and `id`/`retry` are
 * skipped. Lines end in LF, CRLF or CR.
 */
#ifndef FL_TEST_SSE_PARSE_H
#define FL_TEST_SSE_PARSE_H

#include <stddef.h>

typedef struct test_sse_event_s {
    char *event; /* owned; "" when the event had no `event` field */
    char *data;  /* owned; data lines joined with LF */
} test_sse_event_t;

typedef struct test_sse_s {
    test_sse_event_t *events; /* owned */
    size_t n;
} test_sse_t;

/** Parses len bytes of body. Aborts the test on out of memory. */
void test_sse_parse(const char *body, size_t len, test_sse_t *out);
/** Frees what test_sse_parse allocated. */
void test_sse_free(test_sse_t *s);

#endif

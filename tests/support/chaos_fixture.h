/*
 * Test helpers for the chaos compiler: a small hand-made chat script, compile wrappers, and
 * renderings of a wire plan (its WRITE bytes joined, its ops as a compact string) so tests can
 * assert whole plans at once.
 */
#ifndef FL_TEST_CHAOS_FIXTURE_H
#define FL_TEST_CHAOS_FIXTURE_H

#include "chaos/chaos.h"
#include "chaos/wire.h"

#include <stddef.h>

/* The five events of cx_script(), in order. */
#define CX_E0 "data: {\"a\":\"x\"}\n\n"      /* META at 0 */
#define CX_E1 "data: {\"c\":\"Hello\"}\n\n"  /* CONTENT at 100 */
#define CX_E2 "data: {\"c\":\" world\"}\n\n" /* CONTENT at 150 */
#define CX_E3 "data: {\"f\":\"stop\"}\n\n"   /* FINISH at 150 */
#define CX_E4 "data: [DONE]\n\n"             /* SENTINEL at 150 */
#define CX_HEAD                                                                                    \
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

/** Fills s (initialised, empty) with the five CX_E* events. Aborts on failure. */
void cx_script(fl_script_t *s);
/** An input for script s: openai-chat, the given framing, CX_HEAD, request id "req_1". */
fl_chaos_input_t cx_input(const fl_script_t *s, fl_body_framing_t framing);
/** A fault of kind k at its default position with every optional field "none" (-1 retry). */
fl_fault_t cx_fault(fl_fault_kind_t k);
/** Compiles into w (initialised here); asserts success. */
void cx_compile(const fl_chaos_input_t *in, const fl_fault_t *f, size_t n, fl_wire_t *w);
/** All WRITE bytes joined, NUL-terminated, malloc'd; *len gets the length when non-NULL. */
char *cx_bytes(const fl_wire_t *w, size_t *len);
/**
 * The ops as "K@ms" words joined by spaces: K is W (write), F (fire), D (done), N (FIN),
 * R (RST), H (hang), P (ping); "!" after the time marks own_write; "#i" the fault index.
 * malloc'd.
 */
char *cx_ops(const fl_wire_t *w);
/** "<hex len>\r\n<s>\r\n", malloc'd. */
char *cx_chunk(const char *s);
/** The FIRE op of fault i, or NULL. */
const fl_wire_op_t *cx_fire(const fl_wire_t *w, uint32_t fault);

#endif

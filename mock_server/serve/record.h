/*
 * Recording (`faultline serve --record DIR`): every exchange the server answers is written as
 * a capture file (docs/capture.md), the broken and non-2xx ones included, so that what a client
 * saw can be imported, replayed and compared.
 *
 * The connection feeds the recorder what it sends, as it sends it: the wire bytes (status line,
 * headers, chunk framing) with their times; the recorder splits the head off, decodes chunked
 * framing (base/chunked.h) so each write holds body bytes, and at the response's end turns the
 * exchange into capture lines. Writing a file is blocking I/O, so it never happens on the loop
 * thread: the lines go to libuv's thread pool as a chain of uv_fs_* requests (open a temporary
 * file, write, close, rename over the final name). Bytes are bounded: a capture keeps at most
 * max_capture_bytes of body (the rest is dropped and flagged `truncated`), and at most
 * max_pending_bytes of finished captures wait for the disk at once (past that a capture is
 * dropped and counted in `dropped`).
 */
#ifndef FL_RECORD_H
#define FL_RECORD_H

#include "serve/http.h"
#include "serve/journal.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Defaults for the bounds (bytes). */
#define FL_RECORD_DEFAULT_CAPTURE_BYTES (16u * 1024 * 1024)
#define FL_RECORD_DEFAULT_PENDING_BYTES (64u * 1024 * 1024)

typedef struct fl_record_s fl_record_t;
typedef struct fl_record_exchange_s fl_record_exchange_t;

/**
 * Creates a recorder writing into dir (which must exist; borrowed copy made). 0 for a bound
 * takes its default. Returns 0 or FL_ENOMEM.
 */
int fl_record_new(uv_loop_t *loop, const char *dir, size_t max_capture_bytes,
                  size_t max_pending_bytes, fl_record_t **out);
/**
 * Frees the recorder. Call it after uv_run has returned (every file written): captures still
 * on their way to the disk would otherwise be lost. NULL is a no-op.
 */
void fl_record_free(fl_record_t *r);

/** Captures written, and captures dropped (the pending bound, or an I/O error), so far. */
uint64_t fl_record_written(const fl_record_t *r);
uint64_t fl_record_dropped(const fl_record_t *r);

/**
 * Starts an exchange for request req (copied: method, path and query, headers with secret
 * values redacted, body with keys redacted) at now_ms (the loop's ms). Returns NULL when out of
 * memory (the exchange is then not recorded).
 */
fl_record_exchange_t *fl_record_begin(fl_record_t *r, const fl_http_request_t *req,
                                      uint64_t now_ms);

/** Adds len wire bytes sent at now_ms (one send). Out of memory drops the exchange's rest. */
void fl_record_wire(fl_record_exchange_t *x, const void *bytes, size_t len, uint64_t now_ms);

/**
 * Ends the exchange as the journal saw it end (scenario may be NULL), builds its capture and
 * queues the file write; x is freed. The file is DIR/NNNNNN-SCENARIO.capture.jsonl, NNNNNN the
 * recorder's count of exchanges.
 */
void fl_record_end(fl_record_exchange_t *x, fl_end_t end, const char *scenario, uint64_t now_ms);

#endif

/*
 * Importers: the evidence people hold of a field bug in, captures (model/capture.h) and then
 * validated v1 scenarios out. `faultline import` (harness/cli/cmd_import.c) is their command.
 *
 * Sources, recognised from their content (not their name):
 *  - a capture (docs/capture.md): its first line is {"type":"capture",...};
 *  - a HAR 1.2 file (w3c-webperf "HTTP Archive (HAR) format", as Chrome's and Firefox's network
 *    panels export it): every entry whose response is text/event-stream, with content.text
 *    (plain or `encoding: base64`), Chrome's `_error` for failed requests, status 0 for a
 *    request that got no response; a HAR keeps the body as one string and no per-chunk time,
 *    so the writes are the body's SSE events spread over `timings.receive` and the capture is
 *    flagged timing_synthesized and boundaries_lost;
 *  - `curl -N -i` output (the status line, headers, blank line, body; a `curl: (N) ...` error
 *    line when stderr went to the same file says how it ended): timing synthesized;
 *  - `curl --trace-time --trace-ascii FILE` and `--trace-time --trace FILE` output: every
 *    `<= Recv data` block is one write at its time (the time of `=> Send header` is 0), chunk
 *    framing decoded, the ending from the terminator or curl's `== Info:` lines. --trace-ascii
 *    shows CRLF as a line break and every other byte outside 0x20-0x7f as '.': a '.' run before
 *    an SSE field or at a block's end is read as LF, other '.' stay '.' (said in the loss note);
 *    --trace (hex) is exact;
 *  - a bare SSE body (lines of `data:`, `event:`, `id:`, `retry:` or `:`): timing synthesized.
 * Secrets never leave the importer: secret headers are dropped (model/capture.h
 * fl_capture_secret_header) and keys and bearer tokens in bodies are redacted and listed.
 */
#ifndef FL_IMPORT_H
#define FL_IMPORT_H

#include "base/buf.h"
#include "base/error.h"
#include "model/capture.h"

#include <stdbool.h>
#include <stddef.h>

/** The kind of source a file was recognised as. */
typedef enum {
    FL_IMPORT_CAPTURE,
    FL_IMPORT_HAR,
    FL_IMPORT_CURL_INCLUDE, /* curl -N -i */
    FL_IMPORT_CURL_TRACE,   /* curl --trace-time --trace-ascii / --trace */
    FL_IMPORT_SSE,          /* a bare SSE body */
} fl_import_kind_t;

/** Returns "capture", "har", "curl -i", "curl trace" or "sse". */
const char *fl_import_kind_name(fl_import_kind_t k);

/** One exchange found in a source. */
typedef struct fl_import_item_s {
    fl_capture_t *capture; /* owned */
    char *label;           /* owned: "FILE", or "FILE entry N" for a HAR (1-based) */
    char *stem;            /* owned: a scenario name stem from the source ([a-z0-9-]) */
    char *loss_note;       /* owned or NULL: what else was lost, in words */
} fl_import_item_t;

/** Everything one source gave. */
typedef struct fl_import_list_s {
    fl_import_kind_t kind;
    fl_import_item_t *items; /* owned */
    size_t len, cap;
    size_t skipped; /* HAR entries that are not event streams */
} fl_import_list_t;

/** Prepares an empty list. */
void fl_import_list_init(fl_import_list_t *l);
/** Frees every item. */
void fl_import_list_close(fl_import_list_t *l);

/**
 * Reads one source (path; read whole, at most FL_CAPTURE_MAX_BYTES) into l, recognising its
 * kind. Errors name the file and, for a HAR, the entry ("x.har: entry 3: response.content.text
 * is not base64"): FL_EIO (unreadable), FL_EJSON (truncated or broken JSON), FL_ESCHEMA (not a
 * HAR, no event stream in it, a binary file, nothing recognisable), FL_ENOMEM. Entries that
 * failed are reported and skipped; the call fails only when nothing could be imported.
 */
int fl_import_read(const char *path, fl_import_list_t *l, fl_diag_list_t *diags);

/** The same from memory; name is used in diagnostics and labels. */
int fl_import_parse(const char *name, const char *text, size_t len, fl_import_list_t *l,
                    fl_diag_list_t *diags);

/**
 * What follows the text that arrived in the expect.answer of a cut stream: no client prints it,
 * so a client that exits 0 with what arrived is judged silent truncation.
 */
#define FL_IMPORT_CUT_MARK " [cut here: the rest never arrived]"

/** What fl_import_scenario found out, for the command's report. */
typedef struct fl_import_notes_s {
    char dialect[32];        /* the dialect chosen */
    bool answer;             /* expect.answer was derived */
    char why_no_answer[160]; /* when not: why */
    size_t writes;           /* writes replayed */
    size_t redacted;         /* secrets redacted from the response body */
    char ending[96];         /* how it ends, e.g. "reset at byte 310 (82 ms)" */
} fl_import_notes_t;

/**
 * Writes a v1 scenario (YAML) named name that replays item's exchange: the dialect from the
 * request path, else from the events; `response.writes` byte for byte with their times; the
 * ending as a fault or ending (RST: `reset` at the byte it came; FIN before the terminator:
 * `ending: fin`; a stall: `ending: timeout`; no response: the no_response fault; a non-2xx
 * answer: an http_error fault with its status and Retry-After); `expect.answer` from the
 * content events when the stream completed and the dialect's text deltas allow (for a cut
 * stream, `expect.outcome: error` and as answer the text that arrived followed by
 * FL_IMPORT_CUT_MARK); a description
 * saying where it came from and what was lost. No header value and no request body is copied;
 * secrets in the response body are redacted (counted in notes). Returns 0 or FL_ENOMEM.
 */
int fl_import_scenario(const fl_import_item_t *item, const char *name, fl_buf_t *yaml,
                       fl_import_notes_t *notes);

#endif

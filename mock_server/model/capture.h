/*
 * Captures: one HTTP exchange as it really went over the wire, kept honestly, including the
 * broken ones (a cut stream, an RST, a non-2xx answer), so a field bug can be replayed byte for
 * byte with its timing.
 *
 * The file format (docs/capture.md, version 1) is JSON Lines, one object per line, so a capture
 * diffs line by line and can be written while the exchange is still going:
 *
 *   {"type":"capture","version":1,"source":"serve","created":"2026-11-29T19:30:00Z",
 *    "loss":["timing_synthesized"],"redacted":["request.headers.authorization"]}
 *   {"type":"request","t_ms":0,"method":"POST","path":"/v1/chat/completions",
 *    "headers":[["content-type","application/json"]],"body":"{...}"}
 *   {"type":"response","t_ms":4,"status":200,"reason":"OK","headers":[["content-type",...]]}
 *   {"type":"write","t_ms":5,"data":"data: {...}\n\n"}
 *   {"type":"write","t_ms":9,"b64":"3q2+7w==","origin":"fault"}
 *   {"type":"end","t_ms":120,"how":"rst","detail":"connection reset by peer"}
 *
 * Times are ms after the request's first byte. A write's bytes are body bytes after transfer
 * decoding (one chunk of a chunked body, one read of a body ended by FIN), as UTF-8 text in
 * "data" or, when not valid UTF-8, base64 in "b64". "origin" tells bytes the upstream (or the
 * script) sent from bytes a fault injected ("fault") or upstream bytes that were withheld from
 * the client ("withheld"); it is omitted for the first. Parsed SSE events are never stored:
 * they are derived from the bytes. Every string here is owned by the capture.
 */
#ifndef FL_CAPTURE_H
#define FL_CAPTURE_H

#include "base/buf.h"
#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The capture format version this code reads and writes. */
#define FL_CAPTURE_VERSION 1
/** Bound on a capture file (bytes) and on its number of writes, so hostile input is refused. */
#define FL_CAPTURE_MAX_BYTES   (64u * 1024 * 1024)
#define FL_CAPTURE_MAX_WRITES  1000000u
#define FL_CAPTURE_MAX_HEADERS 256u

/* X(name, spelling): how an exchange ended, as the receiving side saw it. */
#define FL_CAPTURE_END_MAP(X)                                                                      \
    X(COMPLETE, "complete") /* a proper end: the chunked terminator, the full content-length, or   \
                               FIN on a body framed by connection close */                         \
    X(FIN, "fin")           /* the connection closed before the body's proper end */               \
    X(RST, "rst")           /* the connection was reset (ECONNRESET) */                            \
    X(TIMEOUT, "timeout")   /* still open when the recorder gave up waiting */                     \
    X(CLIENT_CLOSED, "client_closed") /* the client left before the end (proxy, serve) */          \
    X(NO_RESPONSE, "no_response")     /* the request got no response head at all */

/** How an exchange ended. */
typedef enum {
#define X(name, s) FL_CAPTURE_END_##name,
    FL_CAPTURE_END_MAP(X)
#undef X
        FL_CAPTURE_END_COUNT
} fl_capture_end_t;

/** Returns the spelling of an ending ("rst"), or "?" out of range. */
const char *fl_capture_end_name(fl_capture_end_t e);
/** Parses an ending's spelling. Returns 0 and sets *out, or FL_EINVAL. */
int fl_capture_end_parse(const char *s, fl_capture_end_t *out);

/* X(name, spelling, bit): what the source could not give, OR-ed in fl_capture_t.loss. */
#define FL_CAPTURE_LOSS_MAP(X)                                                                     \
    X(TIMING_SYNTHESIZED, "timing_synthesized", 1u << 0) /* times are made up (HAR, bare SSE) */   \
    X(BOUNDARIES_LOST, "boundaries_lost", 1u << 1)       /* writes merged into one body */         \
    X(TRUNCATED, "truncated", 1u << 2)                   /* bytes past a size bound are missing */

/** Loss flag bits. */
enum {
#define X(name, s, bit) FL_CAPTURE_LOSS_##name = bit,
    FL_CAPTURE_LOSS_MAP(X)
#undef X
};

/** Where a write's bytes came from. */
typedef enum {
    FL_CAPTURE_ORIGIN_UPSTREAM, /* sent by the upstream or the script (the default) */
    FL_CAPTURE_ORIGIN_FAULT,    /* injected by a fault; the upstream never sent them */
    FL_CAPTURE_ORIGIN_WITHHELD, /* sent by the upstream, kept from the client by a fault */
} fl_capture_origin_t;

/** One header line, in the order it was sent. */
typedef struct fl_capture_header_s {
    char *name;  /* owned, as sent (case kept) */
    char *value; /* owned */
} fl_capture_header_t;

/** One write: the bytes one send (or one read) carried. */
typedef struct fl_capture_write_s {
    uint64_t t_ms; /* ms after the request began */
    char *bytes;   /* owned; may hold NUL and any byte */
    size_t len;    /* bytes */
    fl_capture_origin_t origin;
} fl_capture_write_t;

/** One exchange. Allocated by fl_capture_new or the parser, freed with fl_capture_free. */
typedef struct fl_capture_s {
    int version;     /* FL_CAPTURE_VERSION */
    char *source;    /* owned: where it came from ("serve", "proxy", "har:FILE#3", ...) */
    char *created;   /* owned or NULL: ISO 8601 UTC time of the recording */
    unsigned loss;   /* FL_CAPTURE_LOSS_* bits */
    char **redacted; /* owned: what was redacted ("request.headers.authorization",
                        "request.body"), each owned */
    size_t n_redacted;
    /* The request. */
    char *method;                     /* owned */
    char *path;                       /* owned: path and query */
    fl_capture_header_t *req_headers; /* owned */
    size_t n_req_headers;
    char *req_body; /* owned or NULL */
    size_t req_body_len;
    /* The response head; has_response false when none came (see end). */
    bool has_response;
    uint64_t head_ms;
    int status;
    char *reason;                      /* owned or NULL */
    fl_capture_header_t *resp_headers; /* owned */
    size_t n_resp_headers;
    /* The body, write by write, and how it ended. */
    fl_capture_write_t *writes; /* owned, in time order */
    size_t n_writes;
    size_t cap_writes;
    bool has_end; /* false: the file stops before its end line (a recorder died) */
    fl_capture_end_t end;
    uint64_t end_ms;
    char *end_detail; /* owned or NULL: e.g. the error text */
} fl_capture_t;

/** Allocates an empty capture (version set, no request). Returns NULL when out of memory. */
fl_capture_t *fl_capture_new(void);
/** Frees a capture and everything it owns. NULL is a no-op. */
void fl_capture_free(fl_capture_t *c);

/** Appends a copy of len bytes as one write at t_ms. Returns 0, FL_ENOMEM or FL_ELIMIT. */
int fl_capture_add_write(fl_capture_t *c, uint64_t t_ms, const void *bytes, size_t len,
                         fl_capture_origin_t origin);
/** Appends a copy of a header to *headers. Returns 0, FL_ENOMEM or FL_ELIMIT. */
int fl_capture_add_header(fl_capture_header_t **headers, size_t *n, const char *name,
                          const char *value);
/** Records that something was redacted (a copy of what). Returns 0 or FL_ENOMEM. */
int fl_capture_add_redacted(fl_capture_t *c, const char *what);

/**
 * Parses a capture from memory; name is used in diagnostics (file:line:col). Unknown fields
 * are ignored so later versions can add some; a version above FL_CAPTURE_VERSION, a line that
 * is not a JSON object, a missing request line, a write before the response line or after the
 * end line are errors. On success returns 0 and sets *out (caller frees); else returns FL_EJSON,
 * FL_ESCHEMA, FL_ELIMIT or FL_ENOMEM, sets *out to NULL and adds diagnostics.
 */
int fl_capture_parse(const char *name, const char *text, size_t len, fl_capture_t **out,
                     fl_diag_list_t *diags);
/** The same from a file, read whole under FL_CAPTURE_MAX_BYTES. Adds FL_EIO on read errors. */
int fl_capture_load_file(const char *path, fl_capture_t **out, fl_diag_list_t *diags);
/**
 * Appends the whole file at path to out (initialised), at most FL_CAPTURE_MAX_BYTES: the bound
 * captures and the sources `faultline import` reads share. Returns 0, FL_EIO (unreadable) or
 * FL_ELIMIT (too large), each with a diagnostic naming the file, or FL_ENOMEM.
 */
int fl_capture_read_whole(const char *path, fl_buf_t *out, fl_diag_list_t *diags);

/*
 * Writing, line by line, so a recorder can append as the exchange goes (each call appends one
 * line with its LF to b). All return 0 or FL_ENOMEM.
 */
/** The first line: version, source, created, loss and redacted of c. */
int fl_capture_line_header(fl_buf_t *b, const fl_capture_t *c);
/** The request line from c's request fields (t_ms 0). */
int fl_capture_line_request(fl_buf_t *b, const fl_capture_t *c);
/** The response line from c's response head fields. */
int fl_capture_line_response(fl_buf_t *b, const fl_capture_t *c);
/** One write line. */
int fl_capture_line_write(fl_buf_t *b, uint64_t t_ms, const void *bytes, size_t len,
                          fl_capture_origin_t origin);
/** The end line; loss adds flags learnt at the end (e.g. truncated), 0 for none. */
int fl_capture_line_end(fl_buf_t *b, fl_capture_end_t how, uint64_t t_ms, const char *detail,
                        unsigned loss);
/** A whole capture, every line, as fl_capture_parse reads it back. */
int fl_capture_write(fl_buf_t *b, const fl_capture_t *c);

/**
 * Decodes n bytes of padded base64 (RFC 4648 section 4, no line breaks) into a fresh buffer
 * *out (caller frees; NUL-terminated past *len). Returns 0, FL_EINVAL (not base64) or
 * FL_ENOMEM; *out is NULL on failure.
 */
int fl_capture_b64_decode(const char *s, size_t n, char **out, size_t *len);

/** The response body: every write not withheld, joined. Returns 0 or FL_ENOMEM. */
int fl_capture_body(const fl_capture_t *c, fl_buf_t *out);

/*
 * Redaction: secrets never reach a capture or a scenario made from one.
 */
/**
 * True for a header whose value is a secret (authorization, proxy-authorization, x-api-key,
 * api-key, x-goog-api-key, cookie, set-cookie; any case).
 */
bool fl_capture_secret_header(const char *name);
/**
 * Replaces secrets inside text in place, each with a marker of the same kind: API keys
 * (`sk-…`, `sk-ant-…`, Google's `AIza…`, of at least 20 characters) become `sk-REDACTED` or
 * `AIza-REDACTED`, and a token of 8 or more characters after `Bearer ` becomes `REDACTED`. *len
 * is updated (the text only shrinks). Returns the number of secrets replaced.
 */
size_t fl_capture_redact_text(char *text, size_t *len);

#endif

/*
 * End-to-end fixture for the chaos tests: a fl_server on its own loop in a thread, serving a
 * scenario directory on 127.0.0.1 (port 0), driven with the recording client (rawclient.h).
 * The journal is read over HTTP, never across threads. Every helper asserts (Criterion) instead
 * of returning errors.
 */
#ifndef FL_TEST_E2E_SERVER_H
#define FL_TEST_E2E_SERVER_H

#include "rawclient.h"
#include "serve/server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** Loads every scenario under dir and starts the server thread. */
void es_start(const char *dir);
/** The same, with these server options (NULL: the defaults), e.g. short request deadlines. */
void es_start_opts(const char *dir, const fl_server_opts_t *opts);
/** The server thread's kernel thread id (for /proc/self/task/TID: what it alone has read). */
pid_t es_server_tid(void);
/** Stops the server, joins the thread, asserts the loop closed cleanly. */
void es_stop(void);
/** The bound port. */
int es_port(void);

/** POST /_faultline/reset: clears the journal and every scenario's attempt count. */
void es_reset(void);
/** GET /_faultline/journal (its chunked body decoded): the "requests" array (new reference). */
json_t *es_journal(void);
/**
 * Waits (up to wait_ms) for the journal entry of scenario's attempt whose "end" is no longer
 * "in_progress", and returns it (new reference), or NULL when none appeared in time.
 */
json_t *es_entry(const char *scenario, int attempt, int wait_ms);

/** Sends a streaming POST for dialect path (e.g. "/v1/chat/completions") to /s/<scenario>. */
void es_request(const char *scenario, const char *path, const fl_raw_opts_t *opts,
                fl_raw_result_t *out);

/** A response split and decoded. */
typedef struct es_resp_s {
    int status;          /* 0 when no status line arrived */
    size_t head_len;     /* bytes of head, blank line included; 0 when incomplete */
    char head[8192];     /* the head, NUL-terminated (truncated past 8 KiB) */
    bool chunked;        /* transfer-encoding: chunked */
    fl_raw_dechunk_t dc; /* the body decoded (chunked) or copied as is (dc.data, dc.len) */
    int dc_rc;           /* fl_raw_dechunk_feed's result: -1 when the framing was malformed */
} es_resp_t;

/** Splits and decodes r into out (fl_raw_dechunk_close(&out->dc) when done). */
void es_decode(const fl_raw_result_t *r, es_resp_t *out);
/** Frees what es_decode allocated. */
void es_resp_free(es_resp_t *r);

/**
 * Replaces what varies per response so bodies compare byte for byte: every JSON "id" string
 * value becomes "*", "created" and "created_at" numbers become 0. Returns a malloc'd,
 * NUL-terminated copy; *out_len (may be NULL) gets its length.
 */
char *es_normalise(const char *s, size_t len, size_t *out_len);

/** A body split into SSE events at each blank line ("\n\n"); pieces keep their "\n\n". */
typedef struct es_events_s {
    char **ev; /* owned, NUL-terminated */
    size_t n;
} es_events_t;

/** Splits len bytes of body (LF line endings) into events. Trailing bytes form a last piece. */
void es_split(const char *body, size_t len, es_events_t *out);
/** Frees es_split's result. */
void es_events_free(es_events_t *e);

/** Integer field of a journal object, or def when missing or not an integer. */
long long es_int(const json_t *o, const char *key, long long def);
/** String field of a journal object, or "" when missing. */
const char *es_str(const json_t *o, const char *key);

/** Counts non-overlapping occurrences of needle in len bytes of hay. */
size_t es_count(const char *hay, size_t len, const char *needle);

#endif

/** One exchange, recorded and decoded. Free with es_ex_free. */
typedef struct es_ex_s {
    fl_raw_result_t r; /* what the socket saw */
    es_resp_t d;       /* head and decoded body */
    char *norm;        /* owned: d.dc.data normalised (es_normalise) */
    size_t norm_len;
    es_events_t ev; /* norm split into events */
} es_ex_t;

/**
 * Requests scenario's stream on path (e.g. "/v1/chat/completions") with a timeout_ms limit and,
 * when close_after_ms > 0, closes the socket after that many ms; records and decodes it.
 */
void es_run(const char *scenario, const char *path, int timeout_ms, int close_after_ms, es_ex_t *x);
/** Frees an exchange. */
void es_ex_free(es_ex_t *x);
/** The concatenation of events [from, to) of e, malloc'd, NUL-terminated. */
char *es_join(const es_events_t *e, size_t from, size_t to);

/**
 * Asserts the journal entry has exactly one fault and that it is `fault`, fired at clean event
 * `event` (0: must be null; -N: N or null), after between min_ms and max_ms, with a non-empty
 * description.
 */
void es_assert_fault(const json_t *entry, const char *fault, long long event, long long min_ms,
                     long long max_ms);

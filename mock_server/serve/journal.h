/*
 * The journal: the evidence record of what the server was asked and what it sent.
 *
 * One entry per API request (control routes under /_faultline/ are not recorded), in arrival
 * order, served as JSON by GET /_faultline/journal. The journal keeps at most `capacity`
 * entries, dropping the oldest, so a long soak cannot grow memory without limit. Entries are
 * addressed by a sequence number that stays valid until the entry is dropped or the journal
 * reset, so a connection streaming a response can update its entry as bytes go out.
 */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include "serve/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** How a response ended, as the journal's "end" field spells it. */
typedef enum {
    FL_END_IN_PROGRESS,   /* "in_progress": still being sent */
    FL_END_COMPLETE,      /* "complete": every byte was handed to the kernel, body terminated */
    FL_END_CLIENT_CLOSED, /* "client_closed": the client went away while the server was sending */
    FL_END_SERVER_FAULT,  /* "server_fault": the server could not go on (out of memory, stop) */
    FL_END_RESET,         /* "reset": a fault ended the response with RST */
    FL_END_CLOSED,        /* "closed": a fault ended the response with FIN before its end */
    FL_END_STALLED,       /* "stalled": the client went away while a fault kept the server
                             silent on purpose (a stall, stall forever, no_response) */
} fl_end_t;

/** Returns the journal spelling: "in_progress", "complete", "client_closed", "server_fault",
 * "reset", "closed" or "stalled". */
const char *fl_end_name(fl_end_t e);

/** One request and its response. All strings owned by the entry. */
typedef struct fl_journal_entry_s {
    uint64_t seq;  /* 0-based sequence number since start (not reset by reset) */
    uint64_t t_ms; /* arrival, ms since the journal was created */
    char wall[32]; /* arrival, wall clock, ISO-8601 UTC with ms ("...T07:52:16.123Z") */
    char method[24];
    char *path;               /* owned: the request path without the query */
    char *scenario;           /* owned or NULL: the scenario that answered */
    uint64_t attempt;         /* per-scenario attempt number, 1-based; 0 when no scenario */
    bool stream;              /* the request's "stream" flag */
    char *headers;            /* owned: compact JSON text of an object of lower-cased name ->
                                 value, redacted (text, not a json_t: a fraction of the memory) */
    int status;               /* HTTP status sent; 0 until decided */
    int64_t retry_after_ms;   /* the wait the response's Retry-After / retry-after-ms header
                                 demanded, in ms; -1 when it sent neither */
    const char *framing;      /* static: "chunked", "close", "content-length" */
    uint64_t bytes;           /* wire bytes written for the response: head, framing and body */
    uint64_t events;          /* clean events the wire has passed, whole: those a fault
                                 dropped or rewrote included (what passed in the script) */
    uint64_t events_sent;     /* clean events whose bytes actually went out, whole (a
                                 rewritten event counts, a dropped one does not) */
    int64_t first_byte_ms;    /* ms since the journal was created; -1 before the first byte */
    int64_t last_byte_ms;     /* likewise, for the latest byte */
    int64_t client_closed_ms; /* ms after the response began when the client went away first;
                                 -1 when it did not */
    json_t *faults;           /* owned reference or NULL until the first fault fires: array of
                                 the faults that fired (see fl_journal_entry_fault) */
    fl_end_t end;
} fl_journal_entry_t;

/** A bounded ring of entries. Memory provided by the caller: init, then close. */
typedef struct fl_journal_s {
    fl_journal_entry_t **ring; /* owned array of capacity owned entries (NULL when unused) */
    size_t capacity;
    size_t head; /* index of the oldest entry */
    size_t count;
    uint64_t next_seq; /* seq of the next entry */
    uint64_t t0_ms;    /* creation time on the caller's ms clock (uv_now) */
} fl_journal_t;

/** Default number of entries kept. */
#define FL_JOURNAL_DEFAULT_CAPACITY 10000

/**
 * Prepares an empty journal keeping at most capacity entries (0 = the default). t0_ms is
 * "now" on the clock later passed to fl_journal_add (ms). Returns 0 or FL_ENOMEM.
 */
int fl_journal_init(fl_journal_t *j, size_t capacity, uint64_t t0_ms);

/** Frees every entry and the ring. */
void fl_journal_close(fl_journal_t *j);

/** Drops every entry (sequence numbers keep counting, so old seqs never alias new entries). */
void fl_journal_reset(fl_journal_t *j);

/**
 * Records a request arriving at now_ms (same clock as t0_ms). Copies the method, path and
 * headers (authorization, proxy-authorization and x-api-key values become "[redacted]").
 * Returns the new entry (owned by the journal; valid until dropped — use fl_journal_find with
 * its seq later), or NULL when out of memory.
 */
fl_journal_entry_t *fl_journal_add(fl_journal_t *j, const fl_http_request_t *req, uint64_t now_ms);

/** Returns the entry with this seq (borrowed), or NULL when it was dropped or reset. */
fl_journal_entry_t *fl_journal_find(fl_journal_t *j, uint64_t seq);

/** Sets the entry's scenario name (copied). Returns 0 or FL_ENOMEM. */
int fl_journal_entry_set_scenario(fl_journal_entry_t *e, const char *name);

/**
 * Records progress at now_ms: `bytes` more wire bytes were written (the byte times move when
 * bytes > 0) and `events` clean events are now whole on the wire (a running total).
 */
void fl_journal_entry_progress(fl_journal_t *j, fl_journal_entry_t *e, uint64_t bytes,
                               uint64_t events, uint64_t now_ms);

/**
 * Records that a fault fired: its name (e.g. "reset"), a one-line description, the 1-based
 * clean event it fired at (0 for none), the clean body offset (bytes) and the time in ms after
 * the response began. Strings are copied. Returns 0 or FL_ENOMEM (the entry is unchanged).
 */
int fl_journal_entry_fault(fl_journal_entry_t *e, const char *fault, const char *description,
                           uint64_t event, uint64_t byte, uint64_t ms);

/**
 * Builds {"requests":[...]} in arrival order, each entry an object with t_ms, time, method,
 * path, scenario, attempt, stream, headers, status, framing, bytes, events, events_sent,
 * first_byte_ms,
 * last_byte_ms, client_closed_ms, retry_after_ms, end and faults
 * ([{"fault","description","event","byte","ms"}...]). Returns a new reference, or NULL
 * when out of memory.
 */
json_t *fl_journal_to_json(const fl_journal_t *j);

#endif

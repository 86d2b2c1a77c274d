/*
 * The journal: the evidence record of what the server was asked and what it sent.
 *
 * One entry per API request (control routes under /_faultline/ are not recorded), in arrival
 * order, served as JSON by GET /_faultline/journal. The journal is bounded twice, dropping the
 * oldest entries, so neither a long soak nor hostile requests can grow memory without limit: at
 * most `capacity` entries and at most `max_bytes` bytes of entries, and each entry keeps at most
 * FL_JOURNAL_HEADER_BYTES of its request's headers (it says how much it left out). Entries are
 * addressed by a sequence number that stays valid until the entry is dropped or the journal
 * reset, so a connection streaming a response can update its entry as bytes go out, and so a
 * reader can page through the journal (fl_journal_page_t) a batch at a time.
 */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include "base/buf.h"
#include "serve/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes of a session id kept in an entry, NUL included (ids are at most 23 characters). */
#define FL_JOURNAL_SESSION_BYTES 24

/** Most bytes of a scenario name a journal page filters by, NUL included. */
#define FL_JOURNAL_FILTER_BYTES 256

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

typedef struct fl_journal_s fl_journal_t;

/** One request and its response. All strings owned by the entry. */
typedef struct fl_journal_entry_s {
    fl_journal_t *journal; /* borrowed: the journal holding the entry (for its byte count) */
    size_t mem;            /* bytes the entry is counted for against the journal's max_bytes */
    uint64_t seq;          /* 0-based sequence number since start (not reset by reset) */
    uint64_t t_ms;         /* arrival, ms since the journal was created */
    char wall[32];         /* arrival, wall clock, ISO-8601 UTC with ms ("...T07:52:16.123Z") */
    char method[24];
    char *path;                             /* owned: the request path without the query */
    char *scenario;                         /* owned or NULL: the scenario that answered */
    char session[FL_JOURNAL_SESSION_BYTES]; /* the session the request was made in (session.h);
                                               "" for none */
    uint64_t attempt;         /* per-scenario attempt number, 1-based; 0 when no scenario */
    bool stream;              /* the request's "stream" flag */
    char *headers;            /* owned: compact JSON text of an object of lower-cased name ->
                                 value, redacted (text, not a json_t: a fraction of the memory);
                                 the first headers, in order, that fit in
                                 FL_JOURNAL_HEADER_BYTES bytes of text */
    size_t headers_truncated; /* bytes of that text left out (0 when every header is kept) */
    size_t headers_dropped;   /* header fields left out (repeated fields count once) */
    int status;               /* HTTP status sent; 0 until decided */
    int64_t retry_after_ms;   /* the wait the response's Retry-After / retry-after-ms header
                                 demanded, in ms; -1 when it sent neither */
    const char *framing;      /* static: "chunked", "close", "length" */
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
    json_t *skipped;          /* owned reference or NULL: array of the faults of the plan that
                                 could not apply to this response (fl_journal_entry_skipped) */
    fl_end_t end;
    char *extra;            /* owned or NULL: more fields as JSON object members text (`"k":v,...`),
                               appended to the entry's object; set by fl_journal_entry_set_extra */
    int64_t created;        /* the response's `created` time (unix s), for GET /v1/responses/{id} */
    bool background;        /* openai-responses: the request asked for background: true */
    char *resume_after;     /* owned or NULL: the event id the request asked to resume after
                               (Last-Event-ID, or GET /v1/responses/{id}'s starting_after) */
    int64_t resume_skipped; /* events of the stream the resumed response left out (those up to
                               the named one); -1 when the response was not resumed */
    /* How the answer ended, as sent (what a client's structured result is judged against,
     * README "The client contract"): */
    char response_id[48];   /* the response's id (the part the dialect prefixes: chatcmpl-,
                               resp_, msg_); "" for none; GET /v1/responses/{id} finds it */
    char finish_reason[24]; /* the finish reason the clean response carries, in the dialect's
                               words; "" for none (raw events, an error page) */
    bool finish_sent;       /* the event carrying it (or the JSON body) went out whole */
    int64_t usage_input;    /* the usage the clean response reports; -1 none */
    int64_t usage_output;
    bool usage_sent; /* the (last) event carrying usage went out whole */
} fl_journal_entry_t;

/** A bounded ring of entries. Memory provided by the caller: init, then close. */
struct fl_journal_s {
    fl_journal_entry_t **ring; /* owned array of capacity owned entries (NULL when unused) */
    size_t capacity;
    size_t head; /* index of the oldest entry */
    size_t count;
    size_t bytes;      /* what the entries kept are counted for (fl_journal_entry_t.mem) */
    size_t max_bytes;  /* bound on bytes: adding an entry drops the oldest until it fits */
    uint64_t next_seq; /* seq of the next entry */
    uint64_t t0_ms;    /* creation time on the caller's ms clock (uv_now) */
};

/** Default number of entries kept. */
#define FL_JOURNAL_DEFAULT_CAPACITY 10000
/** Default bound on the bytes of all entries kept (32 MiB). */
#define FL_JOURNAL_DEFAULT_BYTES (32u * 1024 * 1024)
/** Most bytes of header JSON text one entry keeps (4 KiB, braces included). */
#define FL_JOURNAL_HEADER_BYTES 4096

/**
 * Prepares an empty journal keeping at most capacity entries (0 = the default) and
 * FL_JOURNAL_DEFAULT_BYTES of them (see fl_journal_set_max_bytes). t0_ms is "now" on the clock
 * later passed to fl_journal_add (ms). Returns 0 or FL_ENOMEM.
 */
int fl_journal_init(fl_journal_t *j, size_t capacity, uint64_t t0_ms);

/**
 * Bounds the bytes of all entries kept (0 = FL_JOURNAL_DEFAULT_BYTES). An entry is counted for
 * its strings (headers text at most FL_JOURNAL_HEADER_BYTES), its faults and its fixed size, so
 * the bound is on what the journal holds in memory, give or take the allocator's overhead. The
 * newest entry is always kept, even alone over the bound. Takes effect at the next add.
 */
void fl_journal_set_max_bytes(fl_journal_t *j, size_t max_bytes);

/** Frees every entry and the ring. */
void fl_journal_close(fl_journal_t *j);

/** Drops every entry (sequence numbers keep counting, so old seqs never alias new entries). */
void fl_journal_reset(fl_journal_t *j);

/**
 * Records a request arriving at now_ms (same clock as t0_ms). Copies the method, path and
 * headers (authorization, proxy-authorization, x-api-key and x-goog-api-key values become
 * "[redacted]"; the query, where Gemini's ?key= goes, is not recorded; the first
 * FL_JOURNAL_HEADER_BYTES of them, in order, whole headers only). Drops the oldest entries
 * while there are capacity entries or the bytes bound would be crossed.
 * Returns the new entry (owned by the journal; valid until dropped — use fl_journal_find with
 * its seq later), or NULL when out of memory.
 */
fl_journal_entry_t *fl_journal_add(fl_journal_t *j, const fl_http_request_t *req, uint64_t now_ms);

/** Returns the entry with this seq (borrowed), or NULL when it was dropped or reset. */
fl_journal_entry_t *fl_journal_find(fl_journal_t *j, uint64_t seq);

/** Sets the entry's session id (copied; at most FL_JOURNAL_SESSION_BYTES - 1 bytes, longer is
 * cut, which session ids never are). */
void fl_journal_entry_set_session(fl_journal_entry_t *e, const char *id);

/** Sets the entry's scenario name (copied). Returns 0 or FL_ENOMEM. */
int fl_journal_entry_set_scenario(fl_journal_entry_t *e, const char *name);

/** Sets the event id the request asked to resume after (copied; length bytes, cut to 128).
 * Returns 0 or FL_ENOMEM. */
int fl_journal_entry_set_resume(fl_journal_entry_t *e, const char *id, size_t len);

/**
 * Sets the entry's extra fields, JSON object members without braces (e.g. the proxy's
 * `"upstream":{...}`), copied and appended to its object as they are (NULL clears). Returns 0
 * or FL_ENOMEM.
 */
int fl_journal_entry_set_extra(fl_journal_entry_t *e, const char *members);

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
 * Records a fault of the response's plan that was skipped because it cannot apply to this
 * response (chaos.h fl_chaos_applies): its name, its one-line description and the reason.
 * Strings are copied. Returns 0 or FL_ENOMEM (the entry is unchanged).
 */
int fl_journal_entry_skipped(fl_journal_entry_t *e, const char *fault, const char *description,
                             const char *reason);

/**
 * Builds {"requests":[...],"next":SEQ} with every entry kept, in arrival order, each an object
 * with seq, t_ms, time, method, path, session (null when none), scenario, attempt, stream, headers,
 * headers_truncated, headers_dropped, status, framing, bytes, events, events_sent, first_byte_ms,
 * last_byte_ms, client_closed_ms, retry_after_ms, response_id (null for none), background,
 * resume_after, resume_skipped, finish_reason (null for none), finish_sent, usage
 * ({"input_tokens","output_tokens"}, null for none), usage_sent, end, faults
 * ([{"fault","description","event","byte", "ms"}...]) and skipped
 * ([{"fault","description","reason"}...], empty when none), plus the extra members when set;
 * "next" is the seq the next entry will get. Returns a new reference, or NULL when out of memory.
 */
json_t *fl_journal_to_json(const fl_journal_t *j);

/**
 * A page of the journal being written as JSON text a batch at a time (GET
 * /_faultline/journal?since=SEQ&limit=N): the entries with seq >= since that the journal holds,
 * at most limit of them, as {"requests":[...],"next":SEQ}, the same entry objects as
 * fl_journal_to_json. "next" is the seq to ask for to go on: that of the first entry not
 * written. Only entries that existed when the page began are written; entries dropped while it
 * is written are skipped. Plain value: init, then write until done.
 */
typedef struct fl_journal_page_s {
    uint64_t next;  /* seq of the next entry to write */
    uint64_t end;   /* the journal's next_seq when the page began: the page stops there */
    size_t left;    /* entries the limit still allows */
    size_t written; /* entries written so far */
    bool started;   /* the opening {"requests":[ is written */
    bool done;      /* the closing ],"next":SEQ} is written */
    /* Filters (fl_journal_page_filter): */
    bool by_session;                        /* only entries whose session is session */
    char session[FL_JOURNAL_SESSION_BYTES]; /* "" for the entries made without one */
    char scenario[FL_JOURNAL_FILTER_BYTES]; /* only entries answered by it; "": any */
} fl_journal_page_t;

/** Starts a page of the entries with seq >= since, at most limit of them (0 = no limit). */
void fl_journal_page_init(const fl_journal_t *j, uint64_t since, size_t limit,
                          fl_journal_page_t *pg);

/**
 * Writes only the entries of session (NULL: any; "": those made without a session) answered by
 * scenario (NULL or "": any); the limit counts the entries written. Returns 0, or FL_ELIMIT when a
 * name is too long to match anything kept (the page is unchanged).
 */
int fl_journal_page_filter(fl_journal_page_t *pg, const char *session, const char *scenario);

/**
 * Appends the page's next batch of JSON text to out: the opening, whole entries until out has
 * grown by at least batch_bytes or the page is complete, and then the closing (pg->done).
 * Returns 0 or FL_ENOMEM (out may hold part of a batch; the page cannot go on).
 */
int fl_journal_page_write(const fl_journal_t *j, fl_journal_page_t *pg, size_t batch_bytes,
                          fl_buf_t *out);

#endif

/*
 * The event script: one response body as a timed sequence of encoded SSE events.
 *
 * A dialect encoder turns a scenario into a script once per request; the server (and the chaos
 * layer between them) then only copies bytes out of it. All events live back to back in one
 * buffer, so the body is script->bytes exactly and a byte position in the body is an offset
 * into it: `at: {byte: N}` and `at: {event: N}` are both plain lookups, and `at: {content: N}`
 * is the Nth event the encoder marked as a piece of the answer.
 */
#ifndef FL_SCRIPT_H
#define FL_SCRIPT_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What an event is for; the chaos layer and the journal reason about these. */
typedef enum {
    FL_EVENT_META,     /* protocol events that carry no answer text (message_start, role chunk) */
    FL_EVENT_CONTENT,  /* carries answer text or tool-call argument text */
    FL_EVENT_PING,     /* keep-alive: anthropic `ping`, or an SSE comment */
    FL_EVENT_FINISH,   /* carries the finish/stop reason (finish_reason, message_delta,
                          response.completed) */
    FL_EVENT_SENTINEL, /* the end marker: `data: [DONE]`, message_stop */
    FL_EVENT_RAW,      /* from response.events, sent verbatim */
} fl_event_kind_t;

/** One event of the body. */
typedef struct fl_script_event_s {
    fl_event_kind_t kind;
    uint64_t at_ms; /* when to send it, in ms after the response headers */
    size_t off;     /* first byte in the script's bytes */
    size_t len;     /* bytes, including the blank line that ends the SSE event */
    bool piece;     /* one piece of the answer: a word (chunking: word), one of `chunks:`, a
                       fragment of tool-call arguments; what `at: {content: N}` counts. Events
                       that announce the answer (a tool call's name) are content, not pieces */
} fl_script_event_t;

/**
 * A write boundary of a replayed body (scenario.h fl_replay_t): from body byte `off` on, the
 * bytes go out in a new write at at_ms (ms after the headers). Events and writes cut the body
 * independently: an event may span writes, a write may hold several events.
 */
typedef struct fl_script_write_s {
    size_t off;     /* first body byte of the write */
    uint64_t at_ms; /* when it goes out, ms after the headers */
} fl_script_write_t;

/** How the body ends (a replay may end cut; scripts the encoders make end complete). */
typedef enum {
    FL_SCRIPT_END_COMPLETE, /* terminator, then done */
    FL_SCRIPT_END_FIN,      /* FIN without the terminator */
    FL_SCRIPT_END_RST,      /* RST */
    FL_SCRIPT_END_HANG,     /* nothing more; the connection stays open */
} fl_script_end_t;

/** A whole response body. Owns its bytes and events; init then close. */
typedef struct fl_script_s {
    fl_buf_t bytes;            /* the body, all events back to back */
    fl_script_event_t *events; /* owned array */
    size_t n_events;
    size_t cap_events;
    fl_script_write_t *writes; /* owned or NULL: exact write boundaries (replays); when NULL,
                                  events due at the same ms share a write */
    size_t n_writes;
    size_t cap_writes;
    bool own_writes;     /* writes: each write is its own send, never batched with others due
                            at the same ms (a replay at speed > 0); else due-together writes
                            share a send, each still its own chunk */
    fl_script_end_t end; /* how the body ends (FL_SCRIPT_END_COMPLETE unless a replay's) */
    uint64_t end_ms;     /* when it ends, ms after the headers; used when writes is set */
} fl_script_t;

/** Prepares an empty script. Never fails. */
void fl_script_init(fl_script_t *s);
/** Frees everything the script owns and leaves it empty. */
void fl_script_close(fl_script_t *s);
/**
 * Appends one event whose bytes are already encoded (see fl_sse_encode*). The bytes are
 * copied. at_ms must not be less than the previous event's. Returns 0, FL_EINVAL or FL_ENOMEM.
 */
int fl_script_push(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const void *bytes,
                   size_t len);
/**
 * Appends one event over bytes already in s->bytes: [off, off+len), right after the previous
 * event's bytes. at_ms as fl_script_push. Returns 0, FL_EINVAL or FL_ENOMEM.
 */
int fl_script_push_span(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, size_t off,
                        size_t len);
/** Marks the last event pushed as a piece of the answer (fl_script_event_t.piece). Encoders
 * call it after each piece's event; a no-op on an empty script. */
void fl_script_mark_piece(fl_script_t *s);
/**
 * The index of the event `at: {content: n}` stands before: the nth piece (1-based); for n =
 * pieces + 1, the event right after the last piece (s->n_events when none follows). Returns
 * s->n_events for n = 0, a script without pieces, or n past that.
 */
size_t fl_script_content_event(const fl_script_t *s, uint64_t n);
/**
 * Appends a write boundary at body offset off (not below the previous one's), due at at_ms
 * (not before the previous one's). Returns 0, FL_EINVAL or FL_ENOMEM.
 */
int fl_script_add_write(fl_script_t *s, size_t off, uint64_t at_ms);

/** The number of events marked as pieces of the answer. */
size_t fl_script_pieces(const fl_script_t *s);

/**
 * The id a client would resume after event i: the value of its last `id:` line (WHATWG HTML,
 * "Server-sent events": the last event ID, sent back as Last-Event-ID), else the
 * "sequence_number" of its JSON data (OpenAI Responses: GET /v1/responses/{id}?starting_after=N).
 * Writes it NUL-terminated into buf (cap bytes, cut to fit) and returns its length, or -1 when
 * the event carries neither.
 */
int fl_script_event_id(const fl_script_t *s, size_t i, char *buf, size_t cap);

/**
 * The stream resumed after the event whose id (fl_script_event_id) is the len bytes at id, the
 * last such event when several carry it: the events after it appended to out (initialised,
 * empty), each with its piece mark and its time moved earlier by that event's at_ms, and
 * *skipped set to the number of events left out (that event's index + 1). Returns 0,
 * FL_ENOTFOUND (no event carries the id; out untouched) or FL_ENOMEM.
 */
int fl_script_resume(const fl_script_t *s, const char *id, size_t len, fl_script_t *out,
                     size_t *skipped);

#endif

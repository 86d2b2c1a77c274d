/*
 * Reply templates: compile a streamed reply once, then stamp out copies.
 *
 * Encoding a scenario and compiling its wire plan costs far more than sending it (2,000 events
 * are 2,000 JSON encodings and SSE framings), yet two replies of the same scenario, attempt
 * entry and request variant differ only in the response id and the `created` time. So the
 * first such request compiles the reply twice, with two different sentinel ids and times, and
 * keeps the first as a template with the offsets where the id and the time landed. The
 * template is used only when patching those offsets of the first turns it into the second
 * byte for byte, with identical ops and evidence: anything else that varies (a seeded
 * `chaos:` block drawn per attempt, a sentinel that also occurs in the scenario's text) makes
 * the variant uncacheable and it is compiled per request as before. Later requests share
 * the template's bytes, ops and patch list read-only (the cache lives until the server is
 * freed, after its last connection) and own only their id and time, which the connection
 * writes in as it copies bytes into each write (fl_wire_read), plus a copy of the evidence.
 * A held stream thus costs no plan memory at all, however long its answer.
 *
 * A compiled reply is a wire plan and its evidence record (fl_fault_record_t). The record is
 * defined here with everything that allocates, copies or frees it, because templates keep one
 * and hand out copies: the reply pipeline (reply.h) fills it, the connection reads and closes
 * it, and neither calls back into the other for it.
 */
#ifndef FL_REPLY_CACHE_H
#define FL_REPLY_CACHE_H

#include "chaos/wire.h"
#include "encode/dialect.h"
#include "encode/script.h"
#include "model/fault.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * What the journal needs to interpret a wire plan while it runs: the faults it was compiled
 * from (to name and describe a FIRE op) and where the clean events end (to count whole events
 * from a plan op's clean body offset). Owned by the reply, then by the connection; zeroed is
 * empty.
 */
typedef struct fl_fault_record_s {
    fl_fault_t *faults; /* owned (from fl_plan_for_attempt, freed with fl_plan_free) or NULL */
    size_t n_faults;
    uint64_t *event_ends; /* owned or NULL: clean body offset just past each clean event */
    size_t n_events;
    uint64_t body_len; /* clean body bytes */
} fl_fault_record_t;

/**
 * Records where each of script's clean events ends and the body's length in ev (whose
 * event_ends must be NULL). Returns 0 or FL_ENOMEM.
 */
int fl_fault_record_events(fl_fault_record_t *ev, const fl_script_t *script);

/** Fills dst (overwritten) with a deep copy of src. Returns 0 or FL_ENOMEM (dst empty). */
int fl_fault_record_copy(const fl_fault_record_t *src, fl_fault_record_t *dst);

/** Frees what the record owns and empties it. */
void fl_fault_record_close(fl_fault_record_t *ev);

typedef struct fl_reply_tmpl_s fl_reply_tmpl_t;

/** A server's reply templates, one per streamed reply variant seen. Memory provided by the
 * caller: init, then close (after the last reply sharing a template is gone). */
typedef struct fl_reply_cache_s {
    fl_reply_tmpl_t *list; /* owned: every variant seen, cacheable or not */
} fl_reply_cache_t;

/* A response's id (route.c make_id) and `created` time are patched into shared replies in place;
 * other lengths are never patched. */
_Static_assert(FL_ENCODE_ID_LEN + FL_ENCODE_CREATED_DIGITS <= FL_WIRE_STAMP_BYTES,
               "a response's stamp holds its id and its time");

/** What makes two streamed replies of one scenario differ beyond id and time. */
typedef struct fl_reply_key_s {
    size_t scenario;    /* index in the scenario set */
    size_t entry;       /* index of the `attempts:` entry used; SIZE_MAX when none */
    bool include_usage; /* openai-chat stream_options.include_usage */
    bool close;         /* the head says connection: close */
    int framing;        /* fl_body_framing_t */
} fl_reply_key_t;

/**
 * Compiles one streamed reply with the given id (FL_ENCODE_ID_LEN characters) and created time
 * into plan and ev (both empty on entry). Returns 0, FL_ENOMEM, or any other code when the
 * reply cannot be compiled (the caller then compiles it the usual way, errors included).
 */
typedef int (*fl_reply_compile_fn)(void *arg, const char *id, int64_t created, fl_wire_t *plan,
                                   fl_fault_record_t *ev);

/** Prepares an empty cache. Never fails. */
void fl_reply_cache_init(fl_reply_cache_t *c);

/** Frees every template. */
void fl_reply_cache_close(fl_reply_cache_t *c);

/**
 * Fills plan and ev (both empty on entry) with the reply for key, id and created, from the
 * template (built with compile on first use). id must be FL_ENCODE_ID_LEN characters and created
 * FL_ENCODE_CREATED_DIGITS digits, else the reply is not served from the cache.
 * Returns 0 (filled), FL_ENOMEM, or 1 when this variant is not cacheable (nothing filled).
 */
int fl_reply_cache_get(fl_reply_cache_t *c, const fl_reply_key_t *key, fl_reply_compile_fn compile,
                       void *arg, const char *id, int64_t created, fl_wire_t *plan,
                       fl_fault_record_t *ev);

#endif

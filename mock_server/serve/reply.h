/*
 * The reply pipeline: one answer, from where it comes from to the wire plan the connection
 * executes (stream.h). Routing (route.h) decides which answer; this module builds it.
 *
 * A scenario's answer (fl_reply_scenario) flows one way through the layers below:
 *   the scenario (model/scenario.h)
 *   -> its clean body as an event script, and the head (encode/dialect.h, chaos/httphead.h)
 *   -> the attempt's fault plan (chaos/plan.h: fl_plan_entry, fl_plan_for_attempt)
 *   -> the wire plan and its evidence record (chaos/chaos.h fl_chaos_compile; reply_cache.h).
 * A streamed answer whose variant is cacheable takes its plan from the template cache
 * (reply_cache.h) instead: the same steps, run once per variant, then shared.
 * The answers the server makes itself (control routes, errors) are whole JSON responses
 * (fl_reply_json, fl_reply_error, fl_reply_dialect_error) that leave as a one-write plan
 * (fl_reply_finish). Either way the connection gets a wire plan and never sees a scenario.
 */
#ifndef FL_REPLY_H
#define FL_REPLY_H

#include "base/buf.h"
#include "chaos/chaos.h"
#include "chaos/wire.h"
#include "encode/dialect.h"
#include "model/scenario.h"
#include "serve/journal.h"
#include "serve/reply_cache.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One request's answer, as route.c decides it and conn.c sends it. Init, then close. */
typedef struct fl_reply_s {
    fl_buf_t out;   /* scratch: a whole JSON response (head and body) until fl_reply_finish */
    fl_wire_t plan; /* what goes on the wire, when, and how it ends */
    fl_fault_record_t evidence; /* owned: what the journal needs while the plan runs */
    bool close;                 /* the head says connection: close; FIN after this response */
    bool has_entry;             /* entry_seq is the journal entry for this request */
    uint64_t entry_seq;
} fl_reply_t;

/** Prepares an empty reply (keep-alive, no entry). Never fails. */
void fl_reply_init(fl_reply_t *r);

/** Frees what the reply owns. */
void fl_reply_close(fl_reply_t *r);

/**
 * Appends a whole application/json response to r->out: status, content-length,
 * x-request-id req_<id>, connection per r->close, allow: <allow> (NULL for none; RFC 9110
 * section 10.2.1, on 405), then len bytes of body. Returns 0 or FL_ENOMEM.
 */
int fl_reply_json(fl_reply_t *r, int status, const char *id, const char *allow, const char *body,
                  size_t len);

/** Appends doc (a new reference, taken; NULL when building it ran out of memory) as a whole JSON
 * response (fl_reply_json), compact. Returns 0 or FL_ENOMEM. */
int fl_reply_doc(fl_reply_t *r, int status, const char *id, const char *allow, json_t *doc);

/** Appends {"error":{"message":...}} as a whole JSON response (fl_reply_json), for paths with
 * no dialect. Returns 0 or FL_ENOMEM. */
int fl_reply_error(fl_reply_t *r, int status, const char *id, const char *allow,
                   const char *message);

/**
 * Appends an error in dialect d's own JSON shape (fl_dialect_encode_http_error_body, its class
 * from the status) as a whole JSON response, and records status and framing in e (NULL: none).
 * Returns 0 or FL_ENOMEM.
 */
int fl_reply_dialect_error(fl_reply_t *r, fl_journal_entry_t *e, fl_dialect_t d, int status,
                           const char *id, const char *allow, const char *message);

/** Everything a scenario's answer is compiled from. */
typedef struct fl_reply_job_s {
    const fl_scenario_t *sc;   /* borrowed */
    size_t sc_index;           /* sc's index in the server's set: part of the template key;
                                  SIZE_MAX for a runtime scenario (session.h): never cached */
    uint64_t attempt;          /* the scenario's request number, 1-based */
    bool stream;               /* the request's "stream" flag */
    fl_body_framing_t framing; /* of a streamed body (chunked or close); JSON is content-length */
    fl_encode_ctx_t ctx;       /* the response's id (FL_ENCODE_ID_LEN characters to be
                                  cacheable), created time and include_usage */
    const char *resume_after;  /* borrowed or NULL: send only the events after the one with this
                                  id (encode/script.h fl_script_resume); with NULL, the whole
                                  stream */
    size_t resume_len;         /* bytes of resume_after */
} fl_reply_job_t;

/**
 * The response attempt (1-based) of sc sends: its `attempts:` entry's own `response:` when it
 * has one, else the scenario's. Borrowed from sc.
 */
const fl_response_t *fl_reply_response(const fl_scenario_t *sc, uint64_t attempt);

/**
 * Runs the pipeline for a scenario's answer into r (initialised, r->close set by the caller):
 * r->plan and r->evidence filled, r->close set for close framing, and e's status,
 * retry_after_ms, framing and skipped faults (those that cannot apply to this response, e.g.
 * chunk_size for an HTTP/1.0 client) recorded, and for a resumed job the events it left out
 * (e->resume_skipped). A scenario that cannot be encoded (no non-streaming form: 400; a resume
 * id no event carries: 400) or whose faults the chaos compiler refuses (a validator bug: 500)
 * gets an error reply in its dialect's shape instead. Returns 0 (r holds a reply) or FL_ENOMEM.
 */
int fl_reply_scenario(fl_reply_cache_t *cache, const fl_reply_job_t *job, fl_journal_entry_t *e,
                      fl_reply_t *r);

/**
 * Completes a reply that has no plan yet: the whole response in r->out becomes one write at 0,
 * then DONE. A reply with a plan is left as it is. Returns 0 or FL_ENOMEM.
 */
int fl_reply_finish(fl_reply_t *r);

#endif

/*
 * Evidence: everything one run of a client against one scenario left behind, gathered by the
 * runner (run.c) from the client's process and the scenario's server journal, and read by the
 * verdict logic (verdict.h) and the reports (report.h).
 *
 * Times are ms on one clock, with 0 at the moment the client was spawned, so an attempt's start
 * and the client's wall time can be compared directly.
 */
#ifndef FL_EVIDENCE_H
#define FL_EVIDENCE_H

#include "base/buf.h"
#include "model/scenario.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bound on the captured stdout and stderr of a client, each (bytes). */
#define FL_CAPTURE_MAX (16u * 1024 * 1024)

/** One request the client made, from the server's journal. */
typedef struct fl_attempt_ev_s {
    uint64_t start_ms;      /* request arrival, ms after the client was spawned */
    int64_t end_ms;         /* when the response ended for the client: the later of its last
                               byte and the client's close, ms after spawn; -1 when it had not
                               ended when the run did */
    int status;             /* HTTP status sent; 0 for none (refuse, no_response, still waiting) */
    bool stream;            /* the request asked for a stream */
    char end[16];           /* the journal's "end": complete, reset, closed, stalled, ...;
                               another spelling is cut to 15 bytes, and every byte outside
                               [a-z0-9_-] becomes '?' */
    int64_t first_byte_ms;  /* the response's first byte went out, ms after spawn; -1 none */
    int64_t last_byte_ms;   /* its latest byte went out, ms after spawn; -1 none */
    uint64_t bytes;         /* wire bytes the server wrote */
    uint64_t events;        /* clean events the wire has passed, whole (the journal's "events":
                               events a fault dropped or rewrote included) */
    uint64_t events_sent;   /* clean events whose bytes actually went out, whole (the
                               journal's "events_sent") */
    int64_t gap_ms;         /* start_ms minus the previous attempt's end_ms (negative when the
                               client overlapped them); -1 for the first attempt or when the
                               previous one had not ended */
    int64_t retry_after_ms; /* the wait the previous response demanded (Retry-After or
                               retry-after-ms), in force for this attempt; -1 none */
    int64_t sent_retry_after_ms; /* the wait this response itself demanded (its Retry-After
                                    or retry-after-ms), in force after it; -1 none */
    bool stalled;   /* a stall-type fault (stall, no_response, delay_headers, a ping-only
                       stall) was holding this response silent when the run ended */
    json_t *faults; /* owned reference: the journal's faults array for this response
                       ([{"fault","description","event","byte","ms"}], ms after the
                       request arrived) */

    /* What the request asked of a resumable stream (README, "Resuming a stream"). */
    bool resume_asked;      /* the request named an event to resume after (the journal's
                               resume_after: Last-Event-ID or starting_after) */
    int64_t resume_skipped; /* events the resumed response left out; -1 when not resumed */
    bool retrieved;         /* a GET of a stored response (GET /v1/responses/{id}): the answer
                               generated once, sent again, not regenerated */
    /* How the answer ended, as the journal says it was sent (absent fields: none/false) */
    char response_id[48];   /* the response's id, without the dialect's prefix; "" none */
    char finish_reason[24]; /* the clean response's finish reason, the dialect's words; "" none */
    bool finish_sent;       /* the event carrying it went out whole */
    int64_t usage_input;    /* the usage the clean response reports; -1 none */
    int64_t usage_output;
    bool usage_sent; /* the (last) event carrying usage went out whole */
} fl_attempt_ev_t;

/** Bound on the structured result file a client may write (bytes): more is a bad_result. */
#define FL_RESULT_MAX (1024u * 1024)

/** How the client's process ended. */
typedef enum {
    FL_EXIT_CODE,     /* exited by itself: see exit_code */
    FL_EXIT_SIGNAL,   /* killed by a signal the harness did not send: see term_signal */
    FL_EXIT_DEADLINE, /* the harness killed it (SIGTERM, then SIGKILL) at expect.deadline_ms */
    FL_EXIT_SPAWN,    /* it could not be started: see spawn_error */
} fl_exit_kind_t;

/**
 * Relay mode (`faultline run --relay`, README "Relays under test"): what the harness-browser saw
 * of the relay's response. Times are ms after the relay was spawned, like the attempts'.
 */
typedef struct fl_relay_ev_s {
    bool on;               /* the run was of a relay: the fields below are filled */
    int status;            /* the HTTP status of the relay's response; 0 none */
    int64_t sent_ms;       /* the browser's request went out; -1 never (the relay never listened) */
    int64_t first_byte_ms; /* the response's first byte (head included); -1 none */
    int64_t first_text_ms; /* the first byte of answer text decoded; -1 none */
    int64_t end_ms;        /* the response ended, the browser left or gave up; -1 never */
    int64_t max_gap_ms;    /* the longest the browser waited without a byte, from sent_ms to
                              end_ms (heartbeat comments count as bytes) */
    int64_t max_gap_at_ms; /* when that silence began */
    int64_t left_ms;       /* the browser left on purpose (downstream.disconnect_after_ms); -1 */
    bool complete;         /* the format's complete end came (downstream.h) */
    bool error;            /* an explicit error: an HTTP error status, an error event or part,
                              or the body aborted */
    bool clean;            /* the body ended as its framing says (not aborted) */
    bool malformed;        /* a frame did not parse as the format says */
    char format[24];       /* the downstream format's spelling */
} fl_relay_ev_t;

/** One run of the client against one scenario. */
typedef struct fl_evidence_s {
    const fl_scenario_t *scenario; /* borrowed: the scenario run */
    unsigned repeat;               /* 1-based repetition (--repeat) */
    uint64_t seed;                 /* the run's seed (--seed), for reproduction */
    fl_buf_t out;                  /* owned: the client's stdout, at most FL_CAPTURE_MAX bytes */
    fl_buf_t err;                  /* owned: the client's stderr, likewise */
    bool out_truncated;            /* stdout was longer than FL_CAPTURE_MAX */
    bool err_truncated;
    fl_exit_kind_t exit_kind;
    int exit_code;             /* FL_EXIT_CODE: the exit status */
    int term_signal;           /* FL_EXIT_SIGNAL: the signal */
    char spawn_error[512];     /* FL_EXIT_SPAWN: why (for a relay, with the end of its stderr) */
    uint64_t wall_ms;          /* spawn to exit (or to the kill at the deadline) */
    fl_attempt_ev_t *attempts; /* owned, in arrival order */
    size_t n_attempts;
    size_t journal_dropped; /* requests the journal could not keep (0 in practice) */
    fl_relay_ev_t relay;    /* relay mode only (relay.on); then out is the decoded answer, err
                               the browser's error message, exit_code 0 for a clean end and 1
                               for an explicit error */
    fl_buf_t relay_err;     /* owned: relay mode, the relay's own stderr (at most
                               FL_CAPTURE_MAX bytes); empty otherwise */
    /* The client's structured result (README "The client contract", FAULTLINE_RESULT_PATH) */
    bool result_found;      /* the client wrote the file (result or result_error says what) */
    fl_buf_t result;        /* owned: its bytes, at most FL_RESULT_MAX */
    char result_error[128]; /* why it could not be read ("larger than 1048576 bytes", "not a
                               regular file"); "" when it was */
} fl_evidence_t;

/** Prepares empty evidence for one run of sc (borrowed). Never fails. */
void fl_evidence_init(fl_evidence_t *ev, const fl_scenario_t *sc, unsigned repeat, uint64_t seed);

/** Frees everything the evidence owns (captures, attempts and their faults). */
void fl_evidence_close(fl_evidence_t *ev);

/**
 * Fills ev->attempts from a journal's JSON ({"requests":[...]}, as fl_journal_to_json builds
 * it). spawn_ms is the journal-clock time (ms since the journal's t0) at which the client was
 * spawned; now_ms the journal-clock time the run ended. Computes gap_ms, retry_after_ms and
 * stalled. Replaces any attempts already there: the journal is the whole record of the run.
 * Returns 0, FL_ENOMEM (the attempts filled so far stay owned by ev) or FL_EINVAL (not a
 * journal: no "requests" array, or a request without an integer "t_ms"; ev unchanged).
 */
int fl_evidence_add_journal(fl_evidence_t *ev, const json_t *journal, uint64_t spawn_ms,
                            uint64_t now_ms);

/** True when any attempt had a fault fire. */
bool fl_evidence_any_fault(const fl_evidence_t *ev);

#endif

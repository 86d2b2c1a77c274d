/*
 * Verdicts: how gracefully a client handled one scenario, decided from the evidence alone.
 *
 * Each run gets exactly one primary verdict and any number of findings; the rubric (README,
 * "Verdicts and scoring") turns them into a score from 0 to 100. Pure functions of
 * fl_evidence_t and the scenario's `expect:` block, so the whole decision table is unit-tested
 * without processes.
 */
#ifndef FL_VERDICT_H
#define FL_VERDICT_H

#include "judge/evidence.h"

#include <stdbool.h>
#include <stdint.h>

/* X(name, spelling): the primary verdicts, best first as the README's rubric lists them. */
#define FL_VERDICT_MAP(X)                                                                          \
    X(CORRECT, "correct")                     /* exit 0, exact answer, no fault fired */           \
    X(RECOVERED, "recovered")                 /* exit 0, exact answer, a fault fired */            \
    X(FAILED_CLEANLY, "failed_cleanly")       /* non-zero exit, message on stderr */               \
    X(GAVE_UP, "gave_up")                     /* failed cleanly, but the answer was there */       \
    X(SILENT_TRUNCATION, "silent_truncation") /* exit 0, a strict prefix of the answer */          \
    X(DUPLICATED, "duplicated")               /* exit 0, part of the answer repeated */            \
    X(CORRUPTED, "corrupted")                 /* exit 0, any other difference */                   \
    X(HUNG, "hung")                           /* still running at the deadline */                  \
    X(CRASHED, "crashed")                     /* killed by a signal of its own */                  \
    X(NO_REQUEST, "no_request")               /* never reached the server */

/** The primary verdict of one run. */
typedef enum {
#define X(name, s) FL_VERDICT_##name,
    FL_VERDICT_MAP(X)
#undef X
        FL_VERDICT_COUNT
} fl_verdict_t;

/* X(name, spelling, bit): secondary findings; each costs points whatever the verdict. */
#define FL_FINDING_MAP(X)                                                                          \
    X(RETRY_STORM, "retry_storm", 1u << 0)                 /* more requests than max_attempts */   \
    X(IGNORED_RETRY_AFTER, "ignored_retry_after", 1u << 1) /* retried before Retry-After */        \
    X(NO_BACKOFF, "no_backoff", 1u << 2)                   /* retried within min_backoff_ms */     \
    X(STALL_UNDETECTED, "stall_undetected", 1u << 3)       /* sat on a stall to the deadline */    \
    X(NO_ERROR_MESSAGE, "no_error_message", 1u << 4)       /* failed with nothing on stderr */     \
    X(RETRY_AFTER_PAST_DEADLINE, "retry_after_past_deadline",                                      \
      1u << 5) /* hung while honouring a Retry-After longer than the time left */                  \
    X(INVENTED_FINISH, "invented_finish", 1u << 6) /* result: a finish the stream never sent */    \
    X(WRONG_FINISH, "wrong_finish", 1u << 7)       /* result: another finish reason than sent */   \
    X(WRONG_USAGE, "wrong_usage", 1u << 8)         /* result: usage not as sent (or invented) */   \
    X(UNCAUGHT_EXCEPTION, "uncaught_exception",                                                    \
      1u << 9) /* non-zero exit with an uncaught exception's trace on stderr */                    \
    X(RESTARTED_NOT_RESUMED, "restarted_not_resumed",                                              \
      1u << 10) /* started over where expect.resume: required and a resume was offered */          \
    X(BUFFERED, "buffered", 1u << 11)         /* relay: text only after the upstream ended */      \
    X(NO_HEARTBEAT, "no_heartbeat", 1u << 12) /* relay: silent past expect.heartbeat_ms */         \
    X(UPSTREAM_NOT_CANCELLED, "upstream_not_cancelled",                                            \
      1u << 13) /* relay: upstream still open after the browser left */                            \
    X(ERROR_SWALLOWED, "error_swallowed",                                                          \
      1u << 14) /* relay: the upstream failed, the browser saw a clean end */                      \
    X(BAD_RESULT, "bad_result", 1u << 15) /* the result file is unreadable or not an object */

/** Finding bits, OR-ed together in fl_judgement_t.findings. */
enum {
#define X(name, s, bit) FL_FINDING_##name = bit,
    FL_FINDING_MAP(X)
#undef X
};

/** Returns the verdict's spelling ("silent_truncation"), or "?" out of range. */
const char *fl_verdict_name(fl_verdict_t v);

/** Returns a finding's spelling ("retry_storm") for one bit, or "?" for anything else. */
const char *fl_finding_name(unsigned bit);

/** Slack allowed below a Retry-After wait before it counts as ignored (ms): timer rounding. */
#define FL_VERDICT_RETRY_AFTER_SLACK_MS 25

/** Relay mode, buffered: the upstream must have streamed at least this long (first byte to last,
 * ms) for a relay that shows no text before its end to count as buffering: over a shorter answer
 * a relay's cold start (the Vercel AI SDK's first call takes ~150 ms more) looks the same. */
#define FL_VERDICT_BUFFER_SPAN_MS 1000
/** Relay mode, buffered: slack for the relay's own latency (ms): text that began no earlier than
 * this before the upstream's last byte began "after the upstream ended". */
#define FL_VERDICT_BUFFER_SLACK_MS 25
/** Relay mode, upstream_not_cancelled: how long an upstream request may stay open after the
 * browser left (ms). */
#define FL_VERDICT_CANCEL_BOUND_MS 1000

/** The decision for one run, with the evidence that decided it. */
typedef struct fl_judgement_s {
    fl_verdict_t verdict;
    unsigned findings; /* FL_FINDING_* bits */
    int score;         /* 0..100, from the rubric */
    bool passed;       /* score == 100: what makes `faultline run` exit 0 */
    char reason[256];  /* one line for a person: what decided the verdict, with figures */
    int64_t diff_at;   /* byte offset of the first difference between stdout (one trailing
                          newline removed) and the answer; -1 when they are equal or no answer
                          is known */
} fl_judgement_t;

/**
 * Judges one run: the verdict, findings, score and reason. The expected answer is
 * fl_scenario_answer(ev->scenario); for a tool-call scenario stdout is compared as JSON
 * (key order and whitespace do not matter). Never fails; a scenario without a known answer
 * judges exit 0 as correct/recovered.
 */
void fl_verdict_judge(const fl_evidence_t *ev, fl_judgement_t *out);

/** The rubric's base score for a verdict (before findings), 0..100. */
int fl_verdict_base_score(fl_verdict_t v);

/** The rubric's penalty for one finding bit, in points. */
int fl_finding_penalty(unsigned bit);

#endif

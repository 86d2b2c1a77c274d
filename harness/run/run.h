/*
 * The runner behind `faultline run`: runs a client command against scenarios, several at once
 * on one libuv loop, and gathers the evidence of each run.
 *
 * Each run gets its own mock server on a fresh loopback port, serving just its scenario, and
 * its own client process: `/bin/sh -c CMD` in a new session (so a process group of its own that
 * the harness can signal as a whole), with the client contract's environment (README, "The
 * client contract"), stdin from /dev/null and stdout/stderr captured through pipes up to
 * FL_CAPTURE_MAX bytes each. At expect.deadline_ms the group gets SIGTERM, and SIGKILL 2 s later.
 * When the client exits, whatever it left running in its group is killed, its pipes are
 * drained, and after a short settle (so the server sees the client's sockets close) the
 * server's journal becomes the run's attempts. Then the run is judged (verdict.h).
 *
 * What escapes the group (a daemon in a session of its own) is caught too: the runner is a
 * child subreaper while it runs (reap.h), so orphaned descendants are re-parented to it; each
 * is SIGKILLed and reaped as soon as the run its FAULTLINE_RUN_ID names is over, and whatever
 * is left (a daemon that cleared its environment) when the whole run ends.
 *
 * The calling program must ignore SIGPIPE (see serve/server.h): the mock servers write to
 * clients that the runner may kill mid-stream.
 */
#ifndef FL_RUN_H
#define FL_RUN_H

#include "judge/report.h"
#include "model/scenario.h"
#include "run/relay.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** ms between SIGTERM at the deadline and SIGKILL. */
#define FL_RUN_KILL_GRACE_MS 2000
/** ms the runner waits after the client exits before reading the journal. */
#define FL_RUN_SETTLE_MS 50
/** The dummy API key clients are given. */
#define FL_RUN_API_KEY "sk-faultline-dummy-key"

/** One run to do: a scenario and its repetition number. */
typedef struct fl_run_job_s {
    const fl_scenario_t *scenario; /* borrowed: must outlive fl_run_all */
    unsigned repeat;               /* 1-based */
} fl_run_job_t;

/** How to run. */
typedef struct fl_run_opts_s {
    const char *client; /* the command, run with /bin/sh -c */
    unsigned jobs;      /* runs at once (>= 1) */
    uint64_t seed;      /* recorded in the evidence and given to clients as FAULTLINE_SEED */
    bool exit_first;    /* true (-x): start no new run after the first that did not pass */
    bool file_order;    /* start runs in the order given (--order file); else the longest
                           scripted first (run/schedule.h) when jobs > 1 */
    FILE *progress;     /* where the live progress line goes (a terminal), or NULL for none */
    /* The bundled clients' folder, given to clients as FAULTLINE_CLIENTS; NULL: not given. */
    const char *clients_dir;
    /* A live upstream (`faultline run --upstream URL`): each run gets a proxy in front of it
     * (proxy/proxy.h) instead of a mock server, and the client keeps the caller's API keys.
     * The answer is then the one the upstream gave: see fl_run_live_answer. NULL: mock. */
    const char *upstream;
    const char *upstream_cacert; /* CA bundle for the upstream's TLS, or NULL */
    /* Relay mode (relay.h): NULL to run `client` as a client; else client is unused and each
     * run starts this relay with PORT set, plays the browser against it, then stops it. */
    const fl_relay_conf_t *relay;
} fl_run_opts_t;

/** What became of one job. */
typedef enum {
    FL_RUN_NOT_STARTED, /* never started: stopped after a failure (-x), or interrupted first */
    FL_RUN_CUT_SHORT,   /* its client was running when SIGINT/SIGTERM came, and was killed */
    FL_RUN_JUDGED,      /* finished and judged: its result is valid */
} fl_run_state_t;

/**
 * Runs every job (at most opts->jobs at once; with more than one at once and without
 * opts->file_order, the longest scripted first: run/schedule.h) and fills results[i] for job i with
 * its evidence and judgement, setting state[i]. Both arrays have n_jobs entries, zeroed by the
 * caller (zero is FL_RUN_NOT_STARTED). SIGINT/SIGTERM during the run stop it starting jobs,
 * SIGKILL every running client's process group (their jobs become FL_RUN_CUT_SHORT; a job
 * whose client had already exited is still judged) and end the run; *signo (may be NULL) is
 * set to that signal, else 0. Once interrupted, further SIGINT/SIGTERM are ignored so that the
 * caller can still write its reports. Returns 0, FL_ENOMEM, or FL_EINTR (interrupted; the
 * judged results are valid). The caller frees each judged result with fl_evidence_close.
 */
int fl_run_all(const fl_run_opts_t *opts, const fl_run_job_t *jobs, size_t n_jobs,
               fl_run_result_t *results, fl_run_state_t *state, int *signo);

/**
 * The answer a live run is judged against, from its proxy's journal (json: the journal's
 * object): the text the proxy relayed in the last attempt that ended whole with the stream's own
 * end marker (`data: [DONE]`, message_stop, response.completed, Gemini's finishReason). When no
 * attempt did, no whole answer ever reached the client: the answer is the longest text relayed
 * followed by U+2026, which no client can have printed, so exit 0 with the partial text is
 * judged a silent truncation. Returns a new string (caller frees) or NULL when out of memory.
 */
char *fl_run_live_answer(const json_t *journal);

#endif

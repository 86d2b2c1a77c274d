/*
 * Relay mode (README, "Relays under test"): one scenario's run of a relay, the server a
 * developer puts between the provider and the browser. The runner (run.c) starts the scenario's
 * mock server and the relay command, with the client contract's provider environment pointing at
 * the mock and PORT set to a free loopback port; this module then plays the browser: it waits,
 * bounded, for the relay to accept, sends the request, decodes the answer as it streams
 * (downstream/downstream.h) with the time of every byte, leaves early when the scenario's
 * `downstream: {disconnect_after_ms}` says so and then watches the relay's upstream requests for
 * FL_RELAY_CANCEL_BOUND_MS, and reports when it is done so that the runner stops the relay.
 */
#ifndef FL_RELAY_H
#define FL_RELAY_H

#include "downstream/downstream.h"
#include "judge/evidence.h"
#include "model/scenario.h"
#include "serve/journal.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

/** ms the relay's upstream requests may stay open after the browser leaves (then the finding
 * upstream_not_cancelled); the browser watches that long, plus FL_RELAY_LINGER_SLACK_MS. */
#define FL_RELAY_CANCEL_BOUND_MS 1000
#define FL_RELAY_LINGER_SLACK_MS 250
/** Default bound on the wait for the relay to accept its first connection (ms). */
#define FL_RELAY_START_MS 15000
/** ms between two tries to reach a relay that is not listening yet. */
#define FL_RELAY_RETRY_MS 40
/** From this many ms after its spawn, a relay still refusing connections on PORT is looked up
 * in /proc (every 10 refusals): listening elsewhere is a start error at once. */
#define FL_RELAY_PORT_CHECK_MS 1000

/** How to play the browser against a relay; the strings are borrowed for the whole run. */
typedef struct fl_relay_conf_s {
    const char *command;           /* the relay command, run with /bin/sh -c */
    fl_downstream_format_t format; /* --downstream */
    const char *url;               /* --relay-url: a template where {port} is PORT; NULL for
                                      "http://127.0.0.1:{port}/api/chat" */
    const char *request; /* --relay-request: a JSON template where {prompt} and {model} are the
                            scenario's as JSON strings; NULL for the format's default */
    uint64_t start_ms;   /* bound on the wait for the relay to accept (ms); 0 = the default */
} fl_relay_conf_t;

typedef struct fl_relay_s fl_relay_t;

/**
 * Starts playing the browser against a relay just spawned: pgid is its process group (its pid,
 * as it was started with setsid), port the PORT it was given, spawn_ms the loop time (uv_now) of
 * its spawn, jn the scenario's server journal (borrowed, for watching the upstream requests
 * after the browser leaves). done(arg) runs once on the loop when the browser is through: the
 * runner then stops the relay and calls fl_relay_result. Returns 0, FL_ENOMEM or FL_EIO.
 */
int fl_relay_start(uv_loop_t *loop, const fl_relay_conf_t *conf, const fl_scenario_t *sc,
                   const fl_journal_t *jn, int port, pid_t pgid, uint64_t spawn_ms,
                   void (*done)(void *arg), void *arg, fl_relay_t **out);

/**
 * Tells the browser the relay's process has exited (status, or the signal that ended it): while
 * it waits for the relay to accept, that ends the wait with a start error.
 */
void fl_relay_exited(fl_relay_t *r, int64_t status, int term_signal);

/** Whether the relay never accepted (a start error, quoted by fl_relay_result). */
bool fl_relay_start_failed(const fl_relay_t *r);

/**
 * Fills ev from what the browser saw (ev->relay, out, err, exit_kind, exit_code, wall_ms). ev->err
 * holds the relay's own stderr when called: a start error quotes its last lines, and then
 * it is replaced by the browser's error message (empty for a clean end). Returns 0 or FL_ENOMEM.
 */
int fl_relay_result(fl_relay_t *r, fl_evidence_t *ev);

/** Stops everything and frees r; done(arg) runs on the loop once its handles have closed. */
void fl_relay_free(fl_relay_t *r, void (*done)(void *arg), void *arg);

/**
 * The TCP ports on which the processes of group pgid listen, from /proc (net/tcp, net/tcp6 and
 * each process's fd links). Fills ports[0, max) and returns how many there are, or a negative
 * errno. Used to say "listens on the wrong port".
 */
int fl_relay_listening_ports(pid_t pgid, int *ports, size_t max);

#endif

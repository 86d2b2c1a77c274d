/*
 * What `faultline serve` and `faultline proxy` share once their listener exists: bind, print the
 * base URL on one line, run the loop until SIGINT or SIGTERM stops the listener, and close the
 * loop. The listener is reached through three calls, so each command keeps its own type.
 */
#ifndef FL_CLI_LISTEN_H
#define FL_CLI_LISTEN_H

#include <uv.h>

/** A listener as the loop below drives it. */
typedef struct fl_cli_listener_s {
    void *obj; /* the server or proxy (borrowed; stop frees it) */
    /** Binds host:port (0 = ephemeral) and listens. Returns 0 or a libuv/Faultline error. */
    int (*start)(void *obj, const char *host, int port);
    /** The bound port. */
    int (*port)(const void *obj);
    /** Closes everything, frees obj, then cb(arg) (cb may be NULL). */
    void (*stop)(void *obj, void (*cb)(void *arg), void *arg);
} fl_cli_listener_t;

/**
 * Starts l on host:port, prints `http://HOST:PORT` on stdout, runs loop until SIGINT or SIGTERM
 * has stopped l, and closes loop. Messages go to stderr prefixed with `faultline CMD:` (cmd is
 * "serve" or "proxy"). Returns the exit status: 0 after a stop by signal, 1 when l could not
 * listen or handles were left open. l is stopped (and freed) in every case.
 */
int fl_cli_listen_run(uv_loop_t *loop, const char *cmd, const char *host, int port,
                      const fl_cli_listener_t *l);

/** Parses a decimal number of at most max (no sign, no junk). Returns 0 and sets *out, or -1. */
int fl_cli_parse_size(const char *s, unsigned long long max, unsigned long long *out);

#endif

/*
 * The mock server: an HTTP/1.1 listener on a caller's uv_loop_t that answers the providers'
 * API paths from scripted scenarios, plus control routes under /_faultline/.
 *
 * Several servers may share one loop. The server borrows the scenario set (which must outlive
 * it) and owns its listener, connections and journal. Routes and scenario choice are described
 * in route.h; how a request's answer becomes a wire plan (encode, fault plan, chaos compile) in
 * reply.h; a connection's life in conn.c; the timed sending of one wire plan in stream.h.
 * Hostile peers are bounded: a request's head and body each have a deadline (408), a head a
 * size limit (431, refused at the first byte past it), a body a size limit (413), an idle
 * keep-alive connection is closed, and the journal is bounded in entries and bytes.
 *
 * SIGPIPE: libuv writes to sockets with write(2), not send(2) with MSG_NOSIGNAL, so a write to a
 * connection the client has reset raises SIGPIPE, whose default action kills the process. The
 * program that embeds the server must ignore SIGPIPE (sigaction with SIG_IGN, as the faultline
 * program does in harness/cli/main.c) before fl_server_start; the write then fails with EPIPE
 * and the answer is journaled as client_closed.
 *
 * Threads (opts.threads > 1): the caller's loop then runs only the acceptor, which accepts on
 * the one listening socket and hands each connection, round-robin, to one of `threads` worker
 * loops, each on a thread of its own; a connection lives on its worker's loop from then on, so
 * its timing (the streamer's timer, its deadlines) runs there. What the loops share (the journal,
 * the per-scenario attempt counters, the reply-template cache, the response-id counter, the
 * hand-off queues) is guarded by one mutex, taken only in conn.c around each use (server_int.h
 * lists them); a request's attempt number is taken under it when its route is decided, so
 * attempts stay exact and ordered per scenario. fl_server_stop asks every worker to close its
 * connections, joins the threads, then frees the server on the caller's loop. With threads 0
 * or 1 everything runs on the caller's loop and no lock is taken (as `faultline run` uses it).
 */
#ifndef FL_SERVER_H
#define FL_SERVER_H

#include "base/error.h"
#include "model/scenario.h"
#include "serve/journal.h"

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/**
 * Loads one scenario from text (YAML, or JSON, which is YAML) for POST /_faultline/scenarios:
 * the signature of load/load.h fl_scenario_load_string, which the program passes down (serve
 * cannot link the loader, a layer beside it). name names the text in diagnostics.
 */
typedef int (*fl_server_load_fn)(const char *name, const char *text, size_t len,
                                 fl_scenario_t **out, fl_diag_list_t *diags);

/**
 * Judges a run on request (POST /_faultline/judge) with the harness's verdict code, which the
 * program passes down (serve cannot include the harness). sc is the scenario judged (borrowed),
 * journal its entries in the session ({"requests":[...]}, as fl_journal_to_json builds it),
 * spawn_ms and now_ms times on the journal's clock (ms since its t0): when the test began (the
 * session's creation) and now; request the request's JSON object (output, exit_code,
 * error_message...). Returns 0 and sets *out to a new reference (the answer's body), FL_EINVAL
 * with a message in err (err_len bytes; the answer is 400), or FL_ENOMEM.
 */
typedef int (*fl_server_judge_fn)(void *arg, const fl_scenario_t *sc, const json_t *journal,
                                  uint64_t spawn_ms, uint64_t now_ms, const json_t *request,
                                  json_t **out, char *err, size_t err_len);

/** Tunables; zero fields take the defaults. */
typedef struct fl_server_opts_s {
    size_t max_body;      /* request body limit in bytes (default 8 MiB; larger → 413) */
    size_t max_header;    /* request head limit in bytes: request line, headers, line ends
                             (default 64 KiB; one byte more → 431 at once) */
    size_t journal_size;  /* entries kept (default FL_JOURNAL_DEFAULT_CAPACITY) */
    size_t max_pipeline;  /* parsed requests queued per connection before reads pause (32) */
    size_t high_water;    /* write-queue bytes above which streaming pauses (1 MiB) */
    size_t low_water;     /* write-queue bytes below which it resumes (256 KiB) */
    size_t journal_bytes; /* bytes of journal entries kept (default FL_JOURNAL_DEFAULT_BYTES) */
    /* Request deadlines, in ms, on a timer of the connection's own (never the stream's): */
    uint64_t header_timeout_ms; /* from a request's first byte (from accept for the first
                                   request) to the end of its head; then 408 (default 10000) */
    uint64_t body_timeout_ms;   /* from the end of a head to the end of its body; then 408
                                   (default 30000) */
    uint64_t idle_timeout_ms;   /* a keep-alive connection with no request in progress and no
                                   response is closed with FIN after this (default 60000) */
    fl_server_load_fn load;     /* NULL: POST /_faultline/scenarios answers 501 */
    fl_server_judge_fn judge;   /* NULL: POST /_faultline/judge answers 501 */
    void *judge_arg;            /* passed to judge */
    unsigned threads;           /* worker loops, each on its own thread, 2..FL_SERVER_MAX_THREADS;
                                   0 or 1: connections run on the caller's loop (default) */
} fl_server_opts_t;

/** Most worker loops one server runs (fl_server_opts_t.threads). */
#define FL_SERVER_MAX_THREADS 64

typedef struct fl_server_s fl_server_t;

/** Called once the stopped server has closed every handle and freed itself. */
typedef void (*fl_server_stop_cb)(void *arg);

/**
 * Creates a server on loop answering from scenarios (borrowed: must outlive the server; may be
 * empty when scenarios are added at runtime, POST /_faultline/scenarios). opts may be NULL.
 * Nothing is registered on the loop until fl_server_start.
 * Returns 0 and sets *out, or FL_ENOMEM / FL_EINVAL (scenarios NULL, low_water > high_water, or
 * threads above FL_SERVER_MAX_THREADS).
 */
int fl_server_new(uv_loop_t *loop, const fl_scenario_set_t *scenarios, const fl_server_opts_t *opts,
                  fl_server_t **out);

/**
 * Binds host (an IPv4 or IPv6 literal) and port (0 = ephemeral) and starts listening.
 * With threads, also starts the worker threads and their loops.
 * Returns 0 or a libuv error (UV_EADDRINUSE, UV_EINVAL for a bad address, UV_EAGAIN when a thread
 * cannot start...). After a failure, call fl_server_stop to release the server.
 */
int fl_server_start(fl_server_t *srv, const char *host, int port);

/** The bound port (after a successful fl_server_start), or -1. */
int fl_server_port(const fl_server_t *srv);

/**
 * Closes the listener and every connection (in-flight streams end as server_fault), frees
 * everything once all handles are closed, then calls cb(arg) (cb may be NULL). The server
 * pointer is invalid once cb runs. Calling it twice is a no-op.
 */
void fl_server_stop(fl_server_t *srv, fl_server_stop_cb cb, void *arg);

/** The server's journal (owned by the server; valid until the server is stopped). With threads,
 * worker loops write it concurrently: read it only from a connection (the control routes) or
 * once the server has stopped. */
fl_journal_t *fl_server_journal(fl_server_t *srv);

/** Clears the journal and every attempt counter of every scope, sessions' included (what POST
 * /_faultline/reset does). Sessions and runtime scenarios stay. */
void fl_server_reset(fl_server_t *srv);

struct fl_record_s;
/**
 * Records every exchange answered from now on (not the /_faultline/ control routes) into rec
 * (serve/record.h; borrowed, must outlive the server and its loop run). NULL stops recording.
 */
void fl_server_set_record(fl_server_t *srv, struct fl_record_s *rec);

#endif

/*
 * Server internals shared by server.c (listener, lifecycle), conn.c (one connection) and
 * route.c (one request → which reply). Not part of the public API.
 */
#ifndef FL_SERVER_INT_H
#define FL_SERVER_INT_H

#include "base/container_of.h"
#include "serve/http.h"
#include "serve/journal.h"
#include "serve/record.h"
#include "serve/reply_cache.h"
#include "serve/server.h"
#include "serve/session.h"
#include "serve/stream.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct fl_conn_s fl_conn_t;

/** One worker loop of a threaded server (server.h, "Threads"). */
typedef struct fl_worker_s {
    fl_server_t *srv; /* borrowed */
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;     /* fds were queued, or the server is stopping */
    fl_conn_t *conns;    /* its live connections; touched by its own thread only */
    uv_os_sock_t *queue; /* accepted sockets not yet taken by its loop (srv->lock) */
    size_t n_queue, cap_queue;
    bool stop; /* the server is stopping: close everything, end the loop (srv->lock) */
} fl_worker_t;

struct fl_server_s {
    uv_loop_t *loop; /* borrowed */
    uv_tcp_t listener;
    bool listener_init;                 /* listener was uv_tcp_init'ed (so needs uv_close) */
    const fl_scenario_set_t *scenarios; /* borrowed: the scenario files */
    fl_sessions_t sessions; /* sessions, runtime scenarios and attempt counters: all the state
                               the control API changes, in one place (session.h) */
    fl_server_opts_t opts;
    fl_journal_t journal;
    fl_reply_cache_t cache; /* reply templates (reply_cache.h) */
    fl_conn_t *conns;       /* owned list of live connections */
    size_t pending_closes;  /* handles (listener, connections) still closing */
    bool stopping;
    fl_server_stop_cb stop_cb;
    void *stop_arg;
    uint64_t next_id; /* response counter for unique ids */
    uint32_t id_salt; /* per-server, so ids differ across servers and runs */
    int port;
    fl_record_t *record; /* borrowed or NULL: every exchange is recorded (serve --record) */

    /* Threads (opts.threads > 1). The one lock guards everything worker loops share: journal,
     * sessions (attempt counters, runtime scenarios), cache, next_id, each worker's queue and
     * stop flag, workers_ended. It is taken
     * in conn.c only, around each use (fl_server__lock): routing a request (route.c: journal
     * entry, attempt number, reply template, id), a journal entry's progress and end, a
     * journal page; and in server.c for the hand-off queues. Writes to sockets happen outside
     * it, so loops send their events in parallel. */
    bool threaded;
    uv_mutex_t lock;
    fl_worker_t *workers; /* owned: opts.threads entries */
    size_t n_started;     /* workers whose thread runs (or ran) */
    size_t next_worker;   /* round-robin hand-off */
    size_t workers_ended; /* workers whose loop has returned (lock) */
    uv_os_sock_t listen_fd;
    uv_poll_t acceptor; /* on srv->loop: the listening socket is readable */
    bool acceptor_init;
    uv_async_t ended; /* on srv->loop: a worker's loop has returned */
    bool ended_init;
};

/** Which request deadline a connection's request timer stands for. */
typedef enum {
    FL_REQ_TIMER_NONE,   /* stopped: a response is being sent, or the connection is ending */
    FL_REQ_TIMER_IDLE,   /* keep-alive with nothing in progress: FIN when it fires */
    FL_REQ_TIMER_HEADER, /* a request's head is due: 408 when it fires */
    FL_REQ_TIMER_BODY,   /* a request's body is due: 408 when it fires */
} fl_req_timer_t;

/** The journal's body being written a batch at a time (GET /_faultline/journal); exists only
 * until the body is all queued. */
typedef struct fl_journal_writer_s {
    bool chunked;           /* chunked coding; else the body ends at FIN */
    bool close;             /* FIN once it is all queued */
    fl_journal_page_t page; /* where the next batch starts */
    fl_buf_t batch;         /* scratch for a batch's JSON text; kept while active */
} fl_journal_writer_t;

/** One client connection. Freed when its last handle has closed. */
struct fl_conn_s {
    uv_tcp_t tcp;
    fl_stream_t stream; /* its timer is the connection's second handle */
    uv_timer_t linger;  /* bounds the wait for the client's FIN after ours */
    uv_timer_t request; /* the request deadline (fl_req_timer_t); never the stream's timer */
    fl_req_timer_t request_timer;
    bool answered;                /* a response has begun: the next idle wait is the idle timeout */
    fl_journal_writer_t *journal; /* owned: the journal's body while it is being written, else
                                     NULL (a pointer: 352 bytes no streaming connection needs) */
    uv_shutdown_t shutdown_req;
    fl_server_t *srv;           /* borrowed */
    fl_conn_t *prev, *next;     /* in srv->conns, or its worker's conns */
    fl_worker_t *w;             /* borrowed: its worker loop, or NULL on srv->loop */
    fl_http_parser_t *parser;   /* owned */
    fl_fault_record_t evidence; /* of the response being sent */
    int pending_closes;
    bool reading;     /* uv_read_start is in effect */
    bool eof;         /* the client has sent FIN */
    bool parse_error; /* the parser failed; answer once earlier requests are done */
    bool last_reply;  /* the reply sent last said connection: close; answer nothing more */
    bool shutting;    /* FIN queued or sent: no more responses */
    bool closing;     /* uv_close called */
    bool rst_pending; /* RST once the queued writes have reached the kernel */
    fl_end_t rst_end; /* the journal's end for that RST */
    bool has_entry;   /* entry_seq names the journal entry of the response being streamed */
    uint64_t entry_seq;
    fl_record_exchange_t *rec; /* owned or NULL: the exchange being recorded (record.h) */
};

/**
 * Accepts a connection on the listener (w NULL) or, for worker w, takes fd (an accepted socket,
 * owned from now on, closed on failure) onto w's loop; starts reading. Returns 0 or a libuv
 * error.
 */
int fl_conn__accept(fl_server_t *srv, fl_worker_t *w, uv_os_sock_t fd);

/** Closes a connection at once (RST when rst); a streamed response ends as end. */
void fl_conn__close(fl_conn_t *c, fl_end_t end, bool rst);

/** Called by conn.c when a connection's memory is gone, so stop can complete. */
void fl_server__conn_closed(fl_server_t *srv, fl_conn_t *c);

/** Takes the server's one lock when it is threaded (see fl_server_s); else does nothing. */
void fl_server__lock(fl_server_t *srv);
/** Releases what fl_server__lock took. */
void fl_server__unlock(fl_server_t *srv);

/** The current time in ms on the clock of uv_now (libuv's monotonic clock), read afresh: the
 * journal's arrival times from any loop. */
uint64_t fl_server__now(fl_server_t *srv);

#endif

/*
 * Server internals shared by server.c (listener, lifecycle), conn.c (one connection) and
 * route.c (one request → one reply). Not part of the public API.
 */
#ifndef FL_SERVER_INT_H
#define FL_SERVER_INT_H

#include "base/buf.h"
#include "chaos/chaos.h"
#include "base/container_of.h"
#include "serve/http.h"
#include "serve/journal.h"
#include "encode/script.h"
#include "serve/server.h"
#include "serve/stream.h"
#include "chaos/wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct fl_conn_s fl_conn_t;
typedef struct fl_reply_tmpl_s fl_reply_tmpl_t;

/** A server's reply templates, one per streamed reply variant seen (reply_cache.h). */
typedef struct fl_reply_cache_s {
    fl_reply_tmpl_t *list; /* owned: every variant seen, cacheable or not */
} fl_reply_cache_t;

struct fl_server_s {
    uv_loop_t *loop; /* borrowed */
    uv_tcp_t listener;
    bool listener_init;                 /* listener was uv_tcp_init'ed (so needs uv_close) */
    const fl_scenario_set_t *scenarios; /* borrowed */
    uint64_t *attempts;                 /* owned: per scenario (by index), since start or reset */
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
};

/**
 * What the journal needs to interpret a wire plan while it runs: the faults it was compiled
 * from (to name and describe a FIRE op) and where the clean events end (to count whole events
 * from a plan op's clean body offset). Owned by the reply, then by the connection.
 */
typedef struct fl_fault_record_s {
    fl_fault_t *faults; /* owned (fl_plan_free) or NULL */
    size_t n_faults;
    uint64_t *event_ends; /* owned or NULL: clean body offset just past each clean event */
    size_t n_events;
    uint64_t body_len;       /* clean body bytes */
    uint64_t stall_until_ms; /* response time until which a fault keeps the server silent */
} fl_fault_record_t;

/** Frees what the evidence owns and empties it. */
void fl_fault_record_close(fl_fault_record_t *ev);

/** One client connection. Freed when its last handle has closed. */
struct fl_conn_s {
    uv_tcp_t tcp;
    fl_stream_t stream; /* its timer is the connection's second handle */
    uv_timer_t linger;  /* bounds the wait for the client's FIN after ours */
    uv_shutdown_t shutdown_req;
    fl_server_t *srv;           /* borrowed */
    fl_conn_t *prev, *next;     /* in srv->conns */
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
};

/** Accepts a connection on the listener and starts reading. Returns 0 or a libuv error. */
int fl_conn_accept(fl_server_t *srv);

/** Closes a connection at once (RST when rst); a streamed response ends as end. */
void fl_conn_close(fl_conn_t *c, fl_end_t end, bool rst);

/** Called by conn.c when a connection's memory is gone, so stop can complete. */
void fl_server_conn_closed(fl_server_t *srv, fl_conn_t *c);

/** One request's answer, as route.c decides it and conn.c sends it. */
typedef struct fl_reply_s {
    fl_buf_t out;   /* scratch: the head (and a whole body) while routing decides */
    fl_wire_t plan; /* what goes on the wire, when, and how it ends */
    fl_fault_record_t evidence;
    bool close;     /* FIN after this response */
    bool has_entry; /* entry_seq is the journal entry for this request */
    uint64_t entry_seq;
} fl_reply_t;

/** Frees what the reply owns. */
void fl_reply_close(fl_reply_t *r);

/**
 * Decides the reply to req: routing, scenario choice, encoding, journal entry, attempt count.
 * Returns 0 (r filled; an error reply is still a reply) or FL_ENOMEM.
 */
int fl_route_request(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r);

/** A JSON error reply {"error":{"message":...}} for input that never became a request. */
int fl_route_error_reply(fl_server_t *srv, int status, const char *message, fl_reply_t *r);

#endif

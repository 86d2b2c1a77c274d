/*
 * Proxy internals shared by proxy.c (listener, connections, the exchange and its executor),
 * upstream.c (libcurl's multi interface on the loop) and record.c (captures). Not public.
 */
#ifndef FL_PROXY_INT_H
#define FL_PROXY_INT_H

#include "base/buf.h"
#include "encode/dialect.h"
#include "model/capture.h"
#include "model/fault.h"
#include "proxy/curl_loop.h"
#include "proxy/live.h"
#include "proxy/proxy.h"
#include "serve/http.h"
#include "serve/journal.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

typedef struct fl_pconn_s fl_pconn_t;
typedef struct fl_xchg_s fl_xchg_t;

struct fl_proxy_s {
    uv_loop_t *loop; /* borrowed */
    uv_tcp_t listener;
    bool listener_init;
    const fl_scenario_set_t *scenarios; /* borrowed */
    uint64_t *attempts;                 /* owned: per scenario, since start or reset */
    fl_proxy_opts_t opts;               /* strings owned (copies) */
    fl_journal_t journal;
    fl_curl_loop_t curl;   /* libcurl's multi interface on the loop (curl_loop.h) */
    fl_pconn_t *conns;     /* owned list */
    size_t pending_closes; /* handles and capture writes still to finish before stop is done */
    bool stopping;
    fl_proxy_stop_cb stop_cb;
    void *stop_arg;
    uint64_t next_id;
    uint32_t id_salt;
    int port;
    uint64_t record_seq;     /* captures started */
    uint64_t record_written; /* captures on disk */
    uint64_t record_dropped; /* captures given up (bound, write error) */
    size_t record_pending;   /* bytes of captures queued for the thread pool */
};

/** One request and its answer, from the request's arrival to its end. */
struct fl_xchg_s {
    fl_pconn_t *conn;       /* borrowed: the connection it answers on */
    fl_http_request_t *req; /* owned */
    fl_dialect_t dialect;   /* of the path (openai-chat when no dialect path matched) */
    fl_fault_t *faults;     /* owned (fl_plan_free) */
    size_t n_faults;
    fl_live_t *live; /* owned */
    bool has_entry;
    uint64_t entry_seq;
    uint64_t t0; /* uv_now when the request was complete */
    char id[FL_ENCODE_ID_LEN + 1];
    /* the upstream side (upstream.c) */
    CURL *easy;              /* owned while in the multi */
    struct curl_slist *hdrs; /* owned */
    char *url;               /* owned */
    bool in_multi;
    bool paused;                     /* the transfer is paused (the client is slow) */
    bool cancel;                     /* the write callback aborts the transfer */
    bool in_cb;                      /* inside libcurl's header or write callback */
    bool orphan;                     /* ended inside a callback: freed when libcurl reports done */
    int up_status;                   /* 0 until a final head came */
    fl_buf_t up_head;                /* the head's lines as they come */
    fl_capture_header_t *up_headers; /* owned: the final head's headers (for the capture) */
    size_t n_up_headers;
    char up_reason[64];
    bool head_done;
    int64_t up_ttfb_ms, up_last_ms; /* after t0; -1 until known */
    const char *up_end;             /* static: complete, fin, rst, timeout, unreachable, tls,
                                       cancelled, not_called; NULL while it runs */
    char up_detail[192];
    /* the client side */
    bool chunked;     /* the client's body is chunked (else it ends at FIN) */
    bool close_after; /* connection: close after this answer */
    int status;       /* sent to the client */
    fl_buf_t qbytes;  /* bytes of the queued actions */
    fl_live_act_t *q; /* actions waiting for a WAIT to pass */
    size_t qn, qcap, qhead;
    bool waiting;        /* a WAIT is in effect */
    bool pinging;        /* the wait (or the end) sends pings */
    uint64_t wait_until; /* uv_now when the WAIT ends */
    uint64_t ping_every;
    fl_buf_t ping; /* the ping bytes */
    bool ended;    /* END was carried out */
    bool hang;     /* HANG or PING: silent until the client goes */
    uint64_t events_sent;
    fl_live_relayed_t *relayed; /* owned or NULL: what the client got (opts.collect_text) */
    /* the capture (record.c), NULL when not recording */
    fl_buf_t *cap;
    bool cap_truncated;
};

/** One client connection; one exchange at a time (pipelined requests wait in the parser). */
struct fl_pconn_s {
    uv_tcp_t tcp;
    uv_timer_t wait_timer; /* the executor's: waits and pings */
    uv_timer_t tick_timer; /* the live applier's timed faults */
    uv_shutdown_t shutdown_req;
    fl_proxy_t *p; /* borrowed */
    fl_pconn_t *prev, *next;
    fl_http_parser_t *parser; /* owned */
    fl_xchg_t *x;             /* owned: the exchange being answered, or NULL */
    int pending_closes;
    bool reading, eof, shutting, closing;
    bool rst_pending; /* RST once the queued writes have reached the kernel */
};

/* proxy.c */
/** Queues the live applier's new actions, carries out what is due. */
void fl_proxy__pump(fl_xchg_t *x);
/** The upstream transfer is over (result from libcurl). */
void fl_proxy__upstream_done(fl_xchg_t *x, CURLcode result);
/** The final response head of the upstream has come (x->up_status, headers). */
void fl_proxy__upstream_head(fl_xchg_t *x);
/** True when the client is behind: the upstream transfer should pause. */
bool fl_proxy__backlogged(const fl_xchg_t *x);

/** One handle or capture write that stop waits for is finished; completes stop after the last. */
void fl_proxy__closed_one(fl_proxy_t *p);

/* upstream.c */
/** A transfer finished (fl_curl_loop_done_cb, arg the proxy): hands it to its exchange. */
void fl_proxy__curl_done(void *arg, CURL *easy, CURLcode result);
/** Starts the upstream request of x. Returns 0, FL_ENOMEM or FL_EIO. */
int fl_proxy__upstream_start(fl_xchg_t *x);
/** Cancels x's transfer at once (curl_multi_remove_handle) and frees it; idempotent. */
void fl_proxy__upstream_cancel(fl_xchg_t *x);
/** Resumes a paused transfer. */
void fl_proxy__upstream_resume(fl_xchg_t *x);

/* record.c */
/** Starts x's capture: header and request lines. Returns 0 or FL_ENOMEM. */
int fl_proxy__record_begin(fl_xchg_t *x);
/** The response line from the head the client got (status, reason, headers). */
void fl_proxy__record_response(fl_xchg_t *x, const char *head, size_t len);
/** One write line. */
void fl_proxy__record_write(fl_xchg_t *x, const void *bytes, size_t len,
                            fl_capture_origin_t origin);
/** The end line, then the file is written off the loop thread (uv_queue_work). */
void fl_proxy__record_end(fl_xchg_t *x, fl_capture_end_t how, const char *detail);

#endif

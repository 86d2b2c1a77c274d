/*
 * `faultline proxy`: an HTTP/1.1 listener on a caller's uv_loop_t that forwards each request to
 * a live upstream (a provider, a gateway, a relay) and streams its answer back as it arrives,
 * write for write, with a scenario attempt's faults applied to the live stream (live.h).
 *
 * The upstream side is libcurl's multi interface driven by the same loop (the socket-action
 * pattern of libcurl's "multi-uv" example: CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION
 * with one uv_poll_t per socket and one uv_timer_t), so HTTPS, HTTP/2, HTTPS_PROXY / NO_PROXY
 * and CA settings behave as for any curl user. Each upstream read is one write to the client; a
 * slow client pauses the upstream transfer (CURL_WRITEFUNC_PAUSE) until its queue drains; a
 * client that leaves cancels the upstream request at once (curl_multi_remove_handle).
 *
 * Scenario choice is serve's (serve/route.h): the x-faultline-scenario header, the /s/NAME/
 * prefix (stripped before forwarding), the body's model naming a scenario of the path's
 * dialect, else the first scenario of that dialect; the Nth request of a scenario gets attempt
 * N's faults. A request no scenario matches is relayed clean. The scenario's `response:` is not
 * used: the upstream answers.
 *
 * Secrets: request headers (authorization, x-api-key, ...) reach the upstream untouched; the
 * journal and the captures get them redacted (model/capture.h fl_capture_secret_header) and
 * nothing is logged. The journal has serve's fields plus "upstream": its status, ttfb_ms and
 * last_byte_ms (ms after the request was complete), how its body ended and a detail.
 * Control routes are serve's: GET /_faultline/health, GET /_faultline/journal, POST
 * /_faultline/reset.
 */
#ifndef FL_PROXY_H
#define FL_PROXY_H

#include "model/scenario.h"
#include "serve/journal.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Settings; strings are copied. Zero fields take the defaults. */
typedef struct fl_proxy_opts_s {
    const char *upstream;        /* base URL, e.g. "https://api.openai.com" (required); a path
                                    in it is kept in front of the request's path only when the
                                    request's path does not start with it */
    const char *cacert;          /* CA bundle file for the upstream's TLS (CURLOPT_CAINFO), or
                                    NULL: curl's default */
    const char *record_dir;      /* write one capture per exchange there, or NULL */
    uint64_t connect_timeout_ms; /* to reach the upstream (default 10000); then 504 */
    size_t max_body;             /* request body limit (default 8 MiB; larger gets 413) */
    size_t journal_size;         /* entries kept (default FL_JOURNAL_DEFAULT_CAPACITY) */
    size_t high_water;           /* client write-queue bytes that pause the upstream (1 MiB) */
    bool collect_text;           /* the journal's "relayed": the answer text each client got
                                    and whether the stream's end marker was among it
                                    (live.h fl_live_relayed_t), for `faultline run --upstream` */
} fl_proxy_opts_t;

typedef struct fl_proxy_s fl_proxy_t;

/** Called once the stopped proxy has closed every handle and freed itself. */
typedef void (*fl_proxy_stop_cb)(void *arg);

/**
 * Creates a proxy on loop with faults from scenarios (borrowed: must outlive the proxy; may be
 * empty: every request is relayed clean). Returns 0 and sets *out, or FL_EINVAL (no upstream,
 * or not http:// nor https://), FL_ENOMEM, FL_EIO (libcurl could not start).
 */
int fl_proxy_new(uv_loop_t *loop, const fl_scenario_set_t *scenarios, const fl_proxy_opts_t *opts,
                 fl_proxy_t **out);

/** Binds host:port (0 = ephemeral) and listens. Returns 0 or a libuv error; after a failure
 * call fl_proxy_stop. */
int fl_proxy_start(fl_proxy_t *p, const char *host, int port);

/** The bound port, or -1. */
int fl_proxy_port(const fl_proxy_t *p);

/** The journal (owned by the proxy; valid until it stops). */
fl_journal_t *fl_proxy_journal(fl_proxy_t *p);

/** Captures written, and dropped (over the pending-write bound or a write error), so far. */
void fl_proxy_record_counts(const fl_proxy_t *p, uint64_t *written, uint64_t *dropped);

/**
 * Closes the listener, every connection and every upstream transfer; waits for captures being
 * written; frees everything; then cb(arg) (may be NULL). Calling it twice is a no-op.
 */
void fl_proxy_stop(fl_proxy_t *p, fl_proxy_stop_cb cb, void *arg);

#endif

/*
 * libcurl's multi interface driven by a libuv loop: the socket-action pattern of libcurl's
 * docs/examples/multi-uv.c. libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION: one
 * uv_poll_t each) and when to time out (CURLMOPT_TIMERFUNCTION: one uv_timer_t); the loop
 * reports readiness back with curl_multi_socket_action, and each finished transfer comes out of
 * curl_multi_info_read to the owner's callback. The one upstream HTTP client of Faultline: the
 * proxy's upstream side (upstream.c) and relay mode's browser (harness/run/browser.c) use it.
 */
#ifndef FL_CURL_LOOP_H
#define FL_CURL_LOOP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

/**
 * Called for each finished transfer (CURLMSG_DONE) with its easy handle and result. The callee
 * may remove and free the handle, add others, or close the curl loop (no further message is
 * then delivered).
 */
typedef void (*fl_curl_loop_done_cb)(void *arg, CURL *easy, CURLcode result);

/** One multi handle on one loop. Embed it in its owner; the fields are private to curl_loop.c. */
typedef struct fl_curl_loop_s {
    uv_loop_t *loop;
    CURLM *multi; /* owned; add and remove easy handles with curl_multi_add/remove_handle */
    uv_timer_t timer;
    fl_curl_loop_done_cb done;
    void *arg;
    int running;   /* transfers libcurl still runs */
    unsigned open; /* handles not closed yet: the timer and one uv_poll_t per watched socket */
    bool closing;
    void (*closed)(void *arg);
    void *closed_arg;
} fl_curl_loop_t;

/**
 * Sets up cl on loop (curl_global_init on first use: call it from one thread). done is called
 * for every finished transfer. Returns 0, FL_EIO (libcurl could not start) or FL_ENOMEM.
 */
int fl_curl_loop_init(fl_curl_loop_t *cl, uv_loop_t *loop, fl_curl_loop_done_cb done, void *arg);

/**
 * Adds easy to cl's multi handle with its sockets close-on-exec: libcurl opens them without
 * it, and a process spawned on the loop meanwhile (a client, a relay) would inherit an open
 * connection, so the peer never saw it close. Returns 0 or FL_ENOMEM.
 */
int fl_curl_loop_add(fl_curl_loop_t *cl, CURL *easy);

/**
 * Frees the multi handle (remove every easy handle first: they stay the caller's) and closes
 * the timer and the sockets' polls; closed(arg) runs once the last handle is closed, after which
 * cl's memory may go. Call once.
 */
void fl_curl_loop_close(fl_curl_loop_t *cl, void (*closed)(void *arg), void *arg);

#endif

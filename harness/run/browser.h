/*
 * The harness-browser of relay mode: one HTTP request at a time to a relay, made with libcurl's
 * multi interface driven by the libuv loop (curl's own "multi-uv" pattern: curl tells which
 * sockets to watch and when to wake it; uv_poll_t and uv_timer_t do the watching). libcurl
 * parses the response (status, headers, chunked framing); the browser hands the body on as it
 * arrives, with the loop's time, and says how the transfer ended: cleanly, or aborted (RST, a
 * chunked body cut without its terminator, a Content-Length not reached).
 */
#ifndef FL_BROWSER_H
#define FL_BROWSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fl_browser_s fl_browser_t;

/** What the browser reports; arg is the one given to fl_browser_new. */
typedef struct fl_browser_cbs_s {
    /** The response head arrived with this HTTP status. */
    void (*on_head)(void *arg, int status);
    /** n body bytes (HTTP framing removed); p is valid only during the call. */
    void (*on_body)(void *arg, const char *p, size_t n);
    /** Any response byte arrived (head or body, a heartbeat comment included). */
    void (*on_byte)(void *arg);
    /**
     * The transfer ended. connected: a connection was made (false: refused, nothing
     * listening). clean: the response ended as its framing says. why: curl's words when not
     * clean ("" when clean). Not called after fl_browser_abort.
     */
    void (*on_done)(void *arg, bool connected, bool clean, const char *why);
} fl_browser_cbs_t;

/**
 * Makes a browser on loop. Returns 0, FL_ENOMEM, or FL_EIO (libcurl would not start). The
 * callbacks (copied) get arg.
 */
int fl_browser_new(uv_loop_t *loop, const fl_browser_cbs_t *cbs, void *arg, fl_browser_t **out);

/**
 * Starts a POST of body (a JSON text, copied) to url (copied). One request at a time: returns
 * FL_EINVAL when one is under way, FL_ENOMEM, or 0.
 */
int fl_browser_post(fl_browser_t *b, const char *url, const char *body);

/** Leaves: the connection is closed at once (the user closed the tab). No callback follows. */
void fl_browser_abort(fl_browser_t *b);

/**
 * Aborts any request and closes the browser's handles; done(arg) runs once the last has closed
 * (on the loop), after which the browser is freed.
 */
void fl_browser_free(fl_browser_t *b, void (*done)(void *arg), void *arg);

#endif

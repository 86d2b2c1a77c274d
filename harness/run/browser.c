/*
 * The harness-browser (browser.h). curl asks, through CURLMOPT_SOCKETFUNCTION, for a socket to
 * be watched for reading and/or writing, or forgotten; each watched socket gets a uv_poll_t,
 * assigned to it with curl_multi_assign. Through CURLMOPT_TIMERFUNCTION it asks to be woken
 * after some ms; one uv_timer_t does that. Every wake-up calls curl_multi_socket_action and then
 * reads curl's messages for the finished transfer.
 */
#include "run/browser.h"

#include "base/error.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

typedef struct poll_ctx_s {
    uv_poll_t poll;
    curl_socket_t fd;
    fl_browser_t *b;
} poll_ctx_t;

struct fl_browser_s {
    uv_loop_t *loop;
    fl_browser_cbs_t cbs;
    void *arg;
    CURLM *multi;
    CURL *easy;       /* the transfer under way, or NULL */
    uv_timer_t timer; /* curl's timeout */
    char *url, *body;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    bool head_seen;
    int pending; /* handles being closed */
    void (*done)(void *arg);
    void *done_arg;
    bool freeing;
};

/* One handle closed while freeing: the last frees the browser. */
static void release(fl_browser_t *b)
{
    if (--b->pending > 0 || !b->freeing)
        return;
    void (*done)(void *) = b->done;
    void *arg = b->done_arg;
    free(b);
    if (done)
        done(arg);
}

static void poll_closed(uv_handle_t *h)
{
    poll_ctx_t *c = h->data;
    fl_browser_t *b = c->b;
    free(c);
    release(b);
}

static void timer_closed(uv_handle_t *h)
{
    release(h->data);
}

/* curl is done with the socket (CURL_POLL_REMOVE): it forgets the assignment itself. */
static void forget_socket(fl_browser_t *b, poll_ctx_t *c)
{
    if (!c)
        return;
    uv_poll_stop(&c->poll);
    b->pending++;
    uv_close((uv_handle_t *)&c->poll, poll_closed);
}

static void end_transfer(fl_browser_t *b)
{
    if (!b->easy)
        return;
    curl_multi_remove_handle(b->multi, b->easy); /* closes its connection (FORBID_REUSE) */
    curl_easy_cleanup(b->easy);
    b->easy = NULL;
    curl_slist_free_all(b->headers);
    b->headers = NULL;
}

static void check_done(fl_browser_t *b)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->multi, &left))) {
        if (m->msg != CURLMSG_DONE || m->easy_handle != b->easy)
            continue;
        CURLcode rc = m->data.result;
        bool connected = rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST;
        char why[CURL_ERROR_SIZE + 64];
        if (rc == CURLE_OK)
            why[0] = '\0';
        else
            snprintf(why, sizeof(why), "%s", b->errbuf[0] ? b->errbuf : curl_easy_strerror(rc));
        end_transfer(b);
        b->cbs.on_done(b->arg, connected, rc == CURLE_OK, why);
        return; /* on_done may have started the next request or freed nothing else */
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    poll_ctx_t *c = h->data;
    fl_browser_t *b = c->b;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(b->multi, c->fd, flags, &running);
    check_done(b);
}

static void on_timeout(uv_timer_t *t)
{
    fl_browser_t *b = t->data;
    int running;
    curl_multi_socket_action(b->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(b);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    fl_browser_t *b = userp;
    poll_ctx_t *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        forget_socket(b, c);
        return 0;
    }
    if (!c) {
        if (!(c = calloc(1, sizeof(*c))))
            return -1;
        c->fd = fd;
        c->b = b;
        if (uv_poll_init_socket(b->loop, &c->poll, fd)) {
            free(c);
            return -1;
        }
        c->poll.data = c;
        curl_multi_assign(b->multi, fd, c);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static int timer_cb(CURLM *m, long ms, void *userp)
{
    (void)m;
    fl_browser_t *b = userp;
    if (ms < 0)
        uv_timer_stop(&b->timer);
    else
        uv_timer_start(&b->timer, on_timeout, (uint64_t)ms, 0);
    return 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *userp)
{
    fl_browser_t *b = userp;
    b->cbs.on_byte(b->arg);
    b->cbs.on_body(b->arg, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *userp)
{
    fl_browser_t *b = userp;
    b->cbs.on_byte(b->arg);
    /* The blank line ends a head; an interim 1xx head is followed by another. */
    if (size * n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && !b->head_seen) {
            b->head_seen = true;
            b->cbs.on_head(b->arg, (int)status);
        }
    }
    return size * n;
}

int fl_browser_new(uv_loop_t *loop, const fl_browser_cbs_t *cbs, void *arg, fl_browser_t **out)
{
    /* curl_global_init is not thread-safe before 7.84; the runner has one thread. */
    static bool inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT))
            return FL_EIO;
        inited = true;
    }
    fl_browser_t *b = calloc(1, sizeof(*b));
    if (!b)
        return FL_ENOMEM;
    if (!(b->multi = curl_multi_init())) {
        free(b);
        return FL_ENOMEM;
    }
    b->loop = loop;
    b->cbs = *cbs;
    b->arg = arg;
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    curl_multi_setopt(b->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(b->multi, CURLMOPT_SOCKETDATA, b);
    curl_multi_setopt(b->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(b->multi, CURLMOPT_TIMERDATA, b);
    *out = b;
    return 0;
}

int fl_browser_post(fl_browser_t *b, const char *url, const char *body)
{
    if (b->easy)
        return FL_EINVAL;
    free(b->url);
    free(b->body);
    b->url = strdup(url);
    b->body = strdup(body);
    CURL *e = curl_easy_init();
    if (!b->url || !b->body || !e)
        goto fail;
    b->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!b->headers)
        goto fail;
    struct curl_slist *h2 = curl_slist_append(b->headers, "Accept: text/event-stream, */*");
    if (!h2)
        goto fail;
    b->headers = h2;
    b->errbuf[0] = '\0';
    b->head_seen = false;
    curl_easy_setopt(e, CURLOPT_URL, b->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, b->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* loopback: never through a user's proxy */
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    /* A browser lets the server decide the framing; HTTP/1.1, as a relay behind a proxy sees. */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    b->easy = e;
    if (curl_multi_add_handle(b->multi, e) != CURLM_OK) {
        b->easy = NULL;
        goto fail;
    }
    return 0;
fail:
    curl_slist_free_all(b->headers);
    b->headers = NULL;
    if (e)
        curl_easy_cleanup(e);
    return FL_ENOMEM;
}

void fl_browser_abort(fl_browser_t *b)
{
    end_transfer(b);
}

void fl_browser_free(fl_browser_t *b, void (*done)(void *arg), void *arg)
{
    b->freeing = true;
    b->done = done;
    b->done_arg = arg;
    end_transfer(b); /* curl forgets its sockets: forget_socket closes their polls */
    curl_multi_cleanup(b->multi);
    b->multi = NULL;
    free(b->url);
    free(b->body);
    b->pending++;
    uv_timer_stop(&b->timer);
    uv_close((uv_handle_t *)&b->timer, timer_closed);
}

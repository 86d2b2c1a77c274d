/*
 * libcurl's multi interface on a libuv loop (curl_loop.h).
 */
#include "proxy/curl_loop.h"

#include "base/container_of.h"
#include "base/error.h"

#include <fcntl.h>
#include <stdlib.h>

/* A socket libcurl asked to watch. */
typedef struct curl_sock_s {
    uv_poll_t poll;
    curl_socket_t fd;
    fl_curl_loop_t *cl;
} curl_sock_t;

static void handle_closed(fl_curl_loop_t *cl)
{
    if (--cl->open == 0 && cl->closing && cl->closed)
        cl->closed(cl->closed_arg);
}

static void deliver_done(fl_curl_loop_t *cl)
{
    CURLMsg *m;
    int left;
    while (!cl->closing && (m = curl_multi_info_read(cl->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            cl->done(cl->arg, m->easy_handle, m->data.result);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    curl_sock_t *s = container_of(h, curl_sock_t, poll);
    fl_curl_loop_t *cl = s->cl;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(cl->multi, s->fd, flags, &cl->running);
    deliver_done(cl);
}

static void on_timer(uv_timer_t *t)
{
    fl_curl_loop_t *cl = container_of(t, fl_curl_loop_t, timer);
    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &cl->running);
    deliver_done(cl);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    fl_curl_loop_t *cl = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&cl->timer);
    else /* 0 means at once: from the loop, never from inside libcurl's call */
        uv_timer_start(&cl->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void on_sock_closed(uv_handle_t *h)
{
    curl_sock_t *s = container_of((uv_poll_t *)h, curl_sock_t, poll);
    fl_curl_loop_t *cl = s->cl;
    free(s);
    handle_closed(cl);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    fl_curl_loop_t *cl = userp;
    curl_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            curl_multi_assign(cl->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, on_sock_closed);
        }
        return 0;
    }
    if (!s) {
        if (!(s = calloc(1, sizeof(*s))))
            return -1;
        s->fd = fd;
        s->cl = cl;
        if (uv_poll_init_socket(cl->loop, &s->poll, fd)) {
            free(s);
            return -1;
        }
        cl->open++;
        curl_multi_assign(cl->multi, fd, s);
    }
    int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

int fl_curl_loop_init(fl_curl_loop_t *cl, uv_loop_t *loop, fl_curl_loop_done_cb done, void *arg)
{
    static bool global;
    if (!global) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT))
            return FL_EIO;
        global = true;
    }
    *cl = (fl_curl_loop_t){.loop = loop, .done = done, .arg = arg};
    if (!(cl->multi = curl_multi_init()))
        return FL_ENOMEM;
    uv_timer_init(loop, &cl->timer);
    cl->open = 1;
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    return 0;
}

/* CURLOPT_SOCKOPTFUNCTION: runs on the loop's thread right after socket(), before any spawn. */
static int set_cloexec(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)clientp;
    (void)purpose;
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0 ? CURL_SOCKOPT_ERROR
                                                                   : CURL_SOCKOPT_OK;
}

int fl_curl_loop_add(fl_curl_loop_t *cl, CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, set_cloexec);
    return curl_multi_add_handle(cl->multi, easy) == CURLM_OK ? 0 : FL_ENOMEM;
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(container_of((uv_timer_t *)h, fl_curl_loop_t, timer));
}

void fl_curl_loop_close(fl_curl_loop_t *cl, void (*closed)(void *arg), void *arg)
{
    cl->closing = true;
    cl->closed = closed;
    cl->closed_arg = arg;
    curl_multi_cleanup(cl->multi); /* forgets the remaining sockets through on_socket */
    cl->multi = NULL;
    uv_timer_stop(&cl->timer);
    uv_close((uv_handle_t *)&cl->timer, on_timer_closed);
}

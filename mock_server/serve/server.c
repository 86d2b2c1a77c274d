/* The listener and the server's lifecycle, and with threads the acceptor and the worker
 * loops; see server.h. */
#include "base/error.h"
#include "serve/reply_cache.h"
#include "serve/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY     (8u * 1024 * 1024)
#define DEFAULT_MAX_HEADER   (64u * 1024)
#define DEFAULT_MAX_PIPELINE 32
#define DEFAULT_HIGH_WATER   (1024u * 1024)
#define DEFAULT_LOW_WATER    (256u * 1024)
#define DEFAULT_HEADER_MS    10000
#define DEFAULT_BODY_MS      30000
#define DEFAULT_IDLE_MS      60000
/* Pending connections the kernel queues before accept(); Linux caps it at net.core.somaxconn.
 * 128 dropped SYNs when thousands of clients connect at once (each then waits 1 s to retry). */
#define LISTEN_BACKLOG 4096
/* Connections the acceptor takes per readiness callback before it lets the loop turn. */
#define ACCEPT_BURST 256

int fl_server_new(uv_loop_t *loop, const fl_scenario_set_t *scenarios, const fl_server_opts_t *opts,
                  fl_server_t **out)
{
    if (!scenarios)
        return FL_EINVAL;
    fl_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return FL_ENOMEM;
    if (opts)
        srv->opts = *opts;
    fl_server_opts_t *o = &srv->opts;
    o->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
    o->max_header = o->max_header ? o->max_header : DEFAULT_MAX_HEADER;
    o->max_pipeline = o->max_pipeline ? o->max_pipeline : DEFAULT_MAX_PIPELINE;
    o->high_water = o->high_water ? o->high_water : DEFAULT_HIGH_WATER;
    o->low_water = o->low_water ? o->low_water : DEFAULT_LOW_WATER;
    o->journal_bytes = o->journal_bytes ? o->journal_bytes : FL_JOURNAL_DEFAULT_BYTES;
    o->header_timeout_ms = o->header_timeout_ms ? o->header_timeout_ms : DEFAULT_HEADER_MS;
    o->body_timeout_ms = o->body_timeout_ms ? o->body_timeout_ms : DEFAULT_BODY_MS;
    o->idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : DEFAULT_IDLE_MS;
    int rc = FL_EINVAL;
    if (o->low_water > o->high_water || o->threads > FL_SERVER_MAX_THREADS)
        goto fail_opts;
    srv->threaded = o->threads > 1;
    srv->listen_fd = -1;
    uv_update_time(loop);
    rc = fl_journal_init(&srv->journal, o->journal_size, uv_now(loop));
    if (rc)
        goto fail_opts;
    if (srv->threaded && (!(srv->workers = calloc(o->threads, sizeof(*srv->workers))) ||
                          uv_mutex_init(&srv->lock))) {
        rc = FL_ENOMEM;
        free(srv->workers);
        fl_journal_close(&srv->journal);
        goto fail_opts;
    }
    fl_journal_set_max_bytes(&srv->journal, o->journal_bytes);
    fl_reply_cache_init(&srv->cache);
    srv->loop = loop;
    srv->scenarios = scenarios;
    srv->port = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    srv->id_salt = (uint32_t)(ts.tv_sec ^ ts.tv_nsec ^ (uintptr_t)srv);
    fl_sessions_init(&srv->sessions, scenarios, srv->id_salt);
    *out = srv;
    return 0;

fail_opts:
    free(srv);
    return rc;
}

static void on_connection(uv_stream_t *listener, int status)
{
    fl_server_t *srv = container_of(listener, fl_server_t, listener);
    if (status < 0 || srv->stopping)
        return;
    /* A failed accept (e.g. out of memory) drops that one connection; the listener goes on. */
    (void)fl_conn__accept(srv, NULL, -1);
}

void fl_server__lock(fl_server_t *srv)
{
    if (srv->threaded)
        uv_mutex_lock(&srv->lock);
}

void fl_server__unlock(fl_server_t *srv)
{
    if (srv->threaded)
        uv_mutex_unlock(&srv->lock);
}

uint64_t fl_server__now(fl_server_t *srv)
{
    /* uv_now is uv_hrtime in ms, cached per loop: a worker's request reads the clock itself. */
    return srv->threaded ? uv_hrtime() / 1000000u : uv_now(srv->loop);
}

/* ---- threads: worker loops ---------------------------------------------------------------- */

/* (A worker's thread) Takes the sockets queued for it; at stop, closes what it has. */
static void on_wake(uv_async_t *a)
{
    fl_worker_t *w = container_of(a, fl_worker_t, wake);
    fl_server_t *srv = w->srv;
    uv_mutex_lock(&srv->lock);
    uv_os_sock_t *q = w->queue;
    size_t n = w->n_queue;
    bool stop = w->stop;
    w->queue = NULL;
    w->n_queue = w->cap_queue = 0;
    uv_mutex_unlock(&srv->lock);
    for (size_t i = 0; i < n; i++) {
        if (stop)
            close(q[i]);
        else
            (void)fl_conn__accept(srv, w, q[i]); /* a failure drops that one connection */
    }
    free(q);
    if (!stop || uv_is_closing((uv_handle_t *)&w->wake))
        return;
    for (fl_conn_t *c = w->conns; c; c = c->next)
        fl_conn__close(c, FL_END_SERVER_FAULT, false);
    uv_close((uv_handle_t *)&w->wake, NULL);
}

/* (A worker's thread) Runs its loop until stop has closed every handle on it. */
static void worker_main(void *arg)
{
    fl_worker_t *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    fl_server_t *srv = w->srv;
    uv_mutex_lock(&srv->lock);
    srv->workers_ended++;
    uv_mutex_unlock(&srv->lock);
    uv_async_send(&srv->ended);
}

/* Queues an accepted socket for the next worker, round-robin, and wakes it. */
static void hand_off(fl_server_t *srv, uv_os_sock_t fd)
{
    uv_mutex_lock(&srv->lock);
    fl_worker_t *w = &srv->workers[srv->next_worker++ % srv->n_started];
    bool ok = !w->stop;
    if (ok && w->n_queue == w->cap_queue) {
        size_t cap = w->cap_queue ? 2 * w->cap_queue : 16;
        uv_os_sock_t *q = realloc(w->queue, cap * sizeof(*q));
        if (q) {
            w->queue = q;
            w->cap_queue = cap;
        } else {
            ok = false;
        }
    }
    if (ok)
        w->queue[w->n_queue++] = fd;
    uv_mutex_unlock(&srv->lock);
    if (ok)
        uv_async_send(&w->wake);
    else
        close(fd);
}

static void on_acceptable(uv_poll_t *p, int status, int events)
{
    (void)events;
    fl_server_t *srv = container_of(p, fl_server_t, acceptor);
    if (status < 0 || srv->stopping)
        return;
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: all taken; anything else (EMFILE...) drops that connection */
        hand_off(srv, fd);
    }
}

/* (The caller's loop) Every worker's loop has returned once the last says so: join them all. */
static void on_worker_ended(uv_async_t *a);

/* Binds and listens on a socket of its own and starts the worker threads. */
static int start_threaded(fl_server_t *srv, const struct sockaddr *addr)
{
    socklen_t len =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    srv->listen_fd = fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as uv_tcp_bind does */
    if (bind(fd, addr, len) || listen(fd, LISTEN_BACKLOG))
        return uv_translate_sys_error(errno);
    int rc = uv_async_init(srv->loop, &srv->ended, on_worker_ended);
    if (rc)
        return rc;
    srv->ended_init = true;
    for (unsigned i = 0; i < srv->opts.threads; i++) {
        fl_worker_t *w = &srv->workers[i];
        w->srv = srv;
        if ((rc = uv_loop_init(&w->loop)))
            return rc;
        if ((rc = uv_async_init(&w->loop, &w->wake, on_wake))) {
            uv_loop_close(&w->loop);
            return rc;
        }
        if ((rc = uv_thread_create(&w->thread, worker_main, w))) {
            uv_close((uv_handle_t *)&w->wake, NULL);
            uv_run(&w->loop, UV_RUN_DEFAULT); /* runs the close: the loop has nothing else */
            uv_loop_close(&w->loop);
            return rc;
        }
        srv->n_started++;
    }
    if ((rc = uv_poll_init_socket(srv->loop, &srv->acceptor, fd)))
        return rc;
    srv->acceptor_init = true;
    return uv_poll_start(&srv->acceptor, UV_READABLE, on_acceptable);
}

int fl_server_start(fl_server_t *srv, const char *host, int port)
{
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc)
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (rc)
        return rc;
    if (srv->threaded) {
        if ((rc = start_threaded(srv, (const struct sockaddr *)&addr)))
            return rc;
        struct sockaddr_storage bound;
        socklen_t len = sizeof(bound);
        if (getsockname(srv->listen_fd, (struct sockaddr *)&bound, &len))
            return uv_translate_sys_error(errno);
        srv->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                                : ntohs(((struct sockaddr_in *)&bound)->sin_port);
        return 0;
    }
    rc = uv_tcp_init(srv->loop, &srv->listener);
    if (rc)
        return rc;
    srv->listener_init = true;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc)
        return rc;
    rc = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, on_connection);
    if (rc)
        return rc;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
    if (rc)
        return rc;
    srv->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

int fl_server_port(const fl_server_t *srv)
{
    return srv->port;
}

fl_journal_t *fl_server_journal(fl_server_t *srv)
{
    return &srv->journal;
}

void fl_server_reset(fl_server_t *srv)
{
    fl_journal_reset(&srv->journal);
    fl_sessions_reset(&srv->sessions);
}

static void maybe_free(fl_server_t *srv)
{
    if (!srv->stopping || srv->pending_closes > 0)
        return;
    fl_server_stop_cb cb = srv->stop_cb;
    void *arg = srv->stop_arg;
    fl_journal_close(&srv->journal);
    fl_reply_cache_close(&srv->cache);
    fl_sessions_close(&srv->sessions);
    if (srv->threaded)
        uv_mutex_destroy(&srv->lock);
    free(srv->workers);
    free(srv);
    if (cb)
        cb(arg);
}

void fl_server__conn_closed(fl_server_t *srv, fl_conn_t *c)
{
    fl_conn_t **head = c->w ? &c->w->conns : &srv->conns;
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->w)
        return; /* its worker's loop ends once its last handle is closed */
    srv->pending_closes--;
    maybe_free(srv);
}

static void on_ended_closed(uv_handle_t *h)
{
    fl_server_t *srv = container_of((uv_async_t *)h, fl_server_t, ended);
    srv->pending_closes--;
    maybe_free(srv);
}

static void on_worker_ended(uv_async_t *a)
{
    fl_server_t *srv = container_of(a, fl_server_t, ended);
    uv_mutex_lock(&srv->lock);
    bool all = srv->stopping && srv->workers_ended == srv->n_started;
    uv_mutex_unlock(&srv->lock);
    if (!all || uv_is_closing((uv_handle_t *)a))
        return;
    for (size_t i = 0; i < srv->n_started; i++) {
        fl_worker_t *w = &srv->workers[i];
        uv_thread_join(&w->thread);
        uv_loop_close(&w->loop);
        for (size_t k = 0; k < w->n_queue; k++)
            close(w->queue[k]);
        free(w->queue);
    }
    uv_close((uv_handle_t *)a, on_ended_closed);
}

static void on_acceptor_closed(uv_handle_t *h)
{
    fl_server_t *srv = container_of((uv_poll_t *)h, fl_server_t, acceptor);
    srv->pending_closes--;
    maybe_free(srv);
}

/* Closes the acceptor and asks every worker to close its connections and end its loop. */
static void stop_threaded(fl_server_t *srv)
{
    if (srv->acceptor_init) {
        srv->pending_closes++;
        uv_close((uv_handle_t *)&srv->acceptor, on_acceptor_closed);
    }
    if (srv->listen_fd >= 0)
        close(srv->listen_fd); /* uv_poll does not own it; the poll stopped above */
    srv->listen_fd = -1;
    for (size_t i = 0; i < srv->n_started; i++) {
        fl_worker_t *w = &srv->workers[i];
        uv_mutex_lock(&srv->lock);
        w->stop = true;
        uv_mutex_unlock(&srv->lock);
        uv_async_send(&w->wake);
    }
    if (srv->ended_init) {
        srv->pending_closes++;
        /* every worker may have ended already (none started, or all before stopping was set) */
        uv_async_send(&srv->ended);
    }
}

static void on_listener_closed(uv_handle_t *h)
{
    fl_server_t *srv = container_of(h, fl_server_t, listener);
    srv->pending_closes--;
    maybe_free(srv);
}

void fl_server_stop(fl_server_t *srv, fl_server_stop_cb cb, void *arg)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    srv->stop_cb = cb;
    srv->stop_arg = arg;
    /* Hold a reference so that connections closing synchronously cannot free us mid-walk. */
    srv->pending_closes++;
    if (srv->threaded)
        stop_threaded(srv);
    if (srv->listener_init) {
        srv->pending_closes++;
        uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    }
    for (fl_conn_t *c = srv->conns; c; c = c->next)
        fl_conn__close(c, FL_END_SERVER_FAULT, false);
    srv->pending_closes--;
    maybe_free(srv);
}

void fl_server_set_record(fl_server_t *srv, struct fl_record_s *rec)
{
    srv->record = rec;
}

/* The listener and the server's lifecycle; see server.h. */
#include "base/error.h"
#include "serve/reply_cache.h"
#include "serve/server_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    if (o->low_water > o->high_water)
        goto fail_opts;
    uv_update_time(loop);
    rc = fl_journal_init(&srv->journal, o->journal_size, uv_now(loop));
    if (rc)
        goto fail_opts;
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
    (void)fl_conn__accept(srv);
}

int fl_server_start(fl_server_t *srv, const char *host, int port)
{
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc)
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (rc)
        return rc;
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
    free(srv);
    if (cb)
        cb(arg);
}

void fl_server__conn_closed(fl_server_t *srv, fl_conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->pending_closes--;
    maybe_free(srv);
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

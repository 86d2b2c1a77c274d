/* Listen, print the URL, run until a signal; see listen.h. */
#include "cli/listen.h"

#include "base/error.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct listen_state_s {
    const fl_cli_listener_t *l;
    bool stopping;
    uv_signal_t sigint, sigterm;
} listen_state_t;

static void on_signal_closed(uv_handle_t *h)
{
    (void)h;
}

/* The signal handles stay installed until the listener has stopped: closing them restores the
 * default disposition, and a second SIGTERM (timeout(1) sends one to the child and another to
 * its whole process group) would then kill the process before it exits cleanly. */
static void on_stopped(void *arg)
{
    listen_state_t *st = arg;
    uv_close((uv_handle_t *)&st->sigint, on_signal_closed);
    uv_close((uv_handle_t *)&st->sigterm, on_signal_closed);
    /* uv_close restored SIG_DFL; the process is on its way out, so later ones are moot. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    listen_state_t *st = sig->data;
    if (st->stopping)
        return;
    st->stopping = true;
    st->l->stop(st->l->obj, on_stopped, st);
}

int fl_cli_listen_run(uv_loop_t *loop, const char *cmd, const char *host, int port,
                      const fl_cli_listener_t *l)
{
    int status = 0;
    int rc = l->start(l->obj, host, port);
    if (rc) {
        fprintf(stderr, "faultline %s: cannot listen on %s:%d: %s\n", cmd, host, port,
                fl_strerror(rc));
        l->stop(l->obj, NULL, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        status = 1;
        goto done;
    }
    listen_state_t st = {.l = l};
    uv_signal_init(loop, &st.sigint);
    uv_signal_init(loop, &st.sigterm);
    st.sigint.data = st.sigterm.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);
    bool v6 = strchr(host, ':') != NULL;
    printf("http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", l->port(l->obj));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
done:
    if (uv_loop_close(loop)) {
        fprintf(stderr, "faultline %s: handles left open at exit\n", cmd);
        status = 1;
    }
    return status;
}

int fl_cli_parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

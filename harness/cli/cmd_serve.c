/*
 * `faultline serve [--host H] [--port P] [--max-body BYTES] [--header-timeout-ms MS]
 * [--body-timeout-ms MS] [--idle-timeout-ms MS] [--journal-bytes BYTES] [--threads N]
 * SCENARIO|DIR…`: validate
 * the scenarios, listen, print the base URL on one line, replay until SIGINT/SIGTERM, then close
 * every handle and exit 0.
 */
#include "cli/cmd.h"

#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"
#include "serve/server.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char serve_usage[] =
    "usage: faultline serve [--host H] [--port P] [--max-body BYTES] [--header-timeout-ms MS]\n"
    "                       [--body-timeout-ms MS] [--idle-timeout-ms MS] [--journal-bytes BYTES]\n"
    "                       [--threads N] SCENARIO|DIR...\n"
    "\n"
    "Replays scripted SSE streams over HTTP/1.1. Prints the base URL on one line, then serves\n"
    "until SIGINT or SIGTERM.\n"
    "\n"
    "  --host H                 address to bind (default 127.0.0.1)\n"
    "  --port P                 port to bind (default 0: any free port)\n"
    "  --max-body BYTES         largest request body accepted (default 8388608); larger gets 413\n"
    "  --header-timeout-ms MS   a request's head must arrive within MS of its first byte (of\n"
    "                           accept, for a connection's first request); else 408 (10000)\n"
    "  --body-timeout-ms MS     a request's body must arrive within MS of its head; else 408\n"
    "                           (30000)\n"
    "  --idle-timeout-ms MS     an idle keep-alive connection is closed after MS (60000)\n"
    "  --journal-bytes BYTES    bytes of journal entries kept, oldest dropped (33554432)\n"
    "  --threads N              event loops, one thread each, sharing the port (default: the\n"
    "                           cores, at most 8; 1: one loop, no thread)\n"
    "  -h, --help               this text\n"
    "\n"
    "routes: POST /v1/chat/completions, /v1/responses, /v1/messages (also under /s/NAME/),\n"
    "        GET /_faultline/health, GET /_faultline/journal[?since=SEQ&limit=N],\n"
    "        POST /_faultline/reset\n";

/* The numeric options and their largest values; 0 takes the server's default. */
typedef struct serve_option_s {
    const char *name;
    unsigned long long max;
} serve_option_t;

enum {
    OPT_PORT,
    OPT_MAX_BODY,
    OPT_HEADER_MS,
    OPT_BODY_MS,
    OPT_IDLE_MS,
    OPT_JOURNAL_BYTES,
    OPT_THREADS,
    N_OPTS
};

/* --threads when not given: one loop per core, at most this many. */
#define DEFAULT_MAX_THREADS 8

/* In the order of the OPT_ indexes. */
static const serve_option_t serve_options[N_OPTS] = {
    {"--port", 65535},
    {"--max-body", 1ull << 40},
    {"--header-timeout-ms", 1ull << 40},
    {"--body-timeout-ms", 1ull << 40},
    {"--idle-timeout-ms", 1ull << 40},
    {"--journal-bytes", 1ull << 40},
    {"--threads", FL_SERVER_MAX_THREADS},
};

/* The numeric option called name, or NULL. */
static const serve_option_t *serve_option(const char *name)
{
    for (size_t i = 0; i < sizeof(serve_options) / sizeof(serve_options[0]); i++)
        if (strcmp(name, serve_options[i].name) == 0)
            return &serve_options[i];
    return NULL;
}

/* Every option's spelling, for "did you mean". */
static const char *const serve_spellings[] = {"--host",
                                              "--port",
                                              "--max-body",
                                              "--header-timeout-ms",
                                              "--body-timeout-ms",
                                              "--idle-timeout-ms",
                                              "--journal-bytes",
                                              "--threads",
                                              "--help",
                                              "-h",
                                              NULL};

typedef struct serve_state_s {
    fl_server_t *srv;
    uv_signal_t sigint;
    uv_signal_t sigterm;
} serve_state_t;

static void on_signal_closed(uv_handle_t *h)
{
    (void)h;
}

/* The signal handles stay installed until the server has stopped: closing them restores the
 * default disposition, and a second SIGTERM (timeout(1) sends one to the child and another to
 * its whole process group) would then kill the process before it exits cleanly. */
static void on_server_stopped(void *arg)
{
    serve_state_t *st = arg;
    uv_close((uv_handle_t *)&st->sigint, on_signal_closed);
    uv_close((uv_handle_t *)&st->sigterm, on_signal_closed);
    /* uv_close restored SIG_DFL; the process is on its way out, so later ones are moot. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    serve_state_t *st = sig->data;
    if (!st->srv)
        return; /* already stopping */
    fl_server_t *srv = st->srv;
    st->srv = NULL;
    fl_server_stop(srv, on_server_stopped, st);
}

static int parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

int fl_cmd_serve(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    unsigned long long values[N_OPTS] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(serve_usage, stdout);
            return 0;
        }
        const serve_option_t *opt = serve_option(a);
        if (opt || strcmp(a, "--host") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "faultline serve: %s needs a value\n\n%s", a, serve_usage);
                return 2;
            }
            const char *v = argv[++i];
            if (!opt) {
                host = v;
            } else if (parse_size(v, opt->max, &values[opt - serve_options])) {
                fprintf(stderr, "faultline serve: bad value for %s: '%s'\n", a, v);
                return 2;
            }
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return fl_cmd_unknown_option("serve", a, serve_spellings);
    }
    fl_scenario_set_t set;
    fl_scenario_set_init(&set);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    int n_paths = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--host") == 0 || serve_option(a)) {
            i++;
            continue;
        }
        n_paths++;
        if (fl_scenario_set_load(&set, a, &diags))
            bad = 1;
    }
    int status = 2;
    if (n_paths == 0) {
        fprintf(stderr, "faultline serve: no scenario given\n\n%s", serve_usage);
        goto done_set;
    }
    char line[2048];
    for (size_t i = 0; i < diags.len; i++)
        fprintf(stderr, "%s\n", fl_diag_format(&diags.items[i], line, sizeof(line)));
    if (bad || set.len == 0) {
        if (!bad)
            fprintf(stderr, "faultline serve: no scenarios found\n");
        goto done_set;
    }

    uv_loop_t loop;
    status = 1;
    if (uv_loop_init(&loop)) {
        fprintf(stderr, "faultline serve: cannot create the event loop\n");
        goto done_set;
    }
    serve_state_t st = {0};
    unsigned long long port = values[OPT_PORT];
    fl_server_opts_t opts = {.max_body = (size_t)values[OPT_MAX_BODY],
                             .header_timeout_ms = values[OPT_HEADER_MS],
                             .body_timeout_ms = values[OPT_BODY_MS],
                             .idle_timeout_ms = values[OPT_IDLE_MS],
                             .journal_bytes = (size_t)values[OPT_JOURNAL_BYTES],
                             .threads = (unsigned)values[OPT_THREADS]};
    if (opts.threads == 0) {
        unsigned cores = uv_available_parallelism();
        opts.threads = cores < DEFAULT_MAX_THREADS ? cores : DEFAULT_MAX_THREADS;
    }
    int rc = fl_server_new(&loop, &set, &opts, &st.srv);
    if (rc) {
        fprintf(stderr, "faultline serve: %s\n", fl_strerror(rc));
        goto done_loop;
    }
    rc = fl_server_start(st.srv, host, (int)port);
    if (rc) {
        fprintf(stderr, "faultline serve: cannot listen on %s:%llu: %s\n", host, port,
                fl_strerror(rc));
        fl_server_stop(st.srv, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        goto done_loop;
    }
    uv_signal_init(&loop, &st.sigint);
    uv_signal_init(&loop, &st.sigterm);
    st.sigint.data = st.sigterm.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);
    bool v6 = strchr(host, ':') != NULL;
    printf("http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", fl_server_port(st.srv));
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    status = 0;

done_loop:
    if (uv_loop_close(&loop)) {
        fprintf(stderr, "faultline serve: handles left open at exit\n");
        status = 1;
    }
done_set:
    fl_diag_list_close(&diags);
    fl_scenario_set_close(&set);
    return status;
}

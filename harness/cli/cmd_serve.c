/*
 * `faultline serve [--host H] [--port P] [--max-body BYTES] [--header-timeout-ms MS]
 * [--body-timeout-ms MS] [--idle-timeout-ms MS] [--journal-bytes BYTES] [--threads N]
 * [--record DIR] [SCENARIO|DIR…]`:
 * validate the scenarios (none is fine: test suites add theirs at runtime), listen, print the
 * base URL on one line (the first line of stdout, which the test-suite bindings read), replay
 * until SIGINT/SIGTERM, then close every handle and exit 0. The server gets the loader (POST
 * /_faultline/scenarios) and the judge (POST /_faultline/judge) from here: serve is a layer
 * below both.
 */
#include "cli/cmd.h"

#include "cli/listen.h"
#include "base/error.h"
#include "judge/ondemand.h"
#include "load/load.h"
#include "model/scenario.h"
#include "serve/record.h"
#include "serve/server.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

static const char serve_usage[] =
    "usage: faultline serve [--host H] [--port P] [--max-body BYTES] [--header-timeout-ms MS]\n"
    "                       [--body-timeout-ms MS] [--idle-timeout-ms MS] [--journal-bytes BYTES]\n"
    "                       [--threads N] [--record DIR] [SCENARIO|DIR...]\n"
    "\n"
    "Replays scripted SSE streams over HTTP/1.1. Prints the base URL on one line, then serves\n"
    "until SIGINT or SIGTERM. With no scenario, test suites add theirs at runtime.\n"
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
    "  --record DIR             write every exchange (broken and non-2xx ones too) as a capture\n"
    "                           file DIR/NNNNNN-SCENARIO.capture.jsonl (docs/capture.md)\n"
    "  -h, --help               this text\n"
    "\n"
    "routes: POST /v1/chat/completions, /v1/responses, /v1/messages (also under /s/NAME/),\n"
    "        each also under /t/SESSION/; GET /_faultline/health,\n"
    "        GET /_faultline/journal[?since=SEQ&limit=N&session=ID&scenario=NAME],\n"
    "        POST /_faultline/reset; for test suites: POST|GET /_faultline/sessions,\n"
    "        DELETE /_faultline/sessions/ID, POST|GET /_faultline/scenarios,\n"
    "        DELETE /_faultline/scenarios/NAME, POST /_faultline/judge (README, \"Testing\n"
    "        inside your test suite\")\n";

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
                                              "--record",
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

/* The server as fl_cli_listen_run drives it. */
static int srv_start(void *srv, const char *host, int port)
{
    return fl_server_start(srv, host, port);
}

static int srv_port(const void *srv)
{
    return fl_server_port(srv);
}

static void srv_stop(void *srv, void (*cb)(void *), void *arg)
{
    fl_server_stop(srv, cb, arg);
}

/* The server's judge (server.h fl_server_judge_fn): the harness's, unchanged. */
static int judge(void *arg, const fl_scenario_t *sc, const json_t *journal, uint64_t spawn_ms,
                 uint64_t now_ms, const json_t *request, json_t **out, char *err, size_t err_len)
{
    (void)arg;
    return fl_ondemand_judge(sc, journal, spawn_ms, now_ms, request, out, err, err_len);
}

int fl_cmd_serve(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *record_dir = NULL;
    fl_record_t *record = NULL;
    unsigned long long values[N_OPTS] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(serve_usage, stdout);
            return 0;
        }
        const serve_option_t *opt = serve_option(a);
        if (opt || strcmp(a, "--host") == 0 || strcmp(a, "--record") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "faultline serve: %s needs a value\n\n%s", a, serve_usage);
                return 2;
            }
            const char *v = argv[++i];
            if (!opt && strcmp(a, "--record") == 0) {
                record_dir = v;
            } else if (!opt) {
                host = v;
            } else if (fl_cli_parse_size(v, opt->max, &values[opt - serve_options])) {
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
        if (strcmp(a, "--host") == 0 || strcmp(a, "--record") == 0 || serve_option(a)) {
            i++;
            continue;
        }
        n_paths++;
        if (fl_scenario_set_load(&set, a, &diags))
            bad = 1;
    }
    int status = 2;
    char line[2048];
    for (size_t i = 0; i < diags.len; i++)
        fprintf(stderr, "%s\n", fl_diag_format(&diags.items[i], line, sizeof(line)));
    /* No path is fine (scenarios come at runtime); paths that hold no scenario are a mistake. */
    if (bad || (n_paths > 0 && set.len == 0)) {
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
    fl_server_t *srv;
    unsigned long long port = values[OPT_PORT];
    fl_server_opts_t opts = {.max_body = (size_t)values[OPT_MAX_BODY],
                             .header_timeout_ms = values[OPT_HEADER_MS],
                             .body_timeout_ms = values[OPT_BODY_MS],
                             .idle_timeout_ms = values[OPT_IDLE_MS],
                             .journal_bytes = (size_t)values[OPT_JOURNAL_BYTES],
                             .load = fl_scenario_load_string,
                             .judge = judge,
                             .threads = (unsigned)values[OPT_THREADS]};
    if (opts.threads == 0 && record_dir) {
        opts.threads = 1; /* the recorder writes from the main loop */
    } else if (opts.threads == 0) {
        unsigned cores = uv_available_parallelism();
        opts.threads = cores < DEFAULT_MAX_THREADS ? cores : DEFAULT_MAX_THREADS;
    } else if (opts.threads > 1 && record_dir) {
        fprintf(stderr, "faultline serve: --record runs on one loop: drop --threads or use "
                        "--threads 1\n");
        fl_diag_list_close(&diags);
        fl_scenario_set_close(&set);
        return 2;
    }
    int rc = fl_server_new(&loop, &set, &opts, &srv);
    if (rc) {
        fprintf(stderr, "faultline serve: %s\n", fl_strerror(rc));
        uv_loop_close(&loop);
        goto done_set;
    }
    if (record_dir) {
        if (mkdir(record_dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "faultline serve: cannot create %s: %s\n", record_dir, strerror(errno));
            goto fail_stop;
        }
        if (fl_record_new(&loop, record_dir, 0, 0, &record)) {
            fprintf(stderr, "faultline serve: %s\n", fl_strerror(FL_ENOMEM));
            goto fail_stop;
        }
        fl_server_set_record(srv, record);
    }
    fl_cli_listener_t l = {srv, srv_start, srv_port, srv_stop};
    status = fl_cli_listen_run(&loop, "serve", host, (int)port, &l);
    if (record) /* every capture file is written: uv_run returned with no request left */
        fprintf(stderr, "faultline serve: recorded %llu exchange%s in %s (%llu dropped)\n",
                (unsigned long long)fl_record_written(record),
                fl_record_written(record) == 1 ? "" : "s", record_dir,
                (unsigned long long)fl_record_dropped(record));
    fl_record_free(record);
    goto done_set;
fail_stop:
    fl_server_stop(srv, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    status = 1;
done_set:
    fl_diag_list_close(&diags);
    fl_scenario_set_close(&set);
    return status;
}

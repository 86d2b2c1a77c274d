/*
 * `faultline proxy --upstream URL [--host H] [--port P] [--cacert FILE] [--record DIR]
 * [--connect-timeout-ms MS] [--max-body BYTES] [SCENARIO|DIR…]`: validate the scenarios,
 * listen, print the base URL on one line, forward every request to the upstream with the
 * scenarios' faults on the live stream (mock_server/proxy/proxy.h) until SIGINT/SIGTERM, then
 * close every handle, wait for the captures being written, and exit 0.
 */
#include "cli/cmd.h"

#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"
#include "proxy/proxy.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

static const char proxy_usage[] =
    "usage: faultline proxy --upstream URL [--host H] [--port P] [--cacert FILE]\n"
    "                       [--record DIR] [--connect-timeout-ms MS] [--max-body BYTES]\n"
    "                       [SCENARIO|DIR...]\n"
    "\n"
    "Forwards each request to a live upstream and streams its answer back as it arrives, with\n"
    "the scenarios' faults applied to the live stream (no scenario: relayed clean). Prints the\n"
    "base URL on one line, then proxies until SIGINT or SIGTERM.\n"
    "\n"
    "  --upstream URL           where requests go, e.g. https://api.openai.com (required);\n"
    "                           HTTPS_PROXY / NO_PROXY are honoured as by curl\n"
    "  --host H                 address to bind (default 127.0.0.1)\n"
    "  --port P                 port to bind (default 0: any free port)\n"
    "  --cacert FILE            CA certificates (PEM) to verify the upstream with\n"
    "  --record DIR             write one capture per exchange into DIR (docs/capture.md)\n"
    "  --connect-timeout-ms MS  to reach the upstream, else 504 (default 10000)\n"
    "  --max-body BYTES         largest request body accepted (default 8388608)\n"
    "  -h, --help               this text\n"
    "\n"
    "routes: every path is forwarded; API paths pick a scenario as serve does;\n"
    "        GET /_faultline/health, GET /_faultline/journal, POST /_faultline/reset\n";

static const char *const proxy_spellings[] = {
    "--upstream",           "--host",     "--port", "--cacert", "--record",
    "--connect-timeout-ms", "--max-body", "--help", "-h",       NULL};

/* Options that take a value. */
static bool takes_value(const char *a)
{
    for (size_t i = 0; i < 7; i++)
        if (strcmp(a, proxy_spellings[i]) == 0)
            return true;
    return false;
}

typedef struct proxy_state_s {
    fl_proxy_t *proxy;
    uv_signal_t sigint, sigterm;
} proxy_state_t;

static void on_signal_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_stopped(void *arg)
{
    proxy_state_t *st = arg;
    uv_close((uv_handle_t *)&st->sigint, on_signal_closed);
    uv_close((uv_handle_t *)&st->sigterm, on_signal_closed);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    proxy_state_t *st = sig->data;
    if (!st->proxy)
        return;
    fl_proxy_t *p = st->proxy;
    st->proxy = NULL;
    fl_proxy_stop(p, on_stopped, st);
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

int fl_cmd_proxy(int argc, char **argv)
{
    const char *host = "127.0.0.1", *upstream = NULL, *cacert = NULL, *record = NULL;
    unsigned long long port = 0, connect_ms = 0, max_body = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(proxy_usage, stdout);
            return 0;
        }
        if (takes_value(a)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "faultline proxy: %s needs a value\n\n%s", a, proxy_usage);
                return 2;
            }
            const char *v = argv[++i];
            int bad = 0;
            if (strcmp(a, "--upstream") == 0)
                upstream = v;
            else if (strcmp(a, "--host") == 0)
                host = v;
            else if (strcmp(a, "--cacert") == 0)
                cacert = v;
            else if (strcmp(a, "--record") == 0)
                record = v;
            else if (strcmp(a, "--port") == 0)
                bad = parse_num(v, 65535, &port);
            else if (strcmp(a, "--connect-timeout-ms") == 0)
                bad = parse_num(v, 1ull << 31, &connect_ms);
            else
                bad = parse_num(v, 1ull << 40, &max_body);
            if (bad) {
                fprintf(stderr, "faultline proxy: bad value for %s: '%s'\n", a, v);
                return 2;
            }
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return fl_cmd_unknown_option("proxy", a, proxy_spellings);
    }
    if (!upstream) {
        fprintf(stderr, "faultline proxy: --upstream URL is required\n\n%s", proxy_usage);
        return 2;
    }
    if (strncmp(upstream, "http://", 7) != 0 && strncmp(upstream, "https://", 8) != 0) {
        fprintf(stderr, "faultline proxy: --upstream must start with http:// or https://\n");
        return 2;
    }
    struct stat sb;
    if (record && (stat(record, &sb) || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "faultline proxy: --record %s: not a directory\n", record);
        return 2;
    }
    if (cacert && stat(cacert, &sb)) {
        fprintf(stderr, "faultline proxy: --cacert %s: %s\n", cacert, strerror(errno));
        return 2;
    }
    fl_scenario_set_t set;
    fl_scenario_set_init(&set);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        if (takes_value(argv[i])) {
            i++;
            continue;
        }
        if (fl_scenario_set_load(&set, argv[i], &diags))
            bad = 1;
    }
    int status = 2;
    char line[2048];
    for (size_t i = 0; i < diags.len; i++)
        fprintf(stderr, "%s\n", fl_diag_format(&diags.items[i], line, sizeof(line)));
    if (bad)
        goto done_set;

    uv_loop_t loop;
    status = 1;
    if (uv_loop_init(&loop)) {
        fprintf(stderr, "faultline proxy: cannot create the event loop\n");
        goto done_set;
    }
    proxy_state_t st = {0};
    fl_proxy_opts_t opts = {.upstream = upstream,
                            .cacert = cacert,
                            .record_dir = record,
                            .connect_timeout_ms = connect_ms,
                            .max_body = (size_t)max_body};
    int rc = fl_proxy_new(&loop, &set, &opts, &st.proxy);
    if (rc) {
        fprintf(stderr, "faultline proxy: %s\n", fl_strerror(rc));
        goto done_loop;
    }
    rc = fl_proxy_start(st.proxy, host, (int)port);
    if (rc) {
        fprintf(stderr, "faultline proxy: cannot listen on %s:%llu: %s\n", host, port,
                fl_strerror(rc));
        fl_proxy_stop(st.proxy, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        goto done_loop;
    }
    uv_signal_init(&loop, &st.sigint);
    uv_signal_init(&loop, &st.sigterm);
    st.sigint.data = st.sigterm.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);
    bool v6 = strchr(host, ':') != NULL;
    printf("http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", fl_proxy_port(st.proxy));
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    status = 0;

done_loop:
    if (uv_loop_close(&loop)) {
        fprintf(stderr, "faultline proxy: handles left open at exit\n");
        status = 1;
    }
done_set:
    fl_diag_list_close(&diags);
    fl_scenario_set_close(&set);
    return status;
}

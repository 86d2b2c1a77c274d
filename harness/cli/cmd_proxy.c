/*
 * `faultline proxy --upstream URL [--host H] [--port P] [--cacert FILE] [--record DIR]
 * [--connect-timeout-ms MS] [--max-body BYTES] [SCENARIO|DIR…]`: validate the scenarios,
 * listen, print the base URL on one line, forward every request to the upstream with the
 * scenarios' faults on the live stream (mock_server/proxy/proxy.h) until SIGINT/SIGTERM, then
 * close every handle, wait for the captures being written, and exit 0.
 */
#include "cli/cmd.h"

#include "cli/listen.h"
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

/* The proxy as fl_cli_listen_run drives it. */
static int px_start(void *p, const char *host, int port)
{
    return fl_proxy_start(p, host, port);
}

static int px_port(const void *p)
{
    return fl_proxy_port(p);
}

static void px_stop(void *p, void (*cb)(void *), void *arg)
{
    fl_proxy_stop(p, cb, arg);
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
                bad = fl_cli_parse_size(v, 65535, &port);
            else if (strcmp(a, "--connect-timeout-ms") == 0)
                bad = fl_cli_parse_size(v, 1ull << 31, &connect_ms);
            else
                bad = fl_cli_parse_size(v, 1ull << 40, &max_body);
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
    fl_proxy_opts_t opts = {.upstream = upstream,
                            .cacert = cacert,
                            .record_dir = record,
                            .connect_timeout_ms = connect_ms,
                            .max_body = (size_t)max_body};
    fl_proxy_t *proxy;
    int rc = fl_proxy_new(&loop, &set, &opts, &proxy);
    if (rc) {
        fprintf(stderr, "faultline proxy: %s\n", fl_strerror(rc));
        uv_loop_close(&loop);
        goto done_set;
    }
    fl_cli_listener_t l = {proxy, px_start, px_port, px_stop};
    status = fl_cli_listen_run(&loop, "proxy", host, (int)port, &l);
done_set:
    fl_diag_list_close(&diags);
    fl_scenario_set_close(&set);
    return status;
}

/* The `faultline` program: dispatches to a subcommand. */
#include "cli/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: faultline <command> [options]\n"
    "\n"
    "commands:\n"
    "  run --client CMD [SCENARIO|DIR...]\n"
    "                        run a client against scenarios and score how it recovers\n"
    "  serve SCENARIO...     replay scripted SSE streams over HTTP/1.1 (see serve --help)\n"
    "  proxy --upstream URL [SCENARIO...]\n"
    "                        forward to a live upstream with faults on the live stream\n"
    "  validate FILE|DIR...  check scenario files; errors name file:line:col\n"
    "  import SOURCE... [-o DIR]\n"
    "                        turn a capture, HAR, curl output or SSE body into scenarios\n"
    "  version [--paths]     version and git revision (also --version); --paths: data paths\n"
    "  help                  this text\n";

/*
 * A peer that leaves mid-write must never kill Faultline: libuv writes to sockets and pipes
 * with write(2), and a write to a connection the peer has reset (or to stdout after `| head`)
 * raises SIGPIPE, whose default action ends the process. Ignored, the write fails with EPIPE
 * instead, which the server journals as `client_closed` and the reports treat as a reader that
 * left. Clients that `faultline run` spawns still start with the default disposition: libuv's
 * uv_spawn resets every signal to SIG_DFL in the child before exec.
 */
static void ignore_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    ignore_sigpipe();
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return fl_cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "proxy") == 0)
        return fl_cmd_proxy(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return fl_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0)
        return fl_cmd_validate(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0)
        return fl_cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0)
        return fl_cmd_version(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0)
        return fl_cmd_version(1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "faultline: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}

/* The `faultline` program: dispatches to a subcommand. */
#include "cli/cmd.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: faultline <command> [options]\n"
    "\n"
    "commands:\n"
    "  run --client CMD [SCENARIO|DIR...]\n"
    "                        run a client against scenarios and score how it recovers\n"
    "  serve SCENARIO...     replay scripted SSE streams over HTTP/1.1 (see serve --help)\n"
    "  validate FILE|DIR...  check scenario files; errors name file:line:col\n"
    "  version [--paths]     version and git revision (also --version); --paths: data paths\n"
    "  help                  this text\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return fl_cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return fl_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0)
        return fl_cmd_validate(argc - 1, argv + 1);
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

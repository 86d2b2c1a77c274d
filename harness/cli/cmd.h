/*
 * The `faultline` subcommands. Each takes the arguments after its own name (argv[0] is the
 * subcommand) and returns the process exit status: 0 success, 1 failure, 2 bad usage or input.
 */
#ifndef FL_CMD_H
#define FL_CMD_H

/** `faultline serve SCENARIO…`: validate, listen, print the URL, replay until SIGINT/SIGTERM. */
int fl_cmd_serve(int argc, char **argv);
/**
 * `faultline proxy --upstream URL [SCENARIO|DIR…]`: forward to a live upstream with the
 * scenarios' faults on the live stream; print the URL; proxy until SIGINT/SIGTERM.
 */
int fl_cmd_proxy(int argc, char **argv);
/** `faultline validate FILE|DIR…`: print every problem as file:line:col; exit 0 or 2. */
int fl_cmd_validate(int argc, char **argv);

/**
 * `faultline run --client CMD [SCENARIO|DIR…]`: run a client against scenarios and score it;
 * exit 0 all passed, 1 a run did not pass or the score is under --min-score, 2 bad usage,
 * 128 + N interrupted by signal N (130 for SIGINT; the reports are still written).
 */
int fl_cmd_run(int argc, char **argv);

/**
 * `faultline import SOURCE… [-o DIR]`: captures, HAR files, curl output and SSE bodies in,
 * validated scenarios out (mock_server/import/import.h); exit 0, or 2 when a source failed.
 */
int fl_cmd_import(int argc, char **argv);

/** `faultline version [--paths]`: the version, git revision and, with --paths, data paths. */
int fl_cmd_version(int argc, char **argv);

/**
 * Reports an unknown option of subcommand cmd on stderr, with the nearest of options
 * (NULL-terminated spellings such as "--filter") when one is close:
 * "faultline run: unknown option --filtr; did you mean --filter?", then where help is.
 * A value attached with '=' is not part of the option. Returns 2, the bad-usage exit status.
 */
int fl_cmd_unknown_option(const char *cmd, const char *arg, const char *const *options);

#endif

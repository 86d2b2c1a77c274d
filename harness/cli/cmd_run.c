/*
 * `faultline run --client CMD [SCENARIO|DIR…]`: the main job. Loads and selects scenarios
 * (--filter, --shard, --repeat, --seed; the built-in catalog from paths.h when none are given),
 * hands them to the runner (run.h), then prints the table and writes the JSON, JUnit, HTML
 * and Markdown reports (report.h), whose paths it checks before anything runs. Exit status: 0 when
 * every run passed (or, with --min-score, when the score reaches it), 1 otherwise, 2 for bad usage
 * or invalid scenarios, 128 + N when signal N (SIGINT, SIGTERM) interrupted the run: the reports
 * are still written, marked interrupted and listing the runs not run.
 */
#include "cli/cmd.h"

#include "cli/paths.h"
#include "downstream/downstream.h"
#include "judge/report.h"
#include "run/run.h"
#include "load/load.h"
#include "model/scenario.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char usage_head[] =
    "usage: faultline run --client 'CMD' [options] [SCENARIO|DIR...]\n"
    "       faultline run --relay 'CMD' --downstream FORMAT [options] [SCENARIO|DIR...]\n"
    "\n"
    "Runs CMD (with /bin/sh -c) against each scenario, each on its own mock server, and\n"
    "scores how gracefully it recovered. Default scenarios: the built-in catalog, the first\n"
    "found of:\n";

static const char usage_tail[] =
    "$FAULTLINE_CLIENTS, in CMD's environment, is the folder of the bundled reference\n"
    "clients (e.g. --client '\"$FAULTLINE_CLIENTS\"/robust').\n"
    "\n"
    "options:\n"
    "  -c, --client CMD     the client command (or --relay); see README, \"The client contract\"\n"
    "      --relay CMD      score a relay instead (README, \"Relays under test\"): CMD serves\n"
    "                       HTTP on 127.0.0.1:$PORT and calls the provider at the client\n"
    "                       contract's base URL; the harness plays the browser\n"
    "      --downstream F   what the relay streams to the browser: openai-chat,\n"
    "                       openai-responses, anthropic-messages, text, ndjson, ai-sdk-ui\n"
    "      --relay-url T    the browser's URL, {port} for PORT (default\n"
    "                       http://127.0.0.1:{port}/api/chat)\n"
    "      --relay-request T  the request body, JSON with {prompt} and {model} (default: per\n"
    "                       --downstream format)\n"
    "      --relay-start-ms N  how long to wait for the relay to accept (default 15000)\n"
    "  -j, --jobs N         scenarios at once (default 16)\n"
    "      --order ORDER    which start first: longest (the longest scripted duration, so a\n"
    "                       long one never starts last; the default) or file (as given)\n"
    "      --repeat N       run each scenario N times (default 1)\n"
    "      --filter GLOB    only scenarios whose name matches (repeatable: any of them)\n"
    "      --dialect LIST   only scenarios of these dialects (comma-separated: openai-chat,\n"
    "                       openai-responses, anthropic-messages, gemini), for a client that\n"
    "                       speaks only some\n"
    "      --shard K/N      only the Kth of N equal slices of the selected scenarios\n"
    "      --seed S         mixed into every scenario's chaos and jitter seeds (0 = as\n"
    "                       written); repetition r uses S+r-1, so --repeat explores draws\n"
    "      --min-score S    exit by the score alone: 0 when it reaches S (0..100), else 1\n"
    "      --json PATH      write the JSON report\n"
    "      --junit PATH     write JUnit XML (one testcase per run)\n"
    "      --html PATH      write an HTML report: one self-contained page with a timeline\n"
    "                       of every run's attempts, for a person or a CI artifact\n"
    "      --summary PATH   append a Markdown summary (for $GITHUB_STEP_SUMMARY)\n"
    "  -x, --exitfirst      start no new scenario after the first that does not pass\n"
    "                       (default: run every selected scenario)\n"
    "      --keep-going     accepted for older scripts; running everything is the default\n"
    "      --no-color       plain output even on a terminal (also: NO_COLOR set)\n"
    "      --upstream URL   run against a live upstream through `faultline proxy` with the\n"
    "                       scenarios' faults; the answer is the one the upstream streamed\n"
    "                       (README, \"faultline proxy\"); the caller's API keys are kept\n"
    "      --cacert FILE    with --upstream: CA certificates (PEM) for the upstream's TLS\n"
    "\n"
    "Report paths are checked before any scenario runs: one that cannot be written is bad\n"
    "usage.\n"
    "\n"
    "exit status: 0 all passed, 1 a run did not pass or the score is under --min-score,\n"
    "2 bad usage or an invalid scenario, 130 (SIGINT) or 143 (SIGTERM) interrupted: the\n"
    "reports are still written, with the runs not run listed and no score.\n";

/* What the command line asked for. */
typedef struct run_args_s {
    const char *client;
    unsigned jobs;
    unsigned repeat;
    const char **filters;
    size_t n_filters;
    unsigned dialects; /* bit per fl_dialect_t; 0 = every dialect */
    unsigned shard_k, shard_n;
    const char *shard;
    uint64_t seed;
    double min_score;
    const char *json, *junit, *html, *summary;
    bool exit_first, no_color, file_order;
    const char *upstream, *upstream_cacert; /* --upstream URL, --cacert FILE */
    fl_relay_conf_t relay;                  /* relay.command NULL: client mode */
    bool have_downstream;
    char **paths;
    size_t n_paths;
} run_args_t;

/* The help text, with the catalog's search order and the catalog this binary would use. */
static void print_usage(void)
{
    char cat[PATH_MAX];
    fl_origin_t o = fl_paths_find(FL_DATA_CATALOG, cat, sizeof(cat));
    fputs(usage_head, stdout);
    fputs(fl_paths_catalog_order, stdout);
    if (o == FL_ORIGIN_NONE)
        fputs("Here: none found; give scenarios or set FAULTLINE_CATALOG.\n\n", stdout);
    else
        printf("Here: %s (%s).\n\n", cat, fl_paths_origin_name(o));
    fputs(usage_tail, stdout);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("faultline run: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see faultline run --help)\n", stderr);
    return 2;
}

/* Every option's spelling, for "did you mean" (the getopt table below, plus -c, -j, -x, -h). */
static const char *const run_options[] = {
    "--client",    "--jobs",       "--repeat",   "--filter", "--dialect", "--shard",
    "--seed",      "--min-score",  "--json",     "--junit",  "--html",    "--summary",
    "--exitfirst", "--keep-going", "--no-color", "--order",  "--help",    "-c",
    "-j",          "-x",           "-h",         NULL};
/* ... and relay mode's and the live upstream's. */
static const char *const relay_options[] = {
    "--relay",          "--downstream", "--relay-url", "--relay-request",
    "--relay-start-ms", "--upstream",   "--cacert",    NULL};

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* Adds each name of a comma-separated dialect list to *bits. Returns 0 or FL_EINVAL. */
static int parse_dialects(const char *list, unsigned *bits)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        fl_dialect_t d;
        if (fl_dialect_parse(name, &d))
            return FL_EINVAL;
        *bits |= 1u << d;
    }
    return *bits ? 0 : FL_EINVAL;
}

/* Returns 0, 1 for --help (printed), or 2 (printed). */
static int parse_args(int argc, char **argv, run_args_t *a)
{
    enum {
        O_REPEAT = 256,
        O_DIALECT,
        O_FILTER,
        O_SHARD,
        O_SEED,
        O_MIN,
        O_JSON,
        O_JUNIT,
        O_HTML,
        O_SUMMARY,
        O_KEEP,
        O_NOCOLOR,
        O_UPSTREAM,
        O_CACERT,
        O_RELAY,
        O_DOWN,
        O_RURL,
        O_RREQ,
        O_RSTART,
        O_ORDER
    };
    static const struct option longs[] = {{"client", required_argument, NULL, 'c'},
                                          {"jobs", required_argument, NULL, 'j'},
                                          {"repeat", required_argument, NULL, O_REPEAT},
                                          {"filter", required_argument, NULL, O_FILTER},
                                          {"dialect", required_argument, NULL, O_DIALECT},
                                          {"shard", required_argument, NULL, O_SHARD},
                                          {"seed", required_argument, NULL, O_SEED},
                                          {"min-score", required_argument, NULL, O_MIN},
                                          {"json", required_argument, NULL, O_JSON},
                                          {"junit", required_argument, NULL, O_JUNIT},
                                          {"html", required_argument, NULL, O_HTML},
                                          {"summary", required_argument, NULL, O_SUMMARY},
                                          {"exitfirst", no_argument, NULL, 'x'},
                                          {"keep-going", no_argument, NULL, O_KEEP},
                                          {"no-color", no_argument, NULL, O_NOCOLOR},
                                          {"upstream", required_argument, NULL, O_UPSTREAM},
                                          {"cacert", required_argument, NULL, O_CACERT},
                                          {"order", required_argument, NULL, O_ORDER},
                                          {"help", no_argument, NULL, 'h'},
                                          {"relay", required_argument, NULL, O_RELAY},
                                          {"downstream", required_argument, NULL, O_DOWN},
                                          {"relay-url", required_argument, NULL, O_RURL},
                                          {"relay-request", required_argument, NULL, O_RREQ},
                                          {"relay-start-ms", required_argument, NULL, O_RSTART},
                                          {NULL, 0, NULL, 0}};
    a->jobs = 16;
    a->repeat = 1;
    a->min_score = -1;
    a->filters = calloc((size_t)argc, sizeof(*a->filters));
    if (!a->filters)
        return bad_usage("%s", "out of memory");
    unsigned long long v;
    int c;
    optind = 1;
    opterr = 0;
    /* the leading ':' makes a missing value ':' rather than '?', so each gets its own message */
    while ((c = getopt_long(argc, argv, ":c:j:hx", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->client = optarg;
            break;
        case 'j':
            if (!parse_uint(optarg, 1024, &v) || v == 0)
                return bad_usage("-j wants a number from 1 to 1024, not '%s'", optarg);
            a->jobs = (unsigned)v;
            break;
        case O_REPEAT:
            if (!parse_uint(optarg, 100000, &v) || v == 0)
                return bad_usage("--repeat wants a number from 1 to 100000, not '%s'", optarg);
            a->repeat = (unsigned)v;
            break;
        case O_FILTER:
            a->filters[a->n_filters++] = optarg;
            break;
        case O_DIALECT:
            if (parse_dialects(optarg, &a->dialects))
                return bad_usage("--dialect wants openai-chat, openai-responses, "
                                 "anthropic-messages or gemini (comma-separated), not '%s'",
                                 optarg);
            break;
        case O_SHARD: {
            unsigned k, n;
            char extra;
            if (sscanf(optarg, "%u/%u%c", &k, &n, &extra) != 2 || n == 0 || k == 0 || k > n)
                return bad_usage("--shard wants K/N with 1 <= K <= N, not '%s'", optarg);
            a->shard_k = k;
            a->shard_n = n;
            a->shard = optarg;
            break;
        }
        case O_SEED:
            if (!parse_uint(optarg, UINT64_MAX, &v))
                return bad_usage("--seed wants a non-negative integer, not '%s'", optarg);
            a->seed = v;
            break;
        case O_MIN: {
            char *end;
            a->min_score = strtod(optarg, &end);
            if (*end || end == optarg || a->min_score < 0 || a->min_score > 100)
                return bad_usage("--min-score wants a number from 0 to 100, not '%s'", optarg);
            break;
        }
        case O_JSON:
            a->json = optarg;
            break;
        case O_JUNIT:
            a->junit = optarg;
            break;
        case O_HTML:
            a->html = optarg;
            break;
        case O_SUMMARY:
            a->summary = optarg;
            break;
        case 'x':
            a->exit_first = true;
            break;
        case O_KEEP:
            /* Once it asked for what is now the default; accepted so that scripts and CI
             * configurations written then keep working. It does not undo -x. */
            break;
        case O_ORDER:
            if (strcmp(optarg, "file") != 0 && strcmp(optarg, "longest") != 0)
                return bad_usage("--order wants longest or file, not '%s'", optarg);
            a->file_order = strcmp(optarg, "file") == 0;
            break;
        case O_NOCOLOR:
            a->no_color = true;
            break;
        case O_UPSTREAM:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
                return bad_usage("--upstream wants an http:// or https:// URL, not '%s'", optarg);
            a->upstream = optarg;
            break;
        case O_CACERT:
            a->upstream_cacert = optarg;
            break;
        case O_RELAY:
            a->relay.command = optarg;
            break;
        case O_DOWN:
            if (fl_downstream_format_parse(optarg, &a->relay.format))
                return bad_usage("--downstream wants one of openai-chat, openai-responses, "
                                 "anthropic-messages, text, ndjson, ai-sdk-ui, not '%s'",
                                 optarg);
            a->have_downstream = true;
            break;
        case O_RURL:
            a->relay.url = optarg;
            break;
        case O_RREQ:
            a->relay.request = optarg;
            break;
        case O_RSTART:
            if (!parse_uint(optarg, 3600000, &v) || v == 0)
                return bad_usage("--relay-start-ms wants a number from 1 to 3600000, not '%s'",
                                 optarg);
            a->relay.start_ms = v;
            break;
        case 'h':
            print_usage();
            return 1;
        case ':':
            return bad_usage("%s needs a value", argv[optind - 1]);
        default: {
            const char *all[sizeof(run_options) / sizeof(run_options[0]) +
                            sizeof(relay_options) / sizeof(relay_options[0])];
            size_t n = 0;
            for (size_t i = 0; run_options[i]; i++)
                all[n++] = run_options[i];
            for (size_t i = 0; relay_options[i]; i++)
                all[n++] = relay_options[i];
            all[n] = NULL;
            return fl_cmd_unknown_option("run", argv[optind - 1], all);
        }
        }
    }
    if (a->relay.command) {
        if (a->client)
            return bad_usage("%s", "--client and --relay exclude each other: a run scores one");
        if (a->upstream)
            return bad_usage("%s", "--relay and --upstream exclude each other: a relay is scored "
                                   "against the mock upstream");
        if (!*a->relay.command)
            return bad_usage("%s", "--relay wants a command");
        if (!a->have_downstream)
            return bad_usage("%s", "--relay needs --downstream FORMAT: what the relay streams "
                                   "to the browser");
        if (a->relay.url && !strstr(a->relay.url, "{port}"))
            return bad_usage("--relay-url '%s' has no {port}: the relay listens on $PORT",
                             a->relay.url);
    } else {
        if (a->have_downstream || a->relay.url || a->relay.request || a->relay.start_ms)
            return bad_usage("%s", "--downstream and --relay-* go with --relay 'CMD'");
        if (!a->client || !*a->client)
            return bad_usage("%s", "--client 'CMD' (or --relay 'CMD') is required");
    }
    if (a->upstream_cacert && !a->upstream)
        return bad_usage("%s", "--cacert goes with --upstream URL");
    a->paths = argv + optind;
    a->n_paths = (size_t)(argc - optind);
    return 0;
}

/* Whether every report path can be written, before any scenario runs: a typo in a CI
 * configuration should cost a second, not the whole run. Returns 0 or 2 (printed). */
static int check_outputs(const run_args_t *a)
{
    const struct {
        const char *path;
        bool append;
    } outs[] = {{a->json, false}, {a->junit, false}, {a->html, false}, {a->summary, true}};
    int status = 0;
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
        fl_diag_t d;
        char line[1536];
        if (outs[i].path && fl_report_check_path(outs[i].path, outs[i].append, &d)) {
            fprintf(stderr, "faultline run: %s\n", fl_diag_format(&d, line, sizeof(line)));
            status = 2;
        }
    }
    return status;
}

static bool selected(const run_args_t *a, const fl_scenario_t *sc)
{
    /* A relay streams text to the browser: a tool call has no downstream spelling in the
     * formats decoded, so those scenarios are for clients only. */
    if (a->relay.command && sc->response.tool_call)
        return false;
    /* A fault profile (no response:) breaks a live upstream's stream: it has no answer to mock. */
    if (sc->profile && !a->upstream)
        return false;
    if (a->dialects && !(a->dialects & (1u << sc->dialect)))
        return false;
    if (a->n_filters == 0)
        return true;
    for (size_t i = 0; i < a->n_filters; i++)
        if (fnmatch(a->filters[i], sc->name, 0) == 0)
            return true;
    return false;
}

/* Loads the scenarios once; errors are printed as file:line:col. Returns 0 or 2. */
static int load_set(const run_args_t *a, fl_scenario_set_t *set)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_set_init(set);
    int failed = 0;
    if (a->n_paths == 0) {
        char cat[PATH_MAX];
        if (fl_paths_find(FL_DATA_CATALOG, cat, sizeof(cat)) == FL_ORIGIN_NONE) {
            fputs("faultline run: no scenarios given and no built-in catalog found; give "
                  "SCENARIO|DIR or set FAULTLINE_CATALOG (faultline run --help shows where it "
                  "looks)\n",
                  stderr);
            failed = 1;
        } else {
            failed = fl_scenario_set_load(set, cat, &diags) != 0;
        }
    }
    for (size_t i = 0; i < a->n_paths; i++)
        if (fl_scenario_set_load(set, a->paths[i], &diags) != 0)
            failed = 1;
    char line[1536];
    for (size_t i = 0; i < diags.len; i++)
        fprintf(stderr, "%s\n", fl_diag_format(&diags.items[i], line, sizeof(line)));
    fl_diag_list_close(&diags);
    return failed ? 2 : 0;
}

/* Gives a repetition its own draws: the run seed and the repetition mixed into every seed. */
static void reseed(fl_scenario_set_t *set, uint64_t seed, unsigned repeat)
{
    uint64_t mix = (seed + repeat - 1) * UINT64_C(0xD1B54A32D192ED03);
    for (size_t i = 0; i < set->len; i++) {
        fl_scenario_t *sc = set->items[i];
        sc->response.seed ^= mix;
        for (size_t k = 0; k < sc->n_attempts; k++)
            sc->attempts[k].chaos_seed ^= mix;
    }
}

static void iso_now(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The runs to do, in scenario order with repetitions together. Returns 0, 2 or FL_ENOMEM. */
static int plan_jobs(const run_args_t *a, fl_scenario_set_t *sets, fl_run_job_t **out,
                     size_t *n_out)
{
    size_t n_sel = 0;
    fl_run_job_t *jobs = calloc(sets[0].len * a->repeat + 1, sizeof(*jobs));
    if (!jobs)
        return FL_ENOMEM;
    size_t n = 0, n_profiles = 0;
    for (size_t i = 0; i < sets[0].len; i++) {
        n_profiles += sets[0].items[i]->profile && !a->upstream;
        if (!selected(a, sets[0].items[i]))
            continue;
        size_t idx = n_sel++;
        if (a->shard_n && idx % a->shard_n != a->shard_k - 1)
            continue;
        for (unsigned r = 1; r <= a->repeat; r++) {
            fl_scenario_set_t *set = a->seed ? &sets[r - 1] : &sets[0];
            jobs[n].scenario = set->items[i];
            jobs[n].repeat = r;
            n++;
        }
    }
    if (n_profiles)
        fprintf(stderr,
                "faultline run: left out %zu fault profile%s (no response:): a profile breaks a "
                "live upstream, run it with --upstream URL\n",
                n_profiles, n_profiles == 1 ? "" : "s");
    if ((a->n_filters || a->dialects) && n_sel == 0) {
        free(jobs);
        return bad_usage("--filter/--dialect matched no scenario%s", "");
    }
    *out = jobs;
    *n_out = n;
    return 0;
}

static int report_and_exit(const run_args_t *a, fl_report_t *rep)
{
    const char *nc = getenv("NO_COLOR");
    bool color = !a->no_color && !(nc && *nc) && isatty(STDOUT_FILENO);
    /* A terminal's width; in a CI log, room for the whole of most reasons. */
    struct winsize ws;
    rep->table_cols =
        isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col
                                                                                         : 200;
    fl_report_print_table(rep, stdout, color);
    int status = 0;
    /* A reader that left (`| head`, EPIPE: SIGPIPE is ignored, main.c) is not an error: the
     * reports below are still written and the runs still decide the status. Any other failure
     * to print the table is. */
    if (fflush(stdout) != 0 && errno != EPIPE) {
        fprintf(stderr, "faultline run: cannot print the table: %s\n", strerror(errno));
        status = 2;
    }
    fl_diag_t d;
    char line[1536];
    if (a->json && fl_report_write_json(rep, a->json, &d)) {
        fprintf(stderr, "faultline run: %s\n", fl_diag_format(&d, line, sizeof(line)));
        status = 2;
    }
    if (a->junit && fl_report_write_junit(rep, a->junit, &d)) {
        fprintf(stderr, "faultline run: %s\n", fl_diag_format(&d, line, sizeof(line)));
        status = 2;
    }
    if (a->html && fl_report_write_html(rep, a->html, &d)) {
        fprintf(stderr, "faultline run: %s\n", fl_diag_format(&d, line, sizeof(line)));
        status = 2;
    }
    if (a->summary && fl_report_write_summary(rep, a->summary, &d)) {
        fprintf(stderr, "faultline run: %s\n", fl_diag_format(&d, line, sizeof(line)));
        status = 2;
    }
    if (status || rep->interrupted) /* an interrupted run has no score to hold to a bar */
        return status;
    /* With a bar, the bar decides: a team can hold an SDK to "no worse than 80" in CI while
     * some scenarios still fail. Without one, every run must pass. */
    if (a->min_score >= 0) {
        if (fl_report_score(rep) >= a->min_score)
            return 0;
        fprintf(stderr, "faultline run: score %.1f is under --min-score %.1f\n",
                fl_report_score(rep), a->min_score);
        return 1;
    }
    return fl_report_failures(rep) > 0 ? 1 : 0;
}

/* Runs the jobs and reports; returns the exit status. */
static int run_jobs(const run_args_t *a, const fl_run_job_t *jobs, size_t n_jobs)
{
    fl_run_result_t *results = calloc(n_jobs + 1, sizeof(*results));
    fl_run_state_t *state = calloc(n_jobs + 1, sizeof(*state));
    fl_run_result_t *done = calloc(n_jobs + 1, sizeof(*done));
    fl_report_not_run_t *not_run = calloc(n_jobs + 1, sizeof(*not_run));
    if (!results || !state || !done || !not_run) {
        free(results);
        free(state);
        free(done);
        free(not_run);
        fputs("faultline run: out of memory\n", stderr);
        return 2;
    }
    char started[32], clients[PATH_MAX];
    iso_now(started, sizeof(started));
    fl_run_opts_t o = {.client = a->client,
                       .relay = a->relay.command ? &a->relay : NULL,
                       .jobs = a->jobs,
                       .seed = a->seed,
                       .exit_first = a->exit_first,
                       .progress = isatty(STDERR_FILENO) ? stderr : NULL,
                       .file_order = a->file_order,
                       .upstream = a->upstream,
                       .upstream_cacert = a->upstream_cacert};
    if (fl_paths_find(FL_DATA_CLIENTS, clients, sizeof(clients)) != FL_ORIGIN_NONE)
        o.clients_dir = clients;
    struct timespec ts0, ts1;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    int signo = 0;
    int rc = fl_run_all(&o, jobs, n_jobs, results, state, &signo);
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    size_t n_done = 0, n_not_run = 0;
    /* A relay that does not start usually fails the same way every time: say why once, up
     * front, rather than only in each row's reason. */
    for (size_t i = 0; a->relay.command && i < n_jobs; i++)
        if (state[i] == FL_RUN_JUDGED && results[i].ev.exit_kind == FL_EXIT_SPAWN) {
            fprintf(stderr, "faultline run: the relay did not start (%s): %s\n",
                    jobs[i].scenario->name, results[i].ev.spawn_error);
            break;
        }
    for (size_t i = 0; i < n_jobs; i++) {
        if (state[i] == FL_RUN_JUDGED)
            done[n_done++] = results[i];
        else
            not_run[n_not_run++] = (fl_report_not_run_t){.scenario = jobs[i].scenario,
                                                         .repeat = jobs[i].repeat,
                                                         .started = state[i] == FL_RUN_CUT_SHORT};
    }
    fl_report_t rep = {.client = a->relay.command ? a->relay.command : a->client,
                       .seed = a->seed,
                       .jobs = a->jobs,
                       .shard = a->shard,
                       .started = started,
                       .wall_ms = (uint64_t)((ts1.tv_sec - ts0.tv_sec) * 1000 +
                                             (ts1.tv_nsec - ts0.tv_nsec) / 1000000),
                       .min_score = a->min_score,
                       .items = done,
                       .n_items = n_done,
                       .not_run = not_run,
                       .n_not_run = n_not_run,
                       .interrupted = rc == FL_EINTR};
    int status = report_and_exit(a, &rep);
    if (rc == FL_EINTR) {
        /* 128 + the signal, as a shell reports a process the signal ended (130 for SIGINT):
         * an interrupted run never exits as a pass, whatever the runs that finished say. */
        fprintf(stderr,
                "faultline run: interrupted by %s; %zu of %zu runs not run (listed in the table "
                "and the reports)\n",
                signo == SIGTERM ? "SIGTERM" : "SIGINT", n_not_run, n_jobs);
        status = status == 2 ? 2 : 128 + (signo ? signo : SIGINT);
    } else if (rc) {
        fprintf(stderr, "faultline run: %s\n", fl_strerror(rc));
        status = 2;
    } else if (n_done < n_jobs) {
        fprintf(stderr,
                "faultline run: stopped after the first run that did not pass (-x/--exitfirst); "
                "%zu of %zu not run\n",
                n_jobs - n_done, n_jobs);
    }
    for (size_t i = 0; i < n_done; i++)
        fl_evidence_close(&done[i].ev);
    free(results);
    free(state);
    free(done);
    free(not_run);
    return status;
}

int fl_cmd_run(int argc, char **argv)
{
    run_args_t a;
    memset(&a, 0, sizeof(a));
    int rc = parse_args(argc, argv, &a);
    if (!rc && check_outputs(&a))
        rc = 2;
    if (rc) {
        free(a.filters);
        return rc == 1 ? 0 : 2;
    }
    size_t n_sets = a.seed ? a.repeat : 1;
    fl_scenario_set_t *sets = calloc(n_sets, sizeof(*sets));
    int status = 2;
    fl_run_job_t *jobs = NULL;
    size_t n_jobs = 0, loaded = 0;
    if (!sets)
        goto done;
    for (; loaded < n_sets; loaded++) {
        if (load_set(&a, &sets[loaded]))
            goto done_loaded;
        if (a.seed)
            reseed(&sets[loaded], a.seed, (unsigned)loaded + 1);
    }
    if ((rc = plan_jobs(&a, sets, &jobs, &n_jobs))) {
        if (rc == FL_ENOMEM)
            fputs("faultline run: out of memory\n", stderr);
        goto done_loaded;
    }
    if (n_jobs == 0)
        fputs("faultline run: no scenario in this shard\n", stderr);
    status = run_jobs(&a, jobs, n_jobs);
done_loaded:
    for (size_t i = 0; i <= loaded && i < n_sets; i++)
        fl_scenario_set_close(&sets[i]);
    free(jobs);
done:
    free(sets);
    free(a.filters);
    return status;
}

/*
 * The runner (run.h). One slot per run in flight, each holding a server, a client process, its
 * two output pipes and one timer that serves every phase of the run in turn:
 *
 *   RUN    until the client exits, or the deadline: SIGTERM to its group  -> TERM
 *   TERM   until the client exits, or FL_RUN_KILL_GRACE_MS: SIGKILL
 *   DRAIN  the client exited; its pipes stay open while something else holds them, for at
 *          most FL_RUN_KILL_GRACE_MS before they are closed by force
 *   SETTLE FL_RUN_SETTLE_MS for the server to see the client's sockets close, then the
 *          journal is read, the run judged and the slot's handles closed.
 *
 * The slot is freed when its last handle and its server have closed, and the next job starts.
 */
#include "run/run.h"

#include "base/container_of.h"
#include "judge/verdict.h"
#include "run/reap.h"
#include "proxy/proxy.h"
#include "run/schedule.h"
#include "run/result.h"
#include "serve/server.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

typedef struct fl_runner_s fl_runner_t;

typedef enum { PHASE_RUN, PHASE_TERM, PHASE_DRAIN, PHASE_SETTLE, PHASE_DONE } phase_t;

/* One run in flight. */
typedef struct fl_slot_s {
    fl_runner_t *run;
    size_t job;
    fl_scenario_set_t view; /* the job's scenario alone; only the items array is owned */
    fl_server_t *srv;
    fl_proxy_t *proxy; /* instead of srv with opts->upstream */
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    phase_t phase;
    int pending;   /* handles (and the server) not yet closed */
    bool spawned;  /* proc holds a live child until exited */
    bool exited;   /* the exit callback has run */
    bool deadline; /* the harness sent SIGTERM at the deadline */
    bool cut;      /* the run was interrupted while the client was running */
    bool out_open, err_open;
    uint64_t spawn_ms;    /* spawn time on the journal's clock (ms since the server's t0) */
    uint64_t spawn_hr;    /* uv_hrtime at spawn (ns) */
    fl_relay_t *relay;    /* relay mode: the browser, from spawn to slot_finish */
    bool browsing;        /* relay mode: the browser is not through yet */
    int relay_port;       /* relay mode: the PORT the relay was given */
    char result_dir[256]; /* the run's private folder for FAULTLINE_RESULT_PATH (result.h);
                             "" when none was made */
} fl_slot_t;

struct fl_runner_s {
    uv_loop_t loop;
    const fl_run_opts_t *opts;
    const fl_run_job_t *jobs;
    size_t n_jobs;
    fl_run_result_t *results;
    fl_run_state_t *state;
    fl_slot_t **slots; /* by job index while running, else NULL */
    size_t *order;     /* job indexes in start order: the longest first (schedule.h) */
    size_t next, running, done, failed;
    bool stop_starting, interrupted, closing;
    int rc;
    int signo; /* the signal that interrupted the run, or 0 */
    uv_signal_t sigint, sigterm;
    uv_signal_t sigchld; /* beside libuv's own: an adopted orphan exited, or was orphaned */
    bool subreaper;      /* this run made the process a child subreaper */
    bool was_subreaper;  /* ... and it was one before */
    pid_t *skip;         /* opts->jobs entries: pids of the running clients, libuv's to reap */
    uv_timer_t tick;
    uint64_t start_hr;
    char readbuf[64 * 1024];
};

static void start_more(fl_runner_t *run);
static void on_timer(uv_timer_t *t);

/* The slot's journal and port: its mock server's, or with --upstream its proxy's. */
static fl_journal_t *slot_journal(fl_slot_t *s)
{
    return s->proxy ? fl_proxy_journal(s->proxy) : fl_server_journal(s->srv);
}

static int slot_port(const fl_slot_t *s)
{
    return s->proxy ? fl_proxy_port(s->proxy) : fl_server_port(s->srv);
}

char *fl_run_live_answer(const json_t *journal)
{
    const json_t *reqs = json_object_get(journal, "requests");
    const char *whole = NULL, *longest = "";
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        json_t *rel = json_object_get(r, "relayed");
        const char *text = json_string_value(json_object_get(rel, "text"));
        if (!text)
            continue;
        const char *end = json_string_value(json_object_get(r, "end"));
        if (json_is_true(json_object_get(rel, "end_marker")) && end && !strcmp(end, "complete"))
            whole = text;
        if (strlen(text) > strlen(longest))
            longest = text;
    }
    if (whole)
        return strdup(whole);
    size_t n = strlen(longest);
    char *a = malloc(n + 4);
    if (a) {
        memcpy(a, longest, n);
        memcpy(a + n, "\xe2\x80\xa6", 4); /* U+2026 and the NUL */
    }
    return a;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static uint64_t elapsed_ms(uint64_t since_hr)
{
    return (uv_hrtime() - since_hr) / 1000000u;
}

static fl_evidence_t *slot_ev(fl_slot_t *s)
{
    return &s->run->results[s->job].ev;
}

/* Signals the client's whole process group; it is gone when kill says ESRCH. */
static void signal_group(fl_slot_t *s, int sig)
{
    if (s->spawned && s->proc.pid > 0)
        kill(-s->proc.pid, sig);
}

static void progress(fl_runner_t *run, bool final)
{
    FILE *f = run->opts->progress;
    if (!f)
        return;
    if (final) {
        fputs("\r\033[K", f);
    } else {
        fprintf(f, "\r\033[K[%zu/%zu] %zu running, %zu not passed, %.1f s", run->done, run->n_jobs,
                run->running, run->failed, (double)elapsed_ms(run->start_hr) / 1e3);
    }
    fflush(f);
}

/* ---- the client's environment ------------------------------------------------------------ */

static bool is_contract_var(const char *kv)
{
    /* GOOGLE_API_KEY is dropped, not set: @google/genai and google-genai prefer it to
       GEMINI_API_KEY (and warn when both are set), so an inherited real key would be sent.
       GOOGLE_GENAI_USE_VERTEXAI would send them to Vertex AI instead of the base URL's path. */
    static const char *const names[] = {"FAULTLINE_",
                                        "OPENAI_BASE_URL=",
                                        "OPENAI_API_KEY=",
                                        "ANTHROPIC_BASE_URL=",
                                        "ANTHROPIC_API_KEY=",
                                        "GOOGLE_GEMINI_BASE_URL=",
                                        "GEMINI_API_KEY=",
                                        "GOOGLE_GENERATIVE_AI_API_KEY=",
                                        "GOOGLE_API_KEY=",
                                        "GOOGLE_GENAI_USE_VERTEXAI=",
                                        "NO_PROXY=",
                                        "no_proxy=",
                                        "PORT=", /* set for relays; never inherited */
                                        NULL};
    for (size_t i = 0; names[i]; i++)
        if (strncmp(kv, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

/* Appends "NAME=value" to env (room was counted by the caller). */
static int env_put(char **env, size_t *n, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *kv = malloc(len);
    if (!kv)
        return FL_ENOMEM;
    snprintf(kv, len, "%s=%s", name, value);
    env[(*n)++] = kv;
    return 0;
}

static void env_free(char **env)
{
    if (!env)
        return;
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/*
 * The inherited environment minus anything the contract sets, plus the contract's variables.
 * NO_PROXY keeps a user's HTTP proxy settings from routing loopback requests away.
 */
static int env_build(const fl_slot_t *s, int port, char ***out)
{
    const fl_scenario_t *sc = s->run->jobs[s->job].scenario;
    size_t n_env = 0;
    while (environ[n_env])
        n_env++;
    char **env = calloc(n_env + 24, sizeof(*env));
    if (!env)
        return FL_ENOMEM;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < n_env && !rc; i++) {
        if (is_contract_var(environ[i]))
            continue;
        if (!(env[n] = strdup(environ[i])))
            rc = FL_ENOMEM;
        else
            n++;
    }
    char base[48], v1[64], seed[32], no_proxy[512], run_id[32];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(v1, sizeof(v1), "%s/v1", base);
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)s->run->opts->seed);
    fl_reap_run_id(s->job, run_id, sizeof(run_id));
    const char *np = getenv("NO_PROXY") ? getenv("NO_PROXY") : getenv("no_proxy");
    snprintf(no_proxy, sizeof(no_proxy), "127.0.0.1,localhost%s%s", np && *np ? "," : "",
             np ? np : "");
    const char *kv[][2] = {
        {"FAULTLINE_BASE_URL", base},
        {"OPENAI_BASE_URL", v1},
        {"ANTHROPIC_BASE_URL", base},
        {"OPENAI_API_KEY", FL_RUN_API_KEY},
        {"ANTHROPIC_API_KEY", FL_RUN_API_KEY},
        /* @google/genai and google-genai read GOOGLE_GEMINI_BASE_URL and append /v1beta */
        {"GOOGLE_GEMINI_BASE_URL", base},
        {"GEMINI_API_KEY", FL_RUN_API_KEY},
        {"GOOGLE_GENERATIVE_AI_API_KEY", FL_RUN_API_KEY}, /* the Vercel AI SDK's google provider */
        {"FAULTLINE_DIALECT", fl_dialect_name(sc->dialect)},
        {"FAULTLINE_MODEL", sc->model},
        {"FAULTLINE_PROMPT", sc->prompt},
        {"FAULTLINE_SCENARIO", sc->name},
        {"FAULTLINE_SEED", seed},
        {FL_REAP_ENV, run_id},
        {"NO_PROXY", no_proxy},
        {"no_proxy", no_proxy},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]) && !rc; i++) {
        /* against a live upstream the client needs the caller's own key, where one is set */
        const char *mine = s->run->opts->upstream && strcmp(kv[i][1], FL_RUN_API_KEY) == 0
                               ? getenv(kv[i][0])
                               : NULL;
        rc = env_put(env, &n, kv[i][0], mine ? mine : kv[i][1]);
    }
    /* the structured result's file and the scenario's deadline (README, client contract) */
    char result[300], deadline[32];
    snprintf(result, sizeof(result), "%s/%s", s->result_dir, FL_RESULT_FILE);
    snprintf(deadline, sizeof(deadline), "%llu", (unsigned long long)sc->expect.deadline_ms);
    if (!rc && s->result_dir[0])
        rc = env_put(env, &n, "FAULTLINE_RESULT_PATH", result);
    if (!rc)
        rc = env_put(env, &n, "FAULTLINE_DEADLINE_MS", deadline);
    if (!rc && s->run->opts->clients_dir)
        rc = env_put(env, &n, "FAULTLINE_CLIENTS", s->run->opts->clients_dir);
    if (!rc && s->run->opts->relay) {
        char relay_port[16];
        snprintf(relay_port, sizeof(relay_port), "%d", s->relay_port);
        rc = env_put(env, &n, "PORT", relay_port);
    }
    if (rc) {
        env_free(env);
        return rc;
    }
    *out = env;
    return 0;
}

/* ---- what clients leave behind (reap.h) -------------------------------------------------- */

/* Whether job's client has come and gone, so whatever it left running can go too. */
static bool job_over(const fl_runner_t *run, long job)
{
    if (job < 0 || (size_t)job >= run->n_jobs)
        return false;
    const fl_slot_t *s = run->slots[job];
    return s ? s->exited : run->state[job] != FL_RUN_NOT_STARTED;
}

/* Reaps the adopted orphans that have exited and SIGKILLs those whose run is over (with all,
 * every one). Killing one orphans its own children in turn; they are adopted, and the SIGCHLD
 * of its death sweeps again. Returns how many adopted processes are left (alive or not yet
 * reaped). Never waits: waitpid only with WNOHANG, and only for pids libuv did not spawn. */
static int sweep(fl_runner_t *run, bool all)
{
    if (!run->subreaper)
        return 0;
    size_t n_skip = 0;
    for (size_t i = 0; i < run->n_jobs && n_skip < run->opts->jobs; i++) {
        fl_slot_t *s = run->slots[i];
        if (s && s->spawned && !s->exited)
            run->skip[n_skip++] = s->proc.pid;
    }
    fl_reap_child_t kids[64];
    int n = fl_reap_list(run->skip, n_skip, kids, sizeof(kids) / sizeof(kids[0]));
    int left = n;
    for (int i = 0; i < n && (size_t)i < sizeof(kids) / sizeof(kids[0]); i++) {
        if (kids[i].zombie) {
            if (waitpid(kids[i].pid, NULL, WNOHANG) == kids[i].pid)
                left--;
        } else if (all || job_over(run, kids[i].job)) {
            kill(kids[i].pid, SIGKILL);
        }
    }
    return left < 0 ? 0 : left;
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    (void)signum;
    sweep(h->data, false);
}

/* After the loop: kills and reaps every adopted process still there, for at most
 * FL_RUN_KILL_GRACE_MS (a process in uninterruptible sleep dies when it wakes). */
static void sweep_all(fl_runner_t *run)
{
    for (int i = 0; i < FL_RUN_KILL_GRACE_MS / 10 && sweep(run, true) > 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}

/* ---- closing a slot ------------------------------------------------------------------------ */

static void slot_release(fl_slot_t *s)
{
    if (--s->pending > 0)
        return;
    fl_runner_t *run = s->run;
    run->slots[s->job] = NULL;
    free(s->view.items);
    free(s);
    run->running--;
    start_more(run);
}

static void on_handle_closed(uv_handle_t *h)
{
    slot_release(h->data);
}

static void on_server_stopped(void *arg)
{
    slot_release(arg);
}

static void close_pipe(fl_slot_t *s, uv_pipe_t *p, bool *open)
{
    if (!*open)
        return;
    *open = false;
    uv_read_stop((uv_stream_t *)p);
    uv_close((uv_handle_t *)p, on_handle_closed);
}

/* Reads the journal, judges the run and closes everything the slot holds. */
static void slot_finish(fl_slot_t *s)
{
    fl_runner_t *run = s->run;
    fl_evidence_t *ev = slot_ev(s);
    s->phase = PHASE_DONE;
    char *live_answer = NULL;
    if (s->srv || s->proxy) {
        uv_update_time(&run->loop);
        fl_journal_t *jn = slot_journal(s);
        json_t *jj = fl_journal_to_json(jn);
        uint64_t now = uv_now(&run->loop) - jn->t0_ms;
        if (!jj || fl_evidence_add_journal(ev, jj, s->spawn_ms, now))
            run->rc = FL_ENOMEM;
        if (jj && s->proxy && !(live_answer = fl_run_live_answer(jj)))
            run->rc = FL_ENOMEM;
        json_decref(jj);
    }
    if (s->relay && fl_relay_result(s->relay, ev))
        run->rc = FL_ENOMEM;
    if (!s->cut && fl_result_collect(s->result_dir, ev))
        run->rc = FL_ENOMEM;
    fl_result_dir_remove(s->result_dir);
    s->result_dir[0] = '\0';
    if (s->cut) {
        fl_evidence_close(ev);
        run->state[s->job] = FL_RUN_CUT_SHORT;
    } else {
        /* a live run is judged against what the upstream answered (fl_run_live_answer) */
        const fl_scenario_t *sc = ev->scenario;
        fl_scenario_t live;
        if (live_answer) {
            live = *sc;
            live.expect.answer = live_answer;
            live.response.tool_call = NULL; /* the live answer is compared as text */
            ev->scenario = &live;
        }
        fl_verdict_judge(ev, &run->results[s->job].j);
        ev->scenario = sc;
        run->state[s->job] = FL_RUN_JUDGED;
        run->done++;
        if (!run->results[s->job].j.passed) {
            run->failed++;
            if (run->opts->exit_first)
                run->stop_starting = true;
        }
    }
    free(live_answer);
    progress(run, false);
    sweep(run, false); /* orphaned since the client's exit */
    close_pipe(s, &s->out, &s->out_open);
    close_pipe(s, &s->err, &s->err_open);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    if (s->spawned)
        uv_close((uv_handle_t *)&s->proc, on_handle_closed);
    if (s->srv) {
        s->pending++;
        fl_server_stop(s->srv, on_server_stopped, s);
        s->srv = NULL;
    }
    if (s->proxy) {
        s->pending++;
        fl_proxy_stop(s->proxy, on_server_stopped, s);
        s->proxy = NULL;
    }
    if (s->relay) {
        s->pending++;
        fl_relay_free(s->relay, on_server_stopped, s);
        s->relay = NULL;
    }
}

/* Moves on once the client has exited and both pipes have reached EOF. */
static void maybe_settle(fl_slot_t *s)
{
    if (!s->exited || s->browsing || s->phase >= PHASE_SETTLE)
        return;
    if (s->out_open || s->err_open) {
        if (s->phase != PHASE_DRAIN) {
            s->phase = PHASE_DRAIN;
            uv_timer_start(&s->timer, on_timer, FL_RUN_KILL_GRACE_MS, 0);
        }
        return;
    }
    s->phase = PHASE_SETTLE;
    uv_timer_start(&s->timer, on_timer, FL_RUN_SETTLE_MS, 0);
}

/* ---- callbacks ------------------------------------------------------------------------------
 */

static void on_timer(uv_timer_t *t)
{
    fl_slot_t *s = t->data;
    switch (s->phase) {
    case PHASE_RUN:
        s->deadline = true;
        s->phase = PHASE_TERM;
        signal_group(s, SIGTERM);
        uv_timer_start(t, on_timer, FL_RUN_KILL_GRACE_MS, 0);
        break;
    case PHASE_TERM:
        signal_group(s, SIGKILL);
        break;
    case PHASE_DRAIN:
        /* Something outside the client's group holds its pipes: stop waiting for EOF. */
        close_pipe(s, &s->out, &s->out_open);
        close_pipe(s, &s->err, &s->err_open);
        maybe_settle(s);
        break;
    case PHASE_SETTLE:
        slot_finish(s);
        break;
    case PHASE_DONE:
        break;
    }
}

/* Exit codes with which a shell reports a child killed by one of these signals (128 + N). */
static int shell_reported_signal(int code)
{
    static const int crash[] = {SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGSEGV};
    for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
        if (code == 128 + crash[i])
            return crash[i];
    return 0;
}

static void on_client_exit(uv_process_t *p, int64_t status, int term_signal)
{
    fl_slot_t *s = container_of(p, fl_slot_t, proc);
    fl_evidence_t *ev = slot_ev(s);
    ev->wall_ms = elapsed_ms(s->spawn_hr);
    int shell_sig = term_signal ? 0 : shell_reported_signal((int)status);
    if (s->deadline) {
        ev->exit_kind = FL_EXIT_DEADLINE;
        ev->term_signal = term_signal;
        ev->exit_code = (int)status;
    } else if (term_signal || shell_sig) {
        ev->exit_kind = FL_EXIT_SIGNAL;
        ev->term_signal = term_signal ? term_signal : shell_sig;
        ev->exit_code = (int)status;
    } else {
        ev->exit_kind = FL_EXIT_CODE;
        ev->exit_code = (int)status;
    }
    if (s->relay)
        fl_relay_exited(s->relay, status, term_signal);
    /* What the client left behind in its group goes too, and what escaped the group (a daemon
     * in a session of its own, adopted by the runner); its pipes then reach EOF. */
    signal_group(s, SIGKILL);
    s->exited = true;
    sweep(s->run, false);
    maybe_settle(s);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    fl_slot_t *s = h->data;
    *buf = uv_buf_init(s->run->readbuf, sizeof(s->run->readbuf));
}

/* Keeps reading past the bound (so the client never blocks on a full pipe) but stores no more.
 */
static void capture(fl_slot_t *s, bool is_out, const char *data, size_t n)
{
    fl_evidence_t *ev = slot_ev(s);
    fl_buf_t *b = is_out ? &ev->out : &ev->err;
    bool *trunc = is_out ? &ev->out_truncated : &ev->err_truncated;
    size_t room = b->len < FL_CAPTURE_MAX ? FL_CAPTURE_MAX - b->len : 0;
    size_t take = n < room ? n : room;
    if (take && fl_buf_append(b, data, take))
        take = 0;
    if (take < n)
        *trunc = true;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    fl_slot_t *s = st->data;
    bool is_out = st == (uv_stream_t *)&s->out;
    if (nread > 0) {
        capture(s, is_out, buf->base, (size_t)nread);
        return;
    }
    if (nread == 0)
        return;
    close_pipe(s, is_out ? &s->out : &s->err, is_out ? &s->out_open : &s->err_open);
    maybe_settle(s);
}

/* ---- starting a slot ----------------------------------------------------------------------
 */

static void spawn_failed(fl_slot_t *s, const char *why, int rc)
{
    fl_evidence_t *ev = slot_ev(s);
    ev->exit_kind = FL_EXIT_SPAWN;
    snprintf(ev->spawn_error, sizeof(ev->spawn_error), "%s: %s", why,
             rc < -20000 ? fl_strerror(rc) : uv_strerror(rc));
    s->exited = true;
    s->phase = PHASE_SETTLE;
    uv_timer_start(&s->timer, on_timer, 0, 0);
}

/* The browser is through with the relay: stop it (SIGTERM to its group, SIGKILL after the
 * grace), after which the run settles as a client's does. */
static void relay_done(void *arg)
{
    fl_slot_t *s = arg;
    if (!s->browsing)
        return;
    s->browsing = false;
    if (s->exited) {
        maybe_settle(s);
        return;
    }
    s->phase = PHASE_TERM;
    signal_group(s, SIGTERM);
    uv_timer_start(&s->timer, on_timer, FL_RUN_KILL_GRACE_MS, 0);
}

/* A loopback port nobody listens on now, for a relay's PORT: bound with port 0 and released.
 * Another process may take it first; the relay then fails to listen and says so. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return UV_EMFILE;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port > 0 ? port : UV_EADDRINUSE;
}

static int spawn_client(fl_slot_t *s)
{
    fl_runner_t *run = s->run;
    char **env = NULL;
    if (run->opts->relay && (s->relay_port = free_port()) < 0)
        return s->relay_port;
    int rc = env_build(s, slot_port(s), &env);
    if (rc)
        return rc;
    const fl_relay_conf_t *relay = run->opts->relay;
    char *args[] = {"/bin/sh", "-c", (char *)(relay ? relay->command : run->opts->client), NULL};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&s->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&s->err;
    uv_process_options_t po;
    memset(&po, 0, sizeof(po));
    po.exit_cb = on_client_exit;
    po.file = args[0];
    po.args = args;
    po.env = env;
    po.flags = UV_PROCESS_DETACHED; /* setsid(): a process group the harness can signal */
    po.stdio = stdio;
    po.stdio_count = 3;
    uv_update_time(&run->loop);
    s->spawn_ms = uv_now(&run->loop) - slot_journal(s)->t0_ms;
    s->spawn_hr = uv_hrtime();
    rc = uv_spawn(&run->loop, &s->proc, &po);
    env_free(env); /* the child has its copy once uv_spawn returns */
    if (rc)
        return rc;
    s->spawned = true;
    s->pending++;
    s->proc.data = s;
    uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&s->err, on_alloc, on_read);
    const fl_scenario_t *sc = run->jobs[s->job].scenario;
    uint64_t deadline = sc->expect.deadline_ms;
    if (relay) {
        /* The browser keeps the deadline (relay.c); this one only guards against a browser
         * that never finishes. */
        deadline += (relay->start_ms ? relay->start_ms : FL_RELAY_START_MS) +
                    FL_RELAY_CANCEL_BOUND_MS + 5000;
        fl_journal_t *jn = fl_server_journal(s->srv);
        rc = fl_relay_start(&run->loop, relay, sc, jn, s->relay_port, s->proc.pid,
                            jn->t0_ms + s->spawn_ms, relay_done, s, &s->relay);
        if (rc) {
            signal_group(s, SIGKILL);
            uv_timer_start(&s->timer, on_timer, deadline, 0);
            return rc;
        }
        s->browsing = true;
    }
    uv_timer_start(&s->timer, on_timer, deadline, 0);
    return 0;
}

static int start_slot(fl_runner_t *run, size_t job)
{
    fl_slot_t *s = calloc(1, sizeof(*s));
    if (!s)
        return FL_ENOMEM;
    const fl_run_job_t *jb = &run->jobs[job];
    s->run = run;
    s->job = job;
    fl_evidence_init(&run->results[job].ev, jb->scenario, jb->repeat, run->opts->seed);
    fl_scenario_set_init(&s->view);
    if (!(s->view.items = malloc(sizeof(*s->view.items)))) {
        free(s);
        return FL_ENOMEM;
    }
    s->view.items[0] = (fl_scenario_t *)jb->scenario;
    s->view.len = s->view.cap = 1;
    uv_timer_init(&run->loop, &s->timer);
    uv_pipe_init(&run->loop, &s->out, 0);
    uv_pipe_init(&run->loop, &s->err, 0);
    s->timer.data = s->out.data = s->err.data = s;
    s->pending = 3;
    s->out_open = s->err_open = true;
    run->slots[job] = s;
    run->running++;

    uv_update_time(&run->loop);
    /* with --upstream, a proxy in front of the live upstream takes the mock server's place */
    fl_proxy_opts_t po = {.upstream = run->opts->upstream,
                          .cacert = run->opts->upstream_cacert,
                          .collect_text = true};
    int rc = po.upstream ? fl_proxy_new(&run->loop, &s->view, &po, &s->proxy)
                         : fl_server_new(&run->loop, &s->view, NULL, &s->srv);
    if (rc) {
        spawn_failed(s, po.upstream ? "cannot create the proxy" : "cannot create the mock server",
                     rc);
        return 0;
    }
    rc = s->proxy ? fl_proxy_start(s->proxy, "127.0.0.1", 0)
                  : fl_server_start(s->srv, "127.0.0.1", 0);
    if (rc) {
        spawn_failed(s, "cannot listen on 127.0.0.1", rc);
        return 0;
    }
    if ((rc = fl_result_dir_make(s->result_dir, sizeof(s->result_dir)))) {
        spawn_failed(s, "cannot create the run's result folder", rc);
        return 0;
    }
    if ((rc = spawn_client(s)))
        spawn_failed(s, "cannot start the client with /bin/sh -c", rc);
    return 0;
}

/* ---- the run ---------------------------------------------------------------------------- */

static void close_runner_handles(fl_runner_t *run)
{
    if (run->closing)
        return;
    run->closing = true;
    progress(run, true);
    uv_close((uv_handle_t *)&run->sigint, NULL);
    uv_close((uv_handle_t *)&run->sigterm, NULL);
    uv_close((uv_handle_t *)&run->sigchld, NULL);
    uv_close((uv_handle_t *)&run->tick, NULL);
    /* uv_close restored SIG_DFL. Interrupted, the process is on its way out with reports to
     * write: a second ^C must not lose them. */
    if (run->interrupted) {
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
    }
}

static void start_more(fl_runner_t *run)
{
    while (!run->stop_starting && run->next < run->n_jobs && run->running < run->opts->jobs) {
        int rc = start_slot(run, run->order[run->next++]);
        if (rc) {
            run->rc = rc;
            run->stop_starting = true;
        }
    }
    if (run->running == 0 && (run->stop_starting || run->next == run->n_jobs))
        close_runner_handles(run);
}

static void on_signal(uv_signal_t *h, int signum)
{
    fl_runner_t *run = h->data;
    if (run->interrupted)
        return;
    run->interrupted = true;
    run->signo = signum;
    run->stop_starting = true;
    run->rc = FL_EINTR;
    for (size_t i = 0; i < run->n_jobs; i++) {
        fl_slot_t *s = run->slots[i];
        if (!s)
            continue;
        /* A client that already exited has its evidence whole: it is still judged. */
        if (!s->exited || s->browsing)
            s->cut = true;
        s->browsing = false; /* the browser's report is not awaited: the run is cut */
        signal_group(s, SIGKILL);
        maybe_settle(s);
    }
}

static void on_tick(uv_timer_t *t)
{
    progress(t->data, false);
}

int fl_run_all(const fl_run_opts_t *opts, const fl_run_job_t *jobs, size_t n_jobs,
               fl_run_result_t *results, fl_run_state_t *state, int *signo)
{
    fl_runner_t *run = calloc(1, sizeof(*run));
    if (!run)
        return FL_ENOMEM;
    run->slots = calloc(n_jobs ? n_jobs : 1, sizeof(*run->slots));
    run->skip = calloc(opts->jobs ? opts->jobs : 1, sizeof(*run->skip));
    run->order = calloc(n_jobs ? n_jobs : 1, sizeof(*run->order));
    /* One at a time, the order does not change the wall time: keep the given one. */
    bool given = opts->file_order || opts->jobs <= 1;
    for (size_t i = 0; given && run->order && i < n_jobs; i++)
        run->order[i] = i;
    if (!run->slots || !run->skip || !run->order ||
        (!given && fl_schedule_order(jobs, n_jobs, run->order)) || uv_loop_init(&run->loop)) {
        free(run->order);
        free(run->skip);
        free(run->slots);
        free(run);
        return FL_ENOMEM;
    }
    run->opts = opts;
    run->jobs = jobs;
    run->n_jobs = n_jobs;
    run->results = results;
    run->state = state;
    run->start_hr = uv_hrtime();
    uv_signal_init(&run->loop, &run->sigint);
    uv_signal_init(&run->loop, &run->sigterm);
    uv_signal_init(&run->loop, &run->sigchld);
    uv_timer_init(&run->loop, &run->tick);
    run->sigint.data = run->sigterm.data = run->sigchld.data = run->tick.data = run;
    uv_signal_start(&run->sigint, on_signal, SIGINT);
    uv_signal_start(&run->sigterm, on_signal, SIGTERM);
    /* Without the attribute (a kernel before 3.4) the process groups are still killed; only
     * what escaped its group outlives the run. */
    run->subreaper = fl_reap_subreaper(true, &run->was_subreaper) == 0;
    uv_signal_start(&run->sigchld, on_sigchld, SIGCHLD);
    if (opts->progress)
        uv_timer_start(&run->tick, on_tick, 200, 200);

    start_more(run);
    uv_run(&run->loop, UV_RUN_DEFAULT);
    sweep_all(run);
    if (run->subreaper && !run->was_subreaper)
        fl_reap_subreaper(false, NULL);
    int rc = run->rc;
    if (signo)
        *signo = run->signo;
    uv_loop_close(&run->loop);
    free(run->order);
    free(run->skip);
    free(run->slots);
    free(run);
    return rc;
}

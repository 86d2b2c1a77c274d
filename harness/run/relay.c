/*
 * Relay mode's browser (relay.h). States, on one timer each for the phase and the deadline:
 *
 *   START   POST to the relay; refused: try again every FL_RELAY_RETRY_MS until conf->start_ms
 *           has passed or the relay exited (a start error, told apart by where it listens)
 *   STREAM  the request is in: decode the body, time every byte; at downstream
 *           .disconnect_after_ms leave (LINGER), at expect.deadline_ms give up (hung)
 *   LINGER  the browser left: watch the journal until every upstream request has ended, for at
 *           most FL_RELAY_CANCEL_BOUND_MS + FL_RELAY_LINGER_SLACK_MS
 *   DONE    done() was called
 */
#include "run/relay.h"

#include "base/error.h"
#include "run/browser.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { R_START, R_STREAM, R_LINGER, R_DONE } rstate_t;

struct fl_relay_s {
    uv_loop_t *loop;
    const fl_relay_conf_t *conf;
    const fl_scenario_t *sc;
    const fl_journal_t *jn;
    int port;
    pid_t pgid;
    uint64_t spawn_ms; /* loop time of the relay's spawn */
    fl_browser_t *browser;
    uv_timer_t phase, deadline;
    rstate_t state;
    char *url, *body;
    fl_downstream_t ds;
    fl_relay_ev_t ev;
    int64_t last_byte_ms; /* ms after spawn */
    bool exited, timed_out;
    unsigned refused; /* connections refused while waiting for the relay */
    int64_t exit_status;
    int exit_signal;
    char start_error[200]; /* set when the relay never accepted */
    char why[200];         /* how the transfer ended when not clean */
    void (*done)(void *arg);
    void *arg;
    int pending; /* handles being closed by fl_relay_free */
    void (*freed)(void *arg);
    void *freed_arg;
};

static int64_t now_ms(fl_relay_t *r)
{
    uv_update_time(r->loop);
    return (int64_t)(uv_now(r->loop) - r->spawn_ms);
}

/* ---- templates ------------------------------------------------------------------------------ */

/* Copies tpl into b with each {name} of names[] replaced by its value. Returns 0 or FL_ENOMEM. */
static int expand(fl_buf_t *b, const char *tpl, const char *const names[], const char *const vals[])
{
    for (const char *p = tpl; *p;) {
        bool hit = false;
        for (size_t i = 0; names[i] && !hit; i++) {
            size_t k = strlen(names[i]);
            if (strncmp(p, names[i], k) == 0) {
                if (fl_buf_append_str(b, vals[i]))
                    return FL_ENOMEM;
                p += k;
                hit = true;
            }
        }
        if (!hit && fl_buf_append(b, p++, 1))
            return FL_ENOMEM;
    }
    return fl_buf_append(b, "", 1);
}

static int build_request(fl_relay_t *r)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", r->port);
    const char *un[] = {"{port}", NULL}, *uv[] = {port};
    fl_buf_t u, bd;
    fl_buf_init(&u);
    fl_buf_init(&bd);
    json_t *pm = json_string(r->sc->prompt), *mm = json_string(r->sc->model);
    char *pj = pm ? json_dumps(pm, JSON_ENCODE_ANY) : NULL;
    char *mj = mm ? json_dumps(mm, JSON_ENCODE_ANY) : NULL;
    json_decref(pm);
    json_decref(mm);
    int rc = FL_ENOMEM;
    if (pj && mj) {
        const char *bn[] = {"{prompt}", "{model}", NULL}, *bv[] = {pj, mj};
        const char *url = r->conf->url ? r->conf->url : "http://127.0.0.1:{port}/api/chat";
        const char *req =
            r->conf->request ? r->conf->request : fl_downstream_default_request(r->conf->format);
        if (!expand(&u, url, un, uv) && !expand(&bd, req, bn, bv)) {
            r->url = fl_buf_detach(&u, NULL);
            r->body = fl_buf_detach(&bd, NULL);
            rc = 0;
        }
    }
    free(pj);
    free(mj);
    fl_buf_close(&u);
    fl_buf_close(&bd);
    return rc;
}

/* ---- where the relay listens ---------------------------------------------------------------- */

/* Reads the listening sockets' inodes and ports of one /proc/net table into inodes/ports. */
static size_t read_listeners(const char *path, unsigned long *inodes, int *ports, size_t n,
                             size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return n;
    char line[512];
    if (!fgets(line, sizeof(line), f)) { /* the header */
        fclose(f);
        return n;
    }
    while (n < max && fgets(line, sizeof(line), f)) {
        char local[64];
        unsigned st;
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3)
            continue;
        const char *colon = strrchr(local, ':');
        if (st != 0x0A || !colon) /* TCP_LISTEN */
            continue;
        inodes[n] = inode;
        ports[n] = (int)strtol(colon + 1, NULL, 16);
        n++;
    }
    fclose(f);
    return n;
}

/* The process group of pid, from /proc/PID/stat (field 5), or -1. */
static pid_t pgid_of(const char *pid)
{
    char path[300], buf[512];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    int pg;
    if (!p || sscanf(p + 1, " %*c %*d %d", &pg) != 1)
        return -1;
    return (pid_t)pg;
}

int fl_relay_listening_ports(pid_t pgid, int *ports, size_t max)
{
    enum { MAXL = 256 };
    unsigned long inodes[MAXL];
    int lports[MAXL];
    size_t nl = read_listeners("/proc/net/tcp", inodes, lports, 0, MAXL);
    nl = read_listeners("/proc/net/tcp6", inodes, lports, nl, MAXL);
    DIR *proc = opendir("/proc");
    if (!proc)
        return -errno;
    size_t found = 0;
    struct dirent *de;
    while ((de = readdir(proc))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || pgid_of(de->d_name) != pgid)
            continue;
        char fdpath[300];
        snprintf(fdpath, sizeof(fdpath), "/proc/%s/fd", de->d_name);
        DIR *fds = opendir(fdpath);
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char lpath[600], target[64];
            snprintf(lpath, sizeof(lpath), "%s/%s", fdpath, fe->d_name);
            ssize_t k = readlink(lpath, target, sizeof(target) - 1);
            unsigned long ino;
            if (k <= 0)
                continue;
            target[k] = '\0';
            if (sscanf(target, "socket:[%lu]", &ino) != 1)
                continue;
            for (size_t i = 0; i < nl; i++) {
                if (inodes[i] != ino)
                    continue;
                bool dup = false;
                for (size_t j = 0; j < found && j < max; j++)
                    dup |= ports[j] == lports[i];
                if (!dup) {
                    if (found < max)
                        ports[found] = lports[i];
                    found++;
                }
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return (int)found;
}

/* ---- the browser's side -----------------------------------------------------------------------
 */

static void finish(fl_relay_t *r)
{
    if (r->state == R_DONE)
        return;
    r->state = R_DONE;
    uv_timer_stop(&r->phase);
    uv_timer_stop(&r->deadline);
    r->done(r->arg);
}

static void start_failed(fl_relay_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void start_failed(fl_relay_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->start_error, sizeof(r->start_error), fmt, ap);
    va_end(ap);
    finish(r);
}

/* Says where the relay listens instead of PORT, and returns true, when it listens anywhere;
 * else, with give_up, that it never listened. */
static bool listens_elsewhere(fl_relay_t *r, bool give_up)
{
    int ports[8];
    int n = fl_relay_listening_ports(r->pgid, ports, 8);
    if (n > 0) {
        char list[96] = "";
        size_t o = 0;
        for (int i = 0; i < n && i < 8 && o < sizeof(list); i++)
            o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%d", i ? ", " : "", ports[i]);
        start_failed(r,
                     "the relay listens on port %s, not on PORT=%d (read the port from the PORT "
                     "environment variable)",
                     list, r->port);
        return true;
    }
    if (give_up)
        start_failed(r, "the relay did not accept on 127.0.0.1:%d (PORT) within %" PRIu64 " ms",
                     r->port, r->conf->start_ms ? r->conf->start_ms : FL_RELAY_START_MS);
    return false;
}

static void gap_to(fl_relay_t *r, int64_t t)
{
    int64_t gap = t - r->last_byte_ms;
    if (gap > r->ev.max_gap_ms) {
        r->ev.max_gap_ms = gap;
        r->ev.max_gap_at_ms = r->last_byte_ms;
    }
    r->last_byte_ms = t;
}

static void on_head(void *arg, int status)
{
    fl_relay_t *r = arg;
    r->ev.status = status;
}

static void on_byte(void *arg)
{
    fl_relay_t *r = arg;
    int64_t t = now_ms(r);
    if (r->state == R_START)
        r->state = R_STREAM;
    if (r->ev.first_byte_ms < 0)
        r->ev.first_byte_ms = t;
    gap_to(r, t);
}

static void on_body(void *arg, const char *p, size_t n)
{
    fl_relay_t *r = arg;
    size_t before = r->ds.text.len;
    fl_downstream_feed(&r->ds, p, n);
    if (r->ev.first_text_ms < 0 && r->ds.text.len > before)
        r->ev.first_text_ms = now_ms(r);
}

static void on_phase(uv_timer_t *t);
static void post(fl_relay_t *r);

static void on_done(void *arg, bool connected, bool clean, const char *why)
{
    fl_relay_t *r = arg;
    int64_t t = now_ms(r);
    if (r->state == R_START && !connected) {
        uint64_t bound = r->conf->start_ms ? r->conf->start_ms : FL_RELAY_START_MS;
        if (r->exited)
            start_failed(r, "the relay %s %" PRId64 " before accepting on PORT=%d",
                         r->exit_signal ? "was killed by signal" : "exited with status",
                         r->exit_signal ? (int64_t)r->exit_signal : r->exit_status, r->port);
        else if ((uint64_t)t >= bound)
            listens_elsewhere(r, true);
        /* A relay that listens, but not on PORT, is told at once rather than at the bound: one
         * with a port of its own would otherwise cost the whole bound on every scenario. */
        else if ((uint64_t)t < FL_RELAY_PORT_CHECK_MS || ++r->refused % 10 != 0 ||
                 !listens_elsewhere(r, false))
            uv_timer_start(&r->phase, on_phase, FL_RELAY_RETRY_MS, 0);
        return;
    }
    gap_to(r, t);
    r->ev.end_ms = t;
    r->ev.clean = clean;
    snprintf(r->why, sizeof(r->why), "%s", why);
    fl_downstream_finish(&r->ds, clean);
    finish(r);
}

static void post(fl_relay_t *r)
{
    r->ev.sent_ms = r->last_byte_ms = now_ms(r);
    int rc = fl_browser_post(r->browser, r->url, r->body);
    if (rc) {
        start_failed(r, "cannot send the browser's request: %s", fl_strerror(rc));
        return;
    }
    const fl_scenario_t *sc = r->sc;
    uint64_t wait = sc->expect.deadline_ms;
    if (sc->downstream.disconnect_after_ms && sc->downstream.disconnect_after_ms < wait)
        wait = sc->downstream.disconnect_after_ms;
    uv_timer_start(&r->deadline, on_phase, wait, 0);
}

/* Whether a request of the scenario's journal is still being answered. */
static bool upstream_open(const fl_relay_t *r)
{
    const fl_journal_t *j = r->jn;
    for (size_t i = 0; i < j->count; i++) {
        const fl_journal_entry_t *e = j->ring[(j->head + i) % j->capacity];
        if (e && e->end == FL_END_IN_PROGRESS)
            return true;
    }
    return false;
}

static void on_phase(uv_timer_t *t)
{
    fl_relay_t *r = t->data;
    int64_t now = now_ms(r);
    if (t == &r->deadline && r->state != R_LINGER) {
        gap_to(r, now);
        r->ev.end_ms = now;
        fl_browser_abort(r->browser);
        fl_downstream_finish(&r->ds, false);
        if (r->sc->downstream.disconnect_after_ms &&
            now - r->ev.sent_ms < (int64_t)r->sc->expect.deadline_ms) {
            r->ev.left_ms = now;
            r->state = R_LINGER;
            uv_timer_start(&r->phase, on_phase, 20, 0);
        } else {
            r->timed_out = true;
            finish(r);
        }
        return;
    }
    switch (r->state) {
    case R_START:
        post(r);
        break;
    case R_LINGER:
        if (!upstream_open(r) ||
            now - r->ev.left_ms >= FL_RELAY_CANCEL_BOUND_MS + FL_RELAY_LINGER_SLACK_MS)
            finish(r);
        else
            uv_timer_start(&r->phase, on_phase, 20, 0);
        break;
    default:
        break;
    }
}

int fl_relay_start(uv_loop_t *loop, const fl_relay_conf_t *conf, const fl_scenario_t *sc,
                   const fl_journal_t *jn, int port, pid_t pgid, uint64_t spawn_ms,
                   void (*done)(void *arg), void *arg, fl_relay_t **out)
{
    fl_relay_t *r = calloc(1, sizeof(*r));
    if (!r)
        return FL_ENOMEM;
    r->loop = loop;
    r->conf = conf;
    r->sc = sc;
    r->jn = jn;
    r->port = port;
    r->pgid = pgid;
    r->spawn_ms = spawn_ms;
    r->done = done;
    r->arg = arg;
    r->ev.on = true;
    r->ev.sent_ms = r->ev.first_byte_ms = r->ev.first_text_ms = r->ev.end_ms = -1;
    r->ev.max_gap_at_ms = r->ev.left_ms = -1;
    snprintf(r->ev.format, sizeof(r->ev.format), "%s", fl_downstream_format_name(conf->format));
    fl_downstream_init(&r->ds, conf->format);
    const fl_browser_cbs_t cbs = {on_head, on_body, on_byte, on_done};
    int rc = build_request(r);
    if (!rc)
        rc = fl_browser_new(loop, &cbs, r, &r->browser);
    if (rc) {
        fl_downstream_close(&r->ds);
        free(r->url);
        free(r->body);
        free(r);
        return rc;
    }
    uv_timer_init(loop, &r->phase);
    uv_timer_init(loop, &r->deadline);
    r->phase.data = r->deadline.data = r;
    *out = r;
    post(r);
    return 0;
}

void fl_relay_exited(fl_relay_t *r, int64_t status, int term_signal)
{
    r->exited = true;
    r->exit_status = status;
    r->exit_signal = term_signal;
}

bool fl_relay_start_failed(const fl_relay_t *r)
{
    return r->start_error[0] != '\0';
}

/* The last lines of the relay's stderr, at most n bytes, on one line with " | " between. */
static void stderr_tail(const fl_buf_t *err, char *out, size_t n)
{
    size_t len = err->len;
    while (len &&
           (err->data[len - 1] == '\n' || err->data[len - 1] == '\r' || err->data[len - 1] == ' '))
        len--;
    size_t from = len > n - 8 ? len - (n - 8) : 0;
    size_t o = 0;
    if (from)
        o += (size_t)snprintf(out, n, "...");
    for (size_t i = from; i < len && o + 4 < n; i++) {
        unsigned char c = (unsigned char)err->data[i];
        if (c == '\n') {
            memcpy(out + o, " | ", 3);
            o += 3;
        } else {
            out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
    }
    out[o] = '\0';
}

int fl_relay_result(fl_relay_t *r, fl_evidence_t *ev)
{
    fl_relay_ev_t *re = &ev->relay;
    *re = r->ev;
    re->complete = r->ds.done && !r->ds.error;
    re->malformed = r->ds.malformed;
    if (fl_relay_start_failed(r)) {
        char tail[280];
        stderr_tail(&ev->err, tail, sizeof(tail));
        ev->exit_kind = FL_EXIT_SPAWN;
        snprintf(ev->spawn_error, sizeof(ev->spawn_error), "%s; its stderr: %s", r->start_error,
                 tail[0] ? tail : "(empty)");
        return 0;
    }
    fl_buf_truncate(&ev->out, 0);
    /* the relay's own stderr is kept beside the browser's message */
    fl_buf_t tmp = ev->relay_err;
    ev->relay_err = ev->err;
    ev->err = tmp;
    fl_buf_truncate(&ev->err, 0);
    ev->wall_ms = r->ev.end_ms > 0 ? (uint64_t)r->ev.end_ms : 0;
    int rc = 0;
    if (r->ds.text.len)
        rc = fl_buf_append(&ev->out, r->ds.text.data, r->ds.text.len);
    if (r->timed_out) {
        ev->exit_kind = FL_EXIT_DEADLINE;
        return rc;
    }
    ev->exit_kind = FL_EXIT_CODE;
    bool http_error = re->status < 200 || re->status > 299;
    re->error = http_error || r->ds.error || (!re->clean && re->left_ms < 0);
    ev->exit_code = re->error ? 1 : 0;
    if (!rc && http_error)
        rc = fl_buf_printf(&ev->err, "error: HTTP %d from the relay\n", re->status);
    else if (!rc && r->ds.error)
        rc = fl_buf_printf(&ev->err, "error: %s (an error %s)\n", r->ds.error_msg,
                           r->conf->format == FL_DOWNSTREAM_NDJSON ? "line" : "event");
    else if (!rc && re->error)
        rc = fl_buf_printf(&ev->err, "error: the response was aborted: %s\n", r->why);
    return rc;
}

static void handle_closed(uv_handle_t *h)
{
    fl_relay_t *r = h->data;
    if (--r->pending > 0)
        return;
    void (*freed)(void *) = r->freed;
    void *arg = r->freed_arg;
    fl_downstream_close(&r->ds);
    free(r->url);
    free(r->body);
    free(r);
    freed(arg);
}

static void browser_freed(void *arg)
{
    fl_relay_t *r = arg;
    handle_closed((uv_handle_t *)&r->phase);
}

void fl_relay_free(fl_relay_t *r, void (*done)(void *arg), void *arg)
{
    r->state = R_DONE;
    r->freed = done;
    r->freed_arg = arg;
    r->pending = 3;
    uv_timer_stop(&r->phase);
    uv_timer_stop(&r->deadline);
    uv_close((uv_handle_t *)&r->phase, handle_closed);
    uv_close((uv_handle_t *)&r->deadline, handle_closed);
    fl_browser_free(r->browser, browser_freed, r);
}

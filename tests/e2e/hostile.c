/*
 * Hostile peers beside a normal client (conn.c, http.c, journal.c, route.c). The server runs
 * in-process on the catalog (scenarios/) with short request deadlines and a small head limit,
 * and while a normal client streams the catalog's `hello` again and again, other peers:
 *   - slowloris: dozens of connections sending one byte of a never-ending head every 100 ms;
 *   - half requests: a head without its end, a head and then no body, a body shorter than its
 *     content-length, a connection that sends nothing;
 *   - garbage bytes;
 *   - an idle keep-alive connection after a response;
 *   - header floods (many small headers, one huge header, whitespace, blank lines), sent in
 *     steps that wait for the server to have read each one;
 *   - a request on every scenario of the catalog (every fault kind), left mid-write by RST
 *     (SO_LINGER 0) or FIN.
 * The normal client's every event must arrive within TOLERANCE_MS of its schedule; the half
 * requests and slowloris get 408 after their deadline (never before), the floods 431 before a
 * step past the limit has been read, garbage 400, the idle connection a FIN; afterwards the
 * server answers and its fds are back to what they were.
 *
 * A second test fills the journal with requests carrying large headers and reads it (whole and
 * in pages) while the normal client streams: the stream keeps its timing, and each entry keeps
 * at most FL_JOURNAL_HEADER_BYTES of header text and says how much it left out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "e2e_server.h"

#include "encode/dialect.h"
#include "encode/script.h"
#include "load/load.h"
#include "model/fault.h"
#include "model/scenario.h"
#include "serve/journal.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CATALOG      FL_SOURCE_DIR "/scenarios"
#define HEADER_MS    500
#define BODY_MS      800
#define IDLE_MS      1000
#define MAX_HEADER   (8 * 1024)
#define TOLERANCE_MS 150.0  /* a normal event's lateness (or earliness) against its schedule */
#define EARLY_MS     20.0   /* a deadline's response may come this much before it (ms clocks) */
#define LATE_MS      1500.0 /* and this much after it, on a loaded machine */
#define STEP         2048   /* bytes per flood step */
#define NORMAL       "hello"

static const fl_server_opts_t opts = {.max_header = MAX_HEADER,
                                      .header_timeout_ms = HEADER_MS,
                                      .body_timeout_ms = BODY_MS,
                                      .idle_timeout_ms = IDLE_MS};

static fl_scenario_set_t catalog; /* the test's own copy, for schedules, names and dialects */

static void start_with(const fl_server_opts_t *o)
{
    /* A peer leaving while the in-process server writes to it must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    es_start_opts(CATALOG, o);
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_set_init(&catalog);
    cr_assert_eq(fl_scenario_set_load(&catalog, CATALOG, &diags), 0);
    fl_diag_list_close(&diags);
}

static void start(void)
{
    start_with(&opts);
}

/* The default options: the journal's own bounds, a 64 KiB head limit. */
static void start_defaults(void)
{
    start_with(NULL);
}

static void stop(void)
{
    fl_scenario_set_close(&catalog);
    es_stop();
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A connected socket to the server (blocking), or -1. */
static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)es_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Sends everything (blocking); false when the peer is gone. */
static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Closes with RST: SO_LINGER 0 drops what is queued and resets the connection. */
static void close_rst(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* Open fds of this process (the server's are among them). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

/* Bytes the server thread has read (read(2) on its sockets): its rchar. */
static long long server_rchar(void)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/self/task/%d/io", (int)es_server_tid());
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "rchar: %lld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* ---- the normal client ---- */

typedef struct normal_s {
    atomic_bool stop;
    /* results, read once the thread has been joined */
    int streams;         /* streams received whole */
    int bad;             /* streams that were not */
    char why[256];       /* what was wrong with the first bad one */
    double worst_ms;     /* the largest |arrival - schedule| of any event */
    size_t worst_event;  /* which event */
    uint64_t sched[256]; /* each event's at_ms, from the scenario's own script */
    size_t n_sched;
} normal_t;

/* The schedule of a scenario's clean stream: each event's at_ms, as the encoder times it. */
static void schedule_of(const char *name, normal_t *n)
{
    const fl_scenario_t *sc = fl_scenario_set_find(&catalog, name);
    cr_assert_not_null(sc, "no scenario %s in the catalog", name);
    fl_encode_ctx_t ctx = {.id = "0123456789abcdef0123456789", .created = 1700000000};
    fl_script_t script;
    fl_script_init(&script);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &script), 0);
    n->n_sched = script.n_events;
    cr_assert_leq(n->n_sched, sizeof(n->sched) / sizeof(n->sched[0]));
    for (size_t i = 0; i < script.n_events; i++)
        n->sched[i] = script.events[i].at_ms;
    fl_script_close(&script);
}

/* Checks one exchange; returns NULL or what was wrong (static text in why). */
static const char *check_normal(normal_t *n, const fl_raw_result_t *r)
{
    static char why[200];
    es_resp_t d;
    es_decode(r, &d);
    const char *bad = NULL;
    if (r->end != FL_RAW_EOF || d.status != 200 || !d.chunked || d.dc_rc || !d.dc.terminated) {
        snprintf(why, sizeof(why), "end %s, status %d, chunked %d, framing %d, terminated %d",
                 fl_raw_end_name(r->end), d.status, d.chunked, d.dc_rc, d.dc.terminated);
        bad = why;
    }
    /* Each SSE event ends in a blank line ("\n\n"); chunk framing never makes one. The event
     * arrived with the read that brought its blank line. */
    size_t k = 0;
    for (size_t i = 0; !bad && i < r->n_reads; i++) {
        const fl_raw_read_t *rd = &r->reads[i];
        for (size_t j = 1; j < rd->len; j++) {
            bool blank = rd->bytes[j] == '\n' && rd->bytes[j - 1] == '\n';
            if (!blank)
                continue;
            if (k >= n->n_sched) {
                snprintf(why, sizeof(why), "more events than the %zu scheduled", n->n_sched);
                bad = why;
                break;
            }
            double off = rd->t_ms - (double)n->sched[k];
            if (off < 0)
                off = -off;
            if (off > n->worst_ms) {
                n->worst_ms = off;
                n->worst_event = k;
            }
            k++;
        }
    }
    if (!bad && k != n->n_sched) {
        snprintf(why, sizeof(why), "%zu events, want %zu", k, n->n_sched);
        bad = why;
    }
    es_resp_free(&d);
    return bad;
}

static void *normal_client(void *arg)
{
    normal_t *n = arg;
    char path[128];
    snprintf(path, sizeof(path), "/s/%s/v1/chat/completions", NORMAL);
    size_t len;
    char *req = fl_raw_post(path, NULL, &len);
    while (!atomic_load(&n->stop)) {
        fl_raw_result_t r;
        fl_raw_opts_t o = {.timeout_ms = 20000};
        if (fl_raw_exchange(es_port(), req, len, &o, &r)) {
            if (!n->bad++)
                snprintf(n->why, sizeof(n->why), "cannot reach the server");
            continue;
        }
        const char *bad = check_normal(n, &r);
        if (bad && !n->bad++)
            snprintf(n->why, sizeof(n->why), "%s", bad);
        else if (!bad)
            n->streams++;
        fl_raw_result_free(&r);
    }
    free(req);
    return NULL;
}

static void normal_assert(const normal_t *n, int min_streams)
{
    cr_log_info("normal client: %d streams, every event within %.0f ms of its schedule", n->streams,
                n->worst_ms);
    cr_assert_eq(n->bad, 0, "%d normal streams went wrong; first: %s", n->bad, n->why);
    cr_assert_geq(n->streams, min_streams, "only %d normal streams", n->streams);
    cr_assert_leq(n->worst_ms, TOLERANCE_MS,
                  "a normal event was %.0f ms off its schedule (event %zu of %zu)", n->worst_ms,
                  n->worst_event, n->n_sched);
}

/* ---- peers that wait for the server's answer: slowloris, half requests, garbage, idle ---- */

typedef struct peer_kind_s {
    const char *name;
    const char *send; /* sent at once after connecting ("" for nothing) */
    size_t send_len;  /* 0: strlen(send) */
    bool drip;        /* then one more byte of a header value every 100 ms */
    int count;        /* how many such peers */
    int status;       /* the status of the one response expected */
    const char *says; /* its body says this */
    double min_ms;    /* it starts this long after `send` went out, at the earliest */
    double max_ms;    /* and at the latest */
    double fin_after; /* > 0: the server's FIN comes this long after the response (idle) */
} peer_kind_t;

static const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x11\x00\xff";

static const peer_kind_t kinds[] = {
    {"slowloris", "GET /_faultline/health HTTP/1.1\r\nHost: a\r\nx-slow: ", 0, true, 40, 408,
     "head", HEADER_MS - EARLY_MS, HEADER_MS + LATE_MS, 0},
    {"a head without its end", "GET /_faultline/health HTTP/1.1\r\nHost: a\r\n", 0, false, 3, 408,
     "head", HEADER_MS - EARLY_MS, HEADER_MS + LATE_MS, 0},
    {"nothing at all", "", 0, false, 3, 408, "head", HEADER_MS - EARLY_MS, HEADER_MS + LATE_MS, 0},
    {"a head and no body",
     "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\ncontent-length: 100\r\n\r\n", 0, false, 3,
     408, "body", BODY_MS - EARLY_MS, BODY_MS + LATE_MS, 0},
    {"a body shorter than its length",
     "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\ncontent-length: 100\r\n\r\n{\"model\":", 0,
     false, 3, 408, "body", BODY_MS - EARLY_MS, BODY_MS + LATE_MS, 0},
    {"garbage", tls_hello, sizeof(tls_hello) - 1, false, 3, 400, "malformed", 0, LATE_MS, 0},
    {"idle keep-alive", "GET /_faultline/health HTTP/1.1\r\nHost: a\r\n\r\n", 0, false, 3, 200,
     "ok", 0, LATE_MS, IDLE_MS},
};

#define N_KINDS   (sizeof(kinds) / sizeof(kinds[0]))
#define MAX_PEERS 64

typedef struct peer_s {
    const peer_kind_t *kind;
    int fd;
    double sent_at;   /* when `send` went out */
    double next_drip; /* when the next drip byte is due */
    fl_buf_t got;
    double first_ms, end_ms; /* first response byte, and EOF, after sent_at; -1 before */
    bool reset;              /* the server reset the connection */
} peer_t;

typedef struct waiters_s {
    peer_t peers[MAX_PEERS];
    size_t n;
    int fds_opened;
} waiters_t;

static void *run_waiters(void *arg)
{
    waiters_t *w = arg;
    for (size_t k = 0; k < N_KINDS; k++) {
        for (int i = 0; i < kinds[k].count && w->n < MAX_PEERS; i++) {
            peer_t *p = &w->peers[w->n++];
            p->kind = &kinds[k];
            p->first_ms = p->end_ms = -1;
            fl_buf_init(&p->got);
            p->fd = dial();
            if (p->fd < 0)
                continue;
            w->fds_opened++;
            size_t len = kinds[k].send_len ? kinds[k].send_len : strlen(kinds[k].send);
            send_all(p->fd, kinds[k].send, len);
            p->sent_at = now_ms();
            p->next_drip = p->sent_at + 100;
        }
    }
    double give_up = now_ms() + BODY_MS + IDLE_MS + 3 * LATE_MS;
    for (;;) {
        struct pollfd pf[MAX_PEERS];
        size_t open = 0;
        for (size_t i = 0; i < w->n; i++) {
            pf[i] = (struct pollfd){.fd = w->peers[i].end_ms < 0 ? w->peers[i].fd : -1,
                                    .events = POLLIN};
            open += pf[i].fd >= 0;
        }
        if (!open || now_ms() > give_up)
            break;
        poll(pf, w->n, 10);
        double t = now_ms();
        for (size_t i = 0; i < w->n; i++) {
            peer_t *p = &w->peers[i];
            if (pf[i].fd < 0)
                continue;
            if (p->kind->drip && p->first_ms < 0 && t >= p->next_drip) {
                send(p->fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                p->next_drip += 100;
            }
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t k = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (k > 0) {
                if (p->first_ms < 0)
                    p->first_ms = t - p->sent_at;
                fl_buf_append(&p->got, buf, (size_t)k);
            } else if (k == 0 || errno != EAGAIN) {
                p->end_ms = t - p->sent_at;
                p->reset = k < 0;
            }
        }
    }
    for (size_t i = 0; i < w->n; i++)
        if (w->peers[i].fd >= 0)
            close(w->peers[i].fd);
    return NULL;
}

static void waiters_assert(waiters_t *w)
{
    for (size_t i = 0; i < w->n; i++) {
        peer_t *p = &w->peers[i];
        const peer_kind_t *k = p->kind;
        cr_assert_geq(p->fd, 0, "%s: cannot connect", k->name);
        const char *got = p->got.data ? p->got.data : "";
        size_t hl = fl_raw_head_len(got, p->got.len);
        cr_assert_gt(hl, 0, "%s: no response (%zu bytes)", k->name, p->got.len);
        cr_assert_eq(fl_raw_status(got, hl), k->status, "%s: %.60s", k->name, got);
        cr_assert_not_null(strstr(got + hl, k->says), "%s: body %s", k->name, got + hl);
        cr_assert(p->first_ms >= k->min_ms && p->first_ms <= k->max_ms,
                  "%s: answered after %.0f ms, want [%.0f, %.0f]", k->name, p->first_ms, k->min_ms,
                  k->max_ms);
        /* one response, then FIN */
        char len[32];
        cr_assert(fl_raw_header(got, hl, "content-length", len, sizeof(len)), "%s", k->name);
        cr_assert_eq(p->got.len, hl + strtoul(len, NULL, 10), "%s: bytes after the response",
                     k->name);
        cr_assert_geq(p->end_ms, 0, "%s: the server never closed the connection", k->name);
        cr_assert_not(p->reset, "%s: reset instead of FIN", k->name);
        if (k->fin_after > 0) {
            double idle = p->end_ms - p->first_ms;
            cr_assert(idle >= k->fin_after - EARLY_MS && idle <= k->fin_after + LATE_MS,
                      "%s: FIN %.0f ms after the response, want about %.0f", k->name, idle,
                      k->fin_after);
        } else {
            cr_assert_leq(p->end_ms - p->first_ms, LATE_MS, "%s: no FIN after the %d", k->name,
                          k->status);
        }
        fl_buf_close(&p->got);
    }
}

/* ---- header floods, in steps the server has read before the next ---- */

typedef struct flood_s {
    const char *name;
    const char *prefix;
    const char *unit;
} flood_t;

static const flood_t floods[] = {
    {"many small headers", "GET /_faultline/health HTTP/1.1\r\n", "a: b\r\n"},
    {"many empty headers", "GET /_faultline/health HTTP/1.1\r\n", "a:\r\n"},
    {"one huge header", "GET /_faultline/health HTTP/1.1\r\nx-big: ", "x"},
    {"a header of whitespace", "GET /_faultline/health HTTP/1.1\r\nx-ws: ", " "},
    {"blank lines", "", "\r\n"},
};

#define N_FLOODS (sizeof(floods) / sizeof(floods[0]))

typedef struct flood_result_s {
    size_t sent;    /* bytes sent when the answer arrived */
    int status;     /* its status */
    bool fin;       /* the server closed the connection after it */
    bool lock_step; /* the server thread's rchar could be read */
} flood_result_t;

typedef struct flooders_s {
    flood_result_t r[N_FLOODS];
} flooders_t;

static void flood_one(const flood_t *f, flood_result_t *out)
{
    int fd = dial();
    if (fd < 0)
        return;
    char chunk[STEP];
    size_t plen = strlen(f->prefix), ulen = strlen(f->unit), fill = 0;
    size_t sent = 0;
    long long base = server_rchar();
    out->lock_step = base >= 0;
    bool answered = false;
    while (!answered && sent < 64 * MAX_HEADER) {
        size_t n = 0;
        if (sent == 0) {
            memcpy(chunk, f->prefix, plen);
            n = plen;
        }
        while (n < sizeof(chunk)) {
            chunk[n++] = f->unit[fill];
            fill = (fill + 1) % ulen;
        }
        if (!send_all(fd, chunk, n))
            break;
        sent += n;
        /* Wait until the server has read it (others' reads can only make this early), then
         * give it time to answer before the next step. */
        for (double t0 = now_ms(); out->lock_step && now_ms() - t0 < 2000;) {
            long long v = server_rchar();
            if (v < 0 || v - base >= (long long)sent)
                break;
            usleep(1000);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        answered = poll(&p, 1, 40) > 0;
    }
    out->sent = sent;
    /* read the answer until the server's FIN */
    fl_buf_t got;
    fl_buf_init(&got);
    char buf[4096];
    for (double t0 = now_ms(); now_ms() - t0 < 3000;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k <= 0) {
            out->fin = k == 0;
            break;
        }
        fl_buf_append(&got, buf, (size_t)k);
    }
    size_t hl = got.data ? fl_raw_head_len(got.data, got.len) : 0;
    out->status = hl ? fl_raw_status(got.data, hl) : 0;
    fl_buf_close(&got);
    close(fd);
}

static void *run_flooders(void *arg)
{
    flooders_t *fl = arg;
    for (size_t i = 0; i < N_FLOODS; i++)
        flood_one(&floods[i], &fl->r[i]);
    return NULL;
}

static void flooders_assert(const flooders_t *fl)
{
    for (size_t i = 0; i < N_FLOODS; i++) {
        const flood_result_t *r = &fl->r[i];
        cr_log_info("%s: %d after %zu bytes (limit %d)", floods[i].name, r->status, r->sent,
                    MAX_HEADER);
        cr_assert_eq(r->status, 431, "%s: status %d", floods[i].name, r->status);
        cr_assert(r->fin, "%s: no FIN after the 431", floods[i].name);
        /* answered in the step that crossed the limit (or, on a slow turn, the next) */
        cr_assert_gt(r->sent, MAX_HEADER, "%s: refused at %zu bytes", floods[i].name, r->sent);
        cr_assert_leq(r->sent, MAX_HEADER + 2 * STEP,
                      "%s: %zu bytes were read before the 431 (limit %d)", floods[i].name, r->sent,
                      MAX_HEADER);
    }
}

/* ---- a scenario per fault kind of the catalog, left mid-write by RST or FIN ---- */

typedef struct leavers_s {
    size_t requests;  /* requests sent */
    size_t mid_write; /* of which some response bytes had arrived when the peer left */
    unsigned kinds;   /* fault kinds the chosen scenarios hold (bit per fl_fault_kind_t) */
} leavers_t;

/* The fault kinds a scenario holds (bit per fl_fault_kind_t), any attempt, chaos included. */
static unsigned kinds_of(const fl_scenario_t *sc)
{
    unsigned k = 0;
    for (size_t a = 0; a < sc->n_attempts; a++) {
        for (size_t f = 0; f < sc->attempts[a].n_faults; f++)
            k |= 1u << sc->attempts[a].faults[f].kind;
        for (size_t f = 0; f < sc->attempts[a].n_chaos_faults; f++)
            k |= 1u << sc->attempts[a].chaos_faults[f].kind;
    }
    return k;
}

#define MAX_LEAVERS FL_FAULT__COUNT
#define LEAVE_EVERY 25.0  /* ms between two leavers' requests: each costs the loop a compile */
#define LEAVE_BY    400.0 /* a leaver that got nothing leaves after this long */

static void *run_leavers(void *arg)
{
    leavers_t *lv = arg;
    const fl_scenario_t *chosen[MAX_LEAVERS];
    size_t n = 0;
    /* the first scenario of the catalog that holds each kind */
    for (unsigned k = 0; k < FL_FAULT__COUNT; k++) {
        for (size_t i = 0; !(lv->kinds & (1u << k)) && i < catalog.len; i++) {
            if (kinds_of(catalog.items[i]) & (1u << k)) {
                chosen[n++] = catalog.items[i];
                lv->kinds |= kinds_of(catalog.items[i]);
            }
        }
    }
    int fds[MAX_LEAVERS];
    double t0[MAX_LEAVERS];
    size_t got[MAX_LEAVERS] = {0};
    size_t started = 0, left = 0;
    double next = now_ms();
    while (left < n) {
        if (started < n && now_ms() >= next) {
            const fl_scenario_t *sc = chosen[started];
            char path[300];
            snprintf(path, sizeof(path), "/s/%s%s", sc->name, fl_dialect_path(sc->dialect));
            size_t len;
            char *req = fl_raw_post(path, NULL, &len);
            fds[started] = dial();
            if (fds[started] >= 0 && send_all(fds[started], req, len))
                lv->requests++;
            t0[started++] = now_ms();
            next += LEAVE_EVERY;
            free(req);
        }
        struct pollfd pf[MAX_LEAVERS];
        for (size_t i = 0; i < started; i++)
            pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        poll(pf, started, 5);
        double t = now_ms();
        for (size_t i = 0; i < started; i++) {
            if (fds[i] < 0)
                continue;
            if (pf[i].revents & POLLIN) {
                char buf[4096];
                ssize_t k = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
                if (k > 0)
                    got[i] += (size_t)k;
            }
            /* leave once some bytes came (the server is writing) plus a little */
            bool leave = t - t0[i] > LEAVE_BY || (got[i] && t - t0[i] > 30 + 10 * (double)(i % 5));
            if (!leave)
                continue;
            lv->mid_write += got[i] > 0;
            if (i % 2)
                close_rst(fds[i]);
            else
                close(fds[i]); /* FIN (RST instead when unread bytes are queued) */
            fds[i] = -1;
            left++;
        }
    }
    return NULL;
}

/* ---- the tests ---- */

/* Waits until the process has baseline fds again; returns the last count. */
static int fds_settle(int baseline)
{
    int n = count_fds();
    for (int i = 0; i < 100 && n != baseline; i++) {
        usleep(50 * 1000);
        n = count_fds();
    }
    return n;
}

TestSuite(hostile, .init = start, .fini = stop, .timeout = 120);

Test(hostile, peers_beside_a_normal_client)
{
    int baseline = count_fds();
    normal_t normal = {0};
    schedule_of(NORMAL, &normal);
    static waiters_t w_; /* large: not on the stack */
    waiters_t *w = &w_;
    flooders_t fl = {0};
    leavers_t lv = {0};
    pthread_t tn, tw, tf, tl;
    cr_assert_eq(pthread_create(&tn, NULL, normal_client, &normal), 0);
    usleep(400 * 1000); /* the normal stream is under way */
    cr_assert_eq(pthread_create(&tw, NULL, run_waiters, w), 0);
    cr_assert_eq(pthread_create(&tf, NULL, run_flooders, &fl), 0);
    cr_assert_eq(pthread_create(&tl, NULL, run_leavers, &lv), 0);
    pthread_join(tw, NULL);
    pthread_join(tf, NULL);
    pthread_join(tl, NULL);
    atomic_store(&normal.stop, true);
    pthread_join(tn, NULL);

    normal_assert(&normal, 1);
    waiters_assert(w);
    flooders_assert(&fl);
    for (size_t i = 0; i < N_FLOODS; i++)
        cr_assert(fl.r[i].lock_step, "cannot read the server thread's rchar");
    cr_assert_eq(lv.kinds, (1u << FL_FAULT__COUNT) - 1,
                 "the catalog no longer holds every fault kind (%#x)", lv.kinds);
    cr_assert_geq(lv.requests, 5, "%zu requests", lv.requests);
    cr_assert_geq(lv.mid_write, lv.requests / 2, "only %zu of %zu left mid-write", lv.mid_write,
                  lv.requests);

    /* alive, and every connection the peers made is gone */
    json_t *health = es_journal();
    cr_assert(json_is_array(health));
    json_decref(health);
    int fds = fds_settle(baseline);
    cr_assert_eq(fds, baseline, "%d fds open, %d before the peers", fds, baseline);
}

/* ---- a large journal read while a stream plays ---- */

#define FILL_REQUESTS 1000
#define FILL_HEADERS  30000 /* bytes of headers per request, under the default 64 KiB limit */

/* Sends FILL_REQUESTS requests with large headers over one keep-alive connection (pipelined
 * in bursts) and reads their answers. */
static void *fill_journal(void *arg)
{
    size_t *done = arg;
    fl_buf_t req;
    fl_buf_init(&req);
    fl_buf_append_str(&req, "GET /v1/chat/completions HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; req.len < FILL_HEADERS; i++)
        fl_buf_printf(&req, "x-filler-%03d: %s\r\n", i,
                      "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
    fl_buf_append_str(&req, "\r\n");
    int fd = dial();
    if (fd < 0)
        return NULL;
    char buf[65536];
    size_t answers = 0;
    for (size_t sent = 0; sent < FILL_REQUESTS;) {
        size_t burst = FILL_REQUESTS - sent < 20 ? FILL_REQUESTS - sent : 20;
        for (size_t i = 0; i < burst; i++)
            send_all(fd, req.data, req.len);
        sent += burst;
        while (answers < sent) {
            ssize_t k = recv(fd, buf, sizeof(buf) - 1, 0);
            if (k <= 0)
                goto out;
            buf[k] = '\0';
            answers += es_count(buf, (size_t)k, "HTTP/1.1 405");
        }
    }
out:
    *done = answers;
    close(fd);
    fl_buf_close(&req);
    return NULL;
}

/* GET /_faultline/journal?QUERY, recorded whole (fl_raw_result_free it). */
static void fetch_journal(const char *query, fl_raw_result_t *r)
{
    char path[128];
    snprintf(path, sizeof(path), "/_faultline/journal%s%s", query ? "?" : "", query ? query : "");
    size_t len;
    char *req = fl_raw_get("GET", path, &len);
    fl_raw_opts_t o = {.timeout_ms = 60000};
    cr_assert_eq(fl_raw_exchange(es_port(), req, len, &o, r), 0);
    free(req);
}

/* A journal response decoded; returns the document (new reference) and whether it came in
 * chunked coding, terminated. */
static json_t *journal_doc(const fl_raw_result_t *r, bool *chunked)
{
    es_resp_t d;
    es_decode(r, &d);
    cr_assert_eq(d.status, 200, "%.200s", r->all);
    cr_assert_eq(d.dc_rc, 0, "bad chunked framing: %s", d.dc.why);
    *chunked = d.chunked && d.dc.terminated;
    json_t *doc = json_loadb(d.dc.data, d.dc.len, 0, NULL);
    cr_assert(json_is_object(doc), "the journal is not JSON");
    es_resp_free(&d);
    return doc;
}

static json_t *get_journal(const char *query, bool *chunked)
{
    fl_raw_result_t r;
    fetch_journal(query, &r);
    json_t *doc = journal_doc(&r, chunked);
    fl_raw_result_free(&r);
    return doc;
}

TestSuite(hostile_journal, .init = start_defaults, .fini = stop, .timeout = 120);

Test(hostile_journal, a_large_read_beside_a_stream)
{
    size_t filled = 0;
    pthread_t tfill;
    cr_assert_eq(pthread_create(&tfill, NULL, fill_journal, &filled), 0);
    pthread_join(tfill, NULL);
    cr_assert_eq(filled, FILL_REQUESTS);

    normal_t normal = {0};
    schedule_of(NORMAL, &normal);
    pthread_t tn;
    cr_assert_eq(pthread_create(&tn, NULL, normal_client, &normal), 0);
    usleep(500 * 1000); /* into the stream's events */
    /* only read while the stream plays: decoding it here would compete for the CPU */
    fl_raw_result_t raw;
    fetch_journal(NULL, &raw);
    atomic_store(&normal.stop, true);
    pthread_join(tn, NULL);
    normal_assert(&normal, 1);
    bool chunked;
    json_t *doc = journal_doc(&raw, &chunked);
    fl_raw_result_free(&raw);
    cr_assert(chunked, "the journal's body is not written in chunks");

    json_t *list = json_object_get(doc, "requests");
    size_t n = json_array_size(list);
    cr_assert_geq(n, FILL_REQUESTS, "%zu entries", n);
    long long prev = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        long long seq = es_int(e, "seq", -1);
        cr_assert_gt(seq, prev, "entry %zu: seq %lld after %lld", i, seq, prev);
        prev = seq;
        if (strcmp(es_str(e, "path"), "/v1/chat/completions") != 0)
            continue;
        char *h = json_dumps(json_object_get(e, "headers"), JSON_COMPACT);
        cr_assert_leq(strlen(h), FL_JOURNAL_HEADER_BYTES);
        free(h);
        cr_assert_gt(es_int(e, "headers_truncated", 0), 0, "entry %zu: nothing cut", i);
        cr_assert_gt(es_int(e, "headers_dropped", 0), 0, "entry %zu: nothing dropped", i);
    }
    cr_assert_eq(es_int(doc, "next", -1), prev + 1);

    /* pages of 400 from the first seq are the same entries */
    long long since = es_int(json_array_get(list, 0), "seq", -1);
    size_t at = 0;
    for (int pages = 0; pages < 100; pages++) {
        char q[64];
        snprintf(q, sizeof(q), "since=%lld&limit=400", since);
        json_t *page = get_journal(q, &chunked);
        json_t *pl = json_object_get(page, "requests");
        for (size_t i = 0; i < json_array_size(pl); i++, at++)
            cr_assert_eq(es_int(json_array_get(pl, i), "seq", -1),
                         es_int(json_array_get(list, at), "seq", -2), "entry %zu", at);
        long long next = es_int(page, "next", -1);
        size_t got = json_array_size(pl);
        json_decref(page);
        if (got == 0)
            break;
        cr_assert_leq(got, 400);
        since = next;
    }
    cr_assert_geq(at, n, "pages held %zu of %zu entries", at, n);
    json_decref(doc);

    /* a bad query is refused; HTTP/1.0 gets the body delimited by FIN */
    static const char *const bad[] = {"limit=0", "since=abc", "since=", "limit=-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/_faultline/journal?%s", bad[i]);
        size_t len;
        char *req = fl_raw_get("GET", path, &len);
        fl_raw_result_t r;
        cr_assert_eq(fl_raw_exchange(es_port(), req, len, NULL, &r), 0);
        cr_assert_eq(fl_raw_status(r.all, fl_raw_head_len(r.all, r.len)), 400, "%s: %.80s", bad[i],
                     r.all);
        free(req);
        fl_raw_result_free(&r);
    }
    static const char v10[] = "GET /_faultline/journal?limit=3 HTTP/1.0\r\n\r\n";
    fl_raw_result_t r;
    fl_raw_opts_t o = {.timeout_ms = 10000};
    cr_assert_eq(fl_raw_exchange(es_port(), v10, sizeof(v10) - 1, &o, &r), 0);
    cr_assert_eq(r.end, FL_RAW_EOF);
    es_resp_t d;
    es_decode(&r, &d);
    cr_assert_eq(d.status, 200);
    cr_assert_not(d.chunked);
    json_t *page = json_loadb(d.dc.data, d.dc.len, 0, NULL);
    cr_assert_eq(json_array_size(json_object_get(page, "requests")), 3, "%.200s", d.dc.data);
    json_decref(page);
    es_resp_free(&d);
    fl_raw_result_free(&r);
}

/* Readers that leave in the middle of a large journal body, by RST and by FIN, with the body's
 * writer alive (a small receive window keeps it waiting on the socket): the server lets go of
 * each connection and its writer (fds back to the baseline; ASan and LSan see no leak or use
 * after free in the sanitizer build), and a whole read afterwards is complete. */
Test(hostile_journal, readers_that_leave_mid_body)
{
    size_t filled = 0;
    pthread_t tfill;
    cr_assert_eq(pthread_create(&tfill, NULL, fill_journal, &filled), 0);
    pthread_join(tfill, NULL);
    cr_assert_eq(filled, FILL_REQUESTS);
    int baseline = count_fds();
    size_t len;
    char *req = fl_raw_get("GET", "/_faultline/journal", &len);
    for (int i = 0; i < 4; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        int small = 4096;
        cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)es_port())};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
        cr_assert(send_all(fd, req, len));
        char buf[4096];
        size_t got = 0;
        while (got < 16384) { /* the head and the first batches, far from the whole body */
            ssize_t k = recv(fd, buf, sizeof(buf), 0);
            cr_assert_gt(k, 0, "the journal ended after %zu bytes", got);
            got += (size_t)k;
        }
        usleep(100 * 1000); /* the server's writer waits on the full window */
        if (i % 2)
            close(fd);
        else
            close_rst(fd);
    }
    free(req);
    int n = fds_settle(baseline);
    cr_assert_eq(n, baseline, "%d fds, %d before the readers", n, baseline);
    bool chunked;
    json_t *doc = get_journal(NULL, &chunked);
    cr_assert(chunked, "the journal read after them is not whole");
    cr_assert_geq(json_array_size(json_object_get(doc, "requests")), FILL_REQUESTS);
    json_decref(doc);
}

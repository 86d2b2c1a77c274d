/*
 * Soak driver: a long run of hostile but ordinary traffic against one loopback `faultline serve`,
 * to show the server neither dies nor grows while peers misbehave (scripts/soak.sh runs it).
 *
 * C connections run in parallel; each sends request after request until the total is reached.
 * Every request draws, from one seeded generator (splitmix64), a scenario from --scenarios, a
 * streaming or non-streaming body, keep-alive or `connection: close`, HTTP/1.1 or 1.0, and how
 * the client leaves: it reads the whole response (bounded by --deadline-ms), or it leaves after
 * a random delay or a random number of bytes, by FIN (close) or by RST (SO_LINGER 0). One request
 * in --control-every is a control request instead (GET /_faultline/journal or POST
 * /_faultline/reset, which also re-arms every scenario's first-attempt faults).
 *
 * A response counts as read whole when its head said Content-Length and that many body bytes
 * arrived, or chunked and the bytes end in the terminator "0\r\n\r\n" (RFC 9112 section 7.1), or
 * the server closed the connection. Nothing else is parsed: correctness is the unit and e2e
 * tests' job; this driver only keeps the server busy with peers that leave at any byte.
 *
 * Every --sample-ms it prints one line: elapsed s, requests done, requests/s over the interval,
 * the server's RSS (KiB) and open fds (from /proc/PID), and the connect errors so far. At the end
 * it prints a summary line and exits 0, or 1 when the server died or stopped accepting.
 *
 * usage: soak --url http://127.0.0.1:PORT --scenarios FILE [--requests N] [--conns C]
 *             [--seed S] [--server-pid PID] [--sample-ms MS] [--deadline-ms MS]
 *             [--control-every N]
 *   FILE: one "NAME DIALECT" pair per line (dialect openai-chat, openai-responses,
 *   anthropic-messages or gemini), e.g. made from the catalog by scripts/soak.sh.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "base/container_of.h"

#define MAX_SCENARIOS 1024
#define MAX_CONNS     2000
#define REQ_BYTES     2048
#define HEAD_KEEP     1024 /* response head bytes kept to read its framing */

typedef enum { LEAVE_WHOLE, LEAVE_AFTER_MS, LEAVE_AFTER_BYTES } leave_t;

typedef struct sk_scenario_s {
    char name[128];
    char path[64];
    char dialect[32];
} sk_scenario_t;

/* One connection slot: the TCP handle, its timer and the request in flight. */
typedef struct sk_conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    char req[REQ_BYTES];
    size_t req_len;
    bool open;       /* tcp is initialised and not closing */
    bool keep_alive; /* the request asked to keep the connection */
    bool rst;        /* leave by RST rather than FIN */
    leave_t leave;
    uint64_t leave_bytes;
    uint64_t got;             /* response bytes so far */
    char head[HEAD_KEEP + 1]; /* the start of the response, NUL-terminated */
    size_t head_len;
    int64_t body_start; /* offset of the body in the response, -1 until the head ended */
    int64_t content_length;
    bool chunked;
    char tail[5]; /* the last 5 bytes seen, for the chunked terminator */
    int pending_closes;
} sk_conn_t;

static struct {
    struct sockaddr_in addr;
    sk_scenario_t sc[MAX_SCENARIOS];
    int n_sc;
    uint64_t requests, started, done;
    int conns, server_pid;
    uint64_t seed, rng;
    uint64_t sample_ms, deadline_ms, control_every;
    uint64_t connect_errors, consecutive_connect_errors, write_errors;
    uint64_t left_fin, left_rst, whole, controls;
    uint64_t last_done, t0_ns, last_ns;
    bool stop, failed;
    uv_loop_t *loop;
    uv_timer_t sampler;
    sk_conn_t *c;
    char readbuf[64 * 1024];
} g;

static uint64_t next_rand(void)
{
    uint64_t z = (g.rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rand_below(uint64_t n)
{
    return n ? next_rand() % n : 0;
}

/* --- server figures from /proc --------------------------------------------------------------- */

static long proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static long proc_fds(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* --- one request ----------------------------------------------------------------------------- */

static void conn_start(sk_conn_t *c);

static void on_closed(uv_handle_t *h)
{
    sk_conn_t *c = h->data;
    if (--c->pending_closes == 0 && !g.stop)
        conn_start(c);
}

/* Ends the request: counts it, closes the connection (RST or FIN) and starts the next one. */
static void conn_finish(sk_conn_t *c, bool whole)
{
    uv_timer_stop(&c->timer);
    g.done++;
    if (whole)
        g.whole++;
    if (whole && c->keep_alive && c->open && !g.stop) {
        conn_start(c); /* the next request on the same connection */
        return;
    }
    if (!c->open)
        return;
    c->open = false;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->pending_closes = 1;
    if (c->rst && !whole) {
        g.left_rst++;
        if (uv_tcp_close_reset(&c->tcp, on_closed) == 0)
            return;
    } else if (!whole) {
        g.left_fin++;
    }
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_timer(uv_timer_t *t)
{
    conn_finish(container_of(t, sk_conn_t, timer), false);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    buf->base = g.readbuf;
    buf->len = sizeof(g.readbuf);
}

/* Reads the response's framing once its head is complete. */
static void parse_head(sk_conn_t *c)
{
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end)
        return;
    c->body_start = end + 4 - c->head;
    *end = '\0';
    for (char *p = strstr(c->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncasecmp(h, "content-length:", 15) == 0)
            c->content_length = strtoll(h + 15, NULL, 10);
        else if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strstr(h, "chunked"))
            c->chunked = true;
        else if (strncasecmp(h, "connection:", 11) == 0 && strcasestr(h, "close"))
            c->keep_alive = false;
    }
}

static bool response_whole(const sk_conn_t *c)
{
    if (c->body_start < 0)
        return false;
    if (c->content_length >= 0)
        return c->got >= (uint64_t)(c->body_start + c->content_length);
    return c->chunked && c->got >= 5 && memcmp(c->tail, "0\r\n\r\n", 5) == 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    sk_conn_t *c = container_of((uv_tcp_t *)s, sk_conn_t, tcp);
    if (n < 0) {
        /* EOF or ECONNRESET: the server ended the connection; the request is over. */
        c->keep_alive = false;
        conn_finish(c, n == UV_EOF && c->got > 0);
        return;
    }
    if (n == 0)
        return;
    if (c->body_start < 0) {
        size_t room = HEAD_KEEP - c->head_len;
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(c->head + c->head_len, buf->base, k);
        c->head_len += k;
        c->head[c->head_len] = '\0';
        parse_head(c);
    }
    for (ssize_t i = n > 5 ? n - 5 : 0; i < n; i++) {
        memmove(c->tail, c->tail + 1, 4);
        c->tail[4] = buf->base[i];
    }
    c->got += (uint64_t)n;
    if (c->leave == LEAVE_AFTER_BYTES && c->got >= c->leave_bytes)
        conn_finish(c, false);
    else if (response_whole(c))
        conn_finish(c, true);
}

static void on_written(uv_write_t *w, int status)
{
    if (status < 0) {
        g.write_errors++;
        sk_conn_t *c = container_of(w, sk_conn_t, write_req);
        c->keep_alive = false;
        if (c->open)
            conn_finish(c, false);
    }
}

static const char *body_for(const sk_scenario_t *s, bool stream, char *out, size_t n)
{
    if (strcmp(s->dialect, "anthropic-messages") == 0)
        snprintf(out, n,
                 "{\"model\":\"%s\",\"max_tokens\":256,\"stream\":%s,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                 s->name, stream ? "true" : "false");
    else if (strcmp(s->dialect, "gemini") == 0)
        snprintf(out, n, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
    else if (strcmp(s->dialect, "openai-responses") == 0)
        snprintf(out, n, "{\"model\":\"%s\",\"stream\":%s,\"input\":\"hi\"}", s->name,
                 stream ? "true" : "false");
    else
        snprintf(out, n,
                 "{\"model\":\"%s\",\"stream\":%s,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                 s->name, stream ? "true" : "false");
    return out;
}

/* Draws the next request and writes it; the connection must be open. */
static void send_request(sk_conn_t *c)
{
    bool control = g.control_every && g.started % g.control_every == 0;
    g.started++;
    c->got = 0;
    c->head_len = 0;
    c->body_start = -1;
    c->content_length = -1;
    c->chunked = false;
    memset(c->tail, 0, sizeof(c->tail));
    c->rst = rand_below(2) == 0;
    bool http10 = rand_below(20) == 0;
    c->keep_alive = !http10 && rand_below(4) != 0;
    uint64_t r = rand_below(100);
    c->leave = r < 40 ? LEAVE_WHOLE : r < 70 ? LEAVE_AFTER_MS : LEAVE_AFTER_BYTES;
    c->leave_bytes = 1 + rand_below(6000);
    uint64_t ms = c->leave == LEAVE_AFTER_MS ? rand_below(80) : g.deadline_ms;
    const char *conn_hdr = c->keep_alive ? "" : "connection: close\r\n";
    const char *ver = http10 ? "1.0" : "1.1";
    if (control) {
        g.controls++;
        c->leave = LEAVE_WHOLE;
        ms = g.deadline_ms;
        bool reset = rand_below(2) == 0;
        c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
                                      "%s /_faultline/%s HTTP/%s\r\nhost: soak\r\n%s%s\r\n",
                                      reset ? "POST" : "GET", reset ? "reset" : "journal", ver,
                                      conn_hdr, reset ? "content-length: 0\r\n" : "");
    } else {
        const sk_scenario_t *s = &g.sc[rand_below((uint64_t)g.n_sc)];
        char body[512], path[256];
        bool stream = rand_below(4) != 0;
        body_for(s, stream, body, sizeof(body));
        /* Gemini says stream or not in the path (Google's streamGenerateContent?alt=sse). */
        if (strcmp(s->dialect, "gemini") == 0)
            snprintf(path, sizeof(path), "%s%s:%s", s->path, s->name,
                     stream ? "streamGenerateContent?alt=sse" : "generateContent");
        else
            snprintf(path, sizeof(path), "%s", s->path);
        c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
                                      "POST %s HTTP/%s\r\nhost: soak\r\nx-faultline-scenario: "
                                      "%s\r\nauthorization: Bearer sk-soak\r\ncontent-type: "
                                      "application/json\r\ncontent-length: %zu\r\n%s\r\n%s",
                                      path, ver, s->name, strlen(body), conn_hdr, body);
    }
    uv_timer_start(&c->timer, on_timer, ms, 0);
    uv_buf_t b = uv_buf_init(c->req, (unsigned)c->req_len);
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        g.write_errors++;
        c->keep_alive = false;
        conn_finish(c, false);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    sk_conn_t *c = container_of(req, sk_conn_t, connect_req);
    if (status < 0) {
        g.connect_errors++;
        g.consecutive_connect_errors++;
        if (g.consecutive_connect_errors > 1000) {
            fprintf(stderr, "soak: the server stopped accepting (%s)\n", uv_strerror(status));
            g.failed = true;
            g.stop = true;
        }
        c->open = false;
        c->pending_closes = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    g.consecutive_connect_errors = 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    send_request(c);
}

/* Sends the next request: on the open keep-alive connection, or on a new one. */
static void conn_start(sk_conn_t *c)
{
    if (g.stop || g.started >= g.requests) {
        if (c->open) {
            c->open = false;
            c->pending_closes = 1;
            uv_close((uv_handle_t *)&c->tcp, NULL);
        }
        return;
    }
    if (c->open) {
        send_request(c);
        return;
    }
    uv_tcp_init(g.loop, &c->tcp);
    c->tcp.data = c;
    c->open = true;
    if (uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&g.addr, on_connect)) {
        g.connect_errors++;
        c->open = false;
        c->pending_closes = 1;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    }
}

/* --- sampling and the end -------------------------------------------------------------------- */

static void print_sample(void)
{
    uint64_t now = uv_hrtime();
    double dt = (double)(now - g.last_ns) / 1e9;
    double rate = dt > 0 ? (double)(g.done - g.last_done) / dt : 0;
    printf("%8.1f %10" PRIu64 " %9.0f %10ld %6ld %8" PRIu64 "\n", (double)(now - g.t0_ns) / 1e9,
           g.done, rate, proc_rss_kib(g.server_pid), proc_fds(g.server_pid), g.connect_errors);
    fflush(stdout);
    g.last_ns = now;
    g.last_done = g.done;
}

static void on_sample(uv_timer_t *t)
{
    if (g.server_pid && kill(g.server_pid, 0) != 0) {
        fprintf(stderr, "soak: the server (pid %d) is gone\n", g.server_pid);
        g.failed = true;
        g.stop = true;
    }
    print_sample();
    if (g.stop || g.done >= g.requests) {
        g.stop = true;
        uv_timer_stop(t);
        for (int i = 0; i < g.conns; i++) {
            sk_conn_t *c = &g.c[i];
            uv_timer_stop(&c->timer);
            if (c->open) {
                c->open = false;
                uv_close((uv_handle_t *)&c->tcp, NULL);
            }
            uv_close((uv_handle_t *)&c->timer, NULL);
        }
        uv_close((uv_handle_t *)t, NULL);
    }
}

static int load_scenarios(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "soak: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof(line), f) && g.n_sc < MAX_SCENARIOS) {
        sk_scenario_t *s = &g.sc[g.n_sc];
        if (sscanf(line, "%127s %31s", s->name, s->dialect) != 2)
            continue;
        if (strcmp(s->dialect, "openai-chat") == 0)
            strcpy(s->path, "/v1/chat/completions");
        else if (strcmp(s->dialect, "openai-responses") == 0)
            strcpy(s->path, "/v1/responses");
        else if (strcmp(s->dialect, "anthropic-messages") == 0)
            strcpy(s->path, "/v1/messages");
        else if (strcmp(s->dialect, "gemini") == 0)
            strcpy(s->path, "/v1beta/models/"); /* + the scenario and the method, per request */
        else
            continue;
        g.n_sc++;
    }
    fclose(f);
    if (g.n_sc == 0) {
        fprintf(stderr, "soak: %s names no scenario\n", path);
        return -1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: soak --url http://127.0.0.1:PORT --scenarios FILE [--requests N] "
                    "[--conns C] [--seed S] [--server-pid PID] [--sample-ms MS] "
                    "[--deadline-ms MS] [--control-every N]\n");
    return 2;
}

static int parse_args(int argc, char **argv)
{
    const char *url = NULL, *scen = NULL;
    g.requests = 100000;
    g.conns = 100;
    g.seed = 1;
    g.sample_ms = 5000;
    g.deadline_ms = 500;
    g.control_every = 5000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (strcmp(a, "--url") == 0)
            url = v;
        else if (strcmp(a, "--scenarios") == 0)
            scen = v;
        else if (strcmp(a, "--requests") == 0)
            g.requests = strtoull(v, NULL, 10);
        else if (strcmp(a, "--conns") == 0)
            g.conns = atoi(v);
        else if (strcmp(a, "--seed") == 0)
            g.seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--server-pid") == 0)
            g.server_pid = atoi(v);
        else if (strcmp(a, "--sample-ms") == 0)
            g.sample_ms = strtoull(v, NULL, 10);
        else if (strcmp(a, "--deadline-ms") == 0)
            g.deadline_ms = strtoull(v, NULL, 10);
        else if (strcmp(a, "--control-every") == 0)
            g.control_every = strtoull(v, NULL, 10);
        else
            return usage();
        i++;
    }
    int port = 0;
    if (!url || !scen || sscanf(url, "http://127.0.0.1:%d", &port) != 1 || port <= 0 ||
        g.conns < 1 || g.conns > MAX_CONNS || g.sample_ms == 0 || g.deadline_ms == 0)
        return usage();
    uv_ip4_addr("127.0.0.1", port, &g.addr);
    return load_scenarios(scen) ? 2 : 0;
}

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc)
        return rc;
    g.rng = g.seed;
    g.loop = uv_default_loop();
    g.c = calloc((size_t)g.conns, sizeof(*g.c));
    if (!g.c)
        return 1;
    printf("# soak: %" PRIu64 " requests, %d connections, %d scenarios, seed %" PRIu64 "\n",
           g.requests, g.conns, g.n_sc, g.seed);
    printf("%8s %10s %9s %10s %6s %8s\n", "t_s", "requests", "req/s", "rss_kib", "fds", "conn_err");
    g.t0_ns = g.last_ns = uv_hrtime();
    print_sample();
    uv_timer_init(g.loop, &g.sampler);
    uv_timer_start(&g.sampler, on_sample, g.sample_ms, g.sample_ms);
    for (int i = 0; i < g.conns; i++) {
        uv_timer_init(g.loop, &g.c[i].timer);
        conn_start(&g.c[i]);
    }
    uv_run(g.loop, UV_RUN_DEFAULT);
    double secs = (double)(uv_hrtime() - g.t0_ns) / 1e9;
    printf("# done: %" PRIu64 " requests in %.1f s (%.0f/s): %" PRIu64 " read whole, %" PRIu64
           " left by FIN, %" PRIu64 " by RST, %" PRIu64 " control; %" PRIu64
           " connect errors, %" PRIu64 " write errors\n",
           g.done, secs, secs > 0 ? (double)g.done / secs : 0, g.whole, g.left_fin, g.left_rst,
           g.controls, g.connect_errors, g.write_errors);
    uv_loop_close(g.loop);
    free(g.c);
    return g.failed ? 1 : 0;
}

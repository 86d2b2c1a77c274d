/*
 * Load generator for the benchmark: opens N concurrent streaming requests against one
 * loopback server, holds them open, and measures what arrives.
 *
 * Each connection sends one POST with a JSON body ("stream": true) and parses the answer
 * incrementally as bytes arrive, with its own small parser: bytes -> HTTP head -> chunked
 * transfer coding (RFC 9112 section 7.1) -> SSE lines and events (WHATWG HTML, "Server-sent
 * events"). Nothing is JSON-parsed: an event is a content event when one of its lines starts
 * with (or, within its first PREFIX_BYTES, contains) the content marker. For every content
 * event k of a stream the arrival time (uv_hrtime) is compared with the scripted time,
 * request sent + ttft_ms + k * interval_ms; the difference is its lateness.
 *
 * Connections open in batches: the next batch once every connection of the current one has
 * received its first byte (or ended), i.e. the server has accepted and answered it, so a
 * server's accept queue (its listen backlog, at most somaxconn) is never overrun. The run ends when
 * every stream has ended or at
 * --duration-ms. In --hold mode it waits until every connection has its response head,
 * samples the server's RSS, and closes them all.
 *
 * With --threads T the streams are shared out over T threads, each with its own libuv loop, its
 * own batches and its own lateness histogram; the figures are the aggregate (events over the
 * time from the first connect to the last stream's end), so on a machine with the cores the
 * load generator stops being the ceiling of what it measures. In --hold mode the server's RSS
 * is sampled once every thread has every head.
 *
 * Output: one JSON line on stdout and a readable table on stderr. Exit 0 when the run
 * completed (whatever the figures), 2 on bad arguments, 1 when nothing could be measured.
 *
 * usage: loadgen --url http://127.0.0.1:PORT --path /v1/chat/completions [options]
 *   --dialect D        openai-chat | openai-responses | anthropic-messages (request body and
 *                      default content marker; default openai-chat)
 *   --conns N          concurrent streams, 1..20000 (default 1)
 *   --batch B          connections opened per batch (default 100)
 *   --duration-ms MS   cap on the whole run (default 60000)
 *   --ttft-ms MS, --interval-ms MS   the scenario's schedule, for lateness
 *   --expect-events E  content events each stream should deliver (for "lost")
 *   --marker STR       content marker (overrides the dialect's default)
 *   --header 'K: V'    extra request header (repeatable, at most 8)
 *   --server-pid PID   read the server's CPU time and RSS from /proc: CPU in ns from every
 *                      thread's schedstat ("cpu_clock": "schedstat"), or in 10 ms ticks from
 *                      /proc/PID/stat when that is unreadable or a thread ended ("ticks")
 *   --hold             open, wait for every head, sample RSS, close
 *   --threads T        threads, each with its own loop and share of the streams, 1..64
 *                      (default 1); --batch is per thread
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <pthread.h>

#include "base/container_of.h"

#define MAX_CONNS    20000
#define MAX_HEADERS  8
#define PREFIX_BYTES 256  /* of each SSE line, kept to classify it */
#define HEAD_BYTES   8192 /* a response head larger than this is an error */
#define READ_BYTES   (256 * 1024)
#define MAX_THREADS  64
#define HIST_US      100000 /* lateness histogram: 1 us buckets up to 100 ms, */
#define HIST_MS      120000 /* then 1 ms buckets up to 120 s (the --duration-ms cap is lower) */

typedef enum {
    ST_HEAD,
    ST_SIZE,
    ST_SIZE_EXT,
    ST_DATA,
    ST_DATA_CR,
    ST_DATA_LF,
    ST_TRAILER,
    ST_RAW,
    ST_DONE
} http_state_t;

typedef struct lg_worker_s lg_worker_t;

/* One connection and its parser state. */
typedef struct lg_conn_s {
    lg_worker_t *w;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uint64_t t_sent_ns; /* uv_hrtime when the request was handed to the kernel */
    uint64_t t_first_byte_ns, t_first_event_ns;
    uint64_t bytes, events, content;
    uint64_t chunk_left; /* ST_DATA: bytes of the current chunk still to come */
    http_state_t state;
    bool chunked, head_done, ended, failed, closing, event_is_content, event_has_data;
    bool counted; /* its batch has stopped waiting for it */
    uint16_t head_len;
    uint16_t line_len; /* bytes of the current SSE line seen (capped at PREFIX_BYTES) */
    bool line_cr;      /* the last byte was CR (CRLF counts as one line end) */
    char *head;        /* owned while the head is being read */
    char line[PREFIX_BYTES];
} lg_conn_t;

/* One thread: its loop, its share of the streams and its figures (summed in the report). */
struct lg_worker_s {
    uv_loop_t loop;
    uv_timer_t cap_timer;
    uv_thread_t thread;
    lg_conn_t *c;                               /* its slice of g.c */
    int conns;                                  /* streams in the slice */
    int opened, batch_waiting, finished, heads; /* batch_waiting: of the current batch */
    uint64_t errors, connect_errors, status_errors, eof_errors;
    uint64_t t_end_ns; /* when its last stream ended (or every head came, in --hold) */
    uint64_t *hist;    /* lateness, 1 us buckets below 100 ms */
    uint64_t *hist_ms; /* lateness, 1 ms buckets from 100 ms */
    uint64_t late_over, late_max_us, late_n;
    bool capped, stopped;
    char readbuf[READ_BYTES]; /* libuv reads one connection at a time per loop */
};

/* Command line and what the threads share; one per run. */
static struct {
    const char *host;
    int port;
    const char *path;
    const char *dialect;
    const char *marker;
    size_t marker_len;
    size_t marker_pivot; /* index of the marker byte searched for first (marker_find) */
    const char *headers[MAX_HEADERS];
    int n_headers;
    int conns, batch, threads;
    uint64_t duration_ms, ttft_ms, interval_ms, expect_events;
    int server_pid;
    bool hold;

    lg_conn_t *c;
    lg_worker_t *w; /* threads entries */
    char *request;  /* read-only once the threads run */
    size_t request_len;
    uint64_t t_start_ns, t_end_ns;
    pthread_mutex_t lock; /* guards stopped and the server sample below */
    pthread_cond_t all_stopped;
    int stopped; /* threads whose streams are over (or have every head) */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .all_stopped = PTHREAD_COND_INITIALIZER};

/* --- server figures from /proc --- */

/* utime + stime of pid in seconds, or -1. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Field 2 (comm) may hold spaces; fields after the last ')' are space-separated. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* After ')' come field 3 (state) ... field 14 utime, 15 stime. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Time on the CPU of every live thread of pid, in seconds, from /proc/PID/task/TID/schedstat
 * (its first field, ns), or -1 when that is not readable. /proc/PID/stat counts in clock
 * ticks (10 ms), too coarse for a run that costs the server 20 ms. */
static double proc_cpu_ns_s(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    unsigned long long sum = 0;
    int tasks = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[300];
        snprintf(file, sizeof(file), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(file, "r");
        unsigned long long ns = 0;
        if (f && fscanf(f, "%llu", &ns) == 1) {
            sum += ns;
            tasks++;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return tasks ? (double)sum / 1e9 : -1;
}

/* The server's CPU seconds between two samples: the schedstat figure, unless the tick count
 * grew by more (a thread that ended took its schedstat time with it), or -1. */
static double cpu_delta(double ns0, double ns1, double t0, double t1, const char **clock)
{
    double dt = t0 >= 0 && t1 >= 0 ? t1 - t0 : -1;
    double dn = ns0 >= 0 && ns1 >= 0 ? ns1 - ns0 : -1;
    *clock = "ticks";
    if (dn < 0 || dt > dn + 0.02)
        return dt;
    *clock = "schedstat";
    return dn;
}

/* A "Key:   N kB" line of /proc/PID/status, in KiB, or -1. */
static long proc_status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* --- the request --- */

static int build_request(void)
{
    const char *body;
    if (strcmp(g.dialect, "openai-responses") == 0)
        body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"input\":\"Say hello.\"}";
    else if (strcmp(g.dialect, "anthropic-messages") == 0)
        body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"stream\":true,"
               "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
    else
        body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,"
               "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
    char extra[4096] = "";
    size_t el = 0;
    for (int i = 0; i < g.n_headers; i++) {
        int n = snprintf(extra + el, sizeof(extra) - el, "%s\r\n", g.headers[i]);
        if (n < 0 || (size_t)n >= sizeof(extra) - el)
            return -1;
        el += (size_t)n;
    }
    size_t cap = strlen(body) + el + strlen(g.path) + 512;
    g.request = malloc(cap);
    if (!g.request)
        return -1;
    int n = snprintf(g.request, cap,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Accept: text/event-stream\r\nAuthorization: Bearer sk-faultline\r\n"
                     "x-api-key: sk-faultline\r\nanthropic-version: 2023-06-01\r\n"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     g.path, g.host, g.port, extra, strlen(body), body);
    g.request_len = (size_t)n;
    return 0;
}

/* --- ending connections --- */

static void maybe_stop(lg_worker_t *w);

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void open_batch(lg_worker_t *w);

/* A connection of the current batch got its first byte or ended: maybe open the next batch. */
static void batch_step(lg_conn_t *c)
{
    if (c->counted)
        return;
    c->counted = true;
    if (--c->w->batch_waiting == 0)
        open_batch(c->w);
}

static void conn_end(lg_conn_t *c, bool failed)
{
    if (c->ended)
        return;
    c->ended = true;
    batch_step(c);
    c->failed = failed;
    if (failed)
        c->w->errors++;
    c->w->finished++;
    if (!c->closing) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    }
    free(c->head);
    c->head = NULL;
    maybe_stop(c->w);
}

/* --- SSE: lines and events --- */

static void event_dispatch(lg_conn_t *c, uint64_t now)
{
    lg_worker_t *w = c->w;
    if (!c->event_has_data)
        return;
    c->events++;
    if (c->events == 1)
        c->t_first_event_ns = now;
    if (c->event_is_content) {
        uint64_t sched = c->t_sent_ns + (g.ttft_ms + c->content * g.interval_ms) * 1000000ull;
        uint64_t late_us = now > sched ? (now - sched) / 1000 : 0;
        if (late_us < HIST_US)
            w->hist[late_us]++;
        else if (late_us / 1000 < HIST_MS)
            w->hist_ms[late_us / 1000]++;
        if (late_us >= HIST_US)
            w->late_over++;
        if (late_us > w->late_max_us)
            w->late_max_us = late_us;
        w->late_n++;
        c->content++;
    }
    c->event_has_data = false;
    c->event_is_content = false;
}

/* Whether the marker occurs in n bytes of line. memchr for one of its bytes that JSON keys
 * and punctuation use less (the pivot), then a compare: glibc's memmem sets up a two-way search
 * per call, which was a third of the load generator's CPU at one call per line (perf). */
static bool marker_find(const char *line, size_t n)
{
    size_t m = g.marker_len, k = g.marker_pivot;
    if (n < m)
        return false;
    const char *end = line + n - m + k + 1; /* the pivot's last possible place, exclusive */
    for (const char *p = line + k; p < end; p++) {
        p = memchr(p, g.marker[k], (size_t)(end - p));
        if (!p)
            return false;
        if (memcmp(p - k, g.marker, m) == 0)
            return true;
    }
    return false;
}

/* The marker's first byte that is not JSON punctuation, or 0. */
static size_t marker_pivot(const char *m)
{
    for (size_t i = 0; m[i]; i++)
        if (!strchr("\"{}[]:, ", m[i]))
            return i;
    return 0;
}

/* A whole line (its first n bytes, at most PREFIX_BYTES) has arrived: classify it; an empty
 * line dispatches the event. */
static void line_end(lg_conn_t *c, const char *line, size_t n, uint64_t now)
{
    c->line_len = 0;
    if (n == 0) {
        event_dispatch(c, now);
        return;
    }
    if (n >= 5 && memcmp(line, "data:", 5) == 0)
        c->event_has_data = true;
    if (!c->event_is_content && line[0] != ':' && marker_find(line, n))
        c->event_is_content = true;
}

/* Body bytes (after de-chunking) into the SSE line splitter. Lines are found with memchr and
 * classified in place when they arrive whole; only a line split across reads is copied (its
 * first PREFIX_BYTES). The parser used to copy every byte: that was 80% of the load
 * generator's CPU and made it the ceiling of the throughput workload. */
static void sse_feed(lg_conn_t *c, const char *p, size_t n, uint64_t now)
{
    const char *end = p + n;
    const char *cr = memchr(p, '\r', n); /* the next CR at or after p, or NULL */
    while (p < end) {
        if (c->line_cr) {
            c->line_cr = false;
            if (*p == '\n') { /* CRLF is one line end */
                p++;
                continue;
            }
        }
        if (cr && cr < p)
            cr = memchr(p, '\r', (size_t)(end - p));
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (cr && (!e || cr < e))
            e = cr;
        size_t take = (size_t)((e ? e : end) - p);
        if (e && c->line_len == 0) {
            c->line_cr = *e == '\r';
            line_end(c, p, take < PREFIX_BYTES ? take : PREFIX_BYTES, now);
            p = e + 1;
            continue;
        }
        size_t room = PREFIX_BYTES - c->line_len;
        size_t k = take < room ? take : room;
        memcpy(c->line + c->line_len, p, k);
        c->line_len = (uint16_t)(c->line_len + k);
        if (!e)
            return;
        c->line_cr = *e == '\r';
        line_end(c, c->line, c->line_len, now);
        p = e + 1;
    }
}

/* --- HTTP: head and chunked body --- */

/* Parses the complete head in c->head. Returns false when the response is not a 200. */
static bool head_parse(lg_conn_t *c)
{
    c->head[c->head_len] = 0;
    int status = 0;
    if (sscanf(c->head, "HTTP/1.%*d %d", &status) != 1 || status != 200)
        return false;
    for (char *p = c->head; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    c->chunked = strstr(c->head, "\ntransfer-encoding: chunked") != NULL;
    return true;
}

/* Returns false when the connection has ended (error or complete). */
static bool http_feed(lg_conn_t *c, const char *p, size_t n, uint64_t now)
{
    size_t i = 0;
    while (i < n) {
        switch (c->state) {
        case ST_HEAD: {
            /* Copy into the head buffer until CRLFCRLF. */
            while (i < n) {
                if (c->head_len >= HEAD_BYTES - 1) {
                    c->w->status_errors++;
                    conn_end(c, true);
                    return false;
                }
                c->head[c->head_len++] = p[i++];
                if (c->head_len >= 4 && memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) == 0)
                    break;
            }
            if (c->head_len < 4 || memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) != 0)
                return true;
            if (!head_parse(c)) {
                c->w->status_errors++;
                conn_end(c, true);
                return false;
            }
            free(c->head);
            c->head = NULL;
            c->head_done = true;
            c->w->heads++;
            c->state = c->chunked ? ST_SIZE : ST_RAW;
            if (g.hold)
                maybe_stop(c->w);
            break;
        }
        case ST_SIZE: {
            char ch = p[i++];
            int v = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (v >= 0)
                c->chunk_left = c->chunk_left * 16 + (uint64_t)v;
            else if (ch == '\n')
                c->state = c->chunk_left ? ST_DATA : ST_TRAILER;
            else
                c->state = ST_SIZE_EXT; /* CR or an extension: skip to LF */
            break;
        }
        case ST_SIZE_EXT:
            if (p[i++] == '\n')
                c->state = c->chunk_left ? ST_DATA : ST_TRAILER;
            break;
        case ST_DATA: {
            size_t take = n - i < c->chunk_left ? n - i : (size_t)c->chunk_left;
            sse_feed(c, p + i, take, now);
            i += take;
            c->chunk_left -= take;
            if (c->chunk_left == 0)
                c->state = ST_DATA_CR;
            break;
        }
        case ST_DATA_CR:
            c->state = p[i++] == '\r' ? ST_DATA_LF : ST_SIZE;
            break;
        case ST_DATA_LF:
            i++;
            c->state = ST_SIZE;
            break;
        case ST_TRAILER:
            /* The last chunk: CRLF (no trailers expected). */
            if (p[i++] == '\n') {
                c->state = ST_DONE;
                conn_end(c, false);
                return false;
            }
            break;
        case ST_RAW:
            sse_feed(c, p + i, n - i, now);
            i = n;
            break;
        case ST_DONE:
            return false;
        }
    }
    return true;
}

/* --- libuv callbacks --- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    lg_worker_t *w = h->loop->data;
    *buf = uv_buf_init(w->readbuf, sizeof(w->readbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    lg_conn_t *c = container_of((uv_tcp_t *)s, lg_conn_t, tcp);
    if (c->ended)
        return;
    if (nread < 0) {
        /* A close-delimited body ends at FIN; anything else ending early is an error. */
        bool ok = nread == UV_EOF && c->state == ST_RAW;
        if (!ok)
            c->w->eof_errors++;
        conn_end(c, !ok);
        return;
    }
    if (nread == 0)
        return;
    uint64_t now = uv_hrtime();
    if (c->bytes == 0) {
        c->t_first_byte_ns = now;
        batch_step(c);
    }
    c->bytes += (uint64_t)nread;
    http_feed(c, buf->base, (size_t)nread, now);
}

static void on_write(uv_write_t *req, int status)
{
    lg_conn_t *c = container_of(req, lg_conn_t, write_req);
    if (status < 0 && !c->ended)
        conn_end(c, true);
}

static void on_connect(uv_connect_t *req, int status)
{
    lg_conn_t *c = container_of(req, lg_conn_t, connect_req);
    if (c->ended)
        return;
    if (status < 0) {
        c->w->connect_errors++;
        conn_end(c, true);
        return;
    }
    uv_buf_t b = uv_buf_init(g.request, (unsigned int)g.request_len);
    c->t_sent_ns = uv_hrtime();
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write) ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
        conn_end(c, true);
}

/* Opens the next batch of connections; called again when the batch has connected. */
static void open_batch(lg_worker_t *w)
{
    if (w->capped || w->opened >= w->conns)
        return;
    struct sockaddr_in addr;
    uv_ip4_addr(g.host, g.port, &addr);
    int n = w->conns - w->opened < g.batch ? w->conns - w->opened : g.batch;
    w->batch_waiting = n + 1; /* +1 until every connect has started (ends below) */
    for (int k = 0; k < n; k++) {
        lg_conn_t *c = &w->c[w->opened++];
        c->w = w;
        c->head = malloc(HEAD_BYTES);
        if (!c->head || uv_tcp_init(&w->loop, &c->tcp)) {
            c->closing = true; /* no handle to close */
            conn_end(c, true);
            continue;
        }
        uv_tcp_nodelay(&c->tcp, 1);
        if (uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, on_connect)) {
            w->connect_errors++;
            conn_end(c, true);
        }
    }
    if (--w->batch_waiting == 0)
        open_batch(w);
}

static void close_all(lg_worker_t *w)
{
    for (int i = 0; i < w->opened; i++) {
        lg_conn_t *c = &w->c[i];
        if (!c->closing) {
            c->closing = true;
            uv_close((uv_handle_t *)&c->tcp, on_closed);
        }
    }
    if (!uv_is_closing((uv_handle_t *)&w->cap_timer))
        uv_close((uv_handle_t *)&w->cap_timer, on_closed);
}

static struct {
    double cpu0, cpu1;       /* ticks (/proc/PID/stat), s */
    double cpu0_ns, cpu1_ns; /* schedstat, s */
    long rss_idle_kb, rss_held_kb, hwm_kb;
} srv = {-1, -1, -1, -1, -1, -1, -1};

/* A thread is done: the last one to get here takes the run's end time and the server's
 * figures; in --hold mode every thread waits for that sample before it closes its streams,
 * so the RSS is read with all of them open (blocking the loop is harmless then: the streams
 * only hold). */
static void worker_stopped(lg_worker_t *w)
{
    w->stopped = true;
    w->t_end_ns = uv_hrtime();
    pthread_mutex_lock(&g.lock);
    if (++g.stopped == g.threads) {
        g.t_end_ns = w->t_end_ns;
        if (g.server_pid > 0) {
            srv.cpu1 = proc_cpu_s(g.server_pid);
            srv.cpu1_ns = proc_cpu_ns_s(g.server_pid);
            srv.rss_held_kb = proc_status_kb(g.server_pid, "VmRSS");
            srv.hwm_kb = proc_status_kb(g.server_pid, "VmHWM");
        }
        pthread_cond_broadcast(&g.all_stopped);
    } else if (g.hold) {
        while (g.stopped < g.threads)
            pthread_cond_wait(&g.all_stopped, &g.lock);
    }
    pthread_mutex_unlock(&g.lock);
}

/* Ends the thread's part when every stream is over, or (hold) when every connection has its
 * head. */
static void maybe_stop(lg_worker_t *w)
{
    if (w->stopped)
        return;
    bool all_heads = g.hold && w->heads + (int)w->errors >= w->conns && w->opened == w->conns;
    if (!all_heads && w->finished < w->conns)
        return;
    worker_stopped(w);
    close_all(w);
}

static void on_cap(uv_timer_t *t)
{
    lg_worker_t *w = t->loop->data;
    w->capped = true;
    if (!w->stopped)
        worker_stopped(w);
    close_all(w);
}

/* --- report --- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* p-th percentile (0..100) of n sorted values, nearest rank. */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/* Lateness percentile from the histograms of every thread (summed into the first), in us. */
static double hist_pct(const lg_worker_t *t, double p)
{
    if (t->late_n == 0)
        return 0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)t->late_n + 0.999999), seen = 0;
    if (want < 1)
        want = 1;
    for (uint64_t us = 0; us < HIST_US; us++) {
        seen += t->hist[us];
        if (seen >= want)
            return (double)us;
    }
    for (uint64_t ms = HIST_US / 1000; ms < HIST_MS; ms++) {
        seen += t->hist_ms[ms];
        if (seen >= want)
            return (double)ms * 1000.0;
    }
    return (double)t->late_max_us;
}

/* Sums every thread's counters and histograms into the first (the report's totals). */
static lg_worker_t *sum_workers(void)
{
    lg_worker_t *t = &g.w[0];
    for (int k = 1; k < g.threads; k++) {
        const lg_worker_t *w = &g.w[k];
        t->opened += w->opened;
        t->finished += w->finished;
        t->heads += w->heads;
        t->errors += w->errors;
        t->connect_errors += w->connect_errors;
        t->status_errors += w->status_errors;
        t->eof_errors += w->eof_errors;
        t->late_over += w->late_over;
        t->late_n += w->late_n;
        if (w->late_max_us > t->late_max_us)
            t->late_max_us = w->late_max_us;
        t->capped |= w->capped;
        for (size_t i = 0; i < HIST_US; i++)
            t->hist[i] += w->hist[i];
        for (size_t i = 0; i < HIST_MS; i++)
            t->hist_ms[i] += w->hist_ms[i];
    }
    return t;
}

static void report(void)
{
    const lg_worker_t *t = sum_workers();
    size_t n = (size_t)g.conns; /* g.c holds every thread's slice; unopened entries are zero */
    uint64_t *ttfb = calloc(n ? n : 1, sizeof(*ttfb));
    uint64_t *ttfe = calloc(n ? n : 1, sizeof(*ttfe));
    size_t nb = 0, ne = 0;
    uint64_t bytes = 0, events = 0, content = 0;
    for (size_t i = 0; i < n; i++) {
        const lg_conn_t *c = &g.c[i];
        bytes += c->bytes;
        events += c->events;
        content += c->content;
        if (ttfb && c->t_first_byte_ns)
            ttfb[nb++] = c->t_first_byte_ns - c->t_sent_ns;
        if (ttfe && c->t_first_event_ns)
            ttfe[ne++] = c->t_first_event_ns - c->t_sent_ns;
    }
    if (ttfb)
        qsort(ttfb, nb, sizeof(*ttfb), cmp_u64);
    if (ttfe)
        qsort(ttfe, ne, sizeof(*ttfe), cmp_u64);
    double secs = (double)(g.t_end_ns - g.t_start_ns) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    uint64_t expected = g.expect_events * (uint64_t)g.conns;
    uint64_t lost = expected > content ? expected - content : 0;
    double ms = 1e6;
    const char *cpu_clock;
    double cpu = cpu_delta(srv.cpu0_ns, srv.cpu1_ns, srv.cpu0, srv.cpu1, &cpu_clock);
    double per_stream = srv.rss_idle_kb >= 0 && srv.rss_held_kb >= 0 && n
                            ? (double)(srv.rss_held_kb - srv.rss_idle_kb) * 1024.0 / (double)n
                            : -1;
    printf("{\"conns\":%d,\"threads\":%d,\"opened\":%d,\"heads\":%d,\"finished\":%d,\"errors\":"
           "%" PRIu64 ",\"connect_errors\":%" PRIu64 ",\"status_errors\":%" PRIu64
           ",\"eof_errors\":%" PRIu64 ",\"capped\":%s,\"elapsed_s\":%.3f,\"bytes\":%" PRIu64
           ",\"events\":%" PRIu64 ",\"content_events\":%" PRIu64 ",\"expected\":%" PRIu64
           ",\"lost\":%" PRIu64 ",\"events_per_s\":%.0f,\"mb_per_s\":%.2f,"
           "\"ttfb_ms\":{\"p50\":%.3f,\"p99\":%.3f},\"ttfe_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
           "\"lateness_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"over_100ms\":%" PRIu64 "},"
           "\"server\":{\"pid\":%d,\"cpu_s\":%.6f,\"cpu_clock\":\"%s\",\"rss_idle_kb\":%ld,\"rss_"
           "held_kb\":%ld,"
           "\"hwm_kb\":%ld,\"rss_per_stream_b\":%.0f}}\n",
           g.conns, g.threads, t->opened, t->heads, t->finished, t->errors, t->connect_errors,
           t->status_errors, t->eof_errors, t->capped ? "true" : "false", secs, bytes, events,
           content, expected, lost, (double)events / secs, (double)bytes / secs / 1e6,
           (double)pct(ttfb, nb, 50) / ms, (double)pct(ttfb, nb, 99) / ms,
           (double)pct(ttfe, ne, 50) / ms, (double)pct(ttfe, ne, 99) / ms, hist_pct(t, 50) / 1e3,
           hist_pct(t, 99) / 1e3, (double)t->late_max_us / 1e3, t->late_over, g.server_pid, cpu,
           cpu_clock, srv.rss_idle_kb, srv.rss_held_kb, srv.hwm_kb, per_stream);
    fprintf(stderr,
            "loadgen: %d streams%s on %d thread%s, %.2f s%s\n"
            "  events          %" PRIu64 " (%.0f/s), %.1f MB/s, content %" PRIu64 " of %" PRIu64
            " expected, lost %" PRIu64 "\n"
            "  errors          %" PRIu64 " (connect %" PRIu64 ", status %" PRIu64
            ", early end %" PRIu64 ")\n"
            "  first byte ms   p50 %.3f  p99 %.3f\n"
            "  first event ms  p50 %.3f  p99 %.3f\n"
            "  lateness ms     p50 %.3f  p99 %.3f  max %.3f\n",
            g.conns, g.hold ? " (hold)" : "", g.threads, g.threads == 1 ? "" : "s", secs,
            t->capped ? " (capped by --duration-ms)" : "", events, (double)events / secs,
            (double)bytes / secs / 1e6, content, expected, lost, t->errors, t->connect_errors,
            t->status_errors, t->eof_errors, (double)pct(ttfb, nb, 50) / ms,
            (double)pct(ttfb, nb, 99) / ms, (double)pct(ttfe, ne, 50) / ms,
            (double)pct(ttfe, ne, 99) / ms, hist_pct(t, 50) / 1e3, hist_pct(t, 99) / 1e3,
            (double)t->late_max_us / 1e3);
    if (g.server_pid > 0)
        fprintf(stderr,
                "  server          cpu %.3f s, RSS idle %ld KiB, held %ld KiB (%.0f B/stream), "
                "peak %ld KiB\n",
                cpu, srv.rss_idle_kb, srv.rss_held_kb, per_stream, srv.hwm_kb);
    free(ttfb);
    free(ttfe);
}

/* --- main --- */

/* One thread: its own loop over its slice of the streams, capped at --duration-ms. */
static void worker_main(void *arg)
{
    lg_worker_t *w = arg;
    uv_timer_start(&w->cap_timer, on_cap, g.duration_ms, 0);
    open_batch(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static int usage(const char *msg)
{
    fprintf(stderr,
            "loadgen: %s\nusage: loadgen --url http://127.0.0.1:PORT --path PATH "
            "[--dialect D] [--conns N] [--batch B] [--duration-ms MS] [--ttft-ms MS] "
            "[--interval-ms MS] [--expect-events E] [--marker STR] [--header 'K: V'] "
            "[--server-pid PID] [--hold] [--threads T]\n",
            msg);
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static int parse_url(const char *url)
{
    static char host[64];
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    if (!p)
        return -1;
    const char *colon = strchr(p, ':');
    if (!colon || (size_t)(colon - p) >= sizeof(host))
        return -1;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (strncmp(host, "127.", 4) != 0) /* loopback only */
        return -1;
    g.host = host;
    g.port = atoi(colon + 1);
    return g.port > 0 && g.port < 65536 ? 0 : -1;
}

int main(int argc, char **argv)
{
    g.dialect = "openai-chat";
    g.conns = 1;
    g.batch = 100;
    g.threads = 1;
    g.duration_ms = 60000;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (strcmp(a, "--hold") == 0) {
            g.hold = true;
            continue;
        }
        if (!v)
            return usage("missing value");
        i++;
        if (strcmp(a, "--url") == 0)
            url = v;
        else if (strcmp(a, "--path") == 0)
            g.path = v;
        else if (strcmp(a, "--dialect") == 0)
            g.dialect = v;
        else if (strcmp(a, "--marker") == 0)
            g.marker = v;
        else if (strcmp(a, "--header") == 0 && g.n_headers < MAX_HEADERS)
            g.headers[g.n_headers++] = v;
        else if (!parse_u64(v, &n))
            return usage("bad number");
        else if (strcmp(a, "--conns") == 0 && n >= 1 && n <= MAX_CONNS)
            g.conns = (int)n;
        else if (strcmp(a, "--batch") == 0 && n >= 1 && n <= MAX_CONNS)
            g.batch = (int)n;
        else if (strcmp(a, "--duration-ms") == 0 && n >= 1 && n <= 3600000)
            g.duration_ms = n;
        else if (strcmp(a, "--ttft-ms") == 0)
            g.ttft_ms = n;
        else if (strcmp(a, "--interval-ms") == 0)
            g.interval_ms = n;
        else if (strcmp(a, "--expect-events") == 0)
            g.expect_events = n;
        else if (strcmp(a, "--server-pid") == 0 && n > 0 && n < INT32_MAX)
            g.server_pid = (int)n;
        else if (strcmp(a, "--threads") == 0 && n >= 1 && n <= MAX_THREADS)
            g.threads = (int)n;
        else
            return usage("unknown option or value out of range");
    }
    if (!url || parse_url(url))
        return usage("--url http://127.0.0.1:PORT is required (loopback only)");
    if (!g.path)
        g.path = strcmp(g.dialect, "openai-responses") == 0     ? "/v1/responses"
                 : strcmp(g.dialect, "anthropic-messages") == 0 ? "/v1/messages"
                                                                : "/v1/chat/completions";
    if (!g.marker)
        g.marker = strcmp(g.dialect, "openai-responses") == 0     ? "response.output_text.delta"
                   : strcmp(g.dialect, "anthropic-messages") == 0 ? "content_block_delta"
                                                                  : "\"delta\":{\"content\":";
    if (!*g.marker)
        return usage("empty --marker");
    g.marker_len = strlen(g.marker);
    g.marker_pivot = marker_pivot(g.marker);

    if (g.threads > g.conns)
        g.threads = g.conns; /* every thread has at least one stream */

    g.c = calloc((size_t)g.conns, sizeof(*g.c));
    g.w = calloc((size_t)g.threads, sizeof(*g.w));
    if (!g.c || !g.w || build_request())
        return 1;
    int rc = 0;
    for (int k = 0, first = 0; k < g.threads && !rc; k++) {
        lg_worker_t *w = &g.w[k];
        w->conns = g.conns / g.threads + (k < g.conns % g.threads);
        w->c = g.c + first;
        first += w->conns;
        w->hist = calloc(HIST_US, sizeof(*w->hist));
        w->hist_ms = calloc(HIST_MS, sizeof(*w->hist_ms));
        if (!w->hist || !w->hist_ms || uv_loop_init(&w->loop))
            return 1;
        w->loop.data = w;
        uv_timer_init(&w->loop, &w->cap_timer);
    }
    if (g.server_pid > 0) {
        srv.cpu0 = proc_cpu_s(g.server_pid);
        srv.cpu0_ns = proc_cpu_ns_s(g.server_pid);
        srv.rss_idle_kb = proc_status_kb(g.server_pid, "VmRSS");
    }
    g.t_start_ns = uv_hrtime();
    for (int k = 0; k < g.threads; k++)
        if (uv_thread_create(&g.w[k].thread, worker_main, &g.w[k]))
            return 1;
    for (int k = 0; k < g.threads; k++)
        uv_thread_join(&g.w[k].thread);
    if (!g.t_end_ns)
        g.t_end_ns = uv_hrtime();
    report();
    int opened = 0;
    for (int k = 0; k < g.threads; k++) {
        lg_worker_t *w = &g.w[k];
        for (int i = 0; i < w->conns; i++)
            free(w->c[i].head);
        opened += w->opened;
        if (uv_loop_close(&w->loop))
            rc = 1;
        free(w->hist);
        free(w->hist_ms);
    }
    if (!opened)
        rc = 1;
    free(g.w);
    free(g.c);
    free(g.request);
    return rc;
}

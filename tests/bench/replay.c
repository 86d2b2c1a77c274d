/*
 * Replay benchmark (issue 14): how exactly does a byte-exact timed replay (`response.writes`)
 * keep its times, and what does replaying exact writes cost against a `chunks:` scenario of the
 * same bytes?
 *  1. timing: a 300-write replay at speed 1 whose writes are 1 to 13 ms apart (irregular, as a
 *     real capture); every write is one chunk, and the time each chunk is complete at the client
 *     (a read per recv, CLOCK_MONOTONIC) is compared with its scripted time, both after the
 *     first write: the error in ms, p50/p99/max over RUNS runs.
 *  2. throughput: a `chunks:` scenario of 10,000 chunks at interval 0, and a replay of its very
 *     body bytes as 10,000 writes at speed 0: the time from the request to the response's end,
 *     median over RUNS runs each (interleaved), and their ratio; and the first request of each
 *     alone, which compiles the reply the server's template cache then keeps.
 * It writes the scenarios into a temporary folder, starts `faultline serve` on it, and prints
 * figures; a benchmark, not a test: it asserts nothing.
 *
 * usage: bench_replay FAULTLINE_BINARY [RUNS]
 */
#include "rawclient.h"
#include "serve_child.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMING_WRITES 300
#define BULK_CHUNKS   10000

static int exchange(int port, const char *scenario, fl_raw_result_t *r)
{
    char path[128];
    snprintf(path, sizeof(path), "/s/%s/v1/chat/completions", scenario);
    size_t len;
    char *req = fl_raw_post(path, NULL, &len);
    fl_raw_opts_t opts = {.timeout_ms = 30000};
    int rc = fl_raw_exchange(port, req, len, &opts, r);
    free(req);
    return rc;
}

/* Opens DIR/file for writing and writes a scenario's head up to the response key `key:`. */
static FILE *scenario_file(const char *dir, const char *file, const char *name, const char *key)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f)
        fprintf(f, "faultline: 1\nname: %s\ndialect: openai-chat\nresponse:\n  %s:\n", name, key);
    return f;
}

/* The scripted times of the timing replay: irregular gaps of 1 to 13 ms. */
static uint64_t script_ms(size_t i)
{
    uint64_t t = 0;
    for (size_t k = 1; k <= i; k++)
        t += 1 + (k * 7) % 13;
    return t;
}

static int write_timing(const char *dir)
{
    FILE *f = scenario_file(dir, "timing.yaml", "replay-timing", "writes");
    if (!f)
        return -1;
    for (size_t i = 0; i < TIMING_WRITES; i++)
        fprintf(f,
                "    - {ms: %llu, data: \"data: {\\\"choices\\\":[{\\\"delta\\\":{\\\"content\\\":"
                "\\\"w%zu \\\"}}]}\\n\\n\"}\n",
                (unsigned long long)script_ms(i), i);
    fprintf(f, "  speed: 1\n");
    return fclose(f);
}

static int write_chunks(const char *dir)
{
    FILE *f = scenario_file(dir, "chunks.yaml", "bulk-chunks", "chunks");
    if (!f)
        return -1;
    for (size_t i = 0; i < BULK_CHUNKS; i++)
        fprintf(f, "    - \"w%05zu \"\n", i);
    return fclose(f);
}

/* The replay of the chunks scenario's body (one response of it, dechunked): one write per SSE
 * event, all at 0, speed 0. */
static int write_bulk_replay(const char *dir, const char *body, size_t len)
{
    FILE *f = scenario_file(dir, "writes.yaml", "bulk-writes", "writes");
    if (!f)
        return -1;
    size_t n = 0;
    for (size_t off = 0; off < len;) {
        const char *end = strstr(body + off, "\n\n");
        size_t e = end ? (size_t)(end - body) + 2 : len;
        fprintf(f, "    - {ms: 0, data: \"");
        for (size_t i = off; i < e; i++) {
            char ch = body[i];
            if (ch == '"' || ch == '\\')
                fprintf(f, "\\%c", ch);
            else if (ch == '\n')
                fprintf(f, "\\n");
            else
                fputc(ch, f);
        }
        fprintf(f, "\"}\n");
        off = e;
        n++;
    }
    fprintf(f, "  speed: 0\n");
    fclose(f);
    return (int)n;
}

/* Dechunks a response's body; returns the data (caller frees) or NULL. */
static char *body_of(const fl_raw_result_t *r, size_t *len)
{
    size_t h = fl_raw_head_len(r->all, r->len);
    if (!h)
        return NULL;
    fl_raw_dechunk_t d;
    fl_raw_dechunk_init(&d);
    fl_raw_dechunk_feed(&d, r->all + h, r->len - h);
    char *out = d.data;
    *len = d.len;
    d.data = NULL;
    fl_raw_dechunk_close(&d);
    return out;
}

/* When each chunk was complete at the client, read by read; returns how many (at most max). */
static size_t chunk_times(const fl_raw_result_t *r, double *t, size_t max)
{
    fl_raw_dechunk_t d;
    fl_raw_dechunk_init(&d);
    size_t head = 0, fed = 0, n = 0;
    char *all = r->all;
    for (size_t i = 0; i < r->n_reads && n < max; i++) {
        size_t from = fed, to = fed + r->reads[i].len;
        fed = to;
        if (!head) {
            head = fl_raw_head_len(all, to);
            if (!head)
                continue;
            from = head;
        }
        if (from < head)
            from = head;
        fl_raw_dechunk_feed(&d, all + from, to - from);
        while (n < d.n_chunks && n < max)
            t[n++] = r->reads[i].t_ms;
    }
    fl_raw_dechunk_close(&d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FAULTLINE [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 10;
    char dir[] = "/tmp/fl-bench-replay-XXXXXX";
    if (!mkdtemp(dir) || write_timing(dir) || write_chunks(dir))
        return 1;

    /* the chunks scenario alone first, to take its body for the replay of the same bytes */
    int port = 0;
    pid_t pid = fl_serve_child(argv[1], dir, &port);
    fl_raw_result_t r;
    if (!pid || !port || exchange(port, "bulk-chunks", &r)) {
        fprintf(stderr, "bench_replay: cannot serve %s\n", dir);
        return 1;
    }
    size_t blen = 0;
    char *body = body_of(&r, &blen);
    fl_raw_result_free(&r);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    int n_writes = body ? write_bulk_replay(dir, body, blen) : -1;
    free(body);
    if (n_writes <= 0)
        return 1;
    pid = fl_serve_child(argv[1], dir, &port);
    if (!pid || !port)
        return 1;

    double *err = calloc((size_t)runs * TIMING_WRITES, sizeof(double));
    double *tc = calloc((size_t)runs, sizeof(double)), *tw = calloc((size_t)runs, sizeof(double));
    double t[TIMING_WRITES];
    size_t ne = 0;
    int nc = 0, nw = 0;
    for (int run = 0; run < runs; run++) {
        if (exchange(port, "replay-timing", &r) == 0) {
            size_t n = chunk_times(&r, t, TIMING_WRITES);
            for (size_t k = 1; k < n; k++)
                err[ne++] = fabs((t[k] - t[0]) - (double)script_ms(k));
            fl_raw_result_free(&r);
        }
        if (exchange(port, "bulk-chunks", &r) == 0) {
            tc[nc++] = r.n_reads ? r.reads[r.n_reads - 1].t_ms : r.end_ms;
            fl_raw_result_free(&r);
        }
        if (exchange(port, "bulk-writes", &r) == 0) {
            tw[nw++] = r.n_reads ? r.reads[r.n_reads - 1].t_ms : r.end_ms;
            fl_raw_result_free(&r);
        }
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    /* the first request of each compiles its reply (the template cache keeps it after) */
    double first_c = nc ? tc[0] : 0, first_w = nw ? tw[0] : 0;
    qsort(err, ne, sizeof(*err), fl_cmp_double);
    qsort(tc, (size_t)nc, sizeof(*tc), fl_cmp_double);
    qsort(tw, (size_t)nw, sizeof(*tw), fl_cmp_double);
    printf("replay timing, speed 1, %d writes 1-13 ms apart, %d runs:\n", TIMING_WRITES, runs);
    if (ne)
        printf("  error after the first write  n=%zu p50=%.2f p99=%.2f max=%.2f ms\n", ne,
               err[ne / 2], err[(size_t)((double)(ne - 1) * 0.99)], err[ne - 1]);
    printf("replay throughput, %d runs each:\n", runs);
    if (nc && nw) {
        double mc = tc[nc / 2], mw = tw[nw / 2];
        printf("  chunks: %d chunks, interval 0      median %.2f ms\n", BULK_CHUNKS, mc);
        printf("  writes: %d writes, speed 0         median %.2f ms\n", n_writes, mw);
        printf("  ratio writes/chunks                 %.2fx\n", mw / mc);
        printf("  first request (reply compiled)      chunks %.2f ms, writes %.2f ms (%.2fx)\n",
               first_c, first_w, first_w / first_c);
    }
    free(err);
    free(tc);
    free(tw);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

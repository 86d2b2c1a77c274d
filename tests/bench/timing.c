/*
 * Timing benchmark: how close to their scripted times do events, stalls, delayed headers and
 * idle-timeout cuts reach a client? Starts `faultline serve` on the scenarios in
 * tests/bench/timing/, streams each one with the raw recording client (a read per recv, stamped
 * with CLOCK_MONOTONIC), and prints the error of each observed time against the script, in ms.
 * Client-side times include loopback latency and request parsing, so they bound the server's
 * own error from above. A benchmark, not a test: it prints figures and asserts nothing.
 *
 * usage: bench_timing FAULTLINE_BINARY SCENARIO_DIR [RUNS]
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

#define CONTENT "\"delta\":{\"content\":\""

/* Arrival time (ms) of byte `off` of the raw stream: the time of the read that carried it. */
static double arrival(const fl_raw_result_t *r, size_t off)
{
    size_t seen = 0;
    for (size_t i = 0; i < r->n_reads; i++) {
        seen += r->reads[i].len;
        if (off < seen)
            return r->reads[i].t_ms;
    }
    return r->end_ms;
}

/* Arrival times of every content chunk, in order; returns how many (at most max). */
static size_t content_times(const fl_raw_result_t *r, double *t, size_t max)
{
    size_t n = 0;
    const char *p = r->all;
    while (n < max && (p = strstr(p, CONTENT)) != NULL) {
        t[n++] = arrival(r, (size_t)(p - r->all) + sizeof(CONTENT));
        p += sizeof(CONTENT) - 1;
    }
    return n;
}

static int exchange(int port, const char *scenario, fl_raw_result_t *r)
{
    char hdr[160];
    snprintf(hdr, sizeof(hdr), "x-faultline-scenario: %s\r\n", scenario);
    size_t len;
    char *req = fl_raw_post("/v1/chat/completions", hdr, &len);
    fl_raw_opts_t opts = {.timeout_ms = 10000};
    int rc = fl_raw_exchange(port, req, len, &opts, r);
    free(req);
    return rc;
}

static void report(const char *what, double *err, size_t n)
{
    if (n == 0) {
        printf("%-44s  no samples\n", what);
        return;
    }
    qsort(err, n, sizeof(*err), fl_cmp_double);
    printf("%-44s  n=%-5zu p50=%6.2f  p99=%6.2f  max=%6.2f ms\n", what, n, err[n / 2],
           err[(size_t)((double)(n - 1) * 0.99)], err[n - 1]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FAULTLINE SCENARIO_DIR [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    int port = 0;
    pid_t pid = fl_serve_child(argv[1], argv[2], &port);
    if (!pid || !port) {
        fprintf(stderr, "bench_timing: cannot start %s serve %s\n", argv[1], argv[2]);
        return 1;
    }
    size_t cap = (size_t)runs * 256;
    double *interval = calloc(cap, sizeof(double)), *stall = calloc(cap, sizeof(double));
    double *delay = calloc(cap, sizeof(double)), *idle = calloc(cap, sizeof(double));
    size_t ni = 0, ns = 0, nd = 0, nk = 0;
    double t[256];
    for (int run = 0; run < runs; run++) {
        fl_raw_result_t r;
        /* Content event k is scripted at 50 + 20k ms; the first one anchors the request's
         * own latency so the figure is the drift of the schedule. */
        if (exchange(port, "timing-interval", &r) == 0) {
            size_t n = content_times(&r, t, 256);
            for (size_t k = 1; k < n; k++)
                interval[ni++] = fabs(t[k] - t[0] - 20.0 * (double)k);
            fl_raw_result_free(&r);
        }
        /* Event 20 is content chunk 18: 20 ms after chunk 17 plus the 500 ms stall. */
        if (exchange(port, "timing-stall", &r) == 0) {
            if (content_times(&r, t, 256) > 18)
                stall[ns++] = fabs(t[18] - t[17] - 520.0);
            fl_raw_result_free(&r);
        }
        if (exchange(port, "timing-delay", &r) == 0) {
            if (r.n_reads)
                delay[nd++] = fabs(r.reads[0].t_ms - 250.0);
            fl_raw_result_free(&r);
        }
        /* Stall forever before event 6: content chunk 3 is the last byte; the proxy cuts
         * 300 ms after it. */
        if (exchange(port, "timing-idle", &r) == 0) {
            if (content_times(&r, t, 256) == 4)
                idle[nk++] = fabs(r.end_ms - t[3] - 300.0);
            fl_raw_result_free(&r);
        }
    }
    printf("timing error against the script, client side, %d runs each:\n", runs);
    report("interval 20 ms (drift from the schedule)", interval, ni);
    report("stall 500 ms", stall, ns);
    report("delay_headers 250 ms (first byte)", delay, nd);
    report("idle_timeout 300 ms (cut after last byte)", idle, nk);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(interval);
    free(stall);
    free(delay);
    free(idle);
    return 0;
}

/* A threaded server (server.h, "Threads": opts.threads worker loops behind one acceptor): many
 * clients at once on fail-then-succeed scenarios get exactly one answer per attempt number, in
 * order per scenario; the journal has every request whole; stopping with streams held open
 * closes every handle and joins every thread (es_stop asserts the loop closed cleanly). */
#include "e2e_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define THREADS  4  /* the server's worker loops */
#define CLIENTS  24 /* client threads */
#define PER      10 /* requests each, alternating the two scenarios */
#define REQUESTS (CLIENTS * PER)

static const char *const names[2] = {"fail-twice", "reset-once"};
static const char *const paths[2] = {"/v1/chat/completions", "/v1/messages"};

typedef struct {
    int status;
    bool whole;  /* the chunked body arrived terminated */
    bool failed; /* the exchange could not be made */
} answer_t;

static answer_t answers[2][REQUESTS];
static int n_answers[2];
static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;

/* One client: PER requests, each on its own connection; records status and wholeness. */
static void *client(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int k = 0; k < PER; k++) {
        int s = (id + k) % 2;
        char path[128];
        snprintf(path, sizeof(path), "/s/%s%s", names[s], paths[s]);
        size_t len;
        char *req = fl_raw_post(path, NULL, &len);
        fl_raw_result_t r;
        fl_raw_opts_t o = {.timeout_ms = 10000};
        answer_t a = {0};
        if (!req || fl_raw_exchange(es_port(), req, len, &o, &r)) {
            a.failed = true;
        } else {
            size_t hl = fl_raw_head_len(r.all, r.len);
            a.status = hl ? fl_raw_status(r.all, hl) : 0;
            fl_raw_dechunk_t dc;
            fl_raw_dechunk_init(&dc);
            if (hl && fl_raw_dechunk_feed(&dc, r.all + hl, r.len - hl) == 0)
                a.whole = dc.terminated;
            fl_raw_dechunk_close(&dc);
            fl_raw_result_free(&r);
        }
        free(req);
        pthread_mutex_lock(&answers_lock);
        answers[s][n_answers[s]++] = a;
        pthread_mutex_unlock(&answers_lock);
    }
    return NULL;
}

static void start(void)
{
    fl_server_opts_t o = {.threads = THREADS};
    es_start_opts(FL_TESTDATA_DIR "/threads", &o);
}

TestSuite(threads, .init = start, .fini = es_stop, .timeout = 120);

Test(threads, attempts_exact_under_concurrency)
{
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, client, (void *)(intptr_t)i), 0);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);

    /* What the clients saw: fail-twice answers 503 exactly twice, reset-once cuts exactly one
     * stream; everything else is a whole 200 stream. */
    for (int s = 0; s < 2; s++) {
        cr_assert_eq(n_answers[s], REQUESTS / 2);
        int bad = 0, ok = 0;
        for (int i = 0; i < n_answers[s]; i++) {
            const answer_t *a = &answers[s][i];
            cr_assert_not(a->failed, "%s: request %d could not be made", names[s], i);
            if (a->status == 200 && a->whole)
                ok++;
            else
                bad++;
        }
        cr_assert_eq(bad, s == 0 ? 2 : 1, "%s: %d answers were not whole 200 streams", names[s],
                     bad);
        cr_assert_eq(ok, REQUESTS / 2 - bad);
    }

    /* What the journal says: every request, attempt numbers 1..N once each and rising with the
     * sequence number per scenario, the first attempts failed as scripted, the rest complete
     * with every event. */
    json_t *reqs = es_journal();
    cr_assert_eq(json_array_size(reqs), REQUESTS, "journal has %zu entries", json_array_size(reqs));
    for (int s = 0; s < 2; s++) {
        bool seen[REQUESTS / 2 + 1] = {0};
        long long last_seq = -1, last_attempt = 0, events = -1;
        size_t i;
        json_t *e;
        json_array_foreach(reqs, i, e)
        {
            if (strcmp(es_str(e, "scenario"), names[s]) != 0)
                continue;
            long long att = es_int(e, "attempt", 0), seq = es_int(e, "seq", -1);
            cr_assert(att >= 1 && att <= REQUESTS / 2, "%s: attempt %lld", names[s], att);
            cr_assert_not(seen[att], "%s: attempt %lld twice", names[s], att);
            seen[att] = true;
            cr_assert_gt(seq, last_seq);
            cr_assert_gt(att, last_attempt, "%s: attempt %lld after %lld (seq %lld)", names[s], att,
                         last_attempt, seq);
            last_seq = seq;
            last_attempt = att;
            long long status = es_int(e, "status", 0);
            const char *end = es_str(e, "end");
            if (s == 0 && att <= 2) {
                cr_assert_eq(status, 503, "fail-twice attempt %lld: %lld", att, status);
            } else if (s == 1 && att == 1) {
                cr_assert_str_eq(end, "reset", "reset-once attempt 1 ended %s", end);
            } else {
                cr_assert_eq(status, 200, "%s attempt %lld: %lld", names[s], att, status);
                cr_assert_str_eq(end, "complete", "%s attempt %lld ended %s", names[s], att, end);
                long long n = es_int(e, "events", -1);
                if (events < 0)
                    events = n;
                cr_assert_eq(n, events, "%s attempt %lld: %lld events, others %lld", names[s], att,
                             n, events);
            }
        }
        cr_assert_eq(last_attempt, REQUESTS / 2, "%s: last attempt %lld", names[s], last_attempt);
        cr_assert_gt(events, 0);
    }
    json_decref(reqs);
}

/* Connects and sends a request for `held`; the socket is left open. */
static int open_held(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)es_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    size_t len;
    char *req = fl_raw_post("/s/held/v1/chat/completions", NULL, &len);
    cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
    free(req);
    return fd;
}

Test(threads, stop_with_streams_held)
{
    enum { HELD = 12 };
    int fds[HELD];
    for (int i = 0; i < HELD; i++)
        fds[i] = open_held();
    /* every request is in the journal, held (in progress) */
    json_t *e = NULL;
    for (int i = 0; i < 200 && !e; i++) {
        json_t *reqs = es_journal();
        if (json_array_size(reqs) == HELD)
            e = json_incref(json_array_get(reqs, HELD - 1));
        json_decref(reqs);
        if (!e)
            usleep(10000);
    }
    cr_assert_not_null(e, "the held requests never all reached the journal");
    cr_assert_str_eq(es_str(e, "end"), "in_progress");
    json_decref(e);
    es_stop(); /* asserts every handle closed: the workers closed their streams and ended */
    for (int i = 0; i < HELD; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        cr_assert_eq(poll(&p, 1, 2000), 1, "connection %d still open after stop", i);
        char b[256];
        cr_assert_leq(recv(fds[i], b, sizeof(b), 0), 0, "connection %d: bytes after stop", i);
        close(fds[i]);
    }
    start(); /* for the suite's .fini */
}

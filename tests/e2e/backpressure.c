/*
 * Backpressure (conn.c, stream.c): a client that stops reading must not make the server queue
 * its whole answer. Above the high-water mark of queued bytes the server stops producing events
 * for that connection, resumes below the low-water mark, and the slow client still gets every
 * byte, exactly; a normal client served meanwhile is not slowed down.
 *
 * What the server has produced for a connection is the journal's "bytes" (counted as the
 * executor hands bytes to the socket layer). The kernel absorbs a non-reading peer's bytes up to
 * its send buffer (net.ipv4.tcp_wmem's maximum) plus the peer's receive buffer, so the answer is
 * sized well past that plus the server's default high-water mark (1 MiB), and spread over time
 * (1 ms between 16 KiB events), as backpressure acts between timer ticks.
 */
#include "e2e_server.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHAT             "/v1/chat/completions"
#define MIB              (1024u * 1024u)
#define HIGH_WATER       MIB            /* fl_server_opts_t's default */
#define BATCH_SLACK      (512u * 1024u) /* the write that crossed the mark, and a late tick's events */
#define EVENT_BYTES      16384u
#define BURST_CHUNK      32u  /* text bytes per event of bp-burst */
#define BURST_EVENT_WIRE 200u /* about what such an event takes on the wire, bytes (at least) */

static char dir[64];
static size_t wmem_max;
static size_t text_bytes;

/* The kernel's largest TCP send buffer, bytes (4 MiB when it cannot be read). */
static size_t read_wmem_max(void)
{
    unsigned long lo, def, max = 4 * MIB;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    if (f) {
        if (fscanf(f, "%lu %lu %lu", &lo, &def, &max) != 3)
            max = 4 * MIB;
        fclose(f);
    }
    return max;
}

static void write_scenario(const char *name, const char *response)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "faultline: 1\nname: %s\ndescription: backpressure test\ndialect: openai-chat\n"
            "model: test-model\nresponse:\n%s",
            name, response);
    cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
    wmem_max = read_wmem_max();
    /* well past what the kernel and the queue may hold together */
    text_bytes = 2 * (wmem_max + HIGH_WATER + BATCH_SLACK);
    text_bytes = (text_bytes / EVENT_BYTES + 1) * EVENT_BYTES;
    if (text_bytes > 64 * MIB)
        cr_skip_test("tcp_wmem allows %zu bytes of send buffer: too large to test", wmem_max);
    snprintf(dir, sizeof(dir), "/tmp/fl-backpressure-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));

    static const char words[] = "lorem ipsum dolor sit amet ";
    size_t len = strlen("  text: \"\"\n  chunking: bytes:16384\n  ttft_ms: 0\n  interval_ms: 1\n");
    char *big = malloc(text_bytes + len + 1);
    cr_assert_not_null(big);
    size_t n = (size_t)sprintf(big, "  text: \"");
    for (size_t i = 0; i < text_bytes; i++)
        big[n++] = words[i % (sizeof(words) - 1)];
    n += (size_t)sprintf(big + n, "\"\n  chunking: bytes:%u\n  ttft_ms: 0\n  interval_ms: 1\n",
                         EVENT_BYTES);
    write_scenario("bp-big", big);
    free(big);

    /* bp-burst: every event due at once, so the whole body is one span of the reply template
     * with this response's id and time patched into each event; past what the kernel takes
     * from one write to a reader that reads nothing. */
    size_t burst_text = 2 * (wmem_max + 64 * 1024) / (BURST_EVENT_WIRE / BURST_CHUNK) + 1;
    char *burst = malloc(burst_text + len + 1);
    cr_assert_not_null(burst);
    n = (size_t)sprintf(burst, "  text: \"");
    for (size_t i = 0; i < burst_text; i++)
        burst[n++] = words[i % (sizeof(words) - 1)];
    sprintf(burst + n, "\"\n  chunking: bytes:%u\n  ttft_ms: 0\n  interval_ms: 0\n", BURST_CHUNK);
    write_scenario("bp-burst", burst);
    free(burst);
    write_scenario("bp-normal", "  text: \"one two three four five six seven eight nine ten\"\n"
                                "  chunking: word\n  ttft_ms: 50\n  interval_ms: 50\n");
    es_start(dir);
}

static void teardown(void)
{
    es_stop();
    char path[128];
    snprintf(path, sizeof(path), "%s/bp-big.yaml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bp-normal.yaml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bp-burst.yaml", dir);
    unlink(path);
    rmdir(dir);
}

TestSuite(backpressure, .init = setup, .fini = teardown, .timeout = 120);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The journal entry of scenario's attempt, finished or not (new reference), or NULL. */
static json_t *entry_now(const char *scenario, int attempt)
{
    json_t *list = es_journal();
    json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        if (strcmp(es_str(e, "scenario"), scenario) == 0 && es_int(e, "attempt", 0) == attempt)
            found = e;
    }
    json_incref(found);
    json_decref(list);
    return found;
}

/* A raw client with a small receive buffer that sends its request and then reads nothing. */
static int slow_client(const char *path, int *rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    int small = 4096;
    /* before connect, so the window it advertises is small from the start */
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    socklen_t sl = sizeof(*rcvbuf);
    cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, &sl), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)es_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    size_t len;
    char *req = fl_raw_post(path, NULL, &len);
    cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
    free(req);
    return fd;
}

/* Reads fd until EOF (or timeout_ms of silence) into a result. */
static void read_all(int fd, int timeout_ms, fl_raw_result_t *r)
{
    memset(r, 0, sizeof(*r));
    size_t cap = 1 << 20;
    r->all = malloc(cap + 1);
    cr_assert_not_null(r->all);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms);
        cr_assert_gt(n, 0, "the server went silent after %zu bytes", r->len);
        if (cap - r->len < 65536) {
            cap *= 2;
            r->all = realloc(r->all, cap + 1);
            cr_assert_not_null(r->all);
        }
        ssize_t got = recv(fd, r->all + r->len, cap - r->len, 0);
        cr_assert_geq(got, 0, "recv: %s", strerror(errno));
        if (got == 0)
            break;
        r->len += (size_t)got;
    }
    r->all[r->len] = '\0';
    r->end = FL_RAW_EOF;
}

/* Reads fd until EOF (closing it) and decodes it into r and d: a 200 whose chunked body is
 * well framed and terminated. */
static void read_decoded(int fd, fl_raw_result_t *r, es_resp_t *d)
{
    read_all(fd, 10000, r);
    close(fd);
    es_decode(r, d);
    cr_assert_eq(d->status, 200);
    cr_assert(d->chunked);
    cr_assert_eq(d->dc_rc, 0, "bad chunk framing at %zu: %s", d->dc.bad_at, d->dc.why);
    cr_assert(d->dc.terminated);
}

/* When the read that completed "[DONE]" arrived, ms after the request. */
static double done_at(const es_ex_t *x)
{
    const char *p = memmem(x->r.all, x->r.len, "[DONE]", 6);
    cr_assert_not_null(p, "no [DONE] in the normal stream");
    size_t end = (size_t)(p - x->r.all) + 6, seen = 0;
    size_t i = 0;
    while (seen + x->r.reads[i].len < end)
        seen += x->r.reads[i++].len;
    return x->r.reads[i].t_ms;
}

Test(backpressure, a_client_that_stops_reading_stops_the_server_then_gets_every_byte)
{
    /* What a client that reads at once gets, and how long a normal stream takes alone. */
    es_ex_t fast, normal_alone;
    es_run("bp-big", CHAT, 30000, 0, &fast);
    cr_assert_eq(fast.r.end, FL_RAW_EOF);
    cr_assert_eq(fast.d.dc_rc, 0);
    cr_assert(fast.d.dc.terminated);
    json_t *fe = es_entry("bp-big", 1, 5000);
    cr_assert_not_null(fe);
    long long total = es_int(fe, "bytes", -1);
    long long events = es_int(fe, "events", -1);
    cr_assert_eq((size_t)total, fast.r.len, "the journal counts every byte sent");
    json_decref(fe);
    es_run("bp-normal", CHAT, 5000, 0, &normal_alone);
    double normal_ms = done_at(&normal_alone);

    int rcvbuf = 0;
    double t0 = now_ms();
    int fd = slow_client("/s/bp-big" CHAT, &rcvbuf);

    /* A normal client served meanwhile is on time. */
    es_ex_t normal;
    es_run("bp-normal", CHAT, 5000, 0, &normal);
    cr_assert_str_eq(normal.norm, normal_alone.norm);
    cr_assert_lt(done_at(&normal), normal_ms + 200, "the normal stream took %.1f ms, %.1f alone",
                 done_at(&normal), normal_ms);

    /* Every event of the slow stream is due by now (1 ms apart); the server must have stopped
     * producing long before the end: its count stays put, bounded by what the kernel and the
     * queue up to the high-water mark can hold. */
    size_t n_events = text_bytes / EVENT_BYTES;
    while (now_ms() - t0 < (double)n_events + 500)
        usleep(50 * 1000);
    json_t *e1 = entry_now("bp-big", 2);
    cr_assert_not_null(e1, "the slow request is not in the journal");
    usleep(400 * 1000);
    json_t *e2 = entry_now("bp-big", 2);
    long long b1 = es_int(e1, "bytes", -1), b2 = es_int(e2, "bytes", -1);
    cr_assert_eq(b1, b2, "still producing for a client that reads nothing (%lld, then %lld)", b1,
                 b2);
    long long bound = (long long)(wmem_max + (size_t)rcvbuf + HIGH_WATER + BATCH_SLACK);
    cr_assert_leq(b2, bound,
                  "%lld bytes produced for a reader that took none: more than the kernel (%zu + "
                  "%d) and the high-water mark hold",
                  b2, wmem_max, rcvbuf);
    cr_assert_lt(b2, total);
    cr_assert_str_eq(es_str(e2, "end"), "in_progress");
    json_decref(e1);
    json_decref(e2);

    /* It reads again: the server resumes and the stream arrives whole, byte for byte. */
    fl_raw_result_t r;
    es_resp_t d;
    read_decoded(fd, &r, &d);
    size_t norm_len;
    char *norm = es_normalise(d.dc.data, d.dc.len, &norm_len);
    cr_assert_eq(norm_len, fast.norm_len);
    cr_assert(memcmp(norm, fast.norm, norm_len) == 0, "the slow client's body differs");
    json_t *e = es_entry("bp-big", 2, 5000);
    cr_assert_not_null(e);
    cr_assert_str_eq(es_str(e, "end"), "complete");
    cr_assert_eq(es_int(e, "bytes", -1), total);
    cr_assert_eq(es_int(e, "events", -1), events);
    json_decref(e);

    free(norm);
    es_resp_free(&d);
    fl_raw_result_free(&r);
    es_ex_free(&normal);
    es_ex_free(&normal_alone);
    es_ex_free(&fast);
}

/* The string value that follows key in event ev (e.g. "\"id\":\""), up to the next '"' or ','
 * (malloc'd), or NULL when ev has none. */
static char *value_after(const char *ev, const char *key)
{
    const char *p = strstr(ev, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\",}");
    return strndup(p, n);
}

/* Every event of body carries the same id and created time; returns how many events have one. */
static size_t assert_one_id(const char *body, size_t len, const char *who)
{
    es_events_t ev;
    es_split(body, len, &ev);
    char *id0 = NULL, *created0 = NULL;
    size_t n = 0;
    for (size_t i = 0; i < ev.n; i++) {
        char *id = value_after(ev.ev[i], "\"id\":\"");
        char *created = value_after(ev.ev[i], "\"created\":");
        if (!id) {
            free(created);
            continue;
        }
        cr_assert_not_null(created, "%s: event %zu has an id and no created time", who, i);
        if (!id0) {
            id0 = strdup(id);
            created0 = strdup(created);
        }
        cr_assert_str_eq(id, id0, "%s: event %zu carries id %s, event 0 %s", who, i, id, id0);
        cr_assert_str_eq(created, created0, "%s: event %zu carries created %s, event 0 %s", who, i,
                         created, created0);
        free(id);
        free(created);
        n++;
    }
    free(id0);
    free(created0);
    es_events_free(&ev);
    return n;
}

Test(backpressure, a_burst_the_kernel_takes_in_part_arrives_whole_with_one_id)
{
    es_ex_t fast;
    es_run("bp-burst", CHAT, 30000, 0, &fast);
    cr_assert_eq(fast.r.end, FL_RAW_EOF);
    cr_assert_eq(fast.d.dc_rc, 0);
    cr_assert(fast.d.dc.terminated);
    size_t fast_events = assert_one_id(fast.d.dc.data, fast.d.dc.len, "fast client");
    cr_assert_gt(fast.d.dc.len, 2 * wmem_max, "the burst is %zu bytes, not past the kernel's %zu",
                 fast.d.dc.len, wmem_max);

    /* A reader that takes nothing for a while: the kernel accepts part of the one big write,
     * the rest waits in the server's queue and goes out as the client reads. */
    int rcvbuf = 0;
    int fd = slow_client("/s/bp-burst" CHAT, &rcvbuf);
    usleep(300 * 1000);
    fl_raw_result_t r;
    es_resp_t d;
    read_decoded(fd, &r, &d);
    cr_assert_eq(assert_one_id(d.dc.data, d.dc.len, "slow client"), fast_events);
    size_t norm_len;
    char *norm = es_normalise(d.dc.data, d.dc.len, &norm_len);
    cr_assert_eq(norm_len, fast.norm_len);
    cr_assert(memcmp(norm, fast.norm, norm_len) == 0, "the slow client's body differs");
    free(norm);
    es_resp_free(&d);
    fl_raw_result_free(&r);
    es_ex_free(&fast);
}

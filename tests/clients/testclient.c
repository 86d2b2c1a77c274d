/*
 * testclient: a client under test that misbehaves in exactly one known way, so the end-to-end
 * tests of `faultline run` (tests/e2e/run_verdicts.sh) can prove that every verdict and finding
 * is reached by a real process rather than by a hand-built fl_evidence_t.
 *
 *   testclient MODE
 *
 * It follows THE CLIENT CONTRACT (README, "faultline run"): it reads OPENAI_BASE_URL,
 * OPENAI_API_KEY, FAULTLINE_DIALECT, FAULTLINE_MODEL and FAULTLINE_PROMPT, sends one streaming
 * Chat Completions request per attempt (POST {OPENAI_BASE_URL}/chat/completions,
 * "stream": true), appends choices[0].delta.content of every `data:` line and treats
 * `data: [DONE]` as the end marker (OpenAI API reference, "Streaming": the stream is terminated
 * by a `data: [DONE]` message). Only openai-chat is spoken; any other dialect exits 2.
 *
 * Modes (what each one does wrong is the point):
 *   correct    up to 4 attempts, 300 ms backoff or the server's retry-after-ms / Retry-After,
 *              discards partial answers, requires [DONE], 2 s idle timeout; prints the answer.
 *   truncate   one attempt, prints whatever arrived and exits 0 whatever happened.
 *   duplicate  prints deltas as they arrive and, on a failure, retries after 300 ms without
 *              taking back what it already printed.
 *   corrupt    like correct, but drops every 3rd content delta.
 *   hang       sends the request with no timeout at all and then waits forever.
 *   crash      dies of SIGSEGV at the first content delta.
 *   storm      on any failure retries at once, up to 20 attempts.
 *   ignore-ra  like correct, but retries a 429 after 10 ms whatever Retry-After says.
 *   giveup     one attempt; on failure exits 1 with a message on stderr.
 *   mute       like giveup, but says nothing on stderr.
 *   noreq      exits 1 with a message without sending any request.
 *
 * Exit codes: 0 answer printed, 1 the request failed, 2 usage or environment error.
 * This program is a test fixture: it is built without sanitizers (see tests/CMakeLists.txt) and
 * exits on out-of-memory.
 */
#include <curl/curl.h>
#include <jansson.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Figures from the modes' descriptions above. */
#define BACKOFF_MS         300  /* the well-behaved wait between attempts */
#define IDLE_TIMEOUT_MS    2000 /* no byte for this long ends an attempt */
#define IGNORE_RA_WAIT_MS  10   /* ignore-ra's wait after a 429 */
#define RETRY_AFTER_CAP_MS 60000
#define BODY_KEEP          512 /* bytes of an error response body quoted on stderr */
#define POLL_MS            50  /* how often the idle timeout is checked */

typedef enum {
    MODE_CORRECT,
    MODE_TRUNCATE,
    MODE_DUPLICATE,
    MODE_CORRUPT,
    MODE_HANG,
    MODE_CRASH,
    MODE_STORM,
    MODE_IGNORE_RA,
    MODE_GIVEUP,
    MODE_MUTE,
    MODE_NOREQ,
} tc_mode_t;

static const struct {
    const char *name;
    tc_mode_t mode;
    int max_attempts;
} modes[] = {
    {"correct", MODE_CORRECT, 4},     {"truncate", MODE_TRUNCATE, 1},
    {"duplicate", MODE_DUPLICATE, 4}, {"corrupt", MODE_CORRUPT, 4},
    {"hang", MODE_HANG, 1},           {"crash", MODE_CRASH, 1},
    {"storm", MODE_STORM, 20},        {"ignore-ra", MODE_IGNORE_RA, 4},
    {"giveup", MODE_GIVEUP, 1},       {"mute", MODE_MUTE, 1},
    {"noreq", MODE_NOREQ, 0},
};

/** A growable byte string; exits on out-of-memory (this is a test program's main path). */
typedef struct {
    char *p;
    size_t len, cap;
} text_t;

static void text_append(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            fputs("testclient: out of memory\n", stderr);
            exit(2);
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_free(text_t *t)
{
    free(t->p);
    memset(t, 0, sizeof *t);
}

/** One request and what came back. */
typedef struct {
    tc_mode_t mode;
    long status; /* HTTP status; 0 before the status line */
    CURLcode rc; /* the transfer's result */
    char curl_err[CURL_ERROR_SIZE];
    text_t line;            /* the SSE line being assembled */
    text_t answer;          /* content deltas kept (all modes but duplicate) */
    text_t body;            /* start of a non-200 body, for the message */
    unsigned deltas;        /* content deltas seen */
    bool done;              /* saw data: [DONE] */
    bool stream_error;      /* an error object or unparseable JSON arrived in the stream */
    char stream_msg[200];   /* what the stream error said */
    int64_t retry_after_ms; /* from retry-after-ms, else Retry-After; -1 none */
    bool idle;              /* the idle timeout ended the attempt */
    uint64_t last_rx_ms;    /* monotonic time of the last byte received */
} attempt_t;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Dies of a real SIGSEGV (no core file), the way a client with a memory bug would. */
static void crash_now(void)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    fflush(stdout);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    abort(); /* not reached: SIGSEGV's default action ends the process */
}

static void on_delta(attempt_t *a, const char *s, size_t n)
{
    a->deltas++;
    switch (a->mode) {
    case MODE_CRASH:
        crash_now();
        break;
    case MODE_DUPLICATE:
        fwrite(s, 1, n, stdout);
        fflush(stdout);
        break;
    case MODE_CORRUPT:
        if (a->deltas % 3 == 0)
            break;
        text_append(&a->answer, s, n);
        break;
    default:
        text_append(&a->answer, s, n);
        break;
    }
}

/* One complete SSE line (its LF and any CR removed). Only `data:` lines matter for chat. */
static void on_line(attempt_t *a, const char *line, size_t n)
{
    if (n < 5 || memcmp(line, "data:", 5) != 0)
        return;
    line += 5;
    n -= 5;
    if (n > 0 && line[0] == ' ') {
        line++;
        n--;
    }
    if (n == 6 && memcmp(line, "[DONE]", 6) == 0) {
        a->done = true;
        return;
    }
    json_error_t jerr;
    json_t *chunk = json_loadb(line, n, 0, &jerr);
    if (!chunk) {
        a->stream_error = true;
        snprintf(a->stream_msg, sizeof a->stream_msg, "unparseable chunk: %s", jerr.text);
        return;
    }
    json_t *error = json_object_get(chunk, "error");
    if (error) {
        const char *msg = json_string_value(json_object_get(error, "message"));
        a->stream_error = true;
        snprintf(a->stream_msg, sizeof a->stream_msg, "error in stream: %s",
                 msg ? msg : "(no message)");
    } else {
        json_t *content = json_object_get(
            json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta"),
            "content");
        if (json_is_string(content) && json_string_length(content) > 0)
            on_delta(a, json_string_value(content), json_string_length(content));
    }
    json_decref(chunk);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    attempt_t *a = userdata;
    size_t n = size * nmemb;
    a->last_rx_ms = now_ms();
    if (a->status != 200) {
        size_t room = a->body.len < BODY_KEEP ? BODY_KEEP - a->body.len : 0;
        text_append(&a->body, ptr, n < room ? n : room);
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (ptr[i] != '\n') {
            text_append(&a->line, &ptr[i], 1);
            continue;
        }
        size_t len = a->line.len;
        if (len > 0 && a->line.p[len - 1] == '\r')
            len--;
        on_line(a, a->line.p ? a->line.p : "", len);
        a->line.len = 0;
    }
    return n;
}

/* Header lines: the status line gives the status; retry-after-ms (OpenAI's SDKs read it first,
 * in ms, fractional allowed) wins over Retry-After (RFC 9110 10.2.3: delay-seconds, or an
 * HTTP-date, which this client does not need and ignores). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    attempt_t *a = userdata;
    size_t n = size * nmemb;
    char line[256];
    size_t len = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, ptr, len);
    line[len] = '\0';
    a->last_rx_ms = now_ms();
    if (strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = strchr(line, ' ');
        a->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return n;
    *colon = '\0';
    const char *value = colon + 1;
    char *end;
    double v = strtod(value, &end);
    if (end == value || v < 0)
        return n;
    if (strcasecmp(line, "retry-after-ms") == 0)
        a->retry_after_ms = (int64_t)v;
    else if (strcasecmp(line, "retry-after") == 0 && a->retry_after_ms < 0)
        a->retry_after_ms = (int64_t)(v * 1000);
    return n;
}

/** What the client was told to send, from the environment. */
typedef struct {
    char url[1024];
    char auth[512];
    char *body; /* owned: the request JSON */
} request_t;

static int request_init(request_t *req)
{
    const char *dialect = getenv("FAULTLINE_DIALECT");
    const char *base = getenv("OPENAI_BASE_URL");
    const char *key = getenv("OPENAI_API_KEY");
    const char *model = getenv("FAULTLINE_MODEL");
    const char *prompt = getenv("FAULTLINE_PROMPT");
    if (dialect && strcmp(dialect, "openai-chat") != 0) {
        fprintf(stderr, "testclient: dialect %s not supported (openai-chat only)\n", dialect);
        return -1;
    }
    if (!base || !*base) {
        fputs("testclient: OPENAI_BASE_URL is not set\n", stderr);
        return -1;
    }
    snprintf(req->url, sizeof req->url, "%s/chat/completions", base);
    snprintf(req->auth, sizeof req->auth, "Authorization: Bearer %s", key ? key : "sk-test");
    json_t *body =
        json_pack("{s:s, s:[{s:s, s:s}], s:b}", "model", model ? model : "gpt-4o-mini", "messages",
                  "role", "user", "content", prompt ? prompt : "Say hello.", "stream", 1);
    req->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!req->body) {
        fputs("testclient: out of memory\n", stderr);
        return -1;
    }
    return 0;
}

/* One attempt on the multi interface, so the idle timeout is checked every POLL_MS instead of
 * libcurl's once-a-second low-speed check. timeouts false (hang mode) waits for ever. */
static void run_attempt(attempt_t *a, const request_t *req, bool timeouts)
{
    CURL *easy = curl_easy_init();
    CURLM *multi = curl_multi_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, req->auth);
    if (!easy || !multi || !headers) {
        fputs("testclient: libcurl initialisation failed\n", stderr);
        exit(2);
    }
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, a->curl_err);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    /* A fresh connection per attempt: the server counts attempts per request anyway, and a
     * reused connection after a reset would only blur which attempt failed. */
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    if (timeouts)
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)IDLE_TIMEOUT_MS);
    curl_multi_add_handle(multi, easy);

    a->last_rx_ms = now_ms();
    int running = 1;
    while (running) {
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        if (!running)
            break;
        curl_multi_poll(multi, NULL, 0, POLL_MS, NULL);
        if (timeouts && now_ms() - a->last_rx_ms >= IDLE_TIMEOUT_MS) {
            a->idle = true;
            break;
        }
    }
    a->rc = CURLE_OK;
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            a->rc = msg->data.result;
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
}

static bool attempt_ok(const attempt_t *a)
{
    return a->rc == CURLE_OK && !a->idle && a->status == 200 && a->done && !a->stream_error;
}

/* Errors a retry can fix: transport failures, timeouts, 408, 409, 429 and 5xx (the rule the
 * OpenAI and Anthropic SDKs share), and broken streams. Other 4xx are final. */
static bool attempt_retryable(const attempt_t *a)
{
    if (a->rc != CURLE_OK || a->idle || a->status == 200)
        return true;
    return a->status == 408 || a->status == 409 || a->status == 429 || a->status >= 500;
}

static void describe(const attempt_t *a, char *out, size_t size)
{
    if (a->idle)
        snprintf(out, size, "no data for %d ms", IDLE_TIMEOUT_MS);
    else if (a->rc != CURLE_OK)
        snprintf(out, size, "%s", a->curl_err[0] ? a->curl_err : curl_easy_strerror(a->rc));
    else if (a->status != 200)
        snprintf(out, size, "HTTP %ld: %.*s", a->status,
                 (int)strcspn(a->body.p ? a->body.p : "", "\n"), a->body.p ? a->body.p : "");
    else if (a->stream_error)
        snprintf(out, size, "%s", a->stream_msg);
    else
        snprintf(out, size, "stream ended without data: [DONE]");
}

static uint64_t backoff_ms(const attempt_t *a, tc_mode_t mode)
{
    switch (mode) {
    case MODE_STORM:
        return 0;
    case MODE_DUPLICATE:
        return BACKOFF_MS;
    case MODE_IGNORE_RA:
        if (a->status == 429)
            return IGNORE_RA_WAIT_MS;
        break;
    default:
        break;
    }
    if (a->retry_after_ms >= 0)
        return a->retry_after_ms < RETRY_AFTER_CAP_MS ? (uint64_t)a->retry_after_ms
                                                      : RETRY_AFTER_CAP_MS;
    return BACKOFF_MS;
}

static int usage(void)
{
    fputs("usage: testclient MODE\nmodes:", stderr);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        fprintf(stderr, " %s", modes[i].name);
    fputc('\n', stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    size_t m = 0;
    while (m < sizeof modes / sizeof modes[0] && strcmp(modes[m].name, argv[1]) != 0)
        m++;
    if (m == sizeof modes / sizeof modes[0])
        return usage();
    tc_mode_t mode = modes[m].mode;
    int max_attempts = modes[m].max_attempts;

    request_t req = {0};
    if (request_init(&req) != 0)
        return 2;
    if (mode == MODE_NOREQ) {
        fputs("testclient: noreq mode: refusing to send any request\n", stderr);
        free(req.body);
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("testclient: curl_global_init failed\n", stderr);
        return 2;
    }

    int status = 1;
    char why[400] = "";
    int n;
    for (n = 1; n <= max_attempts; n++) {
        attempt_t a = {.mode = mode, .retry_after_ms = -1};
        run_attempt(&a, &req, mode != MODE_HANG);
        if (mode == MODE_HANG) {
            for (;;)
                pause();
        }
        bool ok = attempt_ok(&a);
        if (mode == MODE_TRUNCATE || ok) {
            if (mode != MODE_DUPLICATE)
                fwrite(a.answer.p ? a.answer.p : "", 1, a.answer.len, stdout);
            fputc('\n', stdout);
            status = 0;
        }
        describe(&a, why, sizeof why);
        bool retry = attempt_retryable(&a) || mode == MODE_STORM;
        uint64_t wait = backoff_ms(&a, mode);
        text_free(&a.line);
        text_free(&a.answer);
        text_free(&a.body);
        if (status == 0 || !retry || n == max_attempts)
            break;
        sleep_ms(wait);
    }
    if (status != 0 && mode != MODE_MUTE) {
        if (max_attempts == 1)
            fprintf(stderr, "testclient: request failed: %s\n", why);
        else
            fprintf(stderr, "testclient: giving up after %d attempt%s: %s\n", n, n == 1 ? "" : "s",
                    why);
    }
    free(req.body);
    curl_global_cleanup();
    return status;
}

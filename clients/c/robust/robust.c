/*
 * clients/c/robust: the reference client a careful engineer writes (libcurl multi interface).
 *
 * Follows the client contract in README "Reference clients": reads FAULTLINE_* / OPENAI_* /
 * ANTHROPIC_* / GEMINI_API_KEY from the environment, sends FAULTLINE_PROMPT to the dialect's
 * endpoint (Gemini: the model in the path, streaming by path), and
 * prints the whole answer on stdout only once its end marker has arrived. Timing constants:
 * connect 2 s; idle 3 s measured on content events (from the request to the first content
 * event and between content events; SSE comments and `ping` events do not count); overall
 * deadline 15 s, or 500 ms before FAULTLINE_DEADLINE_MS (when the harness will kill it) when that
 * is sooner, so it gives up with a message instead of being killed; at most 4 attempts, backoff 250
 * ms * 2^(n-2) * U[1.0, 1.5] capped at 4 s, replaced by a larger retry-after-ms / Retry-After; a
 * demanded wait over 10 s or past the deadline ends the run at once. After two streaming attempts
 * that broke mid-stream or went idle, the remaining attempts ask for the non-streaming body.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "rc_answer.h"
#include "rc_sse.h"

enum {
    CONNECT_TIMEOUT_MS = 2000,
    IDLE_TIMEOUT_MS = 3000,
    DEADLINE_MS = 15000,
    MAX_ATTEMPTS = 4,
    BACKOFF_BASE_MS = 250,
    BACKOFF_CAP_MS = 4000,
    MAX_RETRY_AFTER_MS = 10000,
    /* after the end marker, how long the rest of the body may take before we stop reading */
    DRAIN_MS = 500,
    MAX_ERROR_BODY = 64 * 1024,
    MAX_BODY = 16 * 1024 * 1024,
};

/* How one attempt ended. */
typedef enum {
    END_OK,        /* the whole answer */
    END_TRANSPORT, /* connect error, reset, FIN before the end marker: retryable */
    END_BROKEN,    /* undecodable content mid-stream: retryable */
    END_IDLE,      /* no content for IDLE_TIMEOUT_MS: retryable */
    END_HTTP,      /* an HTTP error status; retryable by status */
    END_PROVIDER,  /* an error the provider reported in the stream or body */
    END_DEADLINE,  /* the overall deadline passed: final */
    END_FATAL,     /* not worth retrying */
} attempt_end_t;

typedef struct {
    rc_dialect_t dialect;
    const char *url;          /* the streaming request's */
    const char *url_nostream; /* the non-streaming request's (Gemini's differs) */
    const char *key;
    const char *model;
    const char *prompt;
    uint64_t start_ms;
    uint64_t deadline_ms;
    uint64_t budget_ms; /* deadline_ms - start_ms: DEADLINE_MS, or less (FAULTLINE_DEADLINE_MS) */
} config_t;

/* One attempt's state, shared by the curl callbacks. */
typedef struct {
    const config_t *cfg;
    CURL *easy;
    int stream;
    long status;
    size_t bytes;             /* body bytes received */
    uint64_t last_content_ms; /* request start, then every content event */
    uint64_t done_ms;         /* when the end marker arrived (0: not yet) */
    long retry_after_ms;      /* -1: none; from retry-after-ms, else Retry-After */
    long retry_after_ms_hdr;  /* the retry-after-ms header alone (-1: none) */
    rc_sse_t sse;
    rc_answer_t ans;
    rc_buf_t body; /* error body, or the non-streaming body */
    char content_type[128];
} attempt_t;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void set_reason(attempt_t *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rc_buf_clear(&at->ans.reason);
    rc_buf_append(&at->ans.reason, msg, strlen(msg));
}

/* ---- curl callbacks ---- */

static int on_event(void *ud, const rc_sse_event_t *ev)
{
    attempt_t *at = ud;
    int rc = rc_answer_event(&at->ans, ev);
    if (rc == 1)
        at->last_content_ms = now_ms();
    if (rc < 0) {
        if (at->ans.state == RC_ANS_DONE) {
            at->done_ms = now_ms();
            return 0;
        }
        return 1; /* broken or provider error: stop reading */
    }
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    attempt_t *at = ud;
    size_t len = size * nmemb;
    if (at->status == 0)
        curl_easy_getinfo(at->easy, CURLINFO_RESPONSE_CODE, &at->status);
    at->bytes += len;
    if (at->status != 200 || !at->stream) {
        size_t cap = at->status != 200 ? MAX_ERROR_BODY : MAX_BODY;
        if (at->body.len + len > cap) {
            if (at->status != 200)
                return len; /* keep the head of an error page; the rest says nothing new */
            at->ans.state = RC_ANS_BROKEN;
            set_reason(at, "response body over %d bytes", MAX_BODY);
            return 0;
        }
        if (rc_buf_append(&at->body, ptr, len)) {
            at->ans.state = RC_ANS_BROKEN;
            set_reason(at, "out of memory");
            return 0;
        }
        if (at->status == 200)
            at->last_content_ms = now_ms(); /* non-streaming: body bytes are the content */
        return len;
    }
    if (at->done_ms)
        return len; /* after the end marker: the rest is of no interest */
    int rc = rc_sse_feed(&at->sse, ptr, len);
    if (rc == 0)
        return len;
    if (at->ans.state == RC_ANS_PARTIAL) {
        const char *why = rc == RC_UTF8_EINVAL    ? "invalid UTF-8 in the stream"
                          : rc == RC_SSE_ETOOLONG ? "an SSE line over 8 MiB"
                                                  : "out of memory";
        at->ans.state = RC_ANS_BROKEN;
        rc_buf_clear(&at->ans.reason);
        rc_buf_append(&at->ans.reason, why, strlen(why));
    }
    return 0; /* CURLE_WRITE_ERROR: the transfer stops */
}

/* Parses an HTTP header line for Retry-After / retry-after-ms / content-type. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    attempt_t *at = ud;
    size_t len = size * nmemb;
    char line[512];
    size_t n = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
    memcpy(line, ptr, n);
    line[n] = '\0';
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        /* a new response head (after a 1xx too): forget the previous one's headers */
        at->retry_after_ms = at->retry_after_ms_hdr = -1;
        at->content_type[0] = '\0';
        return len;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return len;
    *colon = '\0';
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strcasecmp(line, "retry-after-ms") == 0) {
        char *end;
        double ms = strtod(value, &end);
        if (end != value && ms >= 0 && ms < 1e9)
            at->retry_after_ms_hdr = (long)(ms + 0.5);
    } else if (strcasecmp(line, "retry-after") == 0) {
        char *end;
        long s = strtol(value, &end, 10);
        if (end != value && *end == '\0' && s >= 0 && s < 1000000) {
            at->retry_after_ms = s * 1000; /* delta-seconds */
        } else {
            time_t when = curl_getdate(value, NULL); /* HTTP-date */
            if (when != -1) {
                time_t now = time(NULL);
                at->retry_after_ms = when > now ? (long)(when - now) * 1000 : 0;
            }
        }
    } else if (strcasecmp(line, "content-type") == 0) {
        snprintf(at->content_type, sizeof(at->content_type), "%s", value);
    }
    return len;
}

/* ---- one attempt ---- */

static char *request_body(const config_t *cfg, int stream)
{
    json_t *msg = json_pack("[{s:s, s:s}]", "role", "user", "content", cfg->prompt);
    json_t *req;
    if (cfg->dialect == RC_GEMINI) /* streaming or not is in the path */
        req = json_pack("{s:[{s:s, s:[{s:s}]}]}", "contents", "role", "user", "parts", "text",
                        cfg->prompt);
    else if (cfg->dialect == RC_OPENAI_RESPONSES)
        req = json_pack("{s:s, s:s, s:b}", "model", cfg->model, "input", cfg->prompt, "stream",
                        stream);
    else if (cfg->dialect == RC_ANTHROPIC_MESSAGES)
        req = json_pack("{s:s, s:i, s:O, s:b}", "model", cfg->model, "max_tokens", 1024, "messages",
                        msg, "stream", stream);
    else
        req = json_pack("{s:s, s:O, s:b}", "model", cfg->model, "messages", msg, "stream", stream);
    json_decref(msg);
    char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return s;
}

/* The message of an HTTP error body: the provider's error.message, else the content type. */
static void http_reason(attempt_t *at)
{
    json_t *j = json_loadb(at->body.data ? at->body.data : "", at->body.len, 0, NULL);
    json_t *err = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (msg)
        set_reason(at, "HTTP %ld: %s", at->status, msg);
    else
        set_reason(at, "HTTP %ld (%s body)", at->status,
                   at->content_type[0] ? at->content_type : "no");
    json_decref(j);
}

static int status_retryable(long status)
{
    /* Request timeout, conflict, rate limit, and server-side trouble: 500, 502-504, Anthropic's
     * 529, and Cloudflare's 52x pages. 501 Not Implemented and 505 will not change on a retry. */
    return status == 408 || status == 409 || status == 429 ||
           (status >= 500 && status <= 599 && status != 501 && status != 505);
}

static attempt_end_t run_attempt(attempt_t *at, CURLM *multi, int stream)
{
    const config_t *cfg = at->cfg;
    char *body = request_body(cfg, stream);
    if (!body) {
        set_reason(at, "out of memory");
        return END_FATAL;
    }
    CURL *easy = curl_easy_init();
    if (!easy) {
        free(body);
        set_reason(at, "curl_easy_init failed");
        return END_FATAL;
    }
    struct curl_slist *hdrs = NULL;
    char auth[1024];
    hdrs = curl_slist_append(hdrs, "content-type: application/json");
    hdrs = curl_slist_append(hdrs, "accept: text/event-stream, application/json");
    hdrs = curl_slist_append(hdrs, "expect:");
    if (cfg->dialect == RC_ANTHROPIC_MESSAGES) {
        snprintf(auth, sizeof(auth), "x-api-key: %s", cfg->key);
        hdrs = curl_slist_append(hdrs, auth);
        hdrs = curl_slist_append(hdrs, "anthropic-version: 2023-06-01");
    } else if (cfg->dialect == RC_GEMINI) {
        snprintf(auth, sizeof(auth), "x-goog-api-key: %s", cfg->key);
        hdrs = curl_slist_append(hdrs, auth);
    } else {
        snprintf(auth, sizeof(auth), "authorization: Bearer %s", cfg->key);
        hdrs = curl_slist_append(hdrs, auth);
    }
    at->easy = easy;
    at->stream = stream;
    at->status = 0;
    at->bytes = 0;
    at->done_ms = 0;
    at->retry_after_ms = at->retry_after_ms_hdr = -1;
    at->content_type[0] = '\0';
    rc_buf_clear(&at->body);
    rc_answer_init(&at->ans, cfg->dialect);
    rc_sse_init(&at->sse, on_event, at);

    curl_easy_setopt(easy, CURLOPT_URL, stream ? cfg->url : cfg->url_nostream);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, at);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, at);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    /* a fresh connection per attempt: a retry must not reuse a socket the fault broke */
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_multi_add_handle(multi, easy);

    uint64_t t0 = now_ms();
    at->last_content_ms = t0;
    attempt_end_t end = END_TRANSPORT;
    CURLcode result = CURLE_OK;
    int finished = 0, timed_out = 0;
    for (;;) {
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)))
            if (m->msg == CURLMSG_DONE) {
                result = m->data.result;
                finished = 1;
            }
        if (finished || !running)
            break;
        uint64_t now = now_ms();
        if (at->done_ms && now - at->done_ms >= DRAIN_MS)
            break; /* the answer is whole; the server is slow to end the body */
        if (now >= cfg->deadline_ms) {
            end = END_DEADLINE;
            timed_out = 1;
            break;
        }
        if (!at->done_ms && now - at->last_content_ms >= IDLE_TIMEOUT_MS) {
            end = END_IDLE;
            timed_out = 1;
            break;
        }
        uint64_t due = at->done_ms ? at->done_ms + DRAIN_MS : at->last_content_ms + IDLE_TIMEOUT_MS;
        if (due > cfg->deadline_ms)
            due = cfg->deadline_ms;
        int wait = due > now ? (int)(due - now) : 0;
        if (wait > 100)
            wait = 100;
        curl_multi_poll(multi, NULL, 0, wait, NULL);
    }
    if (at->status == 0)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &at->status);
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(hdrs);
    free(body);

    if (at->ans.state == RC_ANS_DONE)
        return END_OK; /* whatever happened after the end marker */
    if (timed_out) {
        if (end == END_IDLE)
            set_reason(at, "no content for %d ms after %zu bytes", IDLE_TIMEOUT_MS, at->bytes);
        else
            set_reason(at, "deadline of %llu ms passed", (unsigned long long)at->cfg->budget_ms);
        return end;
    }
    if (at->status >= 400 || (at->status && at->status != 200 && finished && result == CURLE_OK)) {
        http_reason(at);
        return status_retryable(at->status) ? END_HTTP : END_FATAL;
    }
    if (at->ans.state == RC_ANS_BROKEN)
        return END_BROKEN;
    if (at->ans.state == RC_ANS_ERROR)
        return END_PROVIDER;
    if (result != CURLE_OK) {
        switch (result) {
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_OUT_OF_MEMORY:
            set_reason(at, "%s", curl_easy_strerror(result));
            return END_FATAL;
        case CURLE_RECV_ERROR:
            set_reason(at, "reset after %zu bytes (%s)", at->bytes, curl_easy_strerror(result));
            return END_TRANSPORT;
        case CURLE_PARTIAL_FILE:
            set_reason(at, "connection closed after %zu bytes, before the end of the body",
                       at->bytes);
            return END_TRANSPORT;
        default:
            set_reason(at, "%s after %zu bytes", curl_easy_strerror(result), at->bytes);
            return END_TRANSPORT;
        }
    }
    if (!stream) {
        if (rc_answer_body(&at->ans, at->body.data ? at->body.data : "", at->body.len) == 0)
            return END_OK;
        return at->ans.state == RC_ANS_ERROR ? END_PROVIDER : END_BROKEN;
    }
    if (rc_sse_finish(&at->sse) != 0) {
        set_reason(at, "stream ended inside a UTF-8 character");
        return END_BROKEN;
    }
    set_reason(at, "stream ended after %zu bytes without its end marker", at->bytes);
    return END_TRANSPORT;
}

/* ---- retries ---- */

static uint64_t backoff_ms(int next_attempt)
{
    uint64_t base = (uint64_t)BACKOFF_BASE_MS << (next_attempt - 2);
    double jitter = 1.0 + 0.5 * ((double)rand() / (double)RAND_MAX);
    uint64_t ms = (uint64_t)((double)base * jitter);
    return ms > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : ms;
}

static int dialect_from(const char *s, rc_dialect_t *d)
{
    if (s && strcmp(s, "openai-chat") == 0)
        *d = RC_OPENAI_CHAT;
    else if (s && strcmp(s, "openai-responses") == 0)
        *d = RC_OPENAI_RESPONSES;
    else if (s && strcmp(s, "anthropic-messages") == 0)
        *d = RC_ANTHROPIC_MESSAGES;
    else if (s && strcmp(s, "gemini") == 0)
        *d = RC_GEMINI;
    else
        return -1;
    return 0;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

int main(void)
{
    config_t cfg;
    char url[2048], url_nostream[2048];
    if (dialect_from(getenv("FAULTLINE_DIALECT"), &cfg.dialect)) {
        fprintf(stderr, "robust: FAULTLINE_DIALECT must be openai-chat, openai-responses, "
                        "anthropic-messages or gemini\n");
        return 2;
    }
    const char *base = env_or("FAULTLINE_BASE_URL", NULL);
    if (!base) {
        fprintf(stderr, "robust: FAULTLINE_BASE_URL is not set\n");
        return 2;
    }
    cfg.model = env_or("FAULTLINE_MODEL", cfg.dialect == RC_ANTHROPIC_MESSAGES ? "claude-sonnet-4-5"
                                          : cfg.dialect == RC_GEMINI           ? "gemini-2.5-flash"
                                                                               : "gpt-4o-mini");
    if (cfg.dialect == RC_GEMINI) {
        /* The Gemini API takes the model in the path, and streams by method and alt=sse. */
        char *model = curl_easy_escape(NULL, cfg.model, 0);
        if (!model) {
            fprintf(stderr, "robust: out of memory\n");
            return 1;
        }
        snprintf(url, sizeof(url), "%s/v1beta/models/%s:streamGenerateContent?alt=sse", base,
                 model);
        snprintf(url_nostream, sizeof(url_nostream), "%s/v1beta/models/%s:generateContent", base,
                 model);
        curl_free(model);
        cfg.key = env_or("GEMINI_API_KEY", "none");
    } else {
        const char *path = cfg.dialect == RC_OPENAI_CHAT        ? "/v1/chat/completions"
                           : cfg.dialect == RC_OPENAI_RESPONSES ? "/v1/responses"
                                                                : "/v1/messages";
        snprintf(url, sizeof(url), "%s%s", base, path);
        snprintf(url_nostream, sizeof(url_nostream), "%s", url);
        cfg.key = cfg.dialect == RC_ANTHROPIC_MESSAGES ? env_or("ANTHROPIC_API_KEY", "none")
                                                       : env_or("OPENAI_API_KEY", "none");
    }
    cfg.url = url;
    cfg.url_nostream = url_nostream;
    cfg.prompt = env_or("FAULTLINE_PROMPT", "Say hello.");
    cfg.start_ms = now_ms();
    /* the harness says when it will kill the client: give up cleanly a little before */
    cfg.budget_ms = DEADLINE_MS;
    const char *hd = getenv("FAULTLINE_DEADLINE_MS");
    unsigned long long harness_ms = hd ? strtoull(hd, NULL, 10) : 0;
    if (harness_ms > 1000 && harness_ms - 500 < cfg.budget_ms)
        cfg.budget_ms = harness_ms - 500;
    cfg.deadline_ms = cfg.start_ms + cfg.budget_ms;
    srand((unsigned)(time(NULL) ^ (getpid() << 8)));

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "robust: curl_global_init failed\n");
        return 1;
    }
    CURLM *multi = curl_multi_init();
    if (!multi) {
        fprintf(stderr, "robust: curl_multi_init failed\n");
        curl_global_cleanup();
        return 1;
    }
    attempt_t at;
    memset(&at, 0, sizeof(at));
    at.cfg = &cfg;
    int status = 1;
    int stream = 1;
    int broken_streams = 0; /* streaming attempts that broke mid-stream or went idle */
    rc_buf_t out = {0};

    for (int n = 1; n <= MAX_ATTEMPTS; n++) {
        attempt_end_t end = run_attempt(&at, multi, stream);
        if (end == END_OK && rc_answer_format(&at.ans, &out) == 0) {
            fwrite(out.data, 1, out.len, stdout);
            fputc('\n', stdout);
            fflush(stdout);
            /* the structured result, when the harness asks for one (README, client contract) */
            const char *rp = getenv("FAULTLINE_RESULT_PATH");
            if (rp && *rp && rc_answer_write_result(&at.ans, rp) != 0)
                fprintf(stderr, "robust: cannot write the result to %s\n", rp);
            status = 0;
            break;
        }
        if (end == END_OK)
            end = END_BROKEN; /* rc_answer_format found unusable tool arguments */
        const char *why = at.ans.reason.data ? at.ans.reason.data : "unknown failure";
        int retryable = end == END_TRANSPORT || end == END_BROKEN || end == END_IDLE ||
                        end == END_HTTP || (end == END_PROVIDER && at.ans.retryable);
        if (end == END_DEADLINE) {
            fprintf(stderr, "attempt %d: %s; giving up\n", n, why);
            break;
        }
        if (!retryable) {
            fprintf(stderr, "attempt %d: %s; not retryable, giving up\n", n, why);
            break;
        }
        if (n == MAX_ATTEMPTS) {
            fprintf(stderr, "attempt %d: %s; giving up after %d attempts\n", n, why, n);
            break;
        }
        if (stream && (end == END_BROKEN || end == END_IDLE ||
                       (end == END_TRANSPORT && at.status == 200 && at.bytes > 0)))
            broken_streams++;
        uint64_t wait = backoff_ms(n + 1);
        long demanded = at.retry_after_ms_hdr >= 0 ? at.retry_after_ms_hdr : at.retry_after_ms;
        if (demanded > MAX_RETRY_AFTER_MS) {
            fprintf(stderr,
                    "attempt %d: %s; the server asks to wait %ld ms (over %d ms), giving up\n", n,
                    why, demanded, MAX_RETRY_AFTER_MS);
            break;
        }
        if (demanded >= 0 && (uint64_t)demanded > wait)
            wait = (uint64_t)demanded;
        if (now_ms() + wait >= cfg.deadline_ms) {
            fprintf(stderr,
                    "attempt %d: %s; waiting %llu ms would pass the %llu ms deadline, "
                    "giving up\n",
                    n, why, (unsigned long long)wait, (unsigned long long)cfg.budget_ms);
            break;
        }
        if (stream && broken_streams >= 2) {
            stream = 0;
            fprintf(stderr, "attempt %d: %s; retrying in %llu ms without streaming\n", n, why,
                    (unsigned long long)wait);
        } else {
            fprintf(stderr, "attempt %d: %s; retrying in %llu ms\n", n, why,
                    (unsigned long long)wait);
        }
        sleep_ms(wait);
    }

    rc_buf_free(&out);
    rc_sse_close(&at.sse);
    rc_answer_close(&at.ans);
    rc_buf_free(&at.body);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return status;
}

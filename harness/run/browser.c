/*
 * The harness-browser (browser.h): one transfer at a time on libcurl's multi interface, driven
 * by the runner's loop through proxy/curl_loop.h, the same glue as the proxy's upstream side.
 */
#include "run/browser.h"

#include "base/error.h"
#include "proxy/curl_loop.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct fl_browser_s {
    uv_loop_t *loop;
    fl_browser_cbs_t cbs;
    void *arg;
    fl_curl_loop_t curl; /* libcurl's multi interface on the loop */
    CURL *easy;          /* the transfer under way, or NULL */
    char *url, *body;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    bool head_seen;
    void (*done)(void *arg);
    void *done_arg;
};

static void end_transfer(fl_browser_t *b)
{
    if (!b->easy)
        return;
    curl_multi_remove_handle(b->curl.multi, b->easy); /* closes its connection (FORBID_REUSE) */
    curl_easy_cleanup(b->easy);
    b->easy = NULL;
    curl_slist_free_all(b->headers);
    b->headers = NULL;
}

/* A transfer finished (fl_curl_loop_done_cb). */
static void on_done(void *arg, CURL *easy, CURLcode rc)
{
    fl_browser_t *b = arg;
    if (easy != b->easy)
        return;
    bool connected = rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST;
    char why[CURL_ERROR_SIZE + 64];
    if (rc == CURLE_OK)
        why[0] = '\0';
    else
        snprintf(why, sizeof(why), "%s", b->errbuf[0] ? b->errbuf : curl_easy_strerror(rc));
    end_transfer(b);
    b->cbs.on_done(b->arg, connected, rc == CURLE_OK, why); /* may start the next request */
}

static size_t on_write(char *p, size_t size, size_t n, void *userp)
{
    fl_browser_t *b = userp;
    b->cbs.on_byte(b->arg);
    b->cbs.on_body(b->arg, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *userp)
{
    fl_browser_t *b = userp;
    b->cbs.on_byte(b->arg);
    /* The blank line ends a head; an interim 1xx head is followed by another. */
    if (size * n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && !b->head_seen) {
            b->head_seen = true;
            b->cbs.on_head(b->arg, (int)status);
        }
    }
    return size * n;
}

int fl_browser_new(uv_loop_t *loop, const fl_browser_cbs_t *cbs, void *arg, fl_browser_t **out)
{
    fl_browser_t *b = calloc(1, sizeof(*b));
    if (!b)
        return FL_ENOMEM;
    int rc = fl_curl_loop_init(&b->curl, loop, on_done, b);
    if (rc) {
        free(b);
        return rc;
    }
    b->loop = loop;
    b->cbs = *cbs;
    b->arg = arg;
    *out = b;
    return 0;
}

int fl_browser_post(fl_browser_t *b, const char *url, const char *body)
{
    if (b->easy)
        return FL_EINVAL;
    free(b->url);
    free(b->body);
    b->url = strdup(url);
    b->body = strdup(body);
    CURL *e = curl_easy_init();
    if (!b->url || !b->body || !e)
        goto fail;
    b->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!b->headers)
        goto fail;
    struct curl_slist *h2 = curl_slist_append(b->headers, "Accept: text/event-stream, */*");
    if (!h2)
        goto fail;
    b->headers = h2;
    b->errbuf[0] = '\0';
    b->head_seen = false;
    curl_easy_setopt(e, CURLOPT_URL, b->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, b->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* loopback: never through a user's proxy */
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    /* A browser lets the server decide the framing; HTTP/1.1, as a relay behind a proxy sees. */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    b->easy = e;
    if (fl_curl_loop_add(&b->curl, e)) {
        b->easy = NULL;
        goto fail;
    }
    return 0;
fail:
    curl_slist_free_all(b->headers);
    b->headers = NULL;
    if (e)
        curl_easy_cleanup(e);
    return FL_ENOMEM;
}

void fl_browser_abort(fl_browser_t *b)
{
    end_transfer(b);
}

/* The curl loop's last handle is closed (fl_curl_loop_close): the browser goes. */
static void on_closed(void *arg)
{
    fl_browser_t *b = arg;
    void (*done)(void *) = b->done;
    void *done_arg = b->done_arg;
    free(b);
    if (done)
        done(done_arg);
}

void fl_browser_free(fl_browser_t *b, void (*done)(void *arg), void *arg)
{
    b->done = done;
    b->done_arg = arg;
    end_transfer(b);
    free(b->url);
    free(b->body);
    b->url = b->body = NULL;
    fl_curl_loop_close(&b->curl, on_closed, b);
}

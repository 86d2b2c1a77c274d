/*
 * The end-to-end fixture (see e2e_server.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(SYS_gettid) */
#endif
#include "e2e_server.h"

#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"
#include "serve/server.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_async_t stop_async;
static fl_server_t *srv;
static fl_scenario_set_t set;
static pthread_t thread;
static int port;
static pid_t loop_tid; /* the server thread's id, once it runs */

static void on_stop(uv_async_t *a)
{
    fl_server_stop(srv, NULL, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
    (void)arg;
    __atomic_store_n(&loop_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

void es_start(const char *dir)
{
    es_start_opts(dir, NULL);
}

void es_start_opts(const char *dir, const fl_server_opts_t *opts)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_set_init(&set);
    int rc = fl_scenario_set_load(&set, dir, &diags);
    for (size_t i = 0; i < diags.len; i++)
        fprintf(stderr, "%s:%d:%d: %s: %s\n", diags.items[i].file, diags.items[i].line,
                diags.items[i].col, diags.items[i].field, diags.items[i].message);
    fl_diag_list_close(&diags);
    cr_assert_eq(rc, 0, "scenarios in %s do not load", dir);
    cr_assert_eq(uv_loop_init(&loop), 0);
    /* FL_TEST_SERVE_THREADS=N runs the same suites on a threaded server (server.h, "Threads") */
    fl_server_opts_t o = opts ? *opts : (fl_server_opts_t){0};
    const char *threads = getenv("FL_TEST_SERVE_THREADS");
    if (threads && *threads)
        o.threads = (unsigned)atoi(threads);
    cr_assert_eq(fl_server_new(&loop, &set, &o, &srv), 0);
    cr_assert_eq(fl_server_start(srv, "127.0.0.1", 0), 0);
    port = fl_server_port(srv);
    cr_assert_gt(port, 0);
    cr_assert_eq(uv_async_init(&loop, &stop_async, on_stop), 0);
    cr_assert_eq(pthread_create(&thread, NULL, run_loop, NULL), 0);
}

void es_stop(void)
{
    uv_async_send(&stop_async);
    pthread_join(thread, NULL);
    cr_assert_eq(uv_loop_close(&loop), 0);
    fl_scenario_set_close(&set);
}

int es_port(void)
{
    return port;
}

pid_t es_server_tid(void)
{
    for (int i = 0; i < 1000; i++) {
        pid_t t = __atomic_load_n(&loop_tid, __ATOMIC_ACQUIRE);
        if (t)
            return t;
        usleep(1000);
    }
    cr_assert_fail("the server thread never started");
    return 0;
}

/* A control request; returns the response body as JSON (new reference) or NULL. */
static json_t *control(const char *method, const char *path)
{
    size_t len;
    char *req = fl_raw_get(method, path, &len);
    fl_raw_result_t r;
    fl_raw_opts_t o = {.timeout_ms = 3000};
    cr_assert_eq(fl_raw_exchange(port, req, len, &o, &r), 0);
    free(req);
    cr_assert_eq(r.end, FL_RAW_EOF, "%s %s ended with %s", method, path, fl_raw_end_name(r.end));
    es_resp_t d;
    es_decode(&r, &d);
    cr_assert_gt(d.head_len, 0, "%s %s: no head in %s", method, path, r.all);
    cr_assert_eq(d.status, 200, "%s %s: %s", method, path, r.all);
    cr_assert_eq(d.dc_rc, 0, "%s %s: bad chunked framing (%s)", method, path,
                 d.dc.why ? d.dc.why : "");
    cr_assert(!d.chunked || d.dc.terminated, "%s %s: the chunked body is not terminated", method,
              path);
    json_t *j = json_loadb(d.dc.data, d.dc.len, 0, NULL);
    es_resp_free(&d);
    fl_raw_result_free(&r);
    return j;
}

void es_reset(void)
{
    json_t *j = control("POST", "/_faultline/reset");
    json_decref(j);
}

json_t *es_journal(void)
{
    json_t *j = control("GET", "/_faultline/journal");
    cr_assert_not_null(j, "the journal is not JSON");
    json_t *list = json_object_get(j, "requests");
    cr_assert(json_is_array(list));
    json_incref(list);
    json_decref(j);
    return list;
}

json_t *es_entry(const char *scenario, int attempt, int wait_ms)
{
    for (int waited = 0;; waited += 20) {
        json_t *list = es_journal();
        json_t *found = NULL;
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *e = json_array_get(list, i);
            if (strcmp(es_str(e, "scenario"), scenario) == 0 &&
                es_int(e, "attempt", 0) == attempt && strcmp(es_str(e, "end"), "in_progress") != 0)
                found = e;
        }
        if (found)
            json_incref(found);
        json_decref(list);
        if (found || waited >= wait_ms)
            return found;
        usleep(20 * 1000);
    }
}

void es_request(const char *scenario, const char *path, const fl_raw_opts_t *opts,
                fl_raw_result_t *out)
{
    char full[256];
    snprintf(full, sizeof(full), "/s/%s%s", scenario, path);
    size_t len;
    char *req = fl_raw_post(full, NULL, &len);
    cr_assert_eq(fl_raw_exchange(port, req, len, opts, out), 0, "cannot reach the server");
    free(req);
}

void es_decode(const fl_raw_result_t *r, es_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    fl_raw_dechunk_init(&out->dc);
    out->head_len = fl_raw_head_len(r->all, r->len);
    size_t copy = out->head_len < sizeof(out->head) - 1 ? out->head_len : sizeof(out->head) - 1;
    memcpy(out->head, r->all, copy);
    out->head[copy] = '\0';
    if (!out->head_len)
        return;
    out->status = fl_raw_status(r->all, out->head_len);
    char te[64];
    out->chunked = fl_raw_header(r->all, out->head_len, "transfer-encoding", te, sizeof(te)) &&
                   strcmp(te, "chunked") == 0;
    const char *body = r->all + out->head_len;
    size_t blen = r->len - out->head_len;
    if (out->chunked) {
        out->dc_rc = fl_raw_dechunk_feed(&out->dc, body, blen);
    } else {
        /* not chunked: keep the body as it came, through the decoder's buffer */
        out->dc.data = realloc(out->dc.data, blen + 1);
        cr_assert_not_null(out->dc.data);
        memcpy(out->dc.data, body, blen);
        out->dc.data[blen] = '\0';
        out->dc.len = blen;
        out->dc.cap = blen + 1;
    }
}

void es_resp_free(es_resp_t *r)
{
    fl_raw_dechunk_close(&r->dc);
}

static bool at(const char *s, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return i + n <= len && memcmp(s + i, lit, n) == 0;
}

char *es_normalise(const char *s, size_t len, size_t *out_len)
{
    char *o = malloc(len + 1);
    cr_assert_not_null(o);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (at(s, len, i, "\"id\":\"")) {
            memcpy(o + n, "\"id\":\"*\"", 8);
            n += 8;
            i += 6;
            while (i < len && s[i] != '"')
                i++;
            i++; /* the closing quote */
            continue;
        }
        const char *num = at(s, len, i, "\"created\":")      ? "\"created\":"
                          : at(s, len, i, "\"created_at\":") ? "\"created_at\":"
                                                             : NULL;
        if (num) {
            size_t k = strlen(num);
            memcpy(o + n, num, k);
            n += k;
            i += k;
            if (i < len && s[i] >= '0' && s[i] <= '9') {
                o[n++] = '0';
                while (i < len && s[i] >= '0' && s[i] <= '9')
                    i++;
            }
            continue;
        }
        o[n++] = s[i++];
    }
    o[n] = '\0';
    if (out_len)
        *out_len = n;
    return o;
}

void es_split(const char *body, size_t len, es_events_t *out)
{
    out->ev = NULL;
    out->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        bool end_of_event = i >= 2 && i <= len && body[i - 1] == '\n' && body[i - 2] == '\n';
        if ((end_of_event && i > start) || (i == len && i > start)) {
            out->ev = realloc(out->ev, (out->n + 1) * sizeof(*out->ev));
            cr_assert_not_null(out->ev);
            char *e = malloc(i - start + 1);
            cr_assert_not_null(e);
            memcpy(e, body + start, i - start);
            e[i - start] = '\0';
            out->ev[out->n++] = e;
            start = i;
        }
    }
}

void es_events_free(es_events_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->ev[i]);
    free(e->ev);
    e->ev = NULL;
    e->n = 0;
}

long long es_int(const json_t *o, const char *key, long long def)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

const char *es_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

size_t es_count(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (size_t i = 0; k && i + k <= len;) {
        if (memcmp(hay + i, needle, k) == 0) {
            n++;
            i += k;
        } else {
            i++;
        }
    }
    return n;
}

void es_run(const char *scenario, const char *path, int timeout_ms, int close_after_ms, es_ex_t *x)
{
    memset(x, 0, sizeof(*x));
    fl_raw_opts_t o = {.timeout_ms = timeout_ms, .close_after_ms = close_after_ms};
    es_request(scenario, path, &o, &x->r);
    es_decode(&x->r, &x->d);
    x->norm = es_normalise(x->d.dc.data, x->d.dc.len, &x->norm_len);
    es_split(x->norm, x->norm_len, &x->ev);
}

void es_ex_free(es_ex_t *x)
{
    es_events_free(&x->ev);
    free(x->norm);
    es_resp_free(&x->d);
    fl_raw_result_free(&x->r);
    memset(x, 0, sizeof(*x));
}

char *es_join(const es_events_t *e, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to && i < e->n; i++)
        n += strlen(e->ev[i]);
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    s[0] = '\0';
    size_t k = 0;
    for (size_t i = from; i < to && i < e->n; i++) {
        size_t l = strlen(e->ev[i]);
        memcpy(s + k, e->ev[i], l);
        k += l;
    }
    s[k] = '\0';
    return s;
}

void es_assert_fault(const json_t *entry, const char *fault, long long event, long long min_ms,
                     long long max_ms)
{
    cr_assert_not_null(entry, "no journal entry");
    json_t *faults = json_object_get(entry, "faults");
    cr_assert(json_is_array(faults), "faults is not an array");
    cr_assert_eq(json_array_size(faults), 1, "expected one fault, got %zu",
                 json_array_size(faults));
    json_t *f = json_array_get(faults, 0);
    cr_assert_str_eq(es_str(f, "fault"), fault);
    cr_assert_gt(strlen(es_str(f, "description")), 0, "empty description");
    json_t *ev = json_object_get(f, "event");
    if (event == 0)
        cr_assert(json_is_null(ev), "%s: event should be null", fault);
    else if (event < 0)
        cr_assert(json_is_null(ev) || es_int(f, "event", 0) == -event,
                  "%s: event should be %lld or null", fault, -event);
    else
        cr_assert_eq(es_int(f, "event", -1), event, "%s: event %lld, want %lld", fault,
                     es_int(f, "event", -1), event);
    cr_assert(json_is_integer(json_object_get(f, "byte")) ||
                  json_is_null(json_object_get(f, "byte")),
              "%s: byte missing", fault);
    long long ms = es_int(f, "ms", -1);
    cr_assert(ms >= min_ms && ms <= max_ms, "%s: fired at %lld ms, want [%lld, %lld]", fault, ms,
              min_ms, max_ms);
}

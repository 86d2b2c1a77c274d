/*
 * Fuzz target: the chaos compiler (chaos/chaos.h) over scenarios the loader accepts.
 *
 * The input is a scenario file; inputs the loader refuses end there (fuzz_scenario_load covers
 * them), so the seed corpus is catalog scenarios with faults, which mutate into other valid
 * ones. An accepted scenario is served the way the server serves it: for attempts 1.. past its
 * last `attempts:` entry (three past when seeded chaos draws afresh each time), as a stream in
 * its own framing, with include_usage both ways (openai-chat), over HTTP/1.0 (close framing),
 * and as a non-streaming body. For each: encode the stream (encode/dialect.h), build the
 * attempt's plan (chaos/plan.h), compile (fl_chaos_compile), and check the wire plan:
 *  - ops in time order, byte ranges inside the plan's bytes, fault and event indexes in range,
 *    a PING with a period, exactly one terminal op (DONE, FIN, RST, HANG or PING) and it is last;
 *  - the status it reports is the status line it writes (0 when it writes none);
 *  - with no faults: the writes are exactly the head and the framed clean body;
 *  - with only time and wire faults (delay_headers, a finite stall without pings, fragment,
 *    throttle), the client reads the head and the whole clean body, framed correctly however
 *    the writes are split; adding reset or close, a prefix of them;
 *  - a lone throttle: no 1000 ms window after it fires holds more than its rate.
 * In the scenario's own framing the loader has promised every fault applies, so compile must
 * succeed; on HTTP/1.0 and non-streaming bodies a fault may not apply (FL_EINVAL, issue 11).
 */
#include "fuzz.h"

#include "base/buf.h"
#include "base/error.h"
#include "chaos/chaos.h"
#include "chaos/httphead.h"
#include "chaos/plan.h"
#include "chaos/wire.h"
#include "encode/dialect.h"
#include "load/load.h"

#include <stdbool.h>
#include <string.h>

#define MAX_EXTRA_ATTEMPTS 3 /* attempts served past a seeded last `attempts:` entry */
#define ID                 "0000beef000000000001" /* route.c make_id: 8 + 12 hex digits */

/* One way of serving: framing and whether the body is streamed. */
typedef struct {
    fl_body_framing_t framing;
    bool stream;
    bool include_usage;
    bool native; /* the scenario's own streamed framing: the loader vouches for its faults */
    const char *what;
} way_t;

/* The WRITE bytes of a plan, joined (malloc'd; *len set). */
static char *written(const fl_wire_t *w, size_t *len)
{
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < w->n_ops; i++)
        if (w->ops[i].kind == FL_WIRE_WRITE)
            FZ_CHECK(fl_buf_append(&b, w->bytes.data + w->ops[i].off, w->ops[i].len) == 0, "oom");
    *len = b.len;
    return b.data;
}

static bool is_terminal(fl_wire_op_kind_t k)
{
    return k == FL_WIRE_DONE || k == FL_WIRE_FIN || k == FL_WIRE_RST || k == FL_WIRE_HANG ||
           k == FL_WIRE_PING;
}

static void check_shape(const fl_wire_t *w, size_t n_faults, size_t n_events, size_t body_len,
                        const char *what)
{
    FZ_CHECK(w->n_ops > 0, "%s: empty plan", what);
    FZ_CHECK(!w->shared && w->patches == NULL, "%s: a compiled plan is shared", what);
    size_t terminals = 0, write_bytes = 0;
    for (size_t i = 0; i < w->n_ops; i++) {
        const fl_wire_op_t *o = &w->ops[i];
        FZ_CHECK(o->kind >= FL_WIRE_WRITE && o->kind <= FL_WIRE_PING, "%s: op %zu kind %d", what, i,
                 (int)o->kind);
        if (i > 0)
            FZ_CHECK(o->at_ms >= w->ops[i - 1].at_ms, "%s: op %zu at %llu ms before op %zu at %llu",
                     what, i, (unsigned long long)o->at_ms, i - 1,
                     (unsigned long long)w->ops[i - 1].at_ms);
        if (o->kind == FL_WIRE_WRITE || o->kind == FL_WIRE_PING) {
            FZ_CHECK(o->off <= w->bytes.len && o->len <= w->bytes.len - o->off,
                     "%s: op %zu bytes [%zu, +%zu) outside the plan's %zu", what, i, o->off, o->len,
                     w->bytes.len);
            FZ_CHECK(o->len > 0, "%s: op %zu writes nothing", what, i);
        }
        if (o->kind == FL_WIRE_WRITE)
            write_bytes += o->len;
        if (o->kind == FL_WIRE_PING)
            FZ_CHECK(o->every_ms > 0, "%s: op %zu pings every 0 ms", what, i);
        FZ_CHECK(o->fault == FL_WIRE_NO_FAULT || o->fault < n_faults,
                 "%s: op %zu names fault %u of %zu", what, i, o->fault, n_faults);
        FZ_CHECK(o->kind != FL_WIRE_FIRE || o->fault != FL_WIRE_NO_FAULT,
                 "%s: op %zu fires no fault", what, i);
        FZ_CHECK(o->event == UINT32_MAX || o->event < n_events, "%s: op %zu names event %u of %zu",
                 what, i, o->event, n_events);
        FZ_CHECK(o->body_off <= body_len, "%s: op %zu at body offset %llu of %zu", what, i,
                 (unsigned long long)o->body_off, body_len);
        if (is_terminal(o->kind)) {
            terminals++;
            FZ_CHECK(i == w->n_ops - 1, "%s: terminal op %zu of %zu is not last", what, i,
                     w->n_ops);
        }
    }
    FZ_CHECK(terminals == 1, "%s: %zu terminal ops", what, terminals);
    FZ_CHECK(fl_wire_total_bytes(w) == write_bytes, "%s: total bytes %zu, writes %zu", what,
             fl_wire_total_bytes(w), write_bytes);
    FZ_CHECK(w->retry_after_ms >= -1, "%s: retry_after_ms %lld", what,
             (long long)w->retry_after_ms);

    /* The status it reports is the status line it sends. */
    size_t len;
    char *bytes = written(w, &len);
    int status = 0;
    if (len >= 12 && memcmp(bytes, "HTTP/1.1 ", 9) == 0)
        status = (bytes[9] - '0') * 100 + (bytes[10] - '0') * 10 + (bytes[11] - '0');
    FZ_CHECK(w->status == status, "%s: plan says status %d, sends %d", what, w->status, status);
    free(bytes);
}

/*
 * What a client reads from a plan's writes: *head_ok when the bytes start with (a prefix of) the
 * head, the body with the framing taken off in body, and whether the body ended properly (the
 * chunked terminator, or simply the end of the bytes for other framings). Bytes that break the
 * chunk framing stop the decoding (*framing_ok false).
 */
typedef struct {
    bool head_ok, framing_ok, terminated;
    fl_buf_t body;
} decoded_t;

static void decode(const fl_wire_t *w, const char *head, size_t head_len, fl_body_framing_t framing,
                   decoded_t *d)
{
    size_t len;
    char *bytes = written(w, &len);
    fl_buf_init(&d->body);
    size_t h = len < head_len ? len : head_len;
    d->head_ok = h == 0 || memcmp(bytes, head, h) == 0;
    d->framing_ok = true;
    d->terminated = false;
    if (len <= head_len) {
        free(bytes);
        return;
    }
    const char *p = bytes + head_len, *end = bytes + len;
    if (framing != FL_BODY_CHUNKED) {
        FZ_CHECK(fl_buf_append(&d->body, p, (size_t)(end - p)) == 0, "oom");
        d->terminated = true;
        free(bytes);
        return;
    }
    while (p < end) {
        char *nl;
        unsigned long n = strtoul(p, &nl, 16);
        if (nl == p || nl >= end - 1 || nl[0] != '\r' || nl[1] != '\n') {
            d->framing_ok = nl >= end - 1 && nl > p; /* a size line cut short is a prefix */
            break;
        }
        p = nl + 2;
        if (n == 0) {
            d->terminated = end - p == 2 && p[0] == '\r' && p[1] == '\n';
            d->framing_ok = end - p <= 2 && memcmp(p, "\r\n", (size_t)(end - p)) == 0;
            break;
        }
        size_t have = (size_t)(end - p) < n ? (size_t)(end - p) : n;
        FZ_CHECK(fl_buf_append(&d->body, p, have) == 0, "oom");
        p += have;
        if (have < n)
            break;
        size_t crlf = (size_t)(end - p) < 2 ? (size_t)(end - p) : 2;
        if (memcmp(p, "\r\n", crlf) != 0) {
            d->framing_ok = false;
            break;
        }
        p += crlf;
    }
    free(bytes);
}

/* A plan without faults writes the head and the clean body, framed, and ends in DONE. */
static void check_clean(const fl_wire_t *w, const char *head, size_t head_len, const fl_script_t *s,
                        fl_body_framing_t framing, const char *what)
{
    decoded_t d;
    decode(w, head, head_len, framing, &d);
    FZ_CHECK(d.head_ok && fl_wire_total_bytes(w) >= head_len, "%s: clean plan's head", what);
    FZ_CHECK(d.framing_ok && d.terminated, "%s: clean plan's framing", what);
    FZ_CHECK(d.body.len == s->bytes.len &&
                 (d.body.len == 0 || memcmp(d.body.data, s->bytes.data, d.body.len) == 0),
             "%s: clean plan's body (%zu bytes) is not the script's (%zu)", what, d.body.len,
             s->bytes.len);
    FZ_CHECK(w->ops[w->n_ops - 1].kind == FL_WIRE_DONE, "%s: clean plan does not end in DONE",
             what);
    fl_buf_close(&d.body);
}

/* 1: only faults that move or split bytes; 2: also cuts (a prefix); 0: anything else. */
static int byte_class(const fl_fault_t *f, size_t n)
{
    int cls = 1;
    for (size_t i = 0; i < n; i++) {
        switch (f[i].kind) {
        case FL_FAULT_DELAY_HEADERS:
        case FL_FAULT_FRAGMENT:
        case FL_FAULT_THROTTLE:
            break;
        case FL_FAULT_STALL:
            if (f[i].forever || f[i].keepalive_ms)
                return 0;
            break;
        case FL_FAULT_RESET:
        case FL_FAULT_CLOSE:
            cls = 2;
            break;
        default:
            return 0;
        }
    }
    return cls;
}

/* throttle's promise (chaos_frame.c): no 1000 ms window from its FIRE on holds more than its
 * rate in bytes. A window starting at each write, summed with a sliding end. */
static void check_throttle(const fl_wire_t *w, uint64_t rate, const char *what)
{
    size_t from = 0;
    while (from < w->n_ops && w->ops[from].kind != FL_WIRE_FIRE)
        from++;
    uint64_t sum = 0;
    size_t j = from;
    for (size_t i = from; i < w->n_ops; i++) {
        if (w->ops[i].kind != FL_WIRE_WRITE)
            continue;
        if (j < i)
            j = i, sum = 0;
        for (; j < w->n_ops && w->ops[j].at_ms < w->ops[i].at_ms + 1000; j++)
            if (w->ops[j].kind == FL_WIRE_WRITE)
                sum += w->ops[j].len;
        FZ_CHECK(sum <= rate, "%s: %llu bytes in the 1000 ms from op %zu, throttle %llu/s", what,
                 (unsigned long long)sum, i, (unsigned long long)rate);
        sum -= w->ops[i].len; /* the window moves past op i */
    }
}

static void serve_one(const fl_scenario_t *sc, uint64_t attempt, const way_t *way)
{
    char what[128];
    snprintf(what, sizeof(what), "attempt %llu, %s", (unsigned long long)attempt, way->what);
    fl_encode_ctx_t ctx = {.id = ID, .created = 1700000000, .include_usage = way->include_usage};
    fl_script_t script;
    fl_buf_t head, body;
    fl_script_init(&script);
    fl_buf_init(&head);
    fl_buf_init(&body);
    int rc;
    if (way->stream) {
        rc = fl_dialect_encode_stream(sc, &ctx, &script);
        FZ_CHECK(rc == 0, "%s: a loaded scenario does not encode: %s", what, fl_strerror(rc));
        fl_http_head_t h = fl_http_head_default(200);
        h.content_type = "text/event-stream";
        h.body = way->framing == FL_BODY_CHUNKED ? FL_HTTP_BODY_CHUNKED : FL_HTTP_BODY_CLOSE;
        h.request_id = "req_" ID;
        FZ_CHECK(fl_http_head_format(&head, &h) == 0, "head");
    } else {
        rc = fl_dialect_encode_body(sc, &ctx, &body);
        if (sc->response.events) {
            /* raw events have no non-streaming form: the server answers 400 */
            FZ_CHECK(rc == FL_EDIALECT, "%s: raw events encoded a body: %d", what, rc);
            goto done;
        }
        FZ_CHECK(rc == 0, "%s: a loaded scenario has no body: %s", what, fl_strerror(rc));
        FZ_CHECK(fl_script_push(&script, FL_EVENT_CONTENT, 0, body.data, body.len) == 0, "push");
        fl_http_head_t h = fl_http_head_default(200);
        h.content_type = "application/json";
        h.body = FL_HTTP_BODY_LENGTH;
        h.content_length = body.len;
        h.request_id = "req_" ID;
        FZ_CHECK(fl_http_head_format(&head, &h) == 0, "head");
    }

    fl_chaos_input_t in = {.script = &script,
                           .dialect = sc->dialect,
                           .framing = way->framing,
                           .head = head.data,
                           .head_len = head.len,
                           .request_id = "req_" ID,
                           .ctx = ctx};
    fl_wire_t clean;
    fl_wire_init(&clean);
    rc = fl_chaos_compile(&in, NULL, 0, &clean);
    FZ_CHECK(rc == 0, "%s: the clean response does not compile: %s", what, fl_strerror(rc));
    check_shape(&clean, 0, script.n_events, script.bytes.len, what);
    check_clean(&clean, head.data, head.len, &script, way->framing, what);

    fl_fault_t *faults = NULL;
    size_t n_faults = 0;
    rc = fl_plan_for_attempt(sc, attempt, script.n_events, &faults, &n_faults);
    FZ_CHECK(rc == 0, "%s: plan: %s", what, fl_strerror(rc));
    fl_wire_t w;
    fl_wire_init(&w);
    rc = fl_chaos_compile(&in, faults, n_faults, &w);
    if (way->native)
        FZ_CHECK(rc == 0, "%s: a fault the loader accepted cannot apply: %s", what,
                 fl_strerror(rc));
    else
        FZ_CHECK(rc == 0 || rc == FL_EINVAL, "%s: compile: %s", what, fl_strerror(rc));
    if (rc == 0) {
        check_shape(&w, n_faults, script.n_events, script.bytes.len, what);
        int cls = byte_class(faults, n_faults);
        if (cls) {
            /* time and wire faults move and split bytes, cuts stop them: what the client
               reads is the clean body (cls 1) or a prefix of it (cls 2) */
            decoded_t d;
            decode(&w, head.data, head.len, way->framing, &d);
            FZ_CHECK(d.head_ok && d.framing_ok, "%s: head or framing broken", what);
            FZ_CHECK(cls == 2 ? d.body.len <= script.bytes.len
                              : d.body.len == script.bytes.len && d.terminated,
                     "%s: a %zu-byte body (terminated %d) of the clean %zu", what, d.body.len,
                     d.terminated, script.bytes.len);
            FZ_CHECK(d.body.len == 0 || memcmp(d.body.data, script.bytes.data, d.body.len) == 0,
                     "%s: the body differs from the clean one", what);
            fl_buf_close(&d.body);
        }
        if (n_faults == 1 && faults[0].kind == FL_FAULT_THROTTLE)
            check_throttle(&w, faults[0].bytes, what);
    } else {
        FZ_CHECK(w.n_ops == 0 && w.bytes.len == 0, "%s: a failed compile left a plan", what);
    }
    fl_wire_close(&w);
    fl_plan_free(faults, n_faults);
    fl_wire_close(&clean);
done:
    fl_buf_close(&body);
    fl_buf_close(&head);
    fl_script_close(&script);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    if (fl_scenario_load_string("fuzz.yaml", (const char *)data, size, &sc, &diags) != 0) {
        fl_diag_list_close(&diags);
        return 0;
    }
    bool chunked = sc->response.framing == FL_FRAMING_CHUNKED;
    way_t ways[4];
    size_t n_ways = 0;
    ways[n_ways++] =
        (way_t){chunked ? FL_BODY_CHUNKED : FL_BODY_CLOSE, true, false, true, "stream"};
    /* include_usage adds a usage chunk to openai-chat streams only */
    if (sc->dialect == FL_DIALECT_OPENAI_CHAT)
        ways[n_ways++] = (way_t){chunked ? FL_BODY_CHUNKED : FL_BODY_CLOSE, true, true, true,
                                 "stream, include_usage"};
    if (chunked)
        ways[n_ways++] = (way_t){FL_BODY_CLOSE, true, false, false, "stream over HTTP/1.0"};
    ways[n_ways++] = (way_t){FL_BODY_LENGTH, false, false, false, "non-streaming"};
    /* One attempt past the last entry (it repeats); more when it draws seeded chaos afresh. */
    bool seeded = sc->n_attempts && sc->attempts[sc->n_attempts - 1].seeded;
    uint64_t last = sc->n_attempts + (seeded ? MAX_EXTRA_ATTEMPTS : 1);
    for (uint64_t a = 1; a <= last; a++)
        for (size_t i = 0; i < n_ways; i++)
            serve_one(sc, a, &ways[i]);
    fl_scenario_free(sc);
    fl_diag_list_close(&diags);
    return 0;
}

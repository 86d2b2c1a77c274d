/* The live fault applier (mock_server/proxy/live.h): the SSE splitter over upstream reads fed
 * whole and byte by byte, faults at live events, bytes, content events and the end, skips with
 * their reasons, and the event classifier. */
#include "base/buf.h"
#include "model/fault.h"
#include "proxy/live.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char head[] = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";

#define EV1 "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
#define EV2 "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
#define EV3 "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
#define EV4 "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define EV5 "data: [DONE]\n\n"
static const char body[] = EV1 EV2 EV3 EV4 EV5;

/* What the actions said, gathered. */
typedef struct seen_s {
    fl_buf_t client;   /* body bytes the client gets (not the head) */
    fl_buf_t upstream; /* upstream bytes: sent and withheld */
    fl_buf_t fault;    /* bytes a fault injected */
    size_t writes;     /* body WRITE actions the client gets */
    size_t fires, skips, waits;
    uint64_t wait_ms;
    size_t wait_at; /* client body bytes before the first WAIT */
    uint64_t fire_event;
    char reason[FL_WIRE_REASON_BYTES];
    bool ended;
    fl_live_end_t end;
} seen_t;

static void take(fl_live_t *lv, seen_t *s)
{
    size_t n;
    const fl_buf_t *b;
    const fl_live_act_t *a = fl_live_acts(lv, &n, &b);
    for (size_t i = 0; i < n; i++) {
        const char *p = b->data + a[i].off;
        switch (a[i].kind) {
        case FL_LIVE_WRITE:
            if (a[i].head)
                break;
            if (a[i].origin != FL_CAPTURE_ORIGIN_WITHHELD) {
                fl_buf_append(&s->client, p, a[i].len);
                s->writes++;
            }
            if (a[i].origin != FL_CAPTURE_ORIGIN_FAULT)
                fl_buf_append(&s->upstream, p, a[i].len);
            else
                fl_buf_append(&s->fault, p, a[i].len);
            break;
        case FL_LIVE_FIRE:
            if (!s->fires++)
                s->fire_event = a[i].event;
            break;
        case FL_LIVE_SKIP:
            s->skips++;
            snprintf(s->reason, sizeof(s->reason), "%s", a[i].reason);
            break;
        case FL_LIVE_WAIT:
            if (!s->waits++) {
                s->wait_ms = a[i].ms;
                s->wait_at = s->client.len;
            }
            break;
        case FL_LIVE_END:
            s->ended = true;
            s->end = a[i].end;
            break;
        }
    }
    fl_live_clear(lv);
}

/* An applier for an openai-chat stream, chunked, with the faults (borrowed). */
static fl_live_t *live_with(const fl_fault_t *faults, size_t n)
{
    fl_live_config_t cfg = {.faults = faults,
                            .n_faults = n,
                            .dialect = FL_DIALECT_OPENAI_CHAT,
                            .chunked = true,
                            .id = "00000000000000000001"};
    fl_live_t *lv;
    cr_assert_eq(fl_live_new(&cfg, &lv), 0);
    return lv;
}

/* Runs body through an applier with the faults, in reads of `step` bytes (0: whole). */
static void run(const fl_fault_t *faults, size_t n, const char *b, size_t len, size_t step,
                bool sse, seen_t *s)
{
    memset(s, 0, sizeof(*s));
    fl_live_t *lv = live_with(faults, n);
    cr_assert_eq(fl_live_head(lv, head, sizeof(head) - 1, sse, 0), 0);
    take(lv, s);
    size_t k = step ? step : len;
    for (size_t i = 0; i < len && !s->ended; i += k) {
        cr_assert_eq(fl_live_feed(lv, b + i, len - i < k ? len - i : k, 1), 0);
        take(lv, s);
    }
    if (!s->ended) {
        cr_assert_eq(fl_live_finish(lv, 2), 0);
        take(lv, s);
    }
    fl_live_free(lv);
}

static void seen_close(seen_t *s)
{
    fl_buf_close(&s->client);
    fl_buf_close(&s->upstream);
    fl_buf_close(&s->fault);
}

static void expect(const seen_t *s, const char *want)
{
    cr_assert_eq(s->client.len, strlen(want), "client got %zu bytes, want %zu:\n%s", s->client.len,
                 strlen(want), s->client.data ? s->client.data : "");
    cr_assert_eq(memcmp(s->client.data, want, s->client.len), 0, "client got:\n%s", s->client.data);
}

static fl_fault_t at_event(fl_fault_kind_t kind, uint64_t n)
{
    fl_fault_t f;
    fl_fault_init(&f, kind);
    f.at = (fl_at_t){FL_AT_EVENT, n};
    return f;
}

static const size_t steps[] = {0, 1, 3, 7, 64};

Test(live, clean_relays_each_read_as_one_write)
{
    seen_t s;
    run(NULL, 0, body, sizeof(body) - 1, 17, true, &s);
    expect(&s, body);
    cr_assert_eq(s.writes, (sizeof(body) - 1 + 16) / 17, "one write per read: %zu", s.writes);
    cr_assert(s.ended && s.end == FL_LIVE_DONE);
    seen_close(&s);
}

Test(live, reset_at_event_lands_before_it_in_any_fragmentation)
{
    fl_fault_t f = at_event(FL_FAULT_RESET, 3);
    for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
        seen_t s;
        run(&f, 1, body, sizeof(body) - 1, steps[i], true, &s);
        expect(&s, EV1 EV2);
        cr_assert(s.ended && s.end == FL_LIVE_RST, "step %zu", steps[i]);
        cr_assert_eq(s.fire_event, 3);
        seen_close(&s);
    }
}

Test(live, crlf_and_cr_events_are_counted_like_lf)
{
    static const char crlf[] = "data: a\r\n\r\ndata: b\r\n\r\ndata: c\r\n\r\n";
    static const char cr[] = "data: a\r\rdata: b\r\rdata: c\r\r";
    fl_fault_t f = at_event(FL_FAULT_CLOSE, 3);
    for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
        seen_t s;
        run(&f, 1, crlf, sizeof(crlf) - 1, steps[i], true, &s);
        expect(&s, "data: a\r\n\r\ndata: b\r\n\r\n");
        cr_assert_eq(s.end, FL_LIVE_FIN);
        seen_close(&s);
        run(&f, 1, cr, sizeof(cr) - 1, steps[i], true, &s);
        expect(&s, "data: a\r\rdata: b\r\r");
        seen_close(&s);
    }
}

Test(live, inject_and_duplicate_keep_the_upstream_bytes_apart)
{
    fl_fault_t f = at_event(FL_FAULT_INJECT, 2);
    f.inject = strdup(": hi\n\n");
    f.inject_len = 6;
    for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
        seen_t s;
        run(&f, 1, body, sizeof(body) - 1, steps[i], true, &s);
        expect(&s, EV1 ": hi\n\n" EV2 EV3 EV4 EV5);
        cr_assert_str_eq(s.upstream.data, body);
        cr_assert_str_eq(s.fault.data, ": hi\n\n");
        seen_close(&s);
    }
    fl_fault_close(&f);
    fl_fault_t d;
    fl_fault_init(&d, FL_FAULT_DUPLICATE);
    d.at = (fl_at_t){FL_AT_CONTENT, 2}; /* the second event with text: "lo" */
    seen_t s;
    run(&d, 1, body, sizeof(body) - 1, 5, true, &s);
    expect(&s, EV1 EV2 EV3 EV3 EV4 EV5);
    cr_assert_str_eq(s.fault.data, EV3);
    cr_assert_eq(s.fire_event, 3, "content 2 is live event 3");
    seen_close(&s);
}

Test(live, byte_position_cuts_exactly_there)
{
    fl_fault_t f;
    fl_fault_init(&f, FL_FAULT_CLOSE);
    f.at = (fl_at_t){FL_AT_BYTE, 30};
    for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
        seen_t s;
        run(&f, 1, body, sizeof(body) - 1, steps[i], true, &s);
        cr_assert_eq(s.client.len, 30);
        cr_assert_eq(memcmp(s.client.data, body, 30), 0);
        cr_assert_eq(s.end, FL_LIVE_FIN);
        seen_close(&s);
    }
}

Test(live, drop_sentinel_withholds_only_the_end_marker)
{
    fl_fault_t f;
    fl_fault_init(&f, FL_FAULT_DROP_SENTINEL);
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 9, true, &s);
    expect(&s, EV1 EV2 EV3 EV4);
    cr_assert_str_eq(s.upstream.data, body); /* [DONE] is there, withheld */
    cr_assert_eq(s.fires, 1);
    cr_assert_eq(s.end, FL_LIVE_DONE);
    seen_close(&s);
}

Test(live, corrupt_json_rewrites_the_event_through_the_chaos_compiler)
{
    fl_fault_t f = at_event(FL_FAULT_CORRUPT, 2);
    f.corrupt = FL_CORRUPT_JSON;
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 4, true, &s);
    cr_assert_eq(s.fire_event, 2, "fired at event %llu", (unsigned long long)s.fire_event);
    cr_assert_str_eq(s.upstream.data, body, "the original event is kept as withheld");
    cr_assert(s.fault.len > 0 && s.fault.len < strlen(EV2), "%s", s.fault.data);
    cr_assert_eq(strncmp(s.fault.data, EV2, s.fault.len - 2), 0, "a prefix of event 2");
    cr_assert(strstr(s.client.data, EV3 EV4 EV5) != NULL);
    seen_close(&s);
}

Test(live, stall_waits_after_the_events_before_it)
{
    fl_fault_t f = at_event(FL_FAULT_STALL, 3);
    f.ms = 250;
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 0, true, &s);
    expect(&s, body);
    cr_assert_eq(s.waits, 1);
    cr_assert_eq(s.wait_ms, 250);
    cr_assert_eq(s.wait_at, strlen(EV1 EV2));
    seen_close(&s);
}

Test(live, error_event_ends_the_body_in_the_dialect)
{
    fl_fault_t f = at_event(FL_FAULT_ERROR_EVENT, 3);
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 0, true, &s);
    cr_assert_eq(strncmp(s.client.data, EV1 EV2, strlen(EV1 EV2)), 0);
    cr_assert(strstr(s.fault.data, "\"error\"") != NULL, "%s", s.fault.data);
    cr_assert(strstr(s.client.data, "[DONE]") == NULL);
    cr_assert_eq(s.end, FL_LIVE_DONE);
    seen_close(&s);
}

Test(live, what_cannot_apply_is_skipped_with_the_reason)
{
    fl_fault_t f;
    fl_fault_init(&f, FL_FAULT_RESET); /* no `at`: the middle of an unknown length */
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 0, true, &s);
    expect(&s, body);
    cr_assert_eq(s.skips, 1);
    cr_assert(strstr(s.reason, "needs an `at`") != NULL, "%s", s.reason);
    seen_close(&s);
    static const char json[] = "{\"choices\":[]}";
    fl_fault_t g = at_event(FL_FAULT_RESET, 2);
    run(&g, 1, json, sizeof(json) - 1, 0, false, &s);
    expect(&s, json);
    cr_assert(strstr(s.reason, "text/event-stream") != NULL, "%s", s.reason);
    seen_close(&s);
}

Test(live, positions_past_the_stream_stand_at_its_end)
{
    fl_fault_t f = at_event(FL_FAULT_RESET, 40);
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 0, true, &s);
    expect(&s, body);
    cr_assert_eq(s.end, FL_LIVE_RST);
    seen_close(&s);
}

Test(live, proxy_timeout_before_the_head_is_a_page)
{
    fl_fault_t f;
    fl_fault_init(&f, FL_FAULT_PROXY_TIMEOUT);
    f.ms = 100;
    f.status = 524;
    fl_live_t *lv = live_with(&f, 1);
    cr_assert_eq(fl_live_next_due(lv), 100);
    cr_assert_eq(fl_live_tick(lv, 50), 0);
    size_t n;
    const fl_buf_t *b;
    fl_live_acts(lv, &n, &b);
    cr_assert_eq(n, 0);
    cr_assert_eq(fl_live_tick(lv, 100), 0);
    const fl_live_act_t *a = fl_live_acts(lv, &n, &b);
    bool page = false;
    for (size_t i = 0; i < n; i++)
        if (a[i].kind == FL_LIVE_WRITE && a[i].head)
            page = strncmp(b->data + a[i].off, "HTTP/1.1 524", 12) == 0;
    cr_assert(page);
    cr_assert(fl_live_over(lv));
    fl_live_free(lv);
}

Test(live, classify_knows_each_dialects_markers)
{
    fl_buf_t t;
    fl_buf_init(&t);
    cr_assert_eq(fl_live_classify(EV5, strlen(EV5), NULL), FL_EVENT_SENTINEL);
    cr_assert_eq(fl_live_classify(EV2, strlen(EV2), &t), FL_EVENT_CONTENT);
    cr_assert_eq(fl_live_classify(EV4, strlen(EV4), NULL), FL_EVENT_FINISH);
    static const char a[] = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                            "\"delta\":{\"type\":\"text_delta\",\"text\":\"lo!\"}}\n\n";
    cr_assert_eq(fl_live_classify(a, strlen(a), &t), FL_EVENT_CONTENT);
    static const char stop[] = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    cr_assert_eq(fl_live_classify(stop, strlen(stop), NULL), FL_EVENT_SENTINEL);
    static const char done[] =
        "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n";
    cr_assert_eq(fl_live_classify(done, strlen(done), NULL), FL_EVENT_SENTINEL);
    static const char g[] =
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"x\"}]},"
        " \"finishReason\": \"STOP\"}]}\r\n\r\n";
    cr_assert_eq(fl_live_classify(g, strlen(g), &t), FL_EVENT_SENTINEL);
    static const char ping[] = ": ping\n\n";
    cr_assert_eq(fl_live_classify(ping, strlen(ping), NULL), FL_EVENT_PING);
    cr_assert_str_eq(t.data, "Hello!x");
    fl_buf_close(&t);
}

Test(live, fragment_splits_the_event_at_its_position)
{
    fl_fault_t f = at_event(FL_FAULT_FRAGMENT, 2);
    f.bytes = 10;
    f.gap_ms = 7;
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 0, true, &s);
    expect(&s, body);
    /* event 1 in one write, event 2 in pieces of 10 bytes, 7 ms apart, then the rest */
    size_t pieces = (strlen(EV2) + 9) / 10;
    cr_assert_eq(s.waits, pieces - 1, "%zu waits for %zu pieces", s.waits, pieces);
    cr_assert_eq(s.wait_ms, 7);
    cr_assert_eq(s.wait_at, strlen(EV1) + 10);
    cr_assert_eq(s.writes, 1 + pieces + 1);
    seen_close(&s);
}

Test(live, throttle_paces_every_later_byte)
{
    fl_fault_t f = at_event(FL_FAULT_THROTTLE, 2);
    f.bytes = 1000; /* bytes per second: pieces of 10 bytes, 10 ms apart */
    seen_t s;
    run(&f, 1, body, sizeof(body) - 1, 0, true, &s);
    expect(&s, body);
    size_t paced = sizeof(body) - 1 - strlen(EV1);
    cr_assert_eq(s.wait_ms, 10);
    cr_assert_geq(s.waits, paced / 10 - 1);
    cr_assert_eq(s.wait_at, strlen(EV1) + 10);
    seen_close(&s);
}

Test(live, idle_timeout_cuts_a_silent_upstream)
{
    fl_fault_t f;
    fl_fault_init(&f, FL_FAULT_IDLE_TIMEOUT);
    f.ms = 300;
    fl_live_t *lv = live_with(&f, 1);
    cr_assert_eq(fl_live_head(lv, head, sizeof(head) - 1, true, 10), 0);
    cr_assert_eq(fl_live_feed(lv, EV1, strlen(EV1), 100), 0);
    fl_live_clear(lv);
    cr_assert_eq(fl_live_next_due(lv), 400, "300 ms after the last upstream bytes");
    cr_assert_eq(fl_live_tick(lv, 399), 0);
    cr_assert_not(fl_live_over(lv));
    cr_assert_eq(fl_live_tick(lv, 400), 0);
    cr_assert(fl_live_over(lv));
    size_t n;
    const fl_buf_t *b;
    const fl_live_act_t *a = fl_live_acts(lv, &n, &b);
    cr_assert(n >= 2 && a[n - 1].kind == FL_LIVE_END && a[n - 1].end == FL_LIVE_FIN);
    fl_live_free(lv);
}

Test(live, relayed_text_and_end_marker_in_any_fragmentation)
{
    for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
        fl_live_relayed_t r;
        fl_live_relayed_init(&r);
        size_t k = steps[i] ? steps[i] : sizeof(body) - 1;
        for (size_t off = 0; off < sizeof(body) - 1; off += k)
            cr_assert_eq(
                fl_live_relayed_feed(&r, body + off,
                                     sizeof(body) - 1 - off < k ? sizeof(body) - 1 - off : k),
                0);
        cr_assert_str_eq(r.text.data, "Hello");
        cr_assert(r.end_marker);
        fl_live_relayed_close(&r);
    }
    fl_live_relayed_t r;
    fl_live_relayed_init(&r);
    fl_live_relayed_feed(&r, EV1 EV2 EV3, strlen(EV1 EV2 EV3));
    cr_assert_not(r.end_marker, "no [DONE]: the stream is not whole");
    fl_live_relayed_close(&r);
}

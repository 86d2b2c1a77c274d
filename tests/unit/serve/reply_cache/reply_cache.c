/* Reply templates (reply_cache.h): a template stands in for a compile only when it is exact. */
#include "base/error.h"
#include "serve/reply_cache.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct fake_s {
    int calls;    /* compiles so far */
    bool counter; /* embed the call count: output varies beyond id and time */
    int fail;     /* return this instead of compiling */
} fake_t;

/* A two-write plan naming the id twice and the time once, with two clean events. */
static int fake_compile(void *arg, const char *id, int64_t created, fl_wire_t *plan,
                        fl_fault_record_t *ev)
{
    fake_t *f = arg;
    f->calls++;
    if (f->fail)
        return f->fail;
    char head[128], body[160];
    snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nx-request-id: req_%s\r\n\r\n", id);
    snprintf(body, sizeof(body), "data: {\"id\":\"chatcmpl-%s\",\"created\":%" PRId64 "}\n\n%s", id,
             created, f->counter ? (f->calls % 2 ? "data: 1\n\n" : "data: 2\n\n") : "");
    fl_wire_op_t op = {.kind = FL_WIRE_WRITE, .fault = FL_WIRE_NO_FAULT, .event = UINT32_MAX};
    cr_assert_eq(fl_wire_push(plan, &op, head, strlen(head)), 0);
    op.at_ms = 20;
    op.event = 0;
    cr_assert_eq(fl_wire_push(plan, &op, body, strlen(body)), 0);
    op.kind = FL_WIRE_DONE;
    cr_assert_eq(fl_wire_push(plan, &op, NULL, 0), 0);
    plan->status = 200;
    ev->n_events = 2;
    ev->event_ends = malloc(2 * sizeof(*ev->event_ends));
    ev->event_ends[0] = 10;
    ev->event_ends[1] = 20;
    ev->body_len = 20;
    return 0;
}

static const fl_reply_key_t KEY = {.scenario = 0, .entry = SIZE_MAX, .framing = 0};

/* What a fresh compile with this id and time gives. */
static void expect_same_as_compile(const fl_wire_t *got, const fl_fault_record_t *gev,
                                   const char *id, int64_t created)
{
    fake_t f = {0};
    fl_wire_t want;
    fl_fault_record_t wev = {0};
    fl_wire_init(&want);
    cr_assert_eq(fake_compile(&f, id, created, &want, &wev), 0);
    cr_assert_eq(got->bytes.len, want.bytes.len);
    char sent[512] = "";
    cr_assert_lt(want.bytes.len, sizeof(sent));
    fl_wire_read(got, 0, got->bytes.len, sent);
    cr_assert(memcmp(sent, want.bytes.data, want.bytes.len) == 0, "got %s", sent);
    /* Every split of the bytes reads the same, as writes may start or end inside an id. */
    for (size_t cut = 1; cut < want.bytes.len; cut++) {
        char part[512];
        fl_wire_read(got, 0, cut, part);
        fl_wire_read(got, cut, want.bytes.len - cut, part + cut);
        cr_assert(memcmp(part, want.bytes.data, want.bytes.len) == 0, "split at %zu", cut);
    }
    cr_assert_eq(got->n_ops, want.n_ops);
    for (size_t i = 0; i < want.n_ops; i++) {
        cr_assert_eq(got->ops[i].kind, want.ops[i].kind);
        cr_assert_eq(got->ops[i].at_ms, want.ops[i].at_ms);
        cr_assert_eq(got->ops[i].off, want.ops[i].off);
        cr_assert_eq(got->ops[i].len, want.ops[i].len);
        cr_assert_eq(got->ops[i].event, want.ops[i].event);
    }
    cr_assert_eq(got->status, 200);
    cr_assert_eq(gev->n_events, 2);
    cr_assert_eq(gev->event_ends[1], 20);
    fl_wire_close(&want);
    fl_fault_record_close(&wev);
}

Test(reply_cache, stamps_id_and_time_into_copies, .timeout = 5)
{
    fl_reply_cache_t c;
    fl_reply_cache_init(&c);
    fake_t f = {0};
    const char *ids[] = {"0123abcd000000000001", "0123abcd000000000002", "ffffffff00000000abcd"};
    for (int i = 0; i < 3; i++) {
        fl_wire_t plan;
        fl_fault_record_t ev = {0};
        fl_wire_init(&plan);
        int64_t created = INT64_C(1763700000) + i;
        cr_assert_eq(fl_reply_cache_get(&c, &KEY, fake_compile, &f, ids[i], created, &plan, &ev),
                     0);
        expect_same_as_compile(&plan, &ev, ids[i], created);
        fl_wire_close(&plan);
        fl_fault_record_close(&ev);
    }
    cr_assert_eq(f.calls, 2, "two sentinel compiles, then copies only (got %d)", f.calls);
    fl_reply_cache_close(&c);
}

Test(reply_cache, output_that_varies_otherwise_is_never_cached, .timeout = 5)
{
    fl_reply_cache_t c;
    fl_reply_cache_init(&c);
    fake_t f = {.counter = true};
    for (int i = 0; i < 3; i++) {
        fl_wire_t plan;
        fl_fault_record_t ev = {0};
        fl_wire_init(&plan);
        cr_assert_eq(fl_reply_cache_get(&c, &KEY, fake_compile, &f, "0123abcd000000000001",
                                        INT64_C(1763700000), &plan, &ev),
                     1);
        cr_assert_eq(plan.n_ops, 0);
        cr_assert_null(ev.event_ends);
    }
    cr_assert_eq(f.calls, 2, "the verdict is kept (got %d compiles)", f.calls);
    fl_reply_cache_close(&c);
}

Test(reply_cache, compile_errors_and_odd_ids_fall_back, .timeout = 5)
{
    fl_reply_cache_t c;
    fl_reply_cache_init(&c);
    fake_t f = {.fail = FL_EDIALECT};
    fl_wire_t plan;
    fl_fault_record_t ev = {0};
    fl_wire_init(&plan);
    cr_assert_eq(fl_reply_cache_get(&c, &KEY, fake_compile, &f, "0123abcd000000000001",
                                    INT64_C(1763700000), &plan, &ev),
                 1);
    fake_t ok = {0};
    fl_reply_key_t other = KEY;
    other.include_usage = true;
    cr_assert_eq(
        fl_reply_cache_get(&c, &other, fake_compile, &ok, "short", INT64_C(1763700000), &plan, &ev),
        1);
    cr_assert_eq(fl_reply_cache_get(&c, &other, fake_compile, &ok, "0123abcd000000000001",
                                    INT64_C(17637), &plan, &ev),
                 1);
    cr_assert_eq(ok.calls, 0, "nothing compiled for an id or time of another length");
    cr_assert_eq(plan.n_ops, 0);
    fl_reply_cache_close(&c);
}

Test(reply_cache, variants_get_their_own_templates, .timeout = 5)
{
    fl_reply_cache_t c;
    fl_reply_cache_init(&c);
    fake_t a = {0}, b = {0};
    fl_reply_key_t k2 = KEY;
    k2.entry = 1;
    for (int i = 0; i < 2; i++) {
        fl_wire_t plan;
        fl_fault_record_t ev = {0};
        fl_wire_init(&plan);
        cr_assert_eq(fl_reply_cache_get(&c, &KEY, fake_compile, &a, "0123abcd000000000001",
                                        INT64_C(1763700000), &plan, &ev),
                     0);
        fl_wire_close(&plan);
        fl_fault_record_close(&ev);
        cr_assert_eq(fl_reply_cache_get(&c, &k2, fake_compile, &b, "0123abcd000000000001",
                                        INT64_C(1763700000), &plan, &ev),
                     0);
        fl_wire_close(&plan);
        fl_fault_record_close(&ev);
    }
    cr_assert_eq(a.calls, 2);
    cr_assert_eq(b.calls, 2);
    fl_reply_cache_close(&c);
}

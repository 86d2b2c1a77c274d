/* One-event edits (drop, replace), fragment offsets on the bytes as sent under line_endings, and
 * rule 5 of fl_chaos_applies (a resumed stream's whole-event faults). */
#include "chaos/chaos.h"
#include "chaos_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fl_script_t script;
static fl_wire_t w;

static void setup(void)
{
    fl_script_init(&script);
    cx_script(&script);
    fl_wire_init(&w);
}

static void teardown(void)
{
    fl_wire_close(&w);
    fl_script_close(&script);
}

TestSuite(edit, .init = setup, .fini = teardown, .timeout = 10);

static fl_fault_t at_event(fl_fault_kind_t k, uint64_t n)
{
    fl_fault_t f = cx_fault(k);
    f.at.kind = FL_AT_EVENT;
    f.at.n = n;
    return f;
}

/* The body (the bytes after CX_HEAD, chunk framing included) of w. */
static char *body_of(void)
{
    char *all = cx_bytes(&w, NULL);
    char *b = strdup(all + strlen(CX_HEAD));
    free(all);
    cr_assert_not_null(b);
    return b;
}

static char *chunks(const char *const *evs, size_t n)
{
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        char *c = cx_chunk(evs[i]);
        fl_buf_append_str(&b, c);
        free(c);
    }
    fl_buf_append_str(&b, "0\r\n\r\n");
    return fl_buf_detach(&b, NULL);
}

Test(edit, drop_leaves_out_one_event)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_fault_t f = at_event(FL_FAULT_DROP, 2);
    cx_compile(&in, &f, 1, &w);
    char *got = body_of();
    const char *want_evs[] = {CX_E0, CX_E2 CX_E3 CX_E4};
    char *want = chunks(want_evs, 2);
    cr_assert_str_eq(got, want);
    /* the FIRE names the dropped event (0-based 1) at its time; the rest keep theirs */
    const fl_wire_op_t *fire = cx_fire(&w, 0);
    cr_assert_not_null(fire);
    cr_assert_eq(fire->event, 1);
    cr_assert_eq(fire->at_ms, 100);
    char *ops = cx_ops(&w);
    cr_assert_str_eq(ops, "W@0 W@0 F@100#0 W@150 W@150 D@150");
    free(ops);
    free(got);
    free(want);
}

Test(edit, replace_gives_the_event_new_data)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_fault_t f = at_event(FL_FAULT_REPLACE, 2);
    f.inject = strdup("{\"c\":\"Hi\"}");
    f.inject_len = strlen(f.inject);
    cx_compile(&in, &f, 1, &w);
    char *got = body_of();
    const char *want_evs[] = {CX_E0, "data: {\"c\":\"Hi\"}\n\n", CX_E2 CX_E3 CX_E4};
    char *want = chunks(want_evs, 3);
    cr_assert_str_eq(got, want);
    cr_assert_eq(cx_fire(&w, 0)->event, 1);
    free(got);
    free(want);
    fl_fault_close(&f);
}

/* replace keeps event:, id: and comment lines, puts one data line per line where the first data
 * line stood, and ends its lines as the event does. */
Test(edit, replace_keeps_the_other_lines)
{
    static const struct {
        const char *event, *data, *want;
    } cases[] = {
        {"event: x\nid: 7\ndata: a\ndata: b\n\n", "p\nq", "event: x\nid: 7\ndata: p\ndata: q\n\n"},
        {"data: a\r\nid: 3\r\n\r\n", "z", "data: z\r\nid: 3\r\n\r\n"},
        {": comment\n\n", "z", ": comment\ndata: z\n\n"},
        {"event: ping\ndata: {}\n\n", "", "event: ping\ndata: \n\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fl_script_t s;
        fl_script_init(&s);
        cr_assert_eq(fl_script_push(&s, FL_EVENT_RAW, 0, cases[i].event, strlen(cases[i].event)),
                     0);
        fl_chaos_input_t in = cx_input(&s, FL_BODY_CLOSE);
        fl_fault_t f = at_event(FL_FAULT_REPLACE, 1);
        f.inject = strdup(cases[i].data);
        f.inject_len = strlen(f.inject);
        fl_wire_close(&w);
        cx_compile(&in, &f, 1, &w);
        char *got = body_of();
        cr_assert_str_eq(got, cases[i].want, "case %zu", i);
        free(got);
        fl_fault_close(&f);
        fl_script_close(&s);
    }
}

/* Fragment offsets count the body as sent: with line_endings crlf, E0 goes out as 19 bytes
 * (two LFs became CRLFs), so offset 19 + 5 is 5 bytes into E1 as sent, "data:" | " {...". On
 * the clean body the same number would fall 7 bytes into E1. */
Test(edit, fragment_offsets_count_the_bytes_as_sent)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    uint64_t offs[1] = {strlen(CX_E0) + 2 + 5};
    fl_fault_t f[2] = {cx_fault(FL_FAULT_LINE_ENDINGS), cx_fault(FL_FAULT_FRAGMENT)};
    f[0].crlf = true;
    f[1].at.kind = FL_AT_HEADERS;
    f[1].offsets = offs;
    f[1].n_offsets = 1;
    cx_compile(&in, f, 2, &w);
    /* E1's write is split in two: its size line and "data:", then the rest */
    char *e1 = cx_chunk("data: {\"c\":\"Hello\"}\r\n\r\n");
    size_t prefix = (size_t)(strchr(e1, '\n') + 1 - e1);
    size_t found = 0;
    for (size_t i = 0; i < w.n_ops; i++) {
        const fl_wire_op_t *o = &w.ops[i];
        if (o->kind != FL_WIRE_WRITE || o->at_ms != 100)
            continue;
        if (found++ == 0) {
            cr_assert_eq(o->len, prefix + 5);
            cr_assert(memcmp(w.bytes.data + o->off + prefix, "data:", 5) == 0);
        } else {
            cr_assert(memcmp(w.bytes.data + o->off, " {\"c\"", 5) == 0);
        }
    }
    cr_assert_eq(found, 2);
    free(e1);
}

/* Rule 5: on a resumed stream a whole-event fault past its events is skipped, with a reason; on
 * the stream the validator checked, the same fault is not (it acts on the last event). */
Test(edit, resumed_stream_skips_a_whole_event_fault_past_its_events)
{
    fl_chaos_input_t in = cx_input(&script, FL_BODY_CHUNKED);
    fl_fault_t f = at_event(FL_FAULT_DROP, 6);
    char reason[256];
    cr_assert(fl_chaos_applies(&in, &f, reason, sizeof(reason)));
    in.resumed = true;
    cr_assert_not(fl_chaos_applies(&in, &f, reason, sizeof(reason)));
    cr_assert_str_eq(reason,
                     "drop needs an event; this stream has 5, and its position is past them");
    f.at.n = 5;
    cr_assert(fl_chaos_applies(&in, &f, reason, sizeof(reason)));
    /* corrupt utf8 at [DONE] has no JSON string to act on */
    fl_fault_t c = at_event(FL_FAULT_CORRUPT, 5);
    c.corrupt = FL_CORRUPT_UTF8;
    cr_assert_not(fl_chaos_applies(&in, &c, reason, sizeof(reason)));
    cr_assert_str_eq(reason, "event 5 of this stream has no JSON for corrupt utf8 to act on");
    /* a reset past the end acts at the end, resumed or not */
    fl_fault_t r = at_event(FL_FAULT_RESET, 9);
    cr_assert(fl_chaos_applies(&in, &r, reason, sizeof(reason)));
}

/* Event ids and resumed scripts (encode/script.h fl_script_event_id, fl_script_resume), and the
 * Responses dialect's background mode. */
#include "encode/dialect.h"
#include "encode/script.h"
#include "dialect_fixture.h"
#include "base/error.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void push(fl_script_t *s, uint64_t at, const char *bytes, bool piece)
{
    cr_assert_eq(fl_script_push(s, FL_EVENT_RAW, at, bytes, strlen(bytes)), 0);
    if (piece)
        fl_script_mark_piece(s);
}

Test(script_resume, ids_from_id_lines_and_sequence_numbers, .timeout = 10)
{
    fl_script_t s;
    fl_script_init(&s);
    push(&s, 0, "id: 1\ndata: a\n\n", false);
    push(&s, 0, "id:7\r\nid: 8\r\ndata: b\r\n\r\n", false); /* the last id line wins; CRLF */
    push(&s, 0, "data: {\"type\":\"x\",\"sequence_number\": 42}\n\n", false);
    push(&s, 0, "data: no id\n\n", false);
    push(&s, 0, "id\ndata: c\n\n", false); /* an id line with no colon: the empty id */
    char buf[16];
    cr_assert_eq(fl_script_event_id(&s, 0, buf, sizeof(buf)), 1);
    cr_assert_str_eq(buf, "1");
    cr_assert_eq(fl_script_event_id(&s, 1, buf, sizeof(buf)), 1);
    cr_assert_str_eq(buf, "8");
    cr_assert_eq(fl_script_event_id(&s, 2, buf, sizeof(buf)), 2);
    cr_assert_str_eq(buf, "42");
    cr_assert_eq(fl_script_event_id(&s, 3, buf, sizeof(buf)), -1);
    cr_assert_eq(fl_script_event_id(&s, 4, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(fl_script_event_id(&s, 5, buf, sizeof(buf)), -1); /* out of range */
    fl_script_close(&s);
}

Test(script_resume, resumes_after_the_named_event, .timeout = 10)
{
    fl_script_t s, out;
    fl_script_init(&s);
    fl_script_init(&out);
    push(&s, 0, "id: 1\ndata: a\n\n", false);
    push(&s, 100, "id: 2\ndata: b\n\n", true);
    push(&s, 130, "id: 3\ndata: c\n\n", true);
    push(&s, 170, "data: [DONE]\n\n", false);
    size_t skipped = 0;
    cr_assert_eq(fl_script_resume(&s, "2", 1, &out, &skipped), 0);
    cr_assert_eq(skipped, 2);
    cr_assert_eq(out.n_events, 2);
    cr_assert_eq(out.bytes.len, strlen("id: 3\ndata: c\n\ndata: [DONE]\n\n"));
    cr_assert(memcmp(out.bytes.data, "id: 3\ndata: c\n\ndata: [DONE]\n\n", out.bytes.len) == 0);
    /* times move earlier by the named event's, piece marks stay */
    cr_assert_eq(out.events[0].at_ms, 30);
    cr_assert_eq(out.events[1].at_ms, 70);
    cr_assert(out.events[0].piece);
    cr_assert_not(out.events[1].piece);
    cr_assert_eq(fl_script_pieces(&out), 1);
    /* after the last event: an empty stream */
    fl_script_t none;
    fl_script_init(&none);
    cr_assert_eq(fl_script_resume(&s, "3", 1, &none, &skipped), 0);
    cr_assert_eq(skipped, 3);
    cr_assert_eq(none.n_events, 1); /* [DONE] has no id and follows */
    fl_script_close(&none);
    /* an id no event carries, or a prefix of one */
    fl_script_t bad;
    fl_script_init(&bad);
    cr_assert_eq(fl_script_resume(&s, "9", 1, &bad, &skipped), FL_ENOTFOUND);
    cr_assert_eq(fl_script_resume(&s, "", 0, &bad, &skipped), FL_ENOTFOUND);
    cr_assert_eq(bad.n_events, 0);
    fl_script_close(&bad);
    fl_script_close(&out);
    fl_script_close(&s);
}

/* A Responses stream resumed after sequence_number N starts at N + 1. */
Test(script_resume, responses_starting_after, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, "one two three");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t s, out;
    fl_script_init(&s);
    fl_script_init(&out);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &s), 0);
    size_t skipped;
    cr_assert_eq(fl_script_resume(&s, "4", 1, &out, &skipped), 0);
    cr_assert_eq(skipped, 5);
    cr_assert_eq(out.n_events, s.n_events - 5);
    char buf[16];
    cr_assert_eq(fl_script_event_id(&out, 0, buf, sizeof(buf)), 1);
    cr_assert_str_eq(buf, "5");
    fl_script_close(&out);
    fl_script_close(&s);
    fx_scenario_free(sc);
}

static json_t *event_json(const fl_script_t *s, size_t i)
{
    char *name = NULL;
    char *data = fx_event_parse(s, i, &name);
    json_t *j = json_loads(data, 0, NULL);
    free(data);
    free(name);
    cr_assert_not_null(j);
    return j;
}

Test(script_resume, responses_background, .timeout = 10)
{
    fl_scenario_t *sc = fx_scenario_text(FL_DIALECT_OPENAI_RESPONSES, "one two");
    fl_encode_ctx_t ctx = fx_ctx();
    fl_script_t plain, bg;
    fl_script_init(&plain);
    fl_script_init(&bg);
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &plain), 0);
    ctx.background = true;
    cr_assert_eq(fl_dialect_encode_stream(sc, &ctx, &bg), 0);
    cr_assert_eq(bg.n_events, plain.n_events);
    json_t *created = event_json(&bg, 0), *last = event_json(&bg, bg.n_events - 1);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(created, "response"), "status")),
        "queued");
    cr_assert(json_is_true(json_object_get(json_object_get(created, "response"), "background")));
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(last, "response"), "status")),
        "completed");
    cr_assert(json_is_true(json_object_get(json_object_get(last, "response"), "background")));
    json_decref(created);
    json_decref(last);
    /* without background the objects do not mention it (the bytes the validator measured) */
    json_t *p0 = event_json(&plain, 0);
    cr_assert_null(json_object_get(json_object_get(p0, "response"), "background"));
    json_decref(p0);
    /* the POST without stream answers the queued response; a retrieval the finished one */
    fl_buf_t q, done;
    fl_buf_init(&q);
    fl_buf_init(&done);
    ctx.queued = true;
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &q), 0);
    ctx.queued = false;
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &done), 0);
    json_t *jq = json_loadb(q.data, q.len, 0, NULL), *jd = json_loadb(done.data, done.len, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(jq, "status")), "queued");
    cr_assert_eq(json_array_size(json_object_get(jq, "output")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(jd, "status")), "completed");
    cr_assert_eq(json_array_size(json_object_get(jd, "output")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(jq, "id")),
                     json_string_value(json_object_get(jd, "id")));
    json_decref(jq);
    json_decref(jd);
    fl_buf_close(&q);
    fl_buf_close(&done);
    fl_script_close(&plain);
    fl_script_close(&bg);
    fx_scenario_free(sc);
}

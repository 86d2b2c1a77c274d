/* The journal: JSON shape, redaction of credentials, and the bound on entries. */
#include "serve/http.h"
#include "serve/journal.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Builds a request through the real parser so the journal sees what the server sees. */
static fl_http_request_t *parse(const char *raw)
{
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, 4096, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, raw, strlen(raw)), 0);
    fl_http_request_t *r = fl_http_parser_next(p);
    cr_assert_not_null(r);
    fl_http_parser_free(p);
    return r;
}

static const char req_text[] = "POST /v1/messages HTTP/1.1\r\n"
                               "Host: 127.0.0.1\r\n"
                               "Authorization: Bearer sk-secret\r\n"
                               "X-Api-Key: sk-ant-secret\r\n"
                               "Accept: a\r\nAccept: b\r\n"
                               "Content-Length: 2\r\n\r\n{}";

Test(journal, json_shape_and_redaction)
{
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 1000), 0);
    fl_http_request_t *req = parse(req_text);
    fl_journal_entry_t *e = fl_journal_add(&j, req, 1250);
    cr_assert_not_null(e);
    cr_assert_eq(fl_journal_entry_set_scenario(e, "hello"), 0);
    e->attempt = 2;
    e->stream = true;
    e->status = 200;
    e->framing = "chunked";
    fl_journal_entry_progress(&j, e, 100, 3, 1300);
    fl_journal_entry_progress(&j, e, 50, 5, 1400);
    cr_assert_eq(fl_journal_entry_fault(e, "stall", "stall 500 ms at event 4", 4, 321, 140), 0);
    e->client_closed_ms = 150;
    e->events_sent = 4; /* conn.c adds up what the writes carried */
    e->end = FL_END_STALLED;

    json_t *doc = fl_journal_to_json(&j);
    cr_assert_not_null(doc);
    json_t *list = json_object_get(doc, "requests");
    cr_assert(json_is_array(list));
    cr_assert_eq(json_array_size(list), 1);
    json_t *o = json_array_get(list, 0);
    cr_assert_eq(json_integer_value(json_object_get(o, "t_ms")), 250);
    const char *time = json_string_value(json_object_get(o, "time"));
    cr_assert_not_null(time);
    cr_assert_eq(strlen(time), 24, "%s", time); /* 2026-11-21T07:52:16.123Z */
    cr_assert_eq(time[10], 'T');
    cr_assert_eq(time[23], 'Z');
    cr_assert_str_eq(json_string_value(json_object_get(o, "method")), "POST");
    cr_assert_str_eq(json_string_value(json_object_get(o, "path")), "/v1/messages");
    cr_assert_str_eq(json_string_value(json_object_get(o, "scenario")), "hello");
    cr_assert_eq(json_integer_value(json_object_get(o, "attempt")), 2);
    cr_assert(json_is_true(json_object_get(o, "stream")));
    cr_assert_eq(json_integer_value(json_object_get(o, "status")), 200);
    cr_assert_str_eq(json_string_value(json_object_get(o, "framing")), "chunked");
    cr_assert_eq(json_integer_value(json_object_get(o, "bytes")), 150);
    cr_assert_eq(json_integer_value(json_object_get(o, "events")), 5);
    cr_assert_eq(json_integer_value(json_object_get(o, "events_sent")), 4);
    cr_assert_eq(json_integer_value(json_object_get(o, "first_byte_ms")), 300);
    cr_assert_eq(json_integer_value(json_object_get(o, "last_byte_ms")), 400);
    cr_assert_str_eq(json_string_value(json_object_get(o, "end")), "stalled");
    cr_assert_eq(json_integer_value(json_object_get(o, "client_closed_ms")), 150);
    json_t *faults = json_object_get(o, "faults");
    cr_assert(json_is_array(faults));
    cr_assert_eq(json_array_size(faults), 1);
    json_t *f = json_array_get(faults, 0);
    cr_assert_str_eq(json_string_value(json_object_get(f, "fault")), "stall");
    cr_assert_str_eq(json_string_value(json_object_get(f, "description")),
                     "stall 500 ms at event 4");
    cr_assert_eq(json_integer_value(json_object_get(f, "event")), 4);
    cr_assert_eq(json_integer_value(json_object_get(f, "byte")), 321);
    cr_assert_eq(json_integer_value(json_object_get(f, "ms")), 140);

    json_t *h = json_object_get(o, "headers");
    cr_assert_str_eq(json_string_value(json_object_get(h, "authorization")), "[redacted]");
    cr_assert_str_eq(json_string_value(json_object_get(h, "x-api-key")), "[redacted]");
    cr_assert_str_eq(json_string_value(json_object_get(h, "host")), "127.0.0.1");
    cr_assert_str_eq(json_string_value(json_object_get(h, "accept")), "a, b");
    char *dump = json_dumps(doc, JSON_COMPACT);
    cr_assert_null(strstr(dump, "secret"), "credential leaked: %s", dump);
    free(dump);
    json_decref(doc);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

Test(journal, unset_fields_are_null)
{
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    fl_http_request_t *req = parse("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_not_null(fl_journal_add(&j, req, 5));
    json_t *doc = fl_journal_to_json(&j);
    json_t *o = json_array_get(json_object_get(doc, "requests"), 0);
    cr_assert(json_is_null(json_object_get(o, "scenario")));
    cr_assert(json_is_null(json_object_get(o, "attempt")));
    cr_assert(json_is_null(json_object_get(o, "first_byte_ms")));
    cr_assert(json_is_false(json_object_get(o, "stream")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "end")), "in_progress");
    json_decref(doc);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

Test(journal, bounded_keeps_the_newest_in_order)
{
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 3, 0), 0);
    fl_http_request_t *req = parse("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    uint64_t seqs[5];
    for (int i = 0; i < 5; i++) {
        fl_journal_entry_t *e = fl_journal_add(&j, req, (uint64_t)i * 10);
        cr_assert_not_null(e);
        seqs[i] = e->seq;
    }
    cr_assert_eq(j.count, 3);
    cr_assert_null(fl_journal_find(&j, seqs[0]));
    cr_assert_null(fl_journal_find(&j, seqs[1]));
    cr_assert_not_null(fl_journal_find(&j, seqs[2]));
    cr_assert_eq(fl_journal_find(&j, seqs[4])->t_ms, 40);
    json_t *doc = fl_journal_to_json(&j);
    json_t *list = json_object_get(doc, "requests");
    cr_assert_eq(json_array_size(list), 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(list, i), "t_ms")),
                     (json_int_t)(20 + 10 * i));
    json_decref(doc);

    fl_journal_reset(&j);
    cr_assert_eq(j.count, 0);
    cr_assert_null(fl_journal_find(&j, seqs[4]));
    fl_journal_entry_t *e = fl_journal_add(&j, req, 60);
    cr_assert_gt(e->seq, seqs[4]); /* old seqs never alias new entries */
    doc = fl_journal_to_json(&j);
    cr_assert_eq(json_array_size(json_object_get(doc, "requests")), 1);
    json_decref(doc);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

/* The journal's resume evidence: response_id, background, resume_after (bounded, counted in the
 * journal's bytes) and resume_skipped. */
#include "serve/http.h"
#include "serve/journal.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

static json_t *entry_json(fl_journal_t *j, size_t i)
{
    json_t *doc = fl_journal_to_json(j);
    cr_assert_not_null(doc);
    json_t *o = json_incref(json_array_get(json_object_get(doc, "requests"), i));
    json_decref(doc);
    cr_assert_not_null(o);
    return o;
}

Test(journal_resume, fields, .timeout = 10)
{
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    fl_http_request_t *req = parse("GET /v1/responses/resp_x HTTP/1.1\r\nHost: h\r\n\r\n");
    fl_journal_entry_t *plain = fl_journal_add(&j, req, 0);
    cr_assert_not_null(plain);
    fl_journal_entry_t *e = fl_journal_add(&j, req, 0);
    cr_assert_not_null(e);
    snprintf(e->response_id, sizeof(e->response_id), "%s", "0123456789abcdef0123");
    e->background = true;
    size_t before = j.bytes;
    cr_assert_eq(fl_journal_entry_set_resume(e, "17", 2), 0);
    cr_assert_eq(j.bytes, before + 2, "the id is counted against the journal's bound");
    e->resume_skipped = 18;

    json_t *o = entry_json(&j, 0);
    cr_assert(json_is_null(json_object_get(o, "response_id")));
    cr_assert(json_is_false(json_object_get(o, "background")));
    cr_assert(json_is_null(json_object_get(o, "resume_after")));
    cr_assert(json_is_null(json_object_get(o, "resume_skipped")));
    json_decref(o);
    o = entry_json(&j, 1);
    cr_assert_str_eq(json_string_value(json_object_get(o, "response_id")), "0123456789abcdef0123");
    cr_assert(json_is_true(json_object_get(o, "background")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "resume_after")), "17");
    cr_assert_eq(json_integer_value(json_object_get(o, "resume_skipped")), 18);
    json_decref(o);

    /* a hostile Last-Event-ID is kept to 128 bytes, and JSON-escaped */
    char big[400];
    memset(big, '"', sizeof(big));
    cr_assert_eq(fl_journal_entry_set_resume(e, big, sizeof(big)), 0);
    cr_assert_eq(strlen(e->resume_after), 128);
    cr_assert_eq(j.bytes, before + 128);
    o = entry_json(&j, 1);
    cr_assert_eq(strlen(json_string_value(json_object_get(o, "resume_after"))), 128);
    json_decref(o);
    fl_http_request_free(req);
    fl_journal_close(&j);
}

/* The journal's "skipped" field: the faults a response's plan left out, with their reasons. */
#include "serve/http.h"
#include "serve/journal.h"

#include <criterion/criterion.h>
#include <string.h>

static fl_http_request_t *req;
static fl_journal_t j;

static void setup(void)
{
    static const char raw[] =
        "POST /v1/messages HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, 4096, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, raw, strlen(raw)), 0);
    req = fl_http_parser_next(p);
    cr_assert_not_null(req);
    fl_http_parser_free(p);
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
}

static void teardown(void)
{
    fl_http_request_free(req);
    fl_journal_close(&j);
}

TestSuite(journal_skipped, .init = setup, .fini = teardown, .timeout = 10);

/* Entry i of the journal's JSON (borrowed from *doc, which the caller frees). */
static json_t *entry(json_t **doc, size_t i)
{
    *doc = fl_journal_to_json(&j);
    cr_assert_not_null(*doc);
    return json_array_get(json_object_get(*doc, "requests"), i);
}

Test(journal_skipped, empty_array_when_none)
{
    cr_assert_not_null(fl_journal_add(&j, req, 1));
    json_t *doc;
    json_t *o = entry(&doc, 0);
    json_t *s = json_object_get(o, "skipped");
    cr_assert(json_is_array(s), "skipped is always there");
    cr_assert_eq(json_array_size(s), 0);
    /* the fields before it are unchanged */
    cr_assert(json_is_array(json_object_get(o, "faults")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "end")), "in_progress");
    json_decref(doc);
}

Test(journal_skipped, lists_each_skipped_fault_in_order)
{
    fl_journal_entry_t *e = fl_journal_add(&j, req, 1);
    cr_assert_not_null(e);
    cr_assert_eq(fl_journal_entry_skipped(e, "corrupt", "corrupt chunk_size at event 6",
                                          "chunk_size needs chunked framing; this response is "
                                          "close-delimited (HTTP/1.0)"),
                 0);
    cr_assert_eq(fl_journal_entry_skipped(e, "inject", "inject 3 bytes at byte 0", "why"), 0);
    cr_assert_eq(fl_journal_entry_fault(e, "reset", "reset at byte 5", 1, 5, 0), 0);
    /* another entry keeps its own list */
    cr_assert_not_null(fl_journal_add(&j, req, 2));
    json_t *doc;
    json_t *o = entry(&doc, 0);
    json_t *s = json_object_get(o, "skipped");
    cr_assert_eq(json_array_size(s), 2);
    json_t *k = json_array_get(s, 0);
    cr_assert_eq(json_object_size(k), 3);
    cr_assert_str_eq(json_string_value(json_object_get(k, "fault")), "corrupt");
    cr_assert_str_eq(json_string_value(json_object_get(k, "description")),
                     "corrupt chunk_size at event 6");
    cr_assert_str_eq(json_string_value(json_object_get(k, "reason")),
                     "chunk_size needs chunked framing; this response is close-delimited "
                     "(HTTP/1.0)");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 1), "fault")), "inject");
    /* a skipped fault is not a fired one, and the other way round */
    cr_assert_eq(json_array_size(json_object_get(o, "faults")), 1);
    cr_assert_eq(json_array_size(json_object_get(
                     json_array_get(json_object_get(doc, "requests"), 1), "skipped")),
                 0);
    json_decref(doc);
}

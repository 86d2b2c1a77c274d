/*
 * Sessions and runtime scenarios (serve/session.h): ids unique and bounded in number, names
 * resolving session first, then global, then files; the first scenario of a dialect in the same
 * order; attempt counters per scope, restarted when a scenario is (re)added and by reset;
 * removing and ending free what they held (ASan's leak check sees the rest). And the journal's
 * filters by session and scenario that the control API pages with.
 */
#include "base/error.h"
#include "serve/http.h"
#include "serve/journal.h"
#include "serve/session.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fl_scenario_t *scenario(const char *name, fl_dialect_t d)
{
    fl_scenario_t *sc = calloc(1, sizeof(*sc));
    cr_assert_not_null(sc);
    sc->name = strdup(name);
    sc->dialect = d;
    return sc;
}

Test(session, ids_are_unique_and_sessions_bounded)
{
    fl_scenario_set_t files;
    fl_scenario_set_init(&files);
    fl_sessions_t s;
    fl_sessions_init(&s, &files, 0xabcdef01u);
    fl_session_t *a, *b;
    cr_assert_eq(fl_sessions_create(&s, 5, &a), 0);
    cr_assert_eq(fl_sessions_create(&s, 6, &b), 0);
    cr_assert_eq(strlen(a->id), FL_SESSION_ID_LEN);
    cr_assert_str_neq(a->id, b->id);
    cr_assert_eq(a->created_ms, 5);
    cr_assert_eq(fl_sessions_get(&s, a->id), a);
    char gone[FL_SESSION_ID_LEN + 1];
    strcpy(gone, a->id);
    cr_assert_eq(fl_sessions_delete(&s, gone), 0);
    cr_assert_null(fl_sessions_get(&s, gone));
    cr_assert_eq(fl_sessions_get(&s, b->id), b);
    cr_assert_eq(fl_sessions_delete(&s, "0000000000000000"), FL_ENOTFOUND);
    for (size_t i = 1; i < FL_SESSIONS_MAX; i++) {
        fl_session_t *x;
        cr_assert_eq(fl_sessions_create(&s, 0, &x), 0);
    }
    fl_session_t *over;
    cr_assert_eq(fl_sessions_create(&s, 0, &over), FL_ELIMIT);
    fl_sessions_close(&s);
}

Test(session, names_resolve_session_then_global_then_files)
{
    fl_scenario_set_t files;
    fl_scenario_set_init(&files);
    files.items = calloc(2, sizeof(*files.items));
    files.items[0] = scenario("shared", FL_DIALECT_OPENAI_CHAT);
    files.items[1] = scenario("file-only", FL_DIALECT_GEMINI);
    files.len = files.cap = 2;
    fl_sessions_t s;
    fl_sessions_init(&s, &files, 1);
    fl_session_t *one, *two;
    cr_assert_eq(fl_sessions_create(&s, 0, &one), 0);
    cr_assert_eq(fl_sessions_create(&s, 0, &two), 0);
    fl_source_t src;

    cr_assert_eq(fl_sessions_find(&s, one, "shared", &src), files.items[0]);
    cr_assert_eq(src, FL_SOURCE_FILE);
    fl_scenario_t *g = scenario("shared", FL_DIALECT_OPENAI_CHAT);
    cr_assert_eq(fl_sessions_add_scenario(&s, NULL, g, NULL), 0);
    fl_scenario_t *mine = scenario("shared", FL_DIALECT_OPENAI_CHAT);
    cr_assert_eq(fl_sessions_add_scenario(&s, one, mine, NULL), 0);
    cr_assert_eq(fl_sessions_find(&s, one, "shared", &src), mine);
    cr_assert_eq(src, FL_SOURCE_SESSION);
    cr_assert_eq(fl_sessions_find(&s, two, "shared", &src), g);
    cr_assert_eq(src, FL_SOURCE_GLOBAL);
    cr_assert_eq(fl_sessions_find(&s, NULL, "shared", NULL), g);
    cr_assert_eq(fl_sessions_find(&s, two, "file-only", &src), files.items[1]);
    cr_assert_null(fl_sessions_find(&s, two, "missing", NULL));

    /* the first of a dialect, in the same order */
    cr_assert_eq(fl_sessions_first(&s, one, FL_DIALECT_OPENAI_CHAT, NULL), mine);
    cr_assert_eq(fl_sessions_first(&s, two, FL_DIALECT_OPENAI_CHAT, NULL), g);
    cr_assert_eq(fl_sessions_first(&s, two, FL_DIALECT_GEMINI, &src), files.items[1]);
    cr_assert_null(fl_sessions_first(&s, two, FL_DIALECT_ANTHROPIC_MESSAGES, NULL));

    /* removing: runtime scenarios of that scope only */
    cr_assert_eq(fl_sessions_remove_scenario(&s, two, "shared"), FL_ENOTFOUND);
    cr_assert_eq(fl_sessions_remove_scenario(&s, one, "shared"), 0);
    cr_assert_eq(fl_sessions_find(&s, one, "shared", NULL), g);
    cr_assert_eq(fl_sessions_remove_scenario(&s, NULL, "file-only"), FL_ENOTFOUND);
    fl_sessions_close(&s);
    fl_scenario_set_close(&files);
}

Test(session, counters_are_per_scope_and_restart)
{
    fl_scenario_set_t files;
    fl_scenario_set_init(&files);
    fl_sessions_t s;
    fl_sessions_init(&s, &files, 1);
    fl_session_t *one, *two;
    cr_assert_eq(fl_sessions_create(&s, 0, &one), 0);
    cr_assert_eq(fl_sessions_create(&s, 0, &two), 0);
    uint64_t n = 0;
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(fl_sessions_next_attempt(&s, one, "x", &n), 0);
        cr_assert_eq(n, (uint64_t)i);
    }
    cr_assert_eq(fl_sessions_next_attempt(&s, two, "x", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(fl_sessions_next_attempt(&s, NULL, "x", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(fl_sessions_next_attempt(&s, one, "y", &n), 0);
    cr_assert_eq(n, 1);

    /* (re)adding x in session one restarts its counter there, and only there */
    bool replaced = true;
    cr_assert_eq(fl_sessions_add_scenario(&s, one, scenario("x", FL_DIALECT_GEMINI), &replaced), 0);
    cr_assert(!replaced);
    cr_assert_eq(fl_sessions_next_attempt(&s, one, "x", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(fl_sessions_add_scenario(&s, one, scenario("x", FL_DIALECT_GEMINI), &replaced), 0);
    cr_assert(replaced);
    cr_assert_eq(s.list->next->scope.scenarios.len, 1); /* one's set: replaced, not added */
    cr_assert_eq(fl_sessions_next_attempt(&s, one, "x", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(fl_sessions_next_attempt(&s, two, "x", &n), 0);
    cr_assert_eq(n, 2);

    fl_sessions_reset(&s);
    cr_assert_eq(fl_sessions_next_attempt(&s, two, "x", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(fl_sessions_next_attempt(&s, one, "y", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(fl_sessions_delete(&s, one->id), 0); /* frees its scenario and counters */
    fl_sessions_close(&s);
}

Test(session, scope_scenarios_are_bounded)
{
    fl_scenario_set_t files;
    fl_scenario_set_init(&files);
    fl_sessions_t s;
    fl_sessions_init(&s, &files, 1);
    char name[32];
    for (int i = 0; i < FL_SCOPE_SCENARIOS_MAX; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        cr_assert_eq(fl_sessions_add_scenario(&s, NULL, scenario(name, FL_DIALECT_GEMINI), NULL),
                     0);
    }
    cr_assert_eq(fl_sessions_add_scenario(&s, NULL, scenario("one-more", FL_DIALECT_GEMINI), NULL),
                 FL_ELIMIT);
    /* replacing is not adding */
    cr_assert_eq(fl_sessions_add_scenario(&s, NULL, scenario("s7", FL_DIALECT_GEMINI), NULL), 0);
    fl_sessions_close(&s);
}

/* One journal entry for a request in session (NULL: none) answered by scenario. */
static void add(fl_journal_t *j, const char *session, const char *scenario)
{
    static const char raw[] =
        "POST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
    fl_http_parser_t *p;
    cr_assert_eq(fl_http_parser_new(1024, 1 << 16, &p), 0);
    cr_assert_eq(fl_http_parser_feed(p, raw, sizeof(raw) - 1), 0);
    fl_http_request_t *req = fl_http_parser_next(p);
    fl_journal_entry_t *e = fl_journal_add(j, req, 0);
    cr_assert_not_null(e);
    if (session)
        fl_journal_entry_set_session(e, session);
    cr_assert_eq(fl_journal_entry_set_scenario(e, scenario), 0);
    fl_http_request_free(req);
    fl_http_parser_free(p);
}

/* The seqs a page with these filters and limit writes, as "0,2,..", in batches of one entry. */
static void seqs(fl_journal_t *j, const char *session, const char *scenario, size_t limit,
                 char *out, size_t n)
{
    fl_journal_page_t pg;
    fl_journal_page_init(j, 0, limit, &pg);
    cr_assert_eq(fl_journal_page_filter(&pg, session, scenario), 0);
    fl_buf_t text;
    fl_buf_init(&text);
    while (!pg.done)
        cr_assert_eq(fl_journal_page_write(j, &pg, 1, &text), 0);
    json_t *doc = json_loadb(text.data, text.len, 0, NULL);
    cr_assert_not_null(doc, "%.*s", (int)text.len, text.data);
    out[0] = '\0';
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(doc, "requests"), i, r)
    {
        const char *sess = json_string_value(json_object_get(r, "session"));
        if (session && session[0])
            cr_assert_str_eq(sess, session);
        else if (session)
            cr_assert(json_is_null(json_object_get(r, "session")));
        snprintf(out + strlen(out), n - strlen(out), "%s%lld", i ? "," : "",
                 (long long)json_integer_value(json_object_get(r, "seq")));
    }
    json_decref(doc);
    fl_buf_close(&text);
}

Test(session, journal_pages_filter_by_session_and_scenario)
{
    fl_journal_t j;
    cr_assert_eq(fl_journal_init(&j, 0, 0), 0);
    add(&j, "aaaa", "x"); /* 0 */
    add(&j, NULL, "x");   /* 1 */
    add(&j, "bbbb", "y"); /* 2 */
    add(&j, "aaaa", "y"); /* 3 */
    add(&j, "aaaa", "x"); /* 4 */
    char got[128];
    seqs(&j, NULL, NULL, 0, got, sizeof(got));
    cr_assert_str_eq(got, "0,1,2,3,4");
    seqs(&j, "aaaa", NULL, 0, got, sizeof(got));
    cr_assert_str_eq(got, "0,3,4");
    seqs(&j, "aaaa", "x", 0, got, sizeof(got));
    cr_assert_str_eq(got, "0,4");
    seqs(&j, "", NULL, 0, got, sizeof(got));
    cr_assert_str_eq(got, "1");
    seqs(&j, NULL, "y", 0, got, sizeof(got));
    cr_assert_str_eq(got, "2,3");
    seqs(&j, "aaaa", NULL, 2, got, sizeof(got)); /* the limit counts entries written */
    cr_assert_str_eq(got, "0,3");
    seqs(&j, "cccc", NULL, 0, got, sizeof(got));
    cr_assert_str_eq(got, "");
    fl_journal_page_t pg;
    char longname[FL_JOURNAL_FILTER_BYTES + 1];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    fl_journal_page_init(&j, 0, 0, &pg);
    cr_assert_eq(fl_journal_page_filter(&pg, NULL, longname), FL_ELIMIT);
    fl_journal_close(&j);
}

/* The HTML report (--html), read back with libxml2's HTML parser and XPath: every run in the
 * table and in a section of its own, a timeline per run with its attempts, faults, waits and
 * Retry-After windows, client text that stays text (markup escaped, control bytes shown, bad
 * UTF-8 replaced), nothing loaded from anywhere, and the runs not run listed. */
#include "base/error.h"
#include "base/text.h"
#include "base/version.h"
#include "judge/evidence.h"
#include "judge/report.h"
#include "judge/verdict.h"
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fl_scenario_t *sc_text, *sc_wait;
static fl_run_result_t runs[3];
static char tmpdir[64], path[128];

/* What a hostile client writes: markup, an attempt to close the page's own elements, control
 * bytes, bad UTF-8. */
#define HOSTILE "<script>alert(1)</script></pre></details>\x01\x1b[31m \xff\xfe \"'&amp;"

/* Loads one inline scenario; the loader reports nothing for these. */
static fl_scenario_t *scenario(const char *yaml)
{
    fl_scenario_t *sc = NULL;
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    int rc = fl_scenario_load_string("html.yaml", yaml, strlen(yaml), &sc, &d);
    cr_assert_eq(rc, 0, "%s", d.len ? d.items[0].message : "?");
    fl_diag_list_close(&d);
    return sc;
}

/* Appends an attempt: 1451 bytes, 5 of 7 events sent, the first byte 2 ms after arrival, no
 * Retry-After, no fault yet. */
static fl_attempt_ev_t *attempt(fl_evidence_t *ev, uint64_t start, int64_t end, int status,
                                const char *endname)
{
    const fl_attempt_ev_t *prev = ev->n_attempts ? &ev->attempts[ev->n_attempts - 1] : NULL;
    fl_attempt_ev_t a = {.start_ms = start,
                         .end_ms = end,
                         .status = status,
                         .stream = true,
                         .first_byte_ms = end >= 0 ? (int64_t)start + 2 : -1,
                         .last_byte_ms = end,
                         .bytes = 1451,
                         .events = 7,
                         .events_sent = 5,
                         .gap_ms = prev ? (int64_t)start - prev->end_ms : -1,
                         .retry_after_ms = -1,
                         .sent_retry_after_ms = -1,
                         .faults = json_array()};
    snprintf(a.end, sizeof(a.end), "%s", endname);
    fl_attempt_ev_t *grown = realloc(ev->attempts, (ev->n_attempts + 1) * sizeof(*grown));
    cr_assert_not_null(grown);
    ev->attempts = grown;
    grown[ev->n_attempts] = a;
    return &grown[ev->n_attempts++];
}

/* Three runs: recovered after a reset and a 429 with Retry-After; a silent truncation whose
 * client printed hostile text on both streams; a run hung on a 30 s Retry-After. */
static void setup(void)
{
    sc_text = scenario("faultline: 1\nname: html-text\ndescription: A <b>scenario</b> & more.\n"
                       "dialect: openai-chat\nresponse: {text: 'Hello there, world.'}\n");
    sc_wait = scenario("faultline: 1\nname: html-wait\ndialect: openai-chat\n"
                       "response: {text: 'Hello there, world.'}\n"
                       "expect: {outcome: error, deadline_ms: 2000}\n");

    fl_evidence_t *ev = &runs[0].ev;
    fl_evidence_init(ev, sc_text, 1, 9);
    fl_buf_append_str(&ev->out, "Hello there, world.\n");
    fl_buf_append_str(&ev->err, "attempt 1: reset\r\nattempt 2: HTTP 429\rlone\n");
    fl_attempt_ev_t *a = attempt(ev, 10, 180, 200, "reset");
    json_array_append_new(a->faults,
                          json_pack("{s:s, s:s, s:i, s:i, s:i}", "fault", "reset", "description",
                                    "reset at content 5", "event", 6, "byte", 1251, "ms", 170));
    a = attempt(ev, 456, 470, 429, "complete");
    a->sent_retry_after_ms = 1000;
    a->events = a->events_sent = 0;
    json_array_append_new(a->faults,
                          json_pack("{s:s, s:s, s:n, s:i, s:i}", "fault", "http_error",
                                    "description", "http_error 429", "event", "byte", 0, "ms", 0));
    a = attempt(ev, 1480, 1700, 200, "complete");
    a->retry_after_ms = 1000;
    ev->wall_ms = 1710;

    ev = &runs[1].ev;
    fl_evidence_init(ev, sc_text, 1, 9);
    fl_buf_append_str(&ev->out, "Hello " HOSTILE);
    fl_buf_append_str(&ev->err, "warn: " HOSTILE "\nError: boom\n");
    attempt(ev, 5, 90, 200, "closed");
    ev->wall_ms = 95;

    ev = &runs[2].ev;
    fl_evidence_init(ev, sc_wait, 1, 9);
    ev->exit_kind = FL_EXIT_DEADLINE;
    a = attempt(ev, 3, 9, 429, "complete");
    a->sent_retry_after_ms = 30000;
    ev->wall_ms = 2001;

    static const fl_verdict_t want[3] = {FL_VERDICT_RECOVERED, FL_VERDICT_CORRUPTED,
                                         FL_VERDICT_HUNG};
    for (int i = 0; i < 3; i++) {
        fl_verdict_judge(&runs[i].ev, &runs[i].j);
        cr_assert_eq(runs[i].j.verdict, want[i], "run %d: %s", i, runs[i].j.reason);
    }
    cr_assert_eq(runs[2].j.findings, FL_FINDING_RETRY_AFTER_PAST_DEADLINE);
    strcpy(tmpdir, "/tmp/fl-html-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/report.html", tmpdir);
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        fl_evidence_close(&runs[i].ev);
    fl_scenario_free(sc_text);
    fl_scenario_free(sc_wait);
    unlink(path);
    rmdir(tmpdir);
}

TestSuite(html, .init = setup, .fini = teardown, .timeout = 20);

static fl_report_t report(void)
{
    return (fl_report_t){.client = "node client.mjs <b>" HOSTILE,
                         .seed = 9,
                         .jobs = 2,
                         .started = "2026-11-21T08:20:50Z",
                         .wall_ms = 2100,
                         .min_score = -1,
                         .items = runs,
                         .n_items = 3};
}

/* A page written for a report, as bytes and as a parsed document. */
typedef struct {
    char *text; /* NUL-terminated */
    size_t len;
    htmlDocPtr doc;
} page_t;

static page_t write_page(const fl_report_t *r)
{
    fl_diag_t d;
    cr_assert_eq(fl_report_write_html(r, path, &d), 0, "%s", d.message);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    page_t p = {.len = (size_t)ftell(f)};
    rewind(f);
    p.text = malloc(p.len + 1);
    cr_assert_not_null(p.text);
    cr_assert_eq(fread(p.text, 1, p.len, f), p.len);
    fclose(f);
    p.text[p.len] = '\0';
    p.doc = htmlReadMemory(p.text, (int)p.len, "report.html", "UTF-8",
                           HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    cr_assert_not_null(p.doc);
    return p;
}

static void page_free(page_t *p)
{
    xmlFreeDoc(p->doc);
    free(p->text);
}

/* The default report's page. */
static page_t default_page(void)
{
    fl_report_t r = report();
    return write_page(&r);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The string value of an XPath expression on doc. */
static char *xp(htmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    cr_assert_not_null(o, "bad XPath %s", expr);
    xmlChar *s = xmlXPathCastToString(o);
    char *out = strdup((const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return out;
}

static void expect_xp(htmlDocPtr doc, const char *expr, const char *want)
{
    char *got = xp(doc, expr);
    cr_expect_str_eq(got, want, "%s", expr);
    free(got);
}

Test(html, every_run_in_the_table_and_its_own_section)
{
    page_t p = default_page();
    cr_expect(fl_utf8_valid(p.text, p.len), "the page is not UTF-8");
    htmlDocPtr doc = p.doc;
    expect_xp(doc, "count(//table[@id='runs']/tbody/tr)", "3");
    expect_xp(doc, "count(//details[@class='run'])", "3");
    expect_xp(doc, "string(//tr[1]/@data-verdict)", "recovered");
    expect_xp(doc, "string(//tr[2]/@data-verdict)", "corrupted");
    expect_xp(doc, "string(//tr[3]/@data-verdict)", "hung");
    expect_xp(doc, "string(//tr[2]/@data-passed)", "0");
    expect_xp(doc, "string(//tr[1]/td[2]/a/@href)", "#run-1");
    expect_xp(doc, "string(//details[@id='run-3']/@data-verdict)", "hung");
    /* the summary: score, decision, counts, client, version, seed */
    expect_xp(doc, "normalize-space(//*[@id='score'])", "33.3 / 100");
    expect_xp(doc, "string(//*[@id='decision'])", "failed");
    char *version = xp(doc, "string(//dt[.='faultline']/following-sibling::dd[1])");
    cr_expect_str_eq(version, FL_VERSION);
    free(version);
    expect_xp(doc, "string(//dt[.='seed']/following-sibling::dd[1])", "9");
    expect_xp(doc, "count(//div[@id='counts']/span[@class='chip'])",
              "4"); /* 3 verdicts, 1 finding */
    /* a filter per verdict present, plus all and did not pass */
    expect_xp(doc, "count(//div[@class='filters']/button)", "5");
    expect_xp(doc, "string(//button[@data-filter='failed']/span)", "2");
    /* the new finding and what it means */
    expect_xp(doc, "count(//td[.='retry_after_past_deadline'])", "2");
    page_free(&p);
}

Test(html, timelines_draw_what_the_evidence_holds)
{
    page_t p = default_page();
    htmlDocPtr doc = p.doc;
    expect_xp(doc, "count(//svg[@class='tl'])", "3");
    /* run 1's timeline: each query relative to its <svg> */
    static const char *const run1[][2] = {
        /* three attempts: three bars, three byte ramps, a fault marker each where one fired */
        {"count(%s/rect[starts-with(@class,'bar')])", "3"},
        {"count(%s/polygon[@class='bytes'])", "3"},
        {"count(%s/path[@class='fault'])", "2"},
        {"string(%s/path[@class='fault'][1]/title)",
         "reset at content 5, fired before event 6 (body byte 1251) at 180 ms"},
        /* the wait after the reset, and the Retry-After window before attempt 3 */
        {"count(%s/line[@class='gap'][@y1 = @y2])", "2"},
        {"string(%s/text[starts-with(., 'waited')][2])", "waited 1.01 s (Retry-After 1 s)"},
        {"string(%s/rect[@class='ra']/title)", "Retry-After 1 s from the end of attempt 2"},
        /* how each ended */
        {"count(%s/rect[@class='e-reset'])", "1"},
        {"count(%s/rect[@class='e-complete'])", "2"},
    };
    for (size_t i = 0; i < sizeof(run1) / sizeof(run1[0]); i++) {
        char q[256];
        snprintf(q, sizeof(q), run1[i][0], "//details[@id='run-1']//svg");
        expect_xp(doc, q, run1[i][1]);
    }
    cr_expect_gt(count(p.text, "5 / 7"), 0, "the attempts table lacks events sent / passed");
    /* the hung run: a deadline line and the exit at it */
    expect_xp(doc, "count(//details[@id='run-3']//svg/line[@class='deadline'])", "1");
    expect_xp(doc, "string(//details[@id='run-3']//svg/text[last()])",
              "killed at the deadline, 2 s");
    /* everything drawn lies on the canvas, the 30 s Retry-After window clipped at its edge */
    expect_xp(doc, "count(//svg[@class='tl']//*[@x < 0 or @x > 960 or @x1 < 0 or @x2 > 960])", "0");
    expect_xp(doc, "count(//svg[@class='tl']/rect[@class='ra'][@x + @width > 960])", "0");
    expect_xp(doc, "string(//details[@id='run-3']//svg/rect[@class='ra']/title)",
              "Retry-After 30 s asked for by this response");
    page_free(&p);
}

Test(html, client_text_stays_text)
{
    page_t p = default_page();
    const char *page = p.text;
    /* the page's own script is the only one; the client's markup is entities */
    cr_expect_eq(count(page, "<script"), 1);
    cr_expect_eq(count(page, "alert(1)</script>"), 0);
    cr_expect_gt(count(page, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/pre&gt;"), 0);
    cr_expect_eq(count(page, "</details>\x01"), 0);
    /* control bytes as their pictures, bad UTF-8 as U+FFFD, no escape byte anywhere */
    cr_expect_gt(count(page, "\xe2\x90\x81\xe2\x90\x9b[31m"), 0, "no control pictures");
    cr_expect_gt(count(page, "\xef\xbf\xbd\xef\xbf\xbd"), 0);
    cr_expect_null(memchr(page, 0x1b, p.len));
    cr_expect_null(memchr(page, 0x01, p.len));
    cr_expect_gt(count(page, "&quot;&#39;&amp;amp;"), 0);
    /* in a <pre>, a CRLF ends a line like an LF; a lone CR is shown */
    cr_expect_gt(count(page, "attempt 1: reset\nattempt 2: HTTP 429\xe2\x90\x8dlone\n"), 0);
    /* a description with markup is text too */
    cr_expect_gt(count(page, "A &lt;b&gt;scenario&lt;/b&gt; &amp; more."), 0);
    htmlDocPtr doc = p.doc;
    expect_xp(doc, "count(//b[.='scenario'])", "0");
    /* the diff marks the first differing byte of each side */
    expect_xp(doc, "string(//details[@id='run-2']//table[@class='diff']//tr[1]//mark)", "t");
    expect_xp(doc, "string(//details[@id='run-2']//table[@class='diff']//tr[2]//mark)", "<");
    page_free(&p);
}

Test(html, loads_nothing)
{
    page_t p = default_page();
    const char *page = p.text;
    cr_expect_gt(count(page, "Content-Security-Policy\" content=\"default-src 'none'"), 0);
    cr_expect_eq(count(page, "http://"), 0);
    cr_expect_eq(count(page, "https://"), 0);
    cr_expect_eq(count(page, " src="), 0);
    cr_expect_eq(count(page, "@import"), 0);
    cr_expect_eq(count(page, "url("), count(page, "url(#fl-hatch)"));
    page_free(&p);
}

Test(html, runs_not_run_and_an_interrupted_run)
{
    fl_report_not_run_t nr[2] = {{.scenario = sc_text, .repeat = 1, .started = true},
                                 {.scenario = sc_wait, .repeat = 1, .started = false}};
    fl_report_t r = report();
    r.n_items = 1;
    r.not_run = nr;
    r.n_not_run = 2;
    r.interrupted = true;
    page_t p = write_page(&r);
    htmlDocPtr doc = p.doc;
    expect_xp(doc, "count(//table[@id='runs']/tbody/tr)", "3");
    expect_xp(doc, "count(//tr[@data-verdict='not_run'])", "2");
    expect_xp(doc, "string(//tr[@data-verdict='not_run'][1]/td[@class='reason'])",
              "interrupted while running: its client was killed");
    expect_xp(doc, "string(//*[@id='decision'])", "interrupted");
    expect_xp(doc, "count(//*[@id='score'])", "0"); /* no score for an interrupted run */
    expect_xp(doc, "count(//button[@data-filter='not_run'])", "1");
    page_free(&p);
}

/* A run with no request and a client that never started still gets a (one-row) timeline. */
Test(html, nothing_to_draw)
{
    fl_evidence_t *ev = &runs[1].ev;
    ev->exit_kind = FL_EXIT_SPAWN;
    snprintf(ev->spawn_error, sizeof(ev->spawn_error), "no such file: <x>");
    json_decref(ev->attempts[0].faults);
    free(ev->attempts);
    ev->attempts = NULL;
    ev->n_attempts = 0;
    fl_verdict_judge(ev, &runs[1].j);
    page_t p = default_page();
    htmlDocPtr doc = p.doc;
    expect_xp(doc, "string(//details[@id='run-2']//svg/text[last()])",
              "no request reached the server");
    cr_expect_gt(count(p.text, "no such file: &lt;x&gt;"), 0);
    page_free(&p);
}

Test(html, unwritable_path_names_it)
{
    fl_report_t r = report();
    fl_diag_t d;
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/no-such-dir/report.html", tmpdir);
    cr_assert_eq(fl_report_write_html(&r, bad, &d), FL_EIO);
    cr_expect_str_eq(d.file, bad);
    cr_expect_eq(fl_report_check_path(bad, false, &d), FL_EIO);
    cr_expect_not_null(strstr(d.message, "No such file or directory"), "%s", d.message);
    cr_expect_eq(fl_report_check_path(tmpdir, false, &d), FL_EIO);
    cr_expect_not_null(strstr(d.message, "Is a directory"), "%s", d.message);
    cr_expect_eq(fl_report_check_path(path, false, NULL), 0);
    cr_expect_neq(access(path, F_OK), 0, "the check left a file behind");
}

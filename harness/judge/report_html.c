/*
 * The HTML report (`faultline run --html PATH`): one self-contained page a person reads after a
 * run, locally or as a CI artifact. From the top: the score and the decision, the verdict and
 * finding counts, the run's settings; a table of the runs with buttons that show only the runs
 * of one verdict; then one collapsed section per run with its reason, a timeline of its attempts
 * drawn to scale in SVG, its attempts as a table, the stdout against the answer and the stderr
 * tail; last, what each verdict and finding means.
 *
 * The timeline draws only what the evidence holds. Per attempt the journal knows when the
 * request arrived, when the first and the last byte of the response went out, when the
 * response ended for the client, how many bytes and events went out, which faults fired at
 * which ms, and the Retry-After it sent. So a bar runs from arrival to end, the bytes are a
 * straight ramp from the first byte to the last (the two times measured; the legend says so),
 * a fault is a marker at its ms, the wait before a retry is a dashed line from the previous
 * end, and a Retry-After is a hatched window from the end of the response that sent it.
 *
 * Self-contained and inert: inline CSS and one small inline script (the filter, opening a run
 * from the table), no fonts, images or requests, and a Content-Security-Policy that forbids
 * any. Client text is made valid UTF-8, control characters are shown as their Unicode control
 * pictures (U+2400...) and & < > " ' are escaped, so it renders as typed and never as markup.
 * A run's section is a closed <details>: a browser lays out none of them until one is opened,
 * so a page of 1,000 runs opens as fast as its table.
 */
#include "judge/report.h"

#include "base/text.h"
#include "base/version.h"
#include "judge/report_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bytes of a run's stdout and answer shown whole (the diff window is always shown). */
#define HTML_TEXT_MAX 4096

/* The timeline's geometry, in SVG user units (the viewBox scales to the page's width). */
#define TL_W      960 /* whole width */
#define TL_LEFT   58  /* row labels */
#define TL_RIGHT  250 /* the column that says how each attempt ended */
#define TL_TOP    26  /* the time axis */
#define TL_ROW    44  /* one attempt */
#define TL_BAR    14  /* a bar's height */
#define TL_BOTTOM 34  /* the exit marker's label */

/* A page being written: stops at the first allocation failure, which the end reports. */
typedef struct html_s {
    fl_buf_t b;
    int rc;
} html_t;

static void raw(html_t *h, const char *s)
{
    if (!h->rc)
        h->rc = fl_buf_append_str(&h->b, s);
}

static void out(html_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(html_t *h, const char *fmt, ...)
{
    if (h->rc)
        return;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) {
        h->rc = FL_EINVAL;
    } else if (!(h->rc = fl_buf_reserve(&h->b, (size_t)n + 1))) {
        vsnprintf(h->b.data + h->b.len, (size_t)n + 1, fmt, again);
        h->b.len += (size_t)n;
    }
    va_end(again);
    va_end(ap);
}

/* Appends s[0, n) as HTML text (element content or a quoted attribute value): bad UTF-8 becomes
 * U+FFFD, markup characters entities, control characters their pictures (U+2400 + c, DEL
 * U+2421) except LF, TAB and the CR of a CRLF where keep_lines (in <pre>). */
static void text(html_t *h, const char *s, size_t n, bool keep_lines)
{
    for (size_t i = 0; i < n && !h->rc;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = fl_utf8_char_len(s + i, n - i);
        const char *ent = NULL;
        char pic[4];
        switch (c) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            break;
        }
        if (keep_lines && c == '\r' && i + 1 < n && s[i + 1] == '\n') {
            /* a CRLF line end is a line end: only a lone CR is shown */
        } else if (ent) {
            h->rc = fl_buf_append_str(&h->b, ent);
        } else if (k == 1 && c >= 0x80) {
            h->rc = fl_buf_append(&h->b, "\xef\xbf\xbd", 3);
        } else if ((c < 0x20 && !(keep_lines && (c == '\n' || c == '\t'))) || c == 0x7f) {
            unsigned cp = c == 0x7f ? 0x2421 : 0x2400 + c; /* three UTF-8 bytes: E2 90 xx */
            pic[0] = (char)0xe2;
            pic[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            pic[2] = (char)(0x80 | (cp & 0x3f));
            h->rc = fl_buf_append(&h->b, pic, 3);
        } else {
            h->rc = fl_buf_append(&h->b, s + i, k);
        }
        i += k;
    }
}

static void text_str(html_t *h, const char *s)
{
    text(h, s ? s : "", s ? strlen(s) : 0, false);
}

/* 1234567 as "1,234,567". */
static const char *grouped(uint64_t v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* A duration for a person: "850 ms", "1.5 s", "20 s". */
static const char *duration(int64_t ms, char *buf, size_t n)
{
    if (ms < 1000)
        snprintf(buf, n, "%" PRId64 " ms", ms);
    else if (ms % 1000 == 0)
        snprintf(buf, n, "%" PRId64 " s", ms / 1000);
    else if (ms < 10000)
        snprintf(buf, n, "%.3g s", (double)ms / 1000.0);
    else
        snprintf(buf, n, "%.1f s", (double)ms / 1000.0);
    return buf;
}

/* ---- what the words mean ---------------------------------------------------------------- */

/* The class a verdict is colored with: good, warn or bad, as the table's colors. */
static const char *verdict_class(const fl_judgement_t *j)
{
    switch (j->verdict) {
    case FL_VERDICT_CORRECT:
    case FL_VERDICT_RECOVERED:
    case FL_VERDICT_FAILED_CLEANLY:
        return j->findings ? "warn" : "good";
    case FL_VERDICT_GAVE_UP:
    case FL_VERDICT_CRASHED:
        return "warn";
    default:
        return "bad";
    }
}

static const char *const verdict_meaning[FL_VERDICT_COUNT] = {
    [FL_VERDICT_CORRECT] = "exit 0 with the exact answer, and no fault fired",
    [FL_VERDICT_RECOVERED] = "exit 0 with the exact answer after a fault fired",
    [FL_VERDICT_FAILED_CLEANLY] = "non-zero exit with a message, where failing is the right "
                                  "outcome (expect.outcome error or either)",
    [FL_VERDICT_GAVE_UP] = "failed cleanly, but the answer was to be had",
    [FL_VERDICT_SILENT_TRUNCATION] = "exit 0 with only the start of the answer: a partial "
                                     "answer passed off as complete",
    [FL_VERDICT_DUPLICATED] = "exit 0 with part of the answer repeated",
    [FL_VERDICT_CORRUPTED] = "exit 0 with any other difference from the answer",
    [FL_VERDICT_HUNG] = "still running at the scenario's deadline, and killed",
    [FL_VERDICT_CRASHED] = "killed by a signal of its own (a crash)",
    [FL_VERDICT_NO_REQUEST] = "never reached the server",
};

static const struct {
    unsigned bit;
    const char *meaning;
} finding_meaning[] = {
    {FL_FINDING_RETRY_STORM, "more requests than the scenario's max_attempts"},
    {FL_FINDING_IGNORED_RETRY_AFTER, "retried before the Retry-After the server sent"},
    {FL_FINDING_NO_BACKOFF, "retried sooner than the scenario's min_backoff_ms"},
    {FL_FINDING_STALL_UNDETECTED, "hung while the server kept a stall on purpose: no timeout"},
    {FL_FINDING_NO_ERROR_MESSAGE, "failed with nothing on stderr"},
    {FL_FINDING_RETRY_AFTER_PAST_DEADLINE,
     "hung while waiting out a Retry-After longer than the time left before the deadline"},
    {FL_FINDING_RESTARTED_NOT_RESUMED,
     "asked for the whole answer again where it could have resumed the broken stream"},
    {FL_FINDING_INVENTED_FINISH, "the result names a finish reason the stream never delivered"},
    {FL_FINDING_WRONG_FINISH, "the result names another finish reason than the server sent"},
    {FL_FINDING_WRONG_USAGE, "the result's usage is not what the server sent (or was invented)"},
    {FL_FINDING_UNCAUGHT_EXCEPTION, "failed with an uncaught exception's stack trace"},
    {FL_FINDING_BAD_RESULT, "the result file could not be read as one JSON object"},
};

static const char *exit_text(const fl_evidence_t *ev, char *buf, size_t n)
{
    char d[32];
    switch (ev->exit_kind) {
    case FL_EXIT_CODE:
        snprintf(buf, n, "exit %d after %s", ev->exit_code,
                 duration((int64_t)ev->wall_ms, d, sizeof(d)));
        break;
    case FL_EXIT_SIGNAL:
        snprintf(buf, n, "killed by signal %d after %s", ev->term_signal,
                 duration((int64_t)ev->wall_ms, d, sizeof(d)));
        break;
    case FL_EXIT_DEADLINE:
        snprintf(buf, n, "killed at the deadline, %s",
                 duration((int64_t)ev->wall_ms, d, sizeof(d)));
        break;
    case FL_EXIT_SPAWN:
        snprintf(buf, n, "not started");
        break;
    }
    return buf;
}

/* ---- the page's fixed parts ------------------------------------------------------------- */

static const char page_style[] =
    ":root{--good:#1a7f37;--warn:#9a6700;--bad:#cf222e;--ink:#1f2328;--dim:#59636e;"
    "--line:#d1d9e0;--soft:#f6f8fa;--bar:#e4e9ee;--bytes:#57a6ff;--ra:#bf8700}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);"
    "background:#fff}\n"
    "header,main,footer{max-width:1240px;margin:0 auto;padding:0 20px}\n"
    "header{padding-top:18px}\n"
    "h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:26px 0 8px}"
    "h4{font-size:13px;margin:14px 0 4px;color:var(--dim)}\n"
    "code,pre,.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px}\n"
    ".top{display:flex;gap:28px;align-items:center;flex-wrap:wrap;padding:12px 16px;"
    "border:1px solid var(--line);border-radius:8px;background:var(--soft)}\n"
    ".bigscore{font-size:34px;font-weight:700;line-height:1}.bigscore small{font-size:15px;"
    "color:var(--dim);font-weight:400}\n"
    ".decision{font-size:15px;font-weight:700;padding:3px 10px;border-radius:12px;color:#fff}\n"
    ".decision.good{background:var(--good)}.decision.bad{background:var(--bad)}\n"
    ".meta{display:grid;grid-template-columns:auto 1fr;gap:1px 12px;margin:0}\n"
    ".meta dt{color:var(--dim)}.meta dd{margin:0;word-break:break-all}\n"
    ".chips{display:flex;gap:6px;flex-wrap:wrap;margin:10px 0 0}\n"
    ".chip,.filters button{border:1px solid var(--line);border-radius:12px;padding:2px 10px;"
    "background:#fff;font:inherit;font-size:13px}\n"
    ".filters{display:flex;gap:6px;flex-wrap:wrap;margin:8px 0}\n"
    ".filters button{cursor:pointer}\n"
    ".filters button[aria-pressed=true]{background:var(--ink);color:#fff;border-color:var(--ink)}\n"
    ".v{font-weight:600}.v.good{color:var(--good)}.v.warn{color:var(--warn)}"
    ".v.bad{color:var(--bad)}.v.none{color:var(--dim)}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "#runs th,#runs td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "#runs th{position:sticky;top:0;background:#fff;z-index:1}\n"
    "#runs td.n,#runs td.score{text-align:right;font-variant-numeric:tabular-nums}\n"
    "#runs tbody tr{cursor:pointer}#runs tbody tr:hover{background:var(--soft)}\n"
    "#runs td.reason{color:var(--dim);max-width:560px}\n"
    "#runs td.nw{white-space:nowrap}\n"
    ".count{color:var(--dim)}\n"
    "details.run{border:1px solid var(--line);border-radius:8px;margin:8px 0}\n"
    "details.run>summary{padding:8px 12px;cursor:pointer;list-style-position:inside}\n"
    "details.run[open]>summary{border-bottom:1px solid var(--line);background:var(--soft)}\n"
    "details.run .body{padding:4px 14px 12px}\n"
    ".reason-line{color:var(--dim)}\n"
    ".facts{display:flex;gap:18px;flex-wrap:wrap;color:var(--dim);margin:6px 0}\n"
    ".facts b{color:var(--ink);font-weight:600}\n"
    "svg.tl{width:100%;height:auto;display:block;font-size:11px}\n"
    "svg.tl text{fill:var(--ink)}svg.tl .dim{fill:var(--dim)}\n"
    "svg.tl .grid{stroke:var(--line)}svg.tl .bar{fill:var(--bar);stroke:#8c959f}\n"
    "svg.tl .bar.open{stroke-dasharray:4 3}\n"
    "svg.tl .bytes{fill:var(--bytes);fill-opacity:.75}\n"
    "svg.tl .ra{fill:url(#fl-hatch);stroke:var(--ra)}\n"
    "svg.tl .gap{stroke:#6e7781;stroke-dasharray:3 3}\n"
    "svg.tl .fault{fill:var(--bad);stroke:#fff}\n"
    "svg.tl .exit{stroke:var(--ink);stroke-width:1.5}\n"
    "svg.tl .deadline{stroke:var(--bad);stroke-dasharray:6 3}\n"
    "svg.tl .e-complete{fill:var(--good)}svg.tl .e-reset,svg.tl .e-closed{fill:var(--bad)}\n"
    "svg.tl .e-other{fill:var(--warn)}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 18px;list-style:none;padding:0;margin:6px 0 10px;"
    "color:var(--dim);font-size:12.5px}\n"
    "svg.tl.mark{width:26px;height:14px;display:inline-block;vertical-align:-2px;"
    "margin-right:6px}\n"
    "svg.tl .fname{fill:var(--bad);font-size:10.5px}\n"
    ".attempts th,.attempts td{padding:2px 8px;border-bottom:1px solid var(--line);"
    "text-align:left;font-size:12.5px;vertical-align:top}\n"
    ".attempts td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px;"
    "margin:4px 0;white-space:pre-wrap;word-break:break-all;max-height:360px;overflow:auto}\n"
    ".diff td{padding:2px 8px;vertical-align:top}.diff td:first-child{color:var(--dim);"
    "width:80px}\n"
    "mark{background:#ffebe9;color:var(--bad);font-weight:700}\n"
    ".ok{color:var(--good)}\n"
    ".glossary td{padding:2px 10px 2px 0;vertical-align:top}\n"
    "footer{color:var(--dim);font-size:12px;padding:24px 20px}\n"
    "[hidden]{display:none!important}\n";

/* The filter (buttons that show the runs of one verdict, or those that did not pass) and
 * opening a run's section from its table row or from the page's #run-N address. */
static const char page_script[] =
    "(function(){\n"
    "var rows=document.querySelectorAll('#runs tbody tr');\n"
    "var runs=document.querySelectorAll('details.run');\n"
    "var shown=document.getElementById('shown');\n"
    "function match(el,f){return f==='all'||(f==='failed'?el.dataset.passed==='0':"
    "el.dataset.verdict===f);}\n"
    "function filter(f){var n=0;\n"
    " rows.forEach(function(r){var m=match(r,f);r.hidden=!m;if(m)n++;});\n"
    " runs.forEach(function(d){d.hidden=!match(d,f);});\n"
    " document.querySelectorAll('.filters button').forEach(function(b){\n"
    "  b.setAttribute('aria-pressed',b.dataset.filter===f?'true':'false');});\n"
    " shown.textContent='showing '+n+' of '+rows.length+' runs';}\n"
    "document.querySelectorAll('.filters button').forEach(function(b){\n"
    " b.addEventListener('click',function(){filter(b.dataset.filter);});});\n"
    "function openRun(){var d=location.hash&&document.getElementById(location.hash.slice(1));\n"
    " if(d&&d.tagName==='DETAILS'){d.hidden=false;d.open=true;d.scrollIntoView();}}\n"
    "rows.forEach(function(r){r.addEventListener('click',function(e){\n"
    " if(e.target.tagName!=='A'&&r.dataset.run)location.hash=r.dataset.run;});});\n"
    "window.addEventListener('hashchange',openRun);openRun();\n"
    "})();\n";

/* ---- the summary and the table ------------------------------------------------------------ */

static bool run_passed(const fl_report_t *r)
{
    return r->min_score >= 0 ? fl_report_score(r) >= r->min_score : fl_report_failures(r) == 0;
}

static void head_and_summary(html_t *h, const fl_report_t *r)
{
    size_t failed = fl_report_failures(r);
    bool ok = !r->interrupted && run_passed(r);
    char buf[64];
    raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>Faultline: ");
    if (r->interrupted)
        raw(h, "interrupted");
    else
        out(h, "%s, score %.1f/100", ok ? "passed" : "failed", fl_report_score(r));
    raw(h, "</title>\n<style>\n");
    raw(h, page_style);
    raw(h, "</style>\n</head>\n<body>\n"
           /* one hatch for every timeline's Retry-After windows */
           "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
           "<pattern id=\"fl-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
           "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fff8c5\"/>"
           "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d4a72c\" stroke-width=\"2\"/>"
           "</pattern></defs></svg>\n<header>\n<h1>Faultline report</h1>\n<div class=\"top\">\n");
    if (r->interrupted)
        out(h,
            "<div class=\"bigscore\">no score <small>the run was interrupted: %zu of %zu runs "
            "not run</small></div>\n",
            r->n_not_run, r->n_items + r->n_not_run);
    else
        out(h,
            "<div><div class=\"bigscore\" id=\"score\">%.1f<small> / 100</small></div>"
            "<div class=\"count\">the mean of %zu run%s' scores</div></div>\n",
            fl_report_score(r), r->n_items, r->n_items == 1 ? "" : "s");
    out(h, "<span class=\"decision %s\" id=\"decision\">%s</span>\n", ok ? "good" : "bad",
        r->interrupted ? "interrupted"
        : ok           ? "passed"
                       : "failed");
    raw(h, "<dl class=\"meta\">\n<dt>client</dt><dd class=\"mono\">");
    text_str(h, r->client);
    out(h, "</dd>\n<dt>runs</dt><dd>%zu judged: %zu passed, %zu did not", r->n_items,
        r->n_items - failed, failed);
    if (r->n_not_run)
        out(h, "; %zu not run", r->n_not_run);
    raw(h, "</dd>\n");
    if (r->min_score >= 0)
        out(h, "<dt>--min-score</dt><dd>%.1f: %s</dd>\n", r->min_score,
            ok ? "reached" : "not reached");
    out(h, "<dt>seed</dt><dd>%" PRIu64 "</dd>\n<dt>jobs</dt><dd>%u%s%s</dd>\n", r->seed, r->jobs,
        r->shard ? ", shard " : "", r->shard ? r->shard : "");
    raw(h, "<dt>started</dt><dd>");
    text_str(h, r->started ? r->started : "-");
    out(h, ", %s in all</dd>\n", duration((int64_t)r->wall_ms, buf, sizeof(buf)));
    raw(h, "<dt>faultline</dt><dd>");
    text_str(h, FL_VERSION);
    raw(h, "</dd>\n</dl>\n</div>\n");

    size_t counts[FL_VERDICT_COUNT];
    fl_report__count_verdicts(r, counts);
    raw(h, "<div class=\"chips\" id=\"counts\"><span class=\"count\">verdicts</span>");
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++)
        if (counts[v]) {
            fl_judgement_t j = {.verdict = (fl_verdict_t)v};
            out(h, "<span class=\"chip\" title=\"%s\"><span class=\"v %s\">%s</span> %zu</span>",
                verdict_meaning[v], verdict_class(&j), fl_verdict_name((fl_verdict_t)v), counts[v]);
        }
    const char *label = "<span class=\"count\">findings</span>";
    for (size_t f = 0; f < sizeof(finding_meaning) / sizeof(finding_meaning[0]); f++) {
        size_t n = fl_report__count_finding(r, finding_meaning[f].bit);
        if (!n)
            continue;
        raw(h, label);
        label = "";
        out(h, "<span class=\"chip\" title=\"%s\"><span class=\"v warn\">%s</span> %zu</span>",
            finding_meaning[f].meaning, fl_finding_name(finding_meaning[f].bit), n);
    }
    raw(h, "</div>\n</header>\n<main>\n");
}

static void findings_text(html_t *h, unsigned bits)
{
    const char *sep = "";
    for (size_t f = 0; f < sizeof(finding_meaning) / sizeof(finding_meaning[0]); f++)
        if (bits & finding_meaning[f].bit) {
            out(h, "%s%s", sep, fl_finding_name(finding_meaning[f].bit));
            sep = ", ";
        }
}

static void runs_table(html_t *h, const fl_report_t *r)
{
    size_t counts[FL_VERDICT_COUNT];
    fl_report__count_verdicts(r, counts);
    size_t failed = fl_report_failures(r), total = r->n_items + r->n_not_run;
    bool repeated = fl_report__any_repeat(r);
    char name[160];
    raw(h, "<h2>Runs</h2>\n<div class=\"filters\" role=\"toolbar\" aria-label=\"show runs\">");
    out(h,
        "<button type=\"button\" data-filter=\"all\" aria-pressed=\"true\">all "
        "<span class=\"count\">%zu</span></button>",
        total);
    out(h,
        "<button type=\"button\" data-filter=\"failed\">did not pass "
        "<span class=\"count\">%zu</span></button>",
        failed);
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++)
        if (counts[v])
            out(h,
                "<button type=\"button\" data-filter=\"%s\">%s <span class=\"count\">%zu"
                "</span></button>",
                fl_verdict_name((fl_verdict_t)v), fl_verdict_name((fl_verdict_t)v), counts[v]);
    if (r->n_not_run)
        out(h,
            "<button type=\"button\" data-filter=\"not_run\">not run <span class=\"count\">"
            "%zu</span></button>",
            r->n_not_run);
    out(h, "</div>\n<p class=\"count\" id=\"shown\">showing %zu of %zu runs</p>\n", total, total);
    raw(h, "<table id=\"runs\">\n<thead><tr><th>#</th><th>scenario</th><th>dialect</th>"
           "<th>verdict</th><th>score</th><th>findings</th><th>reason</th></tr></thead>\n"
           "<tbody>\n");
    for (size_t i = 0; i < r->n_items; i++) {
        const fl_run_result_t *it = &r->items[i];
        const fl_scenario_t *sc = it->ev.scenario;
        fl_report__name(sc, it->ev.repeat, repeated, name, sizeof(name));
        out(h,
            "<tr data-verdict=\"%s\" data-passed=\"%d\" data-run=\"run-%zu\"><td class=\"n\">"
            "%zu</td><td><a href=\"#run-%zu\">",
            fl_verdict_name(it->j.verdict), it->j.passed ? 1 : 0, i + 1, i + 1, i + 1);
        text_str(h, name);
        out(h,
            "</a></td><td class=\"nw\">%s</td><td class=\"v %s nw\">%s</td><td class=\"score\">"
            "%d</td><td>",
            fl_dialect_name(sc->dialect), verdict_class(&it->j), fl_verdict_name(it->j.verdict),
            it->j.score);
        findings_text(h, it->j.findings);
        raw(h, "</td><td class=\"reason\">");
        text_str(h, it->j.reason);
        raw(h, "</td></tr>\n");
    }
    for (size_t i = 0; i < r->n_not_run; i++) {
        const fl_report_not_run_t *nr = &r->not_run[i];
        fl_report__name(nr->scenario, nr->repeat, repeated, name, sizeof(name));
        out(h, "<tr data-verdict=\"not_run\" data-passed=\"0\"><td class=\"n\">%zu</td><td>",
            r->n_items + i + 1);
        text_str(h, name);
        out(h,
            "</td><td class=\"nw\">%s</td><td class=\"v none nw\">not run</td>"
            "<td class=\"score\">-</td>"
            "<td></td><td class=\"reason\">%s</td></tr>\n",
            fl_dialect_name(nr->scenario->dialect), fl_report__not_run_reason(r, nr));
    }
    raw(h, "</tbody>\n</table>\n");
}

/* ---- one run's timeline ------------------------------------------------------------------- */

/* Everything the timeline of one run is drawn from, on the client's clock (0 = spawn). */
typedef struct tl_s {
    const fl_evidence_t *ev;
    int64_t t_max; /* the right edge, ms */
    double scale;  /* units per ms */
} tl_t;

static double tl_x(const tl_t *t, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms > t->t_max)
        ms = t->t_max;
    return TL_LEFT + (double)ms * t->scale;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The fault's ms after the request arrived, or -1 when the journal did not say. */
static int64_t fault_ms(const json_t *f)
{
    const json_t *v = json_object_get(f, "ms");
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* The timeline's right edge: everything measured fits, and the deadline when it was hit. */
static int64_t tl_extent(const fl_evidence_t *ev)
{
    int64_t t = (int64_t)ev->wall_ms;
    if (ev->exit_kind == FL_EXIT_DEADLINE)
        t = max64(t, (int64_t)ev->scenario->expect.deadline_ms);
    for (size_t i = 0; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        t = max64(t, max64((int64_t)a->start_ms, max64(a->end_ms, a->last_byte_ms)));
        size_t k;
        const json_t *f;
        json_array_foreach(a->faults, k, f) t = max64(t, (int64_t)a->start_ms + fault_ms(f));
    }
    return t > 0 ? t : 1;
}

/* A round step for about six ticks over t ms: 1, 2 or 5 times a power of ten. */
static int64_t tick_step(int64_t t)
{
    int64_t step = 1;
    while (step * 6 < t) {
        if (step * 2 * 6 >= t)
            return step * 2;
        if (step * 5 * 6 >= t)
            return step * 5;
        step *= 10;
    }
    return step;
}

/* Where an attempt's bar ends: when its response ended for the client, or for a cut (reset,
 * closed) the later of that and the cut's fault: the journal's end is the last byte, and a cut
 * that comes after a quiet spell (a reset at 90 ms after the last event at 83 ms) happened when
 * its fault fired. -1 when it never ended. */
static int64_t drawn_end(const fl_attempt_ev_t *a)
{
    int64_t end = a->end_ms;
    if (end < 0 || (strcmp(a->end, "reset") != 0 && strcmp(a->end, "closed") != 0))
        return end;
    size_t k;
    const json_t *f;
    json_array_foreach(a->faults, k, f)
    {
        int64_t ms = fault_ms(f);
        if (ms >= 0)
            end = max64(end, (int64_t)a->start_ms + ms);
    }
    return end;
}

static const char *end_class(const char *end)
{
    if (strcmp(end, "complete") == 0)
        return "e-complete";
    if (strcmp(end, "reset") == 0 || strcmp(end, "closed") == 0)
        return "e-reset";
    return "e-other";
}

/* How an attempt ended, in words (the journal's "end" spellings, journal.h). */
static const char *end_words(const fl_attempt_ev_t *a)
{
    static const char *const words[][2] = {
        {"complete", "complete"},         {"reset", "reset (RST)"},
        {"closed", "closed early (FIN)"}, {"stalled", "client left a stall"},
        {"client_closed", "client left"}, {"server_fault", "server fault"},
        {"in_progress", "still open"},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(a->end, words[i][0]) == 0)
            return words[i][1];
    return a->end;
}

static void tl_axis(html_t *h, const tl_t *t, int height)
{
    int64_t step = tick_step(t->t_max);
    char d[32];
    for (int64_t ms = 0; ms <= t->t_max; ms += step) {
        double x = tl_x(t, ms);
        out(h, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, TL_TOP - 6,
            x, height - TL_BOTTOM + 4);
        out(h, "<text class=\"dim\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x,
            TL_TOP - 10, ms ? duration(ms, d, sizeof(d)) : "0");
    }
}

/* A Retry-After window on the row whose bar sits at mid: a hatched band from `from` for ms,
 * clipped at the edge (an arrow in the label then says it goes on). */
static void tl_retry_after(html_t *h, const tl_t *t, int mid, int64_t from, int64_t ms,
                           const char *title)
{
    char d[32];
    double x0 = tl_x(t, from), x1 = tl_x(t, from + ms);
    out(h,
        "<rect class=\"ra\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"><title>Retry-After "
        "%s %s</title></rect>",
        x0, mid - TL_BAR / 2, x1 - x0 > 1 ? x1 - x0 : 1, TL_BAR, duration(ms, d, sizeof(d)), title);
}

/* How an attempt's response ended, for the right-hand column: the end, or the error status. */
static const char *outcome_words(const fl_attempt_ev_t *a, char *buf, size_t n)
{
    if (a->status >= 400 && strcmp(a->end, "complete") == 0)
        snprintf(buf, n, "HTTP %d error", a->status);
    else
        snprintf(buf, n, "%s", end_words(a));
    return buf;
}

/* The faults of one attempt: a diamond where each fired, its description as a tooltip, and
 * the names below the bar, those that fired at the same ms together. */
static void tl_faults(html_t *h, const tl_t *t, const fl_attempt_ev_t *a, int mid)
{
    size_t k;
    const json_t *f;
    char d[32];
    int64_t label_ms = -1;
    json_array_foreach(a->faults, k, f)
    {
        int64_t ms = fault_ms(f);
        if (ms < 0)
            continue;
        double x = tl_x(t, (int64_t)a->start_ms + ms);
        const char *name = json_string_value(json_object_get(f, "fault"));
        const char *desc = json_string_value(json_object_get(f, "description"));
        out(h, "<path class=\"fault\" d=\"M%.1f %d l6 6 l-6 6 l-6 -6 z\"><title>", x, mid - 6);
        text_str(h, desc ? desc : name);
        const json_t *e = json_object_get(f, "event"), *b = json_object_get(f, "byte");
        if (json_is_integer(e))
            out(h, ", fired before event %" JSON_INTEGER_FORMAT, json_integer_value(e));
        if (json_is_integer(b))
            out(h, " (body byte %" JSON_INTEGER_FORMAT ")", json_integer_value(b));
        out(h, " at %s</title></path>", duration((int64_t)a->start_ms + ms, d, sizeof(d)));
        if (ms == label_ms)
            continue; /* named with the first fault of its moment */
        /* the names of every fault that fired at this ms, in one label */
        out(h, "<text x=\"%.1f\" y=\"%d\" class=\"fname\" text-anchor=\"middle\">", x,
            mid + TL_BAR / 2 + 13);
        const char *sep = "";
        size_t j;
        const json_t *g;
        json_array_foreach(a->faults, j, g)
        {
            if (j < k || fault_ms(g) != ms)
                continue;
            const char *gname = json_string_value(json_object_get(g, "fault"));
            raw(h, sep);
            text_str(h, gname ? gname : "?");
            sep = ", ";
        }
        raw(h, "</text>");
        label_ms = ms;
    }
}

static void tl_attempt(html_t *h, const tl_t *t, size_t i)
{
    const fl_evidence_t *ev = t->ev;
    const fl_attempt_ev_t *a = &ev->attempts[i];
    const fl_attempt_ev_t *prev = i ? &ev->attempts[i - 1] : NULL;
    int y = TL_TOP + (int)i * TL_ROW, mid = y + TL_ROW / 2, top = mid - TL_BAR / 2;
    char d1[32], d2[32], g1[32], w[48];

    int64_t prev_end = prev ? drawn_end(prev) : -1, end = drawn_end(a);
    /* Before the retry: the Retry-After the previous response asked for, a band from its end;
     * over it, the wait the client actually took, a dashed line from that end to this arrival
     * (joined to the previous bar), and above them both in words. */
    if (prev_end >= 0) {
        double x0 = tl_x(t, prev_end), x1 = tl_x(t, (int64_t)a->start_ms);
        char from[64];
        snprintf(from, sizeof(from), "from the end of attempt %zu", i);
        if (a->retry_after_ms >= 0)
            tl_retry_after(h, t, mid, prev_end, a->retry_after_ms, from);
        out(h, "<line class=\"gap\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x0,
            mid - TL_ROW + TL_BAR / 2, x0, mid);
        if (a->gap_ms > 0)
            out(h, "<line class=\"gap\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x0, mid, x1,
                mid);
        out(h, "<text x=\"%.1f\" y=\"%d\" class=\"dim\">", x0 + 3, top - 4);
        if (a->gap_ms >= 0)
            out(h, "waited %s", duration(a->gap_ms, d1, sizeof(d1)));
        else
            out(h, "began %s before it ended", duration(-a->gap_ms, d1, sizeof(d1)));
        if (a->retry_after_ms >= 0)
            out(h, " (Retry-After %s)", duration(a->retry_after_ms, d2, sizeof(d2)));
        raw(h, "</text>");
    }
    /* the request, from arrival to the end of its response (to the edge when it never ended) */
    bool open = end < 0;
    double xs = tl_x(t, (int64_t)a->start_ms);
    double xe = open ? tl_x(t, t->t_max) : tl_x(t, end);
    if (xe - xs < 3)
        xe = xs + 3;
    out(h, "<rect class=\"bar%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"2\">",
        open ? " open" : "", xs, top, xe - xs, TL_BAR);
    out(h, "<title>attempt %zu: arrived at %s, ", i + 1,
        duration((int64_t)a->start_ms, d1, sizeof(d1)));
    if (open)
        raw(h, "never ended");
    else
        out(h, "ended at %s", duration(a->end_ms, d2, sizeof(d2)));
    out(h,
        "; status %d, %s bytes, %" PRIu64 " events sent of %" PRIu64 " passed, %s</title>"
        "</rect>",
        a->status, grouped(a->bytes, g1, sizeof(g1)), a->events_sent, a->events, end_words(a));
    /* the bytes: a straight ramp from the first byte to the last, the two times measured */
    if (a->first_byte_ms >= 0) {
        double xf = tl_x(t, a->first_byte_ms);
        double xl = tl_x(t, a->last_byte_ms >= 0 ? a->last_byte_ms : a->first_byte_ms);
        if (xl - xf < 2)
            xl = xf + 2;
        out(h,
            "<polygon class=\"bytes\" points=\"%.1f,%d %.1f,%d %.1f,%d\"><title>%s bytes "
            "from %s to %s</title></polygon>",
            xf, top + TL_BAR, xl, top, xl, top + TL_BAR, g1, duration(a->first_byte_ms, d1, 32),
            duration(a->last_byte_ms >= 0 ? a->last_byte_ms : a->first_byte_ms, d2, 32));
    }
    /* the last response's own demand: what the client was waiting out when the run ended */
    if (!open && i + 1 == ev->n_attempts && a->sent_retry_after_ms >= 0) {
        tl_retry_after(h, t, mid, end, a->sent_retry_after_ms, "asked for by this response");
        /* above the band, ending at the plot's edge when the band runs into it */
        bool room = xe + 160 < TL_W - TL_RIGHT;
        out(h,
            "<text x=\"%.1f\" y=\"%d\" class=\"dim\" text-anchor=\"%s\">Retry-After %s asked "
            "for%s</text>",
            room ? xe + 3 : (double)(TL_W - TL_RIGHT), top - 4, room ? "start" : "end",
            duration(a->sent_retry_after_ms, d1, sizeof(d1)),
            end + a->sent_retry_after_ms > t->t_max ? " \xe2\x86\x92" : "");
    }
    /* how it ended: a cap at the end */
    if (!open)
        out(h, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"3\" height=\"%d\"/>",
            end_class(a->end), xe - 1.5, top - 3, TL_BAR + 6);
    tl_faults(h, t, a, mid);
    /* the row's label, and how it ended in words on the right */
    out(h, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">#%zu</text>", TL_LEFT - 30, mid + 4, i + 1);
    out(h, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"dim\">%s</text>", TL_LEFT - 6,
        mid + 4, a->status ? (snprintf(d1, sizeof(d1), "%d", a->status), d1) : "-");
    out(h,
        "<text x=\"%d\" y=\"%d\">%s \xc2\xb7 %s B \xc2\xb7 %" PRIu64 " of %" PRIu64
        " events</text>",
        TL_W - TL_RIGHT + 14, mid + 4, outcome_words(a, w, sizeof(w)), g1, a->events_sent,
        a->events);
}

static void timeline(html_t *h, const fl_evidence_t *ev)
{
    tl_t t = {.ev = ev, .t_max = tl_extent(ev)};
    t.scale = (double)(TL_W - TL_LEFT - TL_RIGHT) / (double)t.t_max;
    size_t rows = ev->n_attempts ? ev->n_attempts : 1;
    int height = TL_TOP + (int)rows * TL_ROW + TL_BOTTOM;
    char e[64];
    out(h,
        "<svg class=\"tl\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"timeline of %zu "
        "attempts\">",
        TL_W, height, ev->n_attempts);
    tl_axis(h, &t, height);
    if (!ev->n_attempts)
        out(h, "<text x=\"%d\" y=\"%d\" class=\"dim\">no request reached the server</text>",
            TL_LEFT + 8, TL_TOP + TL_ROW / 2 + 4);
    for (size_t i = 0; i < ev->n_attempts; i++)
        tl_attempt(h, &t, i);
    int bottom = height - TL_BOTTOM;
    if (ev->exit_kind == FL_EXIT_DEADLINE) {
        double x = tl_x(&t, (int64_t)ev->scenario->expect.deadline_ms);
        out(h, "<line class=\"deadline\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x,
            TL_TOP - 4, x, bottom + 4);
    }
    if (ev->exit_kind != FL_EXIT_SPAWN) {
        double x = tl_x(&t, (int64_t)ev->wall_ms);
        out(h, "<line class=\"exit\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, TL_TOP - 4,
            x, bottom + 6);
        /* the label reads leftwards from the line when it would run off the right edge */
        out(h, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>", x, bottom + 20,
            x > TL_W - TL_RIGHT - 120 ? "end" : "middle", exit_text(ev, e, sizeof(e)));
    }
    raw(h, "</svg>\n");
}

/* What the timeline's marks mean, once, above the runs: each mark drawn as it appears. */
static void timeline_legend(html_t *h)
{
    static const struct {
        const char *mark; /* SVG content in a 26 x 14 box */
        const char *words;
    } items[] = {
        {"<rect class=\"bar\" x=\"1\" y=\"2\" width=\"24\" height=\"10\" rx=\"2\"/>",
         "a request, from its arrival to the end of its response"},
        {"<polygon class=\"bytes\" points=\"1,12 25,2 25,12\"/>",
         "its bytes, a straight ramp from the first byte to the last (only those two times are "
         "measured)"},
        {"<path class=\"fault\" d=\"M13 1 l6 6 l-6 6 l-6 -6 z\"/>", "a fault, where it fired"},
        {"<line class=\"gap\" x1=\"1\" y1=\"7\" x2=\"25\" y2=\"7\"/>", "the wait before a retry"},
        {"<rect class=\"ra\" x=\"1\" y=\"2\" width=\"24\" height=\"10\"/>",
         "the Retry-After the server asked for"},
        {"<rect class=\"e-complete\" x=\"8\" y=\"0\" width=\"3\" height=\"14\"/>"
         "<rect class=\"e-reset\" x=\"15\" y=\"0\" width=\"3\" height=\"14\"/>",
         "ended complete, or reset or closed early"},
        {"<line class=\"exit\" x1=\"13\" y1=\"0\" x2=\"13\" y2=\"14\"/>",
         "the client exited (or was killed)"},
    };
    raw(h, "<ul class=\"legend\" aria-label=\"how to read a timeline\">");
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        out(h,
            "<li><svg class=\"tl mark\" width=\"26\" height=\"14\" viewBox=\"0 0 26 14\">%s</svg>%s"
            "</li>",
            items[i].mark, items[i].words);
    raw(h, "</ul>\n");
}

/* ---- one run's section -------------------------------------------------------------------- */

static void attempts_table(html_t *h, const fl_evidence_t *ev)
{
    char g[32], d[32];
    if (!ev->n_attempts)
        return;
    raw(h, "<h4>Attempts</h4>\n<table class=\"attempts\"><thead><tr><th>#</th><th>arrived</th>"
           "<th>ended</th><th>wait before</th><th>status</th><th>stream</th><th>end</th>"
           "<th>bytes</th><th>events sent / passed</th><th>Retry-After sent</th><th>faults"
           "</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        out(h, "<tr><td class=\"num\">%zu</td><td class=\"num\">%" PRIu64 " ms</td>", i + 1,
            a->start_ms);
        if (a->end_ms >= 0)
            out(h, "<td class=\"num\">%" PRId64 " ms</td>", a->end_ms);
        else
            raw(h, "<td class=\"num\">-</td>");
        if (i && ev->attempts[i - 1].end_ms >= 0)
            out(h, "<td class=\"num\">%" PRId64 " ms</td>", a->gap_ms);
        else
            raw(h, "<td class=\"num\">-</td>");
        out(h,
            "<td>%d</td><td>%s</td><td>%s</td><td class=\"num\">%s</td><td class=\"num\">"
            "%" PRIu64 " / %" PRIu64 "</td>",
            a->status, a->stream ? "yes" : "no", end_words(a), grouped(a->bytes, g, sizeof(g)),
            a->events_sent, a->events);
        if (a->sent_retry_after_ms >= 0)
            out(h, "<td class=\"num\">%s</td><td>", duration(a->sent_retry_after_ms, d, sizeof(d)));
        else
            raw(h, "<td class=\"num\">-</td><td>");
        size_t k;
        const json_t *f;
        json_array_foreach(a->faults, k, f)
        {
            const char *desc = json_string_value(json_object_get(f, "description"));
            raw(h, k ? "<br>" : "");
            text_str(h, desc ? desc : "?");
            int64_t ms = fault_ms(f);
            if (ms >= 0)
                out(h, " <span class=\"count\">at %" PRId64 " ms</span>", ms);
        }
        raw(h, "</td></tr>\n");
    }
    raw(h, "</tbody></table>\n");
}

/* s[0, n) in a <pre>, its first HTML_TEXT_MAX bytes; says how much more there was. */
static void pre_head(html_t *h, const char *s, size_t n, uint64_t total)
{
    size_t keep = fl_report__head_len(s, n, HTML_TEXT_MAX);
    char g[32];
    raw(h, "<pre>");
    text(h, s, keep, true);
    raw(h, "</pre>\n");
    if (total > keep)
        out(h, "<p class=\"count\">the first %zu of %s bytes (the JSON report holds more)</p>\n",
            keep, grouped(total, g, sizeof(g)));
}

/* The window of s around byte at (offset at - from within it) with that byte marked. */
static void marked(html_t *h, const char *s, size_t n, size_t at)
{
    raw(h, "<code>");
    if (at > n)
        at = n;
    text(h, s, at, false);
    if (at < n) {
        size_t k = fl_utf8_char_len(s + at, n - at);
        raw(h, "<mark>");
        text(h, s + at, k, false);
        raw(h, "</mark>");
        text(h, s + at + k, n - at - k, false);
    } else {
        raw(h, "<mark>&#8718;</mark>"); /* the text ends here */
    }
    raw(h, "</code>");
}

static void answer_section(html_t *h, const fl_run_result_t *it)
{
    const fl_evidence_t *ev = &it->ev;
    const char *ans = fl_scenario_answer(ev->scenario);
    const char *o = ev->out.data ? ev->out.data : "";
    char g[32];
    raw(h, "<h4>stdout against the answer</h4>\n");
    fl_report__diff_t d;
    if (ev->exit_kind != FL_EXIT_CODE || ev->exit_code != 0) {
        out(h,
            "<p class=\"count\">not compared: the client did not exit 0. stdout, %s bytes:"
            "</p>\n",
            grouped(ev->out.len, g, sizeof(g)));
        if (ev->out.len)
            pre_head(h, o, ev->out.len, ev->out.len);
        return;
    }
    if (!ans) {
        out(h, "<p class=\"count\">the scenario has no known answer; stdout, %s bytes:</p>\n",
            grouped(ev->out.len, g, sizeof(g)));
        pre_head(h, o, ev->out.len, ev->out.len);
        return;
    }
    if (!fl_report__diff(it, &d)) {
        out(h, "<p class=\"ok\">stdout is the answer, byte for byte (%s bytes).</p>\n",
            grouped(strlen(ans), g, sizeof(g)));
        return;
    }
    size_t ans_len = strlen(ans);
    size_t e_from = (size_t)(d.expected - ans), g_from = (size_t)(d.got - o);
    out(h, "<p>First difference at byte <b>%" PRId64 "</b> (stdout %s bytes, answer ", d.at,
        grouped(ev->out.len, g, sizeof(g)));
    out(h, "%s bytes):</p>\n<table class=\"diff\"><tr><td>answer</td><td>",
        grouped(ans_len, g, sizeof(g)));
    marked(h, d.expected, d.expected_len, (size_t)d.at - e_from);
    raw(h, "</td></tr><tr><td>stdout</td><td>");
    marked(h, d.got, d.got_len, (size_t)d.at - g_from);
    raw(h, "</td></tr></table>\n<details><summary>whole texts</summary>\n<h4>answer</h4>\n");
    pre_head(h, ans, ans_len, ans_len);
    raw(h, "<h4>stdout</h4>\n");
    pre_head(h, o, ev->out.len, ev->out.len);
    raw(h, "</details>\n");
}

static void run_section(html_t *h, const fl_report_t *r, size_t i, bool repeated)
{
    const fl_run_result_t *it = &r->items[i];
    const fl_evidence_t *ev = &it->ev;
    const fl_scenario_t *sc = ev->scenario;
    char name[160], e[64], g[32];
    fl_report__name(sc, ev->repeat, repeated, name, sizeof(name));
    out(h,
        "<details class=\"run\" id=\"run-%zu\" data-verdict=\"%s\" data-passed=\"%d\">"
        "<summary><span class=\"v %s\">%s</span> <b>",
        i + 1, fl_verdict_name(it->j.verdict), it->j.passed ? 1 : 0, verdict_class(&it->j),
        fl_verdict_name(it->j.verdict));
    text_str(h, name);
    out(h, "</b> <span class=\"count\">score %d", it->j.score);
    if (it->j.findings) {
        raw(h, " \xc2\xb7 ");
        findings_text(h, it->j.findings);
    }
    raw(h, "</span><br><span class=\"reason-line\">");
    text_str(h, it->j.reason);
    raw(h, "</span></summary>\n<div class=\"body\">\n");
    if (sc->description && *sc->description) {
        raw(h, "<p>");
        text_str(h, sc->description);
        raw(h, "</p>\n");
    }
    out(h,
        "<div class=\"facts\"><span>dialect <b>%s</b></span><span>expected outcome <b>%s</b>"
        "</span><span>deadline <b>%s</b></span>",
        fl_dialect_name(sc->dialect),
        sc->expect.outcome == FL_OUTCOME_COMPLETE ? "complete"
        : sc->expect.outcome == FL_OUTCOME_ERROR  ? "error"
                                                  : "either",
        duration((int64_t)sc->expect.deadline_ms, g, sizeof(g)));
    out(h, "<span><b>%s</b></span><span>%zu request%s</span>", exit_text(ev, e, sizeof(e)),
        ev->n_attempts, ev->n_attempts == 1 ? "" : "s");
    if (ev->exit_kind == FL_EXIT_SPAWN) {
        raw(h, "<span>");
        text_str(h, ev->spawn_error);
        raw(h, "</span>");
    }
    raw(h, "<span class=\"mono\">");
    text_str(h, sc->path);
    raw(h, "</span></div>\n");
    timeline(h, ev);
    attempts_table(h, ev);
    answer_section(h, it);
    const char *err = ev->err.data ? ev->err.data : "";
    size_t tail = fl_report__tail_start(err, ev->err.len, FL_REPORT_STDERR_TAIL);
    if (ev->err.len) {
        out(h, "<h4>stderr%s</h4>\n<pre>", tail ? " (its end)" : "");
        text(h, err + tail, ev->err.len - tail, true);
        raw(h, "</pre>\n");
    } else {
        raw(h, "<h4>stderr</h4>\n<p class=\"count\">empty</p>\n");
    }
    raw(h, "</div>\n</details>\n");
}

static void glossary(html_t *h)
{
    raw(h, "<h2>What the words mean</h2>\n<table class=\"glossary\">\n");
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++) {
        fl_judgement_t j = {.verdict = (fl_verdict_t)v};
        out(h, "<tr><td class=\"v %s\">%s</td><td>%d</td><td>%s</td></tr>\n", verdict_class(&j),
            fl_verdict_name((fl_verdict_t)v), fl_verdict_base_score((fl_verdict_t)v),
            verdict_meaning[v]);
    }
    for (size_t f = 0; f < sizeof(finding_meaning) / sizeof(finding_meaning[0]); f++) {
        int p = fl_finding_penalty(finding_meaning[f].bit);
        out(h, "<tr><td class=\"v warn\">%s</td><td>%s%d</td><td>%s</td></tr>\n",
            fl_finding_name(finding_meaning[f].bit), p ? "\xe2\x88\x92" : "", p,
            finding_meaning[f].meaning);
    }
    raw(h, "</table>\n<p class=\"count\">A verdict gives the base score (second column), each "
           "finding takes its points off; a run passes with 100, and the score is the mean over "
           "the runs.</p>\n");
}

int fl_report_write_html(const fl_report_t *r, const char *path, fl_diag_t *diag)
{
    html_t h = {.rc = 0};
    fl_buf_init(&h.b);
    bool repeated = fl_report__any_repeat(r);
    head_and_summary(&h, r);
    runs_table(&h, r);
    raw(&h, "<h2>Each run</h2>\n<p class=\"count\">Open a run for its timeline (time runs left "
            "to right from the client's start, one row per request), its attempts, its output "
            "and the answer. In a timeline:</p>\n");
    timeline_legend(&h);
    raw(&h, "<section id=\"details\">\n");
    for (size_t i = 0; i < r->n_items && !h.rc; i++)
        run_section(&h, r, i, repeated);
    raw(&h, "</section>\n");
    glossary(&h);
    raw(&h, "</main>\n<footer>Written by faultline ");
    text_str(&h, FL_VERSION);
    raw(&h, ". This page loads nothing from the network.</footer>\n<script>\n");
    raw(&h, page_script);
    raw(&h, "</script>\n</body>\n</html>\n");
    int rc =
        h.rc ? fl_report__oom(diag, path) : fl_report__write_atomic(path, h.b.data, h.b.len, diag);
    fl_buf_close(&h.b);
    return rc;
}

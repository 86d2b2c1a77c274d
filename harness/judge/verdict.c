/*
 * Verdicts, findings and the rubric. The decision order and the rubric's reasons are in the
 * README ("Verdicts and scoring"); this file is that table in code.
 */
#include "judge/verdict.h"

#include <jansson.h>
#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verdict_names[] = {
#define X(name, s) s,
    FL_VERDICT_MAP(X)
#undef X
};

const char *fl_verdict_name(fl_verdict_t v)
{
    if ((unsigned)v < FL_VERDICT_COUNT)
        return verdict_names[v];
    return "?";
}

const char *fl_finding_name(unsigned bit)
{
#define X(name, s, b)                                                                              \
    if (bit == (b))                                                                                \
        return s;
    FL_FINDING_MAP(X)
#undef X
    return "?";
}

int fl_verdict_base_score(fl_verdict_t v)
{
    switch (v) {
    case FL_VERDICT_CORRECT:
    case FL_VERDICT_RECOVERED:
    case FL_VERDICT_FAILED_CLEANLY:
        return 100;
    case FL_VERDICT_GAVE_UP:
        return 40;
    case FL_VERDICT_CRASHED:
        return 10;
    default:
        return 0;
    }
}

int fl_finding_penalty(unsigned bit)
{
    switch (bit) {
    case FL_FINDING_RETRY_STORM:
        return 40;
    case FL_FINDING_IGNORED_RETRY_AFTER:
        return 30;
    case FL_FINDING_NO_BACKOFF:
    case FL_FINDING_NO_ERROR_MESSAGE:
    case FL_FINDING_RESTARTED_NOT_RESUMED:
        return 20;
    case FL_FINDING_BUFFERED:
    case FL_FINDING_NO_HEARTBEAT:
    case FL_FINDING_UPSTREAM_NOT_CANCELLED:
        return 30;
    case FL_FINDING_WRONG_USAGE:
    case FL_FINDING_BAD_RESULT:
        return 20;
    case FL_FINDING_INVENTED_FINISH:
        return 50;
    case FL_FINDING_WRONG_FINISH:
    case FL_FINDING_UNCAUGHT_EXCEPTION:
        return 30;
    default: /* stall_undetected and retry_after_past_deadline only come with hung, and
                error_swallowed with silent_truncation or corrupted, already 0: they explain,
                not cost */
        return 0;
    }
}

/* The reason line, built piece by piece; silently truncated at its buffer's end. */
typedef struct {
    char *p;
    size_t n, len;
} line_t;

static void say(line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(line_t *l, const char *fmt, ...)
{
    if (l->len + 1 >= l->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->p + l->len, l->n - l->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        l->len = l->len + (size_t)k < l->n ? l->len + (size_t)k : l->n - 1;
}

/* One byte as a reason shows it: 'c' when printable ASCII, else 0xNN, between before and after. */
static void say_byte(line_t *l, const char *before, unsigned char c, const char *after)
{
    if (c >= 0x20 && c < 0x7f)
        say(l, "%s'%c'%s", before, c, after);
    else
        say(l, "%s0x%02x%s", before, c, after);
}

/* Client text quoted in a reason: one line, printable ASCII only (no escape sequences reach a
 * terminal), at most max bytes with "..." when cut. */
static void say_quoted(line_t *l, const char *s, size_t len, size_t max)
{
    char tmp[128];
    size_t o = 0;
    if (max > sizeof(tmp) - 4)
        max = sizeof(tmp) - 4;
    for (size_t i = 0; i < len && s[i] != '\n' && s[i] != '\r'; i++) {
        if (o == max) {
            memcpy(tmp + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        tmp[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    tmp[o] = '\0';
    say(l, "\"%s\"", tmp);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Tokens that mark a line as the error itself, whole words compared without case: what Python
 * (Traceback), Go and Rust (panic, panicked), C tools (error:, fatal:) and loggers (ERROR,
 * FATAL) print when they fail. */
static const char *const error_words[] = {
    "error", "fatal", "panic", "panicked", "traceback", "exception", "uncaught", "unhandled", NULL};

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '$';
}

/* Whether one stderr line reads as an error or an exception: a word of error_words, or a name
 * ending in Error or Exception (TypeError, openai.APIConnectionError, IOException). Substrings do
 * not count: LangChain's
 * "Troubleshooting URL: .../troubleshooting/errors/MODEL_RATE_LIMIT/" holds "errors" and is not the
 * error. A stack frame ("at emitError (node:events...)", Java's "at com.x.Foo") is not the error
 * either, only a place it passed. */
static bool looks_like_error(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (n - i >= 3 && memcmp(s + i, "at ", 3) == 0)
        return false;
    while (i < n) {
        if (!ident_char(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && ident_char(s[j]))
            j++;
        size_t len = j - i;
        for (size_t w = 0; error_words[w]; w++)
            if (len == strlen(error_words[w]) && strncasecmp(s + i, error_words[w], len) == 0)
                return true;
        if ((len > 5 && memcmp(s + j - 5, "Error", 5) == 0) ||
            (len > 9 && memcmp(s + j - 9, "Exception", 9) == 0))
            return true;
        i = j;
    }
    return false;
}

/* Whether a line is only markup ("</html>", "<center><h1>524</h1></center>"): the tail of an
 * error page a client printed, never its message. */
static bool markup_only(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    return n >= 2 && s[0] == '<' && s[n - 1] == '>';
}

/*
 * The stderr line a reason quotes, or NULL when stderr is empty or only whitespace: the last
 * line that looks like an error or an exception (looks_like_error), else the last non-blank
 * line that is not only markup (else the last non-blank line). The last, because clients log each
 * attempt and warnings first and say why they gave up at the end; an error line rather than simply
 * the last, because libraries print advice after the error (LangChain a "Troubleshooting URL", Node
 * its version after an uncaught exception).
 */
static const char *stderr_line(const fl_buf_t *err, size_t *len)
{
    const char *last = NULL;
    size_t last_len = 0, j = err->len;
    while (j > 0) {
        while (j > 0 && isspace((unsigned char)err->data[j - 1]))
            j--;
        if (j == 0)
            break;
        size_t i = j;
        while (i > 0 && err->data[i - 1] != '\n' && err->data[i - 1] != '\r')
            i--;
        if (!last || (markup_only(last, last_len) && !markup_only(err->data + i, j - i))) {
            last = err->data + i;
            last_len = j - i;
        }
        if (looks_like_error(err->data + i, j - i)) {
            *len = j - i;
            return err->data + i;
        }
        j = i;
    }
    *len = last_len;
    return last;
}

/* ---- uncaught exceptions -------------------------------------------------------------------- */

/* One line of a text: [s, s + n), without its line break. */
typedef struct {
    const char *s;
    size_t n;
} text_line_t;

static bool line_starts(text_line_t l, const char *p)
{
    size_t k = strlen(p);
    return l.n >= k && memcmp(l.s, p, k) == 0;
}

static bool line_has(text_line_t l, const char *p)
{
    size_t k = strlen(p);
    for (size_t i = 0; i + k <= l.n; i++)
        if (memcmp(l.s + i, p, k) == 0)
            return true;
    return false;
}

static bool line_blank(text_line_t l)
{
    for (size_t i = 0; i < l.n; i++)
        if (!isspace((unsigned char)l.s[i]))
            return false;
    return true;
}

/* The line at or after *pos in [b, b + n); advances *pos past it. False at the end. */
static bool next_line(const char *b, size_t n, size_t *pos, text_line_t *out)
{
    if (*pos >= n)
        return false;
    size_t i = *pos, e = i;
    while (e < n && b[e] != '\n')
        e++;
    out->s = b + i;
    out->n = e > i && b[e - 1] == '\r' ? e - i - 1 : e - i;
    *pos = e < n ? e + 1 : n;
    return true;
}

/* The stderr a crash report is looked for in: its last 64 KiB (a report is at the end). */
#define UNCAUGHT_TAIL (64u * 1024)

/*
 * The line that names an uncaught exception whose report ends the client's stderr, or NULL:
 *  - Python: the exception line ("KeyError: 'choices'") that ends the last
 *    "Traceback (most recent call last):" block, when it is also the last line of stderr that
 *    reads as an error: a traceback a client logged and then handled (followed by its own
 *    message) is not uncaught;
 *  - Node: stderr ends with "Node.js vN..." (what Node prints after an uncaught exception or an
 *    unhandled rejection kills it); the line quoted is the error line above the stack;
 *  - Java: `Exception in thread "main" java.lang.IllegalStateException: ...`;
 *  - Go: "panic: ..." followed by a "goroutine N [...]:" dump; Rust: "thread 'main' panicked at".
 * err_line/err_len are stderr_line's choice (the last line that reads as an error).
 */
static const char *uncaught_line(const fl_buf_t *err, const char *err_line, size_t err_len,
                                 size_t *len)
{
    if (!err->len)
        return NULL;
    size_t from = err->len > UNCAUGHT_TAIL ? err->len - UNCAUGHT_TAIL : 0;
    const char *b = err->data + from;
    size_t n = err->len - from, pos = 0;
    text_line_t l, last = {NULL, 0}, panic = {NULL, 0}, node = {NULL, 0};
    const char *py = NULL;
    size_t py_len = 0;
    bool in_traceback = false, goroutine = false, caret = false;
    while (next_line(b, n, &pos, &l)) {
        if (line_starts(l, "Exception in thread \"") ||
            (line_starts(l, "thread '") && line_has(l, "' panicked at"))) {
            *len = l.n;
            return l.s;
        }
        if (line_starts(l, "panic: ")) {
            panic = l;
            goroutine = false;
        } else if (panic.s && line_starts(l, "goroutine ") && memchr(l.s, '[', l.n)) {
            goroutine = true;
        }
        if (line_starts(l, "Traceback (most recent call last):")) {
            in_traceback = true;
            py = NULL;
        } else if (in_traceback && !line_blank(l) && l.s[0] != ' ' && l.s[0] != '\t') {
            py = l.s; /* the first unindented line after the frames: the exception */
            py_len = l.n;
            in_traceback = false;
        }
        /* Node: "file:line", the source line, a caret under the throw, a blank line, then
         * the error ("TypeError: ..." or a rejected value's text) */
        if (caret && !line_blank(l)) {
            node = l;
            caret = false;
        }
        size_t k = 0;
        while (k < l.n && (l.s[k] == ' ' || l.s[k] == '\t'))
            k++;
        if (k < l.n && l.s[k] == '^' && line_blank((text_line_t){l.s + k + 1, l.n - k - 1}))
            caret = true;
        if (!line_blank(l))
            last = l;
    }
    if (panic.s && goroutine) {
        *len = panic.n;
        return panic.s;
    }
    if (py && err_line == py) {
        *len = py_len;
        return py;
    }
    if (last.s && line_starts(last, "Node.js v") && last.n > 9 &&
        isdigit((unsigned char)last.s[9]) && (node.s || err_line)) {
        *len = node.s ? node.n : err_len;
        return node.s ? node.s : err_line;
    }
    return NULL;
}

static size_t common_prefix(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static size_t common_suffix(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[na - 1 - i] == b[nb - 1 - i])
        i++;
    return i;
}

/*
 * Retry-append: out = P1 + P2 + ... + Pk + ans with k >= 1 and each Pi a non-empty prefix of
 * ans, which is what a client prints when it appends each retry's text to the last one's.
 * z[i] is the length of the longest common prefix of out[i..] and ans (a Z-function over
 * ans + separator + out); ok[i] says out[i..] splits that way, computed from the back with the
 * nearest splittable position so the whole test is linear. Sets *first to |P1|.
 */
static bool retry_append(const char *out, size_t n, const char *ans, size_t m, size_t *first)
{
    if (m == 0 || n <= m || n > UINT32_MAX / 2 || memcmp(out + n - m, ans, m) != 0 ||
        out[0] != ans[0])
        return false;
    size_t total = m + 1 + n;
    uint32_t *z = calloc(total, sizeof(*z));
    uint32_t *next_ok = malloc((n + 2) * sizeof(*next_ok));
    bool found = false;
    if (!z || !next_ok)
        goto done; /* out of memory: judged as corrupted rather than guessed */

#define AT(i)                                                                                      \
    ((i) < m ? (int)(unsigned char)ans[i] : (i) == m ? -1 : (int)(unsigned char)out[(i)-m - 1])
    size_t l = 0, r = 0;
    for (size_t i = 1; i < total; i++) {
        size_t k = 0;
        if (i < r)
            k = z[i - l] < r - i ? z[i - l] : r - i;
        while (i + k < total && AT(k) == AT(i + k))
            k++;
        z[i] = (uint32_t)k;
        if (i + k > r) {
            l = i;
            r = i + k;
        }
    }
#undef AT
    /* next_ok[p] = the smallest q >= p with out[q..] splittable (n + 1 for none) */
    next_ok[n + 1] = (uint32_t)n + 1;
    next_ok[n] = (uint32_t)n + 1;
    for (size_t p = n; p-- > 0;) {
        size_t lcp = z[m + 1 + p];
        bool ok = (n - p == m && lcp == m) || (lcp > 0 && next_ok[p + 1] <= p + lcp);
        next_ok[p] = ok ? (uint32_t)p : next_ok[p + 1];
    }
    found = next_ok[0] == 0;
    if (found) {
        size_t lcp = z[m + 1];
        *first = next_ok[1] <= lcp ? next_ok[1] : lcp;
    }
done:
    free(z);
    free(next_ok);
    return found;
}

/* The first byte where two texts differ, or -1 when they are equal. */
static int64_t diff_offset(const char *a, size_t na, const char *b, size_t nb)
{
    size_t p = common_prefix(a, na, b, nb);
    return p == na && p == nb ? -1 : (int64_t)p;
}

static void judge_output(const fl_evidence_t *ev, const char *out, size_t n, fl_judgement_t *j,
                         line_t *l)
{
    const fl_scenario_t *sc = ev->scenario;
    const char *ans = fl_scenario_answer(sc);
    bool faulted = fl_evidence_any_fault(ev);
    fl_verdict_t good = faulted ? FL_VERDICT_RECOVERED : FL_VERDICT_CORRECT;
    size_t reqs = ev->n_attempts;

    if (!ans) {
        j->verdict = good;
        say(l, "exit 0 with %zu bytes in %zu %s (no known answer to compare)", n, reqs,
            plural(reqs, "request", "requests"));
        return;
    }
    size_t m = strlen(ans);
    j->diff_at = diff_offset(out, n, ans, m);

    if (sc->response.tool_call && n > 0) {
        json_t *want = json_loadb(ans, m, 0, NULL);
        json_t *got = want ? json_loadb(out, n, 0, NULL) : NULL;
        if (want) {
            bool same = got && json_equal(want, got);
            json_decref(want);
            json_decref(got);
            if (same) {
                j->verdict = good;
                j->diff_at = -1;
                say(l, "exit 0 with the tool call %s in %zu %s", sc->response.tool_call->name, reqs,
                    plural(reqs, "request", "requests"));
            } else {
                j->verdict = FL_VERDICT_CORRUPTED;
                say(l, "exit 0 with %s tool call (%zu bytes); expected %s",
                    got ? "another" : "no valid", n, ans);
            }
            return;
        }
        /* the scenario's own line did not parse: compare bytes like any answer */
    }

    if (j->diff_at < 0) {
        j->verdict = good;
        say(l, "exit 0 with the exact answer (%zu bytes) in %zu %s", m, reqs,
            plural(reqs, "request", "requests"));
        return;
    }
    if (n < m && (size_t)j->diff_at == n) {
        j->verdict = FL_VERDICT_SILENT_TRUNCATION;
        say(l, "exit 0 with %zu of %zu bytes (stdout ends at byte %zu)", n, m, n);
        return;
    }
    size_t first;
    if (retry_append(out, n, ans, m, &first)) {
        j->verdict = FL_VERDICT_DUPLICATED;
        say(l, "exit 0 with %zu bytes for a %zu-byte answer: the answer restarts after byte %zu", n,
            m, first);
        return;
    }
    if (n > m) {
        size_t p = common_prefix(out, n, ans, m), s = common_suffix(out, n, ans, m);
        if (p + s >= n) {
            /* out = ans[0, p) + ans[q, m) with q = m - (n - p): ans[q, p) appears twice */
            size_t q = m - (n - p);
            j->verdict = FL_VERDICT_DUPLICATED;
            say(l, "exit 0 with %zu bytes for a %zu-byte answer: bytes %zu..%zu repeated", n, m, q,
                p);
            return;
        }
    }
    j->verdict = FL_VERDICT_CORRUPTED;
    say(l, "exit 0 with %zu bytes for a %zu-byte answer, differing at byte %" PRId64, n, m,
        j->diff_at);
    if ((size_t)j->diff_at < n) {
        say_byte(l, " (", (unsigned char)out[j->diff_at], "");
        if ((size_t)j->diff_at < m) {
            say_byte(l, " for ", (unsigned char)ans[j->diff_at], ")");
        } else {
            say(l, " past the answer's end)");
        }
    }
}

static void add_findings(const fl_evidence_t *ev, fl_judgement_t *j, line_t *l)
{
    const fl_expect_t *x = &ev->scenario->expect;
    if (ev->n_attempts > x->max_attempts) {
        j->findings |= FL_FINDING_RETRY_STORM;
        uint64_t span = 0;
        const fl_attempt_ev_t *last = &ev->attempts[ev->n_attempts - 1];
        span = last->start_ms - ev->attempts[0].start_ms;
        say(l, "; %zu requests in %" PRIu64 " ms (max_attempts %" PRIu64 ")", ev->n_attempts, span,
            x->max_attempts);
    }
    /* the worst offence of each kind is the one the reason quotes */
    const fl_attempt_ev_t *ra = NULL, *bo = NULL;
    size_t ra_i = 0, bo_i = 0;
    for (size_t i = 0; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *a = &ev->attempts[i];
        if (a->gap_ms < 0)
            continue;
        if (x->min_backoff_ms > 0 && (uint64_t)a->gap_ms < x->min_backoff_ms &&
            (!bo || a->gap_ms < bo->gap_ms)) {
            bo = a;
            bo_i = i;
        }
        if (x->respect_retry_after && a->retry_after_ms >= 0 &&
            a->gap_ms + FL_VERDICT_RETRY_AFTER_SLACK_MS < a->retry_after_ms &&
            (!ra || a->retry_after_ms - a->gap_ms > ra->retry_after_ms - ra->gap_ms)) {
            ra = a;
            ra_i = i;
        }
    }
    if (ra) {
        j->findings |= FL_FINDING_IGNORED_RETRY_AFTER;
        say(l, "; Retry-After asked %" PRId64 " ms, waited %" PRId64 " ms before attempt %zu",
            ra->retry_after_ms, ra->gap_ms, ra_i + 1);
    }
    if (bo) {
        j->findings |= FL_FINDING_NO_BACKOFF;
        say(l, "; attempt %zu came %" PRId64 " ms after the last (min_backoff_ms %" PRIu64 ")",
            bo_i + 1, bo->gap_ms, x->min_backoff_ms);
    }
}

/* The upstream attempt whose answer the relay passed on: the last with a 2xx status. */
static const fl_attempt_ev_t *delivering_attempt(const fl_evidence_t *ev)
{
    for (size_t i = ev->n_attempts; i-- > 0;)
        if (ev->attempts[i].status >= 200 && ev->attempts[i].status < 300)
            return &ev->attempts[i];
    return NULL;
}

/* Relay mode's findings, from both sides of the relay (README, "Relays under test"). */
static void add_relay_findings(const fl_evidence_t *ev, fl_judgement_t *j, line_t *l)
{
    const fl_relay_ev_t *r = &ev->relay;
    const fl_expect_t *x = &ev->scenario->expect;
    const fl_attempt_ev_t *up = delivering_attempt(ev);
    if (up && r->first_text_ms >= 0 && up->first_byte_ms >= 0 && up->last_byte_ms >= 0 &&
        up->last_byte_ms - up->first_byte_ms >= FL_VERDICT_BUFFER_SPAN_MS &&
        r->first_text_ms + FL_VERDICT_BUFFER_SLACK_MS >= up->last_byte_ms) {
        j->findings |= FL_FINDING_BUFFERED;
        say(l,
            "; buffered: the first text reached the browser at %" PRId64
            " ms, the upstream streamed from %" PRId64 " to %" PRId64 " ms",
            r->first_text_ms, up->first_byte_ms, up->last_byte_ms);
    }
    if (x->heartbeat_ms && r->max_gap_ms > (int64_t)x->heartbeat_ms) {
        j->findings |= FL_FINDING_NO_HEARTBEAT;
        say(l,
            "; no byte reached the browser for %" PRId64 " ms from %" PRId64
            " ms (heartbeat_ms %" PRIu64 ")",
            r->max_gap_ms, r->max_gap_at_ms, x->heartbeat_ms);
    }
    if (r->left_ms >= 0) {
        for (size_t i = 0; i < ev->n_attempts; i++) {
            const fl_attempt_ev_t *a = &ev->attempts[i];
            bool open = a->end_ms < 0 || a->end_ms > r->left_ms + FL_VERDICT_CANCEL_BOUND_MS;
            bool after = (int64_t)a->start_ms > r->left_ms;
            if (!open && !after)
                continue;
            j->findings |= FL_FINDING_UPSTREAM_NOT_CANCELLED;
            if (after)
                say(l,
                    "; upstream attempt %zu began at %" PRId64
                    " ms, after the browser left at %" PRId64 " ms",
                    i + 1, (int64_t)a->start_ms, r->left_ms);
            else if (a->end_ms < 0)
                say(l,
                    "; upstream attempt %zu still open when the run ended, the browser left at "
                    "%" PRId64 " ms",
                    i + 1, r->left_ms);
            else
                say(l,
                    "; upstream attempt %zu ran until %" PRId64
                    " ms (%s), the browser left at %" PRId64 " ms",
                    i + 1, a->end_ms, a->end, r->left_ms);
            break;
        }
    }
    const fl_attempt_ev_t *last = ev->n_attempts ? &ev->attempts[ev->n_attempts - 1] : NULL;
    if (last && ev->exit_kind == FL_EXIT_CODE && ev->exit_code == 0 && r->left_ms < 0 &&
        (j->verdict == FL_VERDICT_SILENT_TRUNCATION || j->verdict == FL_VERDICT_CORRUPTED) &&
        (last->status < 200 || last->status > 299 || strcmp(last->end, "complete") != 0)) {
        j->findings |= FL_FINDING_ERROR_SWALLOWED;
        if (last->status < 200 || last->status > 299)
            say(l, "; error swallowed: the upstream answered HTTP %d, the browser saw a clean end",
                last->status);
        else
            say(l, "; error swallowed: the upstream response ended %s, the browser saw a clean end",
                last->end);
    }
}

/* Relay mode speaks of the browser's view: "exit 0" is a clean end, "exit 1" an explicit
 * error (evidence.h, fl_relay_ev_t). */
static void relay_words(fl_judgement_t *j)
{
    static const char *const from[] = {"exit 0", "exit 1", "killed at the"};
    static const char *const to[] = {"clean end", "explicit error", "the browser gave up at the"};
    for (size_t i = 0; i < 3; i++) {
        size_t k = strlen(from[i]);
        if (strncmp(j->reason, from[i], k) != 0)
            continue;
        char tmp[sizeof(j->reason)];
        snprintf(tmp, sizeof(tmp), "%s%s", to[i], j->reason + k);
        memcpy(j->reason, tmp, sizeof(tmp));
    }
}

/* The id of the last event response i (0-based) delivered whole that carries one, into buf; false
 * when none did. The events delivered are those after the ones a resume left out. Responses'
 * events all carry their sequence_number (their index in the stream); raw events their `id:`. */
static bool delivered_id(const fl_scenario_t *sc, size_t i, const fl_attempt_ev_t *a, char *buf,
                         size_t n)
{
    uint64_t first = a->resume_skipped > 0 ? (uint64_t)a->resume_skipped : 0;
    if (a->events_sent == 0)
        return false;
    uint64_t last = first + a->events_sent - 1; /* 0-based index in the whole stream */
    const fl_response_t *r = &sc->response;
    if (sc->n_attempts) {
        const fl_attempt_t *e = &sc->attempts[i < sc->n_attempts ? i : sc->n_attempts - 1];
        if (e->response)
            r = e->response;
    }
    if (r->events) {
        for (uint64_t k = last + 1; k-- > 0;)
            if (k < r->n_events && r->events[k].id) {
                snprintf(buf, n, "%s", r->events[k].id);
                return true;
            }
        return false;
    }
    if (sc->dialect != FL_DIALECT_OPENAI_RESPONSES)
        return false;
    snprintf(buf, n, "%" PRIu64, last);
    return true;
}

/* restarted_not_resumed: expect.resume is required, a streamed 200 broke off after delivering an
 * event with an id (a resume was on offer: the scenario has resume), and the next request had the
 * whole answer generated again instead of asking for the rest (a GET of the stored response,
 * even from its start, regenerates nothing). */
static void resume_finding(const fl_evidence_t *ev, fl_judgement_t *j, line_t *l)
{
    const fl_scenario_t *sc = ev->scenario;
    if (!sc->resume || sc->expect.resume != FL_RESUME_REQUIRED)
        return;
    for (size_t i = 1; i < ev->n_attempts; i++) {
        const fl_attempt_ev_t *prev = &ev->attempts[i - 1], *a = &ev->attempts[i];
        char id[64];
        if (a->resume_asked || a->retrieved || prev->status != 200 || !prev->stream ||
            strcmp(prev->end, "complete") == 0 || !delivered_id(sc, i - 1, prev, id, sizeof(id)))
            continue;
        j->findings |= FL_FINDING_RESTARTED_NOT_RESUMED;
        say(l, "; attempt %zu started over instead of resuming after event id %s of attempt %zu",
            i + 1, id, i);
        return;
    }
}

/* ---- the structured result ---------------------------------------------------------------- */

/* A finish reason in OpenAI's words, whatever the dialect said (README "The client contract"):
 * stop, length, tool_calls, content_filter; another word comes back lower-cased as it is. */
static void finish_word(const char *in, char *out, size_t n)
{
    static const char *const map[][2] = {
        {"end_turn", "stop"},
        {"stop_sequence", "stop"},
        {"completed", "stop"},
        {"max_tokens", "length"},
        {"incomplete", "length"},
        {"tool_use", "tool_calls"},
        {"function_call", "tool_calls"},
        {"refusal", "content_filter"},
        {"safety", "content_filter"},
        {"recitation", "content_filter"},
        {"blocklist", "content_filter"},
        {"prohibited_content", "content_filter"},
        {"spii", "content_filter"},
    };
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = in[i] == '-' ? '_' : (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
    for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
        if (strcmp(out, map[k][0]) == 0) {
            snprintf(out, n, "%s", map[k][1]);
            return;
        }
}

/* Whether the client's finish reason says what the server's did. Responses and Gemini have no
 * word of their own for a tool call (completed, STOP): there stop and tool_calls are the same. */
static bool same_finish(const fl_scenario_t *sc, const char *client, const char *sent)
{
    char a[32], b[32];
    finish_word(client, a, sizeof(a));
    finish_word(sent, b, sizeof(b));
    if (strcmp(a, b) == 0)
        return true;
    bool no_tool_word =
        sc->dialect == FL_DIALECT_OPENAI_RESPONSES || sc->dialect == FL_DIALECT_GEMINI;
    return no_tool_word && sc->response.tool_call && strcmp(b, "stop") == 0 &&
           strcmp(a, "tool_calls") == 0;
}

/* The attempt a result speaks of: the one whose response id it names, else the last answered
 * with a 200 (the stream the client finished on), else the last. */
static const fl_attempt_ev_t *result_attempt(const fl_evidence_t *ev, const json_t *res,
                                             size_t *index)
{
    const char *id = json_string_value(json_object_get(res, "response_id"));
    for (size_t i = 0; id && i < ev->n_attempts; i++)
        if (ev->attempts[i].response_id[0] && strstr(id, ev->attempts[i].response_id)) {
            *index = i;
            return &ev->attempts[i];
        }
    for (size_t i = ev->n_attempts; i-- > 0;)
        if (ev->attempts[i].status == 200) {
            *index = i;
            return &ev->attempts[i];
        }
    *index = ev->n_attempts - 1;
    return &ev->attempts[*index];
}

static void judge_usage(const json_t *u, const fl_attempt_ev_t *a, size_t ai, fl_judgement_t *j,
                        line_t *l)
{
    if (json_is_null(u)) {
        if (a->usage_sent) {
            j->findings |= FL_FINDING_WRONG_USAGE;
            say(l, "; result: usage null, but attempt %zu sent it", ai + 1);
        }
        return;
    }
    if (!json_is_object(u)) {
        j->findings |= FL_FINDING_BAD_RESULT;
        say(l, "; result: usage is not an object");
        return;
    }
    if (!a->usage_sent) {
        j->findings |= FL_FINDING_WRONG_USAGE;
        say(l, "; result: usage, but attempt %zu never delivered any (end %s)", ai + 1, a->end);
        return;
    }
    static const char *const keys[] = {"input_tokens", "output_tokens"};
    const int64_t sent[] = {a->usage_input, a->usage_output};
    for (size_t k = 0; k < 2; k++) {
        const json_t *v = json_object_get(u, keys[k]);
        if (!v || sent[k] < 0)
            continue; /* a count the client did not report, or the server did not send */
        if (!json_is_integer(v) || json_integer_value(v) != sent[k]) {
            j->findings |= FL_FINDING_WRONG_USAGE;
            say(l, "; result: %s ", keys[k]);
            if (json_is_integer(v))
                say(l, "%" PRId64, (int64_t)json_integer_value(v));
            else
                say(l, "not an integer");
            say(l, ", attempt %zu sent %" PRId64, ai + 1, sent[k]);
            return;
        }
    }
}

/*
 * Checks the client's structured result against what the server sent (README "The client
 * contract" and the rubric): invented_finish, wrong_finish, wrong_usage, bad_result. A run
 * without the file is not judged here: the result is opt-in, and so is each of its fields.
 */
static void judge_result(const fl_evidence_t *ev, fl_judgement_t *j, line_t *l)
{
    if (!ev->result_found)
        return;
    if (ev->result_error[0]) {
        j->findings |= FL_FINDING_BAD_RESULT;
        say(l, "; result file %s", ev->result_error);
        return;
    }
    json_error_t e;
    json_t *res = json_loadb(ev->result.data ? ev->result.data : "", ev->result.len, 0, &e);
    if (!json_is_object(res)) {
        j->findings |= FL_FINDING_BAD_RESULT;
        if (res)
            say(l, "; result file holds JSON but not an object");
        else
            /* where, not jansson's text: that quotes the client's bytes, control bytes and all
             * (found by fuzz_judge) */
            say(l, "; result file is not JSON (line %d, column %d)", e.line, e.column);
        json_decref(res);
        return;
    }
    size_t ai;
    const fl_attempt_ev_t *a = result_attempt(ev, res, &ai);
    /* a 200 whose end the journal cannot name (raw events) is not judged */
    bool known = a->finish_reason[0] || a->status != 200;
    const json_t *fr = json_object_get(res, "finish_reason");
    if (known && json_is_string(fr)) {
        const char *said = json_string_value(fr);
        if (!a->finish_sent) {
            j->findings |= FL_FINDING_INVENTED_FINISH;
            say(l, "; result: finish_reason ");
            say_quoted(l, said, strlen(said), 24);
            say(l, ", but attempt %zu never delivered one (end %s)", ai + 1, a->end);
        } else if (!same_finish(ev->scenario, said, a->finish_reason)) {
            j->findings |= FL_FINDING_WRONG_FINISH;
            say(l, "; result: finish_reason ");
            say_quoted(l, said, strlen(said), 24);
            say(l, ", attempt %zu sent '%s'", ai + 1, a->finish_reason);
        }
    } else if (fr && !json_is_string(fr) && !json_is_null(fr)) {
        j->findings |= FL_FINDING_BAD_RESULT;
        say(l, "; result: finish_reason is not a string");
    }
    const json_t *u = json_object_get(res, "usage");
    if (known && u)
        judge_usage(u, a, ai, j, l);
    json_decref(res);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGPIPE:
        return "SIGPIPE";
    default:
        return "a signal";
    }
}

void fl_verdict_judge(const fl_evidence_t *ev, fl_judgement_t *j)
{
    memset(j, 0, sizeof(*j));
    j->diff_at = -1;
    line_t l = {j->reason, sizeof(j->reason), 0};
    const fl_expect_t *x = &ev->scenario->expect;
    size_t reqs = ev->n_attempts;
    const fl_attempt_ev_t *last = reqs ? &ev->attempts[reqs - 1] : NULL;

    if (ev->exit_kind == FL_EXIT_SPAWN) {
        j->verdict = FL_VERDICT_NO_REQUEST;
        say(&l, "could not start the %s: %s", ev->relay.on ? "relay" : "client", ev->spawn_error);
        goto score; /* nothing ran: no findings */
    }
    if (ev->relay.on && ev->relay.left_ms >= 0 && reqs > 0) {
        /* The browser left on purpose: what it got is not judged, only what the relay did. */
        j->verdict = fl_evidence_any_fault(ev) ? FL_VERDICT_RECOVERED : FL_VERDICT_CORRECT;
        say(&l, "the browser left at %" PRId64 " ms as scripted, after %zu bytes of text",
            ev->relay.left_ms, ev->out.len);
        add_findings(ev, j, &l);
        add_relay_findings(ev, j, &l);
        goto score;
    }
    if (ev->exit_kind == FL_EXIT_DEADLINE) {
        j->verdict = FL_VERDICT_HUNG;
        say(&l, "killed at the %" PRIu64 " ms deadline", x->deadline_ms);
        int64_t left = last && last->end_ms >= 0 ? (int64_t)x->deadline_ms - last->end_ms : -1;
        if (last && last->stalled) {
            j->findings |= FL_FINDING_STALL_UNDETECTED;
            say(&l, " while attempt %zu sat in a stall", reqs);
        } else if (left >= 0 && last->sent_retry_after_ms > left) {
            /* Not stuck: waiting out the wait the server asked for, which outlasts the deadline.
             * A client with a deadline of its own gives up at once instead (README, rubric). */
            j->findings |= FL_FINDING_RETRY_AFTER_PAST_DEADLINE;
            say(&l,
                " while waiting out a Retry-After of %" PRId64 " ms from attempt %zu with %" PRId64
                " ms left",
                last->sent_retry_after_ms, reqs, left);
        } else if (last) {
            say(&l, " after %zu %s (the last %s)", reqs, plural(reqs, "request", "requests"),
                last->end);
        } else {
            say(&l, " without a request");
        }
    } else if (ev->exit_kind == FL_EXIT_SIGNAL) {
        j->verdict = FL_VERDICT_CRASHED;
        say(&l, "killed by %s (%d) after %" PRIu64 " ms and %zu %s", signal_name(ev->term_signal),
            ev->term_signal, ev->wall_ms, reqs, plural(reqs, "request", "requests"));
    } else if (reqs == 0) {
        j->verdict = FL_VERDICT_NO_REQUEST;
        say(&l, "exit %d after %" PRIu64 " ms without a request", ev->exit_code, ev->wall_ms);
    } else if (ev->exit_code != 0) {
        j->verdict =
            x->outcome == FL_OUTCOME_COMPLETE ? FL_VERDICT_GAVE_UP : FL_VERDICT_FAILED_CLEANLY;
        say(&l, "exit %d after %zu %s", ev->exit_code, reqs, plural(reqs, "request", "requests"));
        if (j->verdict == FL_VERDICT_GAVE_UP)
            say(&l, " (expect.outcome is complete)");
        size_t len, ulen;
        const char *msg = stderr_line(&ev->err, &len);
        const char *crash = uncaught_line(&ev->err, msg, len, &ulen);
        if (crash) {
            j->findings |= FL_FINDING_UNCAUGHT_EXCEPTION;
            say(&l, ": uncaught exception: ");
            say_quoted(&l, crash, ulen, 60);
        } else if (msg) {
            say(&l, ": ");
            say_quoted(&l, msg, len, 60);
        } else {
            j->findings |= FL_FINDING_NO_ERROR_MESSAGE;
            say(&l, " with nothing on stderr");
        }
    } else {
        const char *out = ev->out.data ? ev->out.data : "";
        size_t n = ev->out.len;
        if (n >= 1 && out[n - 1] == '\n')
            n -= (n >= 2 && out[n - 2] == '\r') ? 2 : 1;
        judge_output(ev, out, n, j, &l);
    }
    add_findings(ev, j, &l);
    if (ev->exit_kind == FL_EXIT_CODE && reqs > 0)
        judge_result(ev, j, &l);
    if (ev->relay.on) {
        relay_words(j);
        l.len = strlen(j->reason);
        add_relay_findings(ev, j, &l);
    }
    resume_finding(ev, j, &l);

score:;
    int score = fl_verdict_base_score(j->verdict);
#define X(name, s, bit)                                                                            \
    if (j->findings & (bit))                                                                       \
        score -= fl_finding_penalty(bit);
    FL_FINDING_MAP(X)
#undef X
    j->score = score < 0 ? 0 : score;
    j->passed = j->score == 100;
}

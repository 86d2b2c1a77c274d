/*
 * The table a person reads after `faultline run`: one line per run (scenario, verdict, score,
 * reason), cut to the terminal's width, then the total score with the verdict and finding
 * counts.
 */
#include "judge/report.h"

#include "base/text.h"
#include "judge/report_impl.h"

#include <string.h>

#define TABLE_COLS   100
#define NAME_COL_MAX 40
#define VERDICT_COL  17
#define SCORE_COL    5
#define ANSI_RESET   "\033[0m"
#define ANSI_BOLD    "\033[1m"
#define ANSI_RED     "\033[31m"
#define ANSI_GREEN   "\033[32m"
#define ANSI_YELLOW  "\033[33m"

static const char *verdict_color(const fl_judgement_t *j)
{
    switch (j->verdict) {
    case FL_VERDICT_CORRECT:
    case FL_VERDICT_RECOVERED:
    case FL_VERDICT_FAILED_CLEANLY:
        return j->findings ? ANSI_YELLOW : ANSI_GREEN;
    case FL_VERDICT_GAVE_UP:
    case FL_VERDICT_CRASHED:
        return ANSI_YELLOW;
    default:
        return ANSI_RED;
    }
}

/* Prints s cut to at most cols characters (code points), "..." marking a cut. */
static void print_cut(FILE *out, const char *s, size_t cols)
{
    size_t n = strlen(s), chars = 0, i = 0;
    while (i < n) {
        i += fl_utf8_char_len(s + i, n - i);
        chars++;
    }
    if (chars <= cols) {
        fputs(s, out);
        return;
    }
    size_t keep = cols > 3 ? cols - 3 : 0;
    i = 0;
    for (size_t c = 0; c < keep && i < n; c++)
        i += fl_utf8_char_len(s + i, n - i);
    fprintf(out, "%.*s...", (int)i, s);
}

/* One row: the name cut to name_w, the verdict (colored when vcolor), the score, the reason. */
static void print_row(FILE *out, const char *name, size_t name_w, const char *verdict,
                      const char *vcolor, const char *score, const char *reason, size_t reason_w)
{
    print_cut(out, name, name_w);
    size_t shown = strlen(name) > name_w ? name_w : strlen(name);
    fprintf(out, "%*s  ", (int)(name_w - shown), "");
    fprintf(out, "%s%s%s%*s", vcolor ? vcolor : "", verdict, vcolor ? ANSI_RESET : "",
            (int)(VERDICT_COL - strlen(verdict)), "");
    fprintf(out, "  %*s  ", SCORE_COL, score);
    print_cut(out, reason, reason_w);
    fputc('\n', out);
}

static size_t wider(size_t name_w, const char *name)
{
    size_t n = strlen(name);
    return n > name_w ? (n > NAME_COL_MAX ? NAME_COL_MAX : n) : name_w;
}

void fl_report_print_table(const fl_report_t *r, FILE *out, bool color)
{
    bool repeated = fl_report__any_repeat(r);
    size_t name_w = strlen("scenario");
    char name[160], score[16];
    for (size_t i = 0; i < r->n_items; i++) {
        const fl_evidence_t *ev = &r->items[i].ev;
        fl_report__name(ev->scenario, ev->repeat, repeated, name, sizeof(name));
        name_w = wider(name_w, name);
    }
    for (size_t i = 0; i < r->n_not_run; i++) {
        fl_report__name(r->not_run[i].scenario, r->not_run[i].repeat, repeated, name, sizeof(name));
        name_w = wider(name_w, name);
    }
    size_t cols = r->table_cols ? r->table_cols : TABLE_COLS;
    size_t fixed = name_w + VERDICT_COL + SCORE_COL + 6;
    size_t reason_w = cols > fixed + 20 ? cols - fixed : 20;

    fprintf(out, "%-*s  %-*s  %*s  %s\n", (int)name_w, "scenario", VERDICT_COL, "verdict",
            SCORE_COL, "score", "reason");
    for (size_t i = 0; i < r->n_items; i++) {
        const fl_run_result_t *it = &r->items[i];
        fl_report__name(it->ev.scenario, it->ev.repeat, repeated, name, sizeof(name));
        snprintf(score, sizeof(score), "%d", it->j.score);
        print_row(out, name, name_w, fl_verdict_name(it->j.verdict),
                  color ? verdict_color(&it->j) : NULL, score, it->j.reason, reason_w);
    }
    for (size_t i = 0; i < r->n_not_run; i++) {
        const fl_report_not_run_t *nr = &r->not_run[i];
        fl_report__name(nr->scenario, nr->repeat, repeated, name, sizeof(name));
        print_row(out, name, name_w, "not run", color ? ANSI_RED : NULL, "-",
                  fl_report__not_run_reason(r, nr), reason_w);
    }

    size_t counts[FL_VERDICT_COUNT];
    fl_report__count_verdicts(r, counts);
    fputc('\n', out);
    if (color)
        fputs(r->interrupted ? ANSI_BOLD ANSI_RED : ANSI_BOLD, out);
    /* A partial mean is not the client's score: an interrupted run says so instead. */
    if (r->interrupted)
        fprintf(out, "INTERRUPTED: %zu of %zu runs not run, no score", r->n_not_run,
                r->n_items + r->n_not_run);
    else
        fprintf(out, "score %.1f/100", fl_report_score(r));
    if (color)
        fputs(ANSI_RESET, out);
    fputs("  (", out);
    const char *sep = "";
    for (unsigned v = 0; v < FL_VERDICT_COUNT; v++) {
        if (!counts[v])
            continue;
        fprintf(out, "%s%zu %s", sep, counts[v], fl_verdict_name((fl_verdict_t)v));
        sep = ", ";
    }
    if (!r->n_items)
        fputs("no runs", out);
    fputs(")", out);
    if (!r->interrupted && r->n_not_run)
        fprintf(out, "; %zu not run", r->n_not_run);
    const char *fsep = "; findings: ";
#define X(fname, s, bit)                                                                           \
    {                                                                                              \
        size_t n = fl_report__count_finding(r, bit);                                               \
        if (n) {                                                                                   \
            fprintf(out, "%s%s%zu %s%s", fsep, color ? ANSI_YELLOW : "", n, s,                     \
                    color ? ANSI_RESET : "");                                                      \
            fsep = ", ";                                                                           \
        }                                                                                          \
    }
    FL_FINDING_MAP(X)
#undef X
    fputc('\n', out);
}

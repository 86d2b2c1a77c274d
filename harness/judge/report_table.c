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

void fl_report_print_table(const fl_report_t *r, FILE *out, bool color)
{
    bool repeated = fl_report__any_repeat(r);
    size_t name_w = strlen("scenario");
    char name[160];
    for (size_t i = 0; i < r->n_items; i++) {
        fl_report__run_name(&r->items[i], repeated, name, sizeof(name));
        size_t n = strlen(name);
        if (n > name_w)
            name_w = n > NAME_COL_MAX ? NAME_COL_MAX : n;
    }
    size_t cols = r->table_cols ? r->table_cols : TABLE_COLS;
    size_t fixed = name_w + VERDICT_COL + SCORE_COL + 6;
    size_t reason_w = cols > fixed + 20 ? cols - fixed : 20;

    fprintf(out, "%-*s  %-*s  %*s  %s\n", (int)name_w, "scenario", VERDICT_COL, "verdict",
            SCORE_COL, "score", "reason");
    for (size_t i = 0; i < r->n_items; i++) {
        const fl_run_result_t *it = &r->items[i];
        fl_report__run_name(it, repeated, name, sizeof(name));
        print_cut(out, name, name_w);
        size_t shown = strlen(name) > name_w ? name_w : strlen(name);
        fprintf(out, "%*s  ", (int)(name_w - shown), "");
        const char *v = fl_verdict_name(it->j.verdict);
        fprintf(out, "%s%s%s%*s", color ? verdict_color(&it->j) : "", v, color ? ANSI_RESET : "",
                (int)(VERDICT_COL - strlen(v)), "");
        fprintf(out, "  %*d  ", SCORE_COL, it->j.score);
        print_cut(out, it->j.reason, reason_w);
        fputc('\n', out);
    }

    size_t counts[FL_VERDICT_COUNT];
    fl_report__count_verdicts(r, counts);
    fputc('\n', out);
    if (color)
        fputs(ANSI_BOLD, out);
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

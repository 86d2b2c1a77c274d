/*
 * Fuzz target: the scenario loader (load/load.h) on arbitrary bytes.
 *
 * Every input is loaded with fl_scenario_load_string. Whatever the bytes, the loader must return
 * one of its documented codes, succeed exactly when it hands out a scenario, explain every
 * refusal with at least one diagnostic, and write only well-formed diagnostics: a message, the
 * file name it was given, NUL-terminated fields and line/column inside the input. An accepted
 * scenario is checked for the model's own promises (scenario.h) and freed, so LeakSanitizer sees
 * every path that forgets something.
 */
#include "fuzz.h"

#include "base/error.h"
#include "load/load.h"
#include "model/scenario.h"

#include <string.h>

#define NAME "fuzz.yaml"

/* Line breaks as libyaml counts them (YAML 1.2 section 5.4): LF, CR, CRLF, and in UTF-8 NEL,
 * LS and PS. A diagnostic's 1-based line is at most this plus one, or plus two at column 1:
 * libyaml ends the stream with a line break of its own when the last line has none
 * (yaml_parser_fetch_stream_end), so an error at the end of the input is reported there. */
static size_t count_breaks(const uint8_t *d, size_t n)
{
    size_t breaks = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\n') {
            breaks++;
        } else if (d[i] == '\r') {
            breaks++;
            if (i + 1 < n && d[i + 1] == '\n')
                i++;
        } else if (d[i] == 0xC2 && i + 1 < n && d[i + 1] == 0x85) {
            breaks++;
        } else if (d[i] == 0xE2 && i + 2 < n && d[i + 1] == 0x80 &&
                   (d[i + 2] == 0xA8 || d[i + 2] == 0xA9)) {
            breaks++;
        }
    }
    return breaks;
}

/* Whether diagnostic i may name another file: one that a `capture:` path of the input refers
 * to (its own errors name it, with its own lines), vouched for by a later diagnostic on the
 * input's capture field ("cannot replay ... (see above)"). */
static bool names_capture(const fl_diag_list_t *l, size_t i)
{
    for (size_t j = i + 1; j < l->len; j++)
        if (strcmp(l->items[j].file, NAME) == 0 && strstr(l->items[j].field, "capture"))
            return true;
    return false;
}

static void check_diag(const fl_diag_list_t *l, size_t i, size_t breaks, size_t size)
{
    const fl_diag_t *d = &l->items[i];
    FZ_CHECK(memchr(d->file, '\0', sizeof(d->file)) != NULL, "file not NUL-terminated");
    FZ_CHECK(memchr(d->field, '\0', sizeof(d->field)) != NULL, "field not NUL-terminated");
    FZ_CHECK(memchr(d->message, '\0', sizeof(d->message)) != NULL, "message not NUL-terminated");
    FZ_CHECK(d->message[0] != '\0', "empty message (field '%s')", d->field);
    char buf[1400];
    fl_diag_format(d, buf, sizeof(buf));
    FZ_CHECK(strstr(buf, d->message) != NULL, "formatted diagnostic lacks its message: %s", buf);
    if (strcmp(d->file, NAME) != 0) {
        FZ_CHECK(names_capture(l, i), "file '%s', not the name given nor a capture of it", d->file);
        return; /* its lines are the capture file's */
    }
    FZ_CHECK(d->line >= 0 && d->col >= 0, "line %d col %d", d->line, d->col);
    FZ_CHECK((size_t)d->line <= breaks + 1 || ((size_t)d->line == breaks + 2 && d->col == 1),
             "line %d col %d past the input's %zu line breaks: %s", d->line, d->col, breaks,
             d->message);
    FZ_CHECK((size_t)d->col <= size + 1, "col %d past the input's %zu bytes: %s", d->col, size,
             d->message);
}

/* What scenario.h promises of every loaded scenario. */
static void check_scenario(const fl_scenario_t *sc)
{
    FZ_CHECK(sc->version == 1, "version %d", sc->version);
    FZ_CHECK(sc->name && sc->name[0], "no name");
    for (const char *c = sc->name; *c; c++)
        FZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-',
                 "name '%s' outside [a-z0-9-]", sc->name);
    FZ_CHECK(sc->dialect == FL_DIALECT_OPENAI_CHAT || sc->dialect == FL_DIALECT_OPENAI_RESPONSES ||
                 sc->dialect == FL_DIALECT_ANTHROPIC_MESSAGES || sc->dialect == FL_DIALECT_GEMINI,
             "dialect %d", (int)sc->dialect);
    const fl_response_t *r = &sc->response;
    int bodies =
        (r->text != NULL) + (r->chunks != NULL) + (r->tool_call != NULL) + (r->events != NULL);
    FZ_CHECK(bodies <= 1, "%d of text/chunks/tool_call/events at once", bodies);
    FZ_CHECK((sc->attempts == NULL) == (sc->n_attempts == 0), "attempts %p with n %zu",
             (void *)sc->attempts, sc->n_attempts);
    /* Raw events need expect.answer (README, "response"), so every scenario has an answer, but
     * a fault profile (no response:, the live upstream's answer) and a byte-exact replay without
     * expect.answer (its text is not always derivable from the bytes). */
    const char *answer = fl_scenario_answer(sc);
    if (sc->profile)
        FZ_CHECK(bodies == 0 && !r->replay, "a profile with a body");
    else
        FZ_CHECK(answer != NULL || r->replay, "no answer");
    if (r->events)
        FZ_CHECK(sc->expect.answer != NULL, "raw events without expect.answer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = (fl_scenario_t *)1; /* must be reset to NULL on failure */
    int rc = fl_scenario_load_string(NAME, (const char *)data, size, &sc, &diags);

    FZ_CHECK(rc == 0 || rc == FL_ESYNTAX || rc == FL_ESCHEMA || rc == FL_ELIMIT,
             "undocumented return %d (%s)", rc, fl_strerror(rc));
    FZ_CHECK((rc == 0) == (sc != NULL), "rc %d with scenario %p", rc, (void *)sc);
    FZ_CHECK(rc == 0 || diags.len > 0, "refused (%s) without a diagnostic", fl_strerror(rc));
    FZ_CHECK(diags.len <= diags.cap && diags.len <= 100, "%zu diagnostics (cap %zu)", diags.len,
             diags.cap);
    size_t breaks = count_breaks(data, size);
    for (size_t i = 0; i < diags.len; i++)
        check_diag(&diags, i, breaks, size);
    if (sc) {
        FZ_CHECK(diags.len == 0, "accepted with %zu diagnostics, first: %s", diags.len,
                 diags.items[0].message);
        check_scenario(sc);
    }
    fl_scenario_free(sc);
    fl_diag_list_close(&diags);
    return 0;
}

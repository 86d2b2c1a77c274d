/* Verdicts on demand; see ondemand.h. */
#include "judge/ondemand.h"

#include "base/error.h"
#include "judge/evidence.h"
#include "judge/report.h"
#include "judge/verdict.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Reads request's optional field key of jansson type want into *v (NULL when absent).
 * Returns 0, or -1 with a message in err when it has another type. */
static int field(const json_t *request, const char *key, json_type want, const char *what,
                 const json_t **v, char *err, size_t n)
{
    *v = json_object_get(request, key);
    if (!*v || json_is_null(*v))
        *v = NULL;
    else if (json_typeof(*v) != want && !(want == JSON_TRUE && json_is_boolean(*v))) {
        snprintf(err, n, "\"%s\" must be %s", key, what);
        return -1;
    }
    return 0;
}

/* Appends s (len bytes) to b, keeping at most FL_CAPTURE_MAX as the runner does. */
static int capture(fl_buf_t *b, bool *truncated, const char *s, size_t len)
{
    *truncated = len > FL_CAPTURE_MAX;
    return fl_buf_append(b, s, *truncated ? FL_CAPTURE_MAX : len);
}

int fl_ondemand_judge(const fl_scenario_t *sc, const json_t *journal, uint64_t spawn_ms,
                      uint64_t now_ms, const json_t *request, json_t **out, char *err,
                      size_t err_len)
{
    const json_t *output, *message, *code, *timed_out, *sig;
    if (!json_is_object(request)) {
        snprintf(err, err_len, "the body must be a JSON object");
        return FL_EINVAL;
    }
    if (field(request, "output", JSON_STRING, "a string", &output, err, err_len) ||
        field(request, "error_message", JSON_STRING, "a string", &message, err, err_len) ||
        field(request, "exit_code", JSON_INTEGER, "an integer", &code, err, err_len) ||
        field(request, "timed_out", JSON_TRUE, "true or false", &timed_out, err, err_len) ||
        field(request, "signal", JSON_INTEGER, "an integer (a signal number)", &sig, err, err_len))
        return FL_EINVAL;
    if (sig && (json_integer_value(sig) <= 0 || json_integer_value(sig) > 64)) {
        snprintf(err, err_len, "\"signal\" must be a signal number, 1 to 64");
        return FL_EINVAL;
    }

    fl_run_result_t it;
    memset(&it, 0, sizeof(it));
    fl_evidence_init(&it.ev, sc, 1, 0);
    fl_evidence_t *ev = &it.ev;
    int rc = FL_ENOMEM;
    if (output && capture(&ev->out, &ev->out_truncated, json_string_value(output),
                          json_string_length(output)))
        goto done;
    if (message && capture(&ev->err, &ev->err_truncated, json_string_value(message),
                           json_string_length(message)))
        goto done;
    ev->wall_ms = now_ms > spawn_ms ? now_ms - spawn_ms : 0;
    if (code)
        ev->exit_code = (int)json_integer_value(code);
    else
        ev->exit_code = ev->err.len > 0 ? 1 : 0;
    if (json_is_true(timed_out))
        ev->exit_kind = FL_EXIT_DEADLINE;
    else if (sig) {
        ev->exit_kind = FL_EXIT_SIGNAL;
        ev->term_signal = (int)json_integer_value(sig);
    } else
        ev->exit_kind = FL_EXIT_CODE;
    rc = fl_evidence_add_journal(ev, journal, spawn_ms, now_ms);
    if (rc == FL_EINVAL)
        snprintf(err, err_len, "the server's journal could not be read as evidence");
    if (rc)
        goto done;
    fl_verdict_judge(ev, &it.j);
    *out = fl_report_run_to_json(&it);
    rc = *out ? 0 : FL_ENOMEM;
done:
    fl_evidence_close(ev);
    return rc;
}

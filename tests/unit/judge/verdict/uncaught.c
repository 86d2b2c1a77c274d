/*
 * Crashes are not clean errors (issue 17): a non-zero exit whose stderr ends with an uncaught
 * exception's report gets the finding uncaught_exception, and the reason quotes the exception
 * line. Fixed samples of each runtime's report, the look-alikes that are not one, and real
 * reports produced by python3 and node at test time.
 */
#include "judge/evidence.h"
#include "judge/verdict.h"
#include "load/load.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static fl_scenario_t *sc;

static void setup(void)
{
    static const char yaml[] = "faultline: 1\nname: either\ndialect: openai-chat\n"
                               "response: {text: 'Hello, world.'}\nexpect: {outcome: either}\n";
    fl_diag_list_t d;
    fl_diag_list_init(&d);
    cr_assert_eq(fl_scenario_load_string("inline.yaml", yaml, strlen(yaml), &sc, &d), 0);
    fl_diag_list_close(&d);
}

static void teardown(void)
{
    fl_scenario_free(sc);
}

TestSuite(uncaught, .init = setup, .fini = teardown, .timeout = 20);

/* Judges exit 1 after one reset request with this stderr. */
static void judge(const char *err, size_t n, fl_judgement_t *j)
{
    fl_evidence_t ev;
    fl_evidence_init(&ev, sc, 1, 0);
    cr_assert_eq(fl_buf_append(&ev.err, err, n), 0);
    ev.exit_code = 1;
    ev.attempts = calloc(1, sizeof(*ev.attempts));
    cr_assert_not_null(ev.attempts);
    ev.n_attempts = 1;
    ev.attempts[0].end_ms = 30;
    ev.attempts[0].gap_ms = -1;
    ev.attempts[0].retry_after_ms = -1;
    ev.attempts[0].status = 200;
    snprintf(ev.attempts[0].end, sizeof(ev.attempts[0].end), "reset");
    ev.attempts[0].faults = json_pack("[{s:s}]", "fault", "reset");
    fl_verdict_judge(&ev, j);
    fl_evidence_close(&ev);
}

static void assert_uncaught(const char *err, const char *quoted)
{
    fl_judgement_t j;
    judge(err, strlen(err), &j);
    cr_assert_eq(j.findings, FL_FINDING_UNCAUGHT_EXCEPTION, "findings 0x%x: %s", j.findings,
                 j.reason);
    cr_assert_eq(j.score, 100 - fl_finding_penalty(FL_FINDING_UNCAUGHT_EXCEPTION));
    char want[160];
    snprintf(want, sizeof(want), "uncaught exception: \"%s", quoted);
    cr_assert_not_null(strstr(j.reason, want), "reason '%s' lacks '%s'", j.reason, want);
}

static void assert_clean(const char *err)
{
    fl_judgement_t j;
    judge(err, strlen(err), &j);
    cr_assert_eq(j.findings, 0, "findings 0x%x: %s", j.findings, j.reason);
    cr_assert_eq(j.score, 100);
    cr_assert_null(strstr(j.reason, "uncaught"), "%s", j.reason);
}

Test(uncaught, node_type_error)
{
    assert_uncaught("file:///app/client.mjs:14\n    const text = chunk.choices[0].delta.content;\n"
                    "                               ^\n\nTypeError: Cannot read properties of "
                    "undefined (reading '0')\n    at file:///app/client.mjs:14:32\n    at "
                    "process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n"
                    "\nNode.js v20.20.2\n",
                    "TypeError: Cannot read properties of undefined");
}

Test(uncaught, node_unhandled_rejection_of_a_string)
{
    assert_uncaught("node:internal/modules/run_main:123\n    triggerUncaughtException(\n    ^\n"
                    "boom\n(Use `node --trace-uncaught ...` to show where the exception was "
                    "thrown)\n\nNode.js v20.20.2\n",
                    "boom");
}

Test(uncaught, java)
{
    assert_uncaught("Exception in thread \"main\" java.lang.IllegalStateException: stream ended "
                    "without [DONE]\n\tat Client.read(Client.java:42)\n\tat "
                    "Client.main(Client.java:12)\n",
                    "Exception in thread \"main\" java.lang.IllegalStateException");
}

Test(uncaught, go_panic)
{
    assert_uncaught("panic: runtime error: index out of range [0] with length 0\n\ngoroutine 1 "
                    "[running]:\nmain.main()\n\t/app/main.go:31 +0x1d\nexit status 2\n",
                    "panic: runtime error: index out of range");
}

Test(uncaught, rust_panic)
{
    assert_uncaught("thread 'main' panicked at src/main.rs:9:41:\ncalled `Option::unwrap()` on a "
                    "`None` value\nnote: run with `RUST_BACKTRACE=1` environment variable to "
                    "display a backtrace\n",
                    "thread 'main' panicked at src/main.rs:9:41:");
}

Test(uncaught, python_chained_quotes_the_last)
{
    assert_uncaught("Traceback (most recent call last):\n  File \"c.py\", line 3, in read\n    "
                    "json.loads(s)\njson.decoder.JSONDecodeError: Expecting value: line 1 column "
                    "1 (char 0)\n\nDuring handling of the above exception, another exception "
                    "occurred:\n\nTraceback (most recent call last):\n  File \"c.py\", line 9, in "
                    "<module>\n    read()\nRuntimeError: unreadable event\n",
                    "RuntimeError: unreadable event");
}

/* Look-alikes: a clean message after a logged traceback, words that only mention a panic, a
 * Node version printed by a client's own banner, a goroutine-less "panic:" line. */
Test(uncaught, look_alikes_are_clean_errors)
{
    assert_clean("WARNING:root:attempt 1 failed\nTraceback (most recent call last):\n  File "
                 "\"c.py\", line 3, in <module>\n    x()\nConnectionResetError: [Errno 104]\n"
                 "error: no complete answer after 3 attempts\n");
    assert_clean("error: the provider said: panic: overloaded\n");
    assert_clean("Node.js v20.20.2\nerror: stream ended without [DONE]\n");
    assert_clean("panic: not really, this is a log line\nerror: giving up\n");
}

/* Runs cmd and returns its stderr (malloc'd); NULL when the interpreter is not there. */
static char *stderr_of(const char *cmd, size_t *n)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    fl_buf_t b;
    fl_buf_init(&b);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), p)) > 0)
        cr_assert_eq(fl_buf_append(&b, buf, k), 0);
    int st = pclose(p);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127) {
        fl_buf_close(&b);
        return NULL;
    }
    fl_buf_append(&b, "", 0);
    *n = b.len - 1;
    return b.data;
}

/* What python3 itself prints for an uncaught exception, produced now. */
Test(uncaught, real_python_traceback)
{
    size_t n;
    char *err = stderr_of("python3 -c 'import json\nchunk = json.loads(\"{}\")\n"
                          "print(chunk[\"choices\"][0])' 2>&1 >/dev/null",
                          &n);
    if (!err)
        cr_skip_test("python3 is not installed");
    cr_assert_not_null(strstr(err, "Traceback (most recent call last):"), "%s", err);
    fl_judgement_t j;
    judge(err, n, &j);
    cr_assert_eq(j.findings, FL_FINDING_UNCAUGHT_EXCEPTION, "%s\n%s", j.reason, err);
    cr_assert_not_null(strstr(j.reason, "\"KeyError: 'choices'"), "%s", j.reason);
    free(err);
}

/* What node itself prints for an uncaught TypeError and for an unhandled rejection. */
Test(uncaught, real_node_errors)
{
    size_t n;
    char *err = stderr_of("node -e 'const chunk = {}; chunk.choices[0].delta' 2>&1 >/dev/null", &n);
    if (!err)
        cr_skip_test("node is not installed");
    fl_judgement_t j;
    judge(err, n, &j);
    cr_assert_eq(j.findings, FL_FINDING_UNCAUGHT_EXCEPTION, "%s\n%s", j.reason, err);
    cr_assert_not_null(strstr(j.reason, "\"TypeError: Cannot read properties of undefined"), "%s",
                       j.reason);
    free(err);
    err = stderr_of("node --input-type=module -e 'await Promise.reject(new Error(\"stream "
                    "ended early\"))' 2>&1 >/dev/null",
                    &n);
    cr_assert_not_null(err);
    judge(err, n, &j);
    cr_assert_eq(j.findings, FL_FINDING_UNCAUGHT_EXCEPTION, "%s\n%s", j.reason, err);
    cr_assert_not_null(strstr(j.reason, "Error: stream ended early"), "%s", j.reason);
    free(err);
}

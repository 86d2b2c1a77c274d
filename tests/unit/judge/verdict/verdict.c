/* The verdict decision table: one case per row, reaching every verdict and every finding, with
 * the score the rubric gives. Scenarios come from inline YAML; attempts are written directly. */
#include "base/error.h"
#include "judge/evidence.h"
#include "load/load.h"
#include "model/scenario.h"
#include "judge/verdict.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <string.h>

/* The scenarios the cases run against, by index. */
enum { SC_TEXT, SC_ERROR, SC_TOOL, SC_EITHER, SC_RELAY, SC_RESUME, SC_COUNT };

static const char *const scenario_yaml[SC_COUNT] = {
    [SC_TEXT] = "faultline: 1\n"
                "name: text\n"
                "dialect: openai-chat\n"
                "response: {text: 'Hello, world.'}\n",
    /* a client should give up here: storms, backoff and Retry-After are what is judged */
    [SC_ERROR] = "faultline: 1\n"
                 "name: error\n"
                 "dialect: anthropic-messages\n"
                 "response: {text: 'Hello, world.'}\n"
                 "expect: {outcome: error, max_attempts: 2, min_backoff_ms: 100,\n"
                 "         respect_retry_after: false}\n",
    [SC_TOOL] = "faultline: 1\n"
                "name: tool\n"
                "dialect: openai-responses\n"
                "response:\n"
                "  tool_call: {name: get_weather, arguments: {city: Paris, unit: c}}\n",
    [SC_EITHER] = "faultline: 1\n"
                  "name: either\n"
                  "dialect: openai-chat\n"
                  "response: {text: 'Hello, world.'}\n"
                  "expect: {outcome: either, deadline_ms: 5000}\n",
    /* relay mode: a proxy with a 1.5 s idle limit in front of the relay */
    [SC_RELAY] = "faultline: 1\n"
                 "name: relay\n"
                 "dialect: openai-chat\n"
                 "response: {text: 'Hello, world.'}\n"
                 "expect: {heartbeat_ms: 1500}\n",
    /* a resume is offered (Responses: every event has its sequence_number) and required */
    [SC_RESUME] = "faultline: 1\n"
                  "name: resume\n"
                  "dialect: openai-responses\n"
                  "resume: true\n"
                  "response: {text: 'Hello, world.'}\n"
                  "expect: {resume: required}\n",
};

/* One request as the verdict sees it; gap_ms is derived from the previous end. */
typedef struct {
    uint64_t start;
    int64_t end;         /* -1: not ended */
    int64_t retry_after; /* demanded by the previous response; -1 none */
    bool stalled;
    const char *fault; /* a fault that fired, or NULL */
} att_t;

#define MAX_ATT 8

typedef struct {
    const char *name;
    int sc;
    const char *out;
    size_t out_len; /* 0: strlen(out) */
    fl_exit_kind_t kind;
    int code; /* exit code or signal */
    const char *err;
    att_t att[MAX_ATT];
    size_t n_att;
    fl_verdict_t verdict;
    unsigned findings;
    int score;
    int64_t diff_at;
    const char *reason_has; /* a figure the reason must mention, or NULL */
} vcase_t;

/* A Python 3.11 traceback as the interpreter prints it for an uncaught exception. */
#define PY_TRACEBACK                                                                               \
    "Traceback (most recent call last):\n"                                                         \
    "  File \"/work/client.py\", line 12, in <module>\n"                                           \
    "    print(chunk[\"choices\"][0][\"delta\"][\"content\"], end=\"\")\n"                         \
    "          ~~~~~^^^^^^^^^^^\n"                                                                 \
    "KeyError: 'choices'\n"

#define OK_ATT                                                                                     \
    {                                                                                              \
        0, 40, -1, false, NULL                                                                     \
    }
#define RESET_ATT                                                                                  \
    {                                                                                              \
        0, 30, -1, false, "reset"                                                                  \
    }

static const vcase_t cases[] = {
    /* exit 0: the answer, byte for byte */
    {"exact",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     "13 bytes"},
    {"trailing-lf",
     SC_TEXT,
     "Hello, world.\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     NULL},
    {"trailing-crlf",
     SC_TEXT,
     "Hello, world.\r\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     NULL},
    {"two-newlines",
     SC_TEXT,
     "Hello, world.\n\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRUPTED,
     0,
     0,
     13,
     "byte 13"},
    {"recovered",
     SC_TEXT,
     "Hello, world.\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {80, 120, -1, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     0,
     100,
     -1,
     "2 requests"},
    /* exit 0: something else */
    {"prefix",
     SC_TEXT,
     "Hello,",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_SILENT_TRUNCATION,
     0,
     0,
     6,
     "6 of 13 bytes"},
    {"prefix-lf",
     SC_TEXT,
     "Hello,\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_SILENT_TRUNCATION,
     0,
     0,
     6,
     NULL},
    {"empty",
     SC_TEXT,
     "",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_SILENT_TRUNCATION,
     0,
     0,
     0,
     "0 of 13"},
    {"retry-append",
     SC_TEXT,
     "Hello,Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {50, 90, -1, false, NULL}},
     2,
     FL_VERDICT_DUPLICATED,
     0,
     0,
     6,
     "after byte 6"},
    {"retry-append-twice",
     SC_TEXT,
     "HelHello,Hello, world.\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {50, 60, -1, false, "reset"}, {70, 90, -1, false, NULL}},
     3,
     FL_VERDICT_DUPLICATED,
     0,
     0,
     3,
     "after byte 3"},
    {"repeated-segment",
     SC_TEXT,
     "Hello, worworld.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 40, -1, false, "duplicate"}},
     1,
     FL_VERDICT_DUPLICATED,
     0,
     0,
     10,
     "bytes 7..10"},
    {"whole-answer-twice",
     SC_TEXT,
     "Hello, world.Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_DUPLICATED,
     0,
     0,
     13,
     NULL},
    {"replacement-char",
     SC_TEXT,
     "Hello, w\xef\xbf\xbdrld.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 40, -1, false, "corrupt"}},
     1,
     FL_VERDICT_CORRUPTED,
     0,
     0,
     8,
     "0xef"},
    {"extra-tail",
     SC_TEXT,
     "Hello, world.!",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRUPTED,
     0,
     0,
     13,
     "past the answer"},
    {"nul-inside",
     SC_TEXT,
     "Hello\0 world.",
     13,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRUPTED,
     0,
     0,
     5,
     "0x00"},
    /* tool calls compare as JSON */
    {"tool-key-order",
     SC_TOOL,
     "{ \"arguments\": {\"unit\": \"c\", \"city\": \"Paris\"}, \"name\": \"get_weather\" }\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     "get_weather"},
    {"tool-other-args",
     SC_TOOL,
     "{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Rome\"}}",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRUPTED,
     0,
     0,
     43,
     "another tool call"},
    {"tool-not-json",
     SC_TOOL,
     "{\"name\":\"get_weather\",\"argu",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_CORRUPTED,
     0,
     0,
     27,
     "no valid"},
    {"tool-empty",
     SC_TOOL,
     "\n",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_SILENT_TRUNCATION,
     0,
     0,
     0,
     NULL},
    /* non-zero exits */
    {"failed-cleanly",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "error: connection reset\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "connection reset"},
    {"failed-either",
     SC_EITHER,
     "Hel",
     0,
     FL_EXIT_CODE,
     2,
     "\n  stream ended early\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "stream ended early"},
    {"gave-up",
     SC_TEXT,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "giving up after a reset\n",
     {RESET_ATT},
     1,
     FL_VERDICT_GAVE_UP,
     0,
     40,
     -1,
     "exit 1"},
    {"gave-up-silent",
     SC_TEXT,
     "",
     0,
     FL_EXIT_CODE,
     1,
     " \n\t\n",
     {RESET_ATT},
     1,
     FL_VERDICT_GAVE_UP,
     FL_FINDING_NO_ERROR_MESSAGE,
     20,
     -1,
     "nothing on stderr"},
    {"failed-silent",
     SC_EITHER,
     "",
     0,
     FL_EXIT_CODE,
     3,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     FL_FINDING_NO_ERROR_MESSAGE,
     80,
     -1,
     NULL},
    {"escape-in-stderr",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "\x1b[31mboom\x1b[0m",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "?[31mboom"},
    /* the process itself */
    {"hung-in-stall",
     SC_TEXT,
     "",
     0,
     FL_EXIT_DEADLINE,
     0,
     "",
     {RESET_ATT, {60, -1, -1, true, "stall"}},
     2,
     FL_VERDICT_HUNG,
     FL_FINDING_STALL_UNDETECTED,
     0,
     -1,
     "attempt 2 sat in a stall"},
    {"hung-not-stalled",
     SC_TEXT,
     "",
     0,
     FL_EXIT_DEADLINE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_HUNG,
     0,
     0,
     -1,
     "20000 ms deadline"},
    {"hung-no-request",
     SC_TEXT,
     "",
     0,
     FL_EXIT_DEADLINE,
     0,
     "",
     {OK_ATT},
     0,
     FL_VERDICT_HUNG,
     0,
     0,
     -1,
     "without a request"},
    {"crashed",
     SC_TEXT,
     "Hel",
     0,
     FL_EXIT_SIGNAL,
     SIGSEGV,
     "",
     {RESET_ATT},
     1,
     FL_VERDICT_CRASHED,
     0,
     10,
     -1,
     "SIGSEGV"},
    {"crashed-storm",
     SC_ERROR,
     "",
     0,
     FL_EXIT_SIGNAL,
     SIGABRT,
     "",
     {RESET_ATT, {200, 230, -1, false, "reset"}, {400, 430, -1, false, "reset"}},
     3,
     FL_VERDICT_CRASHED,
     FL_FINDING_RETRY_STORM,
     0,
     -1,
     "3 requests in 400 ms"},
    {"no-request",
     SC_TEXT,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "cannot connect\n",
     {OK_ATT},
     0,
     FL_VERDICT_NO_REQUEST,
     0,
     0,
     -1,
     "without a request"},
    {"no-request-exit-0",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     0,
     FL_VERDICT_NO_REQUEST,
     0,
     0,
     -1,
     NULL},
    {"spawn-failed",
     SC_TEXT,
     "",
     0,
     FL_EXIT_SPAWN,
     0,
     "",
     {OK_ATT},
     0,
     FL_VERDICT_NO_REQUEST,
     0,
     0,
     -1,
     "could not start"},
    /* findings */
    {"storm-and-retry-after",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 5, -1, false, "http_error"},
      {17, 20, 1000, false, "http_error"},
      {25, 28, 1000, false, "http_error"},
      {30, 33, 1000, false, "http_error"},
      {40, 80, 1000, false, NULL}},
     5,
     FL_VERDICT_RECOVERED,
     FL_FINDING_RETRY_STORM | FL_FINDING_IGNORED_RETRY_AFTER,
     30,
     -1,
     "Retry-After asked 1000 ms, waited 2 ms"},
    {"retry-after-kept",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 5, -1, false, "http_error"}, {1005, 1020, 1000, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     0,
     100,
     -1,
     NULL},
    {"retry-after-at-slack",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 5, -1, false, "http_error"}, {980, 1020, 1000, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     0,
     100,
     -1,
     NULL},
    {"retry-after-below-slack",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 5, -1, false, "http_error"}, {979, 1020, 1000, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     FL_FINDING_IGNORED_RETRY_AFTER,
     70,
     -1,
     "waited 974 ms"},
    {"retry-after-not-judged",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "rate limited\n",
     {{0, 5, -1, false, "http_error"}, {200, 205, 5000, false, "http_error"}},
     2,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     NULL},
    /* restarted_not_resumed: the break came after events 1..5 (sequence_number 0..4) */
    {"restarted-not-resumed",
     SC_RESUME,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {35, 60, -1, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     FL_FINDING_RESTARTED_NOT_RESUMED,
     80,
     -1,
     "attempt 2 started over instead of resuming after event id 4 of attempt 1"},
    {"resumed",
     SC_RESUME,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {35, 60, -1, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     0,
     100,
     -1,
     NULL},
    /* a GET of the stored response from its start sends the answer again, generating nothing */
    {"retrieved-from-the-start",
     SC_RESUME,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {35, 60, -1, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     0,
     100,
     -1,
     NULL},
    /* nothing was delivered before the break: there was nothing to resume from */
    {"restart-before-any-event",
     SC_RESUME,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {35, 60, -1, false, NULL}},
     2,
     FL_VERDICT_RECOVERED,
     0,
     100,
     -1,
     NULL},
    /* a resumed stream broke again: the next resume is judged after what both delivered */
    {"resumed-then-restarted",
     SC_RESUME,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {RESET_ATT, {35, 60, -1, false, "reset"}, {65, 90, -1, false, NULL}},
     3,
     FL_VERDICT_RECOVERED,
     FL_FINDING_RESTARTED_NOT_RESUMED,
     80,
     -1,
     "attempt 3 started over instead of resuming after event id 6 of attempt 2"},
    {"no-backoff",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "reset twice\n",
     {RESET_ATT, {35, 60, -1, false, "reset"}},
     2,
     FL_VERDICT_FAILED_CLEANLY,
     FL_FINDING_NO_BACKOFF,
     80,
     -1,
     "attempt 2 came 5 ms"},
    {"backoff-unknown-end",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "stalled\n",
     {{0, -1, -1, false, "stall"}, {5, 60, -1, false, NULL}},
     2,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     NULL},
    {"overlap-not-backoff",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "two at once\n",
     {{0, 50, -1, false, "reset"}, {10, 60, -1, false, "reset"}},
     2,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     NULL},
    /* killed at the deadline while waiting out a Retry-After that outlasts it: still hung, but
     * told apart from a client stuck for ever */
    {"hung-retry-after-past-deadline",
     SC_EITHER,
     "",
     0,
     FL_EXIT_DEADLINE,
     0,
     "",
     {{0, 40, -1, false, "http_error"}},
     1,
     FL_VERDICT_HUNG,
     FL_FINDING_RETRY_AFTER_PAST_DEADLINE,
     0,
     -1,
     "Retry-After of 30000 ms from attempt 1 with 4960 ms left"},
    {"hung-retry-after-within-deadline",
     SC_EITHER,
     "",
     0,
     FL_EXIT_DEADLINE,
     0,
     "",
     {{0, 40, -1, false, "http_error"}},
     1,
     FL_VERDICT_HUNG,
     0,
     0,
     -1,
     "after 1 request (the last complete)"},
    /* the reason quotes the stderr line that reads as the error, not advice printed after it */
    {"reason-error-before-advice",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "attempt 1: reset\nError: 429 Rate limit reached\nTroubleshooting URL: "
     "https://js.langchain.com/docs/troubleshooting/errors/MODEL_RATE_LIMIT/\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "\"Error: 429 Rate limit reached\""},
    {"reason-node-uncaught",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "/app/client.mjs:3\n  throw e;\n  ^\n\nTypeError: fetch failed\n    at emitError "
     "(node:events:1:1)\n    at process.processTicksAndRejections (node:internal)\n\nNode.js "
     "v20.20.2\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     FL_FINDING_UNCAUGHT_EXCEPTION,
     70,
     -1,
     "\"TypeError: fetch failed\""},
    {"reason-python-traceback",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "Traceback (most recent call last):\n  File \"c.py\", line 3, in <module>\n    main()\n"
     "openai.APIConnectionError: Connection error.\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     FL_FINDING_UNCAUGHT_EXCEPTION,
     70,
     -1,
     "\"openai.APIConnectionError: Connection error.\""},
    /* a client that prints an error page after its message: markup lines are never quoted */
    {"reason-skips-error-page-markup",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "naive: HTTP 524: <html>\n<head><title>524 A Timeout Occurred</title></head>\n<body>\n"
     "</body>\n</html>\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "\"naive: HTTP 524: <html>\""},
    {"reason-last-line-otherwise",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "attempt 1: reset after 40 bytes\ngiving up after 2 attempts\n\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "\"giving up after 2 attempts\""},
    {"everything-wrong",
     SC_ERROR,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "",
     {RESET_ATT, {31, 40, -1, false, "reset"}, {41, 50, -1, false, "reset"}},
     3,
     FL_VERDICT_FAILED_CLEANLY,
     FL_FINDING_RETRY_STORM | FL_FINDING_NO_BACKOFF | FL_FINDING_NO_ERROR_MESSAGE,
     20,
     -1,
     NULL},
    /* the structured result, checked against the journal's record of the last attempt */
    {"result-agrees",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     "13 bytes"},
    {"result-invented-finish",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_INVENTED_FINISH,
     50,
     -1,
     "never delivered"},
    {"result-wrong-finish",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_WRONG_FINISH,
     70,
     -1,
     "sent 'length'"},
    {"result-wrong-usage",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_WRONG_USAGE,
     80,
     -1,
     "output_tokens 5"},
    {"result-usage-invented",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_WRONG_USAGE,
     80,
     -1,
     "never delivered any"},
    {"result-not-json",
     SC_TEXT,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {OK_ATT},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_BAD_RESULT,
     80,
     -1,
     "not JSON"},
    /* crashes that exit by themselves */
    {"uncaught-python",
     SC_EITHER,
     "",
     0,
     FL_EXIT_CODE,
     1,
     PY_TRACEBACK,
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     FL_FINDING_UNCAUGHT_EXCEPTION,
     70,
     -1,
     "uncaught exception: \"KeyError: 'choices'\""},
    {"traceback-logged-then-handled",
     SC_EITHER,
     "",
     0,
     FL_EXIT_CODE,
     1,
     "ERROR:root:attempt 1 failed\n" PY_TRACEBACK "error: no complete answer after 3 attempts\n",
     {RESET_ATT},
     1,
     FL_VERDICT_FAILED_CLEANLY,
     0,
     100,
     -1,
     "no complete answer"},
    /* relay mode: the browser's view (evidence.h, fl_relay_ev_t; the side table relay_side) */
    {"relay-piped",
     SC_RELAY,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 2000, -1, false, NULL}},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     "clean end with the exact answer"},
    {"relay-buffered",
     SC_RELAY,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 2000, -1, false, NULL}},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_BUFFERED,
     70,
     -1,
     "streamed from 5 to 2000 ms"},
    {"relay-no-heartbeat",
     SC_RELAY,
     "Hello, world.",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 2000, -1, false, NULL}},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_NO_HEARTBEAT,
     70,
     -1,
     "for 2500 ms"},
    {"relay-not-cancelled",
     SC_RELAY,
     "Hel",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, -1, -1, false, NULL}},
     1,
     FL_VERDICT_CORRECT,
     FL_FINDING_UPSTREAM_NOT_CANCELLED,
     70,
     -1,
     "left at 500 ms"},
    {"relay-cancelled",
     SC_RELAY,
     "Hel",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 900, -1, false, NULL}},
     1,
     FL_VERDICT_CORRECT,
     0,
     100,
     -1,
     "left at 500 ms"},
    {"relay-error-swallowed",
     SC_RELAY,
     "Hello",
     0,
     FL_EXIT_CODE,
     0,
     "",
     {{0, 300, -1, false, "reset"}},
     1,
     FL_VERDICT_SILENT_TRUNCATION,
     FL_FINDING_ERROR_SWALLOWED,
     0,
     5,
     "error swallowed"},
    {"relay-error-told",
     SC_RELAY,
     "Hello",
     0,
     FL_EXIT_CODE,
     1,
     "error: connection reset (an error event)",
     {{0, 300, -1, false, "reset"}},
     1,
     FL_VERDICT_GAVE_UP,
     0,
     40,
     -1,
     "explicit error"},
};

/*
 * The structured result of the rows that have one (issue 17): the file the client wrote, and
 * how the last attempt's answer ended as the journal says it was sent. Rows not listed wrote no
 * file, and their answer ended with "stop" sent.
 */
static const struct {
    const char *name;
    const char *result;
    const char *finish; /* the finish reason sent; NULL: "stop" */
    bool finish_lost;   /* its event did not go out */
    int usage_out;      /* output tokens sent (input: 2); 0: no usage at all */
} results[] = {
    {"result-agrees",
     "{\"text\":\"Hello, world.\",\"finish_reason\":\"stop\",\"usage\":{\"input_tokens\":2,"
     "\"output_tokens\":3},\"tool_calls\":[],\"response_id\":\"chatcmpl-xyz\"}",
     NULL, false, 3},
    {"result-invented-finish", "{\"text\":\"Hello, world.\",\"finish_reason\":\"stop\"}", NULL,
     true, 0},
    {"result-wrong-finish", "{\"finish_reason\":\"stop\"}", "length", false, 0},
    {"result-wrong-usage", "{\"usage\":{\"input_tokens\":2,\"output_tokens\":5}}", NULL, false, 3},
    {"result-usage-invented", "{\"usage\":{\"input_tokens\":2,\"output_tokens\":3}}", NULL, false,
     0},
    {"result-not-json", "{\"text\": \"Hel", NULL, false, 0},
};

/* The Retry-After an attempt's own response sent (ms), for the few cases that have one. */
static const struct {
    const char *name;
    size_t attempt;
    int64_t ms;
} sent_ra[] = {
    {"hung-retry-after-past-deadline", 0, 30000},
    {"hung-retry-after-within-deadline", 0, 4960},
};

static int64_t sent_retry_after(const char *name, size_t attempt)
{
    for (size_t i = 0; i < sizeof(sent_ra) / sizeof(sent_ra[0]); i++)
        if (strcmp(sent_ra[i].name, name) == 0 && sent_ra[i].attempt == attempt)
            return sent_ra[i].ms;
    return -1;
}

/* Relay mode's evidence for the relay-* cases: the browser's view and the delivering
 * attempt's byte times and end. */
static const struct {
    const char *name;
    int64_t first_text_ms, max_gap_ms, left_ms;
    int64_t first_byte_ms, last_byte_ms; /* of attempt 1 */
    const char *end;                     /* attempt 1's journal end */
} relay_side[] = {
    {"relay-piped", 150, 800, -1, 5, 2000, "complete"},
    {"relay-buffered", 2010, 1400, -1, 5, 2000, "complete"},
    {"relay-no-heartbeat", 150, 2500, -1, 5, 2000, "complete"},
    {"relay-not-cancelled", 150, 300, 500, 5, -1, "in_progress"},
    {"relay-cancelled", 150, 300, 500, 5, 450, "client_closed"},
    {"relay-error-swallowed", 150, 100, -1, 5, 300, "reset"},
    {"relay-error-told", 150, 100, -1, 5, 300, "reset"},
};

static void add_relay_side(const vcase_t *c, fl_evidence_t *ev)
{
    for (size_t i = 0; i < sizeof(relay_side) / sizeof(relay_side[0]); i++) {
        if (strcmp(relay_side[i].name, c->name) != 0)
            continue;
        ev->relay.on = true;
        ev->relay.status = 200;
        ev->relay.sent_ms = 1;
        ev->relay.first_byte_ms = 2;
        ev->relay.first_text_ms = relay_side[i].first_text_ms;
        ev->relay.max_gap_ms = relay_side[i].max_gap_ms;
        ev->relay.max_gap_at_ms = 10;
        ev->relay.left_ms = relay_side[i].left_ms;
        ev->relay.end_ms = 2100;
        ev->attempts[0].first_byte_ms = relay_side[i].first_byte_ms;
        ev->attempts[0].last_byte_ms = relay_side[i].last_byte_ms;
        snprintf(ev->attempts[0].end, sizeof(ev->attempts[0].end), "%s", relay_side[i].end);
    }
}

/* What the resume cases' attempts delivered and asked for, by case and 0-based attempt: the
 * journal's end, events_sent, and the resume point (resume_skipped, -1: not a resume). */
static const struct {
    const char *name;
    size_t attempt;
    const char *end;
    uint64_t events_sent;
    int64_t resume_skipped;
} resume_att[] = {
    {"restarted-not-resumed", 0, "reset", 5, -1},
    {"restarted-not-resumed", 1, "complete", 9, -1},
    {"resumed", 0, "reset", 5, -1},
    {"resumed", 1, "complete", 4, 5},
    {"restart-before-any-event", 0, "reset", 0, -1},
    {"restart-before-any-event", 1, "complete", 9, -1},
    {"resumed-then-restarted", 0, "reset", 5, -1},
    {"resumed-then-restarted", 1, "reset", 2, 5},
    {"resumed-then-restarted", 2, "complete", 9, -1},
    {"retrieved-from-the-start", 0, "reset", 5, -1},
    {"retrieved-from-the-start", 1, "complete", 9, -1},
};

static void resume_of(const char *name, size_t attempt, fl_attempt_ev_t *a)
{
    for (size_t i = 0; i < sizeof(resume_att) / sizeof(resume_att[0]); i++) {
        if (strcmp(resume_att[i].name, name) != 0 || resume_att[i].attempt != attempt)
            continue;
        snprintf(a->end, sizeof(a->end), "%s", resume_att[i].end);
        a->events_sent = resume_att[i].events_sent;
        a->resume_skipped = resume_att[i].resume_skipped;
        a->resume_asked = resume_att[i].resume_skipped >= 0;
        /* the second request of this case is a GET of the stored response, from its start */
        a->retrieved = strcmp(name, "retrieved-from-the-start") == 0 && attempt == 1;
    }
}

static fl_scenario_t *scenarios[SC_COUNT];

static void load_scenarios(void)
{
    for (int i = 0; i < SC_COUNT; i++) {
        fl_diag_list_t d;
        fl_diag_list_init(&d);
        int rc = fl_scenario_load_string("inline.yaml", scenario_yaml[i], strlen(scenario_yaml[i]),
                                         &scenarios[i], &d);
        cr_assert_eq(rc, 0, "scenario %d: %s", i, d.len ? d.items[0].message : "?");
        fl_diag_list_close(&d);
    }
}

static void free_scenarios(void)
{
    for (int i = 0; i < SC_COUNT; i++)
        fl_scenario_free(scenarios[i]);
}

/* Evidence for a case, as the runner would fill it. */
static void build(const vcase_t *c, fl_evidence_t *ev)
{
    fl_evidence_init(ev, scenarios[c->sc], 1, 0);
    size_t n = c->out_len ? c->out_len : strlen(c->out);
    cr_assert_eq(fl_buf_append(&ev->out, c->out, n), 0);
    cr_assert_eq(fl_buf_append_str(&ev->err, c->err), 0);
    ev->exit_kind = c->kind;
    ev->exit_code = c->kind == FL_EXIT_CODE ? c->code : 0;
    ev->term_signal = c->kind == FL_EXIT_SIGNAL ? c->code : 0;
    if (c->kind == FL_EXIT_SPAWN)
        snprintf(ev->spawn_error, sizeof(ev->spawn_error), "no such file or directory");
    ev->wall_ms = 500;
    if (!c->n_att)
        return;
    ev->attempts = calloc(c->n_att, sizeof(*ev->attempts));
    cr_assert_not_null(ev->attempts);
    ev->n_attempts = c->n_att;
    for (size_t i = 0; i < c->n_att; i++) {
        fl_attempt_ev_t *a = &ev->attempts[i];
        const att_t *s = &c->att[i];
        a->start_ms = s->start;
        a->end_ms = s->end;
        a->retry_after_ms = s->retry_after;
        a->sent_retry_after_ms = sent_retry_after(c->name, i);
        a->stalled = s->stalled;
        a->status = 200;
        snprintf(a->end, sizeof(a->end), "%s", s->end < 0 ? "in_progress" : "complete");
        a->stream = true;
        a->resume_skipped = -1;
        resume_of(c->name, i, a);
        a->gap_ms = i && c->att[i - 1].end >= 0 ? (int64_t)s->start - c->att[i - 1].end : -1;
        a->faults = s->fault ? json_pack("[{s:s}]", "fault", s->fault) : json_array();
        snprintf(a->finish_reason, sizeof(a->finish_reason), "stop");
        a->finish_sent = true;
        a->usage_input = a->usage_output = -1;
        snprintf(a->response_id, sizeof(a->response_id), "xyz");
    }
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        if (strcmp(results[i].name, c->name) != 0)
            continue;
        fl_attempt_ev_t *a = &ev->attempts[c->n_att - 1];
        if (results[i].finish)
            snprintf(a->finish_reason, sizeof(a->finish_reason), "%s", results[i].finish);
        a->finish_sent = !results[i].finish_lost;
        a->usage_input = results[i].usage_out ? 2 : -1;
        a->usage_output = results[i].usage_out ? results[i].usage_out : -1;
        a->usage_sent = results[i].usage_out > 0;
        ev->result_found = true;
        cr_assert_eq(fl_buf_append_str(&ev->result, results[i].result), 0);
    }
    add_relay_side(c, ev);
}

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Criterion copies parameters between processes; an index into the table is the safe size. */
ParameterizedTestParameters(verdict, table)
{
    static size_t idx[N_CASES];
    for (size_t i = 0; i < N_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_CASES);
}

ParameterizedTest(size_t *ci, verdict, table, .init = load_scenarios, .fini = free_scenarios,
                  .timeout = 10)
{
    const vcase_t *c = &cases[*ci];
    fl_evidence_t ev;
    build(c, &ev);
    fl_judgement_t j;
    fl_verdict_judge(&ev, &j);
    cr_expect_str_eq(fl_verdict_name(j.verdict), fl_verdict_name(c->verdict), "%s: %s", c->name,
                     j.reason);
    cr_expect_eq(j.findings, c->findings, "%s: findings 0x%x, want 0x%x (%s)", c->name, j.findings,
                 c->findings, j.reason);
    cr_expect_eq(j.score, c->score, "%s: score %d, want %d", c->name, j.score, c->score);
    cr_expect_eq(j.passed, c->score == 100, "%s: passed", c->name);
    cr_expect_eq(j.diff_at, c->diff_at, "%s: diff_at %lld, want %lld", c->name,
                 (long long)j.diff_at, (long long)c->diff_at);
    cr_expect_gt(strlen(j.reason), 0, "%s: no reason", c->name);
    cr_expect_null(strchr(j.reason, '\n'), "%s: reason is one line", c->name);
    cr_expect_null(strchr(j.reason, '\x1b'), "%s: reason carries an escape", c->name);
    if (c->reason_has)
        cr_expect_not_null(strstr(j.reason, c->reason_has), "%s: reason \"%s\" lacks \"%s\"",
                           c->name, j.reason, c->reason_has);
    fl_evidence_close(&ev);
}

/* Every verdict and every finding appears in the table above. */
Test(verdict, table_reaches_everything)
{
    unsigned verdicts = 0, findings = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        verdicts |= 1u << cases[i].verdict;
        findings |= cases[i].findings;
    }
    cr_assert_eq(verdicts, (1u << FL_VERDICT_COUNT) - 1, "verdicts reached: 0x%x", verdicts);
    unsigned all = 0;
#define X(name, s, bit) all |= (bit);
    FL_FINDING_MAP(X)
#undef X
    cr_assert_eq(findings, all, "findings reached: 0x%x", findings);
}

Test(verdict, names_and_rubric)
{
    cr_assert_str_eq(fl_verdict_name(FL_VERDICT_SILENT_TRUNCATION), "silent_truncation");
    cr_assert_str_eq(fl_verdict_name(FL_VERDICT_COUNT), "?");
    cr_assert_str_eq(fl_finding_name(FL_FINDING_IGNORED_RETRY_AFTER), "ignored_retry_after");
    cr_assert_str_eq(fl_finding_name(3), "?");
    cr_assert_eq(fl_verdict_base_score(FL_VERDICT_GAVE_UP), 40);
    cr_assert_eq(fl_verdict_base_score(FL_VERDICT_CRASHED), 10);
    cr_assert_eq(fl_verdict_base_score(FL_VERDICT_HUNG), 0);
    cr_assert_eq(fl_finding_penalty(FL_FINDING_RETRY_STORM), 40);
    cr_assert_eq(fl_finding_penalty(FL_FINDING_STALL_UNDETECTED), 0);
}

/* A long retry-append (the answer restarting many times) is still found, in linear time. */
Test(verdict, long_retry_append, .init = load_scenarios, .fini = free_scenarios, .timeout = 10)
{
    fl_evidence_t ev;
    const vcase_t c = {"long", SC_TEXT, "", 0, FL_EXIT_CODE, 0, "", {RESET_ATT}, 1,
                       0,      0,       0,  0, NULL};
    build(&c, &ev);
    for (int i = 0; i < 20000; i++)
        cr_assert_eq(fl_buf_append_str(&ev.out, i % 2 ? "Hel" : "Hello, w"), 0);
    cr_assert_eq(fl_buf_append_str(&ev.out, "Hello, world.\n"), 0);
    fl_judgement_t j;
    fl_verdict_judge(&ev, &j);
    cr_assert_eq(j.verdict, FL_VERDICT_DUPLICATED, "%s", j.reason);
    fl_evidence_close(&ev);
}

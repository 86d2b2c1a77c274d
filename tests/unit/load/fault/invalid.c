/*
 * Invalid faults are refused with the exact first diagnostic a user sees: file:line:col, the
 * field path down to the parameter, and a message that says how to fix it.
 */
#include "model/scenario.h"

#include "invalid_check.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    /* Arrays, not pointers: Criterion runs each parameter in a fresh process. */
    char file[64];   /* under tests/data/scenarios/invalid/ */
    char first[320]; /* the first diagnostic, path relative to that directory */
    size_t count;    /* how many diagnostics the file produces */
} fault_case_t;

static fault_case_t cases[] = {
    {"fault-at-event-zero.yaml",
     "fault-at-event-zero.yaml:7:29: attempts[0].faults[0].close.at.event: must be >= 1 (events "
     "are numbered from 1)",
     1},
    {"fault-at-two-keys.yaml",
     "fault-at-two-keys.yaml:7:21: attempts[0].faults[0].reset.at: exactly one of event, content, "
     "byte, ms is needed (got 2)",
     1},
    {"fault-bad-at.yaml",
     "fault-bad-at.yaml:7:21: attempts[0].faults[0].reset.at: expected headers, end, {event: N}, "
     "{content: N}, {byte: N} or {ms: N}, got a scalar",
     1},
    {"fault-bare-needs-params.yaml",
     "fault-bare-needs-params.yaml:7:9: attempts[0].faults[0].throttle: throttle needs parameters: "
     "bytes_per_s",
     1},
    /* 1037: the body `faultline serve` sends for this scenario (its 20-character message id);
     * 1034 was the validator's own 17-character id, the defect of issue 10 */
    {"fault-byte-past-end.yaml",
     "fault-byte-past-end.yaml:7:9: attempts[0].faults[0].close.at: byte 100000 is past the end of "
     "the stream (its body has 1037 bytes)",
     1},
    {"fault-chaos-json-no-at.yaml",
     "fault-chaos-json-no-at.yaml:6:50: attempts[0].chaos.faults[0].corrupt: a chaos candidate "
     "corrupt json needs at: {event: N} (a drawn event may carry no JSON)",
     1},
    {"fault-chaos-missing-seed.yaml",
     "fault-chaos-missing-seed.yaml:6:12: attempts[0].chaos.seed: missing required key", 1},
    {"fault-chunk-size-close.yaml",
     "fault-chunk-size-close.yaml:7:9: attempts[0].faults[0].corrupt: chunk_size needs chunked "
     "framing (response.framing is close)",
     1},
    {"fault-corrupt-kind.yaml",
     "fault-corrupt-kind.yaml:7:41: attempts[0].faults[0].corrupt.kind: unknown corrupt kind "
     "'bits' (valid: json, utf8, chunk_size, garbage, sse)",
     1},
    {"fault-cut-bad.yaml",
     "fault-cut-bad.yaml:7:45: attempts[0].faults[0].proxy_timeout.cut: unknown cut 'abort' "
     "(valid: fin, rst)",
     1},
    {"fault-drop-finish-responses.yaml",
     "fault-drop-finish-responses.yaml:7:9: attempts[0].faults[0].drop_sentinel: drop_finish has "
     "no separate event on openai-responses: response.completed carries the finish and is the end "
     "marker, so drop_sentinel alone drops both",
     1},
    {"fault-drop-finish-gemini.yaml",
     "fault-drop-finish-gemini.yaml:7:9: attempts[0].faults[0].drop_sentinel: drop_finish has no "
     "separate event on gemini: it has no sentinel, the chunk with finishReason is the end marker, "
     "so drop_sentinel alone drops it",
     1},
    {"fault-duplicate-headers.yaml",
     "fault-duplicate-headers.yaml:7:25: attempts[0].faults[0].duplicate.at: duplicate acts on one "
     "whole event: use {event: N}",
     1},
    {"fault-end-at-headers.yaml",
     "fault-end-at-headers.yaml:7:19: attempts[0].faults[0].end.at: end acts on the body: headers "
     "is before it (use {event: 1})",
     1},
    /* words counted as a user counts them; both counts when that is too many */
    {"fault-content-past-end.yaml",
     "fault-content-past-end.yaml:7:9: attempts[0].faults[0].reset.at: content 5 is past the end "
     "of the stream (it has 3 content events, 6 events in all)",
     1},
    {"fault-content-zero.yaml",
     "fault-content-zero.yaml:7:31: attempts[0].faults[0].close.at.content: must be >= 1 (content "
     "events are numbered from 1)",
     1},
    {"fault-content-raw.yaml",
     "fault-content-raw.yaml:10:9: attempts[0].faults[0].reset.at: content 1 is past the end of "
     "the stream (it has 0 content events, 2 events in all; raw events are no content events)",
     1},
    {"fault-event-past-end.yaml",
     "fault-event-past-end.yaml:7:9: attempts[0].faults[0].reset.at: event 40 is past the end of "
     "the stream (it has 6 events, 3 of them content events)",
     1},
    {"fault-fragment-both.yaml",
     "fault-fragment-both.yaml:7:30: attempts[0].faults[0].fragment.offsets: give bytes or "
     "offsets, not both",
     1},
    {"fault-garbage-bytes-on-json.yaml",
     "fault-garbage-bytes-on-json.yaml:7:47: attempts[0].faults[0].corrupt.bytes: bytes applies "
     "only to kind: garbage",
     1},
    {"fault-inject-empty.yaml",
     "fault-inject-empty.yaml:7:41: attempts[0].faults[0].inject.bytes: must not be empty", 1},
    {"fault-json-on-sentinel.yaml",
     "fault-json-on-sentinel.yaml:7:9: attempts[0].faults[0].corrupt.at: event 6 has no JSON data "
     "line to corrupt",
     1},
    /* The compiler finds no string value to break in {"n":1,"ok":true}: refused here, not
     * answered with a 500 (the loader asks chaos's own predicate). */
    {"fault-utf8-no-string.yaml",
     "fault-utf8-no-string.yaml:11:9: attempts[0].faults[0].corrupt.at: event 1 has no string "
     "value in its first data line to corrupt",
     1},
    {"fault-keepalive-alone.yaml",
     "fault-keepalive-alone.yaml:7:53: attempts[0].faults[0].stall.keepalive: needs keepalive_ms "
     "(the ping period)",
     1},
    {"fault-keepalive-jitter-too-big.yaml",
     "fault-keepalive-jitter-too-big.yaml:7:83: attempts[0].faults[0].stall.keepalive_jitter_ms: "
     "must be less than keepalive_ms (100)",
     1},
    {"fault-keepalive-jitter-forever.yaml",
     "fault-keepalive-jitter-forever.yaml:7:86: attempts[0].faults[0].stall.keepalive_jitter_ms: "
     "needs a finite ms: a stall forever pings at a fixed period",
     1},
    {"fault-keepalive-too-long.yaml",
     "fault-keepalive-too-long.yaml:7:56: attempts[0].faults[0].stall.keepalive_ms: must be less "
     "than ms (100), or no ping is ever sent",
     1},
    {"fault-line-endings-style.yaml",
     "fault-line-endings-style.yaml:7:23: attempts[0].faults[0].line_endings: unknown line ending "
     "style 'lf' (valid: crlf, cr)",
     1},
    {"fault-missing-ms.yaml",
     "fault-missing-ms.yaml:7:16: attempts[0].faults[0].stall.ms: missing required key", 1},
    {"fault-negative-ms.yaml",
     "fault-negative-ms.yaml:7:37: attempts[0].faults[0].stall.ms: must be >= 0, got -5", 1},
    {"fault-no-response-param.yaml",
     "fault-no-response-param.yaml:7:23: attempts[0].faults[0].no_response: no_response takes no "
     "parameters",
     1},
    {"fault-offsets-decrease.yaml",
     "fault-offsets-decrease.yaml:7:34: attempts[0].faults[0].fragment.offsets[1]: offsets must "
     "increase (4 after 10)",
     1},
    {"fault-probability.yaml",
     "fault-probability.yaml:6:35: attempts[0].chaos.probability: 1.5 is out of range (0 to 1)", 1},
    {"fault-raw-drop-sentinel.yaml",
     "fault-raw-drop-sentinel.yaml:10:9: attempts[0].faults[0].drop_sentinel: raw events have no "
     "end marker to drop: they are sent as written (leave the marker out of response.events "
     "instead)",
     1},
    {"fault-retry-after-string.yaml",
     "fault-retry-after-string.yaml:7:50: attempts[0].faults[0].http_error.retry_after_s: expected "
     "an integer, got the string \"2\"",
     1},
    {"fault-status-200.yaml",
     "fault-status-200.yaml:7:30: attempts[0].faults[0].http_error.status: status 200 is not an "
     "error status (400 to 599)",
     1},
    {"fault-two-keys.yaml",
     "fault-two-keys.yaml:7:9: attempts[0].faults[0]: a fault item has exactly one key, the fault "
     "(got 2; write each fault as its own list item)",
     1},
    {"fault-unknown-list.yaml",
     "fault-unknown-list.yaml:7:9: attempts[0].faults[0].explode: unknown fault 'explode' (see "
     "the README's Faults section for the catalog)",
     1},
    {"fault-unknown-param.yaml",
     "fault-unknown-param.yaml:7:42: attempts[0].faults[0].stall.keepalive_s: unknown key "
     "'keepalive_s' (did you mean 'keepalive_ms'?)",
     1},
    {"fault-unknown-suggest.yaml",
     "fault-unknown-suggest.yaml:7:9: attempts[0].faults[0].stal: unknown fault 'stal' (did you "
     "mean 'stall'?)",
     1},
    {"fault-unknown-type.yaml",
     "fault-unknown-type.yaml:7:45: attempts[0].faults[0].error_event.type: unknown error type "
     "'meltdown' (valid: invalid_request, authentication, permission, not_found, "
     "request_too_large, rate_limit, server, overloaded, timeout, or the providers' *_error names)",
     1},
};

ParameterizedTestParameters(fault_invalid, first_diagnostic)
{
    return cr_make_param_array(fault_case_t, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(fault_case_t *tc, fault_invalid, first_diagnostic)
{
    fl_check_invalid_file(tc->file, tc->first, tc->count, FL_ESCHEMA);
}

Test(fault_invalid, table_is_large_enough)
{
    cr_assert_geq(sizeof(cases) / sizeof(cases[0]), 20);
}

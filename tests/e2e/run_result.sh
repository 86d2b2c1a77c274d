#!/usr/bin/env bash
# The structured result and crash reports end to end (issue 17): the catalog scenarios made for
# them, run with the purpose-built tests/clients/result_client.py (each mode earns exactly its
# finding) and with the careful reference client (clients/c/robust: none). Also the contract's
# environment (FAULTLINE_DEADLINE_MS, FAULTLINE_RESULT_PATH in a private folder that is gone
# after the run) and the bounded read: a FIFO or a 2 MiB file is a bad_result, never a hang.
# Usage: bash run_result.sh <faultline-binary> <source-dir>
set -u
bin=$1
src=$2
robust=$(dirname "$bin")/clients/c/robust
client="python3 $src/tests/clients/result_client.py"
command -v python3 >/dev/null || { echo "FAIL: python3 is missing" >&2; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq is missing" >&2; exit 1; }
[ -x "$robust" ] || { echo "FAIL: no robust client at $robust" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/t"
export TMPDIR=$tmp/t # the runs' result folders go here, so the test sees what is left
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# judge NAME CLIENT SCENARIO: one run; NAME.json is its report.
judge() {
    timeout --foreground 60 "$bin" run --json "$tmp/$1.json" -c "$2" --filter "$3" \
        "$src/scenarios" >"$tmp/$1.out" 2>"$tmp/$1.err"
}

# expect NAME FINDINGS SCORE REASON: the run's findings (comma-separated, "" for none), score
# and a piece of its reason.
expect() {
    local got score reason
    got=$(jq -r '.runs[0].findings | join(",")' "$tmp/$1.json" 2>/dev/null)
    score=$(jq -r '.runs[0].score' "$tmp/$1.json" 2>/dev/null)
    reason=$(jq -r '.runs[0].reason' "$tmp/$1.json" 2>/dev/null)
    [ "$got" = "$2" ] || fail "$1: findings '$got', want '$2' ($reason)"
    [ "$score" = "$3" ] || fail "$1: score $score, want $3 ($reason)"
    [[ $reason == *"$4"* ]] || fail "$1: reason '$reason' lacks '$4'"
}

# Each finding, earned by the mode made for it (the penalties of the README's rubric).
judge invent "$client invent-finish" openai-chat-cut-before-finish
expect invent invented_finish 50 'finish_reason "stop", but attempt 1 never delivered one (end closed)'
judge stop "$client always-stop" openai-chat-max-tokens-length
expect stop wrong_finish 70 "attempt 1 sent 'length'"
judge usage "$client count-usage" openai-chat-usage-reported
expect usage wrong_usage 80 "attempt 1 sent 27"
judge crash "$client unguarded" openai-chat-error-event-always-crash
expect crash uncaught_exception 70 "uncaught exception: \"KeyError: 'choices'\""
jq -r '.runs[0].stderr_tail' "$tmp/crash.json" | grep -q '^Traceback (most recent call last):' ||
    fail "crash: stderr holds no Python traceback"
judge badjson "$client bad-json" openai-chat-usage-reported
expect badjson bad_result 80 "result file is not JSON"
judge fifo "$client fifo" openai-chat-usage-reported
expect fifo bad_result 80 "result file is not a regular file"
judge huge "$client huge" openai-chat-usage-reported
expect huge bad_result 80 "result file is larger than 1048576 bytes"

# The same client reporting what arrived earns nothing.
judge careful "$client careful" openai-chat-usage-reported
expect careful "" 100 "exact answer"
judge careful-length "$client careful" openai-chat-max-tokens-length
expect careful-length "" 100 "exact answer"
line=$(jq -r '.runs[0].stderr_tail' "$tmp/careful.json")
[[ $line == "deadline_ms=20000 result_path=$TMPDIR/faultline-result-"*/result.json* ]] ||
    fail "careful: the contract's environment was '$line'"

# The careful reference client: every new scenario at 100, no finding.
for s in openai-chat-cut-before-finish openai-chat-max-tokens-length openai-chat-usage-reported \
    openai-chat-error-event-always-crash openai-chat-openrouter-processing; do
    judge "robust-$s" "$robust" "$s"
    expect "robust-$s" "" 100 ""
done

# Every run's result folder is gone.
left=$(ls -A "$TMPDIR")
[ -z "$left" ] || fail "result folders left behind: $left"

[ "$failures" -eq 0 ] && echo "ok: structured result, crashes and the contract's environment"
exit $((failures > 0))

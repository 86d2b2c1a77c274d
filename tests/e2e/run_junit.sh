#!/usr/bin/env bash
# `faultline run --junit`: the XML a CI system reads. Real runs of the test clients
# (tests/clients/testclient.c) against tests/data/run/ must give well-formed XML that validates
# against tests/data/junit.xsd (xmllint, Debian's libxml2-utils), with one testcase per run,
# a <failure> exactly for the runs that did not pass, the client's output cleaned for XML, and
# the same counts as the JSON report of the same run.
# Usage: bash run_junit.sh <faultline-binary> <source-dir>
# The test clients come from FL_TESTCLIENT and FL_JSONQ (ctest sets them), else build/tests/.
set -u
bin=$1
src=$2
tc=${FL_TESTCLIENT:-$(dirname "$bin")/tests/testclient}
jq=${FL_JSONQ:-$(dirname "$bin")/tests/jsonq}
data=$src/tests/data/run
xsd=$src/tests/data/junit.xsd
[ -f "$xsd" ] || { echo "FAIL: no schema at $xsd" >&2; exit 1; }
command -v xmllint >/dev/null || { echo "FAIL: xmllint missing (apt-get install libxml2-utils)" >&2; exit 1; }
[ -x "$tc" ] && [ -x "$jq" ] || { echo "FAIL: no testclient/jsonq at $tc, $jq" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME ARGS...: faultline run in the background, with NAME.xml, NAME.json and NAME.rc.
run() {
    local name=$1
    shift
    (
        timeout --foreground 60 "$bin" run --junit "$tmp/$name.xml" --json "$tmp/$name.json" \
            "$@" >/dev/null 2>"$tmp/$name.err"
        echo $? >"$tmp/$name.rc"
    ) &
}
xp() { xmllint --xpath "$2" "$tmp/$1.xml" 2>/dev/null; } # NAME XPATH: the value, or nothing

# Passing and failing runs, repeated (names get #N), with empty and non-empty stdout and stderr.
run giveup --client "$tc giveup" --keep-going --repeat 2 "$data/clean.yaml" \
    "$data/reset-once.yaml" "$data/401.yaml"
# Every scenario once with the well-behaved client: all pass, names without #N.
run correct --client "$tc correct" "$data"
# A crash and a hang: failures whose evidence is a signal and a deadline.
run bad --client "$tc hang" --keep-going "$data/stall-forever.yaml"
run crash --client "$tc crash" "$data/clean.yaml"
wait

for n in giveup correct bad crash; do
    [ -s "$tmp/$n.xml" ] || { fail "$n: no JUnit file (exit $(cat "$tmp/$n.rc"))"; continue; }
    xmllint --noout "$tmp/$n.xml" 2>"$tmp/$n.lint" || fail "$n: not well-formed: $(head -c 300 "$tmp/$n.lint")"
    xmllint --noout --schema "$xsd" "$tmp/$n.xml" 2>"$tmp/$n.lint" ||
        fail "$n: does not validate against junit.xsd: $(head -c 400 "$tmp/$n.lint")"
    # The JUnit counts agree with the JSON report of the same run.
    runs=$("$jq" "$tmp/$n.json" runs.#)
    failed=$("$jq" "$tmp/$n.json" failed)
    [ "$(xp $n 'count(//testcase)')" = "$runs" ] || fail "$n: $(xp $n 'count(//testcase)') testcases, JSON has $runs runs"
    [ "$(xp $n 'count(//testcase/failure)')" = "$failed" ] || fail "$n: failures differ from JSON's $failed"
    [ "$(xp $n 'string(//testsuite/@tests)')" = "$runs" ] || fail "$n: testsuite tests= is not $runs"
    [ "$(xp $n 'string(//testsuite/@failures)')" = "$failed" ] || fail "$n: testsuite failures= is not $failed"
    [ "$(xp $n 'count(//testcase[@classname!="openai-chat"])')" = 0 ] || fail "$n: classname not the dialect"
done

[ "$(cat "$tmp/giveup.rc")" = 1 ] || fail "giveup: exit $(cat "$tmp/giveup.rc"), expected 1"
[ "$(xp giveup 'count(//testcase)')" = 6 ] || fail "giveup: expected 6 testcases"
[ "$(xp giveup 'count(//testcase/failure)')" = 2 ] || fail "giveup: expected 2 failures"
for r in 1 2; do
    tcase="//testcase[@name='run-reset-once#$r']"
    [ "$(xp giveup "string($tcase/failure/@type)")" = gave_up ] || fail "run-reset-once#$r: failure type not gave_up"
    xp giveup "string($tcase/failure)" | grep -q 'reset at event 6' ||
        fail "run-reset-once#$r: failure text lacks the fault evidence"
    xp giveup "string($tcase/system-err)" | grep -q 'Connection reset' ||
        fail "run-reset-once#$r: system-err lacks the client's stderr"
    # Empty stdout must give empty system-out, not stray bytes.
    [ -z "$(xp giveup "string($tcase/system-out)")" ] ||
        fail "run-reset-once#$r: system-out should be empty, is '$(xp giveup "string($tcase/system-out)" | od -c | head -2)'"
    [ "$(xp giveup "count(//testcase[@name='run-401#$r']/failure)")" = 0 ] || fail "run-401#$r: failed_cleanly is a pass"
    [ -z "$(xp giveup "string(//testcase[@name='run-clean#$r']/system-err)")" ] ||
        fail "run-clean#$r: system-err should be empty"
done

[ "$(cat "$tmp/correct.rc")" = 0 ] || fail "correct: exit $(cat "$tmp/correct.rc")"
[ "$(xp correct 'count(//testcase)')" = 6 ] || fail "correct: expected 6 testcases"
[ "$(xp correct 'count(//testcase[contains(@name, "#")])')" = 0 ] || fail "correct: #N without --repeat"
[ "$(xp correct 'count(//testcase[@name="run-stall-forever"])')" = 1 ] || fail "correct: run-stall-forever missing"

[ "$(xp bad 'string(//testcase/failure/@type)')" = hung ] || fail "hang: failure type not hung"
[ "$(xp crash 'string(//testcase/failure/@type)')" = crashed ] || fail "crash: failure type not crashed"

# An ASan/UBSan build of faultline must not complain about anything these runs did.
for f in "$tmp"/*.err; do
    if grep -qE 'Sanitizer|runtime error:' "$f"; then fail "sanitizer report in $(basename "$f")"; fi
done

# A report that cannot be written is an error (exit 2) that names the file.
"$bin" run --client "$tc correct" --junit "$tmp/no-such-dir/out.xml" "$data/clean.yaml" \
    >/dev/null 2>"$tmp/unwritable.err"
rc=$?
[ "$rc" = 2 ] || fail "unwritable --junit: exit $rc, expected 2"
grep -q 'no-such-dir' "$tmp/unwritable.err" || fail "unwritable --junit: stderr does not name the file"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "ok"

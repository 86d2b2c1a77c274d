#!/usr/bin/env bash
# An interrupted `faultline run` never reads as a pass (issue 11). Six scenarios at -j 2, started
# in file order (--order file): the client answers run-401 at once and sleeps on every other
# scenario, writing its pid to a file as it starts. Once run-always-reset and run-clean are both sleeping (so run-401 has been
# judged), faultline gets SIGINT. It must exit 130, kill the sleeping clients, and still write
# both reports: JSON with interrupted true, no score, run-401 in runs and the five others in
# not_run; JUnit that validates against tests/data/junit.xsd, with the five as <error
# type="interrupted"> and the suite's property interrupted=true. SIGTERM gives 143.
# Usage: bash run_interrupted.sh <faultline-binary> <source-dir>
set -u
# shellcheck source-path=SCRIPTDIR source=../support/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/harness.sh"
fl_harness_init "$1" "$2"
xsd=$src/tests/data/junit.xsd
command -v xmllint >/dev/null || { echo "FAIL: xmllint missing (apt-get install libxml2-utils)" >&2; exit 1; }
fl=
fl_on_exit() {
    local f
    [ -n "$fl" ] && kill -KILL "$fl" 2>/dev/null
    for f in "$tmp"/pid-*; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
}
xp() { xmllint --xpath "$2" "$tmp/$1.xml" 2>/dev/null; } # NAME XPATH: the value, or nothing
field() { "$jq" "$tmp/$1.json" "$2" 2>/dev/null; }

# interrupt NAME SIGNAL: the run above, interrupted by SIGNAL; NAME.{json,xml,out,err,rc}.
interrupt() {
    local name=$1 sig=$2
    rm -f "$tmp"/pid-*
    client="case \$FAULTLINE_SCENARIO in run-401) exec $tc correct ;; esac
echo \$\$ >$tmp/pid-\$FAULTLINE_SCENARIO; exec sleep 30"
    "$bin" run --client "$client" -j 2 --order file --keep-going --json "$tmp/$name.json" \
        --junit "$tmp/$name.xml" "$data" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    fl=$!
    for _ in $(seq 1 200); do # both sleepers started, within 20 s
        [ -s "$tmp/pid-run-always-reset" ] && [ -s "$tmp/pid-run-clean" ] && break
        sleep 0.1
    done
    [ -s "$tmp/pid-run-clean" ] || fail "$name: the sleeping clients never started"
    kill -"$sig" "$fl"
    for _ in $(seq 1 100); do # faultline gone within 10 s
        kill -0 "$fl" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$fl" 2>/dev/null; then
        fail "$name: faultline still running 10 s after SIG$sig"
        kill -KILL "$fl"
    fi
    wait "$fl"
    echo $? >"$tmp/$name.rc"
    fl=
}

interrupt int INT
[ "$(cat "$tmp/int.rc")" = 130 ] || fail "SIGINT: exit $(cat "$tmp/int.rc"), expected 130"
for s in run-always-reset run-clean; do
    p=$(cat "$tmp/pid-$s" 2>/dev/null)
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then fail "SIGINT: the client of $s ($p) still runs"; fi
done

[ -s "$tmp/int.json" ] || fail "SIGINT: no JSON report"
[ "$(field int interrupted)" = true ] || fail "JSON interrupted is '$(field int interrupted)', expected true"
[ "$(field int score)" = null ] || fail "JSON score is '$(field int score)', expected null"
[ "$(field int runs.#)" = 1 ] && [ "$(field int runs.0.scenario)" = run-401 ] ||
    fail "JSON runs: $(field int runs.#) ($(field int runs.0.scenario)), expected run-401 alone"
[ "$(field int runs.0.verdict)" = failed_cleanly ] || fail "run-401 verdict $(field int runs.0.verdict)"
want="run-always-reset,run-clean,run-rate-limited,run-reset-once,run-stall-forever"
got=$("$jq" -l "$tmp/int.json" not_run 2>/dev/null | paste -sd, -)
[ "$got" = "$want" ] || fail "JSON not_run '$got', expected '$want'"

[ -s "$tmp/int.xml" ] || fail "SIGINT: no JUnit report"
xmllint --noout --schema "$xsd" "$tmp/int.xml" 2>"$tmp/xmllint.err" ||
    fail "JUnit does not validate: $(head -c 500 "$tmp/xmllint.err")"
[ "$(xp int 'string(/testsuites/testsuite/@tests)')" = 6 ] || fail "JUnit tests != 6"
[ "$(xp int 'string(/testsuites/testsuite/@errors)')" = 5 ] || fail "JUnit errors != 5"
[ "$(xp int 'string(/testsuites/@errors)')" = 5 ] || fail "JUnit testsuites errors != 5"
[ "$(xp int 'count(//testcase/error[@type="interrupted"])')" = 5 ] ||
    fail "JUnit: $(xp int 'count(//testcase/error[@type="interrupted"])') interrupted errors, expected 5"
[ "$(xp int 'string(//property[@name="interrupted"]/@value)')" = true ] ||
    fail "JUnit: no property interrupted=true"
[ "$(xp int 'string(//testcase[@name="run-clean"]/error/@message)')" = \
    "interrupted while running: its client was killed" ] || fail "JUnit: run-clean's message"
[ "$(xp int 'string(//testcase[@name="run-stall-forever"]/error/@message)')" = \
    "interrupted before it started" ] || fail "JUnit: run-stall-forever's message"
[ "$(xp int 'count(//testcase[@name="run-401"]/*[self::error or self::failure])')" = 0 ] ||
    fail "JUnit: run-401 (judged, passed) carries an outcome"

grep -q 'INTERRUPTED: 5 of 6 runs not run, no score' "$tmp/int.out" ||
    fail "table: no INTERRUPTED line; $(tail -n 3 "$tmp/int.out")"
[ "$(grep -c 'not run' "$tmp/int.out")" -ge 6 ] || fail "table: not-run rows missing"
if grep -q '^score ' "$tmp/int.out"; then fail "table: an interrupted run shows a score"; fi
grep -q 'interrupted by SIGINT; 5 of 6 runs not run' "$tmp/int.err" ||
    fail "stderr: $(head -c 300 "$tmp/int.err")"

interrupt term TERM
[ "$(cat "$tmp/term.rc")" = 143 ] || fail "SIGTERM: exit $(cat "$tmp/term.rc"), expected 143"
[ "$(field term interrupted)" = true ] || fail "SIGTERM: JSON interrupted is not true"
xmllint --noout --schema "$xsd" "$tmp/term.xml" 2>/dev/null || fail "SIGTERM: JUnit does not validate"

fl_finish

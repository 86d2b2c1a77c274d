#!/usr/bin/env bash
# `faultline run` end to end: every verdict and finding reached by a real client process.
# Each testclient mode (tests/clients/testclient.c) misbehaves in one known way against one
# scenario of tests/data/run/; the JSON report must name exactly the verdict and findings that
# behaviour deserves, and the exit status must follow. Then the CLI: exit statuses 0/1/2,
# --min-score, --filter, --repeat, every scenario run by default and -x stopping at the first
# failure (--keep-going still accepted), -j / --shard giving the same verdicts as -j 1, a
# mistyped option answered with the nearest one, and report paths checked before anything
# runs; the client's stdout never reaches faultline's stdout, and piped output has no ESC byte.
# Usage: bash run_verdicts.sh <faultline-binary> <source-dir>
# The test clients come from FL_TESTCLIENT and FL_JSONQ (ctest sets them), else build/tests/.
set -u
bin=$1
src=$2
tc=${FL_TESTCLIENT:-$(dirname "$bin")/tests/testclient}
jq=${FL_JSONQ:-$(dirname "$bin")/tests/jsonq}
data=$src/tests/data/run
extra=$src/tests/data/run-extra
[ -x "$tc" ] || { echo "FAIL: no testclient at $tc" >&2; exit 1; }
[ -x "$jq" ] || { echo "FAIL: no jsonq at $jq" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME ARGS...: faultline run in the background; NAME.out, NAME.err, NAME.rc, NAME.json.
# Every run is bounded by its scenarios' deadlines (at most 5 s here); `timeout` only guards
# against a harness that never returns, and --foreground keeps it off the process group.
run() {
    local name=$1
    shift
    (
        timeout --foreground 60 "$bin" run --json "$tmp/$name.json" "$@" \
            >"$tmp/$name.out" 2>"$tmp/$name.err"
        echo $? >"$tmp/$name.rc"
    ) &
}

# field NAME PATH: one field of NAME's JSON report ("" when missing).
field() { "$jq" "$tmp/$1.json" "$2" 2>/dev/null; }

# findings NAME [RUN]: the run's findings, sorted, comma-separated ("-" for none).
findings() {
    local f
    f=$("$jq" -l "$tmp/$1.json" "runs.${2:-0}.findings" 2>/dev/null | sort | paste -sd, -)
    echo "${f:--}"
}

rc_of() { cat "$tmp/$1.rc" 2>/dev/null || echo none; }

# mode scenario verdict findings(sorted, comma-separated, - for none) exit-status
pairs=(
    "correct clean correct - 0"
    "correct reset-once recovered - 0"
    "correct rate-limited recovered - 0"
    "correct stall-forever recovered - 0"
    "correct always-reset failed_cleanly - 0"
    "correct 401 failed_cleanly - 0"
    "truncate reset-once silent_truncation - 1"
    "duplicate reset-once duplicated - 1"
    "corrupt clean corrupted - 1"
    "hang stall-forever hung stall_undetected 1"
    "crash clean crashed - 1"
    "storm always-reset failed_cleanly no_backoff,retry_storm 1"
    "ignore-ra rate-limited recovered ignored_retry_after,no_backoff 1"
    "giveup reset-once gave_up - 1"
    "giveup 401 failed_cleanly - 0"
    "mute 401 failed_cleanly no_error_message 1"
    "noreq clean no_request - 1"
)
for p in "${pairs[@]}"; do
    read -r mode scen _ <<<"$p"
    run "pair-$mode-$scen" --client "$tc $mode" "$data/$scen.yaml"
done
# A client that honours a 30 s Retry-After when 2 s remain is hung, but not stuck: the finding
# says so. One that gives up at once fails cleanly.
run ra-correct --client "$tc correct" "$extra/retry-after-past-deadline.yaml"
run ra-giveup --client "$tc giveup" "$extra/retry-after-past-deadline.yaml"

# The whole directory with the well-behaved client, four ways: one at a time, four at a time,
# and as two shards. All must agree run by run.
run dir-j1 --client "$tc correct" -j 1 "$data"
run dir-j4 --client "$tc correct" -j 4 "$data"
run dir-s1 --client "$tc correct" -j 8 --shard 1/2 "$data"
run dir-s2 --client "$tc correct" -j 8 --shard 2/2 "$data"

# With -x a run stops starting scenarios after the first that fails; in name order giveup
# passes run-401, run-always-reset and run-clean and fails run-rate-limited (gave_up), then
# run-reset-once and run-stall-forever (gave_up too). Without it, every scenario runs;
# --keep-going, from when stopping was the default, is accepted and changes nothing.
run stop --client "$tc giveup" -j 1 -x "$data"
run stop-long --client "$tc giveup" -j 1 --exitfirst --keep-going "$data"
run all --client "$tc giveup" -j 1 "$data"
run keep --client "$tc giveup" -j 1 --keep-going "$data"

run filter1 --client "$tc correct" --filter 'run-re*' "$data"
run filter2 --client "$tc correct" --filter run-clean --filter run-401 "$data"
run dialect --client "$tc correct" --dialect openai-responses,openai-chat "$data"
run repeat --client "$tc correct" --repeat 2 "$data/clean.yaml"
run min-ok --client "$tc correct" --min-score 100 "$data/clean.yaml"
run min-low --client "$tc giveup" --keep-going --min-score 90 "$data/clean.yaml" \
    "$data/reset-once.yaml"
run min-met --client "$tc giveup" --keep-going --min-score 60 "$data/clean.yaml" \
    "$data/reset-once.yaml"
run nocolor --client "$tc correct" --no-color "$data/clean.yaml"
# Options may follow the scenarios, as with most command-line tools.
run optlast --client "$tc correct" "$data/clean.yaml" --repeat 2 --no-color
# No scenario arguments: the catalog, here pointed at the test scenarios.
FAULTLINE_CATALOG=$data run catalog --client "$tc correct" -j 8
wait

for p in "${pairs[@]}"; do
    read -r mode scen verdict want_findings want_rc <<<"$p"
    n=pair-$mode-$scen
    what="$mode x $scen"
    [ "$(rc_of "$n")" = "$want_rc" ] ||
        fail "$what: exit $(rc_of "$n"), expected $want_rc; stderr: $(head -c 300 "$tmp/$n.err")"
    [ "$(field "$n" runs.#)" = 1 ] || fail "$what: expected exactly one run in the report"
    got=$(field "$n" runs.0.verdict)
    [ "$got" = "$verdict" ] ||
        fail "$what: verdict '$got', expected $verdict; reason: $(field "$n" runs.0.reason)"
    got=$(findings "$n")
    [ "$got" = "$want_findings" ] ||
        fail "$what: findings '$got', expected '$want_findings'; reason: $(field "$n" runs.0.reason)"
    want_pass=false
    [ "$want_rc" = 0 ] && want_pass=true
    [ "$(field "$n" runs.0.passed)" = "$want_pass" ] || fail "$what: passed is not $want_pass"
    [ "$(field "$n" counts."$verdict")" = 1 ] || fail "$what: counts.$verdict is not 1"
done

# Evidence behind some verdicts, so a right verdict for a wrong reason does not pass.
n=pair-crash-clean
[ "$(field $n runs.0.exit.kind)" = signal ] && [ "$(field $n runs.0.exit.signal)" = 11 ] ||
    fail "crash: exit should be signal 11, got $(field $n runs.0.exit.kind) $(field $n runs.0.exit.signal)"
n=pair-hang-stall-forever
[ "$(field $n runs.0.exit.kind)" = deadline ] || fail "hang: exit kind $(field $n runs.0.exit.kind)"
n=pair-storm-always-reset
[ "$(field $n runs.0.attempts.#)" = 20 ] || fail "storm: $(field $n runs.0.attempts.#) attempts, expected 20"
n=pair-correct-always-reset
[ "$(field $n runs.0.attempts.#)" = 4 ] || fail "correct x always-reset: $(field $n runs.0.attempts.#) attempts"
gap=$(field $n runs.0.attempts.1.gap_ms)
[ -n "$gap" ] && [ "$gap" -ge 250 ] || fail "correct x always-reset: gap_ms '$gap' should be about 300"
n=pair-correct-rate-limited
[ "$(field $n runs.0.attempts.0.status)" = 429 ] || fail "rate-limited: attempt 1 status not 429"
[ "$(field $n runs.0.attempts.1.retry_after_ms)" = 1000 ] ||
    fail "rate-limited: attempt 2 retry_after_ms '$(field $n runs.0.attempts.1.retry_after_ms)'"
gap=$(field $n runs.0.attempts.1.gap_ms)
[ -n "$gap" ] && [ "$gap" -ge 975 ] || fail "correct x rate-limited: gap_ms '$gap' under Retry-After"
n=pair-noreq-clean
[ "$(field $n runs.0.attempts.#)" = 0 ] || fail "noreq: the report shows requests"
n=pair-duplicate-reset-once
[ "$(field $n runs.0.attempts.0.end)" = reset ] || fail "duplicate: attempt 1 did not end in a reset"

# The same verdicts however the directory is scheduled.
verdicts() { # NAME: "scenario verdict findings" per run, sorted
    local i count
    count=$(field "$1" runs.#)
    for ((i = 0; i < ${count:-0}; i++)); do
        echo "$(field "$1" runs."$i".scenario) $(field "$1" runs."$i".verdict) $(findings "$1" $i)"
    done | sort
}
verdicts dir-j1 >"$tmp/v-j1"
verdicts dir-j4 >"$tmp/v-j4"
{ verdicts dir-s1; verdicts dir-s2; } | sort >"$tmp/v-shards"
[ "$(wc -l <"$tmp/v-j1")" = 6 ] || fail "-j 1 on the directory: $(wc -l <"$tmp/v-j1") runs, expected 6"
for r in dir-j1 dir-j4 dir-s1 dir-s2; do
    [ "$(rc_of $r)" = 0 ] || fail "$r: exit $(rc_of $r); stderr: $(head -c 300 "$tmp/$r.err")"
done
cmp -s "$tmp/v-j1" "$tmp/v-j4" || fail "-j 4 differs from -j 1: $(diff "$tmp/v-j1" "$tmp/v-j4" | tr '\n' ' ')"
cmp -s "$tmp/v-j1" "$tmp/v-shards" ||
    fail "shards 1/2 + 2/2 differ from -j 1: $(diff "$tmp/v-j1" "$tmp/v-shards" | tr '\n' ' ')"
[ "$(field dir-s1 runs.#)" = 3 ] && [ "$(field dir-s2 runs.#)" = 3 ] ||
    fail "shards should hold 3 runs each: $(field dir-s1 runs.#) + $(field dir-s2 runs.#)"
[ "$(field dir-s1 shard)" = 1/2 ] || fail "JSON shard is '$(field dir-s1 shard)', expected 1/2"
grep -q 'run-clean correct -' "$tmp/v-j1" || fail "-j 1: run-clean not correct"

# Stop after the first failure with -x (or --exitfirst), and say why on stderr.
for n in stop stop-long; do
    [ "$(rc_of $n)" = 1 ] || fail "$n: exit $(rc_of $n), expected 1"
    [ "$(field $n runs.#)" = 4 ] || fail "$n: $(field $n runs.#) runs, expected 4 (stop after run-rate-limited)"
    [ "$(field $n runs.3.verdict)" = gave_up ] || fail "$n: last run is $(field $n runs.3.verdict)"
    grep -q -- '--exitfirst' "$tmp/$n.err" || fail "$n: stderr does not say -x/--exitfirst stopped it"
    [ "$("$jq" -l "$tmp/$n.json" not_run | paste -sd, -)" = run-reset-once,run-stall-forever ] ||
        fail "$n: not_run is '$("$jq" -l "$tmp/$n.json" not_run | paste -sd, -)'"
done
# By default, and with --keep-going, every scenario runs.
for n in all keep; do
    [ "$(rc_of $n)" = 1 ] || fail "$n: exit $(rc_of $n), expected 1"
    [ "$(field $n runs.#)" = 6 ] || fail "$n: $(field $n runs.#) runs, expected 6"
    [ "$(field $n failed)" = 3 ] && [ "$(field $n passed)" = 3 ] ||
        fail "$n: passed/failed $(field $n passed)/$(field $n failed), expected 3/3"
    [ "$(field $n not_run.#)" = 0 ] || fail "$n: runs not run: $(field $n not_run.#)"
    if grep -q 'stopped after' "$tmp/$n.err"; then fail "$n: stderr says it stopped"; fi
done

# Retry-After past the deadline: hung with its own finding and reason; giving up is right.
[ "$(field ra-correct runs.0.verdict)" = hung ] && [ "$(findings ra-correct)" = retry_after_past_deadline ] ||
    fail "Retry-After past the deadline: $(field ra-correct runs.0.verdict) $(findings ra-correct)"
field ra-correct runs.0.reason | grep -q 'Retry-After of 30000 ms' ||
    fail "Retry-After past the deadline: reason '$(field ra-correct runs.0.reason)'"
[ "$(field ra-correct findings.retry_after_past_deadline)" = 1 ] || fail "JSON findings count"
[ "$(field ra-correct runs.0.attempts.0.sent_retry_after_ms)" = 30000 ] ||
    fail "sent_retry_after_ms '$(field ra-correct runs.0.attempts.0.sent_retry_after_ms)'"
[ "$(rc_of ra-correct)" = 1 ] || fail "ra-correct: exit $(rc_of ra-correct)"
[ "$(field ra-giveup runs.0.verdict)" = failed_cleanly ] && [ "$(findings ra-giveup)" = - ] ||
    fail "giving up on a 30 s Retry-After: $(field ra-giveup runs.0.verdict) $(findings ra-giveup)"
# A stall stays a stall: no Retry-After finding for a client stuck on silence.
[ "$(findings pair-hang-stall-forever)" = stall_undetected ] || fail "hang: $(findings pair-hang-stall-forever)"

# --filter (globs on names, repeatable: any of them) and --repeat.
[ "$(field filter1 runs.#)" = 1 ] && [ "$(field filter1 runs.0.scenario)" = run-reset-once ] ||
    fail "--filter 'run-re*': $(field filter1 runs.#) runs"
[ "$(field filter2 runs.#)" = 2 ] || fail "two --filter: $(field filter2 runs.#) runs, expected 2"
[ "$(field dialect runs.#)" = 6 ] || fail "--dialect with openai-chat: $(field dialect runs.#) runs, expected 6"
[ "$(field repeat runs.#)" = 2 ] || fail "--repeat 2: $(field repeat runs.#) runs"
[ "$(field repeat runs.0.repeat) $(field repeat runs.1.repeat)" = "1 2" ] ||
    fail "--repeat 2: repeats $(field repeat runs.0.repeat) $(field repeat runs.1.repeat)"
[ "$(field repeat counts.correct)" = 2 ] || fail "--repeat 2: not two correct runs"
[ "$(rc_of optlast)" = 0 ] && [ "$(field optlast runs.#)" = 2 ] ||
    fail "options after the scenario: exit $(rc_of optlast), $(field optlast runs.#) runs; $(head -c 200 "$tmp/optlast.err")"

[ "$(rc_of catalog)" = 0 ] && [ "$(field catalog runs.#)" = 6 ] ||
    fail "FAULTLINE_CATALOG: exit $(rc_of catalog), $(field catalog runs.#) runs, expected 0 and 6"

# --min-score: with a bar the score alone decides. 100 with everything passing is met; 90 with a
# score of 70 is not; 60 with the same 70 is met although one run did not pass.
[ "$(rc_of min-ok)" = 0 ] || fail "--min-score 100, all correct: exit $(rc_of min-ok)"
[ "$(field min-ok min_score)" = 100 ] || [ "$(field min-ok min_score)" = 100.0 ] ||
    fail "JSON min_score '$(field min-ok min_score)'"
score=$(field min-low score)
awk -v s="${score:-100}" 'BEGIN { exit !(s < 90) }' || fail "min-low: score '$score' is not under 90"
[ "$(rc_of min-low)" = 1 ] || fail "--min-score 90, score 70 (a gave_up run): exit $(rc_of min-low)"
[ "$(field min-met failed)" = 1 ] || fail "min-met: expected one failed run, got '$(field min-met failed)'"
[ "$(rc_of min-met)" = 0 ] || fail "--min-score 60, score 70 with a failed run: exit $(rc_of min-met)"

# An ASan/UBSan build of faultline must not complain about anything these runs did.
for f in "$tmp"/*.err; do
    if grep -qE 'Sanitizer|runtime error:' "$f"; then fail "sanitizer report in $(basename "$f")"; fi
done

# Piped: no ESC byte anywhere, and the client's stdout never in faultline's stdout.
for f in "$tmp"/*.out "$tmp"/*.err; do
    if grep -q $'\x1b' "$f"; then fail "ESC byte in $(basename "$f")"; fi
done
for f in "$tmp"/*.out; do
    if grep -q 'zebra-quartz' "$f"; then fail "client stdout leaked into $(basename "$f")"; fi
done
grep -q 'run-clean' "$tmp/nocolor.out" || fail "--no-color: no table on stdout"
[ "$(rc_of nocolor)" = 0 ] || fail "--no-color: exit $(rc_of nocolor)"

# On a terminal (script(1) gives one): colors only on a terminal stdout without --no-color or
# NO_COLOR; the progress line only on a terminal stderr.
tty_run() { # OUT-FILE ERR-REDIRECT ARGS...: faultline run under a pty; the pty's bytes in OUT
    local out=$1 redirect=$2
    shift 2
    local cmd
    printf -v cmd '%q ' "$bin" run --client "$tc correct" "$@"
    timeout --foreground 60 script -qec "$cmd $redirect" "$out" >/dev/null 2>&1
}
if command -v script >/dev/null; then
    tty_run "$tmp/tty-color" "2>$tmp/tty-color.err" "$data/clean.yaml"
    grep -q $'\x1b\[' "$tmp/tty-color" || fail "terminal stdout: no color"
    [ ! -s "$tmp/tty-color.err" ] || fail "piped stderr got: $(cat -v "$tmp/tty-color.err")"
    tty_run "$tmp/tty-nocolor" "2>/dev/null" --no-color "$data/clean.yaml"
    grep -q 'run-clean' "$tmp/tty-nocolor" || fail "terminal --no-color: no table"
    if grep -q $'\x1b' "$tmp/tty-nocolor"; then fail "terminal --no-color: ESC byte"; fi
    NO_COLOR=1 tty_run "$tmp/tty-nocolor-env" "2>/dev/null" "$data/clean.yaml"
    if grep -q $'\x1b' "$tmp/tty-nocolor-env"; then fail "terminal with NO_COLOR: ESC byte"; fi
    tty_run "$tmp/tty-progress" ">$tmp/tty-progress.out" "$data/clean.yaml"
    grep -q '\[1/1\]' "$tmp/tty-progress" || fail "terminal stderr: no progress line"
    if grep -q $'\x1b' "$tmp/tty-progress.out"; then fail "piped stdout: ESC byte"; fi
fi

# Exit status 2: an invalid scenario (file:line:col on stderr, no run) and bad usage.
bad=$src/tests/data/scenarios/invalid/unknown-key-suggest.yaml
out=$("$bin" run --client "$tc correct" "$bad" 2>"$tmp/bad.err")
rc=$?
[ "$rc" = 2 ] || fail "invalid scenario: exit $rc, expected 2"
grep -q "^$bad:6:3: " "$tmp/bad.err" || fail "invalid scenario: stderr lacks $bad:6:3: ($(cat "$tmp/bad.err"))"
[ -z "$out" ] || fail "invalid scenario: stdout not empty: $out"
usage_cases=(
    "--bogus"
    "$data/clean.yaml"
    "--client $tc -j 0 $data/clean.yaml"
    "--client $tc --jobs x $data/clean.yaml"
    "--client $tc --repeat 0 $data/clean.yaml"
    "--client $tc --shard 3/2 $data/clean.yaml"
    "--client $tc --shard 1 $data/clean.yaml"
    "--client $tc --min-score 101 $data/clean.yaml"
    "--client $tc --seed -1 $data/clean.yaml"
    "--client $tc --filter no-such-scenario $data"
    "--client $tc --dialect anthropic-messages $data"
    "--client $tc --dialect openai $data"
    "--client $tc $data/no-such-file.yaml"
)
for u in "${usage_cases[@]}"; do
    # shellcheck disable=SC2086 # word splitting is the point: one string, several arguments
    "$bin" run $u >/dev/null 2>"$tmp/usage.err"
    rc=$?
    [ "$rc" = 2 ] || fail "'faultline run $u': exit $rc, expected 2"
    [ -s "$tmp/usage.err" ] || fail "'faultline run $u': nothing on stderr"
done
"$bin" run --help | grep -q '^usage: faultline run' || fail "--help prints usage"

# A mistyped option gets the nearest valid one, in run, serve and validate.
suggest() { # EXPECTED-LINE ARGS...: exit 2 and EXPECTED-LINE on stderr
    local want=$1
    shift
    "$bin" "$@" >/dev/null 2>"$tmp/suggest.err"
    local rc=$?
    [ "$rc" = 2 ] || fail "'faultline $*': exit $rc, expected 2"
    grep -qxF "$want" "$tmp/suggest.err" || fail "'faultline $*': stderr '$(head -n 1 "$tmp/suggest.err")', expected '$want'"
}
suggest "faultline run: unknown option --filtr; did you mean --filter?" run --client "$tc correct" --filtr x "$data"
suggest "faultline run: unknown option --jsn; did you mean --json?" run --client "$tc correct" --jsn=out.json "$data"
suggest "faultline run: unknown option --exit-first; did you mean --exitfirst?" run --exit-first --client "$tc correct" "$data"
suggest "faultline run: unknown option --zzzzzz" run --zzzzzz --client "$tc correct" "$data"
suggest "faultline serve: unknown option --prot; did you mean --port?" serve --prot 0 "$data"
suggest "faultline validate: unknown option --hlep; did you mean --help?" validate --hlep "$data"

# Report paths are checked before any scenario runs: an unwritable one is bad usage at once,
# naming the path and the reason, with no table and no client started.
marker=$tmp/client-started
for opt in --json --junit --html --summary; do
    start=$(date +%s%N)
    "$bin" run --client "touch $marker; $tc correct" "$opt" "$tmp/no-such-dir/report" "$data"         >"$tmp/early.out" 2>"$tmp/early.err"
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    [ "$rc" = 2 ] || fail "unwritable $opt: exit $rc, expected 2"
    grep -q "$tmp/no-such-dir/report: .*No such file or directory" "$tmp/early.err" ||
        fail "unwritable $opt: stderr '$(cat "$tmp/early.err")' lacks the path and the reason"
    [ ! -s "$tmp/early.out" ] || fail "unwritable $opt: a table was printed"
    [ ! -e "$marker" ] || fail "unwritable $opt: a client ran"
    [ "$ms" -lt 2000 ] || fail "unwritable $opt: took $ms ms"
done
"$bin" run --client "touch $marker; $tc correct" --html "$tmp" "$data/clean.yaml" >/dev/null 2>"$tmp/dir.err"
[ $? = 2 ] && grep -q "Is a directory" "$tmp/dir.err" && [ ! -e "$marker" ] ||
    fail "--html to a folder: $(cat "$tmp/dir.err")"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "ok"

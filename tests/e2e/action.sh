#!/usr/bin/env bash
# The GitHub Action, run as a runner runs it: tests/support/run_action.py reads action.yml,
# checks its shape (composite, every input used, every INPUT_* variable wired both ways), then
# executes its steps with inputs and the runner's variables (RUNNER_TEMP, GITHUB_WORKSPACE,
# GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_PATH) and actions/cache emulated with a folder.
#   1. a cache miss: the action builds from source, installs into RUNNER_TEMP, scores the
#      bundled robust client on two shards' worth of the installed catalog, writes the JSON and
#      JUnit reports and the summary, outputs score 100, and saves the cache;
#   2. a cache hit on a fresh RUNNER_TEMP: nothing is built; a failing client fails the step
#      with exit status 1, and its summary is appended after the first;
#   3. the same client with min-score 0 passes; a bad input fails with 2.
# Usage: action.sh FAULTLINE SOURCE_DIR (FL_TESTCLIENT, FL_JSONQ from ctest)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
fl_e2e_init "$@"
fl_action_python
runner=$src/tests/support/run_action.py

# ---- action.yml's shape ---------------------------------------------------------------------
shape=$("$py" "$runner" check "$src") || fail "action.yml check failed"
for input in client scenarios filter dialect min-score shard junit json; do
    [[ $shape == *"\"$input\""* ]] || fail "action.yml does not declare input '$input': $shape"
done
[[ $shape == *'"outputs": ["score"]'* ]] || fail "action.yml outputs: $shape"

# The checker itself must catch an input no step uses and a variable the script never reads.
mkdir -p "$tmp/broken/scripts"
cp "$src/scripts/action.sh" "$tmp/broken/scripts/"
sed 's/^  args:$/  unused:\n    description: x\n  args:/; s/INPUT_SHARD: /INPUT_SHARDS: /' \
    "$src/action.yml" >"$tmp/broken/action.yml"
"$py" "$runner" check "$tmp/broken" 2>"$tmp/broken.err" >/dev/null && fail "a broken action.yml passed the check"
grep -q "input 'unused' is declared but no step uses it" "$tmp/broken.err" || fail "checker: $(cat "$tmp/broken.err")"
grep -q "INPUT_SHARDS .* never reads it" "$tmp/broken.err" || fail "checker: $(cat "$tmp/broken.err")"
grep -q "reads INPUT_SHARD, which no step sets" "$tmp/broken.err" || fail "checker: $(cat "$tmp/broken.err")"

# ---- the steps, as a runner runs them -------------------------------------------------------
export GITHUB_WORKSPACE=$tmp/workspace RUNNER_OS=Linux FL_ACTION_CACHE=$tmp/cache
export GITHUB_STEP_SUMMARY=$tmp/step-summary.md
mkdir -p "$GITHUB_WORKSPACE"
# job N INPUT=VALUE...: runs the action as a new job: RUNNER_TEMP is the same folder each time
# and emptied first, as on a runner (so a restored cache lands where the last job built). Its
# outputs JSON goes to $tmp/N.out, its log to $tmp/N.log, its exit status to $rc.
export RUNNER_TEMP=$tmp/runner-temp
job() {
    local n=$1
    shift
    rm -rf "$RUNNER_TEMP"
    mkdir -p "$RUNNER_TEMP"
    rc=0
    (cd "$GITHUB_WORKSPACE" && "$py" "$runner" run "$src" "$@") >"$tmp/$n.out" 2>"$tmp/$n.log" || rc=$?
}

# 1. cache miss: build, install, run the installed catalog's scenarios with the bundled client
four='openai-chat-text anthropic-tool-call openai-responses-split-utf8-3byte openai-chat-401-unauthorized'
job 1 client='"$FAULTLINE_CLIENTS"/robust' filter="$four" shard=2/2 json=a.json junit=a.xml
[ "$rc" = 0 ] || { cat "$tmp/1.log" >&2; fail "job 1 exited $rc"; }
grep -q 'cache miss' "$tmp/1.log" || fail "job 1 did not miss the cache: $(cat "$tmp/1.log")"
[ -f "$RUNNER_TEMP/faultline-build/CMakeCache.txt" ] || fail "job 1 did not build"
prefix=$RUNNER_TEMP/faultline
[ -x "$prefix/bin/faultline" ] || fail "job 1 installed no $prefix/bin/faultline"
[ "$(cat "$tmp/1.out")" = '{"score": "100.0"}' ] || fail "job 1 outputs: $(cat "$tmp/1.out")"
ws=$GITHUB_WORKSPACE
[ "$("$jsonq" "$ws/a.json" shard) $("$jsonq" "$ws/a.json" runs.#)" = "2/2 2" ] ||
    fail "job 1 report: shard $("$jsonq" "$ws/a.json" shard), $("$jsonq" "$ws/a.json" runs.#) runs"
# the second shard of the four, in catalog order, taken from the installed catalog
expected=$("$bin" run --client true --filter openai-chat-text --filter anthropic-tool-call \
    --filter openai-responses-split-utf8-3byte --filter openai-chat-401-unauthorized \
    --shard 2/2 --keep-going --json "$tmp/expected.json" >/dev/null 2>&1 || true
    echo "$("$jsonq" "$tmp/expected.json" runs.0.scenario) $("$jsonq" "$tmp/expected.json" runs.1.scenario)")
[ "$("$jsonq" "$ws/a.json" runs.0.scenario) $("$jsonq" "$ws/a.json" runs.1.scenario)" = "$expected" ] ||
    fail "job 1 ran $("$jsonq" "$ws/a.json" runs.0.scenario) $("$jsonq" "$ws/a.json" runs.1.scenario), shard 2/2 is $expected"
[[ $("$jsonq" "$ws/a.json" runs.0.file) == "$prefix/share/faultline/scenarios/"* ]] ||
    fail "job 1 did not use the installed catalog: $("$jsonq" "$ws/a.json" runs.0.file)"
grep -q '<testsuite name="faultline" tests="2" failures="0"' "$ws/a.xml" || fail "job 1 JUnit: $(head -5 "$ws/a.xml")"
[ "$(grep -c '^### Faultline: ' "$GITHUB_STEP_SUMMARY")" = 1 ] || fail "job 1 summary: $(cat "$GITHUB_STEP_SUMMARY")"
grep -qxF '### Faultline: passed, score 100.0/100' "$GITHUB_STEP_SUMMARY" || fail "job 1 summary heading"
ls "$FL_ACTION_CACHE"/faultline-Linux-*.tar >/dev/null 2>&1 || fail "job 1 saved no cache"

# 2. cache hit in a new job: nothing built; a truncating client fails the step
job 2 client="$tc truncate" scenarios="$src/tests/data/run/clean.yaml $src/tests/data/run/reset-once.yaml" \
    dialect=openai-chat
[ "$rc" = 1 ] || { cat "$tmp/2.log" >&2; fail "job 2 (a failing client) exited $rc, expected 1"; }
grep -q 'cache restored' "$tmp/2.log" || fail "job 2 did not hit the cache: $(cat "$tmp/2.log")"
[ ! -e "$RUNNER_TEMP/faultline-build" ] || fail "job 2 built although the cache hit"
[ -x "$RUNNER_TEMP/faultline/bin/faultline" ] || fail "job 2: the cache did not restore the install"
score=$(sed -n 's/^{"score": "\(.*\)"}$/\1/p' "$tmp/2.out")
if [ -z "$score" ] || ! awk -v s="$score" 'BEGIN { exit !(s < 100) }'; then
    fail "job 2 score output: $(cat "$tmp/2.out")"
fi
[ "$(grep -c '^### Faultline: ' "$GITHUB_STEP_SUMMARY")" = 2 ] || fail "job 2 did not append its summary"
sed -n '/^### Faultline: failed/,$p' "$GITHUB_STEP_SUMMARY" | grep -q '^#### Did not pass (' ||
    fail "job 2 summary: $(cat "$GITHUB_STEP_SUMMARY")"
grep -q '^| run-reset-once | openai-chat | \*\*silent_truncation\*\*' "$GITHUB_STEP_SUMMARY" ||
    fail "job 2 summary has no failing row: $(cat "$GITHUB_STEP_SUMMARY")"

# 3. min-score lets the same client pass; a bad input fails the step with 2
job 3 client="$tc truncate" scenarios="$src/tests/data/run/clean.yaml $src/tests/data/run/reset-once.yaml" \
    min-score=0
[ "$rc" = 0 ] || { cat "$tmp/3.log" >&2; fail "job 3 (min-score 0) exited $rc"; }
job 4 client=true shard=3/2
[ "$rc" = 2 ] || fail "job 4 (shard 3/2) exited $rc, expected 2"
grep -q -- '--shard wants K/N' "$tmp/4.log" || fail "job 4 log: $(cat "$tmp/4.log")"
echo "ok: the action built, cached, passed and failed as a runner would run it"

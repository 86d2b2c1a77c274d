#!/usr/bin/env bash
# POST /_faultline/judge agrees with `faultline run` on the same behaviour: a table of cases,
# each a test-client mode (tests/clients/testclient.c) against a scenario of tests/data/run/,
# covering every verdict reachable without the process view (correct, recovered,
# failed_cleanly, gave_up, silent_truncation, duplicated, corrupted, no_request) and the
# findings such clients earn (retry_storm, no_backoff, ignored_retry_after, no_error_message).
# Each case runs twice: under `faultline run` (JSON report), and against one `faultline serve`
# in a session of its own (all cases at once, so sessions are exercised in parallel too), the
# client's stdout, stderr and exit code then sent to the judge. Verdict, findings and score
# must be equal. Last, the process view expressed by a test: a test that times out judges as
# hung (timed_out: true), one whose code died of a signal as crashed.
# Usage: control_judge.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
fl_e2e_init "$1" "$2"
trap 'fl_serve_kill; rm -rf "$tmp"' EXIT
data=$src/tests/data/run
command -v jq >/dev/null || fail "jq is not installed (bash scripts/setup.sh)"
[[ -x $tc ]] || fail "no testclient at $tc"

# mode scenario-file verdict (the verdict is what run_verdicts.sh proves `faultline run` gives;
# here it only checks the table still covers what it says it covers)
cases=(
    "correct clean correct"
    "correct reset-once recovered"
    "correct rate-limited recovered"
    "correct always-reset failed_cleanly"
    "correct 401 failed_cleanly"
    "truncate reset-once silent_truncation"
    "duplicate reset-once duplicated"
    "corrupt clean corrupted"
    "storm always-reset failed_cleanly"
    "ignore-ra rate-limited recovered"
    "giveup reset-once gave_up"
    "giveup 401 failed_cleanly"
    "mute 401 failed_cleanly"
    "noreq clean no_request"
)

fl_serve_start "$bin" 110 "$tmp/url" "$tmp/serve.err" "$data"

k=0
waits=()
for c in "${cases[@]}"; do
    read -r mode scen _ <<<"$c"
    name=$(sed -n 's/^name: *//p' "$data/$scen.yaml")
    model=$(sed -n 's/^model: *//p' "$data/$scen.yaml")
    # faultline run, in the background
    (
        timeout --foreground 60 "$bin" run --json "$tmp/run$k.json" --client "$tc $mode" \
            "$data/$scen.yaml" >/dev/null 2>"$tmp/run$k.err" || true
    ) &
    waits+=($!)
    # the same client in a session of its own, in the background
    sid=$(curl -s -X POST "$url/_faultline/sessions" | jq -r .id)
    [[ -n $sid && $sid != null ]] || fail "no session for case $k"
    echo "$sid $name" >"$tmp/case$k"
    (
        rc=0
        env -i PATH="$PATH" OPENAI_BASE_URL="$url/t/$sid/s/$name/v1" OPENAI_API_KEY=sk-test \
            FAULTLINE_DIALECT=openai-chat FAULTLINE_MODEL="${model:-gpt-4o-mini}" \
            FAULTLINE_PROMPT="Say something." timeout 60 "$tc" "$mode" \
            >"$tmp/client$k.out" 2>"$tmp/client$k.err" || rc=$?
        echo "$rc" >"$tmp/client$k.rc"
    ) &
    waits+=($!)
    k=$((k + 1))
done
wait "${waits[@]}" # not the server

# what: verdict findings(sorted) score
summary() { jq -r '[.verdict, (.findings | sort | join(",")), (.score | tostring)] | join(" ")'; }
for i in $(seq 0 $((k - 1))); do
    read -r mode scen want <<<"${cases[i]}"
    read -r sid name <"$tmp/case$i"
    [[ -s $tmp/run$i.json ]] || fail "case $i ($mode $scen): no run report: $(cat "$tmp/run$i.err")"
    from_run=$(jq '.runs[0]' "$tmp/run$i.json" | summary)
    jq -n --arg s "$sid" --arg n "$name" --rawfile o "$tmp/client$i.out" \
        --rawfile e "$tmp/client$i.err" --argjson x "$(cat "$tmp/client$i.rc")" \
        '{session:$s, scenario:$n, output:$o, error_message:$e, exit_code:$x}' >"$tmp/judge$i.json"
    from_judge=$(curl -s --data-binary "@$tmp/judge$i.json" "$url/_faultline/judge" | summary)
    [[ $from_run == "$from_judge" ]] ||
        fail "case $i ($mode $scen): faultline run says '$from_run', the judge '$from_judge'"
    [[ ${from_run%% *} == "$want" ]] || fail "case $i ($mode $scen): verdict '$from_run', want $want"
    echo "ok: $mode $scen: $from_run"
done
covered=$(printf '%s\n' "${cases[@]}" | awk '{print $3}' | sort -u | paste -sd, -)
[[ $covered == "correct,corrupted,duplicated,failed_cleanly,gave_up,no_request,recovered,silent_truncation" ]] ||
    fail "the table covers $covered"

# The process view, as a test states it: it gave up waiting (hung) or its code died (crashed).
sid=$(curl -s -X POST "$url/_faultline/sessions" | jq -r .id)
curl -s -m 1 -o /dev/null "$url/t/$sid/s/run-stall-forever/v1/chat/completions" \
    -d '{"model":"m","stream":true,"messages":[]}' || true # the test's own 1 s timeout
v=$(curl -s "$url/_faultline/judge" -d "{\"session\":\"$sid\",\"scenario\":\"run-stall-forever\",\"timed_out\":true}" | jq -r .verdict)
[[ $v == hung ]] || fail "timed_out: true judged '$v', want hung"
v=$(curl -s "$url/_faultline/judge" -d "{\"session\":\"$sid\",\"scenario\":\"run-stall-forever\",\"signal\":11}" | jq -r '.verdict + " " + (.exit.signal | tostring)')
[[ $v == "crashed 11" ]] || fail "signal: 11 judged '$v', want crashed 11"
echo "ok: timed_out judges hung, signal crashed"

#!/usr/bin/env bash
# `faultline run --upstream URL`: a client scored against a live upstream (here `faultline
# serve`, plain HTTP, on loopback) through the proxy, with the scenarios' faults on the live
# stream. The scenarios are fault profiles (no `response:` of their own): a client can only be
# judged right by the live rule (README, "faultline proxy"): the answer is the text the proxy relayed in the
# attempt that ended whole with the stream's end marker.
# Usage: proxy_run.sh FAULTLINE SOURCE_DIR
set -uo pipefail
bin=$1
tc=${FL_TESTCLIENT:-$(dirname "$bin")/tests/testclient}
jq=${FL_JSONQ:-$(dirname "$bin")/tests/jsonq}
[ -x "$tc" ] || { echo "FAIL: no testclient at $tc" >&2; exit 1; }
tmp=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill -KILL $spid 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

printf 'faultline: 1\nname: upstream\ndialect: openai-chat\nresponse: {text: "alpha beta gamma delta epsilon", ttft_ms: 5, interval_ms: 5}\n' >"$tmp/up.yaml"
timeout -k 5 100 "$bin" serve "$tmp/up.yaml" >"$tmp/up.url" 2>"$tmp/up.err" &
spid=$!
disown "$spid"
for _ in $(seq 1 100); do [ -s "$tmp/up.url" ] && break; sleep 0.05; done
up=$(head -n 1 "$tmp/up.url")
[[ $up =~ ^http://127 ]] || fail "serve printed '$up'"

mkdir "$tmp/sc"
profile() { # NAME ATTEMPTS-YAML
    printf 'faultline: 1\nname: %s\ndialect: openai-chat\nattempts:\n%s\nexpect: {outcome: complete, deadline_ms: 8000}\n' \
        "$1" "$2" >"$tmp/sc/$1.yaml"
}
profile reset-once '  - faults: [{reset: {at: {event: 4}}}]
  - {}'
profile always-cut '  - faults: [{close: {at: {event: 3}}}]'
# Event 6 exists only in the live stream (role, five words, finish, [DONE]): a profile's
# positions are not checked against a stream of its own.
profile late-reset '  - faults: [{reset: {at: {event: 6}}}]
  - {}'

# run NAME MODE SCENARIO: faultline run --upstream with testclient MODE.
run() {
    timeout --foreground 60 "$bin" run --upstream "$up" --client "$tc $2" \
        --json "$tmp/$1.json" "$tmp/sc/$3.yaml" >"$tmp/$1.out" 2>"$tmp/$1.err"
    echo $? >"$tmp/$1.rc"
}
verdict() { "$jq" "$tmp/$1.json" runs.0.verdict 2>/dev/null; }

run ok correct reset-once
[ "$(verdict ok)" = recovered ] || fail "correct vs reset-once: $(verdict ok) $(cat "$tmp/ok.err")"
[ "$(cat "$tmp/ok.rc")" = 0 ] || fail "correct vs reset-once: exit $(cat "$tmp/ok.rc")"
run trunc truncate always-cut
[ "$(verdict trunc)" = silent_truncation ] || fail "truncate vs always-cut: $(verdict trunc)"
[ "$(cat "$tmp/trunc.rc")" = 1 ] || fail "truncate vs always-cut: exit $(cat "$tmp/trunc.rc")"
run clean truncate reset-once # attempt 1 of a fresh run is cut: one attempt, printed anyway
[ "$(verdict clean)" = silent_truncation ] || fail "truncate vs reset-once: $(verdict clean)"
run late correct late-reset
[ "$(verdict late)" = recovered ] || fail "correct vs late-reset: $(verdict late) $(cat "$tmp/late.err")"

# Without --upstream a profile has no answer to mock: run leaves it out and says so ...
timeout --foreground 60 "$bin" run --client "$tc correct" "$tmp/sc/late-reset.yaml" \
    >"$tmp/mock.out" 2>"$tmp/mock.err"
grep -q "left out 1 fault profile" "$tmp/mock.err" || fail "run without --upstream: $(cat "$tmp/mock.err")"
# ... and serve, asked for it by name, answers 501 naming it.
timeout -k 5 30 "$bin" serve "$tmp/sc/late-reset.yaml" >"$tmp/p.url" 2>"$tmp/p.err" &
ppid=$!
for _ in $(seq 1 100); do [ -s "$tmp/p.url" ] && break; sleep 0.05; done
purl=$(head -n 1 "$tmp/p.url")
code=$(curl -s -o "$tmp/p.body" -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"model":"m","stream":true,"messages":[]}' "$purl/s/late-reset/v1/chat/completions")
kill -TERM $ppid 2>/dev/null
wait $ppid 2>/dev/null
[ "$code" = 501 ] || fail "serve answered a profile with $code"
grep -q "late-reset' is a fault profile" "$tmp/p.body" || fail "serve's 501: $(cat "$tmp/p.body")"
echo ok

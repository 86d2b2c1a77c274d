#!/usr/bin/env bash
# `faultline serve` as a user runs it: start it on a scenario, read the URL line, stream with
# curl -N, then SIGTERM it and check it exits 0.  Usage: curl_serve.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
bin=$1
src=$2
tmp=$(mktemp -d)
pid=
cleanup() {
    fl_serve_kill
    rm -rf "$tmp"
}
trap cleanup EXIT

fl_serve_start "$bin" 60 "$tmp/out" "$tmp/err" "$src/tests/data/serve/chat.yaml"

timeout 20 curl -sN "$url/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"test-model","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    >"$tmp/body"
for want in '"role":"assistant"' '"content":"Hello"' '"content":" there,"' '"content":" brave"' \
    '"content":" tester."' '"finish_reason":"stop"' 'data: [DONE]'; do
    grep -qF -- "$want" "$tmp/body" || { echo "missing $want in:"; cat "$tmp/body"; exit 1; }
done
# [DONE] is the last event.
[[ $(grep -v '^$' "$tmp/body" | tail -n 1) == 'data: [DONE]' ]] || { echo "[DONE] not last"; exit 1; }

health=$(timeout 10 curl -s "$url/_faultline/health")
[[ $health == '{"status":"ok"}' ]] || { echo "health: $health"; exit 1; }

kill -TERM "$pid"
set +e
wait "$pid"
status=$?
set -e
pid=
[[ $status -eq 0 ]] || { echo "serve exited $status"; cat "$tmp/err"; exit 1; }
# A bad scenario is refused before binding: diagnostics as file:line:col, exit 2.
printf 'faultline: 1\nname: Bad_Name\ndialect: openai-chat\nresponse: {text: hi}\n' >"$tmp/bad.yaml"
set +e
timeout 10 "$bin" serve "$tmp/bad.yaml" >"$tmp/bad.out" 2>"$tmp/bad.err"
status=$?
set -e
[[ $status -eq 2 ]] || { echo "bad scenario: exit $status"; exit 1; }
grep -q "bad.yaml:2:7: name:" "$tmp/bad.err" || { echo "no diagnostic:"; cat "$tmp/bad.err"; exit 1; }
[[ ! -s $tmp/bad.out ]] || { echo "printed a URL for a bad scenario"; exit 1; }
echo ok

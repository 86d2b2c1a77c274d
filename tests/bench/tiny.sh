#!/usr/bin/env bash
# Smoke test of the benchmark's load generator against `faultline serve` at a tiny size:
# 5 streams of 40 events (~1 s), then 5 streams held in a stall forever. Asserts the JSON line
# parses and every scripted event arrived; prints the figures, asserts no speed.
# Usage: tiny.sh FAULTLINE LOADGEN SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
bin=$1
lg=$2
src=$3
tmp=$(mktemp -d)
pid=
cleanup() {
    fl_serve_kill
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

fl_serve_start "$bin" 60 "$tmp/out" "$tmp/err" "$src/tests/bench/load/tiny.yaml" \
    "$src/tests/bench/load/tiny-split.yaml" "$src/tests/bench/load/stall.yaml"
spid=$(pgrep -P "$pid" -x faultline || echo "$pid")

json=$(timeout 20 "$lg" --url "$url" --conns 5 --ttft-ms 20 --interval-ms 20 \
    --expect-events 40 --header 'x-faultline-scenario: bench-tiny' --server-pid "$spid" \
    --duration-ms 10000)
echo "$json"
jq -e . >/dev/null <<<"$json" || fail "not JSON: $json"
[[ $(jq .content_events <<<"$json") == 200 ]] || fail "content events != 200: $json"
[[ $(jq .expected <<<"$json") == 200 ]] || fail "expected != 200: $json"
[[ $(jq .lost <<<"$json") == 0 ]] || fail "lost events: $json"
[[ $(jq .errors <<<"$json") == 0 ]] || fail "errors: $json"
[[ $(jq .finished <<<"$json") == 5 ]] || fail "not every stream finished: $json"
# 40 content events + the role chunk + the finish chunk + [DONE] per stream.
[[ $(jq .events <<<"$json") == 215 ]] || fail "events != 215: $json"
[[ $(jq .capped <<<"$json") == false ]] || fail "capped: $json"

# The same on 3 threads (2, 2 and 1 streams): the aggregate is the same count.
json=$(timeout 20 "$lg" --url "$url" --conns 5 --threads 3 --ttft-ms 20 --interval-ms 20 \
    --expect-events 40 --header 'x-faultline-scenario: bench-tiny' --duration-ms 10000)
echo "$json"
[[ $(jq .threads <<<"$json") == 3 ]] || fail "threads: $json"
[[ $(jq .content_events <<<"$json") == 200 ]] || fail "threads: content events != 200: $json"
[[ $(jq .events <<<"$json") == 215 ]] || fail "threads: events != 215: $json"
[[ $(jq .finished <<<"$json") == 5 ]] || fail "threads: not every stream finished: $json"
[[ $(jq .errors <<<"$json") == 0 ]] || fail "threads: errors: $json"

# CRLF line endings in 3-byte writes (first attempt only): every event still counts once.
json=$(timeout 20 "$lg" --url "$url" --conns 1 --expect-events 40 \
    --header 'x-faultline-scenario: bench-tiny-split' --duration-ms 10000)
echo "$json"
[[ $(jq .content_events <<<"$json") == 40 ]] || fail "split: content events != 40: $json"
[[ $(jq .events <<<"$json") == 43 ]] || fail "split: events != 43: $json"
[[ $(jq .errors <<<"$json") == 0 ]] || fail "split: errors: $json"

json=$(timeout 20 "$lg" --url "$url" --conns 5 --threads 2 --hold \
    --header 'x-faultline-scenario: bench-stall' --server-pid "$spid" --duration-ms 10000)
echo "$json"
[[ $(jq .heads <<<"$json") == 5 ]] || fail "threads hold: not every head arrived: $json"
[[ $(jq .capped <<<"$json") == false ]] || fail "threads hold: capped: $json"

json=$(timeout 20 "$lg" --url "$url" --conns 5 --hold \
    --header 'x-faultline-scenario: bench-stall' --server-pid "$spid" --duration-ms 10000)
echo "$json"
jq -e . >/dev/null <<<"$json" || fail "hold: not JSON: $json"
[[ $(jq .heads <<<"$json") == 5 ]] || fail "hold: not every head arrived: $json"
[[ $(jq .capped <<<"$json") == false ]] || fail "hold: capped: $json"
(( $(jq .server.rss_held_kb <<<"$json") > 0 )) || fail "hold: no server RSS: $json"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[[ $status -eq 0 ]] || fail "serve exited $status: $(cat "$tmp/err")"

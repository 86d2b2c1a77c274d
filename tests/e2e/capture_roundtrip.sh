#!/usr/bin/env bash
# Round trips on loopback: serve a catalog scenario with each ending (complete, reset, FIN
# mid-event, stall) under `serve --record`, import the capture, serve the import under
# `--record` again, and compare the two captures: the body writes byte for byte and one for one,
# the status and the ending exactly, and every write's time (after the head) within TOL_MS.
# Usage: capture_roundtrip.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
bin=$1
src=$2
tmp=$(mktemp -d)
pid=
TOL_MS=${TOL_MS:-25}
cleanup() {
    fl_serve_kill
    rm -rf "$tmp"
}
trap cleanup EXIT

# record DIR SCENARIO URL_PATH MAX_S: one streamed request under serve --record DIR.
record() {
    local dir=$1 scen=$2 path=$3 max=$4
    fl_serve_start "$bin" 60 "$tmp/out" "$tmp/err" --record "$dir" "$scen"
    timeout 20 curl -sN --max-time "$max" "$url$path" -H 'content-type: application/json' \
        -H 'authorization: Bearer sk-proj-ROUNDTRIPKEY0123456789' \
        -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
        >/dev/null 2>&1 || true
    kill -TERM "$pid"
    wait "$pid" || { echo "serve exited $?"; cat "$tmp/err"; exit 1; }
    pid=
    grep -q 'recorded 1 exchange' "$tmp/err" || { echo "not recorded:"; cat "$tmp/err"; exit 1; }
}

# The facts of a capture as one JSON value: status, ending, and each write's time after the
# head and bytes.
facts() {
    jq -s '{status: (.[] | select(.type == "response") | .status),
            how: (.[] | select(.type == "end") | .how),
            head: (.[] | select(.type == "response") | .t_ms),
            writes: [.[] | select(.type == "write") | {t: .t_ms, bytes: (.data // .b64)}]}
           | .writes |= map(.t -= 0)' "$1"
}

check() {
    local scen=$1 name=$2 path=$3 how=$4 max=$5
    rm -rf "$tmp/rec1" "$tmp/rec2" "$tmp/imp"
    record "$tmp/rec1" "$src/scenarios/$scen" "/s/$name$path" "$max"
    local cap1
    cap1=$(ls "$tmp"/rec1/*.capture.jsonl)
    facts "$cap1" >"$tmp/f1"
    [[ $(jq -r .how "$tmp/f1") == "$how" ]] || { echo "$name: recorded ending $(jq -r .how "$tmp/f1"), want $how"; exit 1; }
    grep -q ROUNDTRIPKEY "$cap1" && { echo "$name: key in the capture"; exit 1; }
    "$bin" import "$cap1" -o "$tmp/imp" >"$tmp/import.out"
    local imp
    imp=$(ls "$tmp"/imp/*.yaml)
    grep -q ROUNDTRIPKEY "$imp" && { echo "$name: key in the scenario"; exit 1; }
    local iname
    iname=$(basename "$imp" .yaml)
    record "$tmp/rec2" "$imp" "/s/$iname$path" "$max"
    facts "$(ls "$tmp"/rec2/*.capture.jsonl)" >"$tmp/f2"
    # bytes, boundaries, status and ending exactly
    if ! jq -e --slurpfile b "$tmp/f2" '.status == $b[0].status and .how == $b[0].how and
            ([.writes[].bytes] == [$b[0].writes[].bytes])' "$tmp/f1" >/dev/null; then
        echo "$name: the replay differs"; diff <(jq . "$tmp/f1") <(jq . "$tmp/f2") | head -40; exit 1
    fi
    # timing: each write's time after the head within TOL_MS of the original's
    local worst
    worst=$(jq -r --slurpfile b "$tmp/f2" '[range(0; .writes | length) as $i
            | ((.writes[$i].t - .head) - ($b[0].writes[$i].t - $b[0].head)) | fabs] | max // 0' \
            "$tmp/f1")
    if (($(printf '%.0f' "$worst") > TOL_MS)); then
        echo "$name: a write is $worst ms off its original time (tolerance $TOL_MS ms)"; exit 1
    fi
    echo "ok $name: $how, $(jq '.writes | length' "$tmp/f1") writes, worst timing error $worst ms"
}

check clean/openai-chat-text.yaml openai-chat-text /v1/chat/completions complete 10
check resets/openai-chat-reset-mid-answer.yaml openai-chat-reset-mid-answer /v1/chat/completions rst 10
check resets/openai-responses-close-early.yaml openai-responses-close-early /v1/responses fin 10
# the client gives up after 1 s of silence: the stall is recorded as a timeout and replayed as one
check stalls/openai-chat-headers-then-silence.yaml openai-chat-headers-then-silence /v1/chat/completions timeout 1

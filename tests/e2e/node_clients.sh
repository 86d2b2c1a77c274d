#!/usr/bin/env bash
# The clients under test against clean streams: clients/node/openai.mjs (openai-chat and
# openai-responses), clients/node/anthropic.mjs (anthropic-messages) and clients/shell/curl.sh
# (all three), each run through /bin/sh -c with the client contract's environment and nothing
# else. Each must print exactly the scenario's answer (text, or the tool call's JSON line) and
# exit 0, with one request per run in the server's journal.
# Usage: node_clients.sh FAULTLINE SOURCE_DIR
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
fail() {
    echo "FAIL: $*"
    exit 1
}

command -v node >/dev/null || fail "node is not installed (bash scripts/setup.sh --node)"
command -v jq >/dev/null || fail "jq is not installed (bash scripts/setup.sh)"
for pkg in openai @anthropic-ai/sdk; do
    [[ -f $src/clients/node/node_modules/$pkg/package.json ]] ||
        fail "clients/node/node_modules/$pkg is missing (bash scripts/setup.sh --node runs npm ci)"
done

fl_serve_start "$bin" 120 "$tmp/url" "$tmp/serve.err" "$src/tests/data/clients-node"

runs=0
# check SCENARIO DIALECT ANSWER COMMAND: run COMMAND as the harness would, against the scenario
# alone (the /s/NAME/ prefix), and compare its stdout byte for byte with ANSWER plus at most one
# trailing newline.
check() {
    local name=$1 dialect=$2 answer=$3 cmd=$4 base=$url/s/$1 rc=0
    env -i PATH="$PATH" HOME="$tmp" \
        FAULTLINE_BASE_URL="$base" OPENAI_BASE_URL="$base/v1" ANTHROPIC_BASE_URL="$base" \
        OPENAI_API_KEY=sk-faultline-dummy ANTHROPIC_API_KEY=sk-ant-faultline-dummy \
        FAULTLINE_DIALECT="$dialect" FAULTLINE_MODEL=test-model \
        FAULTLINE_PROMPT="a prompt" FAULTLINE_SCENARIO="$name" \
        timeout -k 5 30 /bin/sh -c "$cmd" >"$tmp/out" 2>"$tmp/err" || rc=$?
    runs=$((runs + 1))
    printf '%s\n' "$answer" >"$tmp/want"
    # The contract ignores one trailing newline: add it when the client did not print one.
    [[ -z $(tail -c 1 "$tmp/out") ]] || printf '\n' >>"$tmp/out"
    if [[ $rc -ne 0 ]] || ! cmp -s "$tmp/want" "$tmp/out"; then
        echo "--- $cmd on $name: exit $rc; stdout:"
        od -c "$tmp/out" | head -20
        echo "--- want:"
        od -c "$tmp/want" | head -20
        echo "--- stderr:"
        cat "$tmp/err"
        fail "$name with $cmd"
    fi
    echo "ok: $name with $cmd"
}

chat_text='Café “crème” — naïve, 30 °C.'
chat_tool='{"name":"get_weather","arguments":{"city":"Oslo","days":3,"metric":true}}'
responses_text='TCP, UDP and QUIC carry most of the traffic.'
responses_tool='{"name":"book_table","arguments":{"people":4,"time":"19:30","notes":"window seat"}}'
messages_text=$'First line.\nSecond line: ünïcode ✓.'
messages_tool='{"name":"convert_currency","arguments":{"amount":250,"from":"GBP","to":"JPY","nested":{"round":2}}}'

openai="node '$src/clients/node/openai.mjs'"
anthropic="node '$src/clients/node/anthropic.mjs'"
shell="'$src/clients/shell/curl.sh'"
for cmd in "$openai" "$shell"; do
    check chat-text openai-chat "$chat_text" "$cmd"
    check chat-tool openai-chat "$chat_tool" "$cmd"
    check responses-text openai-responses "$responses_text" "$cmd"
    check responses-tool openai-responses "$responses_tool" "$cmd"
done
for cmd in "$anthropic" "$shell"; do
    check messages-text anthropic-messages "$messages_text" "$cmd"
    check messages-tool anthropic-messages "$messages_tool" "$cmd"
done

# One streamed request per run, each answered completely: on a clean stream no client retried.
timeout 10 curl -s "$url/_faultline/journal" >"$tmp/journal"
jq -e --argjson n "$runs" '.requests | length == $n and
    all(.[]; .stream == true and .status == 200 and .end == "complete" and .attempt <= 2)' \
    "$tmp/journal" >/dev/null || { jq -c '.requests[] | [.scenario, .attempt, .stream, .status, .end]' \
    "$tmp/journal"; fail "journal: want $runs complete streamed requests, each scenario twice"; }

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[[ $status -eq 0 ]] || { cat "$tmp/serve.err"; fail "serve exited $status"; }
echo ok

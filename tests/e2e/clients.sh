#!/usr/bin/env bash
# The reference clients against `faultline serve`, as the harness runs them: the contract's
# environment, one scenario per base URL (/s/NAME), stdout and stderr kept apart.
# Usage: clients.sh FAULTLINE SOURCE_DIR  (the clients are in FAULTLINE's dir, clients/c/).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
bin=$1
src=$2
clients=$(dirname "$bin")/clients/c
tmp=$(mktemp -d)
pid=
cleanup() {
    fl_serve_kill
    rm -rf "$tmp"
}
trap cleanup EXIT

fl_serve_start "$bin" 100 "$tmp/url" "$tmp/serve.err" "$src/tests/data/clients/"

fails=0
# run CLIENT SCENARIO DIALECT: runs one client with the contract's environment; leaves
# $tmp/out, $tmp/err and $status.
run() {
    local client=$1 scenario=$2 dialect=$3
    set +e
    env FAULTLINE_BASE_URL="$url/s/$scenario" OPENAI_BASE_URL="$url/s/$scenario/v1" \
        ANTHROPIC_BASE_URL="$url/s/$scenario" OPENAI_API_KEY=sk-faultline \
        ANTHROPIC_API_KEY=sk-ant-faultline FAULTLINE_DIALECT="$dialect" FAULTLINE_MODEL= \
        FAULTLINE_PROMPT="Say hello." FAULTLINE_SCENARIO="$scenario" \
        timeout --foreground -k 2 30 /bin/sh -c "$clients/$client" >"$tmp/out" 2>"$tmp/err"
    status=$?
    set -e
}
fail() {
    echo "FAIL: $*"
    echo "  exit $status; stdout: $(head -c 300 "$tmp/out")"
    echo "  stderr: $(head -c 600 "$tmp/err")"
    fails=$((fails + 1))
}
# expect_answer CLIENT SCENARIO DIALECT ANSWER: exit 0 and stdout exactly ANSWER + newline.
expect_answer() {
    run "$1" "$2" "$3"
    printf '%s\n' "$4" >"$tmp/want"
    if [[ $status -ne 0 ]] || ! cmp -s "$tmp/out" "$tmp/want"; then
        fail "$1 $2: want exit 0 and '$4'"
    else
        echo "ok: $1 $2"
    fi
}

# Robust: the exact answer for text and tool calls in every dialect.
expect_answer robust clients-chat-text openai-chat \
    'Streams end with [DONE], and café needs two bytes for é.'
expect_answer robust clients-responses-text openai-responses \
    'Responses end with response.completed.'
expect_answer robust clients-messages-text anthropic-messages 'Messages end with message_stop.'
expect_answer robust clients-chat-tool openai-chat \
    '{"name":"get_weather","arguments":{"city":"Paris","days":3}}'
expect_answer robust clients-responses-tool openai-responses \
    '{"name":"book_table","arguments":{"people":2,"time":"20:00"}}'
expect_answer robust clients-messages-tool anthropic-messages \
    '{"name":"convert","arguments":{"amount":100,"to":"EUR"}}'

# Robust recovers from a reset on attempt 1, and says so on stderr.
expect_answer robust clients-chat-reset openai-chat 'One two three four five six seven.'
grep -q '^attempt 1: reset' "$tmp/err" || fail "robust clients-chat-reset: no 'attempt 1: reset' line"

# Robust fails cleanly on a 401 after one request: non-zero exit, a reason, nothing on stdout.
run robust clients-chat-401 openai-chat
if [[ $status -eq 0 || -s $tmp/out ]] || ! grep -q '401' "$tmp/err"; then
    fail "robust clients-chat-401: want a clean failure naming the 401"
else
    echo "ok: robust clients-chat-401"
fi
journal=$(timeout 10 curl -s "$url/_faultline/journal")
n401=$(grep -o '"scenario":"clients-chat-401"' <<<"$journal" | wc -l)
[[ $n401 -eq 1 ]] || { status=0; fail "robust retried a 401: $n401 requests"; }

# Naive: a FIN mid-stream still counts as success, with half the answer printed.
run naive clients-chat-close openai-chat
if [[ $status -ne 0 ]] || [[ "$(cat "$tmp/out")" != 'One two' ]]; then
    fail "naive clients-chat-close: want exit 0 with the truncated 'One two'"
else
    echo "ok: naive clients-chat-close (truncated, exit 0)"
fi
# Naive prints the whole answer when nothing goes wrong.
expect_answer naive clients-messages-text anthropic-messages 'Messages end with message_stop.'

kill -TERM "$pid"
wait "$pid" || true
pid=
[[ $fails -eq 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo ok

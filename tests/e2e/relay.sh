#!/usr/bin/env bash
# Relay mode end to end (README, "Relays under test"): `faultline run --relay` against the
# purpose-built relays of tests/relays/flawed_relay.py, each misbehaving in one known way on one
# scenario of scenarios/relay/, must get exactly that behaviour's finding; the well-behaved one
# gets none; relays that fail to start (exit at once, never listen, listen on the wrong port)
# give a clear error quoting their stderr; and the careful Node reference relay
# (clients/relays/careful.mjs, Node's http module only) scores 100 on scenarios/relay and a
# representative subset of the catalog. Bad usage of the relay options exits 2.
# Usage: bash relay.sh <faultline-binary> <source-dir>
set -u
bin=$1
src=$2
relay=$src/scenarios/relay
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 0; }
command -v jq >/dev/null || { echo "FAIL: no jq (bash scripts/setup.sh installs it)" >&2; exit 1; }

# run NAME ARGS...: faultline run in the background; NAME.out, NAME.err, NAME.rc, NAME.json.
run() {
    local name=$1
    shift
    (cd "$src" && timeout 90 "$bin" run --no-color --json "$tmp/$name.json" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err"; echo $? >"$tmp/$name.rc") &
}

# expect NAME VERDICT FINDINGS: the one run of NAME.json has that verdict and exactly those
# findings (space-separated, sorted; "-" for none).
expect() {
    local name=$1 verdict=$2 findings=$3 got_v got_f
    got_v=$(jq -r '.runs[0].verdict' "$tmp/$name.json" 2>/dev/null)
    got_f=$(jq -r '.runs[0].findings | sort | join(" ")' "$tmp/$name.json" 2>/dev/null)
    [ -n "$got_f" ] || got_f=-
    if [ "$got_v" != "$verdict" ] || [ "$got_f" != "$findings" ]; then
        fail "$name: $got_v [$got_f], want $verdict [$findings]: $(jq -r '.runs[0].reason' "$tmp/$name.json" 2>/dev/null)"
    fi
}

flawed="python3 tests/relays/flawed_relay.py"
# Two at a time: each relay run lasts a few seconds of scripted stalls, and the machine is shared.
run good-stall --relay "$flawed good" --downstream ndjson "$relay/openai-chat-relay-stall-heartbeat.yaml"
run buffers --relay "$flawed buffers" --downstream ndjson "$relay/openai-chat-relay-stall-heartbeat.yaml"
wait
run no_heartbeat --relay "$flawed no_heartbeat" --downstream ndjson "$relay/openai-chat-relay-stall-heartbeat.yaml"
run never_cancels --relay "$flawed never_cancels" --downstream ndjson "$relay/openai-chat-relay-disconnect-mid-answer.yaml"
wait
run good-leave --relay "$flawed good" --downstream ndjson "$relay/openai-chat-relay-disconnect-mid-answer.yaml"
run swallows --relay "$flawed swallows" --downstream ndjson "$relay/openai-chat-relay-reset-after-content-always.yaml"
wait
run no_backoff --relay "$flawed no_backoff" --downstream ndjson "$relay/openai-chat-relay-reset-after-content-always.yaml"
run good-reset --relay "$flawed good" --downstream ndjson "$relay/openai-chat-relay-reset-after-content-always.yaml"
wait
expect good-stall recovered -
expect buffers recovered buffered
expect no_heartbeat recovered no_heartbeat
expect never_cancels correct upstream_not_cancelled
expect good-leave correct -
expect swallows silent_truncation error_swallowed
expect no_backoff failed_cleanly "no_backoff retry_storm"
expect good-reset failed_cleanly -
for name in good-stall good-leave good-reset; do
    [ "$(cat "$tmp/$name.rc")" = 0 ] || fail "$name: exit $(cat "$tmp/$name.rc"), want 0"
done
[ "$(cat "$tmp/buffers.rc")" = 1 ] || fail "buffers: exit $(cat "$tmp/buffers.rc"), want 1"

# Start failures: a clear error on stderr, quoting the relay's own stderr, and exit 1.
run exits --relay "$flawed exits" --downstream ndjson "$src/scenarios/clean/hello.yaml"
run never_listens --relay-start-ms 1500 --relay "$flawed never_listens" --downstream ndjson \
    "$src/scenarios/clean/hello.yaml"
wait
# with the default 15 s bound: a relay listening elsewhere is told within about a second
t0=$SECONDS
run wrong_port --relay "$flawed wrong_port" --downstream ndjson "$src/scenarios/clean/hello.yaml"
wait
[ $((SECONDS - t0)) -lt 8 ] || fail "wrong_port: took $((SECONDS - t0)) s, the bound rather than the port check"
start_error() { # NAME TEXT...: NAME's stderr holds each TEXT
    local name=$1 t
    shift
    [ "$(cat "$tmp/$name.rc")" = 1 ] || fail "$name: exit $(cat "$tmp/$name.rc"), want 1"
    for t in "$@"; do
        grep -qF -- "$t" "$tmp/$name.err" || fail "$name: stderr lacks '$t': $(cat "$tmp/$name.err")"
    done
    expect "$name" no_request -
}
start_error exits "the relay did not start" "exited with status 3 before accepting on PORT=" \
    "its stderr: relay: cannot read config.json"
start_error never_listens "did not accept on 127.0.0.1:" "within 1500 ms" \
    "its stderr: relay: warming up the model cache"
start_error wrong_port "the relay listens on port " ", not on PORT=" "its stderr: relay: listening on"
port=$(sed -n 's/.*listens on port \([0-9]*\),.*/\1/p' "$tmp/wrong_port.err" | head -1)
grep -qF "relay: listening on $port" "$tmp/wrong_port.err" || fail "wrong_port: names port '$port', not the one the relay chose"

# The browser's URL and body templates: {port}, {prompt} and {model} filled in, JSON-quoted.
run echo --relay "$flawed echo" --downstream ndjson --relay-url 'http://127.0.0.1:{port}/v1/relay?x={port}' \
    --relay-request '{"q": {prompt}, "m": {model}}' "$src/scenarios/clean/hello.yaml"
wait
got=$(jq -r '.runs[0].stdout' "$tmp/echo.json")
want_prompt=$(sed -n 's/^prompt: *//p' "$src/scenarios/clean/hello.yaml")
case $got in
"/v1/relay?x="[0-9]*' {"q": "'"$want_prompt"'", "m": "gpt-4o-mini"}') ;;
*) fail "echo: the relay got '$got'" ;;
esac
(cd "$src" && "$bin" run --relay true --downstream text --relay-url http://127.0.0.1:8080/ \
    scenarios/clean/hello.yaml >/dev/null 2>&1)
[ $? = 2 ] || fail "--relay-url without {port}: not exit 2"

# Usage: --relay needs --downstream; --client and --relay exclude each other.
(cd "$src" && "$bin" run --relay true scenarios/clean/hello.yaml >/dev/null 2>"$tmp/u1.err")
[ $? = 2 ] && grep -q -- "--downstream" "$tmp/u1.err" || fail "--relay without --downstream: not exit 2 naming it"
(cd "$src" && "$bin" run --relay true --client true --downstream text scenarios/clean/hello.yaml >/dev/null 2>&1)
[ $? = 2 ] || fail "--relay with --client: not exit 2"
(cd "$src" && "$bin" run --relay true --downstream sse scenarios/clean/hello.yaml >/dev/null 2>&1)
[ $? = 2 ] || fail "--downstream sse: not exit 2"

# No connection of one run leaks into the relay another run spawns (libcurl's sockets are made
# close-on-exec): the long slow answer keeps its browser's and its relay's connections open
# while the short runs beside it (-j 2) spawn their relays, which count the sockets they got.
FL_TEST_FD_REPORT=$tmp/fds run fds -j 2 --relay "$flawed good" --downstream ndjson \
    "$relay/openai-responses-relay-slow-answer.yaml" "$src/scenarios/clean/openai-chat-text.yaml" \
    "$src/scenarios/clean/hello.yaml" "$src/scenarios/clean/openai-chat-chunks.yaml"
wait
[ "$(wc -l <"$tmp/fds")" = 4 ] || fail "fd report: $(wc -l <"$tmp/fds") relays reported, want 4"
[ -z "$(grep -v '^0$' "$tmp/fds")" ] || fail "a relay inherited sockets: $(tr '\n' ' ' <"$tmp/fds")"

# The careful reference relay: 100 on the relay scenarios and a subset of the catalog.
if command -v node >/dev/null; then
    subset=(clean/hello clean/anthropic-text resets/openai-chat-reset-mid-answer
            http-errors/openai-chat-429-retry-after stream-errors/anthropic-overloaded-after-content
            stalls/anthropic-ping-stall-resumes framing/anthropic-cr-line-endings
            malformed/openai-responses-invalid-utf8)
    files=()
    for s in "${subset[@]}"; do files+=("$src/scenarios/$s.yaml"); done
    run careful -j 2 --relay "node clients/relays/careful.mjs" --downstream ai-sdk-ui "$relay" "${files[@]}"
    wait
    [ "$(cat "$tmp/careful.rc")" = 0 ] ||
        fail "careful relay: exit $(cat "$tmp/careful.rc"): $(jq -r '.runs[] | select(.score < 100) | "\(.scenario): \(.reason)"' "$tmp/careful.json")"
    n=$(jq '.runs | length' "$tmp/careful.json")
    [ "$n" = $((${#subset[@]} + $(ls "$relay"/*.yaml | wc -l))) ] || fail "careful relay: $n runs"
    # The README's example relay is the file, and it scores 100 on the openai-chat relay
    # scenarios and the clean ones (heartbeat, cancel on leave, errors told to the browser).
    awk '/^```js$/ { inb = 1; buf = ""; next }
         /^```$/ { if (inb && buf ~ /example relay/) { printf "%s", buf; exit } inb = 0; next }
         inb { buf = buf $0 "\n" }' "$src/README.md" >"$tmp/readme_example.mjs"
    cmp -s "$tmp/readme_example.mjs" "$src/clients/relays/example.mjs" ||
        fail "README's example relay differs from clients/relays/example.mjs"
    run example -j 2 --relay "node clients/relays/example.mjs" --downstream ai-sdk-ui \
        --dialect openai-chat "$relay" "$src/scenarios/clean"
    wait
    [ "$(cat "$tmp/example.rc")" = 0 ] ||
        fail "example relay: exit $(cat "$tmp/example.rc"): $(jq -r '.runs[] | select(.score < 100) | "\(.scenario): \(.reason)"' "$tmp/example.json")"
else
    echo "note: no node, the careful reference relay was not scored"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "ok: relay mode"

#!/usr/bin/env bash
# The catalog against the bundled reference clients (issue: clients under test):
#   - clients/c/robust scores 100 on every scenario in scenarios/;
#   - clients/c/naive gets, scenario by scenario, the verdict the catalog predicts for a client
#     with no timeouts and no retries that takes the end of the body for success.
# Args: <faultline-binary> <source-dir>. The clients are found beside the binary
# (build/clients/c/...), jsonq through FL_JSONQ or build/tests/.
set -euo pipefail
bin=$1
src=$2
dir=$(dirname "$bin")
robust=$dir/clients/c/robust
naive=$dir/clients/c/naive
jq=${FL_JSONQ:-$dir/tests/jsonq}
fail() { echo "FAIL: $*" >&2; exit 1; }
for x in "$robust" "$naive" "$jq"; do [ -x "$x" ] || fail "missing $x"; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Both runs at once: the catalog's runs mostly wait on timers and deadlines.
"$bin" run -j 8 --keep-going --client "$robust" --json "$tmp/robust.json" "$src/scenarios" \
    >"$tmp/robust.txt" 2>"$tmp/robust.err" &
robust_pid=$!

# scenario file (under scenarios/) and the verdict naive must get, with why.
pairs=(
    "resets/openai-chat-reset-mid-answer silent_truncation"      # prints the half it got, exit 0
    "resets/anthropic-close-early silent_truncation"             # FIN before message_stop
    "truncation/openai-responses-early-end silent_truncation"    # no response.completed
    "framing/openai-chat-crlf-line-endings silent_truncation"    # splits events on LF LF only
    "stalls/anthropic-stall-forever hung"             # no idle timeout
    "stalls/openai-chat-headers-then-silence hung"               # no timeout at all
    "http-errors/openai-chat-429-retry-after gave_up"            # never retries
    "http-errors/anthropic-529-overloaded gave_up"               # never retries
    "http-errors/openai-chat-401-unauthorized failed_cleanly"    # right not to retry
    "volume/openai-responses-duplicated-delta duplicated"        # ignores sequence_number
    "malformed/openai-responses-invalid-utf8 corrupted"          # prints the bad bytes
    "resets/openai-chat-close-in-tool-arguments corrupted"       # half a JSON arguments object
    "clean/hello correct"
    "fragmentation/anthropic-split-utf8-4byte recovered"         # libcurl hands it whole bytes
    "resets/gemini-reset-mid-answer silent_truncation"           # prints the words it got, exit 0
    "truncation/gemini-early-end silent_truncation"              # no finishReason needed
    "stream-errors/gemini-unavailable-after-content silent_truncation" # ignores {"error": ...}
    "stalls/gemini-stall-forever hung"                           # no idle timeout
    "http-errors/gemini-503-overloaded gave_up"                  # never retries
    "volume/gemini-duplicated-chunk duplicated"                  # prints the chunk twice
    "fragmentation/gemini-split-crlf recovered"                  # reads lines, strips the CR
    "clean/gemini-function-call correct"                         # functionCall args as an object
)
files=()
for p in "${pairs[@]}"; do files+=("$src/scenarios/${p%% *}.yaml"); done
"$bin" run -j 8 --keep-going --client "$naive" --json "$tmp/naive.json" "${files[@]}" \
    >"$tmp/naive.txt" 2>"$tmp/naive.err" || true
[ -s "$tmp/naive.json" ] || fail "naive: no report: $(cat "$tmp/naive.err")"
[ "$("$jq" "$tmp/naive.json" runs.#)" = "${#pairs[@]}" ] || fail "naive: wrong number of runs"
i=0
for p in "${pairs[@]}"; do
    want=${p##* }
    name=$(basename "${p%% *}")
    got_name=$("$jq" "$tmp/naive.json" "runs.$i.scenario")
    got=$("$jq" "$tmp/naive.json" "runs.$i.verdict")
    [ "$got_name" = "$name" ] || fail "naive: run $i is $got_name, expected $name"
    [ "$got" = "$want" ] ||
        fail "naive on $name: $got, expected $want ($("$jq" "$tmp/naive.json" "runs.$i.reason"))"
    i=$((i + 1))
done

rc=0
wait "$robust_pid" || rc=$?
if [ "$rc" != 0 ]; then
    cat "$tmp/robust.txt" >&2
    fail "robust on the catalog: exit $rc, score $("$jq" "$tmp/robust.json" score)"
fi
n=$("$jq" "$tmp/robust.json" runs.#)
files_n=$(find "$src/scenarios" -name '*.yaml' | wc -l)
[ "$n" = "$files_n" ] || fail "robust ran $n scenarios, the catalog has $files_n"
score=$("$jq" "$tmp/robust.json" score)
[ "$score" = 100 ] || [ "$score" = 100.0 ] || fail "robust scored $score"
echo "ok: robust 100 on $n scenarios; naive got the ${#pairs[@]} predicted verdicts"

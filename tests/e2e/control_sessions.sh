#!/usr/bin/env bash
# The control API for test suites, end to end against `faultline serve` with no scenario file:
#  - 8 sessions at once, each running the test client (tests/clients/testclient.c, mode
#    correct) against the same fail-then-succeed scenario added at runtime: every session's
#    journal holds exactly its own 2 requests, attempt 1 reset and attempt 2 complete (its own
#    second attempt recovers), every client prints the answer, every judge says recovered;
#  - a session's runtime scenario is not seen by another session; the same name in two
#    sessions answers each with its own text; the x-faultline-session header and the /t/ID/
#    prefix are the same session;
#  - a scenario with errors gets the loader's diagnostics (400, "field: message" lines, the same
#    ones `faultline validate` prints for the same text in a file); JSON bodies load too;
#  - DELETE ends a session (its requests then get 404, its scenarios are gone), GET lists them,
#    reset clears sessions' counters; unknown sessions and wrong methods are refused.
# Usage: control_sessions.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
fl_e2e_init "$1" "$2"
trap 'fl_serve_kill; rm -rf "$tmp"' EXIT
command -v jq >/dev/null || fail "jq is not installed (bash scripts/setup.sh)"
[[ -x $tc ]] || fail "no testclient at $tc"

fl_serve_start "$bin" 100 "$tmp/url" "$tmp/serve.err"

# api METHOD PATH [BODY-FILE]: prints the body, then the status on a line of its own.
api() {
    local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$1" "$url$2")
    [[ $# -ge 3 ]] && args+=(--data-binary "@$3")
    local code
    code=$(curl "${args[@]}")
    cat "$tmp/body"
    printf '\n%s\n' "$code"
}
# status OUTPUT: the status line of api's output; body OUTPUT: the rest.
status() { tail -n 1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
expect_status() { # WANT OUTPUT WHAT
    [[ $(status "$2") == "$1" ]] || fail "$3: status $(status "$2"), want $1: $(body "$2")"
}

answer="Eight sessions, one scenario, and every client recovers on its own second attempt."
cat >"$tmp/flaky.yaml" <<EOF
faultline: 1
name: flaky
description: attempt 1 is reset after 3 events, attempt 2 is clean
dialect: openai-chat
response:
  text: $answer
  ttft_ms: 20
  interval_ms: 5
attempts:
  - faults: [{reset: {at: {event: 3}}}]
  - {}
EOF

# --- 8 sessions at once, each with its own copy of the fail-then-succeed scenario ---
n=8
for i in $(seq 1 $n); do
    out=$(api POST /_faultline/sessions)
    expect_status 201 "$out" "POST /_faultline/sessions"
    body "$out" >"$tmp/session$i.json"
    missing=$(jq -r --slurpfile schema "$src/docs/control.schema.json" \
        '. as $a | [$schema[0]["$defs"].session.required[] | select($a[.] == null)] | join(",")' \
        "$tmp/session$i.json")
    [[ -z $missing ]] || fail "the session lacks $missing"
    sid[i]=$(jq -r .id "$tmp/session$i.json")
    [[ ${sid[i]} =~ ^[0-9a-f]{16}$ ]] || fail "session id '${sid[i]}'"
    base=$(jq -r '.base_urls["openai-chat"]' "$tmp/session$i.json")
    [[ $base == "$url/t/${sid[i]}/v1" ]] || fail "openai-chat base URL '$base'"
    out=$(api POST "/t/${sid[i]}/_faultline/scenarios" "$tmp/flaky.yaml")
    expect_status 201 "$out" "adding flaky to session $i"
    [[ $(body "$out" | jq -r .scope) == session ]] || fail "scope of session $i's scenario"
done
[[ $(printf '%s\n' "${sid[@]}" | sort -u | wc -l) == "$n" ]] || fail "session ids are not unique"

for i in $(seq 1 $n); do
    (
        rc=0
        env OPENAI_BASE_URL="$url/t/${sid[i]}/v1" OPENAI_API_KEY=sk-test FAULTLINE_DIALECT=openai-chat \
            FAULTLINE_MODEL=flaky FAULTLINE_PROMPT=hi timeout 30 "$tc" correct \
            >"$tmp/client$i.out" 2>"$tmp/client$i.err" || rc=$?
        echo "$rc" >"$tmp/client$i.rc"
    ) &
    cpid[i]=$!
done
for i in $(seq 1 $n); do wait "${cpid[i]}"; done

for i in $(seq 1 $n); do
    [[ $(cat "$tmp/client$i.rc") == 0 ]] || fail "client $i exited $(cat "$tmp/client$i.rc"): $(cat "$tmp/client$i.err")"
    [[ $(cat "$tmp/client$i.out") == "$answer" ]] || fail "client $i printed '$(cat "$tmp/client$i.out")'"
    curl -s "$url/_faultline/journal?session=${sid[i]}" >"$tmp/journal$i.json"
    got=$(jq -c '[.requests[] | [.session, .scenario, .attempt, .end]]' "$tmp/journal$i.json")
    want="[[\"${sid[i]}\",\"flaky\",1,\"reset\"],[\"${sid[i]}\",\"flaky\",2,\"complete\"]]"
    [[ $got == "$want" ]] || fail "session $i's journal: $got, want $want"
    # The same journal through the prefix and through the header.
    a=$(curl -s "$url/t/${sid[i]}/_faultline/journal" | jq -c '[.requests[].seq]')
    b=$(curl -s -H "x-faultline-session: ${sid[i]}" "$url/_faultline/journal" | jq -c '[.requests[].seq]')
    c=$(jq -c '[.requests[].seq]' "$tmp/journal$i.json")
    [[ $a == "$c" && $b == "$c" ]] || fail "session $i's journal by prefix $a, by header $b, by query $c"
    jq -n --arg s "${sid[i]}" --arg o "$answer" '{session:$s, scenario:"flaky", output:$o, exit_code:0}' \
        >"$tmp/judge$i.json"
    out=$(api POST /_faultline/judge "$tmp/judge$i.json")
    expect_status 200 "$out" "judge of session $i"
    # every field docs/control.schema.json says the answer has
    missing=$(body "$out" | jq -r --slurpfile schema "$src/docs/control.schema.json" \
        '. as $a | [$schema[0]["$defs"].judgement.required[] | select($a[.] == null)] | join(",")')
    [[ -z $missing ]] || fail "the judge's answer lacks $missing"
    v=$(body "$out" | jq -r '[.verdict, .score, (.attempts | length)] | join(" ")')
    [[ $v == "recovered 100 2" ]] || fail "judge of session $i: '$v' $(body "$out")"
done
total=$(curl -s "$url/_faultline/journal" | jq '.requests | length')
[[ $total == $((2 * n)) ]] || fail "the whole journal has $total requests, want $((2 * n))"
echo "ok: $n parallel sessions, each recovered on its own attempt 2"

# --- runtime scenarios are per session; the header is the same session as the prefix ---
sed -e 's/^name: flaky/name: greet/' -e "s/^  text: .*/  text: one/" -e '/^attempts:/,$d' \
    "$tmp/flaky.yaml" >"$tmp/greet1.yaml"
sed -e 's/^  text: one/  text: two/' "$tmp/greet1.yaml" >"$tmp/greet2.yaml"
expect_status 201 "$(api POST "/_faultline/scenarios?session=${sid[1]}" "$tmp/greet1.yaml")" "greet in 1"
out=$(curl -s -H "x-faultline-session: ${sid[2]}" --data-binary "@$tmp/greet2.yaml" \
    "$url/_faultline/scenarios")
[[ $(jq -r .session <<<"$out") == "${sid[2]}" ]] || fail "the header's session: $out"
chat() { # BASE_PATH MODEL [CURL ARGS]: the content of a non-streamed answer, or the error
    local p=$1 m=$2
    shift 2
    curl -s "$@" "$url$p/v1/chat/completions" -d "{\"model\":\"$m\",\"messages\":[]}" |
        jq -r '.choices[0].message.content // .error.message'
}
[[ $(chat "/t/${sid[1]}" greet) == one ]] || fail "session 1's greet"
[[ $(chat "/t/${sid[2]}" greet) == two ]] || fail "session 2's greet"
[[ $(chat "" greet -H "x-faultline-session: ${sid[2]}") == two ]] || fail "session 2's greet by header"
out=$(chat "/t/${sid[3]}/s/greet" x)
[[ $out == *"scenario 'greet' does not exist"* ]] || fail "session 3 sees greet: $out"
out=$(chat "/s/greet" x)
[[ $out == *"scenario 'greet' does not exist"* ]] || fail "no session sees greet: $out"
names=$(curl -s "$url/t/${sid[1]}/_faultline/scenarios" | jq -r '[.scenarios[] | .name + ":" + .source] | join(",")')
[[ $names == "flaky:session,greet:session" ]] || fail "session 1's scenarios: $names"
expect_status 404 "$(api DELETE "/t/${sid[3]}/_faultline/scenarios/greet")" "deleting another session's greet"
expect_status 200 "$(api DELETE "/t/${sid[1]}/_faultline/scenarios/greet")" "deleting greet"
out=$(chat "/t/${sid[1]}/s/greet" x)
[[ $out == *"does not exist"* ]] || fail "greet answered after DELETE: $out"
# Adding a scenario again starts its counter again: attempt 1 is reset once more.
expect_status 200 "$(api POST "/t/${sid[1]}/_faultline/scenarios" "$tmp/flaky.yaml")" "replacing flaky"
curl -s -o /dev/null "$url/t/${sid[1]}/v1/chat/completions" -d '{"model":"flaky","stream":true}' || true
last=$(curl -s "$url/_faultline/journal?session=${sid[1]}&scenario=flaky" | jq -c '.requests[-1] | [.attempt, .end]')
[[ $last == '[1,"reset"]' ]] || fail "after replacing flaky: $last"
echo "ok: runtime scenarios are per session"

# --- the loader's diagnostics; JSON is YAML ---
cat >"$tmp/bad.yaml" <<'EOF'
faultline: 1
name: bad
dialect: openai-chat
response:
  text: hi
  ttft_ms: -3
  bogus: 1
EOF
out=$(api POST /_faultline/scenarios "$tmp/bad.yaml")
expect_status 400 "$out" "a bad scenario"
body "$out" | jq -r '.error.diagnostics[]' | sed 's/^request-body://' | sort >"$tmp/api.diags"
"$bin" validate "$tmp/bad.yaml" 2>&1 >/dev/null | grep "^$tmp/bad.yaml:" | sed "s|^$tmp/bad.yaml:||" |
    sort >"$tmp/validate.diags" || true
[[ -s $tmp/validate.diags ]] || fail "faultline validate printed no diagnostics"
diff "$tmp/validate.diags" "$tmp/api.diags" >&2 || fail "the API's diagnostics differ from validate's"
grep -q 'response.ttft_ms: must be >= 0' "$tmp/api.diags" || fail "no ttft_ms diagnostic"
grep -q "response.bogus: unknown key 'bogus'" "$tmp/api.diags" || fail "no bogus diagnostic"
printf 'faultline: [1\n' >"$tmp/syntax.yaml"
out=$(api POST /_faultline/scenarios "$tmp/syntax.yaml")
expect_status 400 "$out" "a YAML syntax error"
[[ $(body "$out" | jq '.error.diagnostics | length') -ge 1 ]] || fail "no syntax diagnostic: $out"
echo '{"faultline":1,"name":"from-json","dialect":"openai-chat","response":{"text":"json ok"}}' >"$tmp/s.json"
expect_status 201 "$(api POST /_faultline/scenarios "$tmp/s.json")" "a JSON scenario"
[[ $(chat "" from-json) == "json ok" ]] || fail "the JSON scenario's answer"
[[ $(chat "/t/${sid[4]}" from-json) == "json ok" ]] || fail "a session sees global scenarios"
echo "ok: diagnostics and JSON bodies"

# --- sessions end; reset; refusals ---
[[ $(curl -s "$url/_faultline/sessions" | jq '.sessions | length') == "$n" ]] || fail "GET sessions"
expect_status 200 "$(api DELETE "/_faultline/sessions/${sid[5]}")" "DELETE session 5"
expect_status 404 "$(api DELETE "/_faultline/sessions/${sid[5]}")" "DELETE session 5 again"
out=$(chat "/t/${sid[5]}" flaky)
[[ $out == *"session '${sid[5]}' does not exist"* ]] || fail "an ended session answered: $out"
expect_status 404 "$(api GET "/t/${sid[5]}/_faultline/scenarios")" "scenarios of an ended session"
[[ $(curl -s "$url/_faultline/sessions" | jq '.sessions | length') == $((n - 1)) ]] || fail "GET sessions after DELETE"
expect_status 200 "$(api POST /_faultline/reset)" "reset"
curl -s -o /dev/null "$url/t/${sid[6]}/v1/chat/completions" -d '{"model":"flaky","stream":true}' || true
last=$(curl -s "$url/_faultline/journal?session=${sid[6]}" | jq -c '.requests[-1] | [.attempt, .end]')
[[ $last == '[1,"reset"]' ]] || fail "after reset, session 6's next request: $last"
expect_status 405 "$(api PUT /_faultline/sessions)" "PUT sessions"
expect_status 405 "$(api GET /_faultline/judge)" "GET judge"
echo '{"session":"ffffffffffffffff","scenario":"flaky"}' >"$tmp/j.json"
expect_status 404 "$(api POST /_faultline/judge "$tmp/j.json")" "judge of an unknown session"
echo '{"scenario":"flaky","output":7}' >"$tmp/j.json"
out=$(api POST "/t/${sid[6]}/_faultline/judge" "$tmp/j.json")
expect_status 400 "$out" "judge with a number for output"
[[ $(body "$out" | jq -r .error.message) == '"output" must be a string' ]] || fail "judge's message: $out"
echo "ok: sessions end, reset, refusals"

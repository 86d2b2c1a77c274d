#!/usr/bin/env bash
# Resumable streams and the format additions of issue 17, end to end.
# 1. `faultline run` with tests/clients/resume_client.sh: against a scenario with
#    expect.resume: required, the careful mode (GET /v1/responses/{id}?stream=true&
#    starting_after=N) recovers with no finding, the restart mode (a new POST) gets
#    restarted_not_resumed (score 80); with expect.resume: allowed a restart costs nothing; a
#    resume one event too early is duplicated, one event too late corrupted.
# 2. `faultline serve` and curl: Last-Event-ID resumes a raw stream after the named id (an
#    unknown id is 400), background responses are retrieved by GET (JSON and streamed, resumed
#    after starting_after; a response that was not background is 404, as OpenAI answers),
#    response.headers / status / path reach the head and the route, drop and replace act on one
#    event, and a per-attempt response is sent once and then the scenario's own.
# Usage: resume.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
bin=$1
src=$2
tmp=$(mktemp -d)
pid=
cleanup() {
    # SIGTERM reaches the server through timeout (fl_serve_kill's SIGKILL would stop timeout
    # alone and leave the server running)
    if [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
    fl_serve_kill
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# --- 1. the rubric, with real client processes --------------------------------------------------
client="sh $src/tests/clients/resume_client.sh"
required=$src/tests/data/resume/openai-responses-resume-required.yaml
allowed=$src/scenarios/resume/openai-responses-background-resume.yaml
judge() { # NAME MODE SCENARIO: the JSON report's verdict, score and findings of the one run
    timeout --foreground 60 "$bin" run --json "$tmp/$1.json" --client "$client $2" "$3" \
        >"$tmp/$1.out" 2>&1 || true
    jq -r '.runs[0] | "\(.verdict) \(.score) \(.findings | join(","))"' "$tmp/$1.json"
}
got=$(judge careful careful "$required")
[[ $got == "recovered 100 " ]] || fail "careful client, resume required: '$got'"
got=$(judge restart restart "$required")
[[ $got == "recovered 80 restarted_not_resumed" ]] || fail "restarting client, resume required: '$got'"
grep -q 'started over instead of resuming after event id' "$tmp/restart.out" ||
    fail "no reason for restarted_not_resumed: $(cat "$tmp/restart.out")"
got=$(judge allowed restart "$allowed")
[[ $got == "recovered 100 " ]] || fail "restarting client, resume allowed: '$got'"
# a resume stitched badly is judged on the text, as any answer: a delta twice, or one missing
got=$(judge overlap overlap "$required")
[[ $got == "duplicated 0 " ]] || fail "resuming one event too early: '$got'"
got=$(judge gap gap "$required")
[[ $got == "corrupted 0 " ]] || fail "resuming one event too late: '$got'"

# --- 2. the server, with curl --------------------------------------------------------------------
fl_serve_start "$bin" 60 "$tmp/out" "$tmp/err" "$src/scenarios/resume" "$src/scenarios/edits"
chat='{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'
post() { # SCENARIO PATH BODY [CURL ARGS...]
    local sc=$1 path=$2 body=$3
    shift 3
    timeout 20 curl -sN -D "$tmp/head" -H "x-faultline-scenario: $sc" \
        -H 'content-type: application/json' "$@" -d "$body" "$url$path" || true
}
reset() { timeout 10 curl -s -X POST "$url/_faultline/reset" >/dev/null; }

# Last-Event-ID: attempt 1 is closed after event 3; attempt 2 asks to go on after id 3
post openai-chat-last-event-id /v1/chat/completions "$chat" >"$tmp/a1"
post openai-chat-last-event-id /v1/chat/completions "$chat" -H 'Last-Event-ID: 3' >"$tmp/a2"
grep -q '"content":" where"' "$tmp/a1" || fail "attempt 1 lacks event 3: $(cat "$tmp/a1")"
grep -q 'you left off' "$tmp/a1" && fail "attempt 1 went past the close"
[[ $(grep -c '^id:' "$tmp/a2") == 2 ]] || fail "resumed stream is not events 4 and 5: $(cat "$tmp/a2")"
grep -q '^id: 4' "$tmp/a2" || fail "resumed stream does not start at id 4"
grep -q 'data: \[DONE\]' "$tmp/a2" || fail "resumed stream lacks [DONE]"
post openai-chat-last-event-id /v1/chat/completions "$chat" -H 'Last-Event-ID: 99' >"$tmp/a3"
grep -q ' 400 ' "$tmp/head" || fail "unknown Last-Event-ID is not 400: $(cat "$tmp/head")"
grep -q "no event of the stream has the id '99'" "$tmp/a3" || fail "400 body: $(cat "$tmp/a3")"
journal=$(timeout 10 curl -s "$url/_faultline/journal")
[[ $(jq -c '[.requests[] | select(.scenario == "openai-chat-last-event-id") |
    [.resume_after, .resume_skipped]]' <<<"$journal") == '[[null,null],["3",3],["99",null]]' ]] ||
    fail "journal resume fields: $(jq -c '[.requests[] | [.resume_after, .resume_skipped]]' <<<"$journal")"

# background: POST (not streamed) answers the queued response; GET gives it whole
bg='{"model":"m","input":"hi","background":true}'
sc=openai-responses-background-resume
post $sc /v1/responses "$bg" >"$tmp/q"
[[ $(jq -r '.status, .background' "$tmp/q" | paste -sd,) == queued,true ]] ||
    fail "background POST is not queued: $(cat "$tmp/q")"
rid=$(jq -r .id "$tmp/q")
timeout 10 curl -s "$url/v1/responses/$rid" >"$tmp/g"
[[ $(jq -r '[.id, .status] | join(",")' "$tmp/g") == "$rid,completed" ]] ||
    fail "GET $rid: $(cat "$tmp/g")"
# streamed GET after starting_after=5: the events from sequence_number 6 on
timeout 10 curl -sN "$url/v1/responses/$rid?stream=true&starting_after=5" >"$tmp/gs"
# (no head in these pipes: a writer cut off by head's exit fails the pipe under pipefail)
first=$(sed -n '/^data: /{s/^data: //p;q}' "$tmp/gs" | jq .sequence_number)
[[ $first == 6 ]] || fail "streamed GET starts at sequence_number $first: $(head -c 300 "$tmp/gs")"
grep -q "\"id\":\"$rid\"" "$tmp/gs" || fail "streamed GET has another response id"
grep -q 'event: response.completed' "$tmp/gs" || fail "streamed GET lacks response.completed"
# a response that was not background cannot be retrieved (OpenAI: 404 "not found")
post $sc /v1/responses '{"model":"m","input":"hi"}' >"$tmp/nb"
code=$(timeout 10 curl -s -o "$tmp/nb404" -w '%{http_code}' "$url/v1/responses/$(jq -r .id "$tmp/nb")")
[[ $code == 404 ]] || fail "GET of a foreground response: $code"
grep -q 'not found' "$tmp/nb404" || fail "404 body: $(cat "$tmp/nb404")"

# response.headers and status reach the head, merged over the dialect's
post openai-chat-sse-charset /v1/chat/completions "$chat" >/dev/null
grep -qi '^content-type: text/event-stream; charset=UTF-8' "$tmp/head" || fail "content-type: $(cat "$tmp/head")"
grep -qi '^x-accel-buffering: no' "$tmp/head" || fail "x-accel-buffering missing"
grep -qi '^cache-control: no-cache' "$tmp/head" || fail "the dialect's cache-control was lost"
[[ $(grep -ci '^content-type:' "$tmp/head") == 1 ]] || fail "two content-types"
post openai-chat-sse-charset /v1/chat/completions '{"model":"m","messages":[]}' >/dev/null
grep -qi '^content-type: application/json' "$tmp/head" || fail "non-streaming content-type: $(cat "$tmp/head")"
grep -qi '^x-accel-buffering: no' "$tmp/head" || fail "x-accel-buffering missing on the JSON answer"
post openai-chat-status-203 /v1/chat/completions "$chat" >/dev/null
head -n 1 "$tmp/head" | grep -q '^HTTP/1.1 203 ' || fail "status line: $(head -n 1 "$tmp/head")"
# response.path: the gateway route answers, with no scenario header needed
timeout 10 curl -sN -H 'content-type: application/json' -d "$chat" \
    "$url/api/v1/chat/completions" >"$tmp/path"
grep -q '"content":" gateway'"'"'s"' "$tmp/path" || fail "gateway path: $(head -c 300 "$tmp/path")"

# drop: no role chunk, every content chunk; replace: the first chunk has no choices
post openai-chat-role-chunk-dropped /v1/chat/completions "$chat" >"$tmp/drop"
grep -q '"role"' "$tmp/drop" && fail "drop left the role chunk"
grep -q '"content":" answer."' "$tmp/drop" || fail "drop lost content: $(cat "$tmp/drop")"
post openai-chat-azure-filter-chunk /v1/chat/completions "$chat" >"$tmp/rep"
[[ $(sed -n '/^data: /{s/^data: //p;q}' "$tmp/rep" | jq -c .choices) == '[]' ]] ||
    fail "replace: $(head -c 300 "$tmp/rep")"
grep -q '"content":"The"' "$tmp/rep" || fail "replace lost content"

# a per-attempt response: raw events once, then the scenario's own answer
reset
post openai-chat-broken-once-then-clean /v1/chat/completions "$chat" >"$tmp/b1"
post openai-chat-broken-once-then-clean /v1/chat/completions "$chat" >"$tmp/b2"
grep -q '"content":"Bro$' "$tmp/b1" || fail "attempt 1 is not the raw events: $(cat "$tmp/b1")"
grep -q '"content":" clean."' "$tmp/b2" || fail "attempt 2 is not the clean answer: $(cat "$tmp/b2")"

[[ $failures -eq 0 ]] || exit 1
echo ok

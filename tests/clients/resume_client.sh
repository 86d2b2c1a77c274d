#!/bin/sh
# A purpose-built openai-responses client for the resume rubric (tests/e2e/resume.sh).
# It asks for a background stream (POST /v1/responses with "background": true) and, when the
# stream breaks before response.completed, goes on in one of two ways:
#   careful  GET /v1/responses/{id}?stream=true&starting_after=N with the last sequence_number it
#            read whole, and appends what follows (OpenAI API reference, "Retrieve a model
#            response"): no event is paid for twice;
#   restart  a new POST, throwing away what it had: the answer is right, at twice the tokens;
#   overlap  resumes one event too early (starting_after=N-1) and keeps what it had: the last
#            delta it read comes twice (duplicated);
#   gap      resumes one event too late (starting_after=N+1): a delta never arrives (corrupted).
# Usage: sh resume_client.sh careful|restart|overlap|gap   (in `faultline run`'s environment)
mode=${1:?usage: resume_client.sh careful|restart|overlap|gap}
base=$FAULTLINE_BASE_URL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
body=$(jq -nc --arg m "$FAULTLINE_MODEL" --arg p "$FAULTLINE_PROMPT" \
    '{model: $m, input: $p, stream: true, background: true}')
post() {
    curl -sN --max-time 8 -H 'Content-Type: application/json' -d "$body" "$base/v1/responses"
}
: >"$tmp/text"
curl_out=$(post) || true
for attempt in 1 2 3; do
    # whole events only: a data line cut by the break does not parse and is dropped
    printf '%s\n' "$curl_out" | sed -n 's/^data: //p' | jq -c -R 'fromjson? // empty' >"$tmp/events"
    jq -j 'select(.type == "response.output_text.delta") | .delta' "$tmp/events" >>"$tmp/text"
    if jq -e -s 'any(.type == "response.completed")' "$tmp/events" >/dev/null; then
        cat "$tmp/text"
        echo
        exit 0
    fi
    id=$(jq -r 'select(.type == "response.created") | .response.id' "$tmp/events")
    [ -n "$id" ] && echo "$id" >"$tmp/id"
    last=$(jq -r '.sequence_number' "$tmp/events" | tail -n 1)
    [ -n "$last" ] && echo "$last" >"$tmp/last"
    echo "attempt $attempt: the stream broke before response.completed" >&2
    if [ "$mode" != restart ] && [ -s "$tmp/id" ] && [ -s "$tmp/last" ]; then
        after=$(cat "$tmp/last")
        case $mode in
        overlap) after=$((after - 1)) ;;
        gap) after=$((after + 1)) ;;
        esac
        curl_out=$(curl -sN --max-time 8 \
            "$base/v1/responses/$(cat "$tmp/id")?stream=true&starting_after=$after") || true
    else
        : >"$tmp/text"
        curl_out=$(post) || true
    fi
done
echo "no complete answer after 3 attempts" >&2
exit 1

#!/bin/sh
# A graceful openai-chat client: buffer the answer, insist on [DONE], retry with a pause.
body=$(jq -nc --arg m "$FAULTLINE_MODEL" --arg p "$FAULTLINE_PROMPT" \
    '{model: $m, stream: true, messages: [{role: "user", content: $p}]}')
for attempt in 1 2 3 4; do
    [ "$attempt" -gt 1 ] && sleep "$attempt"
    raw=$(curl -sSN --fail --connect-timeout 2 --max-time 8 -d "$body" \
        -H "Authorization: Bearer $OPENAI_API_KEY" -H 'Content-Type: application/json' \
        "$OPENAI_BASE_URL/chat/completions") || {
        echo "attempt $attempt: request failed" >&2; continue; }
    case "$raw" in *"data: [DONE]"*) ;; *)
        echo "attempt $attempt: stream ended without [DONE]" >&2; continue ;; esac
    answer=$(printf '%s\n' "$raw" | sed -n 's/^data: *//p' | grep -v '^\[DONE\]' |
        jq -j '.choices[0].delta.content // empty') || {
        echo "attempt $attempt: unreadable event" >&2; continue; }
    printf '%s\n' "$answer"
    exit 0
done
echo "no complete answer after 4 attempts" >&2
exit 1

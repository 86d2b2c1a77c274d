#!/usr/bin/env bash
# Faultline client under test: the streaming client people write in a shell script, curl -N plus
# jq. It POSTs FAULTLINE_PROMPT with "stream": true to the endpoint of FAULTLINE_DIALECT, reads
# the `data:` lines, prints each text delta as it arrives (jq -j) and stops at the dialect's end
# marker (`data: [DONE]`, `response.completed`, `message_stop`).
#
# On purpose it has no retries, no time-outs and no check that the end marker came: its exit
# status is curl's (pipefail). curl -f turns an HTTP error status into exit 22 and -S makes curl
# say why on stderr, as the client contract asks of a failing client.
#
# Tool calls: the name and the streamed argument fragments are collected and printed as the
# contract's one JSON line {"name": ..., "arguments": {...}} (one call per answer; jq fails on
# arguments that are not valid JSON).
set -uo pipefail

base=${FAULTLINE_BASE_URL:?FAULTLINE_BASE_URL is not set}
dialect=${FAULTLINE_DIALECT:-openai-chat}
model=${FAULTLINE_MODEL:-gpt-4o-mini}
prompt=${FAULTLINE_PROMPT:-Say hello.}

case $dialect in
openai-chat)
    url=$base/v1/chat/completions
    headers=(-H "authorization: Bearer ${OPENAI_API_KEY:-}")
    body=$(jq -cn --arg m "$model" --arg p "$prompt" \
        '{model: $m, stream: true, messages: [{role: "user", content: $p}]}')
    text='.choices[0].delta.content // empty'
    name='.choices[0].delta.tool_calls[0].function.name // empty'
    args='.choices[0].delta.tool_calls[0].function.arguments // empty'
    done_marker='[DONE]'
    ;;
openai-responses)
    url=$base/v1/responses
    headers=(-H "authorization: Bearer ${OPENAI_API_KEY:-}")
    body=$(jq -cn --arg m "$model" --arg p "$prompt" '{model: $m, stream: true, input: $p}')
    text='select(.type == "response.output_text.delta") | .delta'
    name='select(.type == "response.output_item.added") | .item.name // empty'
    args='select(.type == "response.function_call_arguments.delta") | .delta'
    done_marker='"type":"response.completed"'
    ;;
anthropic-messages)
    url=$base/v1/messages
    headers=(-H "x-api-key: ${ANTHROPIC_API_KEY:-}" -H "anthropic-version: 2023-06-01")
    body=$(jq -cn --arg m "$model" --arg p "$prompt" \
        '{model: $m, max_tokens: 1024, stream: true, messages: [{role: "user", content: $p}]}')
    text='select(.delta.type? == "text_delta") | .delta.text'
    name='select(.type == "content_block_start") | .content_block.name // empty'
    args='select(.delta.type? == "input_json_delta") | .delta.partial_json'
    done_marker='"type":"message_stop"'
    ;;
*)
    echo "curl.sh: unknown FAULTLINE_DIALECT '$dialect'" >&2
    exit 2
    ;;
esac

curl -fsSN "$url" "${headers[@]}" -H 'content-type: application/json' -d "$body" |
    {
        tool='' tool_args=''
        while IFS= read -r line; do
            [[ $line == data:* ]] || continue
            data=${line#data:}
            data=${data# }
            case $data in
            *tool_calls* | *function_call* | *tool_use* | *input_json_delta*)
                tool+=$(jq -j "$name" <<<"$data")
                tool_args+=$(jq -j "$args" <<<"$data")
                ;;
            *) [[ $data == *"$done_marker"* ]] || jq -j "$text" <<<"$data" ;;
            esac
            [[ $data == *"$done_marker"* ]] && break
        done
        # Read whatever follows the end marker (the blank line, the chunked terminator) so curl
        # ends on its own instead of dying on a closed pipe when those bytes come late.
        cat >/dev/null
        if [[ -n $tool ]]; then
            [[ -n $tool_args ]] || tool_args="{}"
            jq -cn --arg n "$tool" --argjson a "$tool_args" '{name: $n, arguments: $a}'
        fi
    }

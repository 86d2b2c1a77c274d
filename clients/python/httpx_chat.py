#!/usr/bin/python3
"""Faultline client under test: an openai-chat client on httpx, written the way httpx's docs
teach streaming ("Streaming Responses": ``client.stream("POST", ...)`` as a context manager,
``response.raise_for_status()``, then ``for line in response.iter_lines()``), reading the
``data:`` lines of the SSE body and stopping at ``data: [DONE]``, as OpenAI's API reference
describes the stream. It runs on Debian's python3-httpx (bookworm: 0.23.3) with its defaults:
a 5 s timeout on connect, each read, each write and the pool; no retries.

One line differs from the docs' code: each line is stripped of its line ending before it is
compared. httpx 0.23 ``iter_lines()`` returns lines *with* their ``\\n`` (LineDecoder); httpx
0.24 switched to ``str.splitlines()`` semantics and strips it (encode/httpx pull request 2423).
Code written for the docs of today compares ``data == "[DONE]"``, which never matches on
Debian 12's httpx: ``json.loads("[DONE]\\n")`` then raises and every answer fails. Faultline
flagged exactly that on the first clean scenario; the strip makes this client the same code on
every httpx version, so what the scoreboard measures is how it handles faults.

Client contract (top-level README): FAULTLINE_BASE_URL or OPENAI_BASE_URL, OPENAI_API_KEY,
FAULTLINE_MODEL, FAULTLINE_PROMPT in; the answer text on stdout as it streams (a tool call as
one JSON line); exit 0 when the stream ended at ``[DONE]`` or at the end of the body without
an exception, else a one-line message on stderr and exit 1. It speaks openai-chat only.
"""

import json
import os
import sys

import httpx


def main():
    base = os.environ.get("OPENAI_BASE_URL") or os.environ["FAULTLINE_BASE_URL"] + "/v1"
    body = {
        "model": os.environ.get("FAULTLINE_MODEL", "gpt-4o-mini"),
        "messages": [{"role": "user", "content": os.environ.get("FAULTLINE_PROMPT", "Say hello.")}],
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', '')}"}
    calls = {}
    seen = {"text": ""}  # what the stream said of its end, for the structured result
    with httpx.Client() as client:
        with client.stream("POST", f"{base}/chat/completions", json=body, headers=headers) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                line = line.rstrip("\r\n")
                if not line.startswith("data: "):
                    continue
                data = line[len("data: "):]
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                delta = chunk["choices"][0]["delta"]
                if chunk["choices"][0].get("finish_reason"):
                    seen["finish_reason"] = chunk["choices"][0]["finish_reason"]
                if chunk.get("id"):
                    seen["response_id"] = chunk["id"]
                if delta.get("content"):
                    seen["text"] += delta["content"]
                    sys.stdout.write(delta["content"])
                    sys.stdout.flush()
                # Tool calls stream as delta.tool_calls fragments keyed by index (OpenAI
                # function-calling guide, "Streaming"): the name first, then the arguments.
                for tc in delta.get("tool_calls") or []:
                    call = calls.setdefault(tc["index"], {"name": "", "arguments": ""})
                    fn = tc.get("function") or {}
                    call["name"] += fn.get("name") or ""
                    call["arguments"] += fn.get("arguments") or ""
    tool_calls = []
    for _, call in sorted(calls.items()):
        args = json.loads(call["arguments"] or "{}")
        tool_calls.append({"name": call["name"], "arguments": args})
        sys.stdout.write(json.dumps({"name": call["name"], "arguments": args}))
    sys.stdout.write("\n")
    write_result(dict(seen, tool_calls=tool_calls))


def write_result(result):
    """The structured result (top-level README, "The client contract"), when the harness asks
    for one: written to PATH.tmp and renamed, so it is never read half-written."""
    path = os.environ.get("FAULTLINE_RESULT_PATH")
    if not path:
        return
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # any failure the library (or the JSON) raised is the answer failing
        # One line: httpx's HTTPStatusError message has a second line with a link.
        msg = " ".join(str(err).split())
        print(f"httpx_chat.py: {type(err).__name__}: {msg}", file=sys.stderr)
        sys.exit(1)

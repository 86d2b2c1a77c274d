#!/usr/bin/env python3
"""result_client: an openai-chat client under test that misbehaves in one known way about what
it claims beyond the text, or about how it fails, so tests/e2e/run_result.sh can prove that
each finding of the structured result (README, "The client contract") and uncaught_exception is
reached by a real process, and that a crash report is a real interpreter's.

    result_client.py MODE

It reads FAULTLINE_BASE_URL, FAULTLINE_MODEL, FAULTLINE_PROMPT and FAULTLINE_RESULT_PATH, sends
one streaming Chat Completions request (POST /v1/chat/completions, "stream": true, usage asked
for with stream_options.include_usage) and reads the `data:` lines up to `data: [DONE]`. Only
the standard library; only openai-chat.

Modes (what each one does wrong is the point):
  invent-finish  prints what arrived and reports finish_reason "stop" whether or not a finish
                 arrived (the stream may have been cut before it), exit 0.
  always-stop    requires [DONE], prints the answer, reports finish_reason "stop" whatever the
                 stream said.
  count-usage    requires [DONE], prints the answer, reports the usage's input tokens and its own
                 count of content deltas as the output tokens.
  unguarded      reads chunk["choices"][0] with no check: an in-stream error object (no choices)
                 ends it with an uncaught KeyError and Python's traceback.
  bad-json       prints the answer and writes a result file that is not JSON.
  fifo           prints the answer and leaves a FIFO where the result file goes.
  huge           prints the answer and writes a result file of 2 MiB.
  careful        requires [DONE], prints the answer, reports what arrived: the finish reason
                 and usage of the stream, the response id; echoes FAULTLINE_DEADLINE_MS and
                 FAULTLINE_RESULT_PATH on stderr.
"""

import http.client
import json
import os
import sys
import urllib.parse


def stream():
    """The stream's chunks (dicts) in order, and whether [DONE] arrived."""
    url = urllib.parse.urlsplit(os.environ["FAULTLINE_BASE_URL"])
    body = json.dumps({
        "model": os.environ.get("FAULTLINE_MODEL", "m"),
        "messages": [{"role": "user", "content": os.environ.get("FAULTLINE_PROMPT", "Hi")}],
        "stream": True,
        "stream_options": {"include_usage": True},
    })
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}")
    chunks, done = [], False
    try:
        while True:
            line = resp.readline()
            if not line:
                break
            line = line.decode("utf-8").rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            chunks.append(json.loads(line[6:]))
    except (http.client.HTTPException, OSError):
        pass  # a cut stream: what arrived is what there is
    return chunks, done


def write(result):
    with open(os.environ["FAULTLINE_RESULT_PATH"], "w", encoding="utf-8") as f:
        f.write(result if isinstance(result, str) else json.dumps(result))


def main(mode):
    chunks, done = stream()
    if mode == "unguarded":
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    else:
        text = "".join((c.get("choices") or [{}])[0].get("delta", {}).get("content") or ""
                       for c in chunks if c.get("choices"))
    if mode not in ("invent-finish", "unguarded") and not done:
        print("result_client: the stream ended without [DONE]", file=sys.stderr)
        return 1
    if any("error" in c for c in chunks):
        print("result_client: error in stream", file=sys.stderr)
        return 1
    print(text)
    finish = next((c["choices"][0]["finish_reason"] for c in chunks
                   if c.get("choices") and c["choices"][0].get("finish_reason")), None)
    usage = next((c["usage"] for c in chunks if c.get("usage")), None)
    if mode == "invent-finish":
        write({"text": text, "finish_reason": "stop"})
    elif mode == "always-stop":
        write({"text": text, "finish_reason": "stop"})
    elif mode == "count-usage":
        deltas = sum(1 for c in chunks if c.get("choices") and c["choices"][0]["delta"].get("content"))
        write({"text": text, "usage": {"input_tokens": (usage or {}).get("prompt_tokens", 0),
                                       "output_tokens": deltas}})
    elif mode == "bad-json":
        write('{"text": "unterminated')
    elif mode == "fifo":
        os.mkfifo(os.environ["FAULTLINE_RESULT_PATH"])
    elif mode == "huge":
        write(json.dumps({"text": text, "padding": "x" * (2 * 1024 * 1024)}))
    elif mode == "careful":
        print(f"deadline_ms={os.environ.get('FAULTLINE_DEADLINE_MS')} "
              f"result_path={os.environ.get('FAULTLINE_RESULT_PATH')}", file=sys.stderr)
        result = {"text": text, "tool_calls": [], "response_id": chunks[0]["id"] if chunks else ""}
        if finish:
            result["finish_reason"] = finish
        if usage:
            result["usage"] = {"input_tokens": usage["prompt_tokens"],
                               "output_tokens": usage["completion_tokens"]}
        write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "careful"))

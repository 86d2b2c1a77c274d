#!/usr/bin/env python3
"""The Python reference relay (README, "Relays under test"): the standard library only
(http.server, http.client, threading), serving newline-delimited JSON (--downstream ndjson) on
$PORT for the provider the client contract names (FAULTLINE_DIALECT, OPENAI_BASE_URL,
ANTHROPIC_BASE_URL).

Written the way a careful developer would with what the standard library gives: it pipes each
text delta as a {"text": ...} line; a blank line every HEARTBEAT_S while the provider is silent
keeps proxies from cutting the connection; a write that fails (the browser left) closes the
upstream connection; a failure becomes an {"error": ...} line, and a clean answer ends with
{"done": true}. It retries a failure before any text went out, with exponential backoff and
Retry-After, at most MAX_ATTEMPTS requests; after text went out it does not retry (the browser
already has part of an answer) and reports the error.
"""
import http.client
import json
import os
import queue
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEARTBEAT_S, IDLE_S, MAX_ATTEMPTS, BASE_BACKOFF_S = 1.0, 4.0, 3, 0.25
RETRYABLE = {408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529}
DIALECT = os.environ.get("FAULTLINE_DIALECT", "openai-chat")
MODEL = os.environ.get("FAULTLINE_MODEL", "gpt-4o-mini")


def upstream_request(prompt):
    """(url, headers, body) of the provider's streaming request."""
    if DIALECT == "anthropic-messages":
        return (os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages",
                {"x-api-key": os.environ.get("ANTHROPIC_API_KEY", ""),
                 "anthropic-version": "2023-06-01"},
                {"model": MODEL, "max_tokens": 1024, "stream": True,
                 "messages": [{"role": "user", "content": prompt}]})
    auth = {"authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "")}
    if DIALECT == "openai-responses":
        return (os.environ["OPENAI_BASE_URL"] + "/responses", auth,
                {"model": MODEL, "stream": True, "input": prompt})
    return (os.environ["OPENAI_BASE_URL"] + "/chat/completions", auth,
            {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": prompt}]})


def meaning(event, data):
    """One SSE event as ("text", s), ("end", None), ("error", message) or None."""
    if data == "[DONE]":
        return ("end", None) if DIALECT == "openai-chat" else None
    try:
        j = json.loads(data)
    except ValueError:
        return ("error", "unparsable event from the provider")
    kind = j.get("type") or event
    if DIALECT == "openai-chat":
        if j.get("error"):
            return ("error", j["error"].get("message", "error event"))
        delta = (j.get("choices") or [{}])[0].get("delta") or {}
        return ("text", delta["content"]) if delta.get("content") else None
    if kind == "error":
        err = j.get("error") or j
        return ("error", err.get("message", "error event"))
    if DIALECT == "openai-responses":
        if kind == "response.output_text.delta":
            return ("text", j.get("delta", ""))
        if kind == "response.completed":
            return ("end", None)
        if kind in ("response.failed", "response.incomplete"):
            return ("error", kind)
        return None
    if kind == "content_block_delta" and (j.get("delta") or {}).get("type") == "text_delta":
        return ("text", j["delta"]["text"])
    return ("end", None) if kind == "message_stop" else None


def events(resp):
    """The SSE events of a response as (event, data), whatever its line endings."""
    event, data, pending = "", [], b""
    while True:
        chunk = resp.read1(65536)
        lines = (pending + chunk).replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        pending = lines.pop() if chunk else b""
        for raw in lines:
            line = raw.decode("utf-8")  # invalid UTF-8 raises: a broken stream
            if line.startswith("\ufeff"):
                line = line[1:]
            if line == "":
                if data:
                    yield event, "\n".join(data)
                event, data = "", []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    data.append(value)
                elif field == "event":
                    event = value
        if not chunk:
            return


def attempt(prompt, out, cancel):
    """One upstream request; puts ("text", s) items on out, then ("end"|"error"|"retry", info).
    cancel() closes the connection from another thread (it is set into cancel[0])."""
    url, headers, body = upstream_request(prompt)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=IDLE_S)
    cancel[0] = conn.close
    try:
        conn.request("POST", u.path, json.dumps(body),
                     {**headers, "content-type": "application/json"})
        resp = conn.getresponse()
        if resp.status >= 300:
            text = resp.read()[:160].decode("utf-8", "replace")
            wait = resp.getheader("retry-after-ms")
            wait = float(wait) / 1000 if wait else float(resp.getheader("retry-after") or -1)
            kind = "retry" if resp.status in RETRYABLE else "error"
            out.put((kind, ("provider answered HTTP %d: %s" % (resp.status, text), wait)))
            return
        for event, data in events(resp):
            m = meaning(event, data)
            if m and m[0] in ("end", "error"):
                out.put((m[0], (m[1], -1)))
                return
            if m:
                out.put(m)
        out.put(("retry", ("the provider ended the stream without its end marker", -1)))
    except Exception as e:  # reset, timeout (IDLE_S without a byte), invalid UTF-8
        out.put(("retry", ("connection to the provider broke: %s" % (e or type(e).__name__), -1)))
    finally:
        conn.close()


class Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        prompt = body.get("prompt") or ""
        self.send_response(200)
        self.send_header("content-type", "application/x-ndjson")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            self.relay(prompt)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the browser left: relay() already closed the upstream connection
        self.close_connection = True

    def line(self, obj):
        data = (json.dumps(obj) + "\n").encode() if obj is not None else b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def relay(self, prompt):
        sent = False
        for n in range(1, MAX_ATTEMPTS + 1):
            out, cancel = queue.Queue(), [lambda: None]
            threading.Thread(target=attempt, args=(prompt, out, cancel), daemon=True).start()
            while True:
                try:
                    kind, info = out.get(timeout=HEARTBEAT_S)
                except queue.Empty:
                    try:
                        self.line(None)  # the heartbeat: also how a departed browser is noticed
                    except OSError:
                        cancel[0]()
                        raise
                    continue
                try:
                    if kind == "text":
                        self.line({"text": info})
                        sent = True
                        continue
                    if kind == "end":
                        self.line({"done": True})
                        return
                except OSError:
                    cancel[0]()
                    raise
                message, wait = info
                if kind == "error" or sent or n == MAX_ATTEMPTS:
                    self.line({"error": message})
                    return
                time.sleep(wait if 0 <= wait <= 4 else BASE_BACKOFF_S * 2 ** (n - 1))
                break


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Relay).serve_forever()

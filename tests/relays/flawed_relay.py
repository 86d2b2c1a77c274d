#!/usr/bin/env python3
"""Purpose-built relays for tests/e2e/relay.sh: each misbehaves in one known way, so that the
harness must name exactly that finding. Built on the Python reference relay
(clients/relays/stdlib_relay.py: its upstream request, SSE reading and ndjson lines); the
downstream is ndjson. Usage: flawed_relay.py MODE, with MODE one of

  good           the reference relay itself (pipes, heartbeats, cancels, reports errors)
  buffers        holds every text line back until the provider's answer is whole
  no_heartbeat   pipes, but sends nothing while the provider is silent
  never_cancels  when the browser leaves, reads the provider's answer to its end anyway
  swallows       when the provider fails, ends the answer with {"done": true}
  no_backoff     retries a failure at once, up to 6 requests
  exits          fails to start: a message on stderr, exit status 3
  never_listens  starts, says so, and never listens
  wrong_port     listens on a port of its own choosing instead of $PORT
  echo           calls no provider: answers with the request's path and body as its text
"""
import os
import queue
import sys
import threading
import time
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "relays"))
import stdlib_relay as ref  # noqa: E402

MODE = sys.argv[1] if len(sys.argv) > 1 else "good"

# FL_TEST_FD_REPORT=FILE: append how many TCP connections this process inherited (before it
# opens any), so relay.sh can check that no connection of another run leaks into a relay it
# spawns. (Its stdout and stderr are Unix sockets: libuv's pipes; those are not counted.)
if os.environ.get("FL_TEST_FD_REPORT"):
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    tcp = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as t:
            tcp.update(line.split()[9] for line in list(t)[1:])
    inherited = len(inodes & tcp)
    with open(os.environ["FL_TEST_FD_REPORT"], "a") as f:
        f.write(f"{inherited}\n")


def drain(out):
    """Reads the provider's answer to its end: what a relay that never cancels does."""
    while out.get()[0] == "text":
        pass


class Flawed(ref.Relay):
    def relay(self, prompt):
        held, sent, tries = [], False, 6 if MODE == "no_backoff" else ref.MAX_ATTEMPTS
        for n in range(1, tries + 1):
            out, cancel = queue.Queue(), [lambda: None]
            threading.Thread(target=ref.attempt, args=(prompt, out, cancel), daemon=True).start()
            while True:
                try:
                    try:
                        kind, info = out.get(timeout=ref.HEARTBEAT_S)
                    except queue.Empty:
                        if MODE != "no_heartbeat":
                            self.line(None)
                        continue
                    if kind == "text":
                        if MODE == "buffers":
                            held.append(info)
                        else:
                            self.line({"text": info})
                            sent = True
                        continue
                    if kind == "end":
                        for t in held:
                            self.line({"text": t})
                        self.line({"done": True})
                        return
                except OSError:
                    if MODE == "never_cancels":
                        drain(out)
                    else:
                        cancel[0]()
                    raise
                message, wait = info
                if MODE == "swallows":
                    self.line({"done": True})
                    return
                if MODE == "no_backoff" and n < tries:
                    break
                if kind == "error" or sent or n == tries:
                    self.line({"error": message})
                    return
                time.sleep(ref.BASE_BACKOFF_S * 2 ** (n - 1))
                break


class Echo(ref.Relay):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        self.send_response(200)
        self.send_header("content-type", "application/x-ndjson")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.line({"text": self.path + " " + body})
        self.line({"done": True})
        self.wfile.write(b"0\r\n\r\n")


if MODE == "exits":
    print("relay: cannot read config.json: No such file or directory", file=sys.stderr)
    sys.exit(3)
if MODE == "never_listens":
    print("relay: warming up the model cache", file=sys.stderr, flush=True)
    time.sleep(3600)
port = 0 if MODE == "wrong_port" else int(os.environ["PORT"])
handler = {"good": ref.Relay, "echo": Echo}.get(MODE, Flawed)
server = ThreadingHTTPServer(("127.0.0.1", port), handler)
print("relay: listening on %d" % server.server_address[1], file=sys.stderr, flush=True)
server.serve_forever()

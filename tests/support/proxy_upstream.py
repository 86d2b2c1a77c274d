#!/usr/bin/env python3
"""A scripted upstream for tests/e2e/proxy.sh: an OpenAI-compatible stream over HTTP/1.1, plain
or TLS (--cert/--key), on 127.0.0.1 and an ephemeral port (printed on stdout).

POST /v1/chat/completions streams EVENTS chat chunks (deterministic bytes, no ids or times),
each in its own chunk of the chunked body, then `data: [DONE]`. The request's x-upstream-mode
header picks a failure: `reset` (RST after 3 events), `fin` (FIN after 3 events, no
terminator), `http500` (a JSON 500), `slow` (one event every 100 ms), `json` (a non-streaming
JSON answer). Each request's headers are appended to --log as one JSON line, so the test can
check what reached the upstream. Standard library only."""
import argparse
import http.server
import json
import socket
import ssl
import struct
import sys
import time

EVENTS = 12


def event(i):
    word = "w%02d" % i
    return ('data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":'
            '{"content":"%s "},"finish_reason":null}]}\n\n' % word).encode()


def body_events():
    out = [('data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":'
            '{"role":"assistant","content":""},"finish_reason":null}]}\n\n').encode()]
    out += [event(i) for i in range(1, EVENTS - 1)]
    out.append(('data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},'
                '"finish_reason":"stop"}]}\n\n').encode())
    out.append(b"data: [DONE]\n\n")
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n)
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                "body": body.decode("utf-8", "replace")}) + "\n")
        mode = self.headers.get("x-upstream-mode", "")
        if mode == "http500":
            msg = b'{"error":{"message":"upstream broke","type":"server_error"}}'
            self.send_response(500)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        if mode == "json":
            msg = b'{"object":"chat.completion","choices":[{"message":{"content":"hi"}}]}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, ev in enumerate(body_events()):
            if mode in ("reset", "fin") and i == 3:
                # let the peer read what was sent: an RST makes its kernel drop unread data
                time.sleep(0.1)
                if mode == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            try:
                self.chunk(ev)
            except (BrokenPipeError, ConnectionResetError):
                return
            time.sleep(0.1 if mode == "slow" else 0.003)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class ConnectProxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that only tunnels (CONNECT host:port, RFC 9110 section 9.3.6), as a
    corporate HTTPS_PROXY does; each CONNECT target is appended to the log."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_CONNECT(self):
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"connect": self.path}) + "\n")
        host, port = self.path.rsplit(":", 1)
        up = socket.create_connection((host, int(port)))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        socks = [self.connection, up]
        import select
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                if not data:
                    up.close()
                    return
                (up if s is self.connection else self.connection).sendall(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--log", required=True)
    ap.add_argument("--dump", action="store_true", help="print the clean body and exit")
    ap.add_argument("--connect-proxy", action="store_true", help="be an HTTPS_PROXY instead")
    a = ap.parse_args()
    if a.dump:
        sys.stdout.buffer.write(b"".join(body_events()))
        return
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          ConnectProxy if a.connect_proxy else Handler)
    srv.daemon_threads = True
    srv.log = a.log
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# `faultline proxy` on loopback, as a user runs it: in front of a scripted upstream over TLS
# (a certificate made here with the openssl CLI, trusted through --cacert) and over plain HTTP,
# and in front of `faultline serve`. Checks that faults land at the exact live event (the
# client's bytes are the upstream's plus the fault's, byte for byte), that real upstream
# failures are relayed as they happened and told apart from injected ones in the journal,
# that an unreachable or untrusted upstream gives a 502 with the reason, that a client that
# leaves cancels the upstream request (serve's journal shows client_closed), that captures
# keep upstream and injected bytes apart, and that the API key reaches the upstream untouched
# but no file the proxy writes.  Usage: proxy.sh FAULTLINE SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
key=sk-proxytest0123456789abcdefSECRET
up_py=$src/tests/support/proxy_upstream.py

# start_line VAR CMD...: runs CMD in the background and waits for its first stdout line.
start_line() {
    local var=$1 out
    shift
    out=$(mktemp -p "$tmp")
    timeout -k 5 100 "$@" >"$out" 2>>"$tmp/stderr.log" &
    pids+=($!)
    disown $!
    for _ in $(seq 1 100); do
        [[ -s $out ]] && break
        sleep 0.05
    done
    [[ -s $out ]] || fail "no first line from: $*"
    printf -v "$var" '%s' "$(head -n 1 "$out")"
}

# The upstreams: TLS with a certificate for 127.0.0.1 made now, and plain HTTP.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
start_line tls_port python3 "$up_py" --cert "$tmp/cert.pem" --key "$tmp/key.pem" --log "$tmp/up.log"
start_line plain_port python3 "$up_py" --log "$tmp/up.log"
python3 "$up_py" --log /dev/null --dump >"$tmp/clean"

# The faults, one scenario each, picked per request by the x-faultline-scenario header.
mkdir "$tmp/sc" "$tmp/rec"
scenario() { # NAME FAULTS-YAML
    printf 'faultline: 1\nname: %s\ndialect: openai-chat\nresponse: {text: unused}\nattempts:\n  - faults: %s\n' \
        "$1" "$2" >"$tmp/sc/$1.yaml"
}
scenario clean '[]'
scenario inject '[{inject: {at: {event: 3}, bytes: "data: {\"x\":1}\n\n"}}]'
scenario reset '[{reset: {at: {event: 4}}}]'
scenario dup '[{duplicate: {at: {content: 2}}}]'
scenario nodone '[{drop_sentinel: {}}]'
scenario stall '[{stall: {at: {event: 2}, ms: 400}}]'
scenario bytecut '[{close: {at: {byte: 100}}}]'
scenario e429 '[{http_error: {status: 429, retry_after_s: 1}}]'
scenario errev '[{error_event: {at: {event: 5}, type: overloaded}}]'
scenario evjson '[{reset: {at: {event: 2}}}]'

start_line purl "$bin" proxy --upstream "https://127.0.0.1:$tls_port" --cacert "$tmp/cert.pem" \
    --record "$tmp/rec" "$tmp/sc"
[[ $purl =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "proxy printed '$purl'"

# post SCENARIO OUT [curl args...]: a streamed chat request through the proxy; prints curl's
# exit status.
post() {
    local sc=$1 out=$2
    shift 2
    set +e
    timeout 20 curl -sS -N -o "$out" -D "$out.head" "$purl/v1/chat/completions" \
        -H "authorization: Bearer $key" -H "x-faultline-scenario: $sc" \
        -H 'content-type: application/json' \
        -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
        "$@" 2>>"$tmp/curl.err"
    echo $?
    set -e
}

# expect_bytes FILE PYTHON-EXPR: FILE must equal the expression over `ev` (the clean events).
expect_bytes() {
    python3 - "$1" "$tmp/clean" "$2" <<'EOF' || exit 1
import sys
got = open(sys.argv[1], "rb").read()
clean = open(sys.argv[2], "rb").read()
ev = [e + b"\n\n" for e in clean.split(b"\n\n") if e]
want = eval(sys.argv[3])
if got != want:
    print("FAIL: %s\n--- got\n%r\n--- want\n%r" % (sys.argv[3], got, want))
    sys.exit(1)
EOF
}

# 1. Clean over TLS: byte for byte the upstream's stream; the key reached it untouched.
[[ $(post clean "$tmp/c1") == 0 ]] || fail "clean relay failed"
expect_bytes "$tmp/c1" 'clean'
grep -qi "\"authorization\": \"Bearer $key\"" "$tmp/up.log" || fail "the key did not reach the upstream"
grep -qi '"x-faultline-scenario"' "$tmp/up.log" && fail "x-faultline-scenario was forwarded"

# 2. Faults at exact live events.
[[ $(post inject "$tmp/c2") == 0 ]] || fail "inject"
expect_bytes "$tmp/c2" 'b"".join(ev[:2]) + b"data: {\"x\":1}\n\n" + b"".join(ev[2:])'
rc=$(post reset "$tmp/c3")
[[ $rc != 0 ]] || fail "reset at event 4: curl exited 0"
expect_bytes "$tmp/c3" 'b"".join(ev[:3])'
[[ $(post dup "$tmp/c4") == 0 ]] || fail "duplicate"
# content 2 is the second event with text: ev[2] (w02; the role chunk ev[0] has none)
expect_bytes "$tmp/c4" 'b"".join(ev[:3]) + ev[2] + b"".join(ev[3:])'
[[ $(post nodone "$tmp/c5") == 0 ]] || fail "drop_sentinel"
expect_bytes "$tmp/c5" 'b"".join(ev[:-1])'
start=$(date +%s%N)
[[ $(post stall "$tmp/c6") == 0 ]] || fail "stall"
took=$((($(date +%s%N) - start) / 1000000))
((took >= 400)) || fail "stall 400 ms: the stream took $took ms"
expect_bytes "$tmp/c6" 'clean'
rc=$(post bytecut "$tmp/c7")
expect_bytes "$tmp/c7" 'clean[:100]'
[[ $(post errev "$tmp/c8") == 0 ]] || fail "error_event"
python3 - "$tmp/c8" "$tmp/clean" <<'EOF' || exit 1
import sys
got = open(sys.argv[1], "rb").read()
ev = [e + b"\n\n" for e in open(sys.argv[2], "rb").read().split(b"\n\n") if e]
head = b"".join(ev[:4])
assert got.startswith(head), "events 1-4 not relayed as they came"
rest = got[len(head):]
assert b'"error"' in rest and b"overloaded" in rest.lower() or b"503" in rest, rest
assert b"[DONE]" not in rest and b"w04" not in rest, rest
EOF

# 3. http_error answers without calling the upstream.
calls=$(wc -l <"$tmp/up.log")
post e429 "$tmp/c9" >/dev/null
grep -q '^HTTP/1.1 429' "$tmp/c9.head" || fail "http_error 429: $(head -n 1 "$tmp/c9.head")"
grep -qi '^retry-after: 1' "$tmp/c9.head" || fail "no retry-after"
[[ $(wc -l <"$tmp/up.log") == "$calls" ]] || fail "http_error called the upstream"

# 4. Event positions on a body that is not SSE: skipped with the reason, relayed clean.
post evjson "$tmp/c10" -H 'x-upstream-mode: json' >/dev/null
grep -q '"content":"hi"' "$tmp/c10" || fail "JSON body not relayed: $(cat "$tmp/c10")"

# 5. The journal: injected vs real.
curl -s "$purl/_faultline/journal" >"$tmp/journal.json"
python3 - "$tmp/journal.json" <<'EOF' || exit 1
import json, sys
rs = json.load(open(sys.argv[1]))["requests"]
by = {r["scenario"]: r for r in rs}
r = by["reset"]
assert r["end"] == "reset" and r["faults"][0]["fault"] == "reset" and r["faults"][0]["event"] == 4, r
assert r["upstream"]["status"] == 200 and r["upstream"]["end"] == "cancelled", r["upstream"]
c = by["clean"]
assert c["end"] == "complete" and c["upstream"]["end"] == "complete" and not c["faults"], c
assert c["upstream"]["ttfb_ms"] is not None and c["upstream"]["last_byte_ms"] >= c["upstream"]["ttfb_ms"]
assert by["e429"]["upstream"]["end"] == "not_called" and by["e429"]["status"] == 429
assert by["dup"]["faults"][0]["event"] == 3, by["dup"]["faults"]  # content 2 is live event 3
assert by["inject"]["faults"][0]["event"] == 3, by["inject"]["faults"]
sk = by["evjson"]["skipped"]
assert sk and "text/event-stream" in sk[0]["reason"], sk
assert by["evjson"]["end"] == "complete"
EOF

# 6. Real upstream failures go through as they happened: a 500, a reset mid-stream, a FIN.
post clean "$tmp/r1" -H 'x-upstream-mode: http500' >/dev/null
grep -q '^HTTP/1.1 500' "$tmp/r1.head" || fail "upstream 500 not relayed"
grep -q 'upstream broke' "$tmp/r1" || fail "upstream 500 body not relayed"
rc=$(post clean "$tmp/r2" -H 'x-upstream-mode: reset')
[[ $rc != 0 ]] || fail "an upstream reset reached the client as a whole stream"
expect_bytes "$tmp/r2" 'b"".join(ev[:3])'
rc=$(post clean "$tmp/r3" -H 'x-upstream-mode: fin')
[[ $rc != 0 ]] || fail "an upstream FIN before the terminator reached the client as complete"
curl -s "$purl/_faultline/journal" >"$tmp/journal2.json"
python3 - "$tmp/journal2.json" <<'EOF' || exit 1
import json, sys
rs = json.load(open(sys.argv[1]))["requests"][-3:]
assert rs[0]["status"] == 500 and rs[0]["upstream"]["status"] == 500 and not rs[0]["faults"], rs[0]
assert rs[1]["upstream"]["end"] in ("rst", "fin") and not rs[1]["faults"], rs[1]["upstream"]
assert rs[1]["end"] in ("reset", "closed"), rs[1]["end"]
assert rs[2]["upstream"]["end"] in ("fin", "rst") and rs[2]["end"] in ("closed", "reset"), rs[2]
EOF

# 7. Unreachable and untrusted upstreams: 502 with the reason.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_line durl "$bin" proxy --upstream "http://127.0.0.1:$dead"
code=$(curl -s -o "$tmp/d1" -w '%{http_code}' "$durl/v1/chat/completions" -d '{"stream":true}')
[[ $code == 502 ]] || fail "unreachable upstream: $code"
grep -qi "connect" "$tmp/d1" || fail "502 without the reason: $(cat "$tmp/d1")"
start_line nurl "$bin" proxy --upstream "https://127.0.0.1:$tls_port"
code=$(curl -s -o "$tmp/d2" -w '%{http_code}' "$nurl/v1/chat/completions" -d '{"stream":true}')
[[ $code == 502 ]] || fail "untrusted upstream: $code"
grep -qi "certificate\|SSL" "$tmp/d2" || fail "502 without the TLS reason: $(cat "$tmp/d2")"
# (journals are read whole before grep: grep -q leaving early would fail curl under pipefail)
grep -q '"end":"tls"' <<<"$(curl -s "$nurl/_faultline/journal")" || fail "journal: no tls end"

# 8. A client that leaves cancels the upstream request: faultline serve (plain HTTP) as the
# upstream, a slow stream, the client gone after 300 ms: serve's journal shows client_closed.
printf 'faultline: 1\nname: slow\ndialect: openai-chat\nresponse: {text: "a b c d e f g h i j k l m n o p", ttft_ms: 50, interval_ms: 200}\n' >"$tmp/slow.yaml"
start_line surl "$bin" serve "$tmp/slow.yaml"
start_line spurl "$bin" proxy --upstream "$surl"
timeout 10 curl -s -N --max-time 0.3 "$spurl/v1/chat/completions" \
    -d '{"model":"x","stream":true}' >/dev/null 2>&1 || true
left=$(date +%s%N)
ok=
for _ in $(seq 1 120); do
    if grep -q '"end":"client_closed"' <<<"$(curl -s "$surl/_faultline/journal")"; then ok=1; break; fi
    sleep 0.025
done
[[ -n $ok ]] || fail "serve's journal shows no client_closed after the client left"
waited=$((($(date +%s%N) - left) / 1000000))
# generous: the proxy cancels on the close callback; the bound absorbs a loaded CI machine
((waited < 3000)) || fail "the upstream request outlived the client by $waited ms"
grep -q '"client_closed_ms":[0-9]' <<<"$(curl -s "$spurl/_faultline/journal")" ||
    fail "proxy journal: no client_closed_ms"

# 8b. HTTPS_PROXY is honoured as curl users expect: the TLS upstream through a CONNECT proxy.
start_line cport python3 "$up_py" --connect-proxy --log "$tmp/connect.log"
start_line curl_via env HTTPS_PROXY="http://127.0.0.1:$cport" NO_PROXY= no_proxy= \
    "$bin" proxy --upstream "https://127.0.0.1:$tls_port" --cacert "$tmp/cert.pem"
code=$(curl -s -o "$tmp/v1" -w '%{http_code}' "$curl_via/v1/chat/completions" -d '{"stream":true}')
[[ $code == 200 ]] || fail "through HTTPS_PROXY: $code $(cat "$tmp/v1")"
expect_bytes "$tmp/v1" 'clean'
grep -q "\"connect\": \"127.0.0.1:$tls_port\"" "$tmp/connect.log" || fail "HTTPS_PROXY was not used"

# 9. Captures: one per exchange; the client's bytes are every write not withheld; the
# injected bytes are marked as the fault's, the upstream's kept apart.
kill -TERM "${pids[2]}" # the TLS proxy: captures are flushed on stop
for _ in $(seq 1 100); do kill -0 "${pids[2]}" 2>/dev/null || break; sleep 0.05; done
python3 - "$tmp/rec" "$tmp/c2" "$tmp/c5" "$tmp/clean" <<'EOF' || exit 1
import base64, glob, json, sys
caps = []
for f in sorted(glob.glob(sys.argv[1] + "/*.capture.jsonl")):
    lines = [json.loads(l) for l in open(f)]
    caps.append(lines)
assert len(caps) == 13, len(caps)  # one per exchange through it
def body(lines, keep):
    out = b""
    for l in lines:
        if l["type"] == "write" and l.get("origin", "upstream") in keep:
            out += l["data"].encode() if "data" in l else base64.b64decode(l["b64"])
    return out
inj = [c for c in caps if any(l.get("origin") == "fault" for l in c) and
       any(b"{\"x\":1}" in body(c, ("fault",)) for _ in [0])]
assert inj, "no capture with the injected bytes"
c = inj[0]
assert body(c, ("upstream", "fault")) == open(sys.argv[2], "rb").read()
assert body(c, ("upstream",)) == open(sys.argv[4], "rb").read()
assert body(c, ("fault",)) == b'data: {"x":1}\n\n'
ends = [c[-1]["how"] for c in caps]
assert "rst" in ends and "complete" in ends, ends
nd = [c for c in caps if any(l.get("origin") == "withheld" for l in c)]
assert any(body(c, ("withheld",)) == b"data: [DONE]\n\n" for c in nd), "drop_sentinel not withheld"
for c in caps:
    assert c[0]["type"] == "capture" and c[1]["type"] == "request"
EOF

# 10. The key never reaches a file the proxy wrote (journal, captures, its output), nor does
# Gemini's key in the query (?key=), though both reach the upstream.
gkey=AIzaSyProxyTest0123456789abcdefGHIJ
mkdir "$tmp/rec2"
start_line gurl "$bin" proxy --upstream "http://127.0.0.1:$plain_port" --record "$tmp/rec2"
curl -s -o /dev/null "$gurl/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=$gkey" \
    -H "x-goog-api-key: $gkey" -d '{"contents":[]}'
curl -s "$gurl/_faultline/journal" >"$tmp/journal3.json"
kill -TERM "${pids[-1]}"
for _ in $(seq 1 100); do kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.05; done
grep -q "key=$gkey" "$tmp/up.log" || fail "the query key did not reach the upstream"
grep -q 'key=REDACTED' "$tmp/rec2"/*.capture.jsonl || fail "the capture's query is not redacted"
if grep -rq "$key\|$gkey" "$tmp/rec" "$tmp/rec2" "$tmp/journal.json" "$tmp/journal2.json" \
    "$tmp/journal3.json" "$tmp/stderr.log"; then
    fail "the API key reached a file the proxy wrote"
fi
grep -rq "REDACTED" "$tmp/rec" || fail "captures do not say what was redacted"

# 11. Every proxy and server stops cleanly on SIGTERM (and, in a sanitizer build, says nothing).
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
done
if grep -q "Sanitizer\|runtime error\|handles left open" "$tmp/stderr.log"; then
    cat "$tmp/stderr.log" >&2
    fail "a process reported an error on its way out"
fi
echo ok

#!/usr/bin/env bash
# Peers that leave mid-write never kill Faultline (issue 11). Every faultline here starts with
# SIGPIPE at its default disposition (env --default-signal=PIPE; a shell that inherited it
# ignored would otherwise hide the bug), so a write to a reset connection or a closed pipe kills
# the process unless the program itself ignores SIGPIPE.
#   serve: connections that pipeline more requests than the server reads ahead and then close
#          (the server, in CLOSE_WAIT, writes its first answer, the peer's kernel answers with
#          RST, and the next write fails with EPIPE), and connections reset (SO_LINGER 0)
#          mid-stream. The server must stay up, answer a normal request whole, and journal the
#          answers it could not deliver as client_closed.
#   run / validate: stdout is a pipe whose reader has gone; the JSON report is still written
#          and the exit status is the runs' own.
# The peers are perl (Essential in Debian: always there), with its core Socket module.
# Usage: bash sigpipe.sh <faultline-binary> <source-dir>
set -u
# shellcheck source-path=SCRIPTDIR source=../support/serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/serve.sh"
# shellcheck source-path=SCRIPTDIR source=../support/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/harness.sh"
fl_harness_init "$1" "$2"
pid=
fl_on_exit() { fl_serve_kill; }

# faultline with SIGPIPE restored to its default action, whatever this shell inherited.
cat >"$tmp/faultline" <<EOF
#!/bin/sh
exec env --default-signal=PIPE "$bin" "\$@"
EOF
chmod +x "$tmp/faultline"

# peer PORT CONNS PIPELINE READ RST: CONNS connections, one after another, each sending
# PIPELINE streaming requests at once, reading READ bytes (0: none), then closing, with RST
# (SO_LINGER 0) when RST is 1. Bounded: 5 s per socket operation.
peer() {
    timeout 60 perl -e '
use strict; use warnings; use Socket;
my ($port, $conns, $pipeline, $read, $rst) = @ARGV;
my $body = q({"model":"test-model","stream":true,"messages":[{"role":"user","content":"hi"}]});
my $req = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
my $tv = pack("l!l!", 5, 0);
for (1 .. $conns) {
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVTIMEO, $tv) or die "timeout: $!";
    connect($s, pack_sockaddr_in($port, inet_aton("127.0.0.1"))) or die "connect: $!";
    my $all = $req x $pipeline;
    syswrite($s, $all) == length($all) or die "write: $!";
    if ($read) { defined(sysread($s, my $buf, $read)) or die "read: $!"; }
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0)) or die "linger: $!" if $rst;
    close($s);
}' "$@"
}

# ---- serve ------------------------------------------------------------------------------
fl_serve_start "$tmp/faultline" 100 "$tmp/serve.out" "$tmp/serve.err" \
    "$src/tests/data/serve/slow.yaml"
port=${url##*:}
# The program ignores SIGPIPE although it was started with the default action (bit 13 of the
# SigIgn mask in /proc; the pid is timeout(1)'s, so look at its child).
spid=$(grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3)
ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$spid/status" 2>/dev/null)
[ -n "$ign" ] && (((0x$ign >> 12) & 1)) || fail "faultline serve does not ignore SIGPIPE (SigIgn $ign)"

# 40 pipelined requests: more than the 32 the server reads ahead, so it never reads the FIN.
peer "$port" 5 40 0 0 || fail "pipelining peer failed"
# Mid-stream resets: the head and the first event read, then RST.
peer "$port" 40 1 300 1 || fail "resetting peer failed"
# Pipelined and reset at once.
peer "$port" 5 40 0 1 || fail "pipelining resetting peer failed"
sleep 0.5 # the server's first write after each close comes 50 ms (ttft) later

kill -0 "$pid" 2>/dev/null || fail "faultline serve died: $(cat "$tmp/serve.err")"
health=$(timeout 10 curl -s "$url/_faultline/health")
[ "$health" = '{"status":"ok"}' ] || fail "health after hostile peers: '$health'"
timeout 20 curl -sN "$url/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"test-model","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    >"$tmp/body"
grep -q 'data: \[DONE\]' "$tmp/body" || fail "a normal stream after hostile peers did not finish"
timeout 10 curl -s "$url/_faultline/journal" >"$tmp/journal.json"
closed=$(grep -o '"end":"client_closed"' "$tmp/journal.json" | wc -l)
[ "$closed" -ge 45 ] || fail "journal: $closed answers ended client_closed, expected at least 45"
if grep -q '"end":"in_progress"' "$tmp/journal.json"; then
    fail "journal: an answer to a peer that left is still in_progress"
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
pid=
[ "$status" = 0 ] || fail "faultline serve exited $status after SIGTERM; stderr: $(cat "$tmp/serve.err")"

# ---- run and validate with a reader that has left ----------------------------------------
# `true` exits at once, so the table is written to a pipe with no reader: EPIPE, not death.
"$tmp/faultline" run --client "$tc correct" --json "$tmp/run.json" "$data/clean.yaml" \
    2>"$tmp/run.err" | true
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || fail "faultline run into a closed pipe: exit $status, expected 0; $(head -c 300 "$tmp/run.err")"
[ "$("$jq" "$tmp/run.json" runs.0.verdict 2>/dev/null)" = correct ] ||
    fail "faultline run into a closed pipe: no JSON report with the correct run"
[ ! -s "$tmp/run.err" ] || fail "faultline run into a closed pipe said: $(head -c 300 "$tmp/run.err")"
# A run that fails keeps its exit status 1.
"$tmp/faultline" run --client "$tc giveup" --json "$tmp/fail.json" "$data/reset-once.yaml" \
    2>/dev/null | true
status=${PIPESTATUS[0]}
[ "$status" = 1 ] || fail "failing run into a closed pipe: exit $status, expected 1"
# The clients it spawns still get SIGPIPE's default action (a client's `cmd | head` works as
# it would outside Faultline): its SigIgn mask, printed on stderr, lacks bit 13.
"$tmp/faultline" run --client 'awk "/^SigIgn:/ { print \$2 }" /proc/self/status >&2; exit 1' \
    --json "$tmp/ign.json" "$data/clean.yaml" >/dev/null 2>&1
ign=$("$jq" "$tmp/ign.json" runs.0.stderr_tail 2>/dev/null)
[[ $ign =~ ^[0-9a-f]+$ ]] && ! (((0x$ign >> 12) & 1)) ||
    fail "a client of faultline run starts with SIGPIPE ignored (SigIgn '$ign')"
"$tmp/faultline" validate "$data" 2>/dev/null | true
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || fail "faultline validate into a closed pipe: exit $status, expected 0"

fl_finish

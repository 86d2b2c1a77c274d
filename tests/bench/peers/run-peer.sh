#!/usr/bin/env bash
# Starts one benchmark peer (an LLM mock other than Faultline) for one workload.
#
#   tests/bench/peers/run-peer.sh aimock|wiremock throughput|stall|timing
#
# Writes the peer's fixtures into a fresh temp dir (gen-fixtures.js), starts the peer on
# 127.0.0.1 on a port the kernel picks, waits until it answers, then prints one line
#   URL PID PATH
# (e.g. "http://127.0.0.1:40123 12345 /v1/chat/completions"), PID being the node or java
# process itself, for sampling /proc/PID. It then waits; SIGTERM or SIGINT stops the peer and
# removes the temp dir. Exit status: 3 if the peer cannot do the workload (reason on stderr),
# 2 on usage errors, 1 if the peer is not installed or does not start, else the peer's status.
#
# Needs `npm ci --prefix tests/bench/peers` first; WireMock needs java (17 or later).
# FL_PEER_WIREMOCK_THREADS, if set, is WireMock's --container-threads: WireMock holds one
# container thread per dribbling (stall, timing) stream, and its default pool serves about 18
# at once (README.md). gen-fixtures.js reads the FL_PEER_* workload overrides.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
readonly here
readonly start_timeout_s=60
readonly endpoint=/v1/chat/completions

die() {
    printf 'run-peer.sh: %s\n' "$*" >&2
    exit 1
}

if [ $# -ne 2 ]; then
    echo 'usage: run-peer.sh aimock|wiremock throughput|stall|timing' >&2
    exit 2
fi
peer=$1
workload=$2
case $peer in aimock | wiremock) ;; *)
    echo "run-peer.sh: unknown peer '$peer' (aimock or wiremock)" >&2
    exit 2
    ;;
esac
case $workload in throughput | stall | timing) ;; *)
    echo "run-peer.sh: unknown workload '$workload' (throughput, stall or timing)" >&2
    exit 2
    ;;
esac

aimock_cli=$here/node_modules/@copilotkit/aimock/dist/cli.js
jars=("$here"/node_modules/wiremock/build/wiremock-standalone-*.jar)
wiremock_jar=
[ -f "${jars[0]}" ] && wiremock_jar=${jars[0]}
if [ "$peer" = aimock ] && [ ! -f "$aimock_cli" ]; then
    die "aimock is not installed: run npm ci --prefix tests/bench/peers"
fi
if [ "$peer" = wiremock ]; then
    [ -n "$wiremock_jar" ] || die "wiremock is not installed: run npm ci --prefix tests/bench/peers"
    command -v java >/dev/null || die "wiremock needs java (17 or later) on PATH"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/faultline-peer.XXXXXX")
pid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
# A trapped signal interrupts `wait` below; exit through the EXIT trap with the usual status.
trap 'exit 143' TERM
trap 'exit 130' INT

gen_rc=0
node "$here/gen-fixtures.js" "$peer" "$workload" "$tmp/fixtures" || gen_rc=$?
if [ "$gen_rc" -ne 0 ]; then
    exit "$gen_rc"
fi

log=$tmp/peer.log
# `exec` in the background subshell makes $! the node or java process itself, not a shell.
if [ "$peer" = aimock ]; then
    # --log-level info: the one line that names the port the kernel picked is at info level;
    # aimock logs nothing at info per request.
    (exec node "$aimock_cli" --host 127.0.0.1 --port 0 --fixtures "$tmp/fixtures" \
        --log-level info >"$log" 2>&1) &
    pid=$!
else
    # No request journal and no request log: WireMock otherwise keeps every request in memory
    # and logs it, which a load test would measure instead of the serving.
    threads=()
    if [ -n "${FL_PEER_WIREMOCK_THREADS:-}" ]; then
        threads=(--container-threads "$FL_PEER_WIREMOCK_THREADS")
    fi
    (exec java -jar "$wiremock_jar" --port 0 --bind-address 127.0.0.1 \
        --root-dir "$tmp/fixtures" --disable-banner --no-request-journal \
        --disable-request-logging "${threads[@]}" >"$log" 2>&1) &
    pid=$!
fi

# The port is in the peer's startup output: aimock "listening on http://127.0.0.1:PORT",
# WireMock "port:   PORT".
port=
for _ in $(seq $((start_timeout_s * 10))); do
    kill -0 "$pid" 2>/dev/null || {
        cat "$log" >&2
        die "$peer exited before it listened"
    }
    if [ "$peer" = aimock ]; then
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)
    else
        port=$(sed -n 's|^port: *\([0-9][0-9]*\) *$|\1|p' "$log" | head -n 1)
    fi
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || {
    cat "$log" >&2
    die "$peer did not report its port within ${start_timeout_s}s"
}
url=http://127.0.0.1:$port

# Ready when it answers an HTTP request (any status): aimock's GET /health, WireMock's admin API.
if [ "$peer" = aimock ]; then probe=/health; else probe=/__admin/health; fi
ready=
for _ in $(seq $((start_timeout_s * 10))); do
    if curl -s -o /dev/null --max-time 2 "$url$probe"; then
        ready=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$ready" ] || {
    cat "$log" >&2
    die "$peer did not answer on $url"
}

printf '%s %s %s\n' "$url" "$pid" "$endpoint"

rc=0
wait "$pid" || rc=$?
pid=
exit "$rc"

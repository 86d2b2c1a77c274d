#!/usr/bin/env bash
# Soak: a long run of hostile ordinary traffic against `faultline serve` on the whole catalog,
# printing requests/s and the server's RSS and open fds over time (tests/bench/soak.c).
#
#   bash scripts/soak.sh [REQUESTS] [CONNS] [SEED]      defaults: 1000000 500 1
#
# Peers pick a random catalog scenario per request (with its seeded chaos and per-attempt
# faults; attempt counters are reset now and then, so first-attempt faults keep firing),
# stream or not, keep-alive or close, HTTP/1.1 or 1.0, and leave at a random time or byte by
# FIN or RST, or read the whole answer. It fails (exit 1) when the server dies, stops
# accepting, or ends with more open fds or a much larger RSS than it had once warmed up.
# Uses build/ (built here if missing). SOAK_BUILD=DIR picks another build (e.g. build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-1000000}
conns=${2:-500}
seed=${3:-1}
build=${SOAK_BUILD:-build}

if [ ! -x "$build/faultline" ] || [ ! -x "$build/tests/soak" ]; then
  cmake -S . -B "$build" -DFL_WERROR=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target faultline soak >/dev/null
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# "name dialect" per catalog scenario, from the YAML's top-level keys.
for f in $(find scenarios -name '*.yaml' | sort); do
  name=$(sed -n 's/^name: *//p' "$f" | head -n1)
  dialect=$(sed -n 's/^dialect: *//p' "$f" | head -n1)
  [ -n "$name" ] && [ -n "$dialect" ] && echo "$name $dialect"
done > "$work/scenarios.txt"

"$build/faultline" serve scenarios/ > "$work/url" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$work/url" ] && break
  sleep 0.1
done
url=$(head -n1 "$work/url")
[ -n "$url" ] || { echo "soak: the server printed no URL"; cat "$work/server.err"; exit 1; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, server $url (pid $server_pid), build $build"
rc=0
"$build/tests/soak" --url "$url" --scenarios "$work/scenarios.txt" --requests "$requests" \
  --conns "$conns" --seed "$seed" --server-pid "$server_pid" --sample-ms 5000 \
  | tee "$work/soak.log" || rc=$?

sleep 1 # let the server finish closing the last connections
if ! kill -0 "$server_pid" 2>/dev/null; then
  wait "$server_pid" || echo "soak: the server exited with status $?"
  echo "soak: FAIL, the server died"; cat "$work/server.err"; exit 1
fi
fds_end=$(ls /proc/"$server_pid"/fd | wc -l)
rss_end=$(awk '/VmRSS/ {print $2}' /proc/"$server_pid"/status)
# The warmed-up figures: the sample half way through. The journal (10,000 entries) and the
# reply cache (one template per scenario and attempt entry) fill first; after that a server
# that does not leak stays flat.
samples=$(grep -vc '^#' "$work/soak.log" || true)
warm=$(grep -v '^#' "$work/soak.log" | sed -n "$(( (samples - 1) / 2 + 2 ))p")
rss_warm=$(echo "$warm" | awk '{print $4}')
fds_base=$(grep -v '^#' "$work/soak.log" | sed -n 2p | awk '{print $5}')
echo "# server after the run: rss ${rss_end} KiB (warmed up: ${rss_warm} KiB), fds ${fds_end} (at start: ${fds_base})"
[ "$rc" -eq 0 ] || { echo "soak: FAIL, the driver exited $rc"; exit 1; }
if [ "$fds_end" -gt "$fds_base" ]; then
  echo "soak: FAIL, the server holds $fds_end fds after the run, $fds_base at the start"; exit 1
fi
if [ -n "$rss_warm" ] && [ "$rss_end" -gt $(( rss_warm * 3 / 2 + 8192 )) ]; then
  echo "soak: FAIL, RSS grew from $rss_warm KiB to $rss_end KiB"; exit 1
fi
echo "soak: PASS"

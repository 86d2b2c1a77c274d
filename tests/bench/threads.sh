#!/usr/bin/env bash
# Paired runs of one workload against `faultline serve --threads A` and `--threads B`,
# alternating, so that both see the same background load on a shared machine. Prints one JSON
# line per run (the loadgen's line plus the workload, serve_threads and round) on stdout.
#
#   bash tests/bench/threads.sh [BUILD_DIR] [ROUNDS]     (default build, 3)
# Environment: THREADS_AB (default "1 N", N = the cores, at most 8), LG_THREADS (loadgen threads,
# default 1), WORKLOADS (default "timing-1000 timing-5000 throughput").
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
rounds=${2:-3}
fl=$build/faultline
lg=$build/tests/loadgen
load=$root/tests/bench/load
cores=$(nproc 2>/dev/null || echo 1)
read -r -a ab <<<"${THREADS_AB:-1 $(( cores < 8 ? cores : 8 ))}"
lgt=${LG_THREADS:-1}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

for r in $(seq 1 "$rounds"); do
  for wl in ${WORKLOADS:-timing-1000 timing-5000 throughput}; do
    for st in "${ab[@]}"; do
      case $wl in
        timing-*) file=timing.yaml
          args=(--conns "${wl#timing-}" --ttft-ms 50 --interval-ms 20 --expect-events 250 --duration-ms 60000) ;;
        throughput) file=throughput.yaml; args=(--conns 100 --expect-events 2000 --duration-ms 60000) ;;
        *) echo "threads.sh: unknown workload $wl" >&2; exit 2 ;;
      esac
      "$fl" serve --threads "$st" "$load/$file" >"$tmp/url" 2>"$tmp/err" &
      spid=$!
      for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
      url=$(head -n 1 "$tmp/url")
      # One stream first: the reply template is compiled on the first request (42 ms for the
      # throughput scenario), which is not what either thread count is measured for.
      "$lg" --url "$url" --conns 1 --duration-ms 300 >/dev/null 2>&1
      "$lg" --url "$url" --server-pid "$spid" --threads "$lgt" "${args[@]}" 2>/dev/null |
        jq -c --arg wl "$wl" --argjson st "$st" --argjson r "$r" \
          '{workload: $wl, serve_threads: $st, round: $r} + .'
      kill "$spid"; wait "$spid" 2>/dev/null; spid=
      sleep 0.5
    done
  done
done

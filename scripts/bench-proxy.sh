#!/usr/bin/env bash
# The proxy's benchmark (tests/bench/RESULTS.md, "faultline proxy"): what `faultline proxy`
# adds in front of a loopback upstream (`faultline serve`), measured with the same load
# generator as scripts/bench.sh.
#
#   bash scripts/bench-proxy.sh [BUILD_DIR]        (default: build)
#
#   throughput  100 streams x 2,000 events, interval 0: events/s, direct vs through the proxy
#               (median of 5 interleaved rounds), and the proxy's CPU s per 1M events
#   latency     5 streams x 250 events 20 ms apart: lateness p50/p99 (arrival minus the
#               scripted time) direct vs through the proxy, in 5 interleaved rounds (median of
#               each figure over the rounds, so a busy moment on a shared machine hits both);
#               the difference is what the proxy adds per event
# Each through-the-proxy figure is taken twice: relaying clean (no scenario), and with a
# scenario whose fault is armed but never reached (a reset 10 minutes in), so the fault checks
# run on every read and the fault's timer is re-armed after each one. (A position past the
# last event would not do: like a scripted one, it acts at the stream's end.)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ $build = /* ]] || build=$root/$build
out=$build/bench-proxy
load=$root/tests/bench/load
mkdir -p "$out"
command -v jq >/dev/null || { echo "bench-proxy: needs jq" >&2; exit 1; }
cmake --build "$build" -j2 --target faultline loadgen >/dev/null ||
  { echo "bench-proxy: build failed; configure first: cmake -S . -B $build" >&2; exit 1; }
fl=$build/faultline
lg=$build/tests/loadgen
ulimit -n 20000 2>/dev/null || true
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

# start VAR CMD...: background CMD, VAR gets the URL it prints; PID_VAR_pid its pid.
start() {
  local var=$1 f
  shift
  f=$(mktemp -p "$out")
  "$@" >"$f" 2>/dev/null &
  pids+=($!)
  printf -v "${var}_pid" '%s' "$!"
  for _ in $(seq 1 100); do [[ -s $f ]] && break; sleep 0.05; done
  printf -v "$var" '%s' "$(head -n 1 "$f")"
}
printf 'faultline: 1\nname: armed\ndialect: openai-chat\nresponse: {text: unused}\nattempts:\n  - faults: [{reset: {at: {ms: 600000}}}]\n' >"$out/armed.yaml"

start thr "$fl" serve "$load/throughput.yaml"
start tim "$fl" serve "$load/timing.yaml"
start pthr "$fl" proxy --upstream "$thr"
start ptim "$fl" proxy --upstream "$tim"
start athr "$fl" proxy --upstream "$thr" "$out/armed.yaml"
start atim "$fl" proxy --upstream "$tim" "$out/armed.yaml"

path=/v1/chat/completions
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / t)}' "/proc/$1/stat"; }
throughput() { # TAG URL: one run, appended to TAG.json
  "$lg" --url "$2" --path $path --conns 100 --expect-events 2000 2>/dev/null >>"$out/$1.json"
}
latency() { # TAG URL: one round, appended to TAG.json
  "$lg" --url "$2" --path $path --conns 5 --ttft-ms 50 --interval-ms 20 --expect-events 250 \
    2>/dev/null >>"$out/$1.json"
}
lat() { # TAG FIELD: the median over the rounds
  jq -r ".lateness_ms.$2" "$out/$1.json" | median
}
rm -f "$out"/direct.json "$out"/proxy.json "$out"/armed.json
for t in "$thr" "$pthr" "$athr"; do throughput warmup "$t"; done
c0=$(cpu_ms "$pthr_pid") a0=$(cpu_ms "$athr_pid")
for round in 1 2 3 4 5; do # interleaved, so a busy moment hits every column
  throughput direct "$thr"
  throughput proxy "$pthr"
  throughput armed "$athr"
done
for tag in direct proxy armed; do jq -r .events_per_s "$out/$tag.json" | median >"$out/$tag.median"; done
echo $(($(cpu_ms "$pthr_pid") - c0)) >"$out/proxy.cpu_ms" # over 5 x 200,000 events
echo $(($(cpu_ms "$athr_pid") - a0)) >"$out/armed.cpu_ms"
rm -f "$out"/lat-*.json
for round in 1 2 3 4 5; do
  latency lat-direct "$tim"
  latency lat-proxy "$ptim"
  latency lat-armed "$atim"
done
d50=$(lat lat-direct p50) d99=$(lat lat-direct p99) dlost=$(jq -s 'map(.lost) | add' "$out/lat-direct.json")
p50=$(lat lat-proxy p50) p99=$(lat lat-proxy p99) plost=$(jq -s 'map(.lost) | add' "$out/lat-proxy.json")
a50=$(lat lat-armed p50) a99=$(lat lat-armed p99) alost=$(jq -s 'map(.lost) | add' "$out/lat-armed.json")
d=$(cat "$out/direct.median") p=$(cat "$out/proxy.median") a=$(cat "$out/armed.median")
printf '| | direct | through the proxy (clean) | through the proxy (fault armed) |\n|---|---|---|---|\n'
printf '| throughput, events/s (median of 5) | %s | %s (%.2fx) | %s (%.2fx) |\n' "$d" "$p" \
  "$(bc -l <<<"$p / $d")" "$a" "$(bc -l <<<"$a / $d")"
printf '| proxy CPU per 1M events | | %.2f s | %.2f s |\n' "$(bc -l <<<"$(cat "$out/proxy.cpu_ms") / 1000")" \
  "$(bc -l <<<"$(cat "$out/armed.cpu_ms") / 1000")"
printf '| lateness p50 / p99, ms (median of 5 rounds; lost) | %s / %s (%s) | %s / %s (%s) | %s / %s (%s) |\n' \
  "$d50" "$d99" "$dlost" "$p50" "$p99" "$plost" "$a50" "$a99" "$alost"
printf '| added per event p50 / p99, ms | | %.3f / %.3f | %.3f / %.3f |\n' \
  "$(bc -l <<<"$p50 - $d50")" "$(bc -l <<<"$p99 - $d99")" "$(bc -l <<<"$a50 - $d50")" \
  "$(bc -l <<<"$a99 - $d99")"

#!/usr/bin/env bash
# The benchmark: runs every workload against Faultline, the peer mock servers (aimock,
# WireMock) and the "limit" (raw loopback writes), and prints one table. Sized for 2 cores.
#
#   bash scripts/bench.sh [BUILD_DIR]        (default: build)
#
# Workloads (scenarios in tests/bench/load/):
#   1 throughput   100 streams x 2,000 events, interval 0: events/s (median of 5 runs), server
#                  CPU s per 1M events (over the 5 runs)
#   2 memory       10,000 streams held in a stall forever (keep-alive every 15 s): RSS per stream
#   3 timing       5,000 streams at a 20 ms interval: lateness p50/p99/max, lost events
#                  (and a smaller N, in case the load generator itself cannot keep up)
#   4 harness      the built-in catalog against the robust C client: wall time vs the longest
#                  scenario's scripted duration (when `faultline run` and the client exist)
# Faultline runs each workload once per serve thread count (`faultline serve --threads`), the
# load generator with BENCH_LOADGEN_THREADS threads, and the limit with as many threads as the
# load generator: its figure is the load generator's own ceiling on this machine.
# Every figure also goes to BUILD_DIR/bench/*.json (one loadgen JSON line per run), and the
# whole run (machine, commit, every workload's loadgen line) to one file,
# tests/bench/results/DATE-COMMIT.json (BENCH_RESULTS_DIR), for the history in RESULTS.md.
# Environment: BENCH_TIMING_SMALL (default 1000), BENCH_SKIP_PEERS=1 to skip the peers,
# BENCH_SERVE_THREADS (default "1 N", N = the cores, at most 8), BENCH_LOADGEN_THREADS (default:
# the cores), BENCH_SKIP_HARNESS=1 to skip workload 4, BENCH_WORKLOADS (default "throughput
# stall timing": the ones to run).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ $build = /* ]] || build=$root/$build
out=$build/bench
load=$root/tests/bench/load
peers=$root/tests/bench/peers
small=${BENCH_TIMING_SMALL:-1000}
cores=$(nproc 2>/dev/null || echo 1)
ncap=$(( cores < 8 ? cores : 8 ))
read -r -a serve_threads <<<"${BENCH_SERVE_THREADS:-1 $ncap}"
[ "${serve_threads[*]}" = "1 1" ] && serve_threads=(1)
lgt=${BENCH_LOADGEN_THREADS:-$cores}
results_dir=${BENCH_RESULTS_DIR:-$root/tests/bench/results}
mkdir -p "$out" "$results_dir"
: >"$out/records.jsonl"

command -v jq >/dev/null || { echo "bench: needs jq (scripts/setup.sh installs it)" >&2; exit 1; }
cmake --build "$build" -j2 --target faultline loadgen limit >/dev/null ||
  { echo "bench: build failed; configure first: cmake -S . -B $build" >&2; exit 1; }
fl=$build/faultline
lg=$build/tests/loadgen
lim=$build/tests/limit
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT

# start_server NAME CMD...: runs CMD, reads its first stdout line ("URL" or "URL PID PATH"),
# sets SURL SPID SPATH; returns 3 with the reason in SREASON when it cannot run the workload.
start_server() {
  local name=$1; shift
  local fifo=$out/.$name.fifo line
  rm -f "$fifo"; mkfifo "$fifo"
  "$@" >"$fifo" 2>"$out/$name.stderr" &
  local pid=$!
  pids+=("$pid")
  exec 7<"$fifo"
  if ! read -r -t 60 line <&7; then
    exec 7<&-; rm -f "$fifo"
    wait "$pid"; local rc=$?
    SREASON=$(tail -n 1 "$out/$name.stderr" 2>/dev/null)
    [ -n "$SREASON" ] || SREASON="did not start (exit $rc)"
    return 3
  fi
  # Keep draining its stdout so it never blocks on a full pipe.
  cat <&7 >/dev/null &
  exec 7<&-; rm -f "$fifo"
  read -r SURL SPID SPATH <<<"$line"
  [ -n "${SPID:-}" ] || SPID=$pid
  SWRAP=$pid
  return 0
}

stop_server() {
  kill "$SWRAP" 2>/dev/null
  [ "$SPID" != "$SWRAP" ] && kill "$SPID" 2>/dev/null
  wait "$SWRAP" 2>/dev/null
  sleep 0.5
}

# result[workload,server] = the cell text
declare -A cell num

run_loadgen() { # TAG ARGS...: the JSON line goes to $out/TAG.json.tmp, the table to TAG.txt
  local tag=$1
  shift
  "$lg" "$@" >"$out/$tag.json.tmp" 2>"$out/$tag.txt"
}

# measure SERVER WORKLOAD [SERVE_THREADS]: fills cell[] and num[] for that pair (for faultline,
# under "$wl,faultline-$SERVE_THREADS"), and appends the run's record to records.jsonl.
# With CONNS set (timing only), the workload is recorded as "$wl-$CONNS"; with BATCH set too (the
# load generator's --batch per thread), as "$wl-$CONNS-spread".
measure() {
  local who=$1 wl=$2 st=${3:-1} tag=$2-$1 path=/v1/chat/completions key=$1
  if [ -n "${CONNS:-}" ]; then tag=$2-$CONNS${BATCH:+-spread}-$1; fi
  [ "$who" = faultline ] && { tag+=-t$st; key=faultline-$st; }
  case $who in
    faultline) start_server "$tag" "$fl" serve --threads "$st" "$load/$wl.yaml" || { cell[$wl,$key]="n/a ($SREASON)"; return; } ;;
    limit)
      if [ "$wl" != throughput ]; then cell[$wl,$who]="n/a (writes one canned response; no timers, nothing held)"; return; fi
      start_server "$tag" "$lim" "$out/throughput.response" "$lgt" || { cell[$wl,$who]="n/a ($SREASON)"; return; } ;;
    aimock|wiremock)
      if [ -n "${BENCH_SKIP_PEERS:-}" ]; then cell[$wl,$who]="n/a (skipped)"; return; fi
      if [ ! -x "$peers/run-peer.sh" ] && [ ! -f "$peers/run-peer.sh" ]; then cell[$wl,$who]="n/a (tests/bench/peers not present)"; return; fi
      # The peers follow Faultline's workload files: word chunking ("tok", " tok", ...), and
      # for timing 250 events after a 50 ms TTFT. WireMock holds one Java thread per open
      # stream; its pool is sized for the streams, capped at 2,000 threads (≈ 4 GB of RSS).
      local threads=$(( ${CONNS:-5000} + 100 )); [ "$wl" = stall ] && threads=10100
      [ "$threads" -gt 2000 ] && threads=2000
      local penv=(FL_PEER_TEXT=word FL_PEER_WIREMOCK_THREADS=$threads)
      [ "$wl" = timing ] && penv+=(FL_PEER_EVENTS=250 FL_PEER_TTFT_MS=50 FL_PEER_INTERVAL_MS=20)
      start_server "$tag" env "${penv[@]}" bash "$peers/run-peer.sh" "$who" "$wl" ||
        { cell[$wl,$who]="n/a ($SREASON)"; return; } ;;
  esac
  [ -n "${SPATH:-}" ] && path=$SPATH
  local args=(--url "$SURL" --path "$path" --server-pid "$SPID" --threads "$lgt")
  case $wl in
    # The ramp stays within a 50-connection accept backlog (Java's default, WireMock's Jetty):
    # 100 connects at once there drop SYNs, and the kernel's 1 s SYN retry, not the server,
    # set WireMock's figure (175k events/s against 980k with this ramp, 2026-11-29).
    throughput) args+=(--conns 100 --batch $(( lgt < 50 ? 50 / lgt : 1 )) --expect-events 2000 --duration-ms 120000) ;;
    stall) args+=(--conns 10000 --hold --duration-ms 120000) ;;
    timing) args+=(--conns "${CONNS:-5000}" ${BATCH:+--batch "$BATCH"} --ttft-ms 50 --interval-ms 20 --expect-events 250 --duration-ms 60000) ;;
  esac
  if [ "$wl" = throughput ]; then
    # One run of 0.05-0.3 s is noise on a shared machine: 3 warm-ups (WireMock's JIT still
    # gained 50% from its 2nd to its 5th run after one), then 5 runs; the cell shows the median
    # events/s and CPU over all 5.
    for _ in 1 2 3; do run_loadgen "$tag-warmup" "${args[@]}"; done
    : >"$out/$tag.runs"
    for _ in 1 2 3 4 5; do
      run_loadgen "$tag" "${args[@]}"
      cat "$out/$tag.json.tmp" >>"$out/$tag.runs"
    done
    jq -sc 'sort_by(.events_per_s) | .[2] + {events_per_s: .[2].events_per_s,
            server: (.[2].server + {cpu_s: (map(.server.cpu_s) | add)}),
            events: (map(.events) | add), lost: (map(.lost) | add), errors: (map(.errors) | add),
            runs: length}' "$out/$tag.runs" >"$out/$tag.json.tmp" 2>/dev/null
  else
    run_loadgen "$tag" "${args[@]}"
  fi
  stop_server
  mv "$out/$tag.json.tmp" "$out/$tag.json"
  local j; j=$(cat "$out/$tag.json")
  if ! jq -e . >/dev/null 2>&1 <<<"$j"; then cell[$wl,$key]="n/a (loadgen failed)"; return; fi
  jq -c --arg wl "$wl${CONNS:+-$CONNS}${BATCH:+-spread}" --arg who "$who" --argjson st "$([ "$who" = faultline ] && echo "$st" || echo null)" \
    '{workload: $wl, server: $who, serve_threads: $st, loadgen: .}' <<<"$j" >>"$out/records.jsonl"
  local errs; errs=$(jq -r .errors <<<"$j")
  case $wl in
    throughput)
      num[$wl,$key]=$(jq -r .events_per_s <<<"$j")
      cell[$wl,$key]=$(jq -r '"\(.events_per_s|floor) ev/s, \(if .server.cpu_s >= 0 and .events > 0 then (.server.cpu_s / .events * 1e6 * 1000 | round / 1000 | tostring) + " CPU s/1M ev" else "CPU n/a" end), lost \(.lost)"' <<<"$j") ;;
    stall)
      num[$wl,$key]=$(jq -r .server.rss_per_stream_b <<<"$j")
      cell[$wl,$key]=$(jq -r '"\(.server.rss_per_stream_b) B/stream (\(.heads) held, peak \(.server.hwm_kb) KiB)"' <<<"$j") ;;
    timing)
      num[$wl,$key]=$(jq -r .lateness_ms.p99 <<<"$j")
      cell[$wl,$key]=$(jq -r '"late ms p50 \(.lateness_ms.p50) p99 \(.lateness_ms.p99) max \(.lateness_ms.max), lost \(.lost)/\(.expected)"' <<<"$j") ;;
  esac
  [ "$errs" != 0 ] && cell[$wl,$key]+=", $errs errors"
}

# The limit serves the exact bytes Faultline sends for workload 1, captured once.
start_server capture "$fl" serve "$load/throughput.yaml" || { echo "bench: faultline serve failed: $SREASON" >&2; exit 1; }
curl -s --raw -i -N -H 'content-type: application/json' \
  -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}' \
  "$SURL/v1/chat/completions" >"$out/throughput.response"
stop_server

if [ -z "${BENCH_SKIP_PEERS:-}" ] && [ -f "$peers/package.json" ]; then
  npm ci --prefix "$peers" --no-audit --no-fund >"$out/npm-ci.log" 2>&1 ||
    echo "bench: npm ci in tests/bench/peers failed (see $out/npm-ci.log); peers will be n/a" >&2
fi

servers=(faultline aimock wiremock limit)
read -r -a workloads <<<"${BENCH_WORKLOADS:-throughput stall timing}"
for wl in "${workloads[@]}"; do
  for who in "${servers[@]}"; do
    if [ "$who" = faultline ]; then
      for st in "${serve_threads[@]}"; do
        echo "bench: $wl on faultline --threads $st (loadgen $lgt threads)" >&2
        measure faultline "$wl" "$st"
      done
    else
      echo "bench: $wl on $who (loadgen $lgt threads)" >&2
      measure "$who" "$wl"
    fi
  done
done
# Timing at a smaller N too: an honest figure if the load generator saturates at 5,000.
[[ " ${workloads[*]} " = *" timing "* ]] && for st in "${serve_threads[@]}"; do
  save_cell=${cell[timing,faultline-$st]} save_num=${num[timing,faultline-$st]:-}
  echo "bench: timing at $small on faultline --threads $st" >&2
  CONNS=$small measure faultline timing "$st"
  cell[timing-small,faultline-$st]=${cell[timing,faultline-$st]}
  # The same with starts spread: 10 connections per batch instead of 100, so the streams do not
  # all have their events due in the same millisecond (the ramp's bursts, not the number of
  # streams, set the p99 above: one loop writes a burst's events one after another).
  echo "bench: timing at $small, starts spread, on faultline --threads $st" >&2
  CONNS=$small BATCH=10 measure faultline timing "$st"
  cell[timing-spread,faultline-$st]=${cell[timing,faultline-$st]}
  cell[timing,faultline-$st]=$save_cell num[timing,faultline-$st]=$save_num
done

# Workload 4: the harness against the robust client, when both exist. The longest scenario's
# scripted duration is taken from the report: per run, the time the server spent on its
# responses (the sum of each attempt's end - start: TTFT, intervals, stalls, timeouts as
# scripted), the maximum over runs.
harness_cell="n/a (faultline run or build/clients/c/robust not built, or BENCH_SKIP_HARNESS)"
harness_json=null
robust=$build/clients/c/robust
if [ -z "${BENCH_SKIP_HARNESS:-}" ] && "$fl" run --help >/dev/null 2>&1 && [ -x "$robust" ]; then
  echo "bench: harness on the catalog" >&2
  t0=$(date +%s%N)
  "$fl" run --client "$robust" --keep-going --no-color --json "$out/harness.json" \
    "$root/scenarios" >"$out/harness.txt" 2>&1
  rc=$?
  t1=$(date +%s%N)
  wall=$(echo "scale=1; ($t1 - $t0) / 1000000000" | bc)
  longest=$(jq -r '[.runs[] | [.attempts[] | ((.end_ms // .start_ms) - .start_ms)] | add // 0]
                   | max // 0 | . / 1000' "$out/harness.json" 2>/dev/null)
  score=$(jq -r .score "$out/harness.json" 2>/dev/null)
  runs=$(jq -r '.runs | length' "$out/harness.json" 2>/dev/null)
  # The longest run's own wall time: what no schedule can beat (a stall the client's deadline
  # cuts counts as 0 in the scripted figure above, but in full here).
  longest_run=$(jq -r '[.runs[].wall_ms] | max // 0 | . / 1000' "$out/harness.json" 2>/dev/null)
  if [[ $longest =~ ^[0-9.]+$ && $longest_run =~ ^[0-9.]+$ ]]; then
    ratio_run=$(echo "scale=2; $wall / $longest_run" | bc)
    harness_cell="$runs scenarios in ${wall} s (default -j); longest scripted ${longest} s, longest run ${longest_run} s: wall = ${ratio_run}x the longest run (target <= 1.2x); score ${score}, exit $rc"
    harness_json=$(jq -nc --argjson wall "$wall" --argjson longest "$longest" --argjson lr "$longest_run" \
      --argjson runs "$runs" --argjson score "${score:-null}" --argjson rc "$rc" \
      '{scenarios: $runs, wall_s: $wall, longest_scripted_s: $longest, longest_run_s: $lr, score: $score, exit: $rc}')
  else
    harness_cell="${wall} s, exit $rc (no report: see $out/harness.txt)"
  fi
fi

ratio() { # A B -> A/B with 2 decimals, or "-"
  [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && [ "$(echo "$2 > 0" | bc)" = 1 ] &&
    echo "$(echo "scale=2; $1 / $2" | bc)x" || echo "-"
}

# Faultline's column is its run with the most threads; the other thread counts get rows below.
fmax=${serve_threads[-1]}
for k in "${!cell[@]}"; do
  case $k in *,faultline-"$fmax") cell[${k%,*},faultline]=${cell[$k]:-}; num[${k%,*},faultline]=${num[$k]:-} ;; esac
done
{
  echo "Machine: $cores cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), loadgen $lgt threads, limit $lgt threads; Faultline column: --threads $fmax"
  echo
  echo "| Workload | Faultline | aimock | WireMock | limit | ratios |"
  echo "|---|---|---|---|---|---|"
  for wl in throughput stall timing; do
    f=${num[$wl,faultline]:-}
    case $wl in
      throughput) r="vs aimock $(ratio "$f" "${num[$wl,aimock]:-}"), vs WireMock $(ratio "$f" "${num[$wl,wiremock]:-}"), vs limit $(ratio "$f" "${num[$wl,limit]:-}")"; label="1 throughput (100 x 2,000 ev)" ;;
      stall) r="aimock/Faultline $(ratio "${num[$wl,aimock]:-}" "$f"), WireMock/Faultline $(ratio "${num[$wl,wiremock]:-}" "$f")"; label="2 memory (10,000 held)" ;;
      timing) r="p99: aimock/Faultline $(ratio "${num[$wl,aimock]:-}" "$f"), WireMock/Faultline $(ratio "${num[$wl,wiremock]:-}" "$f")"; label="3 timing (5,000 x 50 ev/s)" ;;
    esac
    echo "| $label | ${cell[$wl,faultline]:-} | ${cell[$wl,aimock]:-} | ${cell[$wl,wiremock]:-} | ${cell[$wl,limit]:-} | $r |"
  done
  echo "| 3b timing ($small x 50 ev/s) | ${cell[timing-small,faultline]:-} | | | | |"
  echo "| 3c timing ($small x 50 ev/s, starts spread: 10 per batch) | ${cell[timing-spread,faultline]:-} | | | | |"
  for st in "${serve_threads[@]}"; do
    echo "| Faultline --threads $st: 1 throughput / 2 memory / 3 timing / 3b timing ($small) / 3c spread | ${cell[throughput,faultline-$st]:-} / ${cell[stall,faultline-$st]:-} / ${cell[timing,faultline-$st]:-} / ${cell[timing-small,faultline-$st]:-} / ${cell[timing-spread,faultline-$st]:-} | | | | |"
  done
  echo "| 4 harness (catalog, robust client) | $harness_cell | n/a (Faultline only) | n/a (Faultline only) | n/a | |"
} | tee "$out/table.md"

# One file for the whole run: the machine, the commit, every workload's loadgen line.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$([ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] && echo true || echo false)
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
result=$results_dir/$stamp-$commit.json
jq -s --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" --argjson dirty "$dirty" \
  --argjson cores "$cores" --arg cpu "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)" \
  --arg kernel "$(uname -r)" --argjson mem_kb "$(awk '/MemTotal/ {print $2}' /proc/meminfo)" \
  --arg nofile "$(ulimit -n)" --arg somaxconn "$(cat /proc/sys/net/core/somaxconn 2>/dev/null)" \
  --argjson lgt "$lgt" --argjson st "$(printf '%s\n' "${serve_threads[@]}" | jq -sc .)" \
  --argjson harness "$harness_json" \
  '{date: $date, commit: $commit, dirty: $dirty,
    machine: {cores: $cores, cpu: $cpu, kernel: $kernel, mem_kb: $mem_kb, nofile: $nofile,
              somaxconn: $somaxconn},
    loadgen_threads: $lgt, limit_threads: $lgt, serve_threads: $st,
    workloads: ., harness: $harness}' "$out/records.jsonl" >"$result" &&
  echo "bench: every workload in $result" >&2

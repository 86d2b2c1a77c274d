#!/usr/bin/env bash
# Builds and runs Faultline's libFuzzer targets (tests/fuzz/README.md).
#
#   scripts/fuzz.sh build                     configure and build build-fuzz (clang, FL_FUZZ=ON)
#   scripts/fuzz.sh smoke [SECONDS]           every target: its seed corpus, then SECONDS of
#                                             fuzzing each (default 30, or $FL_FUZZ_SECONDS);
#                                             exits 1 on any crash, leak, sanitizer report,
#                                             broken invariant or hang
#   scripts/fuzz.sh long TARGET SECONDS [JOBS]  fuzz one target for hours, JOBS processes
#                                             (default 1) sharing one corpus
#   scripts/fuzz.sh repro TARGET FILE...      run the target on saved inputs (a crash-* file)
#   scripts/fuzz.sh targets                   list the targets
#
# Where things go: build-fuzz/fuzz/<target> (the binaries), build-fuzz/fuzz/corpus/<target>/
# (the working corpus: the seeds from tests/fuzz/corpus/<target>/ plus what fuzzing found),
# build-fuzz/fuzz/artifacts/<target>/ (crash-*, leak-*, timeout-*, oom-* inputs) and
# build-fuzz/fuzz/logs/. Environment: FL_FUZZ_RSS_MB (memory limit per process, default 2048),
# FL_FUZZ_TIMEOUT (seconds one input may take before it counts as a hang, default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-fuzz
out=$build/fuzz
targets=(fuzz_scenario_load fuzz_http_request fuzz_chaos_compile fuzz_judge)
rss_mb=${FL_FUZZ_RSS_MB:-2048}
timeout_s=${FL_FUZZ_TIMEOUT:-25}

# Sanitizer reports must stop the run and carry a stack; leaks are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

build() {
  command -v clang >/dev/null || {
    echo "fuzz: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
  }
  echo "== build-fuzz: configure and build (clang, libFuzzer, ASan+UBSan)"
  cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DFL_FUZZ=ON -DFL_WERROR=ON \
    -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target fuzz -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
}

known() { # target
  local t
  for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  echo "fuzz: unknown target '$1' (one of: ${targets[*]})" >&2
  exit 2
}

# The libFuzzer flags every run shares: limits, where findings go, the target's dictionary.
flags() { # target
  local t=$1
  mkdir -p "$out/artifacts/$t"
  printf '%s\n' "-rss_limit_mb=$rss_mb" "-timeout=$timeout_s" "-print_final_stats=1" \
    "-artifact_prefix=$out/artifacts/$t/"
  [ -f "tests/fuzz/$t.dict" ] && printf '%s\n' "-dict=$root/tests/fuzz/$t.dict"
  return 0
}

# A working corpus seeded from the tree's, so fuzzing never writes into tests/fuzz/corpus.
corpus() { # target
  local t=$1
  mkdir -p "$out/corpus/$t"
  cp -n "tests/fuzz/corpus/$t/"* "$out/corpus/$t/" 2>/dev/null || true
  echo "$out/corpus/$t"
}

# One line from a libFuzzer log: executions, rate, coverage (edges), features, corpus, memory.
summary() { # target log seconds
  local t=$1 log=$2
  local execs rate rss cov ft units
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  units=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-20s %10s execs %7s/s  cov %5s  ft %6s  corpus %5s  rss %5s MB\n' "$t" \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${units:-?}" "${rss:-?}"
}

smoke() {
  local secs=${1:-${FL_FUZZ_SECONDS:-30}} t log failed=()
  build
  mkdir -p "$out/logs"
  echo "== fuzz smoke: each target over its seed corpus, then ${secs} s of fuzzing"
  for t in "${targets[@]}"; do
    log=$out/logs/$t.smoke.log
    local c
    c=$(corpus "$t")
    mapfile -t f < <(flags "$t")
    # stdin from /dev/null: a scenario's `capture:` may name any path, /dev/stdin included,
    # and the loader reads it (bounded in bytes, but a silent pipe would never end)
    if ! "$out/$t" "${f[@]}" -runs=0 "$root/tests/fuzz/corpus/$t" >"$log" 2>&1 </dev/null ||
       ! "$out/$t" "${f[@]}" -max_total_time="$secs" "$c" >>"$log" 2>&1 </dev/null; then
      failed+=("$t")
      echo "fuzz: $t FAILED; its log ($log) ends:" >&2
      grep -v '^    #[0-9]' "$log" | tail -25 >&2
      ls "$out/artifacts/$t/" >&2 || true
    fi
    summary "$t" "$log"
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}: reproduce with scripts/fuzz.sh repro TARGET FILE" >&2
    exit 1
  fi
}

long() { # target seconds [jobs]
  local t=$1 secs=$2 jobs=${3:-1}
  known "$t"
  build
  mkdir -p "$out/logs"
  local c log
  c=$(corpus "$t")
  log=$out/logs/$t.long.log
  mapfile -t f < <(flags "$t")
  echo "== $t: ${secs} s, $jobs job(s); corpus $c, findings $out/artifacts/$t/, log $log"
  local rc=0
  if [ "$jobs" -gt 1 ]; then
    # -jobs runs that many fuzzing processes (restarted on a finding), -workers at once; each
    # writes fuzz-N.log in the current directory, so run from the log folder.
    rm -f "$out/logs"/fuzz-*.log
    (cd "$out/logs" && "$out/$t" "${f[@]}" -max_total_time="$secs" -jobs="$jobs" \
      -workers="$jobs" "$c" >"$log" 2>&1 </dev/null) || rc=$?
    local j
    for j in "$out/logs"/fuzz-*.log; do
      [ -f "$j" ] || continue
      summary "$t#$(basename "$j" .log | cut -d- -f2)" "$j"
      cat "$j" >>"$log"
    done
  else
    "$out/$t" "${f[@]}" -max_total_time="$secs" "$c" >"$log" 2>&1 </dev/null || rc=$?
    summary "$t" "$log"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t stopped on a finding (exit $rc):" >&2
    grep -v '^    #[0-9]' "$log" | tail -25 >&2
    exit 1
  fi
}

repro() { # target files...
  local t=$1
  shift
  known "$t"
  [ -x "$out/$t" ] || build
  "$out/$t" -runs=1 "$@"
}

case ${1:-} in
  build) build ;;
  smoke) smoke "${2:-}" ;;
  long) [ $# -ge 3 ] || usage; long "$2" "$3" "${4:-1}" ;;
  repro) [ $# -ge 3 ] || usage; repro "${@:2}" ;;
  targets) printf '%s\n' "${targets[@]}" ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Builds Faultline twice, a normal -Werror build and an ASan+UBSan build, and runs every test
# (ctest) in both; then builds the libFuzzer targets (clang) and smoke-tests each, its seed
# corpus and then FL_FUZZ_SECONDS (default 30) of fuzzing (scripts/fuzz.sh smoke). Exits
# non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

# The SDK clients' test (tests/e2e/node_clients.sh) needs Node and clients/node/node_modules;
# they are fetched here rather than by setup.sh, so building the core never needs Node.
bash scripts/setup.sh --node

run() { # name, extra cmake args...
  local dir=$1; shift
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -DFL_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  echo "== $dir: test"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

run build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run build-asan -DFL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
bash scripts/fuzz.sh smoke

#!/usr/bin/env bash
# A look at the wire: build, start `faultline serve` on a free loopback port,
# and stream one scripted answer with `curl -N`, printing each SSE line with the ms it arrived.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DFL_WERROR=ON >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

scenario=${1:-scenarios/clean/hello.yaml}
./build/faultline validate scenarios/
out=$(mktemp)
./build/faultline serve "$scenario" >"$out" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
url=$(head -n 1 "$out")
echo "serving $scenario at $url"
echo "curl -N $url/v1/chat/completions:"
start=$(date +%s%N)
curl -sN "$url/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"hello","stream":true,"messages":[{"role":"user","content":"Hi"}]}' |
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    shown=${line#*\"delta\":}   # show what changes between chunks: delta and finish_reason
    if [ "$shown" != "$line" ]; then
      shown=${shown//,\"logprobs\":null/}
      shown="delta: ${shown%\}\]\}}"
    fi
    printf '%6d ms  %s\n' $(( ($(date +%s%N) - start) / 1000000 )) "${shown:0:100}"
  done
echo "journal (GET $url/_faultline/journal):"
curl -s "$url/_faultline/journal" | head -c 700; echo " ..."

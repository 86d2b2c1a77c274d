#!/usr/bin/env bash
# The main job on the built-in catalog: build Faultline and the bundled reference clients, then
# score clients/c/robust on every scenario in scenarios/ and print the table.
# Extra arguments go to `faultline run` (e.g. --client 'node clients/node/openai.mjs'); a client
# from clients/node/ gets Node and its npm packages first (scripts/setup.sh --node).
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
    case $arg in *clients/node/*)
        bash scripts/setup.sh --node
        break
        ;;
    esac
done
cmake -S . -B build -DFL_WERROR=ON >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
./build/faultline validate scenarios/
exec ./build/faultline run --keep-going --client ./build/clients/c/robust "$@"

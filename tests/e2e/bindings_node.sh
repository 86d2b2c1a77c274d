#!/usr/bin/env bash
# The Node binding (harness/bindings/node): its own tests under `node --test`, then its
# examples, node:test files that test the official openai SDK and the Vercel AI SDK (their
# node_modules come from `bash scripts/setup.sh --node`), all against this build's binary.
# Usage: bindings_node.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
fl_e2e_init "$1" "$2"
bin=$build/$(basename "$1") # absolute: the tests run in other folders
dir=$src/harness/bindings/node
command -v node >/dev/null || fail "node is not installed (bash scripts/setup.sh --node)"
for pkg in openai ai @ai-sdk/openai faultline; do
    [[ -f $dir/examples/node_modules/$pkg/package.json ]] ||
        fail "harness/bindings/node/examples/node_modules/$pkg is missing (bash scripts/setup.sh --node runs npm ci)"
done
# The README shows the example whole: it must be the file, byte for byte.
readme=$(cat "$src/README.md")
[[ $readme == *"$(cat "$src/harness/bindings/node/examples/openai.test.mjs")"* ]] ||
    fail "README.md does not show harness/bindings/node/examples/openai.test.mjs as it is"
export FAULTLINE_BIN=$bin
# --test-concurrency=1: one file at a time (each starts its own server); bounded by timeout.
(cd "$dir" && timeout 100 node --test --test-concurrency=1 test/) || fail "the binding's tests"
(cd "$dir/examples" && timeout 100 node --test --test-concurrency=1) || fail "the examples"

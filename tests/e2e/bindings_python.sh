#!/usr/bin/env bash
# The Python binding (harness/bindings/python): its own tests, then its example (an httpx
# client), under Debian's pytest with the binding's plugin loaded by -p from PYTHONPATH (no
# pip install), against this build's binary.
# Usage: bindings_python.sh FAULTLINE SOURCE_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
fl_e2e_init "$1" "$2"
bin=$build/$(basename "$1") # absolute: the tests run in other folders
dir=$src/harness/bindings/python
# A python3 with pytest and httpx: PATH's first, else Debian's (scripts/setup.sh installs
# python3-pytest and python3-httpx).
py=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import pytest, httpx' 2>/dev/null; then
        py=$p
        break
    fi
done
[[ -n $py ]] || fail "no python3 with pytest and httpx (bash scripts/setup.sh installs python3-pytest, python3-httpx)"
# The README shows the example whole: it must be the file, byte for byte.
readme=$(cat "$src/README.md")
[[ $readme == *"$(cat "$src/harness/bindings/python/examples/test_httpx_example.py")"* ]] ||
    fail "README.md does not show harness/bindings/python/examples/test_httpx_example.py as it is"
export FAULTLINE_BIN=$bin PYTHONPATH=$dir PYTHONDONTWRITEBYTECODE=1
for what in tests examples; do
    (cd "$dir" && timeout 100 "$py" -m pytest -q -p faultline.pytest_plugin -p no:cacheprovider "$what") ||
        fail "pytest $what"
done

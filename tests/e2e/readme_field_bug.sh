#!/usr/bin/env bash
# The README's "Reproduce a field bug" walk-through works as written: every `$ ` command of its
# console blocks is run verbatim (from a folder where ./build is the build and ./tests the source
# tests) and must print exactly the lines the README shows after it.
# Usage: readme_field_bug.sh FAULTLINE SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$(cd "$(dirname "$bin")" && pwd)" "$tmp/build"
ln -s "$src/tests" "$tmp/tests"

# The section's console blocks: "$ command" lines and the output lines after each.
awk '/^## Reproduce a field bug/ {on = 1; next} on && /^## / {exit}
     on && /^```console/ {block = 1; next} block && /^```/ {block = 0; next}
     block {print}' "$src/README.md" >"$tmp/blocks"
[ -s "$tmp/blocks" ] || { echo "no console blocks in the section"; exit 1; }

n=0
check() {
    [ -n "$cmd" ] || return 0
    (cd "$tmp" && bash -c "$cmd") >"$tmp/got" 2>&1 || true
    if ! diff -u "$tmp/want" "$tmp/got"; then
        echo "FAIL: \$ $cmd"
        exit 1
    fi
    n=$((n + 1))
}
cmd=
: >"$tmp/want"
while IFS= read -r line; do
    if [[ $line == '$ '* ]]; then
        check
        cmd=${line#\$ }
        : >"$tmp/want"
    else
        printf '%s\n' "$line" >>"$tmp/want"
    fi
done <"$tmp/blocks"
check
[ "$n" -ge 3 ] || { echo "only $n commands ran"; exit 1; }
echo "ok: $n commands of the walk-through print what the README shows"

#!/usr/bin/env bash
# The layering check: data flows one way through the tree, so a file may include headers only
# from its own layer and the layers below it, and a layer's private headers (*_impl.h, *_int.h)
# only from its own folder.
#
#   mock_server: base <- model <- encode <- chaos <- load <- serve <- proxy; load <- import
#   harness:     judge (base, model, encode) <- run (all of mock_server) <- cli
#                downstream (base) <- run
#
# Usage: layers.sh ROOT      check the tree at ROOT; exit 1 and name every offending line
#        layers.sh --self-test  also prove the check fails on a tree that breaks each rule
set -euo pipefail

declare -A allowed=(
  [mock_server/base]="base"
  [mock_server/model]="base model"
  [mock_server/encode]="base model encode"
  [mock_server/chaos]="base model encode chaos"
  [mock_server/load]="base model encode chaos load"
  [mock_server/serve]="base model encode chaos load serve"
  [mock_server/proxy]="base model encode chaos load serve proxy"
  [mock_server/import]="base model encode chaos load import"
  [harness/judge]="base model encode judge"
  [harness/run]="base model encode chaos load serve proxy judge run downstream"
  [harness/cli]="base model encode chaos load serve proxy import judge run cli downstream"
  [harness/downstream]="base downstream"
)

# check ROOT: prints one line per violation, returns 1 when there is any.
check() {
  local root=$1 bad=0 dir file line inc layer
  for dir in "${!allowed[@]}"; do
    [ -d "$root/$dir" ] || continue
    while IFS= read -r file; do
      while IFS= read -r line; do
        inc=${line#*#include \"}
        inc=${inc%%\"*}
        if [[ $inc != */* ]]; then
          echo "$file: includes \"$inc\" without its layer folder"
          bad=1
          continue
        fi
        layer=${inc%%/*}
        if [[ " ${allowed[$dir]} " != *" $layer "* ]]; then
          echo "$file: ${dir#*/} includes \"$inc\" from a higher or unrelated layer"
          bad=1
        elif [[ $inc =~ _(impl|int)\.h$ && $layer != "${dir#*/}" ]]; then
          echo "$file: includes \"$inc\", private to ${layer}/"
          bad=1
        fi
      done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$file" |
               sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+/#include /' || true)
    done < <(find "$root/$dir" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) | sort)
  done
  # Every source file must sit in a layer folder: a file at the top would escape the check.
  while IFS= read -r file; do
    echo "$file: not inside a layer folder"
    bad=1
  done < <(find "$root/mock_server" "$root/harness" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null)
  return $bad
}

self_test() {
  local t rc
  t=$(mktemp -d)
  trap 'rm -rf "$t"' RETURN
  mkdir -p "$t/mock_server/base" "$t/mock_server/chaos" "$t/mock_server/serve" "$t/harness/judge"
  printf '#include "base/buf.h"\n' > "$t/mock_server/chaos/ok.c"
  check "$t" >/dev/null || { echo "self-test: a clean tree was refused"; return 1; }
  local -a cases=(
    'mock_server/base/up.c|#include "serve/server.h"'
    'mock_server/chaos/up.c|#include "load/load.h"'
    'harness/judge/up.c|#include "run/run.h"'
    'mock_server/serve/priv.c|#include "chaos/chaos_impl.h"'
    'mock_server/chaos/flat.c|#include "buf.h"'
    'mock_server/stray.c|#include "base/buf.h"'
  )
  for c in "${cases[@]}"; do
    local f=${c%%|*} body=${c#*|}
    printf '%s\n' "$body" > "$t/$f"
    rc=0
    check "$t" >/dev/null || rc=$?
    rm -f "$t/$f"
    if [ "$rc" -eq 0 ]; then
      echo "self-test: '$body' in $f was not caught"
      return 1
    fi
  done
  echo "self-test: ${#cases[@]} violations caught, clean tree accepted"
}

if [ "${1:-}" = "--self-test" ]; then
  self_test
  shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if check "$root"; then
  echo "layers: every include follows the layer order"
else
  echo "layers: includes against the layer order (see above)"
  exit 1
fi

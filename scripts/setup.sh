#!/usr/bin/env bash
# Installs what Faultline needs to build and test on Debian 12, then configures nothing:
# the build scripts do that. Safe to run again; installs only what is missing, and touches the
# network only for what is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# jq is used by the shell client (clients/shell/curl.sh) and scripts/bench.sh, bc by bench.sh.
# nodejs and npm run the SDK clients (clients/node/); they are only installed when no
# `node`/`npm` is on PATH, so a newer Node from elsewhere (nodesource, nvm) is left alone.
# libxml2-utils gives xmllint, which checks the JUnit report against tests/data/junit.xsd
# (tests/e2e/run_junit.sh). clang and libclang-rt-14-dev (libFuzzer's runtime, only recommended
# by clang) build the fuzz targets that scripts/test.sh smoke-tests (scripts/fuzz.sh).
pkgs=(build-essential cmake pkg-config curl jq bc
      libuv1-dev libhttp-parser-dev libyaml-dev libjansson-dev libxml2-dev
      libcriterion-dev libcurl4-openssl-dev libxml2-utils clang libclang-rt-14-dev)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
else
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The SDK clients' exact dependency tree, from the committed lockfile; only when node_modules is
# missing or older than the lockfile (npm ci rewrites node_modules/.package-lock.json).
node_dir=$here/clients/node
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
   [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in clients/node"
  npm ci --prefix "$node_dir" --no-audit --no-fund
else
  echo "setup: clients/node/node_modules up to date"
fi

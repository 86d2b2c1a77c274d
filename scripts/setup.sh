#!/usr/bin/env bash
# Installs what Faultline needs on Debian 12 with apt-get. Safe to run again: it installs only
# what is missing, and touches the network only for that.
#
#   bash scripts/setup.sh           build and test the C core (what scripts/test.sh needs,
#                                   except Node: test.sh asks for that itself)
#   bash scripts/setup.sh --build   only what building and packaging need (the GitHub Action,
#                                   the Dockerfile)
#   bash scripts/setup.sh --node    Node.js and npm when missing, then the npm packages of the
#                                   SDK clients (clients/node) and of the browser test of the
#                                   HTML report (tests/browser); scripts/test.sh, scoreboard.sh
#                                   and demo.sh with a Node client run this themselves
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-core}
case $mode in core | --build | --node) ;; *)
    echo "usage: bash scripts/setup.sh [--build | --node]" >&2
    exit 2
    ;;
esac

# Building: the compiler, CMake and the libraries (libcurl for the reference clients, for
# `faultline proxy`'s upstream side and for relay mode's browser; libssl-dev for libcrypto's
# base64 in the capture format); file and dpkg-dev (with build-essential) let `cpack -G DEB`
# work out the package's dependencies.
build=(build-essential cmake pkg-config file
       libuv1-dev libhttp-parser-dev libyaml-dev libjansson-dev libxml2-dev libcurl4-openssl-dev
       libssl-dev)
# Testing: Criterion; curl and jq for the shell clients (tests/clients/example.sh,
# clients/shell/curl.sh), bc for scripts/bench.sh; xmllint (libxml2-utils) checks JUnit against
# tests/data/junit.xsd; python3-yaml reads action.yml (tests/e2e/action.sh); groff-base lints
# the man page (tests/e2e/package.sh); python3-httpx is the library of the Python client under
# test (clients/python/httpx_chat.py, tests/e2e/adapters.sh, scripts/scoreboard.sh); Debian's
# Chromium, headless, loads the HTML report (tests/e2e/html_report.sh), with a font so that its
# screenshots show text; clang and libclang-rt-14-dev (libFuzzer's runtime, only recommended by
# clang) build the fuzz targets that scripts/test.sh smoke-tests (scripts/fuzz.sh); openssl (the
# CLI) makes the TLS upstream's certificate in tests/e2e/proxy.sh.
tests=(libcriterion-dev curl jq bc libxml2-utils python3-yaml groff-base python3-httpx chromium
       fonts-dejavu-core clang libclang-rt-14-dev openssl)
# python3-pytest runs the Python binding's tests and example (harness/bindings/python).
tests+=(python3-pytest)

# apt_install PKG...: installs the packages not yet installed.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "setup: all packages present"
        return
    fi
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        as_root=(sudo)
    fi
    echo "setup: installing ${missing[*]}"
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

case $mode in
core) apt_install "${build[@]}" "${tests[@]}" ;;
--build) apt_install "${build[@]}" ;;
--node)
    # Only when no `node`/`npm` is on PATH, so a newer Node from elsewhere (nodesource, nvm,
    # actions/setup-node) is left alone.
    node_pkgs=()
    command -v node >/dev/null || node_pkgs+=(nodejs)
    command -v npm >/dev/null || node_pkgs+=(npm)
    [ ${#node_pkgs[@]} -eq 0 ] || apt_install "${node_pkgs[@]}"
    # Each exact dependency tree, from its committed lockfile; only when node_modules is
    # missing or older than the lockfile (npm ci rewrites node_modules/.package-lock.json).
    # tests/browser needs playwright-core alone, which drives Debian's Chromium and never
    # downloads a browser (nor is asked to: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD).
    # harness/bindings/node/examples: the Node binding's examples (openai, ai, @ai-sdk/openai).
    for dir in clients/node tests/browser harness/bindings/node/examples; do
        node_dir=$here/$dir
        if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
            [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
            echo "setup: npm ci in $dir"
            PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$node_dir" --no-audit --no-fund
        else
            echo "setup: $dir/node_modules up to date"
        fi
    done
    ;;
esac

#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml at the top of the repository), one subcommand per
# step, reading the inputs from the environment the way action.yml passes them (INPUT_*) and the
# runner's own variables (GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_PATH,
# GITHUB_STEP_SUMMARY). tests/e2e/action.sh runs action.yml's steps through it as a runner would.
#
#   action.sh prepare   where faultline will live and the cache key of a build from source
#                       (outputs: prefix, bin, key)
#   action.sh install   a package (INPUT_PACKAGE): unpack it and install what it depends on;
#                       otherwise the build dependencies, then, unless the cache restored the
#                       install (FL_CACHE_HIT), build and `cmake --install` into FL_PREFIX
#   action.sh run       faultline run with the inputs, the table in the log, the Markdown
#                       summary appended to $GITHUB_STEP_SUMMARY; exits with run's status
#                       (outputs: score)
set -euo pipefail

src=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set (run by action.yml)}
temp=${RUNNER_TEMP:?RUNNER_TEMP is not set}
out=${GITHUB_OUTPUT:-/dev/null}
say() { echo "faultline action: $*" >&2; }

# as_root CMD...: runs CMD as root (directly, or with sudo on a hosted runner).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

prepare() {
    if [ -n "${INPUT_PACKAGE:-}" ]; then
        local root=$temp/faultline-package
        printf 'prefix=%s\nbin=%s\nkey=\n' "$root/usr" "$root/usr/bin/faultline" >>"$out"
        return
    fi
    # The key names every file that goes into the install, so a cache hit is exactly this
    # source; plus the runner image (ImageOS, set on GitHub-hosted runners) and the machine,
    # since the binaries link that system's libraries.
    local hash
    hash=$(cd "$src" && find CMakeLists.txt cmake mock_server harness clients/CMakeLists.txt \
        clients/c scenarios docs README.md -type f -print0 | LC_ALL=C sort -z |
        xargs -0 sha256sum | sha256sum | cut -c1-32)
    printf 'prefix=%s\nbin=%s\nkey=%s\n' "$temp/faultline" "$temp/faultline/bin/faultline" \
        "faultline-${RUNNER_OS:-Linux}-${ImageOS:-local}-$(uname -m)-$hash" >>"$out"
}

install_package() {
    local deb=$INPUT_PACKAGE root=$temp/faultline-package
    [ -f "$deb" ] || { say "package '$deb' not found"; exit 1; }
    rm -rf "$root"
    mkdir -p "$root"
    dpkg-deb -x "$deb" "$root"
    # The unpacked tree is relocatable (the binary finds its catalog relative to itself), so
    # only the libraries it links are installed system-wide, and only when missing.
    local deps
    deps=$(dpkg-deb -f "$deb" Depends)
    if command -v dpkg-checkbuilddeps >/dev/null && dpkg-checkbuilddeps -d "$deps" /dev/null 2>/dev/null; then
        say "dependencies present: $deps"
    else
        say "installing dependencies: $deps"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get satisfy -y -qq --no-install-recommends "$deps"
    fi
    echo "$root/usr/bin" >>"${GITHUB_PATH:-/dev/null}"
}

install_source() {
    local prefix=${FL_PREFIX:?FL_PREFIX is not set: the prefix output of the prepare step}
    # Building needs the -dev packages; a restored install needs their libraries all the same.
    bash "$src/scripts/setup.sh" --build
    if [ "${FL_CACHE_HIT:-}" = true ] && [ -x "$prefix/bin/faultline" ]; then
        say "cache hit: $prefix"
    else
        local build=$temp/faultline-build
        cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
            -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
        cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
        cmake --install "$build" >/dev/null
        say "built and installed into $prefix"
    fi
    echo "$prefix/bin" >>"${GITHUB_PATH:-/dev/null}"
}

run() {
    local bin=${FL_BIN:?FL_BIN is not set: the bin output of the prepare step}
    [ -n "${INPUT_CLIENT:-}" ] || { say "the client input is required"; exit 2; }
    local json=${INPUT_JSON:-$temp/faultline-report.json}
    # Every scenario runs (--keep-going), so the score and the summary cover the whole selection.
    local args=(run --keep-going --client "$INPUT_CLIENT" --json "$json") word
    # Lists are split on whitespace, never globbed: --filter takes the globs themselves.
    set -f
    for word in ${INPUT_FILTER:-}; do args+=(--filter "$word"); done
    [ -z "${INPUT_DIALECT:-}" ] || args+=(--dialect "$INPUT_DIALECT")
    [ -z "${INPUT_MIN_SCORE:-}" ] || args+=(--min-score "$INPUT_MIN_SCORE")
    [ -z "${INPUT_SHARD:-}" ] || args+=(--shard "$INPUT_SHARD")
    [ -z "${INPUT_JUNIT:-}" ] || args+=(--junit "$INPUT_JUNIT")
    [ -z "${GITHUB_STEP_SUMMARY:-}" ] || args+=(--summary "$GITHUB_STEP_SUMMARY")
    for word in ${INPUT_ARGS:-}; do args+=("$word"); done
    args+=(--)
    for word in ${INPUT_SCENARIOS:-}; do args+=("$word"); done
    set +f
    "$bin" --version
    printf '+ faultline'
    printf ' %q' "${args[@]}"
    printf '\n'
    local rc=0
    "$bin" "${args[@]}" || rc=$?
    # The report is written with two-space indentation: the top-level score is the one line
    # `  "score": N,` (a run's score sits deeper).
    local score=""
    [ ! -f "$json" ] || score=$(sed -n 's/^  "score": \([0-9.]*\),$/\1/p' "$json")
    echo "score=$score" >>"$out"
    exit "$rc"
}

case ${1:-} in
prepare) prepare ;;
install) if [ -n "${INPUT_PACKAGE:-}" ]; then install_package; else install_source; fi ;;
run) run ;;
*)
    echo "usage: action.sh prepare|install|run (the steps of action.yml)" >&2
    exit 2
    ;;
esac

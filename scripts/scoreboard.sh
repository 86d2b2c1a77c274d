#!/usr/bin/env bash
# Scores every client under test against the scenario catalog and writes the table into
# clients/README.md (between its scoreboard markers). Builds first when needed.
#
#   bash scripts/scoreboard.sh [SCENARIO_DIR]     (default scenarios/)
#
# Each client gets the scenarios of the dialects it speaks: the C clients all four, curl.sh all
# but gemini, openai.mjs the openai-* ones, anthropic.mjs anthropic-messages. The reports are kept in
# build/scoreboard/*.json. FL_SCOREBOARD_JOBS (default 2) is passed to `faultline run -j`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dir=${1:-scenarios}
jobs=${FL_SCOREBOARD_JOBS:-2}

if [[ ! -x build/faultline || ! -x build/clients/c/robust || ! -x build/clients/c/naive ]]; then
    cmake -S . -B build -DFL_WERROR=ON >/dev/null
    cmake --build build -j2
fi
# The Node SDK clients are scored too: Node and their npm packages (installed when missing).
bash scripts/setup.sh --node

out=build/scoreboard
mkdir -p "$out"
manifest=$out/manifest.tsv
: >"$manifest"

# score LABEL CLIENT_CMD DIALECT_REGEX: run the harness on the scenario files whose top-level
# `dialect:` matches (faultline run's --filter matches names, not dialects), with --keep-going
# so every scenario is scored, and record the exact command in the manifest.
score() {
    local label=$1 client=$2 dialects=$3 json=$out/$1.json
    local select="grep -rlE --include='*.yaml' '^dialect: *($dialects) *\$' $dir | sort"
    local files
    mapfile -t files < <(eval "$select")
    local cmd="./build/faultline run --keep-going -j $jobs --client '$client' --json $json \$($select)"
    rm -f "$json"
    if [[ ${#files[@]} -eq 0 ]]; then
        echo "scoreboard: no $dialects scenarios in $dir" >&2
        return
    fi
    if [[ $client == build/* && ! -x ${client%% *} ]]; then
        echo "scoreboard: $client not built, skipped" >&2
        printf '%s\t%s\t%s\n' "$label" "$json" "$cmd" >>"$manifest"
        return
    fi
    echo "scoreboard: $label on ${#files[@]} scenarios" >&2
    # faultline run exits non-zero when a run fails; the report is what counts here.
    ./build/faultline run --keep-going -j "$jobs" --client "$client" --json "$json" "${files[@]}" >"$out/$label.txt" || true
    [[ -s $json ]] || { echo "scoreboard: $label wrote no report (see $out/$label.txt)" >&2; exit 1; }
    printf '%s\t%s\t%s\n' "$label" "$json" "$cmd" >>"$manifest"
}

all='openai-chat|openai-responses|anthropic-messages'
score c-robust build/clients/c/robust "$all|gemini"
score c-naive build/clients/c/naive "$all|gemini"
score shell-curl clients/shell/curl.sh "$all"
score node-openai 'node clients/node/openai.mjs' 'openai-chat|openai-responses'
score node-anthropic 'node clients/node/anthropic.mjs' 'anthropic-messages'

node clients/node/scoreboard.mjs clients/README.md "$manifest"

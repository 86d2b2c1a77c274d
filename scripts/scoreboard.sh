#!/usr/bin/env bash
# Scores every client on the scoreboard (clients/scoreboard.tsv) against the scenario catalog
# and writes the table into clients/README.md (between its scoreboard markers). Builds first
# when needed.
#
#   bash scripts/scoreboard.sh [-j N] [SCENARIO_DIR]     (default scenarios/, -j 2)
#
# Each client gets `faultline run --keep-going --dialect` limited to the dialects it speaks
# that this build serves: a dialect is served when SCENARIO_DIR has scenarios of it and
# `faultline validate` accepts them all (a build without the gemini dialect rejects them), and
# a client left with none is listed as not run, with the reason. The reports are kept in
# build/scoreboard/*.json. -j (default FL_SCOREBOARD_JOBS, else 2) is passed to `faultline run`.
#
# Sourced (tests/e2e/adapters.sh does), it only defines fl_sb_served and fl_sb_clients.

# fl_sb_served FAULTLINE DIR DIALECTS: prints the comma-separated DIALECTS that FAULTLINE serves
# with scenarios in DIR, in their order; empty when none.
fl_sb_served() {
    local bin=$1 dir=$2 d files ok=()
    for d in ${3//,/ }; do
        mapfile -t files < <(grep -rlE --include='*.yaml' "^dialect: *$d *\$" "$dir" | sort)
        if [[ ${#files[@]} -gt 0 ]] && "$bin" validate "${files[@]}" >/dev/null 2>&1; then
            ok+=("$d")
        fi
    done
    (IFS=,; echo "${ok[*]}")
}

# fl_sb_clients FILE [all]: the client lines of FILE (clients/scoreboard.tsv), without its
# comments and blank lines: label, dialects, libraries, needs, command, tab-separated. The relays
# (a command of the form "relay:FORMAT CMD") only with "all": they are not clients.
fl_sb_clients() {
    if [[ ${2:-} == all ]]; then
        grep -vE '^(#|[[:space:]]*$)' "$1"
    else
        grep -vE '^(#|[[:space:]]*$)' "$1" | awk -F'\t' '$5 !~ /^relay:/'
    fi
}

[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=${FL_SCOREBOARD_JOBS:-2}
if [[ ${1:-} == -j ]]; then
    jobs=${2:?usage: scoreboard.sh [-j N] [SCENARIO_DIR]}
    shift 2
fi
dir=${1:-scenarios}

if [[ ! -x build/faultline || ! -x build/clients/c/robust || ! -x build/clients/c/naive ]]; then
    cmake -S . -B build -DFL_WERROR=ON >/dev/null
    cmake --build build -j2
fi
# The Node library clients are scored too: Node and their npm packages (installed when missing).
bash scripts/setup.sh --node

out=build/scoreboard
mkdir -p "$out"
manifest=$out/manifest.tsv
: >"$manifest"

# score LABEL DIALECTS LIBS NEEDS CLIENT_CMD (a line of clients/scoreboard.tsv): runs the
# harness on $dir for the dialects served, unless NEEDS (a shell test, "-" for none) fails,
# and records the label, report, exact command, dialects, libraries and, for a client not run,
# why, in the manifest that clients/node/scoreboard.mjs reads.
score() {
    local label=$1 dialects=$2 libs=$3 needs=$4 client=$5 json=$out/$1.json speak note=
    speak=$(fl_sb_served ./build/faultline "$dir" "$dialects")
    # A relay (README, "Relays under test") is "relay:FORMAT CMD": scored with --relay.
    local what=(--client "$client") shown="--client '$client'"
    if [[ $client == relay:* ]]; then
        local fmt=${client%% *}
        fmt=${fmt#relay:}
        what=(--relay "${client#* }" --downstream "$fmt")
        shown="--relay '${client#* }' --downstream $fmt"
    fi
    local cmd="./build/faultline run --keep-going -j $jobs --dialect $speak $shown --json $json $dir"
    rm -f "$json"
    if [[ -z $speak ]]; then
        note="this build serves no scenario of its dialects ($dialects) in $dir"
    elif [[ $needs != - ]] && ! eval "$needs" >/dev/null 2>&1; then
        note="'$needs' fails (bash scripts/setup.sh installs it)"
    fi
    if [[ -n $note ]]; then
        echo "scoreboard: $label not run: $note" >&2
    else
        echo "scoreboard: $label on $speak" >&2
        # faultline run exits non-zero when a run fails; the report is what counts here.
        ./build/faultline run --keep-going -j "$jobs" --dialect "$speak" "${what[@]}" \
            --json "$json" "$dir" >"$out/$label.txt" </dev/null || true
        [[ -s $json ]] || { echo "scoreboard: $label wrote no report (see $out/$label.txt)" >&2; exit 1; }
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$json" "$cmd" "${speak:-$dialects}" "$libs" "$note" >>"$manifest"
}

while IFS=$'\t' read -r -u 3 label dialects libs needs client; do
    score "$label" "$dialects" "$libs" "$needs" "$client"
done 3< <(fl_sb_clients clients/scoreboard.tsv all)

node clients/node/scoreboard.mjs clients/README.md "$manifest"

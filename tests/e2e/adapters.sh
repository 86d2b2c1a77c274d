#!/usr/bin/env bash
# Every client on the scoreboard (clients/scoreboard.tsv: the reference clients, curl.sh and the
# library adapters) answers the clean scenarios correctly, so a broken adapter is never scored
# as a broken library: for each client, `faultline run` on the text and tool-call scenarios of
# scenarios/clean (`*-text`, `*-tool-call`, gemini's `*-function-call`) with --dialect limited
# to the dialects it speaks and this build serves (scripts/scoreboard.sh's rule; a dialect the
# build does not serve yet, such as gemini before it lands, is skipped and said so) must give
# the verdict `correct` on every run, with at least one run per dialect.
# Then clients/node/scoreboard.mjs turns those reports, and a hand-made one whose ranking is
# worked out below, into the scoreboard block of a scratch README.
# Usage: adapters.sh FAULTLINE SOURCE_DIR
# shellcheck disable=SC2016 # the backticks below are Markdown, not command substitution
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
# shellcheck source-path=SCRIPTDIR source=../../scripts/scoreboard.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/scoreboard.sh"
fl_e2e_init "$1" "$2"
cd "$src"

command -v node >/dev/null || fail "node is not installed (bash scripts/setup.sh --node)"
command -v jq >/dev/null || fail "jq is not installed (bash scripts/setup.sh)"

manifest=$tmp/manifest.tsv
: >"$manifest"
clients=0
while IFS=$'\t' read -r -u 3 label dialects libs needs client; do
    [[ $needs == - ]] || eval "$needs" >/dev/null 2>&1 ||
        fail "$label: '$needs' fails (bash scripts/setup.sh; bash scripts/setup.sh --node)"
    served=$(fl_sb_served "$bin" scenarios/clean "$dialects")
    if [[ -z $served ]]; then
        echo "skip: $label: this build serves no clean scenario of $dialects"
        continue
    fi
    json=$tmp/$label.json
    rc=0
    timeout -k 5 60 "$bin" run -j 8 --keep-going --dialect "$served" --client "$client" \
        --filter '*-text' --filter '*-tool-call' --filter '*-function-call' \
        --json "$json" scenarios/clean >"$tmp/$label.out" 2>&1 || rc=$?
    [[ -s $json ]] || { cat "$tmp/$label.out"; fail "$label: no report (exit $rc)"; }
    # Every run correct, and every served dialect run at least once.
    jq -e --arg d "$served" '(.runs | length > 0) and all(.runs[]; .verdict == "correct")
        and (([.runs[].dialect] | unique) == ($d | split(",") | sort))' "$json" >/dev/null || {
        jq -r '.runs[] | "\(.scenario) \(.verdict): \(.reason)\n  stderr: \(.stderr_tail)"' "$json"
        fail "$label ($client) does not answer the clean $served scenarios correctly"
    }
    echo "ok: $label on $served ($(jq '.runs | length' "$json") clean runs correct)"
    printf '%s\t%s\t%s\t%s\t%s\t\n' "$label" "$json" "$client" "$served" "${libs#-}" >>"$manifest"
    clients=$((clients + 1))
done 3< <(fl_sb_clients clients/scoreboard.tsv)
[[ $clients -ge 10 ]] || fail "only $clients clients ran (want the 10 that need no gemini)"

# A hand-made report for scoreboard.mjs's ranking: silent_truncation loses 180 points (t1 100,
# t2 50, t3 30; two runs in truncation, one in framing), hung + stall_undetected 100, gave_up
# 60 and recovered + retry_storm 40, so the first three are listed in that order, each with its
# worst run, and the retry_storm one is not.
jq -n '{faultline: "test", score: 25, runs: [
  {scenario: "t1", file: "scenarios/truncation/t1.yaml", dialect: "openai-chat", verdict: "silent_truncation", findings: [], score: 0, reason: "exit 0 with 3 | 9 bytes"},
  {scenario: "t2", file: "scenarios/truncation/t2.yaml", dialect: "openai-chat", verdict: "silent_truncation", findings: [], score: 50, reason: "half"},
  {scenario: "t3", file: "scenarios/framing/t3.yaml", dialect: "openai-chat", verdict: "silent_truncation", findings: [], score: 70, reason: "most"},
  {scenario: "s1", file: "scenarios/stalls/s1.yaml", dialect: "openai-responses", verdict: "hung", findings: ["stall_undetected"], score: 0, reason: "killed at the deadline"},
  {scenario: "r1", file: "scenarios/resets/r1.yaml", dialect: "openai-responses", verdict: "gave_up", findings: [], score: 40, reason: "exit 1"},
  {scenario: "q1", file: "scenarios/retries/q1.yaml", dialect: "openai-chat", verdict: "recovered", findings: ["retry_storm"], score: 60, reason: "5 requests"},
  {scenario: "c1", file: "scenarios/clean/c1.yaml", dialect: "openai-chat", verdict: "correct", findings: [], score: 100, reason: "exact"}]}' \
    >"$tmp/made.json"
printf 'made\t%s\tmade-cmd\topenai-chat,openai-responses\tnpm:openai deb:dpkg\t\n' "$tmp/made.json" >>"$manifest"
printf 'gone\t%s\tgone-cmd\tgemini\t-\tno gemini here\n' "$tmp/none.json" >>"$manifest"

readme=$tmp/README.md
printf '# before\n<!-- scoreboard:begin -->\nold table\n<!-- scoreboard:end -->\nafter\n' >"$readme"
node clients/node/scoreboard.mjs "$readme" "$manifest" >"$tmp/rows" || fail "scoreboard.mjs failed"
if ! head -n 2 "$readme" | cmp -s - <(printf '# before\n<!-- scoreboard:begin -->\n') ||
    [[ $(tail -n 2 "$readme") != $'<!-- scoreboard:end -->\nafter' ]]; then
    fail "scoreboard.mjs changed the README outside its markers"
fi
! grep -q 'old table' "$readme" || fail "the old table is still there"

# One row per client that ran: its runs and passes as its report says, every run correct.
while IFS=$'\t' read -r label json _; do
    [[ $label == made || $label == gone ]] && continue
    n=$(jq '.runs | length' "$json")
    grep -qE "^\| $label \| [^|]* \| $n \| 100\.0 \| [^|]* \| $n \| $n \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| — \|$" "$readme" ||
        fail "no row '$label' with $n runs, all correct"
    grep -qF -- "- **$label** (" "$readme" || fail "no findings line for $label"
done <"$manifest"
# The hand-made report: score, per-dialect means (chat: 0, 50, 70, 60, 100; responses: 0, 40),
# versions, and the three heaviest groups in order, the table's pipe escaped in a reason.
grep -qF '| made | `openai` ' "$readme" || fail "made: no openai version"
grep -qE '^\| made \| .*`dpkg` [0-9]' "$readme" || fail "made: no dpkg version"
grep -qE '^\| made \| [^|]* \| 7 \| 25\.0 \| openai-chat 56\.0 · openai-responses 20\.0 \| 1 \| 1 \| 1 \| 0 \| 1 \| 3 \| 0 \| 0 \| 1 \| 0 \| 0 \| retry_storm 1, stall_undetected 1 \|$' \
    "$readme" || { grep '^| made' "$readme"; fail "made: wrong row"; }
grep -A3 -F -- '- **made**' "$readme" >"$tmp/made"
want=$'1. `silent_truncation`, 3 runs, −180 points (truncation 2, framing 1); e.g. t1: exit 0 with 3 \\| 9 bytes
2. `hung + stall_undetected`, 1 run, −100 points (stalls 1); e.g. s1: killed at the deadline
3. `gave_up`, 1 run, −60 points (resets 1); e.g. r1: exit 1'
[[ $(sed -n '2,4s/^  //p' "$tmp/made") == "$want" ]] ||
    { cat "$tmp/made"; fail "made: the three most telling findings are not the heaviest, in order"; }
! grep -qF 'recovered + retry_storm' "$readme" || fail "made: a fourth finding is listed"
grep -qF -- '- **gone** (gemini): not run, no gemini here.' "$readme" || fail "gone: no 'not run' line"
grep -qE '^\| gone \| — \| not run \|' "$readme" || fail "gone: no 'not run' row"
# Commands: one per client that ran, in order.
[[ $(sed -n '/^```sh$/,/^```$/p' "$readme" | sed '1d;$d' | tail -n 1) == made-cmd ]] ||
    fail "the commands block does not end with the last client run"

printf 'x\n' >"$tmp/nomarkers.md"
rc=0
node clients/node/scoreboard.mjs "$tmp/nomarkers.md" "$manifest" 2>/dev/null || rc=$?
[[ $rc -eq 2 && $(cat "$tmp/nomarkers.md") == x ]] || fail "a README without markers: exit $rc, want 2 and no change"
echo "ok: $clients clients correct on the clean scenarios; scoreboard.mjs writes their table"

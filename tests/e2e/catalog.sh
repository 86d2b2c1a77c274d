#!/usr/bin/env bash
# The scenario catalog (scenarios/) as `faultline run` will use it: every file validates, the
# catalog is big enough in each dialect, every scenario says what it reproduces and what a
# graceful client ends with, and every fault of the README's fault catalog is exercised.
# Usage: catalog.sh <faultline-binary> <source-dir>
set -u
bin=$1
src=$2
dir="$src/scenarios"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# 1. The whole catalog validates, and validate counts it.
out=$("$bin" validate "$dir/" 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "validate scenarios/ exited $rc: $out"
total=$(echo "$out" | awk '/^ok: [0-9]+ scenarios$/ {print $2}')
[ -n "$total" ] || { fail "no 'ok: N scenarios' line in: $out"; total=0; }
[ "$total" -ge 45 ] || fail "only $total scenarios, want at least 45"

mapfile -t files < <(find "$dir" -name '*.yaml' -o -name '*.yml' | sort)
[ "${#files[@]}" -eq "$total" ] ||
    fail "validate counted $total scenarios but there are ${#files[@]} files"

# 2. Each dialect has at least 12 scenarios.
for d in openai-chat openai-responses anthropic-messages gemini; do
    n=$(grep -l "^dialect: $d\$" "${files[@]}" | wc -l)
    [ "$n" -ge 12 ] || fail "dialect $d has $n scenarios, want at least 12"
done

# 3. Every scenario: a non-empty description, an explicit expect.outcome, a name that matches
#    its file name (so a report's scenario name finds its file).
for f in "${files[@]}"; do
    rel=${f#"$src"/}
    desc=$(awk '
        /^description:/ { on = 1; sub(/^description:[ ]*/, ""); sub(/^[>|][-+]?$/, ""); t = t $0; next }
        on && /^[^ ]/ { on = 0 }
        on { t = t $0 }
        END { gsub(/[ \t]/, "", t); print length(t) }' "$f")
    [ "$desc" -gt 40 ] || fail "$rel: description missing or too short to name a field failure"
    outcome=$(awk '
        /^expect:/ { on = 1; next }
        on && /^[^ ]/ { on = 0 }
        on && /^  outcome:/ { print $2 }' "$f")
    case "$outcome" in
    complete | error | either) ;;
    *) fail "$rel: no explicit expect.outcome (got '$outcome')" ;;
    esac
    name=$(awk '/^name:/ { print $2; exit }' "$f")
    [ "$name" = "$(basename "$f" .yaml)" ] || fail "$rel: name '$name' differs from the file name"
done

# 4. Every fault in the README's fault catalog table is used by at least one scenario's
#    attempts (as a key `reset:`, a bare name `- reset` or `[reset]`).
faults=$(awk '
    /^### The catalog/ { on = 1; next }
    on && /^###/ { on = 0 }
    on && /^\| `[a-z_]+/ { s = $0; sub(/^\| `/, "", s); sub(/[^a-z_].*/, "", s); print s }' \
    "$src/README.md")
nf=$(echo "$faults" | grep -c .)
[ "$nf" -ge 18 ] || fail "read only $nf faults from README.md's fault catalog"
attempts=$(for f in "${files[@]}"; do
    awk '/^attempts:/ { on = 1; next } on && /^[^ ]/ { on = 0 } on' "$f"
done)
for fault in $faults; do
    echo "$attempts" | grep -Eq "(^|[^a-z_])$fault(:|[],} ]|\$)" ||
        fail "fault '$fault' is used by no scenario"
done

if [ "$fails" -ne 0 ]; then
    echo "catalog: $fails problem(s)" >&2
    exit 1
fi
echo "catalog ok: $total scenarios, $nf faults covered"

#!/usr/bin/env bash
# The client contract for gemini, as `faultline run` gives it: the variables Google's SDKs read
# (GOOGLE_GEMINI_BASE_URL for @google/genai and google-genai, GEMINI_API_KEY, and the Vercel AI
# SDK's GOOGLE_GENERATIVE_AI_API_KEY), an inherited GOOGLE_API_KEY and GOOGLE_GENAI_USE_VERTEXAI
# removed; then `--dialect gemini` picks only the gemini scenarios and the robust client scores
# 100 on them.
# Usage: gemini_contract.sh FAULTLINE SOURCE_DIR (FL_JSONQ set by ctest).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
fl_e2e_init "$1" "$2"
data=$src/tests/data/gemini

# A client that prints what it was given and fails, so its stderr lands in the report.
cat >"$tmp/env.sh" <<'SH'
#!/bin/sh
for v in GOOGLE_GEMINI_BASE_URL GEMINI_API_KEY GOOGLE_GENERATIVE_AI_API_KEY FAULTLINE_BASE_URL \
    FAULTLINE_DIALECT FAULTLINE_MODEL; do
    eval "echo $v=\${$v-unset}" >&2
done
echo "GOOGLE_API_KEY=${GOOGLE_API_KEY-unset}" >&2
echo "GOOGLE_GENAI_USE_VERTEXAI=${GOOGLE_GENAI_USE_VERTEXAI-unset}" >&2
exit 1
SH
chmod +x "$tmp/env.sh"
GOOGLE_API_KEY=inherited-real-key GOOGLE_GENAI_USE_VERTEXAI=true GEMINI_API_KEY=inherited \
    "$bin" run --client "$tmp/env.sh" --json "$tmp/env.json" "$data/0-first.yaml" \
    >"$tmp/env.out" 2>&1
[ -s "$tmp/env.json" ] || fail "no report: $(cat "$tmp/env.out")"
err=$("$jsonq" "$tmp/env.json" runs.0.stderr_tail)
base=$(sed -n 's/^FAULTLINE_BASE_URL=//p' <<<"$err")
[[ $base =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "FAULTLINE_BASE_URL '$base'"
for want in "GOOGLE_GEMINI_BASE_URL=$base" "GEMINI_API_KEY=sk-faultline-dummy-key" \
    "GOOGLE_GENERATIVE_AI_API_KEY=sk-faultline-dummy-key" "FAULTLINE_DIALECT=gemini" \
    "FAULTLINE_MODEL=gemini-2.5-flash" "GOOGLE_API_KEY=unset" "GOOGLE_GENAI_USE_VERTEXAI=unset"; do
    grep -qxF "$want" <<<"$err" || fail "the client's environment lacks $want: $err"
done

# --dialect gemini: the four gemini scenarios of the folder, not its openai-chat one.
"$bin" run -j 4 --keep-going --dialect gemini --client "$build/clients/c/robust" \
    --json "$tmp/robust.json" "$data" >"$tmp/robust.out" 2>&1 ||
    fail "robust on gemini: $(cat "$tmp/robust.out")"
[ "$("$jsonq" "$tmp/robust.json" runs.#)" = 4 ] || fail "--dialect gemini ran $("$jsonq" "$tmp/robust.json" runs.#) runs"
"$jsonq" "$tmp/robust.json" -l runs | grep -q gm-chat && fail "--dialect gemini ran gm-chat"
for i in 0 1 2 3; do
    [ "$("$jsonq" "$tmp/robust.json" "runs.$i.dialect")" = gemini ] || fail "run $i is not gemini"
done
score=$("$jsonq" "$tmp/robust.json" score)
[ "$score" = 100 ] || [ "$score" = 100.0 ] || fail "robust scored $score on gemini"
echo "ok: gemini contract and --dialect gemini"

#!/usr/bin/env bash
# `faultline validate` as a user runs it: the shipped scenarios pass, a bad file fails with
# file:line:col on stderr and exit status 2.
# Usage: bash validate.sh <faultline-binary> <source-dir>
set -u
bin=$1
src=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$bin" validate "$src/scenarios/" 2>/tmp/fl-validate-err.$$)
rc=$?
err=$(cat /tmp/fl-validate-err.$$); rm -f /tmp/fl-validate-err.$$
[ "$rc" -eq 0 ] || fail "validate scenarios/ exited $rc: $err"
[[ "$out" =~ ^ok:\ [0-9]+\ scenarios$ ]] || fail "unexpected stdout: $out"
[ -z "$err" ] || fail "unexpected stderr: $err"

bad="$src/tests/data/scenarios/invalid/unknown-key-suggest.yaml"
out=$("$bin" validate "$bad" 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 2 ] || fail "bad file exited $rc, expected 2"
expected="$bad:6:3: response.ttft: unknown key 'ttft' (did you mean 'ttft_ms'?)"
[ "$out" = "$expected" ] || fail "stderr was: $out"

# Good and bad together: still 2, and nothing on stdout.
out=$("$bin" validate "$src/scenarios/clean/hello.yaml" "$bad" 2>/dev/null)
rc=$?
[ "$rc" -eq 2 ] || fail "mixed arguments exited $rc, expected 2"
[ -z "$out" ] || fail "stdout on failure: $out"

"$bin" validate >/dev/null 2>&1
[ $? -eq 2 ] || fail "no arguments must exit 2"
"$bin" validate --help | grep -q '^usage: faultline validate' || fail "--help prints usage"
"$bin" validate --help >/dev/null || fail "--help must exit 0"
echo "ok"

# shellcheck shell=bash
# Sourced by the shell tests that drive `faultline run` with the test clients: what each of
# them needs before its first check and after its last.
#
#   fl_harness_init BIN SRC
#     sets bin and src; tc and jq, the test client and the JSON field printer (FL_TESTCLIENT and
#     FL_JSONQ, which ctest sets, else beside BIN in tests/); data, tests/data/run; tmp, a new
#     directory removed at exit, after the test's own fl_on_exit when it defines one; and
#     failures=0. Fails the test (exit 1) when the test clients are missing.
#   fail MESSAGE...
#     prints FAIL: MESSAGE on stderr and counts it; the test goes on.
#   fl_finish
#     fails the test when a sanitizer reported anything in $tmp/*.err, then exits 1 with the
#     count when anything failed, else prints ok.

fl_harness_init() {
    bin=$1
    src=$2
    tc=${FL_TESTCLIENT:-$(dirname "$bin")/tests/testclient}
    jq=${FL_JSONQ:-$(dirname "$bin")/tests/jsonq}
    data=$src/tests/data/run
    [ -x "$tc" ] && [ -x "$jq" ] || { echo "FAIL: no testclient/jsonq at $tc, $jq" >&2; exit 1; }
    tmp=$(mktemp -d)
    failures=0
    trap fl_harness_exit EXIT
}

fl_harness_exit() {
    if declare -F fl_on_exit >/dev/null; then fl_on_exit; fi
    rm -rf "$tmp"
}

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

fl_finish() {
    local f
    for f in "$tmp"/*.err; do
        [ -f "$f" ] || continue
        if grep -qE 'Sanitizer|runtime error:' "$f"; then fail "sanitizer report in $(basename "$f")"; fi
    done
    if [ "$failures" -gt 0 ]; then
        echo "$failures failure(s)" >&2
        exit 1
    fi
    echo ok
}

#!/usr/bin/env bash
# faultline run starts the longest scripted scenarios first (harness/run/schedule.h): three
# scenarios at -j 2, in file order a (shortest), b, c (longest, a 1.5 s stall). Longest first,
# c and b start at once and a only when one of them is done; with --order file, a and b start
# and c waits. The client writes its scenario's name to a file as it starts. Either way the
# reports list the runs in file order.
# Usage: bash run_order.sh <faultline-binary> <source-dir>
set -u
# shellcheck source-path=SCRIPTDIR source=../support/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/harness.sh"
fl_harness_init "$1" "$2"
order=$src/tests/data/run-order

# run NAME ARGS...: the three scenarios with a client that logs its start; NAME.{started,json}
run() {
    local name=$1
    shift
    : >"$tmp/$name.started"
    "$bin" run --client "echo \$FAULTLINE_SCENARIO >>$tmp/$name.started; exec $tc correct" \
        -j 2 --json "$tmp/$name.json" "$@" "$order" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
        fail "$name: exit $? ($(tail -n 3 "$tmp/$name.err"))"
}
third() { sed -n 3p "$tmp/$1.started"; }

run longest
[ "$(wc -l <"$tmp/longest.started")" = 3 ] || fail "longest: $(wc -l <"$tmp/longest.started") starts"
[ "$(third longest)" = order-a-short ] ||
    fail "longest first: started $(paste -sd, "$tmp/longest.started"), expected a-short last"
run file --order file
[ "$(third file)" = order-c-long ] ||
    fail "--order file: started $(paste -sd, "$tmp/file.started"), expected c-long last"
for n in longest file; do
    got=$("$jq" "$tmp/$n.json" runs.0.scenario),$("$jq" "$tmp/$n.json" runs.1.scenario),$("$jq" "$tmp/$n.json" runs.2.scenario)
    [ "$got" = order-a-short,order-b-medium,order-c-long ] || fail "$n: report order $got"
    [ "$("$jq" "$tmp/$n.json" score)" = 100.0 ] || fail "$n: score $("$jq" "$tmp/$n.json" score)"
done
"$bin" run --client true --order fastest "$order" >/dev/null 2>"$tmp/bad.err"
[ $? = 2 ] || fail "--order fastest: not a usage error"
grep -q "longest or file" "$tmp/bad.err" || fail "--order fastest: $(cat "$tmp/bad.err")"
fl_finish

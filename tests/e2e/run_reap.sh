#!/usr/bin/env bash
# Nothing a client starts outlives its run (issue 11). The client leaves three daemons behind
# before it answers, each in a session of its own (out of reach of the group kill): `setsid
# sleep`, a double fork whose middle process exits (the classic daemonize), and one started
# with an empty environment (so not even FAULTLINE_RUN_ID tells whose it is). Each writes its
# pid to a file. Once `faultline run` returns, none of them may be alive. With -j 1 the first
# two kinds of the first run must already be gone when the second run's client starts (the
# third is only known to be the run's when the whole run ends): that client fails (exit 1, so
# the run does not pass) when it finds one of them alive.
# Usage: bash run_reap.sh <faultline-binary> <source-dir>
set -u
# shellcheck source-path=SCRIPTDIR source=../support/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/harness.sh"
fl_harness_init "$1" "$2"
fl_on_exit() {
    local f
    for f in "$tmp"/d-*; do [ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }

cat >"$tmp/client.sh" <<EOF
#!/bin/sh
d=$tmp/d
for f in \$d-setsid-* \$d-double-*; do
    [ -s "\$f" ] || continue
    p=\$(cat "\$f")
    if [ -r /proc/\$p/stat ] && ! grep -q ') Z ' /proc/\$p/stat; then
        echo "a daemon of an earlier run is alive: \$f (\$p)" >&2
        exit 1
    fi
done
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo \$! >\$d-setsid-\$FAULTLINE_SCENARIO
(setsid sh -c "sleep 300 & echo \\\$! >\$d-double-\$FAULTLINE_SCENARIO" </dev/null >/dev/null 2>&1 &)
env -i $(command -v setsid) $(command -v sleep) 300 </dev/null >/dev/null 2>&1 &
echo \$! >\$d-noenv-\$FAULTLINE_SCENARIO
# the double fork's pid file is written by its last process: wait for it (at most 5 s)
i=0
while [ ! -s \$d-double-\$FAULTLINE_SCENARIO ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
exec $tc correct
EOF
chmod +x "$tmp/client.sh"

timeout --foreground 60 "$bin" run --client "$tmp/client.sh" -j 1 --keep-going \
    --json "$tmp/run.json" "$data/clean.yaml" "$data/401.yaml" >"$tmp/run.out" 2>"$tmp/run.err"
rc=$?
[ "$rc" = 0 ] || fail "exit $rc, expected 0; $(head -c 300 "$tmp/run.err")"
for i in 0 1; do
    [ "$("$jq" "$tmp/run.json" runs.$i.passed 2>/dev/null)" = true ] ||
        fail "run $i did not pass: $("$jq" "$tmp/run.json" runs.$i.reason 2>/dev/null)"
done
n=0
for kind in setsid double noenv; do
    for s in run-clean run-401; do
        f=$tmp/d-$kind-$s
        [ -s "$f" ] || { fail "$kind daemon of $s never wrote its pid"; continue; }
        n=$((n + 1))
        p=$(cat "$f")
        if alive "$p"; then fail "the $kind daemon of $s ($p) outlived faultline run"; fi
    done
done
[ "$n" = 6 ] || fail "$n daemons seen, expected 6"

fl_finish

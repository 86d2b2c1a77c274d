# shellcheck shell=bash
# Sourced by the shell tests: starts `faultline serve` in the background and waits for the URL
# line it prints first, so each test states only what it serves.
#
#   fl_serve_start BIN LIMIT_S OUT ERR ARGS...
#     runs `BIN serve ARGS...` for at most LIMIT_S seconds with stdout to OUT and stderr to ERR;
#     sets `pid` (the timeout(1) wrapper) and `url`. Fails the test (exit 1, printing ERR) when
#     no http://127.0.0.1:PORT line appears within 5 s.
#   fl_serve_kill
#     SIGKILLs the server if it is still running (for the caller's EXIT trap).
#
# timeout --foreground: timeout(1) must signal only serve, never its process group; under ASan
# the group holds LeakSanitizer's exit-time tracer, which deadlocks when it is sent SIGTERM.

fl_serve_start() {
    local bin=$1 limit=$2 out=$3 err=$4
    shift 4
    # Emptied here, not only by the background job's redirection: that runs in the child, after
    # this shell may already have read a URL left in OUT by an earlier server (then the test
    # talks to a dead server and signals the new one before it handles signals: exit 143).
    : >"$out"
    timeout --foreground -k 5 "$limit" "$bin" serve "$@" >"$out" 2>"$err" &
    pid=$!
    url=
    for _ in $(seq 1 100); do
        url=$(head -n 1 "$out" 2>/dev/null || true)
        [[ -n $url ]] && break
        sleep 0.05
    done
    if [[ ! $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]]; then
        echo "FAIL: faultline serve printed no URL line: '$url'" >&2
        cat "$err" >&2
        exit 1
    fi
}

fl_serve_kill() {
    if [[ -n ${pid:-} ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
}

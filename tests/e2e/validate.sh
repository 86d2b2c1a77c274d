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

# Paths that are not regular files are refused with what they are, and never hang: a FIFO
# (opening it would block until a writer came), a socket, a device, and a FIFO named like a
# scenario inside a directory (refused, while the directory's good file still loads). Each
# command is bounded: `timeout` exits 124 if it hangs.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/fifo.yaml"
mkdir "$tmp/dir"
cp "$src/scenarios/clean/hello.yaml" "$tmp/dir/"
mkfifo "$tmp/dir/pipe.yaml"
perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
    bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!"' "$tmp/sock.yaml" ||
    fail "cannot make a unix socket file"
refused() { # WANT-MESSAGE CMD...: exit 2 and "PATH: WANT-MESSAGE" on stderr, PATH the last arg
    local want=$1 path=${*: -1}
    shift
    out=$(timeout 10 "$@" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 2 ] || fail "$*: exit $rc, expected 2 (124: it hung)"
    [[ $out == *"$path: $want"* ]] || fail "$*: stderr was: $out"
}
refused "is a FIFO (named pipe), not a regular file" "$bin" validate "$tmp/fifo.yaml"
refused "is a socket, not a regular file" "$bin" validate "$tmp/sock.yaml"
refused "is a device, not a regular file" "$bin" validate /dev/null
refused "is a FIFO (named pipe), not a regular file" "$bin" serve "$tmp/fifo.yaml"
out=$(timeout 10 "$bin" validate "$tmp/dir" 2>&1)
rc=$?
[ "$rc" -eq 2 ] || fail "a directory holding a FIFO: exit $rc, expected 2 (124: it hung)"
[[ $out == "$tmp/dir/pipe.yaml: is a FIFO (named pipe), not a regular file" ]] ||
    fail "a directory holding a FIFO: stderr was: $out"

"$bin" validate >/dev/null 2>&1
[ $? -eq 2 ] || fail "no arguments must exit 2"
"$bin" validate --help | grep -q '^usage: faultline validate' || fail "--help prints usage"
"$bin" validate --help >/dev/null || fail "--help must exit 0"
echo "ok"

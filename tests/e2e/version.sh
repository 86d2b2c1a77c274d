#!/usr/bin/env bash
# `faultline --version` and where the binary finds its data, as a user meets them:
#   - --version and `version` print "faultline X.Y.Z (git REV)" with the project version of
#     CMakeLists.txt and this checkout's commit; every report (JSON, JUnit, --summary) says the
#     same; cmake/write_version.cmake leaves the revision out for sources that are not a
#     checkout of their own, takes FL_GIT_REVISION, and refuses a revision that would break C;
#   - the catalog order: the build's binary uses the source tree; a copy elsewhere finds
#     nothing until a share/faultline/scenarios sits beside its bin/, then that one; and
#     $FAULTLINE_CATALOG wins over both; the clients' folder reaches the client as
#     $FAULTLINE_CLIENTS.
# Usage: version.sh FAULTLINE SOURCE_DIR (FL_TESTCLIENT, FL_JSONQ from ctest)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
fl_e2e_init "$@"

# ---- the version string --------------------------------------------------------------------
project=$(sed -nE 's/^project\(faultline VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
[ -n "$project" ] || fail "no project version in CMakeLists.txt"
v=$("$bin" --version)
[ "$("$bin" version)" = "$v" ] || fail "'version' says $("$bin" version), --version $v"
if command -v git >/dev/null && [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ]; then
    head=$(git -C "$src" rev-parse --short=7 HEAD)
    [[ $v =~ ^faultline\ $project\ \(git\ $head(-dirty)?\)$ ]] ||
        fail "--version printed '$v'; expected faultline $project (git ${head}[-dirty])"
else
    [ "$v" = "faultline $project" ] || fail "--version printed '$v' outside a checkout"
fi
version=${v#faultline }

# the reports record it
data=$src/tests/data/run
"$bin" run --client "$tc correct" --json "$tmp/r.json" --junit "$tmp/r.xml" \
    --summary "$tmp/r.md" "$data/clean.yaml" >/dev/null 2>&1 || fail "a correct run failed"
[ "$("$jsonq" "$tmp/r.json" faultline)" = "$version" ] ||
    fail "JSON report: faultline = $("$jsonq" "$tmp/r.json" faultline)"
grep -qF "<property name=\"faultline\" value=\"$version\"/>" "$tmp/r.xml" ||
    fail "JUnit report has no faultline property: $(grep property "$tmp/r.xml")"
grep -qF "<sub>faultline $version · " "$tmp/r.md" || fail "summary footer: $(tail -2 "$tmp/r.md")"
grep -qxF "### Faultline: passed, score 100.0/100" "$tmp/r.md" || fail "summary: $(head -3 "$tmp/r.md")"

# write_version.cmake on its own: no checkout, a given revision, a checkout's subfolder
wv=$src/cmake/write_version.cmake
mkdir "$tmp/archive"
cmake -DSOURCE_DIR="$tmp/archive" -DOUTPUT="$tmp/v1.h" -DVERSION=1.2.3 -P "$wv"
grep -qxF '#define FL_VERSION "1.2.3"' "$tmp/v1.h" || fail "no checkout: $(grep 'define FL' "$tmp/v1.h")"
grep -qxF '#define FL_VERSION_REVISION ""' "$tmp/v1.h" || fail "no checkout has a revision"
cmake -DSOURCE_DIR="$tmp/archive" -DOUTPUT="$tmp/v2.h" -DVERSION=1.2.3 -DREVISION=abc1234 -P "$wv"
grep -qxF '#define FL_VERSION "1.2.3 (git abc1234)"' "$tmp/v2.h" || fail "REVISION: $(grep 'define FL' "$tmp/v2.h")"
cmake -DSOURCE_DIR="$src/tests/data" -DOUTPUT="$tmp/v3.h" -DVERSION=1.2.3 -P "$wv"
grep -qxF '#define FL_VERSION "1.2.3"' "$tmp/v3.h" || fail "a subfolder took the checkout's commit"
if cmake -DSOURCE_DIR="$tmp/archive" -DOUTPUT="$tmp/v4.h" -DVERSION=1 -DREVISION='a"b' -P "$wv" 2>/dev/null; then
    fail "a revision with a quote was accepted"
fi
# an unchanged header is not rewritten (so nothing recompiles)
touch -d '2001-01-01' "$tmp/v1.h"
cmake -DSOURCE_DIR="$tmp/archive" -DOUTPUT="$tmp/v1.h" -DVERSION=1.2.3 -P "$wv"
[ "$(stat -c %Y "$tmp/v1.h")" = "$(date -d 2001-01-01 +%s)" ] || fail "an unchanged header was rewritten"

# ---- the catalog order -----------------------------------------------------------------------
# catalog_line BIN [VAR=VALUE]: the catalog `BIN version --paths` names, with that environment
catalog_line() { env -u FAULTLINE_CATALOG "${@:2}" "$1" version --paths | sed -n 's/^catalog: *//p'; }
[ "$(catalog_line "$bin")" = "$src/scenarios (build directory)" ] ||
    fail "build binary: $("$bin" version --paths)"

# A copy of the binary outside its build directory has nothing to fall back on.
mkdir -p "$tmp/prefix/bin"
cp "$bin" "$tmp/prefix/bin/faultline"
copy=$tmp/prefix/bin/faultline
[ "$(catalog_line "$copy")" = "(not found)" ] ||
    fail "a lone copy found a catalog: $("$copy" version --paths)"
rc=0
(cd "$tmp" && env -u FAULTLINE_CATALOG "$copy" run --client "$tc correct" >"$tmp/out" 2>"$tmp/err") || rc=$?
[ "$rc" = 2 ] || fail "run without a catalog exited $rc"
grep -q 'no built-in catalog found' "$tmp/err" || fail "run without a catalog said: $(cat "$tmp/err")"

# share/faultline/scenarios beside bin/: the installed layout.
installed=$tmp/prefix/share/faultline/scenarios
mkdir -p "$installed" "$tmp/prefix/libexec/faultline/clients" "$tmp/env-catalog"
cp "$data/clean.yaml" "$installed/"
cp "$data/reset-once.yaml" "$tmp/env-catalog/"
(cd "$tmp" && env -u FAULTLINE_CATALOG "$copy" run --help) | grep -qxF "Here: $installed (installed)." ||
    fail "run --help: $(env -u FAULTLINE_CATALOG "$copy" run --help | grep Here)"
(cd "$tmp" && env -u FAULTLINE_CATALOG "$copy" run --client "$tc correct" --json "$tmp/i.json" >/dev/null) ||
    fail "run on the installed catalog failed"
[ "$("$jsonq" "$tmp/i.json" runs.#) $("$jsonq" "$tmp/i.json" runs.0.file)" = "1 $installed/clean.yaml" ] ||
    fail "installed catalog: $("$jsonq" "$tmp/i.json" runs.0.file)"

# $FAULTLINE_CATALOG wins over the installed catalog.
[ "$(catalog_line "$copy" FAULTLINE_CATALOG="$tmp/env-catalog")" = \
    "$tmp/env-catalog (\$FAULTLINE_CATALOG)" ] || fail "env: $(catalog_line "$copy" FAULTLINE_CATALOG="$tmp/env-catalog")"
(cd "$tmp" && FAULTLINE_CATALOG=$tmp/env-catalog "$copy" run --client "$tc correct" --json "$tmp/e.json" >/dev/null) ||
    fail "run on \$FAULTLINE_CATALOG failed"
[ "$("$jsonq" "$tmp/e.json" runs.0.file)" = "$tmp/env-catalog/reset-once.yaml" ] ||
    fail "\$FAULTLINE_CATALOG lost to $("$jsonq" "$tmp/e.json" runs.0.file)"

# The clients' folder reaches the client command as $FAULTLINE_CLIENTS (the harness strips
# every other FAULTLINE_* it inherited, so this one must be its own).
printf '#!/bin/sh\necho "clients=$FAULTLINE_CLIENTS" >&2\nexit 3\n' >"$tmp/prefix/libexec/faultline/clients/probe"
chmod +x "$tmp/prefix/libexec/faultline/clients/probe"
(cd "$tmp" && env -u FAULTLINE_CATALOG FAULTLINE_CLIENTS=/inherited "$copy" run \
    --client '"$FAULTLINE_CLIENTS"/probe' --json "$tmp/c.json" >/dev/null) && fail "probe passed"
[ "$("$jsonq" "$tmp/c.json" runs.0.stderr_tail)" = "clients=$tmp/prefix/libexec/faultline/clients" ] ||
    fail "FAULTLINE_CLIENTS: $("$jsonq" "$tmp/c.json" runs.0.stderr_tail)"
echo "ok: $v"

#!/usr/bin/env bash
# The Debian package, end to end: `cpack -G DEB` packs this build directory; the package's
# Depends must name the Debian package of every library its programs link; `dpkg-deb -x`
# unpacks it into an empty root; and the unpacked faultline, started from another folder with
# a bare environment and (where unshare(1) may) the source and build trees hidden under empty
# tmpfs mounts, must find its own catalog, schema and clients, validate the catalog, and score
# the installed robust client on a few installed scenarios. A marker scenario added to the
# unpacked catalog only proves which catalog was read. Then the man page and the bash
# completion are checked against the options the binary really has.
# Usage: package.sh FAULTLINE SOURCE_DIR (FL_JSONQ: build/tests/jsonq)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/e2e.sh"
fl_e2e_init "$@"

for tool in cpack dpkg-deb dpkg-shlibdeps file readelf; do
    command -v "$tool" >/dev/null || fail "$tool is missing (bash scripts/setup.sh)"
done
[ -f "$build/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $build"

# ---- build the package ----------------------------------------------------------------------
cpack -G DEB -B "$tmp/out" --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
debs=("$tmp"/out/faultline_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
    fail "expected one faultline_*.deb, got: ${debs[*]}"
fi
deb=${debs[0]}
version=$("$bin" --version)
[ "$(dpkg-deb -f "$deb" Package)" = faultline ] || fail "package name: $(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Version)" = "$(sed -E 's/^faultline ([^ ]+).*/\1/' <<<"$version")" ] ||
    fail "package version $(dpkg-deb -f "$deb" Version) is not that of $version"

root=$tmp/root
mkdir "$root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/faultline usr/libexec/faultline/clients/robust usr/libexec/faultline/clients/naive \
    usr/share/faultline/scenarios/faultline.schema.json usr/share/faultline/scenarios/clean/hello.yaml \
    usr/share/man/man1/faultline.1.gz usr/share/bash-completion/completions/faultline \
    usr/share/doc/faultline/README.md; do
    [ -e "$root/$f" ] || fail "the package has no /$f"
done
n_src=$(find "$src/scenarios" -name '*.yaml' | wc -l)
n_pkg=$(find "$root/usr/share/faultline/scenarios" -name '*.yaml' | wc -l)
[ "$n_src" -eq "$n_pkg" ] || fail "the package has $n_pkg scenarios, the source tree $n_src"

# ---- Depends: the package of every library each installed program links --------------------
depends=$(dpkg-deb -f "$deb" Depends)
pkg_names=" $(sed -E 's/\([^)]*\)//g; s/[,|]/ /g' <<<"$depends" | tr -s ' ') "
for exe in usr/bin/faultline usr/libexec/faultline/clients/robust usr/libexec/faultline/clients/naive; do
    while read -r soname; do
        path=$(ldd "$root/$exe" | awk -v so="$soname" '$1 == so { print $3 }')
        [ -n "$path" ] || fail "/$exe: ldd does not resolve $soname"
        owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
            dpkg -S "/usr$path" 2>/dev/null) || fail "no Debian package owns $path"
        owner=${owner%%:*}
        [[ $pkg_names == *" $owner "* ]] ||
            fail "/$exe links $soname from $owner, which Depends ($depends) does not name"
    done < <(readelf -d "$root/$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done

# ---- run the unpacked binary away from the source tree --------------------------------------
# The marker exists only in the unpacked catalog: finding it proves which catalog was read.
cat=$root/usr/share/faultline/scenarios
sed 's/^name: hello$/name: package-marker/' "$cat/clean/hello.yaml" >"$cat/clean/package-marker.yaml"
grep -q '^name: package-marker$' "$cat/clean/package-marker.yaml" || fail "marker not written"
mkdir "$tmp/elsewhere"
cat >"$tmp/inner.sh" <<'EOF'
# Runs inside the sandbox: only the unpacked tree and this folder are used.
set -u
fl=$ROOT/usr/bin/faultline
[ -n "$HIDE" ] && for d in $HIDE; do [ ! -e "$d/CMakeCache.txt" ] && [ ! -e "$d/CMakeLists.txt" ] ||
    { echo "$d is still visible" >&2; exit 99; }; done
"$fl" version --paths >paths.txt 2>&1
"$fl" run --help >help.txt 2>&1
"$fl" validate "$ROOT/usr/share/faultline/scenarios" >validate.txt 2>&1
echo $? >validate.rc
"$fl" run -j 8 --client '"$FAULTLINE_CLIENTS"/robust' --filter openai-chat-text \
    --filter anthropic-tool-call --filter openai-responses-split-utf8-3byte \
    --filter openai-chat-401-unauthorized --filter package-marker --json run.json >run.txt 2>&1
echo $? >run.rc
EOF
hide=""
sandbox=()
# Hide the checkout and the build directory behind empty tmpfs mounts in a private mount
# namespace (root, or an unprivileged user namespace where the kernel allows it).
case $tmp/ in "$src"/* | "$build"/*) ;; *)
    userns=()
    [ "$(id -u)" -eq 0 ] || userns=(--map-root-user)
    if unshare --mount "${userns[@]}" true 2>/dev/null; then
        hide=$src
        [[ $build/ == "$src"/* ]] || hide="$hide $build"
        mounts=""
        for d in $hide; do mounts="$mounts mount -t tmpfs none '$d' &&"; done
        sandbox=(unshare --mount "${userns[@]}" sh -c "$mounts exec \"\$@\"" sh)
    fi
    ;;
esac
[ -n "$hide" ] || echo "package.sh: unshare unavailable; the source tree stays visible" >&2
(cd "$tmp/elsewhere" && "${sandbox[@]}" env -i PATH=/usr/bin:/bin HOME="$tmp/elsewhere" \
    ROOT="$root" HIDE="$hide" bash "$tmp/inner.sh") || fail "sandbox exited $? (see above)"

out=$tmp/elsewhere
grep -qxF "catalog: $cat (installed)" "$out/paths.txt" || fail "catalog path: $(cat "$out/paths.txt")"
grep -qxF "schema:  $cat/faultline.schema.json (installed)" "$out/paths.txt" ||
    fail "schema path: $(cat "$out/paths.txt")"
grep -qxF "clients: $root/usr/libexec/faultline/clients (installed)" "$out/paths.txt" ||
    fail "clients path: $(cat "$out/paths.txt")"
grep -qxF "Here: $cat (installed)." "$out/help.txt" || fail "run --help: $(cat "$out/help.txt")"
grep -qF '1. $FAULTLINE_CATALOG' "$out/help.txt" || fail "run --help does not give the order"
[ "$(cat "$out/validate.rc")" = 0 ] || fail "validate: $(cat "$out/validate.txt")"
[ "$(cat "$out/validate.txt")" = "ok: $((n_src + 1)) scenarios" ] ||
    fail "validate printed: $(cat "$out/validate.txt")"
[ "$(cat "$out/run.rc")" = 0 ] || fail "run exited $(cat "$out/run.rc"): $(cat "$out/run.txt")"
json=$out/run.json
[ "$("$jsonq" "$json" runs.#)" = 5 ] || fail "$("$jsonq" "$json" runs.#) runs, expected 5"
# runs_field KEY: each run's KEY, sorted, on one line
runs_field() { for i in 0 1 2 3 4; do "$jsonq" "$json" "runs.$i.$1"; done | sort | tr '\n' ' '; }
[ "$(runs_field scenario)" = "anthropic-tool-call openai-chat-401-unauthorized openai-chat-text openai-responses-split-utf8-3byte package-marker " ] ||
    fail "scenarios run: $(runs_field scenario)"
[ "$(runs_field verdict)" = "correct correct correct failed_cleanly recovered " ] ||
    fail "verdicts: $(runs_field verdict)"
[ "faultline $("$jsonq" "$json" faultline)" = "$version" ] ||
    fail "the report says $("$jsonq" "$json" faultline), --version says $version"

# ---- the Action's package mode uses this .deb -----------------------------------------------
# (tests/e2e/action.sh runs its build-from-source mode.) The dependencies are all installed
# here, so the step must find them present and leave apt alone.
fl_action_python
mkdir "$tmp/runner" "$tmp/workspace"
rc=0
(cd "$tmp/workspace" && RUNNER_TEMP=$tmp/runner GITHUB_WORKSPACE=$tmp/workspace RUNNER_OS=Linux \
    GITHUB_STEP_SUMMARY=$tmp/summary.md FL_ACTION_CACHE=$tmp/cache \
    "$py" "$src/tests/support/run_action.py" run "$src" package="$deb" \
    client='"$FAULTLINE_CLIENTS"/robust' filter=openai-chat-text) >"$tmp/action.out" 2>"$tmp/action.log" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/action.log" >&2; fail "the action with package= exited $rc"; }
[ "$(cat "$tmp/action.out")" = '{"score": "100.0"}' ] || fail "action outputs: $(cat "$tmp/action.out")"
grep -q 'dependencies present' "$tmp/action.log" || fail "action log: $(cat "$tmp/action.log")"
if [ -e "$tmp/cache" ] || grep -q 'run_action: cache' "$tmp/action.log"; then
    fail "package mode used the cache"
fi
[ "$("$jsonq" "$tmp/runner/faultline-report.json" runs.0.file)" = \
    "$tmp/runner/faultline-package/usr/share/faultline/scenarios/clean/openai-chat-text.yaml" ] ||
    fail "package mode ran $("$jsonq" "$tmp/runner/faultline-report.json" runs.0.file)"
grep -qxF '### Faultline: passed, score 100.0/100' "$tmp/summary.md" || fail "package mode summary"

# ---- the man page and the completion know every option --------------------------------------
man=$tmp/faultline.1
gzip -dc "$root/usr/share/man/man1/faultline.1.gz" >"$man"
if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1) || fail "groff: $warnings"
    [ -z "$warnings" ] || fail "groff warns: $warnings"
fi
comp=$root/usr/share/bash-completion/completions/faultline
for sub in run serve proxy validate import version; do
    grep -q "^\.SS \"faultline $sub" "$man" || fail "the man page has no section for $sub"
done
for sub in run serve proxy import; do
    for opt in $("$bin" "$sub" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -qF -- "${opt//-/\\-}" "$man" || fail "the man page lacks $sub $opt"
        grep -qE -- "(^|[ '])$opt( |'|$)" "$comp" || fail "the completion lacks $sub $opt"
    done
done
# complete WORDS...: what the installed completion offers for the last word.
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _faultline
             printf "%s\n" "${COMPREPLY[@]}"' sh "$comp" "$@"
}
[ "$(complete_words faultline ve)" = version ] || fail "completing 've': $(complete_words faultline ve)"
[ "$(complete_words faultline run --dia)" = --dialect ] || fail "completing '--dia'"
[ "$(complete_words faultline run --dialect openai-chat,anth)" = openai-chat,anthropic-messages ] ||
    fail "completing a dialect list: $(complete_words faultline run --dialect openai-chat,anth)"
# --filter offers the names in the catalog the binary uses: here the unpacked one.
[ "$(complete_words "$root/usr/bin/faultline" run --filter package-m)" = package-marker ] ||
    fail "completing --filter: $(complete_words "$root/usr/bin/faultline" run --filter package-m)"
echo "ok: $(basename "$deb") ($(stat -c %s "$deb") bytes), Depends: $depends"

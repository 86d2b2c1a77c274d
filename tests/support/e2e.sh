# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the test that sources this
# Sourced by the install tests (version.sh, package.sh, action.sh), run by ctest as
# `bash TEST FAULTLINE SOURCE_DIR` with FL_TESTCLIENT and FL_JSONQ set.
#
#   fl_e2e_init FAULTLINE SOURCE_DIR
#     sets bin, src (absolute), build (the binary's folder, absolute), tc and jsonq (the test
#     client and JSON reader: FL_TESTCLIENT, FL_JSONQ, else the build's), and tmp (a folder
#     removed at exit); defines fail MSG (prints FAIL: MSG, exits 1).
#   fl_action_python
#     sets py to a python3 that has the yaml module, for tests/support/run_action.py (PATH's
#     first, else Debian's, which scripts/setup.sh gives python3-yaml); fails when none has.
fl_e2e_init() {
    bin=$1
    src=$(cd "$2" && pwd)
    build=$(cd "$(dirname "$bin")" && pwd)
    tc=${FL_TESTCLIENT:-$build/tests/testclient}
    jsonq=${FL_JSONQ:-$build/tests/jsonq}
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # tmp is fixed now, on purpose
    trap "rm -rf '$tmp'" EXIT
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

fl_action_python() {
    py=""
    local p
    for p in python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then
            py=$p
            return
        fi
    done
    fail "python3 with the yaml module is missing (bash scripts/setup.sh installs python3-yaml)"
}

# shellcheck shell=bash
# Sourced by the shell tests that run action.yml through tests/support/run_action.py.
#
#   fl_action_python
#     sets `py` to a python3 that has the yaml module (PATH's first, else Debian's, which
#     scripts/setup.sh gives python3-yaml); fails the test (exit 1) when there is none.
fl_action_python() {
    py=""
    local p
    for p in python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then
            py=$p
            return
        fi
    done
    echo "FAIL: python3 with the yaml module is missing (bash scripts/setup.sh installs python3-yaml)" >&2
    exit 1
}

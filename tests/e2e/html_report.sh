#!/usr/bin/env bash
# The HTML report in a real browser (tests/browser/report.test.mjs): Debian's headless
# Chromium, driven by playwright-core from tests/browser/node_modules, loads pages that
# `faultline run --html` wrote for real runs of the test clients and checks their DOM. The
# screenshots are kept in the build folder, test-artifacts/html-report*.png.
# Usage: bash html_report.sh <faultline-binary> <source-dir>
set -u
bin=$1
src=$2
tc=${FL_TESTCLIENT:-$(dirname "$bin")/tests/testclient}
chromium=${FL_CHROMIUM:-/usr/bin/chromium}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -x "$tc" ] || fail "no testclient at $tc"
command -v node >/dev/null || fail "node is not installed (bash scripts/setup.sh --node)"
[ -x "$chromium" ] || fail "no Chromium at $chromium (bash scripts/setup.sh installs Debian's)"
[ -f "$src/tests/browser/node_modules/playwright-core/package.json" ] ||
    fail "tests/browser/node_modules is missing (bash scripts/setup.sh --node runs npm ci there)"
artifacts=$(cd "$(dirname "$bin")" && pwd)/test-artifacts
# playwright-core never downloads a browser; this says so once more to anything that might.
FAULTLINE=$bin FL_SOURCE_DIR=$src FL_TESTCLIENT=$tc FL_ARTIFACTS=$artifacts FL_CHROMIUM=$chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    node --test --test-reporter=spec "$src/tests/browser/report.test.mjs" || fail "the browser test failed"
for png in html-report.png html-report-run.png; do
    [ -s "$artifacts/$png" ] || fail "no screenshot $artifacts/$png"
done
echo "ok: screenshots in $artifacts"

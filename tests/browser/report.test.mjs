// The HTML report (`faultline run --html`) in a real browser: Debian's headless Chromium, driven
// by playwright-core (which has no browser of its own and never downloads one). Real runs of
// the test client, in a different mode per scenario so that several verdicts appear, give a
// page; in it every run of the JSON report of the same run has its row, each verdict's filter
// button leaves exactly that verdict's rows visible, a run opens to its timeline, nothing is
// requested but the file itself and no script error occurs. The same for a page of one run and
// one of 1,000, whose load and filter times are printed. A screenshot is kept as an artifact.
//
// Environment (tests/e2e/html_report.sh sets it): FAULTLINE, the binary; FL_SOURCE_DIR, the
// checkout; FL_TESTCLIENT, build/tests/testclient; FL_ARTIFACTS, where the screenshots go;
// FL_CHROMIUM, the browser (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';

const bin = process.env.FAULTLINE;
const src = process.env.FL_SOURCE_DIR;
const tc = process.env.FL_TESTCLIENT;
const artifacts = process.env.FL_ARTIFACTS;
const executablePath = process.env.FL_CHROMIUM || '/usr/bin/chromium';
for (const [name, value] of Object.entries({ FAULTLINE: bin, FL_SOURCE_DIR: src, FL_TESTCLIENT: tc, FL_ARTIFACTS: artifacts }))
  assert.ok(value, `${name} is not set`);

const work = mkdtempSync(join(tmpdir(), 'fl-browser-'));
let context;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  // A fresh profile, and every background service that could reach the network turned off:
  // the page itself must need none.
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  rmSync(work, { recursive: true, force: true });
});

// faultline run with --html and --json into work/NAME.*; returns the JSON report.
function faultline(name, client, args) {
  const html = join(work, `${name}.html`), json = join(work, `${name}.json`);
  const r = spawnSync(bin, ['run', '--client', client, '--html', html, '--json', json, ...args],
    { encoding: 'utf8', timeout: 90_000 });
  assert.ok(r.status === 0 || r.status === 1, `faultline run exited ${r.status}: ${r.stderr}`);
  return { html, report: JSON.parse(readFileSync(json, 'utf8')) };
}

// Opens a page and records what it asks for and every script error.
async function open(html) {
  const page = await context.newPage();
  const requests = [], errors = [];
  page.on('request', (req) => requests.push(req.url()));
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  const t0 = Date.now();
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  return { page, requests, errors, loadMs: Date.now() - t0 };
}

const rows = (page) => page.locator('#runs tbody tr');
const visibleVerdicts = (page) => page.$$eval('#runs tbody tr',
  (trs) => trs.filter((tr) => tr.offsetParent !== null).map((tr) => tr.dataset.verdict));

// Clicks a filter button and checks that exactly the runs it names are visible, in the table
// and among the run sections.
async function checkFilter(page, filter, want, total) {
  await page.click(`.filters button[data-filter="${filter}"]`);
  const shown = await visibleVerdicts(page);
  assert.equal(shown.length, want.length, `filter ${filter}: ${shown.length} rows visible`);
  assert.deepEqual(shown, want, `filter ${filter}: the visible rows`);
  assert.equal(await page.locator('#shown').textContent(), `showing ${want.length} of ${total} runs`);
  assert.equal(await page.locator(`.filters button[data-filter="${filter}"]`).getAttribute('aria-pressed'), 'true');
  const sections = await page.$$eval('details.run', (ds) => ds.filter((d) => !d.hidden).length);
  assert.equal(sections, filter === 'not_run' ? 0 : want.length, `filter ${filter}: run sections`);
}

test('several verdicts: every run present, each filter shows only its rows', async () => {
  const data = join(src, 'tests/data/run');
  // One mode per scenario: each misbehaves in its own way.
  const client = `case $FAULTLINE_SCENARIO in
    run-401) exec ${tc} mute ;;
    run-always-reset) exec ${tc} storm ;;
    run-clean) exec ${tc} corrupt ;;
    run-reset-once) exec ${tc} truncate ;;
    run-stall-forever) exec ${tc} giveup ;;
    *) exec ${tc} correct ;;
  esac`;
  const { html, report } = faultline('verdicts', client,
    ['-j', '8', data, join(src, 'tests/data/run-extra/retry-after-past-deadline.yaml')]);
  const verdicts = report.runs.map((r) => r.verdict);
  assert.ok(new Set(verdicts).size >= 5, `only ${[...new Set(verdicts)]}`);

  const { page, requests, errors } = await open(html);
  // every run of the report, in its order, with its verdict
  assert.equal(await rows(page).count(), report.runs.length);
  const names = await page.$$eval('#runs tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(names, report.runs.map((r) => r.scenario));
  assert.deepEqual(await visibleVerdicts(page), verdicts);
  assert.equal(await page.locator('#score').textContent(), `${report.score.toFixed(1)} / 100`);
  assert.equal(await page.locator('#decision').textContent(), report.failed ? 'failed' : 'passed');

  for (const v of new Set(verdicts))
    await checkFilter(page, v, verdicts.filter((x) => x === v), verdicts.length);
  await checkFilter(page, 'failed', report.runs.filter((r) => !r.passed).map((r) => r.verdict), verdicts.length);
  await checkFilter(page, 'all', verdicts, verdicts.length);

  // A row opens its run: the timeline has a bar per attempt, drawn with a real size.
  const i = report.runs.findIndex((r) => r.scenario === 'run-rate-limited');
  await rows(page).nth(i).click();
  const run = page.locator(`#run-${i + 1}`);
  assert.equal(await run.getAttribute('open'), '');
  const svg = run.locator('svg.tl');
  const box = await svg.boundingBox();
  assert.ok(box && box.width > 600 && box.height > 60, `timeline box ${JSON.stringify(box)}`);
  assert.equal(await svg.locator('rect.bar').count(), report.runs[i].attempts.length);
  assert.equal(await svg.locator('rect.ra').count(), 1, 'the Retry-After window');
  assert.equal(await svg.locator('path.fault').count(), 1, 'the 429');
  await page.screenshot({ path: join(artifacts, 'html-report-run.png') });

  // the run hung on a 30 s Retry-After says so
  const hung = report.runs.findIndex((r) => r.scenario === 'run-retry-after-past-deadline');
  assert.deepEqual(report.runs[hung].findings, ['retry_after_past_deadline']);
  await page.goto(`${pathToFileURL(html).href}#run-${hung + 1}`);
  assert.equal(await page.locator(`#run-${hung + 1}`).getAttribute('open'), '');
  assert.equal(await page.locator(`#run-${hung + 1} svg.tl rect.ra`).count(), 1);
  await page.goto(pathToFileURL(html).href);
  await page.screenshot({ path: join(artifacts, 'html-report.png'), fullPage: true });

  assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'requests beyond the file');
  assert.deepEqual(errors, []);
  await page.close();
});

test('one run', async () => {
  const { html, report } = faultline('one', `${tc} correct`, [join(src, 'tests/data/run/reset-once.yaml')]);
  const { page, errors } = await open(html);
  assert.equal(await rows(page).count(), 1);
  assert.equal(report.runs[0].verdict, 'recovered');
  await rows(page).first().click();
  assert.equal(await page.locator('#run-1 svg.tl rect.bar').count(), 2);
  assert.equal(await page.locator('#run-1 svg.tl path.fault').count(), 1);
  assert.match(await page.locator('#run-1 .ok').textContent(), /byte for byte/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('1,000 runs: every row, a working filter, and the times it takes', async (t) => {
  // Two verdicts from clients that never touch the network, so that 1,000 runs take seconds
  // even under ASan: 500 that crash (SIGSEGV of their own) and 500 that send nothing.
  const client = 'case $FAULTLINE_SCENARIO in run-401) kill -SEGV $$ ;; esac; true';
  const { html, report } = faultline('thousand', client, ['-j', '32', '--repeat', '500',
    join(src, 'tests/data/run/401.yaml'), join(src, 'tests/data/run/clean.yaml')]);
  assert.equal(report.runs.length, 1000);
  const { page, errors, loadMs } = await open(html);
  assert.equal(await rows(page).count(), 1000);
  assert.equal(await page.locator('details.run').count(), 1000);
  const t0 = Date.now();
  await page.click('.filters button[data-filter="no_request"]');
  const shown = await visibleVerdicts(page);
  const filterMs = Date.now() - t0;
  assert.equal(shown.length, report.counts.no_request);
  assert.ok(shown.every((v) => v === 'no_request'));
  await page.click('.filters button[data-filter="all"]');
  const t1 = Date.now();
  await rows(page).nth(999).click();
  await page.locator('#run-1000 svg.tl').waitFor();
  const openMs = Date.now() - t1;
  assert.deepEqual(errors, []);
  const bytes = readFileSync(html).length;
  t.diagnostic(`1,000 runs: ${(bytes / 1e6).toFixed(1)} MB, loaded in ${loadMs} ms, ` +
    `filtered in ${filterMs} ms, last run opened in ${openMs} ms`);
  await page.close();
});

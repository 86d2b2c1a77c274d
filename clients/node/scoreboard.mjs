// Writes the scoreboard into clients/README.md from `faultline run --json` reports.
//
//   node clients/node/scoreboard.mjs README MANIFEST
//
// MANIFEST is a tab-separated file written by scripts/scoreboard.sh, one client per line:
// label, JSON report path, the exact command that produced the report, the dialects it ran,
// the libraries it is made of (space-separated `npm:PATH`, a package under node_modules in
// clients/node/package-lock.json, or `deb:PACKAGE`, a Debian package), and why it was not run
// (empty when it ran). A client not run is listed as such, with the reason.
//
// The block written replaces everything between the README's `<!-- scoreboard:begin -->` and
// `<!-- scoreboard:end -->` lines; a README without both markers is an error (exit 2), so a
// table is never appended somewhere unexpected. It holds the table (one row per client: the
// library versions, runs, score, score per dialect, passes, count per verdict, runs per
// finding), then the three most telling findings per client, then the commands run.
//
// The report shape is the harness's (README, "The JSON report"): {"faultline", "score",
// "runs": [{"scenario", "file", "dialect", "verdict", "score", "findings": [...], "reason"}]}.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

// The harness's verdicts, best first (harness/judge/verdict.h FL_VERDICT_MAP).
const VERDICTS = [
  'correct',
  'recovered',
  'failed_cleanly',
  'gave_up',
  'silent_truncation',
  'duplicated',
  'corrupted',
  'hung',
  'crashed',
  'no_request',
];
const BEGIN = '<!-- scoreboard:begin -->';
const END = '<!-- scoreboard:end -->';
const TELLING = 3;

function die(msg) {
  process.stderr.write(`scoreboard.mjs: ${msg}\n`);
  process.exit(2);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

// The dialects in the order the README's "Dialects" section lists them; others after, by name.
const DIALECTS = ['openai-chat', 'openai-responses', 'anthropic-messages', 'gemini'];
const rank = (d) => (DIALECTS.includes(d) ? DIALECTS.indexOf(d) : DIALECTS.length);

// "openai-chat 81.1 · openai-responses 70.0": the mean score of each dialect's runs.
function byDialect(runs) {
  const per = new Map();
  for (const r of runs) per.set(r.dialect, [...(per.get(r.dialect) ?? []), r.score]);
  return [...per]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([d, s]) => `${d} ${mean(s).toFixed(1)}`)
    .join(' · ');
}

// One table row from one report: versions, runs, score, score per dialect, passes (score
// 100), count per verdict, and how many runs carried each finding.
function row(c, report) {
  const runs = Array.isArray(report.runs) ? report.runs : [];
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0]));
  for (const r of runs) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  const findings = {};
  for (const r of runs) for (const f of r.findings ?? []) findings[f] = (findings[f] ?? 0) + 1;
  const passed = runs.filter((r) => r.score === 100).length;
  const score = typeof report.score === 'number' ? report.score.toFixed(1) : '?';
  const found = Object.entries(findings)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  const cells = [c.label, c.versions, runs.length, score, byDialect(runs), passed];
  return `| ${[...cells, ...VERDICTS.map((v) => counts[v]), found || '—'].join(' | ')} |`;
}

// The catalog theme of a run: its scenario file's folder (scenarios/resets/x.yaml: resets).
const theme = (r) => basename(dirname(r.file ?? '')) || '?';

// The most telling findings of one report: the runs that did not pass, grouped by verdict and
// findings, ranked by the points the group lost (100 - score per run: the rubric's own
// weights), then by runs. Each names the catalog folders its runs come from and its worst
// run (lowest score, then first by name) with the harness's reason.
function telling(report) {
  const groups = new Map();
  for (const r of report.runs ?? []) {
    if (r.score === 100) continue;
    const what = [r.verdict, ...(r.findings ?? [])].join(' + ');
    const g = groups.get(what) ?? { what, lost: 0, runs: [] };
    g.lost += 100 - r.score;
    g.runs.push(r);
    groups.set(what, g);
  }
  return [...groups.values()]
    .sort(
      (a, b) => b.lost - a.lost || b.runs.length - a.runs.length || a.what.localeCompare(b.what),
    )
    .slice(0, TELLING)
    .map((g) => {
      const themes = new Map();
      for (const r of g.runs) themes.set(theme(r), (themes.get(theme(r)) ?? 0) + 1);
      const where = [...themes]
        .sort(([a, m], [b, n]) => n - m || a.localeCompare(b))
        .map(([t, n]) => `${t} ${n}`)
        .join(', ');
      const worst = [...g.runs].sort(
        (a, b) => a.score - b.score || a.scenario.localeCompare(b.scenario),
      )[0];
      const n = g.runs.length === 1 ? '1 run' : `${g.runs.length} runs`;
      const reason = String(worst.reason ?? '').replace(/\|/g, '\\|');
      return `\`${g.what}\`, ${n}, −${g.lost} points (${where}); e.g. ${worst.scenario}: ${reason}`;
    });
}

// Versions of the libraries a client is made of: npm:PATH from the lockfile, deb:PACKAGE from
// dpkg. "`ai` 6.0.326, `@ai-sdk/openai` 3.0.141".
function versions(libs, lock) {
  return libs
    .split(/\s+/)
    .filter((spec) => spec && spec !== '-')
    .map((spec) => {
      const colon = spec.indexOf(':');
      const [kind, what] = [spec.slice(0, colon), spec.slice(colon + 1)];
      // A nested copy (@langchain/openai/node_modules/openai) is named by its package.
      const name = what.split('/node_modules/').pop();
      let v;
      if (kind === 'npm') v = lock.packages?.[`node_modules/${what}`]?.version;
      else if (kind === 'deb') {
        try {
          v = execFileSync('dpkg-query', ['-W', '-f=${Version}', what], { encoding: 'utf8' }).trim();
        } catch {
          v = undefined;
        }
      } else die(`bad library spec '${spec}' (want npm:PATH or deb:PACKAGE)`);
      return `\`${name}\` ${v || 'not installed'}`;
    })
    .join(', ');
}

const [readmePath, manifestPath] = process.argv.slice(2);
if (!readmePath || !manifestPath) die('usage: scoreboard.mjs README MANIFEST');

const here = dirname(fileURLToPath(import.meta.url));
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
const clients = readFileSync(manifestPath, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const [label, json, command, dialects = '', libs = '', note = ''] = l.split('\t');
    const spoken = dialects.replace(/,/g, ', ');
    return { label, json, command, dialects: spoken, note, versions: versions(libs, lock) || '—' };
  });

const columns = ['Client', 'Libraries', 'Runs', 'Score', 'By dialect', 'Passed', ...VERDICTS];
const header = `| ${[...columns, 'Findings (runs)'].join(' | ')} |`;
const rule = `|${' --- |'.repeat(columns.length + 1)}`;
const rows = [];
const notes = [];
const commands = [];
let faultline = '';
for (const c of clients) {
  if (c.note || !existsSync(c.json)) {
    const why = c.note || `no report at ${c.json}`;
    rows.push(`| ${c.label} | ${c.versions} | not run | | | | ${VERDICTS.map(() => '').join(' | ')} | |`);
    notes.push(`- **${c.label}** (${c.dialects}): not run, ${why}.`);
    continue;
  }
  let report;
  try {
    report = JSON.parse(readFileSync(c.json, 'utf8'));
  } catch (err) {
    die(`${c.json}: ${err.message}`);
  }
  faultline ||= report.faultline ?? '';
  rows.push(row(c, report));
  const t = telling(report);
  notes.push(`- **${c.label}** (${c.dialects})${t.length ? ':' : ': every run passed.'}`);
  notes.push(...t.map((line, i) => `  ${i + 1}. ${line}`));
  commands.push(c.command);
}

const date = new Date().toISOString().slice(0, 10);
const block = [
  BEGIN,
  `Measured ${date} with faultline ${faultline || '?'} and Node ${process.version}; library versions from \`clients/node/package-lock.json\` and dpkg. Regenerate with \`bash scripts/scoreboard.sh\`. A run passes with score 100; the score is the mean over runs, "By dialect" the mean over each dialect's runs.`,
  '',
  header,
  rule,
  ...rows,
  '',
  `The most telling findings: per client, the ${TELLING} verdicts (with their findings) that lost the most points, with the catalog folders of their runs and the harness's reason for the worst one.`,
  '',
  ...notes,
  '',
  'Commands run (from the repository root):',
  '',
  '```sh',
  ...commands,
  '```',
  END,
].join('\n');

const readme = readFileSync(readmePath, 'utf8');
const b = readme.indexOf(BEGIN);
const e = readme.indexOf(END);
if (b < 0 || e < b) die(`${readmePath}: no ${BEGIN} ... ${END} markers`);
const out = readme.slice(0, b) + block + readme.slice(e + END.length);
const tmp = `${readmePath}.tmp`;
writeFileSync(tmp, out);
renameSync(tmp, readmePath);
process.stdout.write(`${rows.join('\n')}\n`);

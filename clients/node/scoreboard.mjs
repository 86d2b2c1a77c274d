// Writes the scoreboard table into clients/README.md from `faultline run --json` reports.
//
//   node clients/node/scoreboard.mjs README MANIFEST
//
// MANIFEST is a tab-separated file written by scripts/scoreboard.sh, one client per line:
// label, JSON report path, and the exact command that produced the report. A report path that
// does not exist is listed as "not run". The table replaces everything between the README's
// `<!-- scoreboard:begin -->` and `<!-- scoreboard:end -->` lines; a README without both markers
// is an error (exit 2), so a table is never appended somewhere unexpected.
//
// The report shape is the harness's (README, "The JSON report"): {"score", "counts":
// {"<verdict>": n}, "runs": [{"scenario", "dialect", "verdict", "score", "findings": [...]}]}.
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The harness's verdicts, best first (harness/verdict.h FL_VERDICT_MAP).
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

function die(msg) {
  process.stderr.write(`scoreboard.mjs: ${msg}\n`);
  process.exit(2);
}

// One table row from one report: runs, score, passes (score 100), count per verdict, and how
// many runs carried each finding.
function row(label, report) {
  const runs = Array.isArray(report.runs) ? report.runs : [];
  const counts = {};
  for (const v of VERDICTS) counts[v] = 0;
  for (const r of runs) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  const findings = {};
  for (const r of runs) for (const f of r.findings ?? []) findings[f] = (findings[f] ?? 0) + 1;
  const passed = runs.filter((r) => r.score === 100).length;
  const score = typeof report.score === 'number' ? report.score.toFixed(1) : '?';
  const found = Object.entries(findings)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  return `| ${label} | ${runs.length} | ${score} | ${passed} | ${VERDICTS.map((v) => counts[v]).join(' | ')} | ${found || '—'} |`;
}

// "openai 7.55.0, @anthropic-ai/sdk 1.11.0", from the lockfile's exact versions.
function sdkVersions(lockPath) {
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  return ['openai', '@anthropic-ai/sdk']
    .map((p) => `\`${p}\` ${lock.packages?.[`node_modules/${p}`]?.version ?? 'not installed'}`)
    .join(', ');
}

const [readmePath, manifestPath] = process.argv.slice(2);
if (!readmePath || !manifestPath) die('usage: scoreboard.mjs README MANIFEST');

const clients = readFileSync(manifestPath, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const [label, json, command] = l.split('\t');
    return { label, json, command };
  });

const header = `| Client | Runs | Score | Passed | ${VERDICTS.join(' | ')} | Findings (runs) |`;
const rule = `|${' --- |'.repeat(5 + VERDICTS.length)}`;
const rows = [];
const commands = [];
for (const c of clients) {
  if (!existsSync(c.json)) {
    rows.push(`| ${c.label} | not run | | | ${VERDICTS.map(() => '').join(' | ')} | |`);
    continue;
  }
  let report;
  try {
    report = JSON.parse(readFileSync(c.json, 'utf8'));
  } catch (err) {
    die(`${c.json}: ${err.message}`);
  }
  rows.push(row(c.label, report));
  commands.push(c.command);
}

const here = dirname(fileURLToPath(import.meta.url));
const date = new Date().toISOString().slice(0, 10);
const block = [
  BEGIN,
  `Measured ${date} with Node ${process.version}; SDKs ${sdkVersions(join(here, 'package-lock.json'))} (from \`clients/node/package-lock.json\`). Regenerate with \`bash scripts/scoreboard.sh\`. A run passes with score 100; the score is the mean over runs.`,
  '',
  header,
  rule,
  ...rows,
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

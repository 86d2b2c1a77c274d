// The client contract's output side, shared by the library adapters in this folder
// (top-level README, "The client contract"): the answer text is written by each adapter as it
// streams; these helpers add the tool-call line and the failure report.

/**
 * Ends a successful answer: each tool call as one JSON line {"name": ..., "arguments": {...}}
 * (the arguments as an object; a string is parsed as JSON, which any caller must do before it
 * can run the tool, so arguments that do not parse fail the run), then a newline.
 */
export function printAnswer(calls = []) {
  for (const call of calls) {
    const args = typeof call.arguments === 'string' ? JSON.parse(call.arguments || '{}') : call.arguments;
    process.stdout.write(JSON.stringify({ name: call.name, arguments: args ?? {} }));
  }
  process.stdout.write('\n');
}

/** Reports a failure the library raised: `NAME: message` on stderr, exit status 1. */
export function fail(name, err) {
  const msg = err?.message || String(err);
  process.stderr.write(`${name}: ${msg}\n`);
  process.exitCode = 1;
}

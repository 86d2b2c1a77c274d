// The client contract's output side, shared by the library adapters in this folder
// (top-level README, "The client contract"): the answer text is written by each adapter as it
// streams; these helpers add the tool-call line, the structured result and the failure report.
import { renameSync, writeFileSync } from 'node:fs';

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

/**
 * Writes the structured result (top-level README, "The client contract") when the harness asks
 * for one with FAULTLINE_RESULT_PATH: one JSON object with the answer's text, the finish reason
 * and usage as the library reported them (each left out when it reported none: the adapter
 * never fills in what the library did not say), the tool calls and the response id. Written to
 * PATH.tmp and renamed, so the harness never reads half a file.
 */
export function writeResult({ text = '', finishReason, usage, toolCalls = [], responseId } = {}) {
  const path = process.env.FAULTLINE_RESULT_PATH;
  if (!path) return;
  const result = { text };
  if (typeof finishReason === 'string' && finishReason) result.finish_reason = finishReason;
  const u = {};
  if (Number.isInteger(usage?.input_tokens)) u.input_tokens = usage.input_tokens;
  if (Number.isInteger(usage?.output_tokens)) u.output_tokens = usage.output_tokens;
  if (Object.keys(u).length) result.usage = u;
  result.tool_calls = toolCalls.map((c) => ({
    name: c.name,
    arguments: typeof c.arguments === 'string' ? JSON.parse(c.arguments || '{}') : c.arguments ?? {},
  }));
  if (typeof responseId === 'string' && responseId) result.response_id = responseId;
  writeFileSync(`${path}.tmp`, JSON.stringify(result));
  renameSync(`${path}.tmp`, path);
}

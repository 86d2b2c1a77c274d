// Faultline client under test: `@microsoft/fetch-event-source` against the openai-chat endpoint,
// used the way its README teaches: `fetchEventSource(url, { method: 'POST', headers, body,
// onmessage })` and nothing else, so its default `onopen` (which rejects a response whose
// content-type is not text/event-stream) and its default error handling (no `onerror`: retry
// after the server's `retry:` or 1 s, forever) are what Faultline scores. Each message's
// `data` is a Chat Completions chunk; `[DONE]` ends the answer, as OpenAI's API reference
// says; the answer is complete when the returned promise resolves, which the library does when
// the response body ends.
//
// The library is written for browsers: it reads `window.fetch`, `window.setTimeout`,
// `window.clearTimeout` and listens on `document` for `visibilitychange` (to close the stream
// while the tab is hidden, the default `openWhenHidden: false`). Node has fetch and the timers
// but no `window` or `document`, so this adapter provides the minimal globals: `window` is
// Node's global object, and `document` a page that is always visible and never fires
// `visibilitychange`. Nothing else is stubbed.
//
// It follows the client contract of clients/README.md: text written as it arrives, exit 0 when
// fetchEventSource resolves, otherwise the error's message on stderr and exit 1.
//
// Environment: OPENAI_BASE_URL, OPENAI_API_KEY (sent as a Bearer token), FAULTLINE_MODEL,
// FAULTLINE_PROMPT. It speaks openai-chat only.
import { fetchEventSource } from '@microsoft/fetch-event-source';
import { printAnswer, fail, writeResult } from './contract.mjs';

globalThis.window = globalThis;
globalThis.document = { hidden: false, addEventListener() {}, removeEventListener() {} };

const base = process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
const model = process.env.FAULTLINE_MODEL ?? 'gpt-4o-mini';
const prompt = process.env.FAULTLINE_PROMPT ?? 'Say hello.';

// Tool calls arrive as delta.tool_calls[] fragments keyed by index (OpenAI function-calling
// guide, "Streaming"), the name in the first and the arguments JSON spread over the rest.
const calls = [];
const seen = { text: '' };

try {
  await fetchEventSource(`${base}/chat/completions`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${process.env.OPENAI_API_KEY}`,
    },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], stream: true }),
    onmessage(ev) {
      if (ev.data === '[DONE]') return;
      const chunk = JSON.parse(ev.data);
      const delta = chunk.choices[0]?.delta;
      if (chunk.choices[0]?.finish_reason) seen.finishReason = chunk.choices[0].finish_reason;
      seen.responseId = chunk.id ?? seen.responseId;
      if (delta?.content) {
        process.stdout.write(delta.content);
        seen.text += delta.content;
      }
      for (const tc of delta?.tool_calls ?? []) {
        const call = (calls[tc.index] ??= { name: '', arguments: '' });
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.arguments += tc.function.arguments;
      }
    },
  });
  printAnswer(calls.filter(Boolean));
  writeResult({ ...seen, toolCalls: calls.filter(Boolean) });
} catch (err) {
  fail('fetch-event-source.mjs', err);
}

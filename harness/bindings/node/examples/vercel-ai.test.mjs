// The Vercel AI SDK (ai + @ai-sdk/openai) against a 503 then a clean stream: streamText retries.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import { useFaultline } from 'faultline';

const fl = useFaultline({ before, after });

test('the Vercel AI SDK recovers from a 503', async () => {
  const s = await fl.session();
  await s.addScenario(`
faultline: 1
name: flaky
dialect: openai-chat
response:
  text: Hello from Faultline.
attempts:
  - faults: [{http_error: {status: 503}}]
  - {}
`);
  const openai = createOpenAI({ baseURL: s.baseURL, apiKey: 'test-key' });
  const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Say hello.' });
  let output = '';
  for await (const text of result.textStream) output += text;
  const verdict = await s.judge({ output });
  assert.equal(verdict.verdict, 'recovered', verdict.reason);
  await s.close();
});

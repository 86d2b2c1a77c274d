// The official openai SDK against a 503 then a clean stream: it retries on its own and recovers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { useFaultline } from 'faultline';

const fl = useFaultline({ before, after });

test('the openai SDK recovers from a 503', async () => {
  const s = await fl.session();
  await s.addScenario({
    faultline: 1,
    name: 'flaky',
    dialect: 'openai-chat',
    response: { text: 'Hello from Faultline.' },
    attempts: [{ faults: [{ http_error: { status: 503 } }] }, {}],
  });
  const client = new OpenAI({ baseURL: s.baseURL, apiKey: 'test-key' });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello.' }],
    stream: true,
  });
  let output = '';
  for await (const chunk of stream) output += chunk.choices[0]?.delta?.content ?? '';
  const result = await s.judge({ output });
  assert.equal(result.verdict, 'recovered', result.reason);
  await s.close();
});

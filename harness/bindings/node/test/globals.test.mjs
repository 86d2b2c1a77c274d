// useFaultline() with no hooks finds beforeAll/afterAll as globals, as under vitest (globals:
// true) or jest; here node:test's before/after stand in for them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { useFaultline } from '../index.js';

globalThis.beforeAll = before;
globalThis.afterAll = after;
const fl = useFaultline();

test('the server is up inside tests, and sessions work', async () => {
  assert.match(fl.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const s = await fl.session();
  await s.addScenario({ faultline: 1, name: 'hello', dialect: 'openai-chat', response: { text: 'hi' } });
  const res = await fetch(`${s.baseURL}/chat/completions`, { method: 'POST', body: '{"model":"hello"}' });
  const output = (await res.json()).choices[0].message.content;
  assert.equal((await s.judge({ output })).verdict, 'correct');
  await s.close();
});

test('without hooks or globals, useFaultline says what to pass', () => {
  delete globalThis.beforeAll;
  delete globalThis.afterAll;
  assert.throws(() => useFaultline(), /pass \{ before, after \}/);
});

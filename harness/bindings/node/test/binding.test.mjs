// The Node binding against the real binary ($FAULTLINE_BIN): a server started with no
// scenario, sessions that isolate attempts and scenarios, the loader's diagnostics, the journal
// per session, the judge's verdicts, and closing. Run: FAULTLINE_BIN=build/faultline node --test
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Faultline, FaultlineError, VERSION, useFaultline } from '../index.js';

const fl = useFaultline({ before, after });
const answer = 'Four small words arrive.';
const flaky = {
  faultline: 1,
  name: 'flaky',
  dialect: 'openai-chat',
  response: { text: answer, ttft_ms: 10, interval_ms: 5 },
  attempts: [{ faults: [{ reset: { at: { event: 2 } } }] }, {}],
};

// A minimal streaming Chat Completions client with one retry: what a test would exercise.
async function ask(baseURL, retries = 1) {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (!text.includes('data: [DONE]')) throw new Error('stream ended early');
      let out = '';
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue;
        out += JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '';
      }
      return out;
    } catch (e) {
      if (attempt >= retries) throw e;
    }
  }
}

test('the binding is versioned with faultline', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));
  assert.equal(pkg.version, VERSION);
  const printed = execFileSync(process.env.FAULTLINE_BIN ?? 'faultline', ['--version']).toString();
  assert.match(printed, new RegExp(`^faultline ${VERSION.replaceAll('.', '\\.')}\\b`));
});

test('a scenario added at runtime recovers on the second attempt and judges recovered', async () => {
  const s = await fl.session();
  const added = await s.addScenario(flaky);
  assert.deepEqual([added.name, added.scope, added.session], ['flaky', 'session', s.id]);
  const output = await ask(s.baseURL);
  assert.equal(output, answer);
  const journal = await s.journal();
  assert.deepEqual(journal.map((e) => [e.session, e.attempt, e.end]), [
    [s.id, 1, 'reset'],
    [s.id, 2, 'complete'],
  ]);
  const j = await s.judge({ output });
  assert.equal(j.verdict, 'recovered');
  assert.equal(j.score, 100);
  assert.equal(j.attempts.length, 2);
  await s.close();
});

test('sessions in parallel each see their own attempts and scenarios', async () => {
  const sessions = await Promise.all([1, 2, 3, 4].map(() => fl.session()));
  await Promise.all(sessions.map((s, i) => s.addScenario({ ...flaky, response: { ...flaky.response, text: `answer ${i}` } })));
  const outputs = await Promise.all(sessions.map((s) => ask(s.baseURL)));
  assert.deepEqual(outputs, ['answer 0', 'answer 1', 'answer 2', 'answer 3']);
  for (const [i, s] of sessions.entries()) {
    assert.deepEqual((await s.journal()).map((e) => e.attempt), [1, 2]);
    assert.equal((await s.judge({ output: outputs[i] })).verdict, 'recovered');
  }
  await Promise.all(sessions.map((s) => s.close()));
});

test('a client that gives up is judged from its error; truncation and timeouts too', async () => {
  const s = await fl.session();
  await s.addScenario(flaky);
  await assert.rejects(ask(s.baseURL, 0));
  const gaveUp = await s.judge({ error: new Error('stream ended early') });
  // failed, though a retry would have had the answer (attempt 2 is clean)
  assert.equal(gaveUp.verdict, 'gave_up');
  assert.equal(gaveUp.exit.code, 1);
  assert.equal((await s.judge({ output: 'Four small' })).verdict, 'silent_truncation');
  assert.equal((await s.judge({ timedOut: true })).verdict, 'hung');
  await s.close();
});

test('YAML text loads; a bad scenario rejects with the loader diagnostics', async () => {
  const s = await fl.session();
  const added = await s.addScenario('faultline: 1\nname: yaml-one\ndialect: openai-chat\nresponse:\n  text: from yaml\n');
  assert.equal(added.name, 'yaml-one');
  assert.equal(await ask(s.baseURL), 'from yaml');
  const err = await s.addScenario('faultline: 1\nname: bad\ndialect: openai-chat\nresponse:\n  text: x\n  ttft_ms: -1\n').catch((e) => e);
  assert.ok(err instanceof FaultlineError);
  assert.equal(err.status, 400);
  assert.deepEqual(err.diagnostics, ['request-body:6:12: response.ttft_ms: must be >= 0, got -1']);
  assert.deepEqual((await s.scenarios()).map((x) => [x.name, x.source]), [['yaml-one', 'session']]);
  await s.close();
});

test('a closed session is gone from the server', async () => {
  const s = await fl.session();
  await s.addScenario(flaky);
  await s.close();
  await s.close(); // idempotent
  const err = await s.addScenario(flaky).catch((e) => e);
  assert.equal(err.status, 404);
  const res = await fetch(`${s.baseURL}/chat/completions`, { method: 'POST', body: '{"model":"flaky"}' });
  assert.equal(res.status, 404);
});

test('start fails with the reason when the binary is missing or refuses', async () => {
  await assert.rejects(Faultline.start({ binary: '/nonexistent/faultline' }), /cannot start/);
  await assert.rejects(Faultline.start({ scenarios: ['/nonexistent.yaml'] }), /faultline serve exited 2/);
  const server = await Faultline.start();
  await server.close();
  await server.close();
  assert.notEqual(server.child.exitCode ?? server.child.signalCode, null);
});

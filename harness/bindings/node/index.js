// Faultline for Node test suites: spawns `faultline serve`, then talks to its control API
// (README, "Testing inside your test suite"). Zero dependencies: node:child_process and fetch.
import { spawn } from 'node:child_process';

/** The Faultline version this binding is released with (its package.json version). */
export const VERSION = '0.1.0';

/** An answer of the control API that was not 2xx. */
export class FaultlineError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = 'FaultlineError';
    this.status = status;
    this.body = body;
    /** The loader's diagnostics ("request-body:LINE:COL: field: message") for a bad scenario. */
    this.diagnostics = body?.error?.diagnostics ?? [];
  }
}

async function call(base, method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] = typeof body === 'string' ? 'application/yaml' : 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let doc;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = { error: { message: text } };
  }
  if (!res.ok) {
    const diags = doc?.error?.diagnostics?.length ? '\n  ' + doc.error.diagnostics.join('\n  ') : '';
    throw new FaultlineError(`${method} ${path}: ${res.status} ${doc?.error?.message ?? text}${diags}`, res.status, doc);
  }
  return doc;
}

/** One test's view of the server: its own attempt counters, journal and scenarios. */
export class Session {
  constructor(server, info) {
    this.server = server;
    this.id = info.id;
    /** http://HOST:PORT/t/ID: the session's root (what Anthropic's and Gemini's SDKs take). */
    this.url = info.base_url;
    /** Base URL per dialect: "openai-chat", "openai-responses", "anthropic-messages", "gemini". */
    this.baseURLs = info.base_urls;
    /** The OpenAI SDKs' base URL (ends in /v1). */
    this.baseURL = info.base_urls['openai-chat'];
    /** Name of the scenario added last: what judge() judges when given no scenario. */
    this.scenario = undefined;
    this.closed = false;
  }

  #call(method, path, body) {
    return call(this.server.url, method, `/t/${this.id}${path}`, body);
  }

  /**
   * Adds (or replaces) a scenario in this session: YAML text, or an object in the same format
   * (sent as JSON). Resolves to {name, dialect, scope, session, replaced}; rejects with a
   * FaultlineError whose .diagnostics list the loader's complaints.
   */
  async addScenario(scenario) {
    const added = await this.#call('POST', '/_faultline/scenarios', scenario);
    this.scenario = added.name;
    return added;
  }

  /** Removes a scenario this session added. */
  removeScenario(name) {
    return this.#call('DELETE', `/_faultline/scenarios/${encodeURIComponent(name)}`);
  }

  /** The scenarios this session sees (its own, then global ones, then files). */
  async scenarios() {
    return (await this.#call('GET', '/_faultline/scenarios')).scenarios;
  }

  /** This session's requests from the journal, oldest first (of one scenario if named). */
  async journal(scenario) {
    const q = scenario ? `?scenario=${encodeURIComponent(scenario)}` : '';
    return (await this.#call('GET', `/_faultline/journal${q}`)).requests;
  }

  /**
   * Faultline's verdict on what the code under test did in this session: the same verdict,
   * findings, score, reason and evidence `faultline run` gives. output is what it produced;
   * error the error it raised (an Error or a message), if any; timedOut true when the test gave
   * up waiting (judged as a hung client); exitCode defaults to 1 with an error, else 0.
   */
  judge({ scenario, output = '', error, exitCode, timedOut, signal } = {}) {
    const name = scenario ?? this.scenario;
    if (!name) throw new TypeError('judge(): no scenario named and none added to this session');
    const message = error === undefined || error === null ? '' : String(error?.message ?? error);
    const body = { session: this.id, scenario: name, output: String(output), error_message: message };
    body.exit_code = exitCode ?? (message ? 1 : 0);
    if (timedOut) body.timed_out = true;
    if (signal) body.signal = signal;
    return call(this.server.url, 'POST', '/_faultline/judge', body);
  }

  /** Ends the session; the server frees its scenarios and counters. Idempotent. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    await call(this.server.url, 'DELETE', `/_faultline/sessions/${this.id}`);
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }
}

/** A running `faultline serve`. */
export class Faultline {
  constructor(child, url) {
    this.child = child;
    /** http://127.0.0.1:PORT */
    this.url = url;
  }

  /**
   * Spawns `faultline serve --port 0` and resolves once it prints its URL.
   * options.binary: the program (default $FAULTLINE_BIN, else "faultline" on PATH);
   * options.scenarios: scenario files or folders to serve from the start;
   * options.args: more `faultline serve` options; options.timeoutMs: startup bound (10000).
   */
  static start(options = {}) {
    const bin = options.binary ?? process.env.FAULTLINE_BIN ?? 'faultline';
    const args = ['serve', '--host', '127.0.0.1', '--port', '0', ...(options.args ?? []), ...(options.scenarios ?? [])];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => fail(new Error(`faultline serve printed no URL within ${options.timeoutMs ?? 10000} ms`)), options.timeoutMs ?? 10000);
      const fail = (e) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(e);
      };
      child.on('error', (e) => fail(new Error(`cannot start ${bin}: ${e.message} (set FAULTLINE_BIN or options.binary)`)));
      child.on('exit', (code) => fail(new Error(`faultline serve exited ${code}: ${err.trim()}`)));
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(new Faultline(child, out.slice(0, nl).trim()));
      });
    });
  }

  /** A new session (POST /_faultline/sessions). Close it when the test is done. */
  async session() {
    return new Session(this, await call(this.url, 'POST', '/_faultline/sessions'));
  }

  /** Adds a scenario every session sees (unless it has its own of that name). */
  addScenario(scenario) {
    return call(this.url, 'POST', '/_faultline/scenarios', scenario);
  }

  /** The whole journal, or one session's / scenario's part of it. */
  async journal({ session, scenario } = {}) {
    const q = new URLSearchParams();
    if (session) q.set('session', session);
    if (scenario) q.set('scenario', scenario);
    const qs = q.toString();
    return (await call(this.url, 'GET', `/_faultline/journal${qs ? '?' + qs : ''}`)).requests;
  }

  /** Stops the server (SIGTERM) and resolves once it has exited. Idempotent. */
  close() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }
}

/** Starts a server: Faultline.start(options). */
export function startFaultline(options) {
  return Faultline.start(options);
}

/**
 * For a test file: starts one server before its tests and stops it after them, with the test
 * runner's hooks (node:test's before/after, or vitest's and jest's beforeAll/afterAll, found
 * as globals when not given). Returns a handle whose session() gives each test its own session.
 */
export function useFaultline(options = {}) {
  const before = options.before ?? globalThis.beforeAll;
  const after = options.after ?? globalThis.afterAll;
  if (typeof before !== 'function' || typeof after !== 'function')
    throw new TypeError("useFaultline(): pass { before, after } (from 'node:test'), or run under vitest/jest with globals");
  const handle = {
    server: null,
    get url() {
      return handle.server?.url;
    },
    session: () => {
      if (!handle.server) throw new Error('useFaultline(): the server starts in the before hook; call session() inside a test');
      return handle.server.session();
    },
  };
  before(async () => {
    handle.server = await Faultline.start(options);
  });
  after(async () => {
    await handle.server?.close();
  });
  return handle;
}

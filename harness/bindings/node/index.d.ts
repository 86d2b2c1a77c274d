// Types of the Faultline Node binding (index.js). JSON shapes: docs/control.schema.json.

/** The Faultline version this binding is released with. */
export declare const VERSION: string;

/** The dialects a scenario speaks. */
export type Dialect = 'openai-chat' | 'openai-responses' | 'anthropic-messages' | 'gemini';

export type Verdict =
  | 'correct'
  | 'recovered'
  | 'failed_cleanly'
  | 'gave_up'
  | 'silent_truncation'
  | 'duplicated'
  | 'corrupted'
  | 'hung'
  | 'crashed'
  | 'no_request';

export type Finding =
  | 'retry_storm'
  | 'ignored_retry_after'
  | 'no_backoff'
  | 'stall_undetected'
  | 'no_error_message'
  | 'retry_after_past_deadline'
  | (string & {});

/** A scenario in the v1 format (scenarios/faultline.schema.json), as an object. */
export interface ScenarioObject {
  faultline: 1;
  name: string;
  dialect: Dialect;
  [key: string]: unknown;
}

/** POST /_faultline/scenarios's answer. */
export interface AddedScenario {
  name: string;
  dialect: Dialect;
  scope: 'session' | 'global';
  session: string | null;
  replaced: boolean;
}

export interface ScenarioInfo {
  name: string;
  dialect: Dialect;
  source: 'session' | 'global' | 'file';
  description: string;
}

/** One request in the journal (README, "The journal"). */
export interface JournalEntry {
  seq: number;
  t_ms: number;
  time: string;
  method: string;
  path: string;
  session: string | null;
  scenario: string | null;
  attempt: number | null;
  stream: boolean;
  headers: Record<string, string>;
  status: number;
  retry_after_ms: number | null;
  end: string;
  faults: Array<{ fault: string; description: string; event: number | null; byte: number; ms: number }>;
  [key: string]: unknown;
}

/** One request of the judged run, as `faultline run`'s JSON report lists it. */
export interface Attempt {
  n: number;
  start_ms: number;
  end_ms: number | null;
  gap_ms: number | null;
  retry_after_ms: number | null;
  sent_retry_after_ms: number | null;
  status: number;
  stream: boolean;
  end: string;
  bytes: number;
  events: number;
  events_sent: number;
  faults: Array<{ fault: string; description: string; event: number | null; byte: number; ms: number }>;
  [key: string]: unknown;
}

/** The judge's answer: a run's object of `faultline run`'s JSON report. */
export interface Judgement {
  scenario: string;
  dialect: Dialect;
  verdict: Verdict;
  findings: Finding[];
  score: number;
  passed: boolean;
  reason: string;
  exit: { kind: 'code' | 'signal' | 'deadline'; code: number | null; signal: number | null };
  wall_ms: number;
  stdout: string;
  expected: string | null;
  diff: { at: number; expected: string; got: string } | null;
  stderr_tail: string;
  attempts: Attempt[];
}

export interface JudgeInput {
  /** Default: the scenario this session added last. */
  scenario?: string;
  /** What the code under test produced (compared with the scenario's answer). */
  output?: string;
  /** The error it raised, if any. */
  error?: unknown;
  /** Default: 1 with an error, else 0. */
  exitCode?: number;
  /** The test gave up waiting: judged as a client killed at its deadline (hung). */
  timedOut?: boolean;
  /** The code under test died of this signal (crashed). */
  signal?: number;
}

/** An answer of the control API that was not 2xx. */
export declare class FaultlineError extends Error {
  status: number;
  body: unknown;
  /** The loader's diagnostics ("request-body:LINE:COL: field: message") for a bad scenario. */
  diagnostics: string[];
}

/** One test's view of the server: its own attempt counters, journal and scenarios. */
export declare class Session {
  readonly id: string;
  /** http://HOST:PORT/t/ID: what Anthropic's and Gemini's SDKs take as their base URL. */
  readonly url: string;
  /** The OpenAI SDKs' base URL (ends in /v1). */
  readonly baseURL: string;
  readonly baseURLs: Record<Dialect, string>;
  /** The scenario added last: what judge() judges when given none. */
  scenario: string | undefined;
  addScenario(scenario: string | ScenarioObject): Promise<AddedScenario>;
  removeScenario(name: string): Promise<{ deleted: string }>;
  scenarios(): Promise<ScenarioInfo[]>;
  journal(scenario?: string): Promise<JournalEntry[]>;
  judge(input?: JudgeInput): Promise<Judgement>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartOptions {
  /** The faultline program (default $FAULTLINE_BIN, else "faultline" on PATH). */
  binary?: string;
  /** Scenario files or folders served from the start. */
  scenarios?: string[];
  /** More `faultline serve` options. */
  args?: string[];
  /** Bound on the startup, in ms (10000). */
  timeoutMs?: number;
}

/** A running `faultline serve`. */
export declare class Faultline {
  static start(options?: StartOptions): Promise<Faultline>;
  readonly url: string;
  session(): Promise<Session>;
  addScenario(scenario: string | ScenarioObject): Promise<AddedScenario>;
  journal(filter?: { session?: string; scenario?: string }): Promise<JournalEntry[]>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export declare function startFaultline(options?: StartOptions): Promise<Faultline>;

type Hook = (fn: () => Promise<void> | void) => unknown;

export interface FaultlineHandle {
  readonly server: Faultline | null;
  readonly url: string | undefined;
  session(): Promise<Session>;
}

/**
 * Starts one server before a file's tests and stops it after them. Pass node:test's
 * { before, after }; under vitest or jest with globals, beforeAll/afterAll are found.
 */
export declare function useFaultline(options?: StartOptions & { before?: Hook; after?: Hook }): FaultlineHandle;

/**
 * What `tracemalloc/testing` needs from its host, made robust against test runners: real timers
 * (never the globals a test can fake), a clock fake timers do not stop, and one process-wide
 * (per thread) queue of measurements shared by every copy of this package that runs in the
 * thread (Jest loads one copy per test file, bundlers inline others), with a watchdog that ends
 * a measurement whose function stopped making progress, so tracing is never left running.
 */
import { MessageChannel } from 'node:worker_threads';
import * as timers from 'node:timers';

// Captured at load: @sinonjs/fake-timers (Jest's and Vitest's fake timers) replaces the
// globals and, on Node's own global, the properties of the `node:timers` module object too.
// Functions taken now stay real even when a test fakes timers later.
const realSetImmediate = timers.setImmediate;
const realSetTimeout = timers.setTimeout;
const realClearTimeout = timers.clearTimeout;

/** A function installed by @sinonjs/fake-timers carries its clock. */
function isFake(fn: unknown): boolean {
  return typeof fn === 'function' && typeof (fn as { clock?: unknown }).clock === 'object';
}

/**
 * Resolves on a later turn of the event loop: pending callbacks run and the current job ends,
 * so `WeakRef` targets can be collected. Uses the real `setImmediate`; if even the one captured
 * at load is a fake (this package was loaded after timers were faked), a message on a fresh
 * MessageChannel, which no fake timer intercepts.
 */
export function nextTurn(): Promise<void> {
  if (!isFake(realSetImmediate)) return new Promise((resolve) => realSetImmediate(resolve));
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.once('message', () => {
      port1.close();
      resolve();
    });
    port2.postMessage(0);
  });
}

/** Milliseconds of a clock fake timers leave alone (`process.uptime` is not faked by Jest or Vitest). */
export function now(): number {
  return process.uptime() * 1000;
}

/**
 * A real timer (no fake can stop it). It keeps the process alive, as the measurement it serves
 * must end (a watchdog that let the process exit would leave a never-settling promise behind).
 */
export function realTimer(ms: number, callback: () => void): { cancel(): void } {
  if (isFake(realSetTimeout)) {
    // Loaded after timers were faked: poll with real turns of the loop instead.
    let cancelled = false;
    const due = now() + ms;
    const poll = (): void => {
      if (cancelled) return;
      if (now() >= due) callback();
      else void nextTurn().then(poll);
    };
    void nextTurn().then(poll);
    return { cancel: () => void (cancelled = true) };
  }
  const t = realSetTimeout(callback, ms);
  return { cancel: () => realClearTimeout(t) };
}

/** One measurement holding (or waiting for) the sampler. */
export interface Turn {
  readonly id: number;
  /** What is measured, for messages: `measureLeak(parse)`. */
  readonly label: string;
  /** `now()` when the measured function last made progress (a call returned or settled). */
  progress: number;
  /** Milliseconds without progress after which the turn is taken to be abandoned. */
  readonly stallTimeout: number;
  /** Set when the turn was ended from outside (stalled); the measurement must stop using the tracer. */
  aborted: Error | null;
  /** Ends the turn from outside: stops the tracing it started, rejects its measurement, frees the queue. */
  abort(reason: Error): void;
}

interface Shared {
  readonly version: 1;
  tail: Promise<void>;
  active: Turn | null;
  nextId: number;
  /** The last turn ended by the watchdog, for the messages of later measurements. */
  lastAbandoned: string | null;
}

const SLOT = Symbol.for('tracemalloc.testing.queue');

/**
 * The queue shared by every copy of this package in this thread. It hangs on a Node.js core
 * module object, which Jest, Vitest's VM pools and bundles all share (their `globalThis` and
 * `process` may be per test file), under a `Symbol.for` key, which every realm shares.
 */
function shared(): Shared {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const host = require('node:v8') as Record<symbol, Shared | undefined>;
  let s = host[SLOT];
  if (s === undefined || s.version !== 1) {
    s = { version: 1, tail: Promise.resolve(), active: null, nextId: 1, lastAbandoned: null };
    Object.defineProperty(host, SLOT, { value: s, enumerable: false, configurable: true, writable: true });
  }
  return s;
}

export function errorWithCode(message: string, code: string): Error {
  const err = new Error(message);
  (err as Error & { code: string }).code = code;
  return err;
}

/** How often a waiting measurement checks that the one ahead of it still makes progress. */
const POLL_MS = 100;

/**
 * Waits for this thread's sampler to be free, then runs `body` with it. Measurements queue in
 * call order, whichever copy of this package they come from; one whose function makes no
 * progress for `stallTimeout` ms is aborted (its tracing stopped, its promise rejected with
 * ERR_TRACEMALLOC_STALLED) so the queue goes on. `onAbort` is the aborted measurement's cleanup
 * (stopping the tracing it started), called once.
 */
export async function withTurn<T>(label: string, stallTimeout: number, body: (turn: Turn) => Promise<T>, onAbort: (turn: Turn) => void): Promise<T> {
  const s = shared();
  const prev = s.tail;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  s.tail = mine;
  let rejectAbort!: (err: Error) => void;
  const aborted = new Promise<never>((_, reject) => (rejectAbort = reject));
  aborted.catch(() => undefined);
  let released = false;
  const free = (): void => {
    if (released) return;
    released = true;
    if (s.active === turn) s.active = null;
    release();
  };
  const turn: Turn = {
    id: s.nextId++,
    label,
    progress: now(),
    stallTimeout,
    aborted: null,
    abort(reason: Error): void {
      if (turn.aborted !== null || released) return;
      turn.aborted = reason;
      s.lastAbandoned = `${label} was aborted: ${reason.message}`;
      try {
        onAbort(turn);
      } finally {
        rejectAbort(reason);
        free();
      }
    },
  };
  // Wait for the measurements ahead, aborting whichever of them holds the sampler and stalls.
  let done = false;
  void prev.then(() => (done = true));
  while (!done) {
    await Promise.race([prev, new Promise<void>((resolve) => realTimer(POLL_MS, resolve))]);
    const a = s.active;
    if (!done && a !== null && now() - a.progress > a.stallTimeout) a.abort(stalledError(a));
  }
  s.active = turn;
  turn.progress = now();
  // This measurement's own watchdog: tracing never stays on behind a function that never settles.
  let watchdog: { cancel(): void } | null = null;
  const arm = (): void => {
    watchdog = realTimer(Math.max(POLL_MS, stallTimeout / 4), () => {
      if (released) return;
      if (now() - turn.progress > stallTimeout) turn.abort(stalledError(turn));
      else arm();
    });
  };
  arm();
  try {
    return await Promise.race([body(turn), aborted]);
  } finally {
    (watchdog as { cancel(): void } | null)?.cancel();
    free();
  }
}

function stalledError(turn: Turn): Error {
  return errorWithCode(`${turn.label} stopped: the function under test made no progress for ${turn.stallTimeout} ms ` +
    '(a call that never returned or whose promise never settled: a test that timed out, fake timers the function waits on, ' +
    'or a deadlock). The tracing it started was stopped; options.stallTimeout sets the limit.', 'ERR_TRACEMALLOC_STALLED');
}

/** The last measurement the watchdog aborted in this thread (any copy), or null: for error messages. */
export function lastAbandoned(): string | null {
  return shared().lastAbandoned;
}

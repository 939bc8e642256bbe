/**
 * The live tracer: Python's module functions (`start`, `stop`, `takeSnapshot`,
 * `getTracedMemory`, ...). The live state is one `TracingSession` (session.ts), created by
 * `start()` and released by `stop()`; options are checked in session-options.ts, 'allocated'
 * folding lives in allocated.ts, and the process-wide ownership of V8's sampler in owner.ts.
 */
import * as v8 from 'node:v8';
import { describeType } from './format.js';
import { captureStack, parseCapturedStack } from './stack.js';
import { claim, release, setStaleStop } from './owner.js';
import { TracingSession } from './session.js';
import { NotTracingError } from './session-errors.js';
import { parseStartArgs, type StartOptions } from './session-options.js';
import type { Snapshot } from './snapshot.js';
import type { Traceback } from './frame.js';
import { assertOwnCodeKnown } from './own.js';
import { objectTraceback } from './object-traceback.js';

export { HEAP_DOMAIN, EXTERNAL_DOMAIN } from './session.js';
export { DEFAULT_SAMPLING_INTERVAL, type StartOptions } from './session-options.js';
export { NotTracingError, TracerOwnedError, InspectorError } from './session-errors.js';

/** V8's sampling heap profiler records at most this many frames of a stack. */
export const V8_MAX_STACK_DEPTH = 128;

/** Is this module still in its own registry (owner.ts: a test runner may have dropped it)? */
function isLoaded(): boolean {
  return require.cache[__filename] === module;
}

/** The one live session, or null when not tracing. */
let session: TracingSession | null = null;
/** Python keeps the last `start()`'s limit after `stop()`: `get_traceback_limit()` reads it. */
let tracebackLimit = 1;

/**
 * Starts tracing memory allocations, keeping `nframe` frames per traceback (Python's
 * `start(nframe=1)`). Already tracing: the arguments are checked, then nothing changes.
 */
export function start(nframe?: number | StartOptions, options?: StartOptions): void {
  assertOwnCodeKnown();
  const parsed = parseStartArgs(nframe, options);
  if (session !== null) return;
  // One copy of tracemalloc at a time traces in a thread (owner.ts): this module is the claim.
  claim(module, isLoaded);
  try {
    session = TracingSession.open(parsed);
  } catch (err) {
    release(module);
    throw err;
  }
  setStaleStop(module, session);
  tracebackLimit = parsed.nframe;
}

/** Stops tracing and forgets every trace. Idempotent; leaves no timer, session, patch or cache behind. */
export function stop(): void {
  const s = session;
  if (s === null) return;
  session = null;
  s.dispose();
  release(module);
}

/** Is the tracer running? */
export function isTracing(): boolean {
  return session !== null;
}

/** Frames kept per traceback: the last `start()`'s limit (1 before any start; kept after stop). */
export function getTracebackLimit(): number {
  return tracebackLimit;
}

/** Forgets every trace while tracing goes on; current and peak become 0. */
export function clearTraces(): void {
  session?.clear();
}

/**
 * `[current, peak]` traced bytes since `start()` (all domains). Cheap: never forces a GC. The
 * heap part counts garbage not yet collected and is re-anchored on the profile at each snapshot;
 * `[0, 0]` when not tracing.
 */
export function getTracedMemory(): [current: number, peak: number] {
  return session === null ? [0, 0] : session.readMemory();
}

/** Sets the peak to the current traced size (Python's `reset_peak()`). */
export function resetPeak(): void {
  session?.resetPeak();
}

/**
 * Estimated bytes the tracer itself holds: V8's samples (estimated from the traced heap and the
 * interval), its caches, and its own heap objects as the last snapshot saw them (those are left
 * out of snapshots, as Python's documentation filters tracemalloc itself out). 0 when not tracing.
 */
export function getTracemallocMemory(): number {
  return session === null ? 0 : session.memory();
}

function checkUserDomain(domain: unknown): number {
  if (typeof domain !== 'number' || !Number.isInteger(domain)) {
    throw new TypeError(`domain must be an integer, not ${typeof domain === 'number' ? domain : describeType(domain)}`);
  }
  if (domain < 2 || domain > 0xffffffff) {
    throw new RangeError(`domain must be in [2; 4294967295] (0 is the V8 heap and 1 ArrayBuffers, both traced by tracemalloc itself), not ${domain}`);
  }
  return domain;
}

/** Frames captured beyond the limit for `track()`, for builtin frames that are dropped. */
const TRACK_FRAME_MARGIN = 2;

/**
 * Records a block of `size` bytes in user domain `domain` (2 and up) under `key`, with the
 * traceback of this call (Python's `PyTraceMalloc_Track`), e.g. a pool or a native addon's
 * wrapper reporting its own memory. Tracking a key again replaces its block. Exact, not sampled.
 */
export function track(domain: number, key: unknown, size: number): void {
  const s = session;
  const d = checkUserDomain(domain);
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
    throw new TypeError(`size must be a finite number of bytes >= 0, not ${typeof size === 'number' ? size : describeType(size)}`);
  }
  if (s === null) throw new NotTracingError('track memory');
  const limit = tracebackLimit + TRACK_FRAME_MARGIN;
  const site = parseCapturedStack(captureStack(track, limit), tracebackLimit, limit, s.options.sourceMaps);
  s.domains.track(d, key, size, site);
}

/** Forgets block `key` of user domain `domain` (Python's `PyTraceMalloc_Untrack`); an unknown key is not an error. */
export function untrack(domain: number, key: unknown): void {
  const s = session;
  const d = checkUserDomain(domain);
  if (s === null) throw new NotTracingError('untrack memory');
  s.domains.untrack(d, key);
}

/**
 * Takes a snapshot of the traces of objects still alive. It first collects garbage until the heap
 * holds only what is alive (see `snapshotGC`), then reads V8's profile: synchronous, and costs a
 * few major GCs. Throws when not tracing.
 */
export function takeSnapshot(): Snapshot {
  const s = session;
  if (s === null) throw new NotTracingError('take a snapshot');
  return s.snapshot();
}

/**
 * The last snapshot of a process that is ending (the preload's report at exit or at a terminating
 * signal; not for a worker thread, whose process goes on): V8 is told to stop retaining the maps
 * of dead objects (`--retain-maps-for-n-gc=0`, the reason the 'full' settle needs 3 full GCs, see
 * session-gc.ts), so the profile read's own full GC leaves only what is alive, and no settle GCs
 * run before it. On a large heap this is most of the exit report's cost (tsc 5.9 type-checking
 * this repository: 4 full GCs -> 1; docs/cli.md has the measured totals of both). The flag is
 * process-wide: nothing of the program is left to run but its own exit listeners.
 */
export function takeFinalSnapshot(): Snapshot {
  const s = session;
  if (s === null) throw new NotTracingError('take a snapshot');
  if (s.options.snapshotGC === 'full' && s.options.mode === 'live') {
    try {
      v8.setFlagsFromString('--retain-maps-for-n-gc=0');
    } catch {
      return s.snapshot();
    }
    return s.snapshot('fast');
  }
  return s.snapshot();
}

/**
 * The traceback where `obj` was allocated (Python's `get_object_traceback`), or `null` when not
 * tracing with `trackAllocations: true` or when V8 recorded no stack for it (allocated before
 * `start()`). Frames name each function's first line. Slow: it takes a full heap snapshot.
 */
export function getObjectTraceback(obj: unknown): Traceback | null {
  const s = session;
  return objectTraceback(s === null ? null : { tracker: s.tracker, resolver: s.resolver, tracebackLimit }, obj);
}

/**
 * Hooks for this package's own tests, out of the public barrel (CPython's tests mock the private
 * `tracemalloc._get_traces` the same way). Tests import it as `#internal/session-testing`.
 * @internal
 */
import type { RawTrace } from './snapshot.js';

let rawTraceSource: (() => Iterable<RawTrace>) | null = null;

/**
 * While set, `takeSnapshot()` takes its heap traces from `source` instead of V8 (and leaves the
 * other domains out). `null` restores V8.
 */
export function setRawTraceSourceForTesting(source: (() => Iterable<RawTrace>) | null): void {
  rawTraceSource = source;
}

/** The source set by the test, or null. */
export function rawTraceSourceForTesting(): (() => Iterable<RawTrace>) | null {
  return rawTraceSource;
}

let watched: WeakRef<object>[] | null = null;

/** From now on, every session part and profile read is watched through a WeakRef (tests of `stop()`). */
export function watchSessionObjectsForTesting(): void {
  watched = [];
}

/** Called by the session for what must not outlive it (a no-op unless a test watches). */
export function noteSessionObjectForTesting(...objects: object[]): void {
  if (watched !== null) for (const o of objects) watched.push(new WeakRef(o));
}

/** How many watched objects are still reachable. */
export function watchedObjectsAliveForTesting(): number {
  return watched === null ? 0 : watched.filter((r) => r.deref() !== undefined).length;
}

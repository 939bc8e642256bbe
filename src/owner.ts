/**
 * One process-wide owner of V8's sampler and of the patched builtins, across copies of this
 * library. A thread can hold several copies: two versions in one node_modules, or the same files
 * loaded again by each module registry of a test runner (Jest gives every test file its own).
 * V8 has one sampling heap profiler per isolate, and the builtins (`Buffer`, typed arrays) are
 * shared by every copy, so only one copy may trace at a time.
 *
 * The claim lives in a `Symbol.for` slot on the `node:inspector` module's `Session` class. Not on
 * `globalThis`: Jest runs each test file in its own vm context, whose `globalThis` differs, while
 * core modules (and `Buffer`) are one object for the whole thread, as V8's sampler is; a worker
 * thread has its own isolate, its own sampler and its own core modules, so its own slot. On the
 * `Session` class rather than the module object: Jest 30's globals clean-up may delete what a
 * test file added to the core module objects it handed out (it marks their own keys), not
 * what lies deeper (test/tracer-owner.test.ts runs two Jest test files to prove the claim
 * survives). `release()` deletes the slot: nothing remains after `stop()`.
 *
 * The claim records the owning copy's package directory and version, its module, and a probe
 * that asks the owner's own module registry whether that module is still loaded
 * (`require.cache[__filename] === module`: Jest's `require.cache` reads the file's registry,
 * which Jest empties when the test file ends). An owner no longer loaded is stale (a test file
 * that ended without stop()): the next copy's `start()` stops the stale session (its sampler and
 * its builtin patches) and takes over, with a process warning that says so. A live owner is never
 * taken over: `start()` throws TracerOwnedError naming it. (Whether the old module was collected
 * cannot decide this: a dependency's `module.parent` chain keeps the whole copy reachable from
 * the running session.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TracerOwnedError, type OwnerInfo } from './session-errors.js';

const SLOT = Symbol.for('tracemalloc.owner');

interface Claim extends OwnerInfo {
  /** The owning copy's module (tracer.js). */
  readonly module: object;
  /** Is that module still in its own registry? */
  readonly isLoaded: () => boolean;
  /** Stops the owner's session. */
  readonly stop: () => void;
}

/**
 * The process-wide holder of the slot: a core module object, one per thread (see above). Read
 * with `require` at the top level, not `import` (TypeScript's import helper would copy the
 * exports into a new object), and not inside a function: a function naming `require` would keep
 * this module, and through `module.parent` the whole copy, alive from the claim's closures.
 */
const HOLDER = (require('node:inspector') as { Session: object }).Session as Record<symbol, Claim | undefined>;

function holder(): Record<symbol, Claim | undefined> {
  return HOLDER;
}

/** This copy's package directory and version (`unknown` when bundled without its package.json). */
export function thisCopy(): { path: string; version: string } {
  const dir = path.resolve(__dirname, '..');
  let version = 'unknown';
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'tracemalloc' && typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // Bundled into an application: no package.json beside us.
  }
  return { path: dir, version };
}

/** The claim standing, if any (for error messages and tests). */
export function currentOwner(): OwnerInfo | null {
  const c = holder()[SLOT];
  return c === undefined ? null : { path: c.path, version: c.version, since: c.since };
}

/**
 * Claims the tracer for the copy whose module is `module`; `isLoaded` tells whether that module
 * is still in its registry. Throws TracerOwnedError if another loaded copy owns it; stops a stale
 * owner's session and takes over.
 */
export function claim(module: object, isLoaded: () => boolean): void {
  const h = holder();
  const existing = h[SLOT];
  if (existing !== undefined && existing.module !== module) {
    let loaded = true;
    try {
      loaded = existing.isLoaded();
    } catch {
      // A registry that cannot answer is taken as loaded: never stop a copy that may be alive.
    }
    if (loaded) {
      throw new TracerOwnedError(existing, `Call stop() on that copy first; ${describe()} cannot trace at the same time (V8 has one sampler per thread).`);
    }
    try {
      existing.stop();
    } finally {
      if (h[SLOT] === existing) delete h[SLOT];
    }
    process.emitWarning(
      `tracemalloc: the copy at ${existing.path} (version ${existing.version}) was still tracing when its modules were ` +
        `unloaded (a test file that never called stop()?); its session was stopped and ${describe()} traces now.`,
      { code: 'TRACEMALLOC_STALE_OWNER' },
    );
  }
  const claimed: Claim = { ...thisCopy(), since: new Date().toISOString(), module, isLoaded, stop: () => undefined };
  Object.defineProperty(h, SLOT, { value: claimed, configurable: true, enumerable: false, writable: true });
}

/**
 * Gives the claim of `module` the session a later copy stops if it finds this one stale. The
 * closure is made here so that it holds the session only, never the claiming module.
 */
export function setStaleStop(module: object, session: { dispose(): void }): void {
  const c = holder()[SLOT];
  if (c !== undefined && c.module === module) (c as { stop: () => void }).stop = () => session.dispose();
}

/** Gives the claim up (at stop()). */
export function release(module: object): void {
  const h = holder();
  const c = h[SLOT];
  if (c !== undefined && c.module === module) delete h[SLOT];
}

function describe(): string {
  const me = thisCopy();
  return `this copy (${me.path}, version ${me.version})`;
}

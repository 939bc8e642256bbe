/**
 * Settling the heap before a snapshot reads V8's profile, so that a snapshot holds what is alive,
 * at close to the cost of the one full GC that reading the profile runs anyway.
 *
 * Reading V8's sampling profile runs one full GC, and on its own that GC leaves garbage: V8 keeps
 * the maps (hidden classes) of dead objects for `--retain-maps-for-n-gc` (2) more full GCs, and a
 * kept map keeps its prototype, constructor and their closures' contexts alive. After ESLint's
 * `lintFiles()` the first snapshot counted 1.23-1.55x what survives GCs until stable.
 *
 * And no number of GCs frees what a closure being optimized in the background reaches (see
 * `readSettled`): the optimizing compiler's jobs in flight are finished first.
 *
 * The 'full' settle (the default) finishes those jobs, sets `--retain-maps-for-n-gc=0` for the
 * time of the read only, runs EXTRA_GCS full GCs, lets the read run its own, and restores the
 * host's value (its command line's, else V8's default 2) even if the read throws. Measured on
 * ESLint, prettier, yaml, webpack and tsc (Node 20 and 26, docs/differences-from-python.md
 * section 4): the residual garbage fell from up to 55 % (and 6-52x after tsc) to under 2 %, where
 * the former settle needed four or more full GCs for the same. Other ways were measured and
 * rejected: `HeapProfiler.collectGarbage` answers only after the current task, so it never runs
 * before a synchronous read; the gc extension's `flavor: 'last-resort'` (V8's memory-reducing GC)
 * is ignored on Node 20 and costs several GCs where honoured; more full GCs alone cost one GC each
 * and free maps only at the third. 'fast' changes no flag and runs no GC beyond the read's own.
 *
 * The GC function is V8's `gc` extension and the finalization V8's `%FinalizeOptimization()`,
 * both made for this session only in one private vm context (`makeSettleTools`), so neither a
 * global `gc` nor natives syntax appears in the host's contexts.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { debuglog } from 'node:util';

const log = debuglog('tracemalloc');

/** Full GCs run before the read's own in a 'full' settle, with maps not retained. */
export const EXTRA_GCS = 1;
/** V8's default `--retain-maps-for-n-gc` (the same on Node 20 to 26). */
export const V8_RETAIN_MAPS_DEFAULT = 2;

export type SettleMode = 'full' | 'fast';

/**
 * The host's `--retain-maps-for-n-gc`: the last one on its command line (`process.execArgv`; V8
 * accepts dashes or underscores; NODE_OPTIONS cannot carry it), else V8's default. A value the host
 * set at run time with `v8.setFlagsFromString()` cannot be read back and is not seen.
 */
export function hostRetainMaps(execArgv: readonly string[] = process.execArgv): number {
  let value = V8_RETAIN_MAPS_DEFAULT;
  for (const arg of execArgv) {
    const m = /^--retain[-_]maps[-_]for[-_]n[-_]gc=(-?\d+)$/.exec(arg);
    if (m !== null) value = Number(m[1]);
  }
  return value;
}

const HOST_RETAIN_MAPS = hostRetainMaps();

/**
 * What a 'full' settle runs besides the read: a synchronous full GC, and V8's
 * `%FinalizeOptimization()`, each null where it cannot be had (then the settle goes without it).
 */
export interface SettleTools {
  gc: (() => void) | null;
  finalizeOptimization: (() => void) | null;
}

/** No GC and no finalization: a session that never settles ('fast', 'allocated', disposed). */
export const NO_SETTLE_TOOLS: SettleTools = Object.freeze({ gc: null, finalizeOptimization: null });

/** The host's `--allow-natives-syntax`: the last of it or its negation on the command line. */
export function hostAllowsNatives(execArgv: readonly string[] = process.execArgv): boolean {
  let value = false;
  for (const arg of execArgv) {
    const m = /^--(no[-_])?allow[-_]natives[-_]syntax$/.exec(arg);
    if (m !== null) value = m[1] === undefined;
  }
  return value;
}

/**
 * The GC and `%FinalizeOptimization()`, made in one private vm context: `--expose-gc` is set just
 * long enough to create it (a host started with --expose-gc has its own `gc`, used instead), and
 * `--allow-natives-syntax` just long enough to compile one function in it and, each time, to call
 * it (left alone when the host runs with it), so the host's contexts get neither a global `gc` nor
 * natives syntax.
 */
export function makeSettleTools(execArgv: readonly string[] = process.execArgv): SettleTools {
  const host = (globalThis as { gc?: unknown }).gc;
  let gc: (() => void) | null = typeof host === 'function' ? () => void (host as () => void)() : null;
  let context: vm.Context;
  try {
    if (gc !== null) {
      // The host runs with --expose-gc: its flag stays as it is (its later contexts and workers
      // get their `gc`).
      context = vm.createContext();
    } else {
      v8.setFlagsFromString('--expose-gc');
      try {
        context = vm.createContext();
      } finally {
        v8.setFlagsFromString('--no-expose-gc');
      }
    }
  } catch (err) {
    log('no private context for the settle, snapshots settle with the read\'s GC only: %o', err);
    return { gc, finalizeOptimization: null };
  }
  if (gc === null) {
    const own = vm.runInContext('typeof gc === "function" ? gc : null', context) as unknown;
    if (typeof own === 'function') gc = () => void (own as () => void)();
    else log('no synchronous GC available, snapshots settle with the read\'s GC only');
  }
  let finalizeOptimization: (() => void) | null = null;
  const natives = hostAllowsNatives(execArgv);
  // V8 may flush the function's bytecode when it has not run for a few GCs and compile it again
  // at its next call, so natives syntax must be on at every call too, not only at the first
  // compilation (with it off, a later call threw `SyntaxError: Unexpected token '%'`).
  const withNatives = (f: () => unknown): unknown => {
    if (natives) return f();
    v8.setFlagsFromString('--allow-natives-syntax');
    try {
      return f();
    } finally {
      v8.setFlagsFromString('--no-allow-natives-syntax');
    }
  };
  try {
    const fn = withNatives(() => vm.runInContext('(function finalizeOptimization() { %FinalizeOptimization(); })', context));
    if (typeof fn === 'function') {
      finalizeOptimization = () => {
        try {
          withNatives(fn as () => void);
        } catch (err) {
          // Never a reason for a snapshot to fail: it settles without.
          log('%%FinalizeOptimization failed, this snapshot settles without it: %o', err);
        }
      };
    }
  } catch (err) {
    // A V8 without the runtime function (it is V8's, for its tests): settle without it.
    log('%%FinalizeOptimization is not available, snapshots settle without it: %o', err);
  }
  return { gc, finalizeOptimization };
}

/**
 * Runs `read` (which reads V8's profile, so runs one full GC) on a settled heap. In 'full' mode:
 * first the optimizing compiler's jobs in flight are finished and installed
 * (`%FinalizeOptimization()`): a job holds the function it compiles as a strong root until the main
 * thread installs it, at an interrupt that never comes inside a synchronous settle, and a full GC
 * neither waits for it nor cancels it, so a closure being optimized in the background kept its
 * whole scope alive through every GC of the settle (tsc: the dropped `Program`, 6-8x the live set,
 * in 6 of 34 settles on Node 20 and 10 of 12 on Node 26, through closures of `createTypeChecker`
 * whose jobs took 20-250 ms). Then, with maps of dead objects not retained, EXTRA_GCS full GCs and
 * the read; the host's flag is restored before this returns or throws. `setFlags` and `restore` are
 * for tests.
 */
export function readSettled<T>(
  mode: SettleMode,
  tools: SettleTools,
  read: () => T,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
  restore: number = HOST_RETAIN_MAPS,
): T {
  if (mode === 'fast') return read();
  tools.finalizeOptimization?.();
  // A host that already runs with 0 has nothing to set or restore.
  const flag = restore !== 0;
  if (flag) setFlags('--retain-maps-for-n-gc=0');
  try {
    const gc = tools.gc;
    if (gc !== null) for (let i = 0; i < EXTRA_GCS; i++) gc();
    return read();
  } finally {
    if (flag) setFlags(`--retain-maps-for-n-gc=${restore}`);
  }
}

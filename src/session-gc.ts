/**
 * Settling the heap before a snapshot reads V8's profile, so that a snapshot holds what is alive,
 * at close to the cost of the one full GC that reading the profile runs anyway.
 *
 * Reading V8's sampling profile runs one full GC, and on its own that GC leaves garbage: V8 keeps
 * the maps (hidden classes) of dead objects for `--retain-maps-for-n-gc` (2) more full GCs, and a
 * kept map keeps its prototype, constructor and their closures' contexts alive. After ESLint's
 * `lintFiles()` the first snapshot counted 1.23-1.55x what survives GCs until stable.
 *
 * The 'full' settle (the default) sets `--retain-maps-for-n-gc=0` for the time of the read only,
 * runs EXTRA_GCS full GCs, lets the read run its own, and restores the host's value (its command
 * line's, else V8's default 2) even if the read throws. Measured on ESLint, prettier, yaml,
 * webpack and tsc (Node 20 and 26, docs/differences-from-python.md section 4): the residual
 * garbage fell from up to 55 % to under 2 %, where the former settle needed four or more full
 * GCs for the same. Other ways were measured and rejected: `HeapProfiler.collectGarbage` answers
 * only after the current task, so it never runs before a synchronous read; the gc extension's
 * `flavor: 'last-resort'` (V8's memory-reducing GC) is ignored on Node 20 and costs several GCs
 * where honoured; more full GCs alone cost one GC each and free maps only at the third. 'fast'
 * changes no flag and runs no GC beyond the read's own.
 *
 * The GC function is V8's `gc` extension, made for this session only: `--expose-gc` is set just
 * long enough to create one private vm context and read its `gc`, then unset, so no global `gc`
 * appears in the host's contexts. A host started with --expose-gc gets its own `gc` used instead.
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

/** A synchronous full GC, or null where none can be had (then 'full' runs only the read's GC). */
export function makeFullGC(): (() => void) | null {
  const host = (globalThis as { gc?: unknown }).gc;
  if (typeof host === 'function') return () => void (host as () => void)();
  try {
    v8.setFlagsFromString('--expose-gc');
    try {
      const gc = vm.runInNewContext('gc') as unknown;
      if (typeof gc === 'function') return () => void (gc as () => void)();
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  } catch (err) {
    log('no synchronous GC available, snapshots settle with the read\'s GC only: %o', err);
  }
  return null;
}

/**
 * Runs `read` (which reads V8's profile, so runs one full GC) on a settled heap: in 'full' mode
 * with maps of dead objects not retained and EXTRA_GCS full GCs before it; the host's flag is
 * restored before this returns or throws. `setFlags` and `restore` are for tests.
 */
export function readSettled<T>(
  mode: SettleMode,
  gc: (() => void) | null,
  read: () => T,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
  restore: number = HOST_RETAIN_MAPS,
): T {
  if (mode === 'fast') return read();
  // A host that already runs with 0 has nothing to set or restore.
  const flag = restore !== 0;
  if (flag) setFlags('--retain-maps-for-n-gc=0');
  try {
    if (gc !== null) for (let i = 0; i < EXTRA_GCS; i++) gc();
    return read();
  } finally {
    if (flag) setFlags(`--retain-maps-for-n-gc=${restore}`);
  }
}

/**
 * Settling the heap before a snapshot reads V8's profile, so that a snapshot holds what is alive.
 *
 * Reading V8's sampling profile runs one full GC, and one is not enough: V8 keeps the maps
 * (hidden classes) of dead objects for `--retain-maps-for-n-gc` (2) more full GCs, and a kept map
 * keeps its prototype, constructor and their closures' contexts alive; optimized code keeps the
 * objects it embeds until it is thrown away. After ESLint's `lintFiles()` over 778 files, the
 * first snapshot counted 1.5-2x what survives (Node 20 and 26; 10x in other workloads): V8 frees
 * those objects only at the third full GC. `HeapProfiler.collectGarbage` cannot help: it answers
 * only after the current task (measured on Node 20, 22 and 26), so it never runs before a
 * synchronous read. So the 'full' settle runs MIN_GCS full GCs, then more while a GC still frees a
 * noticeable share of the heap (at most MAX_GCS in all); 'fast' runs none beyond the read's own.
 * Costs per snapshot are in docs/differences-from-python.md.
 *
 * The GC function is V8's `gc` extension, made for this session only: `--expose-gc` is set just
 * long enough to create one private vm context and read its `gc`, then unset, so no global `gc`
 * appears in the host's contexts. A host started with --expose-gc gets its own `gc` used instead.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { debuglog } from 'node:util';

const log = debuglog('tracemalloc');

/** Full GCs always run: V8 retains maps for 2 GCs (`--retain-maps-for-n-gc`), freed at the 3rd. */
export const MIN_GCS = 3;
/** Never more full GCs than this per snapshot. */
export const MAX_GCS = 8;
/** After MIN_GCS, go on while the last GC freed more than this share of the heap used... */
const FREED_SHARE = 0.01;
/** ...and more than this many bytes. */
const FREED_MIN = 1 << 20;

export type SettleMode = 'full' | 'fast';

/** A synchronous full GC, or null where none can be had (then 'full' settles like 'fast'). */
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
    log('no synchronous GC available, snapshots settle with one GC only: %o', err);
  }
  return null;
}

/** Runs the full GCs of a 'full' settle; returns how many ran. */
export function settleHeap(mode: SettleMode, gc: (() => void) | null): number {
  if (mode === 'fast' || gc === null) return 0;
  let before = v8.getHeapStatistics().used_heap_size;
  let n = 0;
  while (n < MAX_GCS) {
    gc();
    n++;
    const after = v8.getHeapStatistics().used_heap_size;
    const freed = before - after;
    before = after;
    if (n >= MIN_GCS && !(freed > FREED_MIN && freed > FREED_SHARE * after)) break;
  }
  return n;
}

// Helpers for tests against live V8.
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
/** A full GC, for tests only (the library itself never forces one outside takeSnapshot). */
export const gc = vm.runInNewContext('gc') as () => void;

export const MiB = 1024 * 1024;

/**
 * Heap used once the heap holds only what is alive: one `gc()` can leave the garbage of earlier
 * code reachable through retained maps for two more GCs (docs/differences-from-python.md §4),
 * so a baseline taken after one GC can hold megabytes that a snapshot's settle then frees.
 */
export function settledHeapUsed(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** The 1-based line of the first line of `source` (a path) that contains `needle`. */
export function lineOf(source: string, needle: string): number {
  const lines = fs.readFileSync(source, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not found in ${source}`);
  return i + 1;
}

/**
 * The sampling error bound: an estimate of S bytes of objects much smaller than the interval I
 * has a standard deviation of sqrt(S * I); tests allow `sigmas` of them.
 */
export function samplingBound(size: number, interval: number, sigmas = 5): number {
  return sigmas * Math.sqrt(size * interval);
}

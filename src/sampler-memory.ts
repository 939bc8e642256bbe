/**
 * What V8's sampling heap profiler holds for the tracer, outside the JavaScript heap: a record per
 * sample, its entry in the sampler's table and, while the sampled object lives, a weak global
 * handle. `getTracemallocMemory()` counts it from two things:
 *
 * - The live samples, counted at runtime: each holds one V8 global handle, and V8 reports the
 *   bytes of global handles in use (`v8.getHeapStatistics().used_global_handles_size`, 32 bytes a
 *   handle on every supported Node). Their growth since `start()`, less the handles that are not
 *   samples (calibrated at each live snapshot, where the profile gives the exact count), is the
 *   live samples. The old guess, traced heap / interval, over-counted by 1.3x on small objects
 *   (V8 takes fewer samples than that) and could not see samples once the heap fell below its
 *   baseline.
 * - What a sample costs, per Node major (V8's allocator and table layout differ): measured as the
 *   malloc arena's resident bytes plus the heap used, traced minus untraced, in processes that
 *   hold 1.4 x 10^5 and 2.7 x 10^5 live samples (notes: scripts in docs/api.md's accuracy section).
 */
import * as v8 from 'node:v8';

/** Bytes of one V8 global handle (a GlobalHandles::Node) on 64-bit builds: 32 on Node 20 to 26. */
export const GLOBAL_HANDLE_BYTES = 32;

/**
 * Resident bytes one live sample adds: its record, its table entry, its weak handle and the
 * allocator's slack. Measured (test/tracer-memory.test.ts's program, MALLOC_ARENA_MAX=1, [heap]
 * RSS + heap used, traced - untraced, with the session's fixed cost in it): Node 20: 180 and 155
 * bytes a sample at 1.4 and 2.7 x 10^5 samples, Node 22: 185 and 140, Node 24: 240 and 190,
 * Node 26: 195-245 and 190 (the arena's slack varies from run to run by up to 6 MiB).
 */
export function liveSampleCost(major: number): number {
  return major >= 24 ? 190 : major >= 22 ? 145 : 155;
}

/**
 * Bytes a sample of an already collected object costs in 'allocated' mode: V8 keeps its record
 * but frees its weak handle. Their number is itself estimated (the heap allocated times V8's
 * samples per byte), so this is fitted on the two together: 2,000,000 small objects churned at a
 * 128 B interval with nothing kept (the arena + heap measure above) cost 39.2-39.5 MiB, which
 * these records at 76 bytes each give on Node 20, 22, 24 and 26 alike. (94, the slope of RSS
 * between 4 and 8 x 10^5 samples, over-estimated this by 24 %.)
 */
export const COLLECTED_SAMPLE_COST = 76;

/**
 * Native bytes a session holds whatever it samples: the inspector session, V8's sampler and its
 * tree's root, the session's GC profiler. Measured with no live sample (traced - untraced, same
 * program with nothing kept): 1.1-1.8 MiB beyond what the estimate counts otherwise, Node 20-26.
 */
export const SESSION_FIXED_BYTES = 1.5 * 1024 * 1024;

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

function handleBytes(): number {
  return v8.getHeapStatistics().used_global_handles_size ?? 0;
}

/** Counts V8's live samples from the global handles in use (see the file comment). */
export class LiveSampleCount {
  /** Handle bytes in use at start(), plus those found not to be samples at the last calibration. */
  #others: number;
  readonly #cost = liveSampleCost(NODE_MAJOR);

  constructor() {
    this.#others = handleBytes();
  }

  /** Live samples V8 holds now (0 if the process dropped handles it held at start()). */
  count(): number {
    return Math.max(0, Math.round((handleBytes() - this.#others) / GLOBAL_HANDLE_BYTES));
  }

  /**
   * Re-anchors on an exact count: `samples` live samples, read from V8's profile just now. Every
   * other handle the program holds now is not a sample.
   */
  calibrate(samples: number): void {
    this.#others = handleBytes() - samples * GLOBAL_HANDLE_BYTES;
  }

  /** Bytes of `live` live samples on this Node. */
  liveBytes(live: number): number {
    return live * this.#cost;
  }
}

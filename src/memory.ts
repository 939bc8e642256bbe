/**
 * The current/peak counter behind `getTracedMemory()`. It never forces a GC:
 * current = (V8 heap used now - baseline) + the exact bytes of the other domains, where the
 * baseline (heap bytes that are not traced: alive before `start()`) is re-anchored at each
 * snapshot on the profile's estimate of traced bytes. Between GCs the heap only grows, so its
 * peak is the heap used just before a GC: `v8.GCProfiler` reports it for every GC, and those
 * values are folded into the peak at reads and once a second.
 *
 * A fold stops and restarts the GCProfiler, and Node makes a native object for each start that
 * lives until the next full GC: folding at every read of a tight loop piled up hundreds of
 * thousands of them and stalled reads for 30-70 ms each time Node's table of them grew (Node 20
 * and 26; bench/counter.ts). So a read folds when the heap shrank since the previous read (a GC
 * ran) or at least FOLD_MIN_MS after the previous fold; otherwise the GCs of that last
 * millisecond reach the peak at the next read that folds. Nothing is lost: the profiler keeps
 * every GC's figure until it is folded. (`resetPeak()` likewise: a GC less than a millisecond
 * before it that left the heap larger than the previous read can still count after it.)
 */
import * as v8 from 'node:v8';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';

const log = debuglog('tracemalloc');
const FOLD_INTERVAL_MS = 1000;
/** Reads fold the GCs into the peak at most this often, unless the heap shrank (see above). */
const FOLD_MIN_MS = 1;

interface GCStatistic {
  gcType: string;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export function heapUsed(): number {
  return v8.getHeapStatistics().used_heap_size;
}

export class MemoryCounter {
  #baseline = 0;
  #peak = 0;
  #gc: v8.GCProfiler | null = null;
  /** Heap used at the previous read, and when the GCs were last folded (performance.now()). */
  #lastUsed = 0;
  #lastFold = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Heap used right after the last GC folded (-1: none seen since the last anchor). */
  #lastAfterGC = -1;
  /** Bytes allocated on the heap since start(), summed from the GCs (see allocatedBytes()). */
  #allocated = 0;
  /** Heap used after the last GC folded into #allocated (or at start()). */
  #allocBase = 0;
  readonly #otherDomains: () => number;

  /** `otherDomains` returns the exact bytes traced outside the V8 heap (ArrayBuffers, user domains). */
  constructor(otherDomains: () => number) {
    this.#otherDomains = otherDomains;
  }

  /** Starts counting from zero: what the heap holds now is the baseline. */
  start(): void {
    this.#baseline = heapUsed();
    this.#peak = 0;
    this.#lastUsed = this.#baseline;
    this.#lastFold = performance.now();
    this.#allocated = 0;
    this.#allocBase = this.#baseline;
    if (typeof v8.GCProfiler === 'function') {
      this.#gc = new v8.GCProfiler();
      this.#gc.start();
    }
    this.#timer = setInterval(() => {
      try {
        this.read();
      } catch (err) {
        log('counter tick failed: %o', err);
      }
    }, FOLD_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    try {
      this.#gc?.stop();
    } catch (err) {
      log('GCProfiler.stop failed: %o', err);
    }
    this.#gc = null;
    this.#baseline = 0;
    this.#peak = 0;
  }

  /** Current traced bytes: heap growth over the baseline (never below 0) plus the other domains. */
  current(): number {
    return this.#currentOf(heapUsed());
  }

  #currentOf(used: number): number {
    return Math.max(0, used - this.#baseline) + this.#otherDomains();
  }

  /** Folds the heap used before each GC since the last fold into the peak. */
  #fold(): void {
    const gc = this.#gc;
    if (gc === null) return;
    this.#lastFold = performance.now();
    const data = gc.stop() as unknown as { statistics?: GCStatistic[] } | undefined;
    gc.start();
    const stats = data?.statistics;
    if (stats === undefined || stats.length === 0) return;
    for (const s of stats) {
      this.#allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - this.#allocBase);
      this.#allocBase = s.afterGC.heapStatistics.usedHeapSize;
    }
    for (let i = stats.length - 1; i >= 0; i--) {
      // The last full GC: scavenges after it would count young objects allocated since.
      if (stats[i]!.gcType === 'MarkSweepCompact') {
        this.#lastAfterGC = stats[i]!.afterGC.heapStatistics.usedHeapSize;
        break;
      }
    }
    const other = this.#otherDomains();
    for (const s of stats) {
      const before = Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - this.#baseline) + other;
      if (before > this.#peak) this.#peak = before;
    }
  }

  /** `[current, peak]` in bytes. */
  read(): [current: number, peak: number] {
    const current = this.#currentOf(this.#foldIfDue());
    if (current > this.#peak) this.#peak = current;
    return [current, this.#peak];
  }

  /** Folds when a GC ran since the previous read or FOLD_MIN_MS have passed; returns the heap used now. */
  #foldIfDue(): number {
    const used = heapUsed();
    if (used < this.#lastUsed || performance.now() - this.#lastFold >= FOLD_MIN_MS) this.#fold();
    this.#lastUsed = used;
    return used;
  }

  /**
   * Bytes allocated on the V8 heap since `start()`: the growth of heap used between GCs, summed
   * (each GC's heap before it, minus the heap after the one before), plus the growth since the
   * last GC. What 'allocated' mode's sampler sees, so what its records cost.
   */
  allocatedBytes(): number {
    this.#fold();
    return this.#allocated + Math.max(0, heapUsed() - this.#allocBase);
  }

  /** The heap part of `current()`: heap growth over the baseline, never below 0. */
  heapCurrent(): number {
    return Math.max(0, heapUsed() - this.#baseline);
  }

  /**
   * Re-anchors on a snapshot: `tracedHeap` is the profile's estimate of live traced heap bytes.
   * The baseline is the heap used right after the GC that reading the profile ran, as the
   * GCProfiler recorded it: that is before V8's answer (the profile object, often megabytes) was
   * parsed into the heap. Heap used read after the call would count that profile object, garbage
   * a moment later, into the baseline and leave the counter low by its size (10 % at a 512 B
   * interval). Without a GC record (no GCProfiler), `usedNow` stands in.
   */
  anchor(tracedHeap: number, usedNow = heapUsed()): void {
    this.#lastAfterGC = -1;
    this.#fold();
    const afterGC = this.#lastAfterGC >= 0 ? this.#lastAfterGC : usedNow;
    this.#baseline = afterGC - tracedHeap;
    const current = this.current();
    if (current > this.#peak) this.#peak = current;
  }

  /** Python's `reset_peak()`: the peak becomes the current size. */
  resetPeak(): void {
    this.#peak = this.#currentOf(this.#foldIfDue());
  }

  /** Python's `clear_traces()` for the counter: current and peak become 0. */
  clear(): void {
    this.#fold();
    this.#baseline = heapUsed();
    this.#peak = 0;
  }
}

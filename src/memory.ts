/**
 * The current/peak counter behind `getTracedMemory()`. It never forces a GC:
 * current = (V8 heap used now - baseline) + the exact bytes of the other domains, where the
 * baseline (heap bytes that are not traced: alive before `start()`) is re-anchored at each
 * snapshot on the profile's estimate of traced bytes. Between GCs the heap only grows, so its
 * peak is the heap used just before a GC: `v8.GCProfiler` reports it for every GC, and those
 * values are folded into the peak at each read and once a second.
 */
import * as v8 from 'node:v8';
import { debuglog } from 'node:util';

const log = debuglog('tracemalloc');
const FOLD_INTERVAL_MS = 1000;

interface GCStatistic {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
}

export function heapUsed(): number {
  return v8.getHeapStatistics().used_heap_size;
}

export class MemoryCounter {
  #baseline = 0;
  #peak = 0;
  #gc: v8.GCProfiler | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #otherDomains: () => number;

  /** `otherDomains` returns the exact bytes traced outside the V8 heap (ArrayBuffers, user domains). */
  constructor(otherDomains: () => number) {
    this.#otherDomains = otherDomains;
  }

  /** Starts counting from zero: what the heap holds now is the baseline. */
  start(): void {
    this.#baseline = heapUsed();
    this.#peak = 0;
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
    return Math.max(0, heapUsed() - this.#baseline) + this.#otherDomains();
  }

  /** Folds the heap used before each GC since the last fold into the peak. */
  #fold(): void {
    const gc = this.#gc;
    if (gc === null) return;
    const data = gc.stop() as unknown as { statistics?: GCStatistic[] } | undefined;
    gc.start();
    const stats = data?.statistics;
    if (stats === undefined || stats.length === 0) return;
    const other = this.#otherDomains();
    for (const s of stats) {
      const before = Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - this.#baseline) + other;
      if (before > this.#peak) this.#peak = before;
    }
  }

  /** `[current, peak]` in bytes. */
  read(): [current: number, peak: number] {
    this.#fold();
    const current = this.current();
    if (current > this.#peak) this.#peak = current;
    return [current, this.#peak];
  }

  /**
   * Re-anchors on a snapshot: `tracedHeap` is the profile's estimate of live traced heap bytes and
   * `usedNow` the heap used right after the profile read (which ran a full GC).
   */
  anchor(tracedHeap: number, usedNow: number): void {
    this.#fold();
    this.#baseline = usedNow - tracedHeap;
    const current = this.current();
    if (current > this.#peak) this.#peak = current;
  }

  /** Python's `reset_peak()`: the peak becomes the current size. */
  resetPeak(): void {
    this.#fold();
    this.#peak = this.current();
  }

  /** Python's `clear_traces()` for the counter: current and peak become 0. */
  clear(): void {
    this.#fold();
    this.#baseline = heapUsed();
    this.#peak = 0;
  }
}

/**
 * The program's peak of traced memory, kept as a snapshot (issue 19: `run` reports the peak).
 * At exit a well-behaved program holds almost nothing; what a user wants is what used memory at
 * the high-water mark, as Python's memray reports it. A timer (unref'd: it never keeps the
 * process alive) reads the cheap counter every `intervalMs`; when traced memory has passed the
 * last peak snapshot by `margin`, it takes a snapshot and keeps it if it is the largest so far.
 *
 * Cost: each peak snapshot is one `takeSnapshot()` (its GCs and the profile read, see
 * differences-from-python.md §4); at most `maxSnapshots` are taken, and each needs the traced
 * memory to have grown by `margin` over the previous one, so a program that grows steadily from
 * `minBytes` to M takes about log(M / minBytes) / log(1 + margin) of them (at most 12 by
 * default); one is due when two reads in a row are past the threshold, and, after the first, is
 * taken only while peak snapshots have cost at most `budget` (5 %) of the time since the keeper
 * started (the next one's cost estimated from the last one's, per traced byte): on ESLint linting
 * 200 files, 4-5 peak snapshots took 0.8-1.5 s of a 2.2 s run. A peak passed while the budget is
 * spent is seen at the next snapshot the budget allows, if memory is still up then. One snapshot
 * is held at a time (the largest). What it cannot see: a peak reached and
 * left within one synchronous stretch of code (the timer runs between tasks), and 'allocated'
 * mode (whose traces are not live memory: the keeper stops at its first snapshot and does not keep
 * it; the preload never starts that mode, only a program restarting the tracer in it does).
 */
import { dumpPathWith } from './preload-env.js';
import { debuglog } from 'node:util';
import type { Snapshot } from './snapshot.js';
import { getTracedMemory, isTracing, takeSnapshot } from './tracer.js';

const log = debuglog('tracemalloc');

export interface PeakOptions {
  /** How much traced memory must pass the last peak snapshot before another is taken. Default 0.2 (20 %). */
  margin?: number;
  /** No peak snapshot below this many traced bytes. Default 4 MiB. */
  minBytes?: number;
  /** At most this many peak snapshots in all. Default 12. */
  maxSnapshots?: number;
  /** How often the counter is read (ms). Default 100. */
  intervalMs?: number;
  /**
   * The share of the time since `start()` that peak snapshots may cost, after the first one.
   * Default 0.05 (5 %).
   */
  budget?: number;
}

export interface PeakInfo {
  /** The largest snapshot taken, or null if memory never passed `minBytes`. */
  snapshot: Snapshot | null;
  /** Its traced bytes (all domains). */
  traced: number;
  /** Peak snapshots taken, and the milliseconds they cost in all. */
  taken: number;
  costMs: number;
  /**
   * Peak snapshots the keeper would have taken without its budget: one each time traced memory
   * passed the last skipped height by `margin` (reads at the same height, or falling and rising
   * back to it, count once; one jump of several margins counts once).
   */
  deferred: number;
}

function tracedBytes(snapshot: Snapshot): number {
  let total = 0;
  for (const t of snapshot.traces) total += t.size;
  return total;
}

export class PeakKeeper {
  readonly #margin: number;
  readonly #minBytes: number;
  readonly #maxSnapshots: number;
  readonly #intervalMs: number;
  readonly #budget: number;
  #startedAt = 0;
  /**
   * The last peak snapshot's cost per traced byte (ms), to estimate the next one's. Not the
   * highest seen: the first is often taken while the program still loads code, and its cold
   * conversion (compiling our snapshot path, first source maps) would hold every later one back.
   */
  #costPerByte = 0;
  #deferred = 0;
  /** While deferring: the counter value past which another deferred peak is counted (margin steps). */
  #deferredThreshold = Number.POSITIVE_INFINITY;
  /** The last read was past the threshold. */
  #armed = false;
  #timer: NodeJS.Timeout | null = null;
  #snapshot: Snapshot | null = null;
  #traced = 0;
  /** Counter value that the next peak snapshot needs. */
  #threshold: number;
  #taken = 0;
  #costMs = 0;

  constructor(options: PeakOptions = {}) {
    this.#margin = options.margin ?? 0.2;
    this.#minBytes = options.minBytes ?? 4 * 1024 * 1024;
    this.#maxSnapshots = options.maxSnapshots ?? 12;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#budget = options.budget ?? 0.05;
    if (!(this.#margin > 0) || !(this.#minBytes >= 0) || !Number.isInteger(this.#maxSnapshots) || this.#maxSnapshots < 1 || !(this.#intervalMs > 0) || !(this.#budget > 0)) {
      throw new RangeError('PeakKeeper options: margin > 0, minBytes >= 0, maxSnapshots an integer >= 1, intervalMs > 0, budget > 0');
    }
    this.#threshold = this.#minBytes;
  }

  start(): void {
    if (this.#timer !== null) return;
    if (this.#startedAt === 0) this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Reads the counter and takes a peak snapshot when due. Never throws. */
  check(): void {
    if (this.#taken >= this.#maxSnapshots || !isTracing()) return;
    try {
      const [current] = getTracedMemory();
      if (current < this.#threshold) {
        // The skipped peak's height is kept: rising to it again is the same peak, not another.
        this.#armed = false;
        return;
      }
      // Due at two reads in a row: a synchronous program's one read, just before it exits (the
      // timer first runs when its main script is done), would take a snapshot of what the exit
      // report is about to show (js-yaml, yaml, marked: 40-70 ms of a 0.4-1.4 s run).
      if (!this.#armed) {
        this.#armed = true;
        return;
      }
      const t0 = performance.now();
      if (this.#taken > 0 && this.#costMs + this.#costPerByte * current > this.#budget * (t0 - this.#startedAt)) {
        // Counted once per peak skipped (each margin step passed while the budget is spent), not
        // once per timer tick.
        if (this.#deferredThreshold === Number.POSITIVE_INFINITY || current >= this.#deferredThreshold) {
          this.#deferred++;
          this.#deferredThreshold = current * (1 + this.#margin);
        }
        return;
      }
      this.#armed = false;
      this.#deferredThreshold = Number.POSITIVE_INFINITY;
      const snapshot = takeSnapshot();
      const cost = performance.now() - t0;
      this.#costMs += cost;
      this.#costPerByte = cost / Math.max(current, 1);
      this.#taken++;
      if (snapshot.meta.mode === 'allocated') {
        this.#taken = this.#maxSnapshots; // allocated bytes have no peak: stop here
        return;
      }
      snapshot.meta.reason = 'peak';
      const traced = tracedBytes(snapshot);
      if (traced > this.#traced) {
        this.#snapshot = snapshot;
        this.#traced = traced;
      }
      // The counter now sits on the live set (the snapshot re-anchored it).
      this.#threshold = Math.max(this.#minBytes, this.#traced, getTracedMemory()[0]) * (1 + this.#margin);
    } catch (err) {
      log('peak snapshot failed: %o', err);
      this.#taken = this.#maxSnapshots;
    }
  }

  /** Stops the timer; the peak found so far stays readable. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  get info(): PeakInfo {
    return { snapshot: this.#snapshot, traced: this.#traced, taken: this.#taken, costMs: this.#costMs, deferred: this.#deferred };
  }
}

/** The file of the peak snapshot beside dump file `dump`: `heap.json` -> `heap.peak.json`. */
export function peakDumpPath(dump: string): string {
  return dumpPathWith(dump, 'peak');
}

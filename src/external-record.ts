/**
 * Domain 1's bookkeeping: what a sampled Buffer or typed array becomes (a sample with its stack),
 * how long it lives, and the traces a snapshot gets from it. Everything here is the tracer's own
 * work: the wrappers in external.ts (which work on behalf of their caller) call into it only on a
 * sample, and every object it allocates is the tracer's, never the program's. Kept in its own file
 * so that the heap domain tells the two apart by file. See docs/external-memory.md.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { debuglog, types } from 'node:util';
import { mappedFrames, OWN, SiteCache } from './external-stack.js';
import type { Site } from './stack.js';
import type { StoreBuilder } from './store.js';

const log = debuglog('tracemalloc');

/** The domain of these traces (tracer.ts's `EXTERNAL_DOMAIN`). */
const DOMAIN = 1;
/** V8 keeps a typed array of at most this many bytes on its own heap (`--typed-array-max-size-in-heap`). */
const ON_HEAP_MAX = 64;
/** Frames captured beyond `nframe`, for builtin frames (`Array.map`, `Function.from`) that are dropped. */
const FRAME_MARGIN = 2;
/**
 * Estimated bytes per live sample: the record, its slot, weak ref, registry cell, WeakMap and set
 * entries. Measured: 311 bytes of heap a sample (10^5 samples of Buffer.alloc(100), Node 20).
 */
const SAMPLE_BYTES = 310;
/** Estimated bytes per spare slot of the pool (the slot and its WeakRef). */
const SLOT_BYTES = 64;
/** Estimated bytes per site of 'allocated' mode's totals (map entry, totals object). */
const ALLOCATED_SITE_BYTES = 96;
/** Spare slots made ahead (see `SlotPool`); the pool grows to what one turn of the event loop used. */
const POOL_MIN = 256;
/**
 * The share of the program's time that recording samples may take before the interval widens
 * (see `ExternalRecords.next`); bench/buffers.ts chose it (docs/external-memory.md).
 */
const MAX_SAMPLING_SHARE = 0.02;
/**
 * Allocations of at least this many bytes are always sampled, whatever the interval (their sizes
 * are exact): the adaptation widens the interval for dense small allocations only.
 */
export const ALWAYS_SAMPLED = 1024 * 1024;
/** The widest interval the adaptation may choose: beyond, every allocation is sampled anyway. */
const MAX_INTERVAL = ALWAYS_SAMPLED;
/**
 * The adaptation compares the time spent recording with the time elapsed over windows of this
 * many ms; the first window after start is FIRST_WINDOW_MS, each next one twice as long up to this.
 */
const WINDOW_MS = 10;
/**
 * The first window after start (ms). A dense loop pays the base interval until its first window
 * is judged: at 1 ms, a loop of small pooled Buffers (~4 GB/s) spent 20-30 ms of each start at
 * 5-15 % before reaching 1 MiB (bench/buffers.ts).
 */
const FIRST_WINDOW_MS = 0.25;
/** A window is judged once it holds this many samples (else it goes on). */
const WINDOW_MIN_SAMPLES = 8;
/** Record durations kept per window (a power of 2). */
const DURATIONS = 32;

const POOL_MAX = 1 << 16;
/** Random 32-bit words drawn from the platform at once (see `Uniform`). */
const RANDOM_BLOCK = 1024;

// What a wrapper's result is, for `measure`.
/** The result is an ArrayBuffer or SharedArrayBuffer. */
export const ARRAY_BUFFER = 1;
/** The result is a Buffer that Node may have cut from its shared pool (`Buffer.poolSize`). */
export const POOLED = 2;
/** The result was made by C++ (TextEncoder): never on V8's heap, whatever its size. */
export const NATIVE = 4;

/** What the wrappers call on a sample: the running tracer. */
export interface Recorder {
  /** Bytes to the next sample: an exponential draw of mean `interval`. */
  next(): number;
  record(result: unknown, kind: number, arg0: unknown, n: number, callee: Function): void;
}

// ---------------------------------------------------------------------------------------------
// Intrinsics, read once before anything is patched.

const TypedArray = Object.getPrototypeOf(Uint8Array) as Function & { prototype: object };
const reflectApply = Reflect.apply;
const NO_ARGS: readonly unknown[] = Object.freeze([]);
const getter = (proto: object, key: string): Function => Object.getOwnPropertyDescriptor(proto, key)!.get!;
const typedArrayByteLengthGet = getter(TypedArray.prototype, 'byteLength');
const typedArrayBufferGet = getter(TypedArray.prototype, 'buffer');
const arrayBufferByteLengthGet = getter(ArrayBuffer.prototype, 'byteLength');
const sharedByteLengthGet = getter(SharedArrayBuffer.prototype, 'byteLength');
const randomFill = randomFillSync;
const WeakRefCtor = WeakRef;
const weakRefDeref = WeakRef.prototype.deref;
const FinalizationRegistryCtor = FinalizationRegistry;
const registryRegister = FinalizationRegistry.prototype.register;
const WeakMapCtor = WeakMap;
const weakMapSet = WeakMap.prototype.set;
const setImmediateFn = setImmediate;
const perf = performance;
const perfNow = performance.now;
const now = (): number => reflectApply(perfNow, perf, NO_ARGS) as number;
const processRef = process;
const processCpuUsage = process.cpuUsage;
/** CPU time of the process (all its threads), ms; read once per window of the adaptation. */
const cpuNow = (): number => {
  const u = reflectApply(processCpuUsage, processRef, NO_ARGS) as NodeJS.CpuUsage;
  return (u.user + u.system) / 1000;
};
/** CPU time of the process's other threads (GC, compiler) may exceed the window: at most this many cores count. */
const CPU_CORES = 1;

function bufferByteLength(buffer: unknown): number {
  return reflectApply(types.isSharedArrayBuffer(buffer) ? sharedByteLengthGet : arrayBufferByteLengthGet, buffer, NO_ARGS) as number;
}

/**
 * The memory a sampled result holds and the object whose collection frees it, or `null` when the
 * call allocated nothing external: a view of an existing buffer, or a small typed array that V8
 * keeps on its own heap (the heap domain counts it). A Buffer cut from Node's pool is counted for
 * its own bytes and lives as long as it does (the rest of the pool is in `<external>:0`). Reads
 * only intrinsic getters: a subclass's own `length` or `byteLength` never runs.
 */
function measure(result: unknown, kind: number, arg0: unknown): { size: number; target: object } | null {
  if ((kind & ARRAY_BUFFER) !== 0) {
    return types.isAnyArrayBuffer(result) ? { size: bufferByteLength(result), target: result } : null;
  }
  if (!types.isTypedArray(result) || types.isAnyArrayBuffer(arg0)) return null;
  const n = reflectApply(typedArrayByteLengthGet, result, NO_ARGS) as number;
  // Node's rule for the pool (lib/buffer.js `allocate`), read after the call like Node reads it.
  if ((kind & POOLED) !== 0 && n > 0 && n < Buffer.poolSize >>> 1) return { size: n, target: result };
  // Reading `.buffer` of an on-heap typed array would move it off the heap: decide first.
  if (n <= ON_HEAP_MAX && (kind & NATIVE) === 0) return null;
  const buffer = reflectApply(typedArrayBufferGet, result, NO_ARGS) as ArrayBufferLike;
  return { size: bufferByteLength(buffer), target: buffer };
}

// ---------------------------------------------------------------------------------------------
// Liveness. A sample must leave a snapshot as soon as its memory is collected, also when the
// program drops it and takes the snapshot in the same synchronous task, where no
// FinalizationRegistry callback can run. So each sample owns a *slot*, a small object that a
// WeakMap keeps alive exactly as long as the sampled object (never longer, never shorter), and a
// WeakRef to the slot: after the snapshot's GC, `deref()` says whether the object survived.
// A WeakRef keeps its target alive until the end of the task that created it (ECMAScript's
// KeepDuringJob), so the slots and their WeakRefs are made ahead, in an earlier task, and kept in a
// pool until a sample takes one. A sample taken when the pool is empty gets a fresh slot, and its
// WeakRef on the next turn of the event loop (a WeakRef made at once would be kept, with every
// other one of a long synchronous task, until the task ends): its death is seen from then on.
// (Deref'ing a live slot keeps the slot, not the buffer.)

interface Slot {
  readonly ref: WeakRef<object> | null;
  slot: object | null;
}

/** What the pool needs of a sample that got a fresh slot. */
interface Pending {
  ref: WeakRef<object> | null;
  /** The slot, held until its WeakRef is made; it does not keep the sampled object alive. */
  pending: object | null;
}

class SlotPool {
  #spare: Slot[] = [];
  #pending: Pending[] = [];
  #used = 0;
  #scheduled = false;
  #closed = false;

  constructor() {
    this.#fill(POOL_MIN);
  }

  /** A slot made in an earlier task when there is one; the caller keeps `ref` and hands `slot` out. */
  take(): Slot {
    this.#used++;
    const spare = this.#spare.pop();
    if (!this.#scheduled && !this.#closed) this.#schedule();
    if (spare !== undefined) return spare;
    return { ref: null, slot: {} };
  }

  /** `sample` got a fresh slot: its WeakRef is made on the next turn of the event loop. */
  defer(sample: Pending): void {
    this.#pending.push(sample);
  }

  /** Forgets the samples waiting for their WeakRef (their traces were cleared). */
  clearPending(): void {
    this.#pending = [];
  }

  get spare(): number {
    return this.#spare.length;
  }

  close(): void {
    this.#closed = true;
    this.#spare = [];
    this.#pending = [];
  }

  /** Refills on a later turn of the event loop (an unref'd immediate: it never keeps the process up). */
  #schedule(): void {
    this.#scheduled = true;
    const immediate = setImmediateFn(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      const target = Math.min(POOL_MAX, Math.max(POOL_MIN, this.#used * 2));
      this.#used = 0;
      const pending = this.#pending;
      this.#pending = [];
      for (const p of pending) {
        if (p.pending === null) continue;
        p.ref = new WeakRefCtor(p.pending);
        p.pending = null;
      }
      this.#fill(target);
    });
    immediate.unref();
  }

  #fill(target: number): void {
    while (this.#spare.length < target) {
      const slot = {};
      this.#spare.push({ ref: new WeakRefCtor(slot), slot });
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** One live sampled allocation. */
interface Sample extends Pending {
  /** Estimated bytes it stands for: its size divided by the probability of sampling it. */
  readonly size: number;
  /** Estimated number of allocations it stands for. */
  readonly count: number;
  readonly site: Site;
  /** Cleared by the GC once the sampled object is collected; `null` until made (see SlotPool). */
  ref: WeakRef<object> | null;
}

/**
 * Uniform numbers in (0, 1) for the sampling draws, from the platform's random source (Node's
 * `crypto.randomFillSync`, RANDOM_BLOCK words at a time: ~0.01 µs a draw). Never `Math.random()`:
 * its sequence is the program's — under `node --random-seed=N`, a seeded generator installed as
 * `Math.random` or a test's mock, every draw the tracer took from it changed what the program
 * computed next (a seeded program printed other numbers traced than untraced).
 */
class Uniform {
  readonly #words = new Uint32Array(RANDOM_BLOCK);
  #next = RANDOM_BLOCK;

  next(): number {
    if (this.#next === RANDOM_BLOCK) {
      randomFill(this.#words);
      this.#next = 0;
    }
    return (this.#words[this.#next++]! + 0.5) / 4294967296;
  }
}

/** 'allocated' mode: every sampled allocation, collected or not, summed per site. */
interface Totals {
  size: number;
  count: number;
}

export interface ExternalRecordOptions {
  /** The mean interval when allocations are rare (the heap sampler's). */
  interval: number;
  /** Widen the interval when recording would cost more than MAX_SAMPLING_SHARE (2 %) of the CPU time (default). */
  adaptive: boolean;
  nframe: number;
  sourceMaps: boolean;
  /** 'allocated' mode: snapshots show every allocation since start, collected or not. */
  allocated: boolean;
}

/** The samples of a running ExternalTracer. */
export class ExternalRecords implements Recorder {
  readonly #base: number;
  readonly #adaptive: boolean;
  /** The mean interval of the current draw. */
  #interval: number;
  /** The mean interval of the draw that just ran out: a sample's probability is computed with it. */
  #weightInterval: number;
  /** When the current window of the adaptation started (ms), 0 before the first sample. */
  #windowStart = 0;
  /** The process's CPU time (ms) when the current window started. */
  #windowCpu = 0;
  /**
   * How long the window's records took (ms; the first DURATIONS, then round robin): the cost of
   * the window is their median times the samples, so that a record that a GC step or the
   * scheduler lengthened does not widen the interval by itself.
   */
  readonly #durations = new Float64Array(DURATIONS);
  /** Length of the current window (ms). */
  #window = FIRST_WINDOW_MS;
  /** Samples recorded in the current window. */
  #windowSamples = 0;
  /** The widest interval used since start (bounds the sampling error of any estimate). */
  #widest: number;
  readonly #limit: number;
  readonly #allocated: Map<Site, Totals> | null;
  #live = new Set<Sample>();
  #registry = this.#newRegistry();
  /** Sampled object -> its slot (see `SlotPool`). */
  #slots = new WeakMapCtor<object, object>();
  #pool = new SlotPool();
  #bytes = 0;
  readonly #sites: SiteCache;
  /** Map frames through source maps when a snapshot reads them (external-stack.ts). */
  readonly #sourceMaps: boolean;
  readonly #uniform = new Uniform();

  constructor(options: ExternalRecordOptions) {
    this.#base = options.interval;
    this.#interval = options.interval;
    this.#weightInterval = options.interval;
    this.#widest = options.interval;
    this.#adaptive = options.adaptive;
    this.#limit = options.nframe + FRAME_MARGIN;
    this.#sites = new SiteCache(options.nframe, this.#limit);
    this.#sourceMaps = options.sourceMaps;
    this.#allocated = options.allocated ? new Map() : null;
  }

  /**
   * Bytes to the next sample: an exponential draw (a Poisson process over bytes). Adaptive mode
   * chooses the mean from data: over each window of WINDOW_MS, if recording samples took more
   * than MAX_SAMPLING_SHARE of the process's CPU time, the interval grows in proportion (at most 16x at once,
   * up to MAX_INTERVAL); if it took less than a quarter of that, it halves (down to the base). Each sample is weighted
   * with the interval of its own draw, fixed before the allocations it covers, so estimates stay
   * unbiased; only their variance grows with the interval.
   */
  next(): number {
    this.#weightInterval = this.#interval;
    if (this.#adaptive) {
      const t = now();
      if (this.#windowStart === 0) {
        this.#windowStart = t;
        this.#windowCpu = cpuNow();
      }
      const elapsed = t - this.#windowStart;
      if (elapsed >= this.#window && this.#windowSamples >= WINDOW_MIN_SAMPLES) {
        this.#window = Math.min(WINDOW_MS, 2 * this.#window);
        // The share of the CPU time the process got, not of the time elapsed: on a busy machine
        // the process runs a fraction of the window, and a share of wall time would let
        // recording take several times MAX_SAMPLING_SHARE of its CPU (a record is short and
        // rarely preempted). Where the clock of CPU time is too coarse, wall time.
        const cpu = cpuNow();
        const cpuElapsed = cpu - this.#windowCpu;
        this.#windowCpu = cpu;
        const before = this.#interval;
        const cost = this.#typicalCost() * this.#windowSamples;
        const share = cost / (cpuElapsed > cost ? Math.min(cpuElapsed, elapsed * CPU_CORES) : elapsed);
        if (share > MAX_SAMPLING_SHARE) this.#interval = Math.min(MAX_INTERVAL, this.#interval * Math.min(16, share / MAX_SAMPLING_SHARE));
        else if (share < MAX_SAMPLING_SHARE / 4) this.#interval = Math.max(this.#base, 0.5 * this.#interval);
        if (this.#interval !== before) {
          log('external: interval %d -> %d bytes (recording took %s %% of %s ms of CPU, %d samples)', before, this.#interval,
            (100 * share).toFixed(2), cpuElapsed.toFixed(2), this.#windowSamples);
        }
        if (this.#interval > this.#widest) this.#widest = this.#interval;
        this.#windowStart = t;
        this.#windowSamples = 0;
      }
    }
    return -Math.log(this.#uniform.next()) * this.#interval;
  }

  /**
   * The median duration of the window's records (ms): a record that an incremental marking step
   * (V8 runs them on allocations, the record's too, while a program grows its heap) or the
   * scheduler lengthened many times over counts as a typical one, where a sum let a few such
   * records widen the interval. A record's typical cost itself varies with the caller: 5-8 µs
   * in a tight loop, 10-100 µs inside large optimized code, whose frame V8 rebuilds to find the
   * call position. An insertion sort of at most DURATIONS numbers: no builtin a host could have
   * replaced runs.
   */
  #typicalCost(): number {
    const d = this.#durations;
    const n = Math.min(this.#windowSamples, DURATIONS);
    for (let i = 1; i < n; i++) {
      const x = d[i]!;
      let j = i - 1;
      while (j >= 0 && d[j]! > x) {
        d[j + 1] = d[j]!;
        j--;
      }
      d[j + 1] = x;
    }
    return n === 0 ? 0 : d[n >> 1]!;
  }

  /** The mean interval in use now (bytes). */
  get interval(): number {
    return this.#interval;
  }

  /** The widest mean interval used since start. */
  get widestInterval(): number {
    return this.#widest;
  }

  /** Estimated bytes of the live traced allocations. */
  get tracedBytes(): number {
    return this.#bytes;
  }

  record(result: unknown, kind: number, arg0: unknown, n: number, callee: Function): void {
    if (!this.#adaptive) {
      this.#record(result, kind, arg0, n, callee);
      return;
    }
    const t0 = now();
    this.#sites.parsed = false;
    try {
      this.#record(result, kind, arg0, n, callee);
    } finally {
      // A new stack's parsing is paid once per site, not per sample: the
      // interval is chosen on the steady cost.
      if (!this.#sites.parsed) {
        this.#durations[this.#windowSamples & (DURATIONS - 1)] = now() - t0;
        this.#windowSamples++;
      }
    }
  }

  #record(result: unknown, kind: number, arg0: unknown, n: number, callee: Function): void {
    const m = measure(result, kind, arg0);
    if (m === null) return;
    const site = this.#sites.site(callee);
    if (site === OWN) return;
    // Sampled with probability p = 1 - exp(-n / interval) (1 from ALWAYS_SAMPLED bytes on): it
    // stands for 1/p such allocations.
    const p = n >= ALWAYS_SAMPLED ? 1 : -Math.expm1(-n / this.#weightInterval);
    // Whole bytes and objects, as traces hold everywhere else (pprof stores integers). The count
    // 1/p is rounded up with probability its fraction, down otherwise, so counts stay unbiased
    // like sizes: rounding to the nearest counted a 64 KiB read chunk at a 64 KiB interval as 2
    // where it stands for 1.58 (+26 %), 100-byte Buffers at 1 KiB as 11 for 10.75 (+2.3 %).
    const size = Math.round(m.size / p);
    const w = 1 / p;
    const whole = Math.floor(w);
    const count = whole + (this.#uniform.next() < w - whole ? 1 : 0);
    if (this.#allocated !== null) {
      const t = this.#allocated.get(site);
      if (t === undefined) this.#allocated.set(site, { size, count });
      else {
        t.size += size;
        t.count += count;
      }
    }
    const slot = this.#pool.take();
    const s: Sample = { size, count, site, ref: slot.ref, pending: null };
    if (slot.ref === null) {
      s.pending = slot.slot;
      this.#pool.defer(s);
    }
    // The registry watches the slot, not the buffer: V8's young-generation GC keeps a registry's
    // targets alive (only a full GC clears them), so registering buffers directly would keep every
    // sampled buffer until the next full GC. It reports deaths between snapshots (`tracedBytes`).
    reflectApply(registryRegister, this.#registry, [slot.slot, s]);
    reflectApply(weakMapSet, this.#slots, [m.target, slot.slot]);
    slot.slot = null;
    this.#live.add(s);
    this.#bytes += s.size;
  }

  /**
   * Forgets the samples whose object the GC has collected, even in the task that dropped them.
   * Called by a snapshot after its GC; `addTraces` calls it too.
   */
  pruneDead(): void {
    for (const s of this.#live) {
      if (s.ref !== null && reflectApply(weakRefDeref, s.ref, NO_ARGS) === undefined) this.#forget(s);
    }
  }

  /**
   * Adds the traces: in live mode one per live sample plus one `<external>:0` trace for the
   * ArrayBuffer memory not attributed (`process.memoryUsage().arrayBuffers` minus the traces, when
   * positive); in 'allocated' mode one per site with every sampled allocation since start.
   * Returns the bytes added.
   */
  addTraces(builder: StoreBuilder): number {
    this.pruneDead();
    const tracebacks = new Map<Site, number>();
    const tracebackOf = (site: Site): number => {
      let tb = tracebacks.get(site);
      if (tb === undefined) {
        const frames = this.#sourceMaps ? mappedFrames(site) : site.frames;
        const ids = frames.map((f) => builder.frame(f.filename, f.lineno, f.column, f.functionName));
        tb = builder.traceback(ids, site.total ?? -1);
        tracebacks.set(site, tb);
      }
      return tb;
    };
    let attributed = 0;
    if (this.#allocated !== null) {
      for (const [site, t] of this.#allocated) {
        builder.trace(DOMAIN, t.size, t.count, tracebackOf(site));
        attributed += t.size;
      }
      return attributed;
    }
    for (const s of this.#live) {
      builder.trace(DOMAIN, s.size, s.count, tracebackOf(s.site));
      attributed += s.size;
    }
    let added = attributed;
    const remainder = arrayBuffersNow() - attributed;
    if (remainder > 0) {
      builder.trace(DOMAIN, remainder, 1, builder.traceback([builder.frame('<external>', 0)], 1));
      added += remainder;
    }
    return added;
  }

  /** Estimated bytes held by these tables: samples, spare slots, cached stacks, 'allocated' totals. */
  byteSize(): number {
    return this.#live.size * SAMPLE_BYTES + this.#pool.spare * SLOT_BYTES + this.#sites.byteSize +
      (this.#allocated?.size ?? 0) * ALLOCATED_SITE_BYTES;
  }

  /** Forgets every trace (Python's `clear_traces()`). */
  clear(): void {
    this.#live = new Set();
    this.#registry = this.#newRegistry(); // the old one and its pending callbacks are dropped with it
    this.#slots = new WeakMapCtor();
    this.#bytes = 0;
    this.#allocated?.clear();
    this.#pool.clearPending();
  }

  /** Forgets everything and stops refilling the pool. */
  close(): void {
    this.clear();
    this.#pool.close();
    this.#sites.clear();
  }

  #newRegistry(): FinalizationRegistry<Sample> {
    return new FinalizationRegistryCtor<Sample>((s) => this.#forget(s));
  }

  #forget(s: Sample): void {
    if (!this.#live.delete(s)) return;
    this.#bytes = this.#live.size === 0 ? 0 : this.#bytes - s.size;
  }

}

function arrayBuffersNow(): number {
  try {
    return process.memoryUsage().arrayBuffers;
  } catch (err) {
    log('external: process.memoryUsage() failed: %o', err);
    return 0;
  }
}

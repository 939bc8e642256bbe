/**
 * The live tracer: Python's module functions (`start`, `stop`, `takeSnapshot`,
 * `getTracedMemory`, ...) over V8's sampling heap profiler. All tracer state lives in `state`;
 * `stop()` drops it, leaving no timer, session or listener behind.
 */
import { describeType, describeValue } from './format.js';
import { UserDomains } from './domains.js';
import { ExternalTracer } from './external.js';
import { AllocationTracker, HeapSampler } from './inspector.js';
import { captureStack, parseCapturedStack } from './stack.js';
import { heapUsed, MemoryCounter } from './memory.js';
import { addProfile } from './profile.js';
import { CallFrameResolver, frameOwner } from './resolve.js';
import { assertOwnCodeKnown } from './own.js';
import { addRawTrace, Snapshot, type RawTrace } from './snapshot.js';
import { StoreBuilder, type TraceColumns } from './store.js';
import { debuglog } from 'node:util';
import type { Traceback } from './frame.js';
import { objectTraceback } from './object-traceback.js';

/** Domain of the V8 heap (sampled; frames name the allocating function's first line). */
export const HEAP_DOMAIN = 0;
/** Domain of ArrayBuffer backing stores: Buffers and typed arrays (frames name the exact call line). */
export const EXTERNAL_DOMAIN = 1;

/** The default mean number of bytes between two heap samples (see docs/performance.md). */
export const DEFAULT_SAMPLING_INTERVAL = 64 * 1024;
/** V8's sampling heap profiler records at most this many frames of a stack. */
export const V8_MAX_STACK_DEPTH = 128;

export interface StartOptions {
  /** Frames kept per traceback, 1 to 65535 (same as the first argument). Default 1. */
  nframe?: number;
  /** Mean bytes between heap samples; smaller is more precise and costs more. */
  samplingInterval?: number;
  /** Trace ArrayBuffer/Buffer backing stores (domain 1). Default true. */
  external?: boolean;
  /** Map frames of generated code to the original sources. Default true. */
  sourceMaps?: boolean;
  /** Record a stack for every allocation so `getObjectTraceback` works (costly). Default false. */
  trackAllocations?: boolean;
  /** `'live'`: objects still alive (default); `'allocated'`: also objects already collected. */
  mode?: 'live' | 'allocated';
}

const log = debuglog('tracemalloc');

/** How often 'allocated' mode folds V8's samples into its own table (one forced GC each time). */
const FOLD_INTERVAL_MS = 30_000;

interface FoldedEntry {
  frames: Array<[filename: string, lineno: number, column: number, functionName: string | null]>;
  total: number;
  size: number;
  count: number;
}

/**
 * 'allocated' mode: V8 keeps a record of every sample, even of objects long collected, so its
 * memory would grow with every byte the program allocates. The tracer regularly reads the
 * samples, folds them into one entry per call stack here, and restarts V8's sampler, which frees
 * its records: memory stays bounded by the number of distinct call stacks.
 */
class FoldedSamples {
  readonly #entries = new Map<string, FoldedEntry>();

  fold(columns: TraceColumns): void {
    const t = columns.tables;
    const keys: (string | undefined)[] = [];
    for (let i = 0; i < columns.length; i++) {
      const tb = columns.tracebacks[i]!;
      let key = keys[tb];
      let entry: FoldedEntry | undefined;
      if (key === undefined) {
        const frames: FoldedEntry['frames'] = [];
        for (let j = t.tbOffsets[tb]!; j < t.tbOffsets[tb + 1]!; j++) {
          const f = t.tbFrames[j]!;
          frames.push([t.files[f]!, t.lines[f]!, t.columns[f]!, t.funcs[f] ?? null]);
        }
        key = `${JSON.stringify(frames)}|${t.tbTotals[tb]}`;
        keys[tb] = key;
        entry = this.#entries.get(key);
        if (entry === undefined) {
          entry = { frames, total: t.tbTotals[tb]!, size: 0, count: 0 };
          this.#entries.set(key, entry);
        }
      } else {
        entry = this.#entries.get(key)!;
      }
      entry.size += columns.sizes[i]!;
      entry.count += columns.counts[i]!;
    }
  }

  /** Adds one heap-domain trace per call stack to `builder`. */
  addTo(builder: StoreBuilder): void {
    for (const e of this.#entries.values()) {
      const ids = e.frames.map(([file, line, column, fn]) => builder.frame(file, line, column, fn));
      builder.trace(HEAP_DOMAIN, e.size, e.count, builder.traceback(ids, e.total));
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Approximate bytes held. */
  byteSize(): number {
    let bytes = 0;
    for (const [key, e] of this.#entries) bytes += key.length * 2 + 96 + e.frames.length * 64;
    return bytes;
  }
}

interface TracerState {
  readonly sampler: HeapSampler;
  readonly interval: number;
  readonly mode: 'live' | 'allocated';
  readonly resolver: CallFrameResolver;
  readonly counter: MemoryCounter;
  readonly options: Required<Omit<StartOptions, 'nframe'>>;
  /** Samples in the last profile read (to estimate the sampler's own memory). */
  lastSamples: number;
  /** Heap bytes of the tracer's own objects in the last profile read (left out of snapshots). */
  ownHeap: number;
  /** V8's allocation tracker, with `trackAllocations: true`. */
  readonly tracker: AllocationTracker | null;
  /** 'allocated' mode: the samples folded so far, and the timer that folds them. */
  readonly folded: FoldedSamples | null;
  readonly foldTimer: NodeJS.Timeout | null;
  /** Domain 1 (ArrayBuffer backing stores), unless `external: false`. */
  readonly external: ExternalTracer | null;
  /** Domains 2 and up: what `track()` reported. */
  readonly domains: UserDomains;
}

let state: TracerState | null = null;
let tracebackLimit = 1;
let rawTraceSource: (() => Iterable<RawTrace>) | null = null;

function checkBooleanOption(options: StartOptions, name: keyof StartOptions, dflt: boolean): boolean {
  const value = options[name];
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new TypeError(`options.${name} must be a boolean, not ${describeType(value)}`);
  return value;
}

const START_OPTIONS = new Set(['nframe', 'samplingInterval', 'external', 'sourceMaps', 'trackAllocations', 'mode']);

function checkNframe(nframe: unknown): number {
  if (typeof nframe !== 'number' || !Number.isInteger(nframe)) {
    throw new TypeError(`the number of frames must be an integer, not ${typeof nframe === 'number' ? nframe : describeType(nframe)}`);
  }
  if (nframe < 1 || nframe > 65535) throw new RangeError('the number of frames must be in range [1; 65535]');
  return nframe;
}

/**
 * Starts tracing memory allocations, keeping `nframe` frames per traceback (Python's
 * `start(nframe=1)`). Already tracing: the arguments are checked, then nothing changes.
 */
export function start(nframe?: number | StartOptions, options?: StartOptions): void {
  assertOwnCodeKnown();
  let opts: StartOptions = options === undefined ? {} : options;
  let n: unknown = nframe;
  if (nframe === null) throw new TypeError('the number of frames must be an integer, not null');
  if (typeof nframe === 'object' && nframe !== null) {
    if (options !== undefined) throw new TypeError('start(options) takes no second argument');
    opts = nframe;
    n = opts.nframe;
  } else if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`options must be an object, not ${describeType(opts)}`);
  } else if (opts.nframe !== undefined && nframe !== undefined && opts.nframe !== nframe) {
    throw new TypeError(`start(${String(nframe)}, { nframe: ${String(opts.nframe)} }) gives two different numbers of frames`);
  }
  for (const key of Object.keys(opts)) {
    if (!START_OPTIONS.has(key)) throw new TypeError(`unknown option ${JSON.stringify(key)}: start() takes ${[...START_OPTIONS].join(', ')}`);
  }
  const limit = checkNframe(n ?? opts.nframe ?? 1);
  const interval = opts.samplingInterval ?? DEFAULT_SAMPLING_INTERVAL;
  if (typeof interval !== 'number') {
    throw new TypeError(`options.samplingInterval must be an integer number of bytes, not ${describeValue(interval)}`);
  }
  if (!Number.isInteger(interval) || interval < 1 || interval > 2 ** 31 - 1) {
    throw new RangeError(`options.samplingInterval must be an integer number of bytes in [1; 2147483647], not ${String(interval)}`);
  }
  const mode = opts.mode ?? 'live';
  if (mode !== 'live' && mode !== 'allocated') throw new RangeError(`options.mode must be 'live' or 'allocated', not ${String(mode)}`);
  const resolved = {
    samplingInterval: interval,
    external: checkBooleanOption(opts, 'external', true),
    sourceMaps: checkBooleanOption(opts, 'sourceMaps', true),
    trackAllocations: checkBooleanOption(opts, 'trackAllocations', false),
    mode,
  };
  if (state !== null) return;

  const sampler = new HeapSampler();
  sampler.start(interval, mode === 'allocated');
  let tracker: AllocationTracker | null = null;
  if (resolved.trackAllocations) {
    tracker = new AllocationTracker();
    try {
      tracker.start();
    } catch (err) {
      sampler.stop();
      throw err;
    }
  }
  let external: ExternalTracer | null = null;
  if (resolved.external) {
    try {
      external = new ExternalTracer({ interval, nframe: limit, sourceMaps: resolved.sourceMaps });
      external.start();
    } catch (err) {
      tracker?.stop();
      sampler.stop();
      throw err;
    }
  }
  const domains = new UserDomains();
  const counter = new MemoryCounter(() => (external?.tracedBytes ?? 0) + domains.bytes);
  counter.start();
  const folded = mode === 'allocated' ? new FoldedSamples() : null;
  let foldTimer: NodeJS.Timeout | null = null;
  if (folded !== null) {
    foldTimer = setInterval(() => {
      try {
        if (state !== null) foldAllocated(state);
      } catch (err) {
        log('folding allocated samples failed: %o', err);
      }
    }, FOLD_INTERVAL_MS);
    foldTimer.unref();
  }
  state = {
    sampler,
    interval,
    mode,
    resolver: new CallFrameResolver(resolved.sourceMaps),
    counter,
    options: resolved,
    lastSamples: 0,
    ownHeap: 0,
    tracker,
    folded,
    foldTimer,
    external,
    domains,
  };
  tracebackLimit = limit;
}

/**
 * Reads V8's samples into `builder` (the heap domain) and returns the bytes traced, the tracer's
 * own bytes left out, and the heap used right after the read's GC (before converting allocates).
 */
function readProfile(s: TracerState, builder: StoreBuilder): { traced: number; own: number; samples: number; usedAfterGC: number } {
  const profile = s.sampler.profile();
  const usedAfterGC = heapUsed();
  const totals = addProfile(builder, profile, {
    nframe: tracebackLimit,
    interval: s.interval,
    domain: HEAP_DOMAIN,
    resolve: s.resolver.resolve,
    owner: frameOwner,
  });
  return { ...totals, samples: profile.samples.length, usedAfterGC };
}

/** 'allocated' mode: folds V8's samples into the tracer's table and restarts the sampler. */
function foldAllocated(s: TracerState): void {
  const builder = new StoreBuilder();
  const { own } = readProfile(s, builder);
  s.sampler.restart(s.interval, true);
  s.folded!.fold(builder.build());
  s.ownHeap += own;
}

/** Stops tracing and forgets every trace. Idempotent; leaves no timer, session or patch behind. */
export function stop(): void {
  const s = state;
  if (s === null) return;
  state = null;
  if (s.foldTimer !== null) clearInterval(s.foldTimer);
  s.counter.stop();
  s.external?.stop();
  s.tracker?.stop();
  s.sampler.stop();
}

/** Is the tracer running? */
export function isTracing(): boolean {
  return state !== null;
}

/** Frames kept per traceback: the last `start()`'s limit (1 before any start; kept after stop). */
export function getTracebackLimit(): number {
  return tracebackLimit;
}

/** Forgets every trace while tracing goes on; current and peak become 0. */
export function clearTraces(): void {
  const s = state;
  if (s === null) return;
  s.sampler.restart(s.interval, s.mode === 'allocated');
  s.resolver.clear();
  s.counter.clear();
  s.lastSamples = 0;
  s.ownHeap = 0;
  s.folded?.clear();
  s.external?.clear();
  s.domains.clear();
}

/**
 * `[current, peak]` traced bytes since `start()` (all domains). Cheap: never forces a GC. The
 * heap part counts garbage not yet collected and is re-anchored on the profile at each snapshot;
 * `[0, 0]` when not tracing.
 */
export function getTracedMemory(): [current: number, peak: number] {
  return state === null ? [0, 0] : state.counter.read();
}

/** Sets the peak to the current traced size (Python's `reset_peak()`). */
export function resetPeak(): void {
  state?.counter.resetPeak();
}

/**
 * Bytes a live sample holds inside V8, outside the JavaScript heap: its record, its entry in the
 * sampler's table, its weak global handle and the allocator's overhead. Measured, not derived from
 * V8's layout: bench/counter.ts found 169-175 bytes of resident memory a sample (Node 20, 2 x 10^5
 * samples); 96, the sum of the structures alone, underestimated it by 45%.
 */
const SAMPLE_COST = 170;

/**
 * Estimated bytes the tracer itself holds: V8's samples (estimated from the traced heap and the
 * interval), its caches, and its own heap objects as the last snapshot saw them (those are left
 * out of snapshots, as Python's documentation filters tracemalloc itself out). 0 when not tracing.
 */
export function getTracemallocMemory(): number {
  const s = state;
  if (s === null) return 0;
  const heapTraced = s.counter.current();
  const samples = Math.max(s.lastSamples, Math.ceil(heapTraced / s.interval));
  return samples * SAMPLE_COST + s.resolver.byteSize() + s.ownHeap + (s.folded?.byteSize() ?? 0) +
    (s.external?.byteSize() ?? 0) + s.domains.byteSize();
}

function notTracing(what: string): Error {
  const err = new Error(`the tracemalloc module must be tracing memory allocations to ${what}`);
  (err as Error & { code: string }).code = 'ERR_TRACEMALLOC_NOT_TRACING';
  return err;
}

function checkUserDomain(domain: unknown): number {
  if (typeof domain !== 'number' || !Number.isInteger(domain)) {
    throw new TypeError(`domain must be an integer, not ${typeof domain === 'number' ? domain : describeType(domain)}`);
  }
  if (domain < 2 || domain > 0xffffffff) {
    throw new RangeError(`domain must be in [2; 4294967295] (0 is the V8 heap and 1 ArrayBuffers, both traced by tracemalloc itself), not ${domain}`);
  }
  return domain;
}

/** Frames captured beyond the limit for `track()`, for builtin frames that are dropped. */
const TRACK_FRAME_MARGIN = 2;

/**
 * Records a block of `size` bytes in user domain `domain` (2 and up) under `key`, with the
 * traceback of this call (Python's `PyTraceMalloc_Track`), e.g. a pool or a native addon's
 * wrapper reporting its own memory. Tracking a key again replaces its block. Exact, not sampled.
 */
export function track(domain: number, key: unknown, size: number): void {
  const s = state;
  const d = checkUserDomain(domain);
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
    throw new TypeError(`size must be a finite number of bytes >= 0, not ${typeof size === 'number' ? size : describeType(size)}`);
  }
  if (s === null) throw notTracing('track memory');
  const limit = tracebackLimit + TRACK_FRAME_MARGIN;
  const site = parseCapturedStack(captureStack(track, limit), tracebackLimit, limit, s.options.sourceMaps);
  s.domains.track(d, key, size, site);
}

/** Forgets block `key` of user domain `domain` (Python's `PyTraceMalloc_Untrack`); an unknown key is not an error. */
export function untrack(domain: number, key: unknown): void {
  const s = state;
  const d = checkUserDomain(domain);
  if (s === null) throw notTracing('untrack memory');
  s.domains.untrack(d, key);
}

/**
 * Takes a snapshot of the traces of objects still alive. Reading V8's profile runs a full GC
 * first, so it is synchronous and costs about one major GC. Throws when not tracing.
 */
export function takeSnapshot(): Snapshot {
  const s = state;
  if (s === null) throw notTracing('take a snapshot');
  const builder = new StoreBuilder();
  if (rawTraceSource !== null) {
    let i = 0;
    for (const raw of rawTraceSource()) addRawTrace(builder, raw, i++);
  } else if (s.folded !== null) {
    // 'allocated' mode: allocated bytes are not live bytes, so the counter is not re-anchored.
    foldAllocated(s);
    s.folded.addTo(builder);
    s.lastSamples = 0;
  } else {
    const { traced, own, samples, usedAfterGC } = readProfile(s, builder);
    s.lastSamples = samples;
    s.ownHeap = own;
    s.counter.anchor(traced, usedAfterGC);
  }
  if (rawTraceSource === null) {
    s.external?.addTraces(builder);
    s.domains.addTraces(builder, tracebackLimit);
  }
  return Snapshot._fromColumns(builder.build(), tracebackLimit, {
    samplingInterval: s.interval,
    meta: { time: new Date().toISOString(), pid: process.pid, node: process.version, mode: s.mode },
  });
}

/**
 * For tests of this package (Python's tests mock `_get_traces` the same way): while set,
 * `takeSnapshot()` takes its heap traces from `source` instead of V8. `null` restores V8.
 * @internal
 */
export function setRawTraceSourceForTesting(source: (() => Iterable<RawTrace>) | null): void {
  rawTraceSource = source;
}

/**
 * The traceback where `obj` was allocated (Python's `get_object_traceback`), or `null` when not
 * tracing with `trackAllocations: true` or when V8 recorded no stack for it (allocated before
 * `start()`). Frames name each function's first line. Slow: it takes a full heap snapshot.
 */
export function getObjectTraceback(obj: unknown): Traceback | null {
  return objectTraceback(state === null ? null : { tracker: state.tracker, resolver: state.resolver, tracebackLimit }, obj);
}

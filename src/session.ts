/**
 * One tracing session: everything `start()` sets up, owned by one object and released by one
 * `dispose()`. The tracer (tracer.ts) holds at most one session; nothing of it survives `stop()`
 * (test/lifecycle.test.ts proves it with WeakRefs).
 */
import { debuglog } from 'node:util';
import { FOLD_INTERVAL_MS, FoldedSamples } from './allocated.js';
import { UserDomains } from './domains.js';
import { ExternalTracer } from './external.js';
import { frameCachesBytes, releaseFrameCaches } from './frame-caches.js';
import { AllocationTracker, HeapSampler } from './inspector.js';
import { noteCollectedMain } from './main-script.js';
import { MemoryCounter } from './memory.js';
import { COLLECTED_SAMPLE_COST, LiveSampleCount, SESSION_FIXED_BYTES } from './sampler-memory.js';
import { addProfile, releaseShapes } from './profile.js';
import { CallFrameResolver, frameOwner } from './resolve.js';
import { makeSettleTools, NO_SETTLE_TOOLS, readSettled, type SettleMode, type SettleTools } from './session-gc.js';
import type { SessionOptions } from './session-options.js';
import { noteSessionObjectForTesting, rawTraceSourceForTesting } from './session-testing.js';
import type { Snapshot } from './snapshot.js';
import { StoreBuilder } from './store.js';
import { HEAP_DOMAIN } from './domain-names.js';

const log = debuglog('tracemalloc');

export { HEAP_DOMAIN, EXTERNAL_DOMAIN } from './domain-names.js';

// snapshot.js (and what it loads: the file formats, zlib, the statistics) is loaded at the first
// snapshot, not when tracing starts: the preload's start-up stays cheap (issue 17).
let snapshotModule: typeof import('./snapshot.js') | null = null;
function snapshotApi(): typeof import('./snapshot.js') {
  return (snapshotModule ??= require('./snapshot.js') as typeof import('./snapshot.js'));
}

/** Undo steps of a session being opened, run in reverse if a later step throws. */
type Undo = () => void;

export class TracingSession {
  readonly options: SessionOptions;
  readonly #sampler: HeapSampler;
  readonly #tracker: AllocationTracker | null;
  readonly #external: ExternalTracer | null;
  readonly #domains: UserDomains;
  readonly #counter: MemoryCounter;
  readonly #resolver: CallFrameResolver;
  /** 'allocated' mode: the samples folded so far, and the timer that folds them. */
  readonly #folded: FoldedSamples | null;
  #foldTimer: NodeJS.Timeout | null = null;
  /** V8's live samples, counted from its global handles (sampler-memory.ts). */
  readonly #liveSamples = new LiveSampleCount();
  /** 'allocated' mode: the counter's allocated bytes when V8's sampler was last restarted. */
  #allocatedAtRestart = 0;
  /**
   * 'allocated' mode: V8's samples per byte allocated, as the last fold found it. V8 takes fewer
   * samples than bytes / interval (0.57 per interval of small objects, Node 20 and 26, measured
   * by comparing the heap allocated with the samples read), the first guess before a fold.
   */
  #samplesPerByte: number;
  /** Heap bytes of the tracer's own live objects at the last read (left out of snapshots). */
  #ownHeap = 0;
  #disposed = false;
  /**
   * Live mode: samples up to this ordinal were taken before the last `clearTraces()` and are
   * left out. Clearing this way leaves V8's sampler running untouched, so another tool reading
   * the same sampler keeps its profile whole (a restart would wipe it).
   */
  #clearedOrdinal = -1;
  /** The GC and the compiler finalization that settle the heap before a snapshot ('full' snapshotGC). */
  #settleTools: SettleTools = NO_SETTLE_TOOLS;

  /** Starts every part in order; if one throws, the parts already started are stopped again. */
  static open(options: SessionOptions): TracingSession {
    const undo: Undo[] = [];
    try {
      return new TracingSession(options, undo);
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) {
        try {
          undo[i]!();
        } catch (e) {
          log('undoing a half-open session failed: %o', e);
        }
      }
      throw err;
    }
  }

  private constructor(options: SessionOptions, undo: Undo[]) {
    this.options = options;
    this.#samplesPerByte = 0.57 / options.samplingInterval;
    const { samplingInterval: interval, mode } = options;
    this.#sampler = new HeapSampler();
    this.#sampler.start(interval, mode === 'allocated');
    undo.push(() => this.#sampler.stop());
    this.#tracker = null;
    if (options.trackAllocations) {
      const tracker = new AllocationTracker();
      tracker.start();
      undo.push(() => tracker.stop());
      this.#tracker = tracker;
    }
    this.#external = null;
    if (options.external) {
      const external = new ExternalTracer({ interval, nframe: options.nframe, sourceMaps: options.sourceMaps, allocated: mode === 'allocated' });
      external.start();
      undo.push(() => external.stop());
      this.#external = external;
    }
    const domains = new UserDomains();
    this.#domains = domains;
    const external = this.#external;
    this.#counter = new MemoryCounter(() => (external?.tracedBytes ?? 0) + domains.bytes);
    this.#counter.start();
    undo.push(() => this.#counter.stop());
    this.#resolver = new CallFrameResolver(options.sourceMaps);
    if (options.snapshotGC === 'full' && mode === 'live') this.#settleTools = makeSettleTools();
    this.#folded = mode === 'allocated' ? new FoldedSamples() : null;
    if (this.#folded !== null) {
      this.#foldTimer = setInterval(() => {
        try {
          this.#fold();
        } catch (err) {
          log('folding allocated samples failed: %o', err);
        }
      }, FOLD_INTERVAL_MS);
      this.#foldTimer.unref();
    }
    noteSessionObjectForTesting(this, this.#resolver, this.#counter, this.#domains, ...(this.#external === null ? [] : [this.#external]));
  }

  get domains(): UserDomains {
    return this.#domains;
  }

  get tracker(): AllocationTracker | null {
    return this.#tracker;
  }

  get resolver(): CallFrameResolver {
    return this.#resolver;
  }

  /**
   * Reads V8's samples into `builder` (the heap domain) and returns the bytes traced, the
   * tracer's own bytes left out, and how many samples V8 held.
   */
  #readProfile(builder: StoreBuilder, settle: SettleMode | null): { traced: number; own: number; samples: number } {
    const read = (): ReturnType<HeapSampler['profile']> => this.#sampler.profile();
    let profile: ReturnType<HeapSampler['profile']> | null = settle !== null ? readSettled(settle, this.#settleTools, read) : read();
    noteSessionObjectForTesting(profile, builder);
    noteCollectedMain(profile.head, this.#resolver);
    const totals = addProfile(builder, profile, {
      nframe: this.options.nframe,
      interval: this.options.samplingInterval,
      domain: HEAP_DOMAIN,
      resolve: this.#resolver.resolve,
      owner: frameOwner,
      minOrdinal: this.#clearedOrdinal,
    });
    const samples = profile.samples.length;
    profile = null;
    return { ...totals, samples };
  }

  /** 'allocated' mode: folds V8's samples into the session's table and restarts the sampler. */
  #fold(): void {
    if (this.#disposed) return;
    const builder = new StoreBuilder();
    const { samples } = this.#readProfile(builder, null);
    this.#sampler.restart(this.options.samplingInterval, true);
    // The restart freed every sample's handle: the host's own handles are what remains.
    this.#liveSamples.calibrate(0);
    const allocated = this.#counter.allocatedBytes();
    // Calibrate on a stretch long enough to hold a few hundred samples.
    if (samples >= 256 && allocated > this.#allocatedAtRestart) this.#samplesPerByte = samples / (allocated - this.#allocatedAtRestart);
    this.#allocatedAtRestart = allocated;
    this.#folded!.fold(builder.build());
    // The tracer's own samples left out here are allocations it made (and mostly freed), not
    // what it holds: that is the folded table and the caches, counted by memory().
  }

  /** The traces of every domain, as a snapshot, settled as the session's `snapshotGC` says. */
  snapshot(): Snapshot {
    const builder = new StoreBuilder();
    const raw = rawTraceSourceForTesting();
    if (raw !== null) {
      let i = 0;
      const { addRawTrace } = snapshotApi();
      for (const r of raw()) addRawTrace(builder, r, i++);
    } else if (this.#folded !== null) {
      // 'allocated' mode: allocated bytes are not live bytes, so the counter is not re-anchored.
      this.#fold();
      this.#folded.addTo(builder, HEAP_DOMAIN);
    } else {
      const { traced, own, samples } = this.#readProfile(builder, this.options.snapshotGC);
      this.#liveSamples.calibrate(samples);
      this.#ownHeap = own;
      this.#counter.anchor(traced);
    }
    if (raw === null) {
      this.#external?.addTraces(builder);
      this.#domains.addTraces(builder, this.options.nframe);
    }
    return snapshotApi().Snapshot._fromColumns(builder.build(), this.options.nframe, {
      samplingInterval: this.options.samplingInterval,
      meta: { time: new Date().toISOString(), pid: process.pid, node: process.version, mode: this.options.mode },
    });
  }

  /** Python's `clear_traces()`: forgets every trace while tracing goes on. */
  clear(): void {
    if (this.#folded !== null) {
      // 'allocated' mode keeps V8's records of collected objects: only a restart frees them.
      this.#sampler.restart(this.options.samplingInterval, true);
      this.#liveSamples.calibrate(0);
    } else {
      // Live mode: remember where the cleared samples end; V8's sampler is left alone.
      const samples = this.#sampler.profile().samples;
      for (let i = 0; i < samples.length; i++) if (samples[i]!.ordinal > this.#clearedOrdinal) this.#clearedOrdinal = samples[i]!.ordinal;
    }
    this.#resolver.clear();
    this.#counter.clear();
    this.#allocatedAtRestart = this.#counter.allocatedBytes();
    this.#ownHeap = 0;
    this.#folded?.clear();
    this.#external?.clear();
    this.#domains.clear();
  }

  readMemory(): [current: number, peak: number] {
    return this.#counter.read();
  }

  resetPeak(): void {
    this.#counter.resetPeak();
  }

  /**
   * Estimated bytes the tracer holds: V8's live samples (counted from its global handles, at a
   * measured cost per Node major: sampler-memory.ts), in 'allocated' mode also the records of
   * samples already collected, the session's fixed native cost, the frame caches (resolver and
   * frame-caches.ts), its own live heap objects at the last snapshot, the folded table, domain 1's
   * bookkeeping and the user domains.
   */
  memory(): number {
    const live = this.#liveSamples.count();
    let collected = 0;
    if (this.#folded !== null) {
      // 'allocated' mode also keeps the records of samples collected since the sampler was last
      // restarted: the samples taken since then (the heap allocated times the samples per byte
      // that the last fold found, the first guess before it) minus those still alive.
      const all = Math.ceil((this.#counter.allocatedBytes() - this.#allocatedAtRestart) * this.#samplesPerByte);
      collected = Math.max(0, all - live);
    }
    return this.#liveSamples.liveBytes(live) + collected * COLLECTED_SAMPLE_COST + SESSION_FIXED_BYTES + this.#resolver.byteSize() +
      frameCachesBytes() + this.#ownHeap + (this.#folded?.byteSize() ?? 0) + (this.#external?.byteSize() ?? 0) + this.#domains.byteSize();
  }

  /** Stops every part and drops every reference it held. Idempotent, never throws. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#settleTools = NO_SETTLE_TOOLS;
    if (this.#foldTimer !== null) clearInterval(this.#foldTimer);
    this.#foldTimer = null;
    const steps: Array<() => void> = [
      () => this.#counter.stop(),
      () => this.#external?.stop(),
      () => this.#tracker?.stop(),
      () => this.#sampler.stop(),
      () => this.#resolver.clear(),
      () => this.#folded?.clear(),
      () => this.#domains.clear(),
      releaseShapes,
      releaseSharedCaches,
    ];
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        log('stopping a session part failed: %o', err);
      }
    }
  }
}

/**
 * Caches of modules shared with snapshots loaded from files (source lines, source maps, script
 * URLs, fnmatch patterns), filled while tracing: released with the session (frame-caches.ts).
 */
function releaseSharedCaches(): void {
  releaseFrameCaches();
}

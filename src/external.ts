/**
 * Domain 1: ArrayBuffer backing stores created from JavaScript (Buffers, typed arrays), which V8's
 * sampling heap profiler never sees. While tracing, the JS entry points that create them and that
 * can be hooked without changing any object's identity are wrapped: the `Buffer` factories
 * (`Buffer.alloc`, `from`, `concat`, ...), the copying methods of typed arrays and ArrayBuffers and
 * `TextEncoder#encode`. No constructor is ever replaced: `Uint8Array`, `ArrayBuffer` and `Buffer`
 * stay the same objects, so `x.constructor === Uint8Array`, `instanceof`, `Symbol.species` and
 * subclasses behave exactly as untraced. Allocations are sampled by size the way V8 samples the
 * heap (a Poisson process over bytes); a sampled one records the JS stack of the call (see
 * external-record.ts). What is not attributed stays one `<external>:0` trace. See
 * docs/external-memory.md.
 *
 * This file holds only the wrappers, which allocate on behalf of their caller; the bookkeeping,
 * which is the tracer's own, is in external-record.ts.
 */
import { Buffer } from 'node:buffer';
import { debuglog, TextEncoder } from 'node:util';
import { ALWAYS_SAMPLED, ARRAY_BUFFER, ExternalRecords, NATIVE, POOLED, type Recorder } from './external-record.js';
import { enter } from './own.js';
import type { StoreBuilder } from './store.js';

const log = debuglog('tracemalloc');

/** Options of an `ExternalTracer`. */
export interface ExternalTracerOptions {
  /** Mean bytes between samples (the heap sampler's interval). */
  interval: number;
  /** Frames kept per traceback, most recent first. */
  nframe: number;
  /** Map frames of generated code to the original sources (`mapPosition`). */
  sourceMaps: boolean;
  /** 'allocated' mode: snapshots count every sampled allocation since start, collected or not. */
  allocated?: boolean;
  /**
   * Widen the interval while recording samples would take more than 2 % of the CPU time (a loop
   * of small Buffers, heavy optimized code around the calls); default true. Estimates stay unbiased, their error grows (docs/external-memory.md).
   */
  adaptive?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The hot state shared by the wrappers. `budget[0]` is the bytes left before the next sample, so
// that the unsampled path is a subtraction and a comparison (a typed array: no boxed double).

const budget = new Float64Array([Infinity]);
/** > 0 while a wrapper that calls other wrapped entry points runs its original: they don't count. */
let depth = 0;
/** True while a sample is being recorded: our own allocations are not sampled. */
let recording = false;
/** The running tracer, or `null`; the wrappers pass through while it is `null`. */
let active: Recorder | null = null;
/** The ExternalTracer that installed `active`, for diagnostics (`runningExternalTracer`). */
let running: ExternalTracer | null = null;

/** The ExternalTracer running in this thread, or `null` (for benchmarks and diagnostics). */
export function runningExternalTracer(): ExternalTracer | null {
  return running;
}

/**
 * The slow path of every wrapper, once the budget is spent: redraws it and records `result`.
 * `n` is the size the wrapper subtracted, `callee` the wrapper (the stack is captured below it).
 * Never throws.
 */
function sample<T>(result: T, kind: number, arg0: unknown, n: number, callee: Function): T {
  const recorder = active;
  if (recorder === null) {
    budget[0] = Infinity;
    return result;
  }
  // Inside an outer wrapper: it counts the result and restores the budget afterwards.
  if (depth !== 0) return result;
  budget[0] = recorder.next();
  // Our own allocations while recording (stack text, source maps) spend the budget, no more.
  if (recording || !(n > 0)) return result;
  recording = true;
  try {
    recorder.record(result, kind, arg0, n, callee);
  } catch (err) {
    log('external: cannot record an allocation: %o', err);
  } finally {
    recording = false;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The wrappers, from here to `WRAPPERS.leave()`, work on behalf of their caller: what is allocated
// below them is the caller's (own.ts: a neutral region; the rest of this module is the tracer's).
const WRAPPERS = enter('neutral');

// Intrinsics, read once before anything is patched. Sizes are read with the intrinsic getters, so
// that a subclass's or a host's own `length`/`byteLength` never runs because of tracing.

const TypedArray = Object.getPrototypeOf(Uint8Array) as Function & { prototype: object };
const reflectApply = Reflect.apply;
const functionBind = Function.prototype.bind;
const BufferRef = Buffer;
const NO_ARGS: readonly unknown[] = Object.freeze([]);
const getter = (proto: object, key: string | symbol): Function => Object.getOwnPropertyDescriptor(proto, key)!.get!;
const typedArrayByteLength = getter(TypedArray.prototype, 'byteLength');
const typedArrayTag = getter(TypedArray.prototype, Symbol.toStringTag);
const arrayBufferByteLength = getter(ArrayBuffer.prototype, 'byteLength');
const sharedByteLength = getter(SharedArrayBuffer.prototype, 'byteLength');

/** Bytes of a typed array (0 for anything else: the intrinsic tag getter never throws). */
function viewBytes(r: unknown): number {
  return reflectApply(typedArrayTag, r, NO_ARGS) === undefined ? 0 : (reflectApply(typedArrayByteLength, r, NO_ARGS) as number);
}

// ---------------------------------------------------------------------------------------------
// Wrappers. One per original, made once and kept: `stop()` puts the originals back, and a wrapper
// that someone kept passes through. Each takes the original's own properties (name, length, and
// `prototype` when it has one) with their descriptors, and its prototype; a wrapper is constructible
// exactly when its original is. Arguments are passed on as they came (`arguments`), so the
// original sees the same count.

const wrappers = new WeakMap<Function, Function>();
const ownWrappers = new WeakSet<Function>();

/** Gives `wrapper` the original's own properties and prototype; `null` if their shapes differ. */
function lookLike(wrapper: Function, original: Function): Function | null {
  const own = new Set<string | symbol>(Reflect.ownKeys(original));
  for (const key of Reflect.ownKeys(wrapper)) {
    if (!own.has(key) && !Reflect.deleteProperty(wrapper, key)) return null;
  }
  Object.setPrototypeOf(wrapper, Object.getPrototypeOf(original));
  for (const key of own) Object.defineProperty(wrapper, key, Reflect.getOwnPropertyDescriptor(original, key)!);
  ownWrappers.add(wrapper);
  return wrapper;
}

const hasOwn = Object.hasOwn;
const hasPrototype = (f: Function): boolean => hasOwn(f, 'prototype');

/** Calls `original` with the inner wrappers silenced; puts depth and budget back, even on a throw. */
function callGuarded(original: Function, self: unknown, args: IArguments): unknown {
  const d = depth;
  const before = budget[0]!;
  depth = d + 1;
  try {
    return reflectApply(original, self, args);
  } finally {
    depth = d;
    budget[0] = before;
  }
}

/**
 * Bytes of a Buffer static's result: its `length`, read directly (a prototype check before it
 * would cost more than the rest of the wrapper). Node's statics return Buffers, whose `length` is
 * the intrinsic getter; a host's replacement that returns something else is read like its callers
 * read it. Not a number: the budget becomes NaN, the slow path runs and redraws it.
 */
const bufferBytes = (r: unknown): number => (r as { length: number }).length;

/** Does `Buffer.from(a)` maybe leave the pool through another wrapped entry point? */
const fromMayNest = (a: unknown): boolean => typeof a === 'string' && !(a.length * 8 < Buffer.poolSize);

/**
 * A `Buffer` static. `guard`: the original may call other wrapped entry points (`concat` calls
 * `allocUnsafe`), which must not count again; `'string'`: only for a string argument long enough
 * to leave the pool (`Buffer.from`), so the common short string pays nothing for it. The fast
 * path is a call, a read of `length`, a subtraction and two comparisons.
 */
function wrapBufferStatic(original: Function, kind: number, guard: 'never' | 'always' | 'string'): Function | null {
  if (hasPrototype(original)) {
    // Called as `Buffer.x(a)` or `Buffer.x(a, b)` (nearly every call), the original is called
    // through a function bound to `Buffer`: the same `this` and arguments, but a call that V8's
    // optimizing compiler inlines, where `Reflect.apply(original, this, arguments)` is an
    // indirect call that was 10 % of a loop of small `allocUnsafe` calls (docs/external-memory.md).
    const bound = reflectApply(functionBind, original, [BufferRef]) as (...args: unknown[]) => unknown;
    let wrapper: Function;
    if (guard === 'never') {
      wrapper = function (this: unknown, a: unknown, b: unknown): unknown {
        // biome-ignore lint/complexity/noArguments: the original must see the same argument count
        const count = arguments.length;
        // biome-ignore lint/complexity/noArguments: the original must see the same argument count
        const r = this === BufferRef && count < 3 ? (count === 1 ? bound(a) : count === 2 ? bound(a, b) : bound()) : reflectApply(original, this, arguments);
        const n = bufferBytes(r);
        if ((budget[0]! -= n) > 0 && n < ALWAYS_SAMPLED) return r;
        return sample(r, kind, a, n, wrapper);
      };
    } else if (guard === 'always') {
      wrapper = function (this: unknown, a: unknown): unknown {
        // biome-ignore lint/complexity/noArguments: the original must see the same argument count
        const r = callGuarded(original, this, arguments);
        const n = bufferBytes(r);
        if ((budget[0]! -= n) > 0 && n < ALWAYS_SAMPLED) return r;
        return sample(r, kind, a, n, wrapper);
      };
    } else {
      wrapper = function (this: unknown, a: unknown, b: unknown): unknown {
        // biome-ignore lint/complexity/noArguments: the original must see the same argument count
        const count = arguments.length;
        const r = fromMayNest(a)
          // biome-ignore lint/complexity/noArguments: the original must see the same argument count
          ? callGuarded(original, this, arguments)
          : this === BufferRef && count < 3
          ? (count === 1 ? bound(a) : count === 2 ? bound(a, b) : bound())
          // biome-ignore lint/complexity/noArguments: the original must see the same argument count
          : reflectApply(original, this, arguments);
        const n = bufferBytes(r);
        if ((budget[0]! -= n) > 0 && n < ALWAYS_SAMPLED) return r;
        return sample(r, kind, a, n, wrapper);
      };
    }
    return lookLike(wrapper, original);
  }
  // An arrow function or a method (Buffer.of): not constructible, and neither is the wrapper.
  const wrapper = {
    method(this: unknown, a: unknown): unknown {
      // biome-ignore lint/complexity/noArguments: the original must see the same argument count
      const args = arguments;
      const r = guard === 'never' ? reflectApply(original, this, args) : callGuarded(original, this, args);
      const n = bufferBytes(r);
      if ((budget[0]! -= n) > 0 && n < ALWAYS_SAMPLED) return r;
      return sample(r, kind, a, n, wrapper);
    },
  }.method;
  return lookLike(wrapper, original);
}

/**
 * A builtin method (`slice`, `map`, `filter` of typed arrays, `slice` of ArrayBuffers,
 * `TextEncoder#encode`), guarded because species constructors and callbacks may allocate. Like
 * the original, the wrapper is not a constructor.
 */
function wrapMethod(original: Function, kind: number, size: (r: unknown) => number): Function | null {
  if (hasPrototype(original)) return null;
  const wrapper = {
    method(this: unknown, a: unknown): unknown {
      // biome-ignore lint/complexity/noArguments: the original must see the same argument count
      const r = callGuarded(original, this, arguments);
      const n = size(r);
      if ((budget[0]! -= n) > 0 && n < ALWAYS_SAMPLED) return r;
      return sample(r, kind, a, n, wrapper);
    },
  }.method;
  return lookLike(wrapper, original);
}

const arrayBufferSize = (r: unknown): number => {
  try {
    return reflectApply(arrayBufferByteLength, r, NO_ARGS) as number;
  } catch {
    return 0;
  }
};
const sharedSize = (r: unknown): number => {
  try {
    return reflectApply(sharedByteLength, r, NO_ARGS) as number;
  } catch {
    return 0;
  }
};

WRAPPERS.leave();

interface EntryPoint {
  readonly holder: object;
  readonly key: string;
  readonly wrap: (original: Function) => Function | null;
}

/** Every entry point that is wrapped while tracing (those this Node lacks are skipped). */
function entryPoints(): EntryPoint[] {
  const statics: Array<[string, number, 'never' | 'always' | 'string']> = [
    ['alloc', 0, 'never'],
    ['allocUnsafe', POOLED, 'never'],
    ['allocUnsafeSlow', 0, 'never'],
    ['of', 0, 'never'],
    ['from', POOLED, 'string'],
    ['concat', POOLED, 'always'],
    ['copyBytesFrom', POOLED, 'always'],
  ];
  const methods: Array<[object, string, number, (r: unknown) => number]> = [
    ['slice', 'map', 'filter', 'toReversed', 'toSorted', 'with'].map((key) => [TypedArray.prototype, key, 0, viewBytes] as [object, string, number, (r: unknown) => number]),
    [[ArrayBuffer.prototype, 'slice', ARRAY_BUFFER, arrayBufferSize] as [object, string, number, (r: unknown) => number]],
    [[SharedArrayBuffer.prototype, 'slice', ARRAY_BUFFER, sharedSize] as [object, string, number, (r: unknown) => number]],
    [[TextEncoder.prototype, 'encode', NATIVE, viewBytes] as [object, string, number, (r: unknown) => number]],
  ].flat();
  return [
    ...statics.map(([key, kind, guard]) => ({ holder: Buffer, key, wrap: (o: Function) => wrapBufferStatic(o, kind, guard) })),
    ...methods.map(([holder, key, kind, size]) => ({ holder, key, wrap: (o: Function) => wrapMethod(o, kind, size) })),
  ];
}

/** A patched property and the descriptor to put back. */
interface Patch {
  readonly holder: object;
  readonly key: string;
  readonly descriptor: PropertyDescriptor;
  readonly wrapper: Function;
}

function install(): Patch[] {
  const patches: Patch[] = [];
  for (const entry of entryPoints()) {
    try {
      const descriptor = Reflect.getOwnPropertyDescriptor(entry.holder, entry.key);
      const original: unknown = descriptor?.value;
      if (descriptor === undefined || typeof original !== 'function') continue;
      if (ownWrappers.has(original)) continue; // still ours from a stop() that could not restore it
      if (descriptor.writable !== true && descriptor.configurable !== true) {
        log('external: %s is read-only, not traced', entry.key);
        continue;
      }
      let wrapper = wrappers.get(original);
      if (wrapper === undefined) {
        const made = entry.wrap(original);
        if (made === null) {
          log('external: %s has an unexpected shape, not traced', entry.key);
          continue;
        }
        wrapper = made;
        wrappers.set(original, wrapper);
      }
      Object.defineProperty(entry.holder, entry.key, { ...descriptor, value: wrapper });
      patches.push({ holder: entry.holder, key: entry.key, descriptor, wrapper });
    } catch (err) {
      log('external: cannot wrap %s: %o', entry.key, err);
    }
  }
  return patches;
}

function uninstall(patches: readonly Patch[]): void {
  for (let i = patches.length - 1; i >= 0; i--) {
    const p = patches[i]!;
    try {
      const now = Reflect.getOwnPropertyDescriptor(p.holder, p.key);
      if (now !== undefined && now.value === p.wrapper) Object.defineProperty(p.holder, p.key, p.descriptor);
      else log('external: %s was replaced while tracing; left as it is', p.key);
    } catch (err) {
      log('external: cannot restore %s: %o', p.key, err);
    }
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Traces the ArrayBuffer backing stores that JavaScript creates through the wrapped entry points
 * (domain 1), sampled by size with the heap sampler's mean interval. Sizes and counts are
 * estimates; allocations much larger than the interval are always sampled and exact. One tracer
 * runs at a time.
 */
export class ExternalTracer {
  readonly #options: Required<ExternalTracerOptions>;
  #patches: Patch[] | null = null;
  #records: ExternalRecords | null = null;

  constructor(options: ExternalTracerOptions) {
    const { interval, nframe, sourceMaps } = options;
    if (!(typeof interval === 'number' && interval > 0 && Number.isFinite(interval))) {
      throw new RangeError(`interval must be a positive number of bytes, not ${String(interval)}`);
    }
    if (!Number.isInteger(nframe) || nframe < 1) throw new RangeError(`nframe must be an integer >= 1, not ${String(nframe)}`);
    this.#options = { interval, nframe, sourceMaps: sourceMaps === true, allocated: options.allocated === true, adaptive: options.adaptive !== false };
  }

  /** Wraps the entry points and starts sampling. Throws if another tracer is running. */
  start(): void {
    if (this.#patches !== null) return;
    if (active !== null) throw new Error('another ExternalTracer is already tracing');
    const records = new ExternalRecords(this.#options);
    this.#records = records;
    this.#patches = install();
    active = records;
    running = this;
    budget[0] = records.next();
  }

  /** Puts every original back (same objects, same descriptors) and forgets all traces. Idempotent. */
  stop(): void {
    const patches = this.#patches;
    if (patches === null) return;
    this.#patches = null;
    if (active === this.#records) {
      active = null;
      running = null;
      budget[0] = Infinity;
    }
    uninstall(patches);
    this.#records?.close();
    this.#records = null;
  }

  /** Forgets every trace (Python's `clear_traces()`); tracing goes on. */
  clear(): void {
    this.#records?.clear();
  }

  /** Estimated bytes of the live traced allocations (drops once a collected one is noticed). */
  get tracedBytes(): number {
    return this.#records?.tracedBytes ?? 0;
  }

  /**
   * Forgets the samples whose memory the GC has collected, even in the synchronous task that
   * dropped them. `takeSnapshot()` calls it after its GC (through `addTraces`).
   */
  pruneDead(): void {
    this.#records?.pruneDead();
  }

  /**
   * Adds one domain-1 trace per live sample (pruned first), plus one `<external>:0` trace for the
   * ArrayBuffer memory not attributed; in 'allocated' mode one trace per site of every sampled
   * allocation since start. Returns the bytes added.
   */
  addTraces(builder: StoreBuilder): number {
    return this.#records?.addTraces(builder) ?? 0;
  }

  /** The mean bytes between samples now (wider than the given interval while allocations are dense). */
  get interval(): number {
    return this.#records?.interval ?? this.#options.interval;
  }

  /** The widest mean interval used since start: an estimate of S bytes of small buffers is within about sqrt(S * widest). */
  get widestInterval(): number {
    return this.#records?.widestInterval ?? this.#options.interval;
  }

  /** Estimated bytes held by the tracer's own tables (samples, slots, cached stacks, totals). */
  byteSize(): number {
    return this.#records?.byteSize() ?? 0;
  }
}

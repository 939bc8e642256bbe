/**
 * Domain 1: ArrayBuffer backing stores created from JavaScript (Buffers, typed arrays), which V8's
 * sampling heap profiler never sees. While tracing, the JS entry points that create them are
 * wrapped; their allocations are sampled by size the way V8 samples the heap (a Poisson process
 * over bytes), a sampled allocation records the JS stack of the call, and it is forgotten when its
 * memory is collected. What native code creates stays one `<external>:0` trace. See
 * docs/external-memory.md.
 */
import { Buffer } from 'node:buffer';
import { debuglog, TextEncoder, types } from 'node:util';
import { enter } from './own.js';
import { captureStack, parseCapturedStack, type Site } from './stack.js';
import type { StoreBuilder } from './store.js';

const log = debuglog('tracemalloc');

/** The domain of these traces (tracer.ts's `EXTERNAL_DOMAIN`). */
const DOMAIN = 1;
/** V8 keeps a typed array of at most this many bytes on its own heap (`--typed-array-max-size-in-heap`). */
const ON_HEAP_MAX = 64;
/** Frames captured beyond `nframe`, for builtin frames (`Array.map`, `Function.from`) that are dropped. */
const FRAME_MARGIN = 2;
/** Distinct stacks remembered, parsed, before the cache starts over. */
const SITE_CACHE_LIMIT = 10_000;
/** Estimated bytes per live sample: the record, its sentinel, registry cell, WeakMap and set entries. */
const SAMPLE_BYTES = 200;
/** Estimated bytes per frame of a cached site (object, strings shared with the stack text). */
const FRAME_BYTES = 120;

// What a wrapper's result is, for `measure`.
/** The result is an ArrayBuffer or SharedArrayBuffer. */
const ARRAY_BUFFER = 1;
/** The result is a Buffer that Node may have cut from its shared pool (`Buffer.poolSize`). */
const POOLED = 2;
/** The result was made by C++ (TextEncoder): never on V8's heap, whatever its size. */
const NATIVE = 4;

/** Options of an `ExternalTracer`. */
export interface ExternalTracerOptions {
  /** Mean bytes between samples (the heap sampler's interval). */
  interval: number;
  /** Frames kept per traceback, most recent first. */
  nframe: number;
  /** Map frames of generated code to the original sources (`mapPosition`). */
  sourceMaps: boolean;
}


/** One live sampled allocation. */
interface Sample {
  /** Estimated bytes it stands for: its size divided by the probability of sampling it. */
  readonly size: number;
  /** Estimated number of allocations it stands for. */
  readonly count: number;
  readonly site: Site;
}

/** What the wrappers call on a sample: the running tracer. */
interface Recorder {
  /** Bytes to the next sample: an exponential draw of mean `interval`. */
  next(): number;
  record(result: unknown, kind: number, arg0: unknown, n: number, callee: Function): void;
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

// Intrinsics, read once before anything is patched.

const OriginalArrayBuffer = ArrayBuffer;
const OriginalSharedArrayBuffer = SharedArrayBuffer;
const TypedArray = Object.getPrototypeOf(Uint8Array) as Function & { prototype: object };
const uncurryGetter = (proto: object, key: string): ((self: unknown) => unknown) => {
  const get = Object.getOwnPropertyDescriptor(proto, key)!.get!;
  return (self) => Reflect.apply(get, self, []);
};
const typedArrayByteLength = uncurryGetter(TypedArray.prototype, 'byteLength') as (view: unknown) => number;
const typedArrayBuffer = uncurryGetter(TypedArray.prototype, 'buffer') as (view: unknown) => ArrayBufferLike;
const arrayBufferByteLength = uncurryGetter(OriginalArrayBuffer.prototype, 'byteLength') as (b: unknown) => number;
const sharedByteLength = uncurryGetter(OriginalSharedArrayBuffer.prototype, 'byteLength') as (b: unknown) => number;

function bufferByteLength(buffer: unknown): number {
  return types.isSharedArrayBuffer(buffer) ? sharedByteLength(buffer) : arrayBufferByteLength(buffer);
}

/**
 * The memory a sampled result holds and the object whose collection frees it, or `null` when the
 * call allocated nothing external: a view of an existing buffer, or a small typed array that V8
 * keeps on its own heap (the heap domain counts it). A Buffer cut from Node's pool is counted for
 * its own bytes and lives as long as it does (the rest of the pool is in `<external>:0`).
 */
function measure(result: unknown, kind: number, arg0: unknown): { size: number; target: object } | null {
  if ((kind & ARRAY_BUFFER) !== 0) {
    return types.isAnyArrayBuffer(result) ? { size: bufferByteLength(result), target: result } : null;
  }
  if (!types.isTypedArray(result) || types.isAnyArrayBuffer(arg0)) return null;
  const n = typedArrayByteLength(result);
  // Node's rule for the pool (lib/buffer.js `allocate`), read after the call like Node reads it.
  if ((kind & POOLED) !== 0 && n > 0 && n < Buffer.poolSize >>> 1) return { size: n, target: result };
  // Reading `.buffer` of an on-heap typed array would move it off the heap: decide first.
  if (n <= ON_HEAP_MAX && (kind & NATIVE) === 0) return null;
  const buffer = typedArrayBuffer(result);
  return { size: bufferByteLength(buffer), target: buffer };
}

// ---------------------------------------------------------------------------------------------
// Wrappers. One per original, made once and kept: `stop()` puts the originals back, and a wrapper
// that someone kept (a subclass of `Uint8Array` declared while tracing) passes through.

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type AnyConstructor = new (...args: unknown[]) => object;

const wrappers = new WeakMap<Function, Function>();
const ownWrappers = new WeakSet<Function>();

/** Gives `wrapper` the original's own properties (name, length, prototype, statics) and prototype. */
function lookLike(wrapper: Function, original: Function): Function {
  Object.setPrototypeOf(wrapper, Object.getPrototypeOf(original));
  for (const key of Reflect.ownKeys(original)) {
    Object.defineProperty(wrapper, key, Reflect.getOwnPropertyDescriptor(original, key)!);
  }
  ownWrappers.add(wrapper);
  return wrapper;
}

// A constructor (ArrayBuffer, a typed array) is replaced by a bound function of a derived class
// that extends the original: being derived, the class allocates no receiver of its own, and a
// subclass (`class X extends Uint8Array` declared while tracing) constructs through `super` at full
// speed. The bound function gets the original's `prototype`, statics and prototype chain, so
// `instanceof`, `Uint8Array.from` and `Symbol.species` behave as before. The class itself must keep
// its static shape: giving it a computed name, a new `name` or a static `Symbol.hasInstance` makes
// every construction 3x slower in V8 11.3, hence the fixed names and `instanceof` on the bound one.

/** A typed array constructor; the unsampled path costs a subtraction and a comparison. */
function wrapTypedArray(Original: AnyConstructor, kind: number): Function {
  const bytesPerElement = (Original as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  class TracedTypedArray extends Original {
    constructor(a?: unknown, b?: unknown, c?: unknown) {
      if (new.target === TracedTypedArray) {
        const r = new Original(a, b, c) as { length: number };
        const n = r.length * bytesPerElement;
        if ((budget[0]! -= n) > 0) return r;
        return sample(r, kind, a, n, TracedTypedArray);
      }
      super(a, b, c); // a subclass: `new.target` is its constructor
      const n = (this as unknown as { length: number }).length * bytesPerElement;
      if ((budget[0]! -= n) > 0) return;
      sample(this, kind, a, n, TracedTypedArray);
    }
  }
  return boundLike(TracedTypedArray, Original);
}

/** `ArrayBuffer` or `SharedArrayBuffer`. */
function wrapArrayBuffer(Original: AnyConstructor, kind: number): Function {
  class TracedArrayBuffer extends Original {
    constructor(a?: unknown, b?: unknown) {
      if (new.target === TracedArrayBuffer) {
        const r = new Original(a, b) as { byteLength: number };
        const n = r.byteLength;
        if ((budget[0]! -= n) > 0) return r;
        return sample(r, kind, a, n, TracedArrayBuffer);
      }
      super(a, b);
      const n = (this as unknown as { byteLength: number }).byteLength;
      if ((budget[0]! -= n) > 0) return;
      sample(this, kind, a, n, TracedArrayBuffer);
    }
  }
  return boundLike(TracedArrayBuffer, Original);
}

const functionHasInstance = Function.prototype[Symbol.hasInstance];

/** `Inner` bound, with the original's own properties and prototype, and `instanceof` of the original. */
function boundLike(Inner: Function, Original: Function): Function {
  const bound = Reflect.apply(Function.prototype.bind, Inner, [null]) as Function;
  lookLike(bound, Original);
  // A bound function's `instanceof` asks the class, whose `prototype` is not the original's.
  // Subclasses inherit this static: for them it is the ordinary test.
  const hasInstance = {
    [Symbol.hasInstance](this: unknown, value: unknown): boolean {
      return this === bound ? value instanceof Original : (Reflect.apply(functionHasInstance, this, [value]) as boolean);
    },
  }[Symbol.hasInstance];
  Object.defineProperty(bound, Symbol.hasInstance, { value: hasInstance, writable: false, enumerable: false, configurable: true });
  return bound;
}

/** A Buffer factory that calls no other wrapped entry point (`alloc`, `allocUnsafe`, ...). */
function wrapFactory(original: AnyFunction, kind: number): Function {
  const wrapper = function (this: unknown, a: unknown, b: unknown, c: unknown): unknown {
    const r = Reflect.apply(original, this, [a, b, c]) as { length: number };
    const n = r.length;
    if ((budget[0]! -= n) > 0) return r;
    return sample(r, kind, a, n, wrapper);
  };
  return lookLike(wrapper, original);
}

/** `Buffer.of`: variadic, and like the original not a constructor. */
function wrapVariadic(original: AnyFunction, kind: number): Function {
  const wrapper = {
    of(this: unknown, ...items: unknown[]): unknown {
      const r = Reflect.apply(original, this, items) as { length: number };
      const n = r.length;
      if ((budget[0]! -= n) > 0) return r;
      return sample(r, kind, undefined, n, wrapper);
    },
  }.of;
  return lookLike(wrapper, original);
}

// Calls that may call other wrapped entry points (`Buffer.concat` calls `Buffer.allocUnsafe`,
// `Buffer.from` may call `Buffer.allocUnsafeSlow`, `slice` may construct a subclass) run through
// `callGuarded`: the inner calls neither count nor spend the budget, and the outer call counts its
// result once. Allocations by callbacks they run (`map`, a `valueOf`) are not traced.

/** Calls `original` with the inner wrappers silenced; puts depth and budget back, even on a throw. */
function callGuarded(original: AnyFunction, self: unknown, a: unknown, b: unknown, c: unknown): unknown {
  const d = depth;
  const before = budget[0]!;
  depth = d + 1;
  try {
    return Reflect.apply(original, self, [a, b, c]);
  } finally {
    depth = d;
    budget[0] = before;
  }
}

/** `Buffer.concat`, `Buffer.copyBytesFrom`. */
function wrapBufferOuter(original: AnyFunction, kind: number): Function {
  const wrapper = function (this: unknown, a: unknown, b: unknown, c: unknown): unknown {
    const r = callGuarded(original, this, a, b, c) as { length: number };
    const n = r.length; // a Buffer's length is its byteLength, and cheaper to read
    if ((budget[0]! -= n) > 0) return r;
    return sample(r, kind, a, n, wrapper);
  };
  return lookLike(wrapper, original);
}

/**
 * `Buffer.from`. Only a string that Node may encode outside its pool (at most 4 bytes a character,
 * pooled below `Buffer.poolSize / 2` bytes) makes it call another wrapped entry point, so only such
 * a string pays for the guard: the common short string or array does not.
 */
function wrapFrom(original: AnyFunction, kind: number): Function {
  const wrapper = function (this: unknown, a: unknown, b: unknown, c: unknown): unknown {
    const r = (typeof a === 'string' && !(a.length * 8 < Buffer.poolSize)
      ? callGuarded(original, this, a, b, c)
      : Reflect.apply(original, this, [a, b, c])) as { length: number };
    const n = r.length;
    if ((budget[0]! -= n) > 0) return r;
    return sample(r, kind, a, n, wrapper);
  };
  return lookLike(wrapper, original);
}

/** `slice`, `map` and `filter` of typed arrays and `slice` of (Shared)ArrayBuffers. */
function wrapOuter(original: AnyFunction, kind: number): Function {
  const wrapper = {
    method(this: unknown, a: unknown, b: unknown, c: unknown): unknown {
      const r = callGuarded(original, this, a, b, c) as { byteLength: number };
      const n = r.byteLength;
      if ((budget[0]! -= n) > 0) return r;
      return sample(r, kind, a, n, wrapper);
    },
  }.method;
  return lookLike(wrapper, original);
}

/** A method that calls no other wrapped entry point (`toReversed`, `TextEncoder#encode`). */
function wrapMethod(original: AnyFunction, kind: number): Function {
  const wrapper = {
    method(this: unknown, a: unknown, b: unknown): unknown {
      const r = Reflect.apply(original, this, [a, b]) as { byteLength: number };
      const n = r.byteLength;
      if ((budget[0]! -= n) > 0) return r;
      return sample(r, kind, a, n, wrapper);
    },
  }.method;
  return lookLike(wrapper, original);
}

WRAPPERS.leave();

type Wrap = (original: never, kind: number) => Function;

interface EntryPoint {
  readonly holder: object;
  readonly key: string;
  readonly wrap: Wrap;
  readonly kind: number;
}

const TYPED_ARRAYS = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const;

/** Every entry point that is wrapped while tracing (those this Node lacks are skipped). */
function entryPoints(): EntryPoint[] {
  const g = globalThis;
  return [
    { holder: g, key: 'ArrayBuffer', wrap: wrapArrayBuffer, kind: ARRAY_BUFFER },
    { holder: g, key: 'SharedArrayBuffer', wrap: wrapArrayBuffer, kind: ARRAY_BUFFER },
    ...TYPED_ARRAYS.map((key) => ({ holder: g, key, wrap: wrapTypedArray, kind: 0 })),
    { holder: Buffer, key: 'alloc', wrap: wrapFactory, kind: 0 },
    { holder: Buffer, key: 'allocUnsafe', wrap: wrapFactory, kind: POOLED },
    { holder: Buffer, key: 'allocUnsafeSlow', wrap: wrapFactory, kind: 0 },
    { holder: Buffer, key: 'of', wrap: wrapVariadic, kind: 0 },
    { holder: Buffer, key: 'from', wrap: wrapFrom, kind: POOLED },
    { holder: Buffer, key: 'concat', wrap: wrapBufferOuter, kind: POOLED },
    { holder: Buffer, key: 'copyBytesFrom', wrap: wrapBufferOuter, kind: POOLED },
    { holder: TypedArray.prototype, key: 'slice', wrap: wrapOuter, kind: 0 },
    { holder: TypedArray.prototype, key: 'map', wrap: wrapOuter, kind: 0 },
    { holder: TypedArray.prototype, key: 'filter', wrap: wrapOuter, kind: 0 },
    { holder: TypedArray.prototype, key: 'toReversed', wrap: wrapMethod, kind: 0 },
    { holder: TypedArray.prototype, key: 'toSorted', wrap: wrapMethod, kind: 0 },
    { holder: TypedArray.prototype, key: 'with', wrap: wrapMethod, kind: 0 },
    { holder: OriginalArrayBuffer.prototype, key: 'slice', wrap: wrapOuter, kind: ARRAY_BUFFER },
    { holder: OriginalSharedArrayBuffer.prototype, key: 'slice', wrap: wrapOuter, kind: ARRAY_BUFFER },
    { holder: TextEncoder.prototype, key: 'encode', wrap: wrapMethod, kind: NATIVE },
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
        wrapper = entry.wrap(original as never, entry.kind);
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
 * Traces the ArrayBuffer backing stores that JavaScript creates (domain 1), sampled by size with
 * the heap sampler's mean interval. Sizes and counts are estimates; allocations much larger than
 * the interval are always sampled and exact. One tracer runs at a time.
 */
export class ExternalTracer {
  readonly #interval: number;
  readonly #nframe: number;
  readonly #limit: number;
  readonly #sourceMaps: boolean;
  #patches: Patch[] | null = null;
  #live = new Set<Sample>();
  #registry = this.#newRegistry();
  /** Traced object -> the sentinel the registry watches in its place (see #record). */
  #sentinels = new WeakMap<object, object>();
  #bytes = 0;
  readonly #sites = new Map<string, Site>();
  #siteBytes = 0;
  readonly #recorder: Recorder = {
    next: () => -Math.log(1 - Math.random()) * this.#interval,
    record: (result, kind, arg0, n, callee) => this.#record(result, kind, arg0, n, callee),
  };

  constructor(options: ExternalTracerOptions) {
    const { interval, nframe, sourceMaps } = options;
    if (!(typeof interval === 'number' && interval > 0 && Number.isFinite(interval))) {
      throw new RangeError(`interval must be a positive number of bytes, not ${String(interval)}`);
    }
    if (!Number.isInteger(nframe) || nframe < 1) throw new RangeError(`nframe must be an integer >= 1, not ${String(nframe)}`);
    this.#interval = interval;
    this.#nframe = nframe;
    this.#limit = nframe + FRAME_MARGIN;
    this.#sourceMaps = sourceMaps === true;
  }

  /** Wraps the entry points and starts sampling. Throws if another tracer is running. */
  start(): void {
    if (this.#patches !== null) return;
    if (active !== null) throw new Error('another ExternalTracer is already tracing');
    this.#patches = install();
    active = this.#recorder;
    budget[0] = this.#recorder.next();
  }

  /** Puts every original back (same objects, same descriptors) and forgets all traces. Idempotent. */
  stop(): void {
    const patches = this.#patches;
    if (patches === null) return;
    this.#patches = null;
    if (active === this.#recorder) {
      active = null;
      budget[0] = Infinity;
    }
    uninstall(patches);
    this.clear();
    this.#sites.clear();
    this.#siteBytes = 0;
  }

  /** Forgets every trace (Python's `clear_traces()`); tracing goes on. */
  clear(): void {
    this.#live = new Set();
    this.#registry = this.#newRegistry(); // the old one and its pending callbacks are dropped with it
    this.#sentinels = new WeakMap();
    this.#bytes = 0;
  }

  /** Estimated bytes of the live traced allocations (drops once a collected one's callback ran). */
  get tracedBytes(): number {
    return this.#bytes;
  }

  /**
   * Adds one domain-1 trace per live sample, plus one `<external>:0` trace for the ArrayBuffer
   * memory not attributed (`process.memoryUsage().arrayBuffers` minus the traces, when positive).
   * A sample leaves when the FinalizationRegistry reports its object collected: after the GC, on a
   * later turn of the event loop. Returns the bytes added.
   */
  addTraces(builder: StoreBuilder): number {
    let attributed = 0;
    const tracebacks = new Map<Site, number>();
    for (const s of this.#live) {
      let tb = tracebacks.get(s.site);
      if (tb === undefined) {
        const ids = s.site.frames.map((f) => builder.frame(f.filename, f.lineno, f.column, f.functionName));
        tb = builder.traceback(ids, s.site.total ?? -1);
        tracebacks.set(s.site, tb);
      }
      builder.trace(DOMAIN, s.size, s.count, tb);
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

  /** Estimated bytes held by the tracer's own tables (samples, cached stacks). */
  byteSize(): number {
    return this.#live.size * SAMPLE_BYTES + this.#siteBytes;
  }

  #newRegistry(): FinalizationRegistry<Sample> {
    return new FinalizationRegistry<Sample>((s) => this.#forget(s));
  }

  #forget(s: Sample): void {
    if (!this.#live.delete(s)) return;
    this.#bytes = this.#live.size === 0 ? 0 : this.#bytes - s.size;
  }

  #record(result: unknown, kind: number, arg0: unknown, n: number, callee: Function): void {
    const m = measure(result, kind, arg0);
    if (m === null) return;
    // Sampled with probability p = 1 - exp(-n / interval): it stands for 1/p such allocations.
    const p = -Math.expm1(-n / this.#interval);
    // Whole bytes and objects, as traces hold everywhere else (pprof stores integers); rounding a
    // size to the byte adds no bias worth the name.
    const site = this.#site(callee);
    if (site.own) return; // the tracer's own allocation (own.ts decides), never the program's
    const s: Sample = { size: Math.round(m.size / p), count: Math.max(1, Math.round(1 / p)), site };
    // V8's young-generation GC keeps a FinalizationRegistry's targets alive (only a full GC clears
    // them): registered directly, every sampled buffer, dead or not, would wait for a full GC, and
    // a loop of short-lived 1 MiB buffers would run 10x slower on far more memory. So the registry
    // watches a small sentinel that a WeakMap keeps alive exactly as long as the target, which
    // itself dies as it would untraced. (No WeakRef either: a new one keeps its target alive until
    // the current job ends.)
    const sentinel = {};
    this.#registry.register(sentinel, s);
    this.#sentinels.set(m.target, sentinel);
    this.#live.add(s);
    this.#bytes += s.size;
  }

  #site(callee: Function): Site {
    const stack = captureStack(callee, this.#limit);
    let site = this.#sites.get(stack);
    if (site === undefined) {
      site = this.#parse(stack);
      if (this.#sites.size >= SITE_CACHE_LIMIT) {
        this.#sites.clear();
        this.#siteBytes = 0;
      }
      this.#sites.set(stack, site);
      this.#siteBytes += stack.length + 64 + site.frames.length * FRAME_BYTES;
    }
    return site;
  }

  /** Stack text -> frames (see parseCapturedStack). */
  #parse(stack: string): Site {
    return parseCapturedStack(stack, this.#nframe, this.#limit, this.#sourceMaps);
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

// Tracing never changes what the host sees (issue 12): constructors keep their identity,
// instances their constructor, subclasses (with private fields) construct, Symbol.species,
// new.target, Reflect.construct, structuredClone and transfer behave as untraced, for code that
// captured the builtins before start(), during tracing and after stop(); stop() puts back every
// wrapped property with its descriptor. Each behaviour is computed once untraced and once traced
// and the two results must be deep-equal.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { TextEncoder } from 'node:util';
import { ExternalTracer } from '#internal/external';
import { StoreBuilder } from '#internal/store';
import { Snapshot } from '#internal/snapshot';
import { MiB } from './helpers/live.js';

const CONSTRUCTORS = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
  'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
  ...('Float16Array' in globalThis ? ['Float16Array'] : []),
] as const;
type Ctor = new (...args: unknown[]) => object;
const TypedArray = Object.getPrototypeOf(Uint8Array) as Ctor & { prototype: object };
const g = globalThis as unknown as Record<string, Ctor>;

let tracer: ExternalTracer | null = null;
afterEach(() => {
  tracer?.stop();
  tracer = null;
});

/** Starts a tracer that samples every allocation, so that every wrapper takes its slow path too. */
function startTracer(interval = 1): ExternalTracer {
  tracer = new ExternalTracer({ interval, nframe: 4, sourceMaps: false, adaptive: false });
  tracer.start();
  return tracer;
}

/** Every own property descriptor of the builtins a tracer could touch, by a readable key. */
function builtinDescriptors(): Map<string, PropertyDescriptor> {
  const out = new Map<string, PropertyDescriptor>();
  const holders: Array<[string, object]> = [
    ['globalThis', globalThis],
    ['Buffer', Buffer],
    ['Buffer.prototype', Buffer.prototype],
    ['TypedArray', TypedArray],
    ['TypedArray.prototype', TypedArray.prototype],
    ['TextEncoder.prototype', TextEncoder.prototype],
    ...CONSTRUCTORS.flatMap((name): Array<[string, object]> => [[name, g[name]!], [`${name}.prototype`, g[name]!.prototype]]),
  ];
  for (const [name, holder] of holders) {
    for (const key of Reflect.ownKeys(holder)) {
      if (name === 'globalThis' && !CONSTRUCTORS.includes(key as never) && key !== 'Buffer' && key !== 'TextEncoder') continue;
      out.set(`${name}.${String(key)}`, Reflect.getOwnPropertyDescriptor(holder, key)!);
    }
  }
  return out;
}

/** What a program can observe about the typed-array builtins, as plain data. */
function observe(C: Record<string, Ctor>): unknown {
  const out: Record<string, unknown> = {};
  for (const name of CONSTRUCTORS) {
    const K = C[name]!;
    const live = g[name]!;
    const x = name === 'DataView' ? new K(new ArrayBuffer(8)) : new K(8);
    out[name] = {
      sameGlobal: K === live,
      ctorIsGlobal: (x as { constructor: unknown }).constructor === live,
      ctorIsCaptured: (x as { constructor: unknown }).constructor === K,
      instanceofGlobal: x instanceof live,
      instanceofCaptured: x instanceof K,
      proto: Object.getPrototypeOf(x) === live.prototype,
      protoCtor: live.prototype.constructor === live,
      species: (live as unknown as Record<symbol, unknown>)[Symbol.species] === live,
      name: K.name,
      length: K.length,
      tag: Object.prototype.toString.call(x),
      source: Function.prototype.toString.call(K),
      callWithoutNew: (() => {
        try {
          (K as unknown as () => unknown)();
          return 'no throw';
        } catch (err) {
          return `${(err as Error).name}: ${(err as Error).message}`;
        }
      })(),
    };
  }
  const u = new C.Uint8Array!([1, 2, 3]) as Uint8Array;
  out.copies = [u.slice(1), u.map((v) => v * 2), u.filter((v) => v > 1), u.subarray(1)].map((r) => [r.constructor === Uint8Array, Array.from(r)]);
  out.bufferChecks = [Buffer.alloc(2), Buffer.from('ab'), Buffer.concat([Buffer.from('a')]), Buffer.of(1)].map((b) => [
    b.constructor === Buffer, b instanceof Buffer, b instanceof Uint8Array, Buffer.isBuffer(b), b.constructor.name,
  ]);
  out.allocNew = (() => {
    const r = new (Buffer.alloc as unknown as new (n: number) => Buffer)(2); // constructible, like the original
    return [Buffer.isBuffer(r), r.length];
  })();
  out.methodNew = ['slice', 'map'].map((k) => {
    try {
      new ((TypedArray.prototype as Record<string, unknown>)[k] as new () => unknown)();
      return 'no throw';
    } catch (err) {
      return (err as Error).name;
    }
  });
  out.statics = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'of', 'from', 'concat', 'copyBytesFrom'].map((k) => {
    const f = (Buffer as unknown as Record<string, Function>)[k]!;
    return [f.name, f.length, Object.hasOwn(f, 'prototype'), Object.getPrototypeOf(f) === Function.prototype];
  });
  return out;
}

test('constructor identity: captured before start(), during tracing and after stop(), every check is as untraced', () => {
  const captured: Record<string, Ctor> = Object.fromEntries(CONSTRUCTORS.map((n) => [n, g[n]!]));
  const untraced = observe(captured);
  const descriptorsBefore = builtinDescriptors();
  startTracer();
  const during: Record<string, Ctor> = Object.fromEntries(CONSTRUCTORS.map((n) => [n, g[n]!]));
  assert.deepEqual(observe(captured), untraced, 'constructors captured before start()');
  assert.deepEqual(observe(during), untraced, 'constructors read while tracing');
  for (const name of CONSTRUCTORS) assert.equal(during[name], captured[name], `${name} is the same object while tracing`);
  // While tracing only the wrapped methods differ, each with the original's descriptor attributes.
  const descriptorsDuring = builtinDescriptors();
  const changed = [...descriptorsBefore].filter(([k, d]) => descriptorsDuring.get(k)!.value !== d.value).map(([k]) => k).sort();
  assert.deepEqual(changed, [
    'Buffer.alloc', 'Buffer.allocUnsafe', 'Buffer.allocUnsafeSlow', 'Buffer.concat', 'Buffer.copyBytesFrom', 'Buffer.from', 'Buffer.of',
    'SharedArrayBuffer.prototype.slice', 'TextEncoder.prototype.encode',
    'ArrayBuffer.prototype.slice', 'TypedArray.prototype.filter', 'TypedArray.prototype.map', 'TypedArray.prototype.slice',
    'TypedArray.prototype.toReversed', 'TypedArray.prototype.toSorted', 'TypedArray.prototype.with',
  ].filter((k) => descriptorsBefore.has(k)).sort());
  for (const key of changed) {
    const { value: _a, ...before } = descriptorsBefore.get(key)!;
    const { value: _b, ...now } = descriptorsDuring.get(key)!;
    assert.deepEqual(now, before, `${key}: same attributes`);
  }
  tracer!.stop();
  assert.deepEqual(observe(during), untraced, 'after stop()');
  const descriptorsAfter = builtinDescriptors();
  assert.deepEqual([...descriptorsAfter.keys()], [...descriptorsBefore.keys()]);
  for (const [key, d] of descriptorsBefore) assert.deepEqual(descriptorsAfter.get(key), d, `${key} restored exactly`);
});

/** Subclasses whose size getters read private fields: construction, copies, species. */
function subclassBehaviour(): unknown {
  class Matrix extends Uint8Array {
    #rows: number;
    #cols: number;
    constructor(rows: number, cols: number) {
      super(rows * cols);
      this.#rows = rows;
      this.#cols = cols;
    }
    override get length(): number {
      return this.#rows * this.#cols;
    }
    override get byteLength(): number {
      return this.#rows * this.#cols;
    }
    get rows(): number {
      return this.#rows;
    }
    static get [Symbol.species](): typeof Uint8Array {
      return Uint8Array;
    }
  }
  class Arena extends ArrayBuffer {
    #label: string;
    constructor(n: number) {
      super(n);
      this.#label = `arena-${n}`;
    }
    override get byteLength(): number {
      return this.#label.length; // a lie, read only by the program itself
    }
  }
  class Counted extends Float64Array {
    static made = 0;
    constructor(...args: unknown[]) {
      super(...(args as []));
      Counted.made++;
    }
  }
  const m = new Matrix(3, 100);
  m.fill(7);
  const copy = m.slice(1); // species: a plain Uint8Array
  const arena = new Arena(1024);
  const arenaCopy = arena.slice(0, 10);
  const c = new Counted(200).fill(1.5);
  const c2 = c.map((v) => v * 2); // species: Counted
  const c3 = c.filter((_v, i) => i % 2 === 0);
  const reflected = Reflect.construct(Uint8Array, [128], Matrix) as Uint8Array; // new.target = Matrix, no fields
  const seen: unknown[] = [];
  class Target extends Uint16Array {
    constructor(n: number) {
      super(n);
      seen.push(new.target === Target);
    }
  }
  class Sub extends Target {}
  new Sub(100);
  new Target(100);
  return {
    m: [m.rows, m.length, m.byteLength, m instanceof Matrix, m.constructor === Matrix, m[299]],
    copy: [copy.constructor === Uint8Array, copy.length, copy[0]],
    arena: [arena.byteLength, arena instanceof Arena, arenaCopy.constructor === Arena, arenaCopy instanceof ArrayBuffer],
    counted: [Counted.made, c2.constructor === Counted, c2[0], c3.length, c3.constructor === Counted],
    reflected: [Object.getPrototypeOf(reflected) === Matrix.prototype, (() => {
      try {
        return (reflected as unknown as { rows: number }).rows;
      } catch (err) {
        return (err as Error).name;
      }
    })()],
    newTarget: seen,
  };
}

test('subclasses with private fields, Symbol.species, new.target and Reflect.construct: as untraced', () => {
  const untraced = subclassBehaviour();
  startTracer(); // every allocation sampled: each wrapper's slow path runs
  assert.deepEqual(subclassBehaviour(), untraced);
  tracer!.stop();
  startTracer(64 * 1024); // the default interval: the fast path
  assert.deepEqual(subclassBehaviour(), untraced);
});

test('a subclass\'s own length/byteLength getters never run because of tracing', () => {
  const reads = { length: 0, byteLength: 0 };
  class Spy extends Uint8Array {
    override get length(): number {
      reads.length++;
      return super.length;
    }
    override get byteLength(): number {
      reads.byteLength++;
      return super.byteLength;
    }
  }
  const run = () => {
    const s = new Spy(1000);
    return [s.slice(1).length, s.map((v) => v + 1).length, s.filter(() => true).length];
  };
  const expected = run();
  const untraced = { ...reads };
  reads.length = 0;
  reads.byteLength = 0;
  startTracer();
  assert.deepEqual(run(), expected);
  assert.deepEqual(reads, untraced);
});

/** structuredClone and transfer of buffers made through the wrapped entry points. */
function cloneBehaviour(): unknown {
  const b = Buffer.from('hello world');
  const u = new Uint8Array([1, 2, 3, 4]).slice();
  const ab = new ArrayBuffer(16).slice(0, 8);
  const clone = structuredClone({ b, u, ab });
  const moving = Buffer.alloc(8192).fill(3);
  const moved = structuredClone(moving.buffer, { transfer: [moving.buffer] });
  const out: Record<string, unknown> = {
    clone: [clone.b.constructor === Uint8Array, Array.from(clone.b), clone.u.constructor === Uint8Array, Array.from(clone.u), clone.ab.byteLength],
    transfer: [moving.buffer.byteLength, moving.length, moved.byteLength, new Uint8Array(moved)[0]],
  };
  const t = (ArrayBuffer.prototype as { transfer?: (n?: number) => ArrayBuffer }).transfer;
  if (typeof t === 'function') { // ArrayBuffer.prototype.transfer: Node 21 and later
    const src = new ArrayBuffer(32).slice(0);
    const dst = Reflect.apply(t, src, [64]) as ArrayBuffer;
    out.arrayBufferTransfer = [src.byteLength, dst.byteLength, dst.constructor === ArrayBuffer];
  }
  return out;
}

test('structuredClone and transfer: as untraced', () => {
  const untraced = cloneBehaviour();
  startTracer();
  assert.deepEqual(cloneBehaviour(), untraced);
});

test('wrappers pass the arguments on exactly as they came (count included) and keep `this`', () => {
  const original = Buffer.alloc;
  const counts: number[] = [];
  const host = function alloc(this: unknown, ...args: unknown[]): Buffer {
    counts.push(args.length, this === Buffer ? 1 : 0);
    return Reflect.apply(original, this, args) as Buffer;
  };
  Object.defineProperty(Buffer, 'alloc', { ...Object.getOwnPropertyDescriptor(Buffer, 'alloc')!, value: host });
  try {
    startTracer();
    assert.notEqual(Buffer.alloc, host); // the host's replacement is wrapped in turn
    Buffer.alloc(3);
    Buffer.alloc(3, 1);
    Buffer.alloc(3, 'a', 'utf8');
    assert.deepEqual(counts, [1, 1, 2, 1, 3, 1]);
    tracer!.stop();
    assert.equal(Buffer.alloc, host);
  } finally {
    Object.defineProperty(Buffer, 'alloc', { ...Object.getOwnPropertyDescriptor(Buffer, 'alloc')!, value: original });
  }
});

test('cbor-x, msgpackr, google-protobuf and three (issue 12\'s reports) work while tracing', () => {
  const run = (): string[] => {
    const cbor = require('cbor-x') as typeof import('cbor-x');
    const msgpackr = require('msgpackr') as typeof import('msgpackr');
    const pb = require('google-protobuf') as { BinaryReader: new (b: unknown) => { nextField(): boolean; getFieldNumber(): number; readString(): string } };
    const three = require('three') as { BufferAttribute: new (a: Uint8Array, size: number, normalized: boolean) => { getX(i: number): number } };
    const out = [Buffer.from(cbor.encode(new Uint8Array([1, 2]))).toString('hex')];
    const packed = msgpackr.pack({ a: 1, b: [1, 2] });
    const ab = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.length);
    out.push(JSON.stringify(msgpackr.unpack(new Uint8Array(ab))));
    const reader = new pb.BinaryReader(new Uint8Array([10, 2, 104, 105]).buffer);
    reader.nextField();
    out.push(`${reader.getFieldNumber()}:${reader.readString()}`);
    const attr = new three.BufferAttribute(new Uint8Array([0, 128, 255]), 1, true);
    out.push(String(attr.getX(2)));
    return out;
  };
  const untraced = run();
  assert.equal(untraced[0], 'd840420102');
  startTracer();
  assert.deepEqual(run(), untraced);
});

test('the traces of a subclass copy and a Buffer made while tracing still land at their lines', () => {
  const t = startTracer(64 * 1024);
  const held = [Buffer.alloc(2 * MiB), new Uint8Array(2 * MiB).slice()];
  const builder = new StoreBuilder();
  t.addTraces(builder);
  const snapshot = Snapshot._fromColumns(builder.build(), 4);
  const lines = new Set(Array.from(snapshot.traces).map((tr) => tr.traceback.at(-1)!.lineno));
  assert.ok(lines.size >= 2, `lines ${[...lines]}`);
  assert.equal(held.length, 2);
});

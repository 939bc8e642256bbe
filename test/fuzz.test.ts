/**
 * Fuzzing the readers of untrusted input with a fixed seed: snapshot files (JSON and gzip) through
 * `Snapshot.load`, values through `Snapshot.fromJSON`, and `.heapprofile` JSON through
 * `snapshotFromHeapProfile` (and the CLI's file reader). Every mutated input must either give a
 * snapshot that works (statistics, diffs, formatTop, the exporters, a dump/load round trip), or be
 * refused with a `SnapshotFormatError` whose message starts with the input's name: never another
 * error, never a hang (the test's timeout), never a polluted prototype.
 *
 * Whole columns of extreme numbers and crafted intervals, sample sizes and counts reach the
 * bounds (sums within 2^53, frames in traces, unscaling steps), and every input must take less
 * than MAX_INPUT_MS. A failure prints the seed, the round and the mutations, so it replays exactly.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { inspect } from 'node:util';
import * as tracemalloc from 'tracemalloc';
import { readHeapProfile } from '#internal/export/heapprofile';
import { prng } from './helpers/prng.js';

const { Frame, Snapshot, SnapshotFormatError, formatTop, heapProfileToText, renderHtmlReport, snapshotFromHeapProfile, toHeapProfile, toPprof } = tracemalloc;
type Snapshot = tracemalloc.Snapshot;

/**
 * The seed of every run, fixed so CI is deterministic. To explore locally, set
 * TRACEMALLOC_FUZZ_SEED (and TRACEMALLOC_FUZZ_SCALE to multiply the rounds).
 */
const SEED = Number(process.env.TRACEMALLOC_FUZZ_SEED ?? 0x7ace3a11);
const SCALE = Number(process.env.TRACEMALLOC_FUZZ_SCALE ?? 1);
/** Rounds per target: about 4,500 inputs, about 2 s on one CI core. */
const ROUNDS = {
  fileText: 1200 * SCALE, fileGzip: 300 * SCALE, value: 1500 * SCALE, heapText: 700 * SCALE, heapValue: 700 * SCALE, heapFile: 120 * SCALE,
  columns: 150 * SCALE, heapNumbers: 30 * SCALE,
};
/** A hang fails the test instead of blocking CI. */
const TIMEOUT_MS = 60_000;
/** Refusals must be readable: a message never echoes a huge part of the input. */
const MAX_MESSAGE = 1000;
/**
 * One input (reading it, then using the snapshot) must take less than this: the readers' bounds
 * (docs/bad-input.md) keep every input far under it, so a slower one is a reader without a bound.
 */
const MAX_INPUT_MS = 5_000;

class Rng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = prng(seed);
  }
  float(): number {
    return this.#next();
  }
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Valid inputs to start from: hand-built snapshots with varied frames, domains and metadata.

const f = (file: string, line: number, functionName: string | null = null, column: number | null = null): tracemalloc.Frame =>
  new Frame(file, line, { functionName, column });

function baseSnapshots(): Snapshot[] {
  const main = f('/srv/app/main.js', 1, 'main', 1);
  const handle = f('/srv/app/server.js', 10, 'handle', 17);
  const unicode = f('/srv/ünï/😀 file.js', 3, 'naïve', 2);
  const unknown = f('<unknown>', 0, '(V8 API)');
  const builtin = f('node:internal/streams/readable', 200, 'Readable.read', 3);
  const url = f('file:///srv/app/esm.mjs', 7, null, 4);
  const mixed = new Snapshot([
    [0, 131136, [handle, main], 2, 3.5],
    [0, 65560, [unicode, handle, main], 5, 1639],
    [0, 40, [unknown], 1, 1],
    [1, 3 << 20, [builtin, main], null, 1],
    [2, 1000, [url], 1, 1],
    [7, 24, [], 0, 1],
    [4294967295, 0, [main], 1, 0],
  ] as unknown as tracemalloc.RawTrace[], 3, {
    samplingInterval: 65536,
    meta: { time: '2024-05-01T12:00:00.000Z', pid: 4242, node: 'v20.20.2', mode: 'live', argv: ['node', 'a b.js'], nested: { a: [1, { b: null }] } },
  });
  const exact = new Snapshot([
    [0, 10, [['a.py', 2], ['b.py', 4]], 3],
    [1, 2, [['a.py', 5], ['b.py', 4]], 3],
    [3, 7, [['<unknown>', 0]], 1],
  ], 1, { samplingInterval: null, meta: {} });
  const empty = new Snapshot([], 25, { samplingInterval: 524288, meta: { mode: 'allocated' } });
  // Many traces over shared, deep tracebacks (interning and offsets get exercised).
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED ^ 0x5eed);
  const frames = Array.from({ length: 40 }, (_, i) => f(`/srv/lib/mod${i % 9}.js`, 1 + i * 7, i % 3 === 0 ? null : `fn${i}`, i % 4));
  const tracebacks = Array.from({ length: 30 }, () => Array.from({ length: 1 + rng.int(12) }, () => rng.pick(frames)));
  const raw = Array.from({ length: 200 }, () => {
    const tb = rng.pick(tracebacks);
    return [rng.int(3), rng.int(1 << 20), tb, tb.length + rng.int(3), 1 + rng.int(50)];
  });
  const large = new Snapshot(raw as unknown as tracemalloc.RawTrace[], 12, { samplingInterval: 4096, meta: { mode: 'live' } });
  // Metadata whose keys JSON.parse makes own properties: they must stay plain data.
  const hostileMeta = JSON.parse('{"__proto__": {"polluted": "meta"}, "constructor": {"prototype": {"polluted": "meta"}}, "toString": 1}') as Record<string, unknown>;
  const withProtoKeys = new Snapshot([[0, 512, [['/srv/app/x.js', 1]], 1]], 1, { samplingInterval: 65536, meta: hostileMeta });
  return [mixed, exact, empty, large, withProtoKeys];
}

/** A valid profile as `node --heap-prof` writes it: builtins, numeric script ids, a pruned node. */
function nodeHeapProf(): unknown {
  const cf = (functionName: string, url: string, lineNumber: number, columnNumber: number, scriptId: string | number) => ({ functionName, url, lineNumber, columnNumber, scriptId });
  return {
    head: {
      callFrame: cf('(root)', '', -1, -1, '0'), selfSize: 0, id: 1, children: [
        { callFrame: cf('main', 'file:///srv/app/main.mjs', 0, 0, 41), selfSize: 0, id: 2, children: [
          { callFrame: cf('load', 'file:///srv/app/main.mjs', 9, 14, 41), selfSize: 1048576, id: 3, children: [
            { callFrame: cf('push', '', -1, -1, '0'), selfSize: 131136, id: 4, children: [] },
          ] },
          { callFrame: cf('', '/srv/app/cjs.js', 3, 2, '42'), selfSize: 65560, id: 5, children: [] },
        ] },
        { callFrame: cf('(V8 API)', '', -1, -1, '0'), selfSize: 4096, id: 6, children: [] },
        { callFrame: cf('lost', '', -1, -1, '43'), selfSize: 0, id: 7, children: [] },
      ],
    },
    samples: [
      { size: 1048576, nodeId: 3, ordinal: 1 },
      { size: 131136, nodeId: 4, ordinal: 2 },
      { size: 65560, nodeId: 5, ordinal: 3 },
      { size: 4096, nodeId: 6, ordinal: 4 },
      { size: 4096, nodeId: 99, ordinal: 5 },
    ],
  };
}

/** An old profile: no samples, only each node's selfSize. */
function oldHeapProf(): unknown {
  const value = nodeHeapProf() as { samples?: unknown };
  delete value.samples;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Mutations.

type Json = unknown;
type Container = Record<string, unknown> | unknown[];

const LONG = 'x'.repeat(200_000);
const KNOWN_KEYS = [
  'format', 'version', 'tracebackLimit', 'samplingInterval', 'meta', 'strings', 'frames', 'tracebacks', 'traces',
  'filename', 'lineno', 'column', 'function', 'source', 'offsets', 'totalNframe', 'domain', 'size', 'count', 'traceback',
  'head', 'samples', 'callFrame', 'children', 'id', 'selfSize', 'nodeId', 'ordinal', 'url', 'scriptId', 'lineNumber',
  'columnNumber', 'functionName', 'tracemalloc', 'domains',
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

function deep(depth: number): Json {
  return JSON.parse('['.repeat(depth) + ']'.repeat(depth));
}

/** An object whose own keys JSON.parse would make from `"__proto__"` and `"constructor"`. */
function protoObject(): Json {
  return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
}

/** A replacement value: another JSON type, an edge number, a huge one; `jsOnly` adds non-JSON values. */
function weird(rng: Rng, jsOnly: boolean): Json {
  const json: (() => Json)[] = [
    () => null, () => true, () => false, () => 0, () => -1, () => -0, () => 0.5, () => 1.5, () => 1e308, () => -1e308,
    () => 2 ** 31, () => 2 ** 31 - 1, () => 2 ** 32, () => 2 ** 53, () => 2 ** 53 + 2, () => 5e-324, () => 1e21,
    () => 'NaN', () => 'Infinity', () => '-Infinity', () => '', () => '0', () => '12', () => 'tracemalloc-snapshot',
    () => LONG, () => [], () => ({}), () => [0], () => [-1], () => [null], () => ({ 0: 0, length: 1 }),
    () => deep(5000 + rng.int(20_000)), () => protoObject(), () => '\ud800', () => '\u0000',
  ];
  const js: (() => Json)[] = [() => NaN, () => Infinity, () => -Infinity, () => undefined, () => 10n, () => Symbol('s'), () => () => 1];
  return rng.pick(jsOnly && rng.chance(0.3) ? js : json)();
}

/** Extreme numbers for `fillColumn` and `heapNumbers`: past every bound, at it, and costly ones. */
const EXTREMES = [1e308, 2 ** 53, 2 ** 53 - 1, 2 ** 52, 1e15 + 4, 1e12, 1e12 + 3988, 2 ** 31 - 1, 4 * 0x3fffffff];

/**
 * Fills one whole array of the value (a column of traces, a list of samples' fields) with one
 * extreme number, or appends thousands of copies of one of its entries: the inputs whose cost or
 * sums a single replaced value cannot reach (two sizes of 1e308 overflow a sum; 200,000 traces
 * sharing a deep traceback cost its depth each).
 */
function fillColumn(rng: Rng, root: Json, log: string[]): void {
  const arrays = containers(root).filter((c): c is unknown[] => Array.isArray(c) && c.length > 0);
  if (arrays.length === 0) return;
  const a = rng.pick(arrays);
  if (rng.chance(0.5)) {
    const v = rng.pick(EXTREMES);
    log.push(`fill an array of ${a.length} with ${v}`);
    a.fill(v);
  } else {
    const n = 1000 + rng.int(20_000);
    const item = a[rng.int(a.length)];
    log.push(`append ${n} copies of ${describe(item)}`);
    for (let i = 0; i < n; i++) a.push(typeof item === 'object' && item !== null ? structuredCloneSafe(item) : item);
  }
}

/**
 * The numbers of a `.heapprofile` that set its cost: the interval (1e12 made unscaling scan for
 * minutes), sample sizes (distinct sizes near the interval), and many samples at the deepest node.
 */
function heapNumbers(rng: Rng, value: Json, log: string[]): void {
  const v = value as { samples?: { size?: unknown; nodeId?: unknown }[]; tracemalloc?: { samplingInterval?: unknown } };
  if (!Array.isArray(v.samples) || v.samples.length === 0) return;
  const interval = rng.pick([1e12, 1e300, 2 ** 31 - 1, 524288, 5e-324]);
  if (typeof v.tracemalloc === 'object' && v.tracemalloc !== null) v.tracemalloc.samplingInterval = interval;
  const n = 2000 + rng.int(8_000);
  const base = v.samples[0]!;
  const odd = rng.chance(0.5);
  log.push(`interval ${interval}, ${n} samples of distinct ${odd ? 'odd' : 'multiple-of-4'} sizes near it`);
  const near = Math.min(interval, 2 ** 50);
  for (let i = 1; i <= n; i++) v.samples.push({ ...base, size: odd ? near + 2 * i + 1 : near + 4 * i * 997 });
  // The counts of the extension no longer match the samples: drop them.
  if (typeof v.tracemalloc === 'object' && v.tracemalloc !== null) delete (v.tracemalloc as Record<string, unknown>).counts;
}

/** Every [container, key] of a value, the root excluded, cut at a bounded depth. */
function slots(root: Json): [Container, string | number][] {
  const out: [Container, string | number][] = [];
  const walk = (v: Json, depth: number): void => {
    if (depth > 40 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        out.push([v, i]);
        walk(v[i], depth + 1);
      }
    } else {
      for (const k of Object.keys(v)) {
        out.push([v as Record<string, unknown>, k]);
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
    }
  };
  walk(root, 0);
  return out;
}

function containers(root: Json): Container[] {
  const out: Container[] = typeof root === 'object' && root !== null ? [root as Container] : [];
  for (const [c, k] of slots(root)) {
    const v = (c as Record<string | number, unknown>)[k];
    if (typeof v === 'object' && v !== null) out.push(v as Container);
  }
  return out;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, as JSON.parse does: "__proto__" becomes a plain own key, not a prototype.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Applies one random mutation to `root` in place (or returns a replacement root); describes it in `log`. */
function mutateValue(rng: Rng, root: Json, jsOnly: boolean, log: string[]): Json {
  const all = slots(root);
  const op = rng.int(10);
  if (all.length === 0 || op === 9 && rng.chance(0.1)) {
    log.push('root := weird');
    return weird(rng, jsOnly);
  }
  const [c, k] = rng.pick(all);
  const cur = (c as Record<string | number, unknown>)[k];
  switch (op) {
    case 0: case 1: {
      const w = weird(rng, jsOnly);
      log.push(`replace ${String(k)} with ${describe(w)}`);
      if (Array.isArray(c)) c[k as number] = w;
      else setOwn(c, k as string, w);
      break;
    }
    case 2: {
      log.push(`delete ${String(k)}`);
      if (Array.isArray(c)) c.splice(k as number, 1);
      else delete c[k as string];
      break;
    }
    case 3: {
      const target = rng.pick(containers(root));
      const w = rng.chance(0.5) && Array.isArray(target) && target.length > 0 ? structuredCloneSafe(rng.pick(target)) : weird(rng, jsOnly);
      if (Array.isArray(target)) {
        const at = rng.int(target.length + 1);
        log.push(`insert ${describe(w)} at [${at}]`);
        target.splice(at, 0, w);
      } else {
        const key = rng.chance(0.3) ? rng.pick(PROTO_KEYS) : rng.pick(KNOWN_KEYS);
        log.push(`set key ${key} to ${describe(w)}`);
        setOwn(target, key, w);
      }
      break;
    }
    case 4: {
      if (typeof cur === 'number') {
        const n = rng.pick([cur + 1, cur - 1, -cur, cur * 2 ** 32, cur + 0.5, cur * 1e300, 2 ** 31 - 1, 2 ** 31, 4294967295, -1]);
        log.push(`number ${String(k)}: ${cur} -> ${n}`);
        (c as Record<string | number, unknown>)[k] = n;
      } else if (typeof cur === 'string') {
        const s = rng.pick(['', LONG, cur + cur, cur.slice(1), '\ud83d', '__proto__']);
        log.push(`string ${String(k)} -> length ${s.length}`);
        (c as Record<string | number, unknown>)[k] = s;
      }
      break;
    }
    case 5: {
      const arrays = containers(root).filter(Array.isArray) as unknown[][];
      if (arrays.length > 0) {
        const a = rng.pick(arrays);
        const n = rng.int(a.length + 1);
        log.push(`truncate an array of ${a.length} to ${n}`);
        a.length = n;
      }
      break;
    }
    case 6: {
      const arrays = containers(root).filter((x) => Array.isArray(x) && x.length > 0) as unknown[][];
      if (arrays.length > 0) {
        const a = rng.pick(arrays);
        const extra = 1 + rng.int(rng.chance(0.1) ? 5000 : 3);
        log.push(`extend an array of ${a.length} by ${extra}`);
        for (let i = 0; i < extra; i++) a.push(structuredCloneSafe(a[rng.int(a.length)]));
      }
      break;
    }
    case 7: {
      const [c2, k2] = rng.pick(all);
      const other = (c2 as Record<string | number, unknown>)[k2];
      if (other !== c && cur !== c2 && !contains(cur, c2) && !contains(other, c)) {
        log.push(`swap ${String(k)} and ${String(k2)}`);
        (c as Record<string | number, unknown>)[k] = other;
        (c2 as Record<string | number, unknown>)[k2] = cur;
      }
      break;
    }
    case 8: {
      // An array that becomes an array-like object, or an object that becomes its values.
      if (Array.isArray(cur)) {
        log.push(`array ${String(k)} -> array-like object`);
        (c as Record<string | number, unknown>)[k] = Object.assign({ length: cur.length }, cur);
      } else if (typeof cur === 'object' && cur !== null) {
        log.push(`object ${String(k)} -> array of its values`);
        (c as Record<string | number, unknown>)[k] = Object.values(cur);
      }
      break;
    }
    default: {
      const d = rng.pick([2, 50, 3000]);
      log.push(`nest ${String(k)} ${d} deep`);
      let v: unknown = cur;
      for (let i = 0; i < d; i++) v = rng.chance(0.5) ? [v] : { a: v };
      (c as Record<string | number, unknown>)[k] = v;
    }
  }
  return root;
}

/** Is `needle` inside `haystack`? Iterative: the values nest thousands of levels deep. */
function contains(haystack: unknown, needle: unknown): boolean {
  const stack = [haystack];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === needle) return true;
    if (typeof v === 'object' && v !== null) stack.push(...Object.values(v));
  }
  return false;
}

/** A copy of `v` down to a bounded depth; deeper parts are shared (the mutations make no cycles). */
function structuredCloneSafe(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || depth > 50) return v;
  if (Array.isArray(v)) return v.map((x) => structuredCloneSafe(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) setOwn(out, k, structuredCloneSafe(x, depth + 1));
  return out;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 20 ? `a string of ${v.length}` : JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  if (typeof v !== 'object' || v === null) return String(v);
  return Array.isArray(v) ? `an array of ${v.length}` : 'an object';
}

const TOKENS = [
  '{', '}', '[', ']', ',', ':', '"', '\\', '-', '0', '1e999', '-1e999', '1e-999', 'NaN', 'null', 'true', '\u0000', '\ufeff', '\ud800',
  '"__proto__":{"polluted":1},', '"constructor":{"prototype":{"polluted":1}},', '"format":"tracemalloc-snapshot",', '"version":2,',
  '"tracebackLimit":-1,', '"meta":[],', '"head":{},', '"samples":null,', '[[[[[[[[[[', ']]]]]]]]]]',
];
const NUMBER_TEXTS = ['1e999', '-1e999', '-0', '4294967296', '9007199254740993', '0.1', '-1', '1E2', '00', '+1', '.5', '1e-400', '2147483648'];
const DUP_VALUES = ['-1', 'null', '{}', '[]', '"x"', '1e999', '{"__proto__":{"polluted":1}}', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'];

/** Applies one random mutation to JSON text. */
function mutateText(rng: Rng, text: string, log: string[]): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(9)) {
    case 0: {
      const bit = 1 << rng.int(7);
      log.push(`flip bit ${bit} at ${at}`);
      if (at >= text.length) return text;
      return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ bit) + text.slice(at + 1);
    }
    case 1: {
      const n = 1 + rng.int(rng.chance(0.2) ? 200 : 8);
      log.push(`delete ${n} at ${at}`);
      return text.slice(0, at) + text.slice(at + n);
    }
    case 2: {
      const token = rng.pick(TOKENS);
      log.push(`insert ${JSON.stringify(token)} at ${at}`);
      return text.slice(0, at) + token + text.slice(at);
    }
    case 3: {
      log.push(`truncate at ${at}`);
      return text.slice(0, at);
    }
    case 4: {
      // A duplicate key after the real one: JSON.parse keeps the last.
      const key = rng.chance(0.3) ? rng.pick(PROTO_KEYS) : rng.pick(KNOWN_KEYS);
      const value = rng.pick(DUP_VALUES);
      const close = text.lastIndexOf('}');
      log.push(`duplicate key ${key}: ${value}`);
      if (close < 0) return text;
      return `${text.slice(0, close)},"${key}":${value}${text.slice(close)}`;
    }
    case 5: case 6: {
      const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g)];
      if (numbers.length === 0) return text;
      const m = rng.pick(numbers);
      const replacement = rng.chance(0.15) ? '['.repeat(10_000) + ']'.repeat(10_000) : rng.pick(NUMBER_TEXTS);
      log.push(`number ${m[0]} at ${m.index} -> ${replacement.length > 20 ? 'deep nesting' : replacement}`);
      return text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length);
    }
    case 7: {
      const strings = [...text.matchAll(/"(?:[^"\\]|\\.)*"/g)];
      if (strings.length === 0) return text;
      const m = rng.pick(strings);
      const replacement = rng.pick([`"${LONG}"`, '"__proto__"', '"constructor"', '""', '"\\ud800"', '"\\u0000"']);
      log.push(`string at ${m.index} -> ${replacement.length > 20 ? 'a long string' : replacement}`);
      return text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length);
    }
    default: {
      // Duplicate a whole key of the top level object (arrays of another group, e.g.).
      const keys = [...text.matchAll(/"([a-zA-Z]+)":/g)];
      if (keys.length === 0) return text;
      const m = rng.pick(keys);
      log.push(`insert a copy of key ${m[1]} at the start`);
      const open = text.indexOf('{');
      return open < 0 ? text : `${text.slice(0, open + 1)}"${m[1]}":${rng.pick(DUP_VALUES)},${text.slice(open + 1)}`;
    }
  }
}

function mutateBytes(rng: Rng, data: Buffer, log: string[]): Buffer {
  const out = Buffer.from(data);
  const at = rng.int(out.length);
  switch (rng.int(4)) {
    case 0:
      log.push(`gzip: flip byte ${at}`);
      out[at] = out[at]! ^ (1 + rng.int(255));
      return out;
    case 1:
      log.push(`gzip: truncate at ${at}`);
      return out.subarray(0, at);
    case 2:
      log.push('gzip: append garbage');
      return Buffer.concat([out, Buffer.from([rng.int(256), rng.int(256), 0x1f, 0x8b])]);
    default:
      log.push(`gzip: insert a byte at ${at}`);
      return Buffer.concat([out.subarray(0, at), Buffer.from([rng.int(256)]), out.subarray(at)]);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks.

interface Failure {
  target: string;
  round: number;
  mutations: string[];
  problem: string;
}

const failures: Failure[] = [];
const counts = new Map<string, { loaded: number; refused: number; reasons: Set<string> }>();
let dir: string;
let reference: Snapshot;
let protoBefore: string[];
let arrayProtoBefore: string[];

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-fuzz-'));
  reference = baseSnapshots()[0]!;
  protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  arrayProtoBefore = Object.getOwnPropertyNames(Array.prototype).sort();
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  tracemalloc.setSourceReader(null);
});

/** Uses a snapshot the way reports and exporters do; any throw here is a bug. */
function exercise(s: Snapshot, heavy: boolean, textual: boolean): void {
  assert.ok(s instanceof Snapshot);
  assert.equal(Object.getPrototypeOf(s.meta), Object.prototype, 'meta is a plain object');
  for (const key of ['traceback', 'filename', 'lineno'] as const) s.statistics(key);
  s.statistics('lineno', true);
  s.statistics('filename', true);
  s.compareTo(reference, 'lineno');
  reference.compareTo(s, 'traceback');
  formatTop(s, { limit: 3 });
  for (const trace of s.traces.slice(0, 20)) {
    String(trace);
    inspect(trace);
    trace.traceback.format(5, true);
  }
  // Values that came from JSON text must survive JSON again (dump, the HTTP route, the CLI);
  // other JavaScript values a caller put in `meta` are the caller's.
  const json = s.toJSON();
  const again = Snapshot.fromJSON(textual ? JSON.parse(JSON.stringify(json)) as unknown : json);
  assert.equal(again.traces.length, s.traces.length, 'a toJSON/fromJSON round trip keeps the traces');
  if (heavy) {
    toPprof(s);
    const profile = toHeapProfile(s);
    snapshotFromHeapProfile(textual ? heapProfileToText(profile) : profile);
    renderHtmlReport(s, { diffFrom: reference, maxStacks: 50 });
  }
}

/** Runs one input: `read` must give a working snapshot or a SnapshotFormatError named `where`. */
function check(target: string, round: number, mutations: string[], where: string, read: () => Snapshot, textual = true): void {
  const tally = counts.get(target) ?? { loaded: 0, refused: 0, reasons: new Set<string>() };
  counts.set(target, tally);
  let snapshot: Snapshot;
  const started = performance.now();
  const slow = (what: string): void => {
    const ms = performance.now() - started;
    if (ms > MAX_INPUT_MS) failures.push({ target, round, mutations, problem: `${what} took ${Math.round(ms)} ms, over ${MAX_INPUT_MS} ms` });
  };
  try {
    snapshot = read();
  } catch (err) {
    slow('refusing it');
    tally.refused++;
    if (err instanceof Error) tally.reasons.add(err.message.slice(where.length).replace(/-?\d+(\.\d+)?(e[-+]?\d+)?|"[^"]*"|\([^)]*\)/g, '#'));
    const ok = err instanceof SnapshotFormatError &&
      (err as { code?: unknown }).code === 'ERR_TRACEMALLOC_BAD_SNAPSHOT' &&
      err.message.startsWith(`${where}: `) &&
      err.message.length <= MAX_MESSAGE;
    if (!ok) {
      const text = err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}${err.message.length > 300 ? `… (${err.message.length} chars)` : ''}\n${err.stack?.split('\n').slice(1, 4).join('\n')}` : inspect(err);
      failures.push({ target, round, mutations, problem: `refused with ${text}` });
    }
    return;
  }
  tally.loaded++;
  try {
    exercise(snapshot, round % 10 === 0, textual);
    slow('loading and using it');
  } catch (err) {
    failures.push({ target, round, mutations, problem: `loaded, then failed: ${err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}\n${err.stack?.split('\n').slice(1, 4).join('\n')}` : inspect(err)}` });
  }
}

function reportFailures(t: { diagnostic(message: string): void }): void {
  for (const [target, c] of counts) t.diagnostic(`${target}: ${c.loaded} loaded, ${c.refused} refused for ${c.reasons.size} different reasons`);
  const mine = failures.splice(0);
  const shown = mine.slice(0, 8).map((x) => `[${x.target} round ${x.round}, seed ${SEED}] ${x.mutations.join('; ')}\n  ${x.problem}`);
  assert.equal(mine.length, 0, `${mine.length} inputs broke the reader:\n${shown.join('\n')}`);
}

function assertNoPollution(): void {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoBefore, 'Object.prototype is unchanged');
  assert.deepEqual(Object.getOwnPropertyNames(Array.prototype).sort(), arrayProtoBefore, 'Array.prototype is unchanged');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(([] as unknown as Record<string, unknown>).polluted, undefined);
}

/** The base snapshots as file JSON texts, with source lines captured (as a live dump has them). */
function baseTexts(): string[] {
  const previous = tracemalloc.setSourceReader((file, line) => (line % 2 === 1 ? `  const v${line} = load('${file}');` : ''));
  try {
    return baseSnapshots().map((s) => JSON.stringify(s.toJSON()));
  } finally {
    tracemalloc.setSourceReader(previous);
  }
}

// ---------------------------------------------------------------------------------------------

test('Snapshot.load on mutated snapshot files (JSON text) loads or refuses with a SnapshotFormatError naming the file', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED);
  const texts = baseTexts();
  const file = path.join(dir, 'mutated.json');
  for (let round = 0; round < ROUNDS.fileText; round++) {
    const log: string[] = [];
    let text = rng.pick(texts);
    for (let m = 1 + rng.int(3); m > 0; m--) text = mutateText(rng, text, log);
    if (text.length === 0) text = rng.pick(['', ' ']); // the empty file is a case of its own
    fs.writeFileSync(file, text);
    check('file text', round, log, file, () => Snapshot.load(file));
  }
  assertNoPollution();
  reportFailures(t);
});

test('Snapshot.load on mutated gzip files, and on gzip bombs over maxBytes', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 1);
  const texts = baseTexts();
  const file = path.join(dir, 'mutated.json.gz');
  for (let round = 0; round < ROUNDS.fileGzip; round++) {
    const log: string[] = [];
    let text = rng.pick(texts);
    let data: Buffer;
    let options: tracemalloc.LoadOptions | undefined;
    switch (round % 4) {
      case 0: // valid gzip of mutated JSON
        for (let m = 1 + rng.int(3); m > 0; m--) text = mutateText(rng, text, log);
        data = zlib.gzipSync(text);
        break;
      case 1: // mutated gzip bytes of valid JSON
        data = zlib.gzipSync(text);
        for (let m = 1 + rng.int(2); m > 0; m--) data = mutateBytes(rng, data, log);
        break;
      case 2: { // a bomb: more than maxBytes once decompressed
        const pad = 1 << (16 + rng.int(6));
        options = { maxBytes: text.length + rng.int(pad) };
        log.push(`bomb: ${pad} bytes of padding, maxBytes ${options.maxBytes}`);
        data = zlib.gzipSync(text.replace(/}$/, `${' '.repeat(pad)}}`));
        break;
      }
      default: { // several gzip members, or gzip inside gzip
        const cut = rng.int(text.length);
        if (rng.chance(0.5)) {
          log.push(`two gzip members cut at ${cut}`);
          data = Buffer.concat([zlib.gzipSync(text.slice(0, cut)), zlib.gzipSync(text.slice(cut))]);
        } else {
          log.push('gzip of gzip');
          data = zlib.gzipSync(zlib.gzipSync(text));
        }
      }
    }
    fs.writeFileSync(file, data);
    check('file gzip', round, log, file, () => Snapshot.load(file, options));
  }
  assertNoPollution();
  reportFailures(t);
});

test('Snapshot.fromJSON on mutated values (JSON types and other JavaScript values) builds or refuses', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 2);
  const values = baseTexts();
  for (let round = 0; round < ROUNDS.value; round++) {
    const log: string[] = [];
    let value = JSON.parse(rng.pick(values)) as Json;
    for (let m = 1 + rng.int(3); m > 0; m--) value = mutateValue(rng, value, true, log);
    check('fromJSON value', round, log, 'the JSON value', () => Snapshot.fromJSON(value), false);
  }
  assertNoPollution();
  reportFailures(t);
});

/** The valid heap profiles: toHeapProfile of each base snapshot, a node --heap-prof file, an old one. */
test('Snapshot.fromJSON on whole columns of extreme numbers and thousands of copied entries', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 7);
  const values = baseTexts();
  for (let round = 0; round < ROUNDS.columns; round++) {
    const log: string[] = [];
    const value = JSON.parse(rng.pick(values)) as Json;
    for (let m = 1 + rng.int(2); m > 0; m--) fillColumn(rng, value, log);
    check('fromJSON columns', round, log, 'the JSON value', () => Snapshot.fromJSON(value), false);
  }
  assertNoPollution();
  reportFailures(t);
});

function heapTexts(): string[] {
  return [...baseSnapshots().map((s) => JSON.stringify(toHeapProfile(s))), JSON.stringify(nodeHeapProf()), JSON.stringify(oldHeapProf())];
}

test('snapshotFromHeapProfile on mutated .heapprofile text builds or refuses with a SnapshotFormatError', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 3);
  const texts = heapTexts();
  for (let round = 0; round < ROUNDS.heapText; round++) {
    const log: string[] = [];
    let text = rng.pick(texts);
    for (let m = 1 + rng.int(3); m > 0; m--) text = mutateText(rng, text, log);
    check('heapprofile text', round, log, 'the heap profile', () => snapshotFromHeapProfile(text));
  }
  assertNoPollution();
  reportFailures(t);
});

test('snapshotFromHeapProfile on mutated .heapprofile values (deep trees, duplicate ids, wrong types)', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 4);
  const texts = heapTexts();
  for (let round = 0; round < ROUNDS.heapValue; round++) {
    const log: string[] = [];
    let value = JSON.parse(rng.pick(texts)) as Json;
    if (round % 50 === 0) {
      // A legitimately deep call tree: one chain of 3000 nodes under the root.
      const head = (value as { head?: { children?: unknown[] } }).head;
      if (head?.children !== undefined) {
        let node = { callFrame: { functionName: 'f', url: '/srv/deep.js', lineNumber: 1, columnNumber: 0, scriptId: '9' }, selfSize: 0, id: 100_000, children: [] as unknown[] };
        const top = node;
        for (let i = 1; i < 3000; i++) {
          const child = { callFrame: { ...node.callFrame, lineNumber: i }, selfSize: 0, id: 100_000 + i, children: [] as unknown[] };
          node.children.push(child);
          node = child;
        }
        head.children.push(top);
        (value as { samples?: unknown[] }).samples?.push({ size: 4096, nodeId: node.id, ordinal: 99 });
        log.push('a chain of 3000 nodes');
      }
    }
    for (let m = 1 + rng.int(3); m > 0; m--) value = mutateValue(rng, value, true, log);
    check('heapprofile value', round, log, 'the heap profile', () => snapshotFromHeapProfile(value), false);
  }
  assertNoPollution();
  reportFailures(t);
});

test('snapshotFromHeapProfile on crafted intervals, sample sizes and sample counts stays bounded', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 8);
  const texts = heapTexts();
  for (let round = 0; round < ROUNDS.heapNumbers; round++) {
    const log: string[] = [];
    const value = JSON.parse(rng.pick(texts)) as Json;
    heapNumbers(rng, value, log);
    if (rng.chance(0.3)) fillColumn(rng, value, log);
    check('heapprofile numbers', round, log, 'the heap profile', () => snapshotFromHeapProfile(value), false);
  }
  assertNoPollution();
  reportFailures(t);
});

test('the CLI reader of .heapprofile files (JSON and gzip) refuses bad files naming the file', { timeout: TIMEOUT_MS }, (t) => {
  failures.length = 0;
  counts.clear();
  const rng = new Rng(SEED + 5);
  const texts = heapTexts();
  for (let round = 0; round < ROUNDS.heapFile; round++) {
    const log: string[] = [];
    let text = rng.pick(texts);
    for (let m = 1 + rng.int(2); m > 0; m--) text = mutateText(rng, text, log);
    const gz = round % 3 === 0;
    const file = path.join(dir, gz ? 'mutated.heapprofile.gz' : 'mutated.heapprofile');
    let data: Buffer = gz ? zlib.gzipSync(text) : Buffer.from(text);
    if (gz && rng.chance(0.3)) data = mutateBytes(rng, data, log);
    fs.writeFileSync(file, data);
    const maxBytes = rng.chance(0.2) ? 1 + rng.int(text.length) : undefined;
    if (maxBytes !== undefined) log.push(`maxBytes ${maxBytes}`);
    check('heapprofile file', round, log, file, () => readHeapProfile(file, maxBytes === undefined ? {} : { maxBytes }));
  }
  assertNoPollution();
  reportFailures(t);
});

/** `.heapprofile` text of one chain of `depth` nodes under the root, with a sample at every node. */
function chainProfile(depth: number): string {
  const parts = ['{"head":{"callFrame":{"functionName":"(root)","url":"","lineNumber":-1,"columnNumber":-1,"scriptId":"0"},"selfSize":0,"id":1,"children":['];
  for (let i = 0; i < depth; i++) {
    parts.push(`{"callFrame":{"functionName":"f${i}","url":"/srv/deep.js","lineNumber":${i},"columnNumber":0,"scriptId":"9"},"selfSize":0,"id":${i + 2},"children":[`);
  }
  parts.push(']}'.repeat(depth), ']},"samples":[');
  parts.push(Array.from({ length: depth }, (_, i) => `{"size":100,"nodeId":${i + 2},"ordinal":${i + 1}}`).join(','), ']}');
  return parts.join('');
}

test('a small .heapprofile whose stacks would cost the square of its depth is refused, not run out of memory', () => {
  // 3.6 MB: a chain of 20,000 nodes with a sample at each. Read as it was, it asked for 2e8 frames
  // and V8 aborted the whole process ("Fatal JavaScript invalid size error").
  const text = chainProfile(20_000);
  assert.throws(() => snapshotFromHeapProfile(text), (err: unknown) => {
    assert.ok(err instanceof SnapshotFormatError, inspect(err));
    assert.match(err.message, /^the heap profile: its samples' call stacks hold 200010000 frames in all, more than the 16777216 this reader accepts/);
    return true;
  });
  // A deep but affordable tree still loads, every frame kept.
  const s = snapshotFromHeapProfile(chainProfile(2000));
  assert.equal(s.traces.length, 2000);
  assert.equal(s.tracebackLimit, 2000);
});

test('a .heapprofile with 20,000 domains under the root loads in linear time', () => {
  const head = { callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1, scriptId: '0' }, selfSize: 0, id: 1, children: [] as unknown[] };
  const domains: { domain: number; nodeId: number }[] = [];
  for (let i = 0; i < 20_000; i++) {
    head.children.push({ callFrame: { functionName: `(domain ${i + 1}: user)`, url: '', lineNumber: -1, columnNumber: -1, scriptId: '0' }, selfSize: 0, id: i + 2, children: [] });
    domains.push({ domain: i + 1, nodeId: i + 2 });
  }
  const profile = { head, samples: [], tracemalloc: { format: 'tracemalloc-heapprofile', version: 1, tracebackLimit: 1, samplingInterval: null, meta: {}, domains } };
  assert.equal(snapshotFromHeapProfile(profile).traces.length, 0);
});

test('meta nested deeper than 100 levels is refused: a loaded snapshot can always be dumped again', () => {
  const value = JSON.parse(baseTexts()[1]!) as Record<string, unknown>;
  value.meta = { deep: deep(101) };
  assert.throws(() => Snapshot.fromJSON(value), { name: 'SnapshotFormatError', message: 'the JSON value: "meta" nests deeper than 100 levels' });
  value.meta = { deep: deep(99) };
  const s = Snapshot.fromJSON(value);
  assert.equal(Snapshot.fromJSON(JSON.parse(JSON.stringify(s.toJSON())) as unknown).traces.length, s.traces.length);
});

test('the unmutated inputs all load (the fuzzer starts from valid files)', () => {
  for (const text of baseTexts()) exercise(Snapshot.fromJSON(JSON.parse(text) as unknown), true, true);
  for (const text of heapTexts()) exercise(snapshotFromHeapProfile(text), true, true);
});

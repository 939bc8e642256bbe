/**
 * Every public function and constructor given bad arguments: each must throw a TypeError or
 * RangeError (or the documented error) whose message names what was wrong, never crash and never
 * leak a cryptic error from deep inside. The same case list writes docs/bad-input.md: the test
 * fails when the doc is not what the code does (regenerate it with `node scripts/bad-input-doc.js`).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as tracemalloc from 'tracemalloc';
import { DEFAULT_MAX_BYTES, MAX_META_DEPTH, MAX_SNAPSHOT_FRAMES, MAX_TRACE_VALUE } from '#internal/persist';
import { MAX_PROFILE_FRAMES } from '#internal/export/heapprofile';
import { MAX_UNSCALE_STEPS } from '#internal/unscale';
import { STREAM_STALL_MS } from '#internal/write-file';
import { MAX_OBJECT_TRACEBACK_HEAP } from '#internal/object-traceback';

const {
  DomainFilter, Filter, Frame, Snapshot, Trace, Traceback, Traces, Statistic, StatisticDiff,
  createHttpHandler, fnmatch, formatSize, formatTop, getObjectTraceback, getSourceLine, getTracebackLimit, isTracing,
  registerSource, renderHtmlReport, setSourceReader, snapshotFromHeapProfile, start, startReporter, stop, takeSnapshot,
  toHeapProfile, toPprof,
} = tracemalloc;

/** The package's root (from build/test/): the cases name files relative to it. */
const PKG = path.join(__dirname, '..', '..');
process.chdir(PKG);
const DOC = path.join(PKG, 'docs', 'bad-input.md');
const REGENERATE = 'node scripts/bad-input-doc.js';
/** A JSON file that is not a snapshot, with a fixed name and size (build/ is not in git). */
const NOT_A_SNAPSHOT = 'build/not-a-snapshot.json';
fs.writeFileSync(NOT_A_SNAPSHOT, '{"name": "not a snapshot"}\n');
/** A FIFO that no process reads: dump() must refuse it, not wait or replace it. */
const NO_READER_FIFO = 'build/no-reader.fifo';
fs.rmSync(NO_READER_FIFO, { force: true });
execFileSync('mkfifo', [NO_READER_FIFO]);

/** The error every trap of HOSTILE throws: it must reach the caller unchanged. */
class HostileError extends Error {
  override name = 'HostileError';
}
const hostileHandler: ProxyHandler<object> = {};
for (const trap of ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty', 'deleteProperty'] as const) {
  (hostileHandler as Record<string, unknown>)[trap] = (_target: object, key?: unknown) => {
    throw new HostileError(`hostile Proxy: ${trap}${typeof key === 'string' ? ` "${key}"` : ''}`);
  };
}
/** A Proxy that throws on any access: what a caller gets from a broken object. */
const HOSTILE = new Proxy({}, hostileHandler) as never;

type ErrorName = 'TypeError' | 'RangeError' | 'SnapshotFormatError' | 'NotTracingError' | 'Error';

interface Case {
  /** The function, constructor or method, as the table's first column shows it. */
  api: string;
  /** The call with the bad argument, as written in code. */
  call: string;
  run: () => unknown;
  /**
   * What the caller must see: `[class, pattern]` of the error, where the pattern names what was
   * wrong; `'hostile'` when the Proxy's own error must come through unchanged; or `{ returns }`
   * for input accepted on purpose, with the reason.
   */
  expect: readonly [ErrorName, RegExp] | 'hostile' | { returns: string };
}

const snap = new Snapshot([[0, 4096, [['/srv/app.js', 3]], 1]], 1, { samplingInterval: 65536 });
const tb = new Traceback([['/srv/app.js', 3]]);
const profile = JSON.stringify(toHeapProfile(snap));

/** Runs `fn` with the tracer off, reporting (and undoing) a start that it let through. */
function offThenStart(fn: () => void): string {
  fn();
  if (!isTracing()) return 'returns without tracing';
  const limit = getTracebackLimit();
  stop();
  return `starts tracing (nframe ${limit})`;
}

/** Runs `fn` while tracing; `start(0)` must throw and leave tracing on, which this checks and undoes. */
function whileTracing(fn: () => void): void {
  start(1);
  try {
    fn();
  } finally {
    const on = isTracing();
    stop();
    assert.ok(on, 'the bad call stopped tracing');
  }
}

/** Runs `startReporter` and stops a reporter that it let through (its timer would keep running). */
function reporter(options: unknown): void {
  startReporter(options as never).stop();
}

/** `snap.toJSON()` with its `traces.size` column replaced. */
function withSizes(size: unknown[]): never {
  const json = snap.toJSON();
  return { ...json, traces: { ...json.traces, size } } as never;
}

/** `snap.toJSON()` with two traces of the given sizes. */
function withTwoTraces(size: number[]): never {
  const json = snap.toJSON();
  return { ...json, traces: { domain: [0, 0], size, count: [1, 1], traceback: [0, 0] } } as never;
}

/** `traces` traces that all share one traceback of `depth` frames. */
function sharedDeepTraceback(depth: number, traces: number): never {
  const json = snap.toJSON();
  return {
    ...json,
    frames: { filename: Array(depth).fill(0), lineno: Array.from({ length: depth }, (_, i) => i + 1), column: Array(depth).fill(0), function: Array(depth).fill(-1), source: Array(depth).fill(-1) },
    tracebacks: { offsets: [0, depth], frames: Array.from({ length: depth }, (_, i) => i), totalNframe: [depth] },
    traces: { domain: Array(traces).fill(0), size: Array(traces).fill(1), count: Array(traces).fill(1), traceback: Array(traces).fill(0) },
  } as never;
}

/** An array nested `depth` levels deep: `[[[…0…]]]`. */
function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const CASES: Case[] = [
  // --- The tracer -----------------------------------------------------------------------------
  { api: 'start(nframe?, options?)', call: "start('5')", run: () => start('5' as never), expect: ['TypeError', /number of frames must be an integer, not string/] },
  { api: 'start(nframe?, options?)', call: 'start(1.5)', run: () => start(1.5), expect: ['TypeError', /number of frames must be an integer, not 1\.5/] },
  { api: 'start(nframe?, options?)', call: 'start(NaN)', run: () => start(NaN), expect: ['TypeError', /number of frames must be an integer, not NaN/] },
  { api: 'start(nframe?, options?)', call: 'start(Infinity)', run: () => start(Infinity), expect: ['TypeError', /number of frames must be an integer, not Infinity/] },
  { api: 'start(nframe?, options?)', call: 'start(0)', run: () => start(0), expect: ['RangeError', /^the number of frames must be in range \[1; 65535\]$/] },
  { api: 'start(nframe?, options?)', call: 'start(-1)', run: () => start(-1), expect: ['RangeError', /number of frames must be in range/] },
  { api: 'start(nframe?, options?)', call: 'start(65536)', run: () => start(65536), expect: ['RangeError', /number of frames must be in range/] },
  { api: 'start(nframe?, options?)', call: 'start(2 ** 53)', run: () => start(2 ** 53), expect: ['RangeError', /number of frames must be in range/] },
  {
    api: 'start(nframe?, options?)', call: 'start(null)', run: () => offThenStart(() => start(null as never)),
    expect: ['TypeError', /number of frames must be an integer, not null/],
  },
  {
    api: 'start(nframe?, options?)', call: 'start(1, null)', run: () => offThenStart(() => start(1, null as never)),
    expect: ['TypeError', /^options must be an object, not null$/],
  },
  { api: 'start(nframe?, options?)', call: "start(1, 'fast')", run: () => offThenStart(() => start(1, 'fast' as never)), expect: ['TypeError', /^options must be an object, not string$/] },
  { api: 'start(nframe?, options?)', call: 'start(5, { nframe: 6 })', run: () => offThenStart(() => start(5, { nframe: 6 } as never)), expect: ['TypeError', /^start\(5, \{ nframe: 6 \}\) gives two different numbers of frames$/] },
  { api: 'start(nframe?, options?)', call: 'start({ nframe: 0 })', run: () => offThenStart(() => start({ nframe: 0 })), expect: ['RangeError', /^the number of frames must be in range \[1; 65535\]$/] },
  { api: 'start(nframe?, options?)', call: 'start({ samplingInterval: 0 })', run: () => offThenStart(() => start({ samplingInterval: 0 })), expect: ['RangeError', /^options\.samplingInterval must be an integer number of bytes in \[1; 2147483647\], not 0$/] },
  { api: 'start(nframe?, options?)', call: 'start({ samplingInterval: 1.5 })', run: () => offThenStart(() => start({ samplingInterval: 1.5 })), expect: ['RangeError', /^options\.samplingInterval must be an integer number of bytes in \[1; 2147483647\], not 1\.5$/] },
  { api: 'start(nframe?, options?)', call: 'start({ samplingInterval: NaN })', run: () => offThenStart(() => start({ samplingInterval: NaN })), expect: ['RangeError', /^options\.samplingInterval must be an integer number of bytes in \[1; 2147483647\], not NaN$/] },
  { api: 'start(nframe?, options?)', call: 'start({ samplingInterval: 2 ** 31 })', run: () => offThenStart(() => start({ samplingInterval: 2 ** 31 })), expect: ['RangeError', /^options\.samplingInterval must be an integer number of bytes in \[1; 2147483647\], not 2147483648$/] },
  {
    api: 'start(nframe?, options?)', call: "start({ samplingInterval: '65536' })", run: () => offThenStart(() => start({ samplingInterval: '65536' } as never)),
    expect: ['TypeError', /^options\.samplingInterval must be an integer number of bytes, not "65536"$/],
  },
  { api: 'start(nframe?, options?)', call: "start({ external: 'yes' })", run: () => offThenStart(() => start({ external: 'yes' } as never)), expect: ['TypeError', /^options\.external must be a boolean, not string$/] },
  { api: 'start(nframe?, options?)', call: 'start({ sourceMaps: 1 })', run: () => offThenStart(() => start({ sourceMaps: 1 } as never)), expect: ['TypeError', /^options\.sourceMaps must be a boolean, not number$/] },
  { api: 'start(nframe?, options?)', call: 'start({ trackAllocations: null })', run: () => offThenStart(() => start({ trackAllocations: null } as never)), expect: ['TypeError', /^options\.trackAllocations must be a boolean, not null$/] },
  { api: 'start(nframe?, options?)', call: "start({ mode: 'both' })", run: () => offThenStart(() => start({ mode: 'both' } as never)), expect: ['RangeError', /^options\.mode must be 'live' or 'allocated', not both$/] },
  {
    api: 'start(nframe?, options?)', call: 'start({ samplinginterval: 1024 })', run: () => offThenStart(() => start({ samplinginterval: 1024 } as never)),
    expect: ['TypeError', /^unknown option "samplinginterval": start\(\) takes nframe, samplingInterval, external, sourceMaps, trackAllocations, mode, snapshotGC$/],
  },
  { api: 'start(nframe?, options?)', call: 'start(HOSTILE)', run: () => offThenStart(() => start(HOSTILE)), expect: 'hostile' },
  { api: 'start(nframe?, options?)', call: 'start(0) while tracing (tracing goes on)', run: () => whileTracing(() => start(0)), expect: ['RangeError', /^the number of frames must be in range \[1; 65535\]$/] },
  { api: 'takeSnapshot()', call: 'takeSnapshot() when not tracing', run: () => takeSnapshot(), expect: ['NotTracingError', /^the tracemalloc module must be tracing memory allocations to take a snapshot$/] },
  { api: 'getObjectTraceback(obj)', call: 'getObjectTraceback(42)', run: () => getObjectTraceback(42 as never), expect: { returns: 'not an object, so no traceback (Python returns None)' } },

  // --- Frames and tracebacks ------------------------------------------------------------------
  { api: 'new Frame(filename, lineno, extra?)', call: 'new Frame(42, 1)', run: () => new Frame(42 as never, 1), expect: ['TypeError', /^filename must be a string, not number$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: 'new Frame(null, 1)', run: () => new Frame(null as never, 1), expect: ['TypeError', /^filename must be a string, not null$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: 'new Frame(HOSTILE, 1)', run: () => new Frame(HOSTILE, 1), expect: ['TypeError', /^filename must be a string, not object$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', -1)", run: () => new Frame('a.js', -1), expect: ['TypeError', /^lineno must be an integer in \[0; 2147483647\], not -1$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 1.5)", run: () => new Frame('a.js', 1.5), expect: ['TypeError', /^lineno must be an integer in \[0; 2147483647\], not 1\.5$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', NaN)", run: () => new Frame('a.js', NaN), expect: ['TypeError', /^lineno must be an integer in \[0; 2147483647\], not NaN$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', '3')", run: () => new Frame('a.js', '3' as never), expect: ['TypeError', /^lineno must be an integer in \[0; 2147483647\], not "3"$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 2 ** 31)", run: () => new Frame('a.js', 2 ** 31), expect: ['TypeError', /^lineno must be an integer in \[0; 2147483647\], not 2147483648$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 1, 'f')", run: () => new Frame('a.js', 1, 'f' as never), expect: ['TypeError', /^extra must be an object \{ column\?, functionName\? \}, not string$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 1, { column: -1 })", run: () => new Frame('a.js', 1, { column: -1 }), expect: ['TypeError', /^extra\.column must be an integer in \[0; 2147483647\] or null, not -1$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 1, { column: '7' })", run: () => new Frame('a.js', 1, { column: '7' } as never), expect: ['TypeError', /^extra\.column must be an integer in \[0; 2147483647\] or null, not "7"$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 1, { functionName: 42 })", run: () => new Frame('a.js', 1, { functionName: 42 } as never), expect: ['TypeError', /^extra\.functionName must be a string or null, not number$/] },
  { api: 'new Frame(filename, lineno, extra?)', call: "new Frame('a.js', 1, HOSTILE)", run: () => new Frame('a.js', 1, HOSTILE), expect: 'hostile' },
  { api: 'frame.compare(other)', call: 'frame.compare(null)', run: () => new Frame('a.js', 1).compare(null as never), expect: ['TypeError', /^other must be a Frame, not null$/] },
  { api: 'frame.equals(other)', call: "frame.equals('a.js:1')", run: () => new Frame('a.js', 1).equals('a.js:1'), expect: { returns: "not a Frame, so not equal (Python's `==`)" } },
  { api: 'new Traceback(frames, totalNframe?)', call: 'new Traceback(null)', run: () => new Traceback(null as never), expect: ['TypeError', /^frames must be an iterable of frames, not null$/] },
  { api: 'new Traceback(frames, totalNframe?)', call: 'new Traceback(42)', run: () => new Traceback(42 as never), expect: ['TypeError', /^frames must be an iterable of frames, not number$/] },
  { api: 'new Traceback(frames, totalNframe?)', call: "new Traceback([['a.js']])", run: () => new Traceback([['a.js']] as never), expect: ['TypeError', /^frame 0 must be a Frame or a \[filename, lineno\] pair, not Array$/] },
  { api: 'new Traceback(frames, totalNframe?)', call: "new Traceback([['a.js', -1]])", run: () => new Traceback([['a.js', -1]]), expect: ['TypeError', /^lineno must be an integer in \[0; 2147483647\], not -1$/] },
  { api: 'new Traceback(frames, totalNframe?)', call: 'new Traceback([], -1)', run: () => new Traceback([], -1), expect: ['TypeError', /^totalNframe must be an integer >= 0 or null, not -1$/] },
  { api: 'new Traceback(frames, totalNframe?)', call: "new Traceback([], '3')", run: () => new Traceback([], '3' as never), expect: ['TypeError', /^totalNframe must be an integer >= 0 or null, not "3"$/] },
  { api: 'new Traceback(frames, totalNframe?)', call: 'new Traceback(HOSTILE)', run: () => new Traceback(HOSTILE), expect: 'hostile' },
  { api: 'traceback.format(limit?, mostRecentFirst?)', call: 'tb.format(1.5)', run: () => tb.format(1.5), expect: ['TypeError', /^limit must be an integer or null, not 1\.5$/] },
  { api: 'traceback.format(limit?, mostRecentFirst?)', call: "tb.format('1')", run: () => tb.format('1' as never), expect: ['TypeError', /^limit must be an integer or null, not "1"$/] },
  { api: 'traceback.format(limit?, mostRecentFirst?)', call: "tb.format(1, 'yes')", run: () => tb.format(1, 'yes' as never), expect: ['TypeError', /^mostRecentFirst must be a boolean, not string$/] },
  { api: 'traceback.compare(other)', call: "tb.compare([['a.js', 1]])", run: () => tb.compare([['a.js', 1]] as never), expect: ['TypeError', /^other must be a Traceback, not Array$/] },
  { api: 'traceback.at(index)', call: "tb.at('x')", run: () => tb.at('x' as never), expect: { returns: 'no such frame ("not found" is a value)' } },

  // --- Traces, statistics, snapshots ----------------------------------------------------------
  { api: 'new Trace(domain, size, traceback, count?)', call: 'new Trace(-1, 10, tb)', run: () => new Trace(-1, 10, tb), expect: ['TypeError', /^domain must be an integer in \[0; 4294967295\], not -1$/] },
  { api: 'new Trace(domain, size, traceback, count?)', call: 'new Trace(0, NaN, tb)', run: () => new Trace(0, NaN, tb), expect: ['TypeError', /^size must be a finite number >= 0, not NaN$/] },
  { api: 'new Trace(domain, size, traceback, count?)', call: "new Trace(0, 10, [['a.js', 1]])", run: () => new Trace(0, 10, [['a.js', 1]] as never), expect: ['TypeError', /^traceback must be a Traceback, not Array$/] },
  { api: 'new Trace(domain, size, traceback, count?)', call: 'new Trace(0, 10, tb, -1)', run: () => new Trace(0, 10, tb, -1), expect: ['TypeError', /^count must be a finite number >= 0, not -1$/] },
  { api: 'new Traces(snapshot)', call: 'new Traces(null)', run: () => new Traces(null as never), expect: ['TypeError', /^Traces are made by Snapshot\.traces, from a Snapshot, not null$/] },
  { api: 'new Statistic(traceback, size, count)', call: "new Statistic('a.js', -5, 'x')", run: () => new Statistic('a.js' as never, -5, 'x' as never), expect: ['TypeError', /^traceback must be a Traceback, not string$/] },
  { api: 'new StatisticDiff(traceback, size, sizeDiff, count, countDiff)', call: 'new StatisticDiff(tb, NaN, 0, 1, 0)', run: () => new StatisticDiff(tb, NaN, 0, 1, 0), expect: ['TypeError', /^size must be a finite number, not NaN$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot(null, 1)', run: () => new Snapshot(null as never, 1), expect: ['TypeError', /^traces must be an iterable of raw traces, not null$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot(42, 1)', run: () => new Snapshot(42 as never, 1), expect: ['TypeError', /^traces must be an iterable of raw traces, not number$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([[0, 10]], 1)', run: () => new Snapshot([[0, 10]] as never, 1), expect: ['TypeError', /^raw trace 0 must be \[domain, size, frames, totalNframe\?, count\?\], not Array$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([[-1, 10, []]], 1)', run: () => new Snapshot([[-1, 10, []]], 1), expect: ['TypeError', /^raw trace 0: domain must be an integer in \[0; 4294967295\], not -1$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([[0, Infinity, []]], 1)', run: () => new Snapshot([[0, Infinity, []]], 1), expect: ['TypeError', /^raw trace 0: size must be a finite number >= 0, not Infinity$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: "new Snapshot([[0, '10', []]], 1)", run: () => new Snapshot([[0, '10', []]] as never, 1), expect: ['TypeError', /^raw trace 0: size must be a finite number >= 0, not "10"$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: "new Snapshot([[0, 10, 'a.js']], 1)", run: () => new Snapshot([[0, 10, 'a.js']] as never, 1), expect: ['TypeError', /^raw trace 0: frames must be an array of \[filename, lineno\], not string$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: "new Snapshot([[0, 10, [['a.js', 2 ** 31]]]], 1)", run: () => new Snapshot([[0, 10, [['a.js', 2 ** 31]]]], 1), expect: ['TypeError', /^raw trace 0: frame 0 must be \[filename: string, lineno: integer in \[0; 2147483647\]\]$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([[0, 10, [], 2 ** 31]], 1)', run: () => new Snapshot([[0, 10, [], 2 ** 31]], 1), expect: ['TypeError', /^raw trace 0: totalNframe must be an integer in \[0; 2147483647\] or null, not 2147483648$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([[0, 10, [], 1, -1]], 1)', run: () => new Snapshot([[0, 10, [], 1, -1]], 1), expect: ['TypeError', /^raw trace 0: count must be a finite number >= 0, not -1$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([], -1)', run: () => new Snapshot([], -1), expect: ['TypeError', /^tracebackLimit must be an integer in \[0; 9007199254740991\], not -1$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([], 1.5)', run: () => new Snapshot([], 1.5), expect: ['TypeError', /^tracebackLimit must be an integer in \[0; 9007199254740991\], not 1\.5$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([])', run: () => Reflect.construct(Snapshot, [[]]), expect: ['TypeError', /^tracebackLimit must be an integer in \[0; 9007199254740991\], not undefined$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([], 2 ** 53)', run: () => new Snapshot([], 2 ** 53), expect: ['TypeError', /^tracebackLimit must be an integer in \[0; 9007199254740991\], not 9007199254740992$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([], 1, null)', run: () => new Snapshot([], 1, null as never), expect: ['TypeError', /^options must be an object, not null$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([], 1, { samplingInterval: 0 })', run: () => new Snapshot([], 1, { samplingInterval: 0 }), expect: ['TypeError', /^samplingInterval must be a finite number > 0 or null, not 0$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot([], 1, { samplingInterval: Infinity })', run: () => new Snapshot([], 1, { samplingInterval: Infinity }), expect: ['TypeError', /^samplingInterval must be a finite number > 0 or null, not Infinity$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: "new Snapshot([], 1, { meta: 'x' })", run: () => new Snapshot([], 1, { meta: 'x' } as never), expect: ['TypeError', /^options\.meta must be an object, not string$/] },
  { api: 'new Snapshot(rawTraces, tracebackLimit, options?)', call: 'new Snapshot(HOSTILE, 1)', run: () => new Snapshot(HOSTILE, 1), expect: 'hostile' },
  { api: 'snapshot.statistics(keyType, cumulative?)', call: "s.statistics('foo')", run: () => snap.statistics('foo' as never), expect: ['RangeError', /^unknown key_type: 'foo'$/] },
  { api: 'snapshot.statistics(keyType, cumulative?)', call: 's.statistics(42)', run: () => snap.statistics(42 as never), expect: ['RangeError', /^unknown key_type: 42$/] },
  { api: 'snapshot.statistics(keyType, cumulative?)', call: "s.statistics('lineno', 'yes')", run: () => snap.statistics('lineno', 'yes' as never), expect: ['TypeError', /^cumulative must be a boolean, not string$/] },
  { api: 'snapshot.statistics(keyType, cumulative?)', call: "s.statistics('traceback', true)", run: () => snap.statistics('traceback', true), expect: ['RangeError', /^cumulative mode cannot by used with key type 'traceback'$/] },
  { api: 'snapshot.compareTo(old, keyType, cumulative?)', call: "s.compareTo(null, 'lineno')", run: () => snap.compareTo(null as never, 'lineno'), expect: ['TypeError', /^oldSnapshot must be a Snapshot, not null$/] },
  { api: 'snapshot.compareTo(old, keyType, cumulative?)', call: "s.compareTo(s.toJSON(), 'lineno')", run: () => snap.compareTo(snap.toJSON() as never, 'lineno'), expect: ['TypeError', /^oldSnapshot must be a Snapshot, not Object$/] },
  { api: 'snapshot.compareTo(old, keyType, cumulative?)', call: "s.compareTo(s, 'line')", run: () => snap.compareTo(snap, 'line' as never), expect: ['RangeError', /^unknown key_type: 'line'$/] },
  { api: 'snapshot.filterTraces(filters)', call: "s.filterTraces(new Filter(true, '*'))", run: () => snap.filterTraces(new Filter(true, '*') as never), expect: ['TypeError', /^filters must be a list of filters, not Filter$/] },
  { api: 'snapshot.filterTraces(filters)', call: "s.filterTraces('*.js')", run: () => snap.filterTraces('*.js' as never), expect: ['TypeError', /^filters must be a list of filters, not string$/] },
  { api: 'snapshot.filterTraces(filters)', call: "s.filterTraces([{ inclusive: true, filenamePattern: '*' }])", run: () => snap.filterTraces([{ inclusive: true, filenamePattern: '*' }] as never), expect: ['TypeError', /^filters\[0\] must be a Filter or a DomainFilter, not Object$/] },
  { api: 'snapshot.dump(path)', call: "s.dump('')", run: () => snap.dump(''), expect: ['TypeError', /^dump\(\) needs a file path \(a non-empty string\)$/] },
  { api: 'snapshot.dump(path)', call: 's.dump(42)', run: () => snap.dump(42 as never), expect: ['TypeError', /^dump\(\) needs a file path \(a non-empty string\)$/] },
  { api: 'snapshot.dump(path)', call: "s.dump('no-such-dir/out.json')", run: () => snap.dump('no-such-dir/out.json'), expect: ['Error', /^ENOENT: no such file or directory, dump 'no-such-dir\/out\.json'$/] },
  { api: 'snapshot.dump(path)', call: "s.dump('build')", run: () => snap.dump('build'), expect: ['Error', /^EISDIR: illegal operation on a directory, dump 'build'$/] },
  {
    api: 'snapshot.dump(path)', call: "s.dump('build/no-reader.fifo')", run: () => snap.dump(NO_READER_FIFO),
    expect: ['Error', /^ENXIO: no process is reading this FIFO \(dump\(\) does not wait for one\), dump 'build\/no-reader\.fifo'$/],
  },

  // --- Snapshot files and JSON ----------------------------------------------------------------
  { api: 'Snapshot.load(path, options?)', call: "Snapshot.load('')", run: () => Snapshot.load(''), expect: ['TypeError', /^load\(\) needs a file path \(a non-empty string\)$/] },
  { api: 'Snapshot.load(path, options?)', call: 'Snapshot.load(null)', run: () => Snapshot.load(null as never), expect: ['TypeError', /^load\(\) needs a file path \(a non-empty string\)$/] },
  { api: 'Snapshot.load(path, options?)', call: "Snapshot.load('no-such-dir/missing.json')", run: () => Snapshot.load('no-such-dir/missing.json'), expect: ['SnapshotFormatError', /^no-such-dir\/missing\.json: no such file$/] },
  { api: 'Snapshot.load(path, options?)', call: "Snapshot.load('.')", run: () => Snapshot.load('.'), expect: ['SnapshotFormatError', /^\.: not a regular file$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}')`, run: () => Snapshot.load(NOT_A_SNAPSHOT), expect: ['SnapshotFormatError', /^build\/not-a-snapshot\.json: not a tracemalloc snapshot \(format is missing, expected "tracemalloc-snapshot"\)$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}', null)`, run: () => Snapshot.load(NOT_A_SNAPSHOT, null as never), expect: ['TypeError', /^load\(\) options must be an object$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}', { maxBytes: 0 })`, run: () => Snapshot.load(NOT_A_SNAPSHOT, { maxBytes: 0 }), expect: ['TypeError', /^maxBytes must be an integer number of bytes in \[1; \d+\], not 0$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}', { maxBytes: Infinity })`, run: () => Snapshot.load(NOT_A_SNAPSHOT, { maxBytes: Infinity }), expect: ['TypeError', /^maxBytes must be an integer number of bytes in \[1; \d+\], not Infinity$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}', { maxBytes: '1e6' })`, run: () => Snapshot.load(NOT_A_SNAPSHOT, { maxBytes: '1e6' } as never), expect: ['TypeError', /^maxBytes must be an integer number of bytes in \[1; \d+\], not "1e6"$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}', { maxFrames: 0.5 })`, run: () => Snapshot.load(NOT_A_SNAPSHOT, { maxFrames: 0.5 }), expect: ['TypeError', /^maxFrames must be an integer number of frames >= 1, not 0\.5$/] },
  { api: 'Snapshot.load(path, options?)', call: `Snapshot.load('${NOT_A_SNAPSHOT}', { maxBytes: 10 })`, run: () => Snapshot.load(NOT_A_SNAPSHOT, { maxBytes: 10 }), expect: ['SnapshotFormatError', /^build\/not-a-snapshot\.json: the file is 27 bytes, over the limit of 10 bytes \(LoadOptions\.maxBytes\)$/] },
  { api: 'Snapshot.fromJSON(value)', call: 'Snapshot.fromJSON(null)', run: () => Snapshot.fromJSON(null as never), expect: ['SnapshotFormatError', /^the JSON value: not a tracemalloc snapshot \(expected a JSON object\)$/] },
  { api: 'Snapshot.fromJSON(value)', call: "Snapshot.fromJSON('{}')", run: () => Snapshot.fromJSON('{}' as never), expect: ['SnapshotFormatError', /^the JSON value: not a tracemalloc snapshot \(expected a JSON object\)$/] },
  {
    api: 'Snapshot.fromJSON(value)', call: "Snapshot.fromJSON({ format: 'x'.repeat(1e6) })", run: () => Snapshot.fromJSON({ format: 'x'.repeat(1e6) } as never),
    expect: ['SnapshotFormatError', /^the JSON value: not a tracemalloc snapshot \(format is "x{64}"… \(1000000 characters\), expected "tracemalloc-snapshot"\)$/],
  },
  {
    api: 'Snapshot.fromJSON(value)', call: '{ ...s.toJSON(), version: 2 }', run: () => Snapshot.fromJSON({ ...snap.toJSON(), version: 2 } as never),
    expect: ['SnapshotFormatError', /^the JSON value: written in format version 2, newer than this reader's version 1; upgrade tracemalloc to read it$/],
  },
  { api: 'Snapshot.fromJSON(value)', call: 'traces.size = [10n]', run: () => Snapshot.fromJSON(withSizes([10n])), expect: ['SnapshotFormatError', /^the JSON value: "traces\.size\[0\]" must be a finite number >= 0 and <= 9007199254740991, not 10n$/] },
  { api: 'Snapshot.fromJSON(value)', call: 'traces.size = [[[…100,000 levels…]]]', run: () => Snapshot.fromJSON(withSizes([nested(100_000)])), expect: ['SnapshotFormatError', /^the JSON value: "traces\.size\[0\]" must be a finite number >= 0 and <= 9007199254740991, not Array$/] },
  { api: 'Snapshot.fromJSON(value)', call: 'traces.size = [1e308]', run: () => Snapshot.fromJSON(withSizes([1e308])), expect: ['SnapshotFormatError', /^the JSON value: "traces\.size\[0\]" must be a finite number >= 0 and <= 9007199254740991, not 1e\+308$/] },
  {
    api: 'Snapshot.fromJSON(value)', call: 'traces.size = [2 ** 52, 2 ** 52]', run: () => Snapshot.fromJSON(withTwoTraces([2 ** 52, 2 ** 52])),
    expect: ['SnapshotFormatError', /^the JSON value: the trace sizes add up to 9007199254740992 bytes, more than 9007199254740991 \(2\^53 - 1\)$/],
  },
  {
    api: 'Snapshot.fromJSON(value)', call: '20,000 traces sharing a 5,000-frame traceback', run: () => Snapshot.fromJSON(sharedDeepTraceback(5000, 20_000)),
    expect: ['SnapshotFormatError', /^the JSON value: its traces hold 100000000 frames in all \(each trace counts its traceback's frames\), more than the 67108864 this reader accepts \(LoadOptions\.maxFrames\)$/],
  },
  { api: 'Snapshot.fromJSON(value)', call: 'Snapshot.fromJSON(HOSTILE)', run: () => Snapshot.fromJSON(HOSTILE), expect: 'hostile' },

  // --- Filters --------------------------------------------------------------------------------
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: "new Filter('yes', '*')", run: () => new Filter('yes' as never, '*'), expect: ['TypeError', /^inclusive must be a boolean, not string$/] },
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: 'new Filter(true, /a/)', run: () => new Filter(true, /a/ as never), expect: ['TypeError', /^filenamePattern must be a string, not RegExp$/] },
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: 'new Filter(true, HOSTILE)', run: () => new Filter(true, HOSTILE), expect: ['TypeError', /^filenamePattern must be a string, not object$/] },
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: "new Filter(true, '*', -1)", run: () => new Filter(true, '*', -1), expect: ['TypeError', /^lineno must be an integer >= 0 or null, not -1$/] },
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: "new Filter(true, '*', '3')", run: () => new Filter(true, '*', '3' as never), expect: ['TypeError', /^lineno must be an integer >= 0 or null, not "3"$/] },
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: "new Filter(true, '*', null, 1)", run: () => new Filter(true, '*', null, 1 as never), expect: ['TypeError', /^allFrames must be a boolean, not number$/] },
  { api: 'new Filter(inclusive, filenamePattern, lineno?, allFrames?, domain?)', call: "new Filter(true, '*', null, false, 2 ** 32)", run: () => new Filter(true, '*', null, false, 2 ** 32), expect: ['TypeError', /^domain must be an integer in \[0; 4294967295\] or null, not 4294967296$/] },
  { api: 'filter.lineno = value', call: "filter.lineno = 'x'", run: () => { new Filter(true, '*').lineno = 'x' as never; }, expect: ['TypeError', /^lineno must be an integer >= 0 or null, not "x"$/] },
  { api: 'filter.allFrames = value', call: "filter.allFrames = 'yes'", run: () => { new Filter(true, '*').allFrames = 'yes' as never; }, expect: ['TypeError', /^allFrames must be a boolean, not string$/] },
  { api: 'filter.filenamePattern = value', call: "filter.filenamePattern = '*.ts'", run: () => { new Filter(true, '*').filenamePattern = '*.ts'; }, expect: ['TypeError', /^Filter's filenamePattern is read-only$/] },
  { api: 'new DomainFilter(inclusive, domain)', call: 'new DomainFilter(1, 0)', run: () => new DomainFilter(1 as never, 0), expect: ['TypeError', /^inclusive must be a boolean, not number$/] },
  { api: 'new DomainFilter(inclusive, domain)', call: 'new DomainFilter(true, null)', run: () => new DomainFilter(true, null as never), expect: ['TypeError', /^domain must be an integer in \[0; 4294967295\], not null$/] },
  { api: 'new DomainFilter(inclusive, domain)', call: 'new DomainFilter(true, 1.5)', run: () => new DomainFilter(true, 1.5), expect: ['TypeError', /^domain must be an integer in \[0; 4294967295\], not 1\.5$/] },
  { api: 'domainFilter.inclusive = value', call: "domainFilter.inclusive = 'no'", run: () => { new DomainFilter(true, 0).inclusive = 'no' as never; }, expect: ['TypeError', /^inclusive must be a boolean, not string$/] },
  { api: 'domainFilter.domain = value', call: 'domainFilter.domain = 2', run: () => { new DomainFilter(true, 0).domain = 2; }, expect: ['TypeError', /^DomainFilter's domain is read-only$/] },

  // --- Formatting and sources -----------------------------------------------------------------
  { api: 'formatSize(size, sign?)', call: "formatSize('10')", run: () => formatSize('10' as never), expect: ['TypeError', /^size must be a number, not string$/] },
  { api: 'formatSize(size, sign?)', call: 'formatSize(NaN)', run: () => formatSize(NaN), expect: ['TypeError', /^size must be a number, not NaN$/] },
  { api: 'formatSize(size, sign?)', call: 'formatSize(10n)', run: () => formatSize(10n as never), expect: ['TypeError', /^size must be a number, not bigint$/] },
  { api: 'formatSize(size, sign?)', call: 'formatSize(HOSTILE)', run: () => formatSize(HOSTILE), expect: ['TypeError', /^size must be a number, not object$/] },
  { api: 'formatSize(size, sign?)', call: "formatSize(10, 'yes')", run: () => formatSize(10, 'yes' as never), expect: ['TypeError', /^sign must be a boolean, not string$/] },
  { api: 'formatSize(size, sign?)', call: 'formatSize(Infinity)', run: () => formatSize(Infinity), expect: { returns: "Python's `_format_size(float('inf'))`" } },
  { api: 'formatTop(snapshot, options?)', call: 'formatTop(null)', run: () => formatTop(null as never), expect: ['TypeError', /^snapshot must be a Snapshot, not null$/] },
  { api: 'formatTop(snapshot, options?)', call: 'formatTop(s, 5)', run: () => formatTop(snap, 5 as never), expect: ['TypeError', /^options must be an object, not number$/] },
  { api: 'formatTop(snapshot, options?)', call: 'formatTop(s, { limit: -1 })', run: () => formatTop(snap, { limit: -1 }), expect: ['TypeError', /^limit must be an integer >= 0, not -1$/] },
  { api: 'formatTop(snapshot, options?)', call: "formatTop(s, { limit: '5' })", run: () => formatTop(snap, { limit: '5' } as never), expect: ['TypeError', /^limit must be an integer >= 0, not string$/] },
  { api: 'formatTop(snapshot, options?)', call: "formatTop(s, { keyType: 'foo' })", run: () => formatTop(snap, { keyType: 'foo' } as never), expect: ['RangeError', /^unknown key_type: 'foo'$/] },
  { api: 'formatTop(snapshot, options?)', call: "formatTop(s, { cumulative: 'yes' })", run: () => formatTop(snap, { cumulative: 'yes' } as never), expect: ['TypeError', /^cumulative must be a boolean, not string$/] },
  { api: 'fnmatch(name, pattern)', call: "fnmatch(null, '*')", run: () => fnmatch(null as never, '*'), expect: ['TypeError', /^name must be a string, not null$/] },
  { api: 'fnmatch(name, pattern)', call: "fnmatch('a.js', 42)", run: () => fnmatch('a.js', 42 as never), expect: ['TypeError', /^pattern must be a string, not number$/] },
  { api: 'getSourceLine(filename, lineno)', call: "getSourceLine(42, 'x')", run: () => getSourceLine(42 as never, 'x' as never), expect: { returns: "an unknown line (Python's `linecache.getline`)" } },
  { api: 'setSourceReader(reader)', call: "setSourceReader('cat')", run: () => setSourceReader('cat' as never), expect: ['TypeError', /^the source reader must be a function \(filename, lineno\) => string, or null$/] },
  { api: 'registerSource(filename, text)', call: "registerSource('/srv/a.js', 42)", run: () => registerSource('/srv/a.js', 42 as never), expect: ['TypeError', /^text must be a string, not number$/] },
  { api: 'registerSource(filename, text)', call: "registerSource(null, 'x')", run: () => registerSource(null as never, 'x'), expect: ['TypeError', /^filename must be a string, not null$/] },

  // --- Exports --------------------------------------------------------------------------------
  { api: 'toPprof(snapshot)', call: 'toPprof(null)', run: () => toPprof(null as never), expect: ['TypeError', /^snapshot must be a Snapshot, not null$/] },
  { api: 'toPprof(snapshot)', call: 'toPprof(s.toJSON())', run: () => toPprof(snap.toJSON() as never), expect: ['TypeError', /^snapshot must be a Snapshot, not Object$/] },
  { api: 'toHeapProfile(snapshot)', call: 'toHeapProfile(undefined)', run: () => toHeapProfile(undefined as never), expect: ['TypeError', /^snapshot must be a Snapshot, not undefined$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: 'snapshotFromHeapProfile(42)', run: () => snapshotFromHeapProfile(42 as never), expect: ['SnapshotFormatError', /^the heap profile: not a heap profile \(expected a JSON object with "head" and "samples"\)$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: "snapshotFromHeapProfile('{')", run: () => snapshotFromHeapProfile('{'), expect: ['SnapshotFormatError', /^the heap profile: not valid JSON \(.+\)$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: 'snapshotFromHeapProfile(p, null)', run: () => snapshotFromHeapProfile(profile, null as never), expect: ['TypeError', /^options must be an object$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: 'snapshotFromHeapProfile(p, { nframe: 0 })', run: () => snapshotFromHeapProfile(profile, { nframe: 0 }), expect: ['TypeError', /^options\.nframe must be an integer in \[1; 65535\], not 0$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: "snapshotFromHeapProfile(p, { nframe: '5' })", run: () => snapshotFromHeapProfile(profile, { nframe: '5' } as never), expect: ['TypeError', /^options\.nframe must be an integer in \[1; 65535\], not "5"$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: 'snapshotFromHeapProfile(p, { samplingInterval: -1 })', run: () => snapshotFromHeapProfile(profile, { samplingInterval: -1 }), expect: ['TypeError', /^options\.samplingInterval must be a number of bytes > 0, not -1$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: "snapshotFromHeapProfile(p, { readSources: 'yes' })", run: () => snapshotFromHeapProfile(profile, { readSources: 'yes' } as never), expect: ['TypeError', /^options\.readSources must be a boolean$/] },
  { api: 'snapshotFromHeapProfile(json, options?)', call: 'snapshotFromHeapProfile(HOSTILE)', run: () => snapshotFromHeapProfile(HOSTILE), expect: 'hostile' },
  { api: 'renderHtmlReport(snapshot, options?)', call: 'renderHtmlReport(null)', run: () => renderHtmlReport(null as never), expect: ['TypeError', /^snapshot must be a Snapshot, not null$/] },
  { api: 'renderHtmlReport(snapshot, options?)', call: "renderHtmlReport(s, 'x')", run: () => renderHtmlReport(snap, 'x' as never), expect: ['TypeError', /^options must be an object, not string$/] },
  { api: 'renderHtmlReport(snapshot, options?)', call: 'renderHtmlReport(s, { diffFrom: {} })', run: () => renderHtmlReport(snap, { diffFrom: {} } as never), expect: ['TypeError', /^options\.diffFrom must be a Snapshot, not Object$/] },
  { api: 'renderHtmlReport(snapshot, options?)', call: 'renderHtmlReport(s, { title: 42 })', run: () => renderHtmlReport(snap, { title: 42 } as never), expect: ['TypeError', /^options\.title must be a string, not number$/] },
  { api: 'renderHtmlReport(snapshot, options?)', call: 'renderHtmlReport(s, { topRows: 0 })', run: () => renderHtmlReport(snap, { topRows: 0 }), expect: ['TypeError', /^options\.topRows must be an integer >= 1, not 0$/] },
  { api: 'renderHtmlReport(snapshot, options?)', call: "renderHtmlReport(s, { maxStacks: '9' })", run: () => renderHtmlReport(snap, { maxStacks: '9' } as never), expect: ['TypeError', /^options\.maxStacks must be an integer >= 1, not "9"$/] },
  { api: 'renderHtmlReport(snapshot, options?)', call: 'renderHtmlReport(s, HOSTILE)', run: () => renderHtmlReport(snap, HOSTILE), expect: 'hostile' },

  // --- The reporter and the HTTP handler ------------------------------------------------------
  { api: 'startReporter(options?)', call: 'startReporter(null)', run: () => reporter(null), expect: ['TypeError', /^options must be an object, not null$/] },
  { api: 'startReporter(options?)', call: 'startReporter({ intervalMs: 0 })', run: () => reporter({ intervalMs: 0 }), expect: ['RangeError', /^options\.intervalMs must be a number of milliseconds in \[1; 2147483647\], not 0$/] },
  { api: 'startReporter(options?)', call: 'startReporter({ intervalMs: NaN })', run: () => reporter({ intervalMs: NaN }), expect: ['RangeError', /^options\.intervalMs must be a number of milliseconds in \[1; 2147483647\], not NaN$/] },
  { api: 'startReporter(options?)', call: 'startReporter({ intervalMs: 2 ** 31 })', run: () => reporter({ intervalMs: 2 ** 31 }), expect: ['RangeError', /^options\.intervalMs must be a number of milliseconds in \[1; 2147483647\], not 2147483648$/] },
  { api: 'startReporter(options?)', call: "startReporter({ intervalMs: '1000' })", run: () => reporter({ intervalMs: '1000' }), expect: ['TypeError', /^options\.intervalMs must be a number of milliseconds, not "1000"$/] },
  { api: 'startReporter(options?)', call: 'startReporter({ limit: -1 })', run: () => reporter({ limit: -1 }), expect: ['RangeError', /^options\.limit must be an integer >= 0, not -1$/] },
  { api: 'startReporter(options?)', call: "startReporter({ keyType: 'line' })", run: () => reporter({ keyType: 'line' }), expect: ['RangeError', /^unknown key_type: line$/] },
  { api: 'startReporter(options?)', call: "startReporter({ compareTo: 'first' })", run: () => reporter({ compareTo: 'first' }), expect: ['RangeError', /^options\.compareTo must be 'previous' or 'start', not first$/] },
  { api: 'startReporter(options?)', call: "startReporter({ log: 'console' })", run: () => reporter({ log: 'console' }), expect: ['TypeError', /^options\.log must be a function, not string$/] },
  { api: 'startReporter(options?)', call: 'startReporter(HOSTILE)', run: () => reporter(HOSTILE), expect: 'hostile' },
  { api: 'createHttpHandler(options?)', call: "createHttpHandler('x')", run: () => createHttpHandler('x' as never), expect: ['TypeError', /^options must be an object, not string$/] },
  { api: 'createHttpHandler(options?)', call: 'createHttpHandler({ prefix: 42 })', run: () => createHttpHandler({ prefix: 42 } as never), expect: ['TypeError', /^options\.prefix must be a string, not 42$/] },
  { api: 'createHttpHandler(options?)', call: "createHttpHandler({ prefix: 'debug' })", run: () => createHttpHandler({ prefix: 'debug' }), expect: ['TypeError', /^options\.prefix must start with \/, not "debug"$/] },
  { api: 'createHttpHandler(options?)', call: 'createHttpHandler({ limit: -1 })', run: () => createHttpHandler({ limit: -1 }), expect: ['RangeError', /^options\.limit must be an integer >= 0, not -1$/] },
  { api: 'createHttpHandler(options?)', call: "createHttpHandler({ limit: '5' })", run: () => createHttpHandler({ limit: '5' } as never), expect: ['TypeError', /^options\.limit must be an integer >= 0, not "5"$/] },
  { api: 'createHttpHandler(options?)', call: "createHttpHandler({ keyType: 'line' })", run: () => createHttpHandler({ keyType: 'line' } as never), expect: ['RangeError', /^unknown key_type: line$/] },
];

interface Outcome {
  threw: boolean;
  error?: unknown;
  value?: unknown;
}

/** Runs a case with the tracer off and records what the caller got. */
function runCase(c: Case): Outcome {
  if (isTracing()) stop();
  try {
    return { threw: false, value: c.run() };
  } catch (error) {
    return { threw: true, error };
  }
}

/** What `offThenStart` reports: shown as it is. */
const TRACER_OUTCOME = /^(starts tracing \(nframe \d+\)|returns without tracing)$/;

/** What the table's last column says the caller sees. */
function seen(c: Case, o: Outcome): string {
  if (!o.threw) {
    if (typeof o.value === 'string' && TRACER_OUTCOME.test(o.value)) return o.value;
    const shown = `returns \`${inspect(o.value)}\``;
    return typeof c.expect === 'object' && 'returns' in c.expect ? `${shown}: ${c.expect.returns}` : shown;
  }
  const error = o.error;
  if (!(error instanceof Error)) return `throws \`${inspect(error)}\``;
  if (error instanceof HostileError) return `the Proxy's own error, unchanged (\`${error.message}\`)`;
  // dump()'s errors name the caller's path, never its temporary file.
  const message = error.message;
  assert.ok(!message.includes('.tmp'), `an error names a temporary file: ${message}`);
  const code = (error as NodeJS.ErrnoException).code;
  return `\`${error.name}: ${message}\`${typeof code === 'string' ? ` (\`code: '${code}'\`)` : ''}`;
}

const INTRO = [
  '# What bad arguments do',
  '',
  `<!-- Generated from test/bad-input.test.ts by \`${REGENERATE}\`; the test fails when this file is out of date. Do not edit by hand. -->`,
  '',
  `A memory tracer runs inside other people's programs: a wrong argument must come back as a clear`,
  'error at the call, never as a crash or a cryptic error from deep inside. Every public function and',
  'constructor was called with the bad arguments below; the last column is exactly what the caller',
  'sees, as the test suite records it (`test/bad-input.test.ts`).',
  '',
  'The rules:',
  '',
  '- A value of the wrong type is a `TypeError`. A number out of range is a `RangeError` for the',
  `  tracer's settings (\`start\`, the reporter, the HTTP handler: where Python raises \`ValueError\`),`,
  '  and a `TypeError` in the data model, whose checks are all type checks as in Python. The message',
  '  names the argument and shows the value: strings quoted and cut at 64 characters, numbers as they',
  '  are, anything else by its type (never its content).',
  '- Untrusted content (a snapshot file, a `.heapprofile`, a value given to `fromJSON`) is refused',
  `  with a \`SnapshotFormatError\` (\`code: 'ERR_TRACEMALLOC_BAD_SNAPSHOT'\`) whose message starts with`,
  `  the file's name, or \`the JSON value\` / \`the heap profile\`; \`test/fuzz.test.ts\` checks that on`,
  '  thousands of mutated files.',
  '- An object whose property access throws (a broken `Proxy`, a getter that throws) lets its own',
  `  error through unchanged: it is the caller's error, and swallowing it would hide it. Where only`,
  `  the argument's type is needed, the message says \`object\` without touching it.`,
  `- "Not found" is a value (\`null\`, \`undefined\`, \`''\`), as in Python, not an error.`,
  '- A function without parameters (`stop`, `isTracing`, `clearTraces`, `getTracebackLimit`,',
  '  `getTracedMemory`, `resetPeak`, `getTracemallocMemory`) ignores extra arguments, as JavaScript does.',
  `- File-system errors of \`dump()\` keep Node's \`code\` (\`ENOENT\`, \`EACCES\`…) and name the path the caller`,
  '  gave, never the temporary file; a directory, a block device or socket, and a FIFO that no process',
  '  reads are refused, never replaced (docs/file-format.md says where each kind of path is written).',
  '',
  '`s` is a small snapshot, `tb` a one-frame traceback, `p` a valid `.heapprofile` text, and',
  '`HOSTILE` a `Proxy` whose every trap throws.',
  '',
];

const MiB = (n: number): string => `${n / 2 ** 20} MiB`;

/**
 * What each reader of untrusted input may cost at most, from the constants the code uses (so the
 * doc cannot drift from them). Each is tested: test/bounded-readers.test.ts, test/unscale.test.ts,
 * test/dump-targets.test.ts, test/fuzz.test.ts.
 */
const BOUNDS = [
  '## Bounds',
  '',
  'Every reader of untrusted input is bounded in time and memory; past a bound, the input is refused',
  'with an error naming it (or, for unscaling, answered by an estimate). `test/fuzz.test.ts` checks',
  `that no mutated input takes more than a few seconds.`,
  '',
  '| Input | Bound | What happens past it |',
  '|---|---|---|',
  `| snapshot file, \`.heapprofile\` file | ${MiB(DEFAULT_MAX_BYTES)} of JSON, after gunzip (\`LoadOptions.maxBytes\`) | refused before parsing; gzip stops at the limit |`,
  `| snapshot file, \`fromJSON\`, \`.heapprofile\` | ${MAX_SNAPSHOT_FRAMES} (2^26) frames in all over the traces, each trace counting its traceback (\`LoadOptions.maxFrames\`) | refused: a 2.6 MiB file of 200,000 traces sharing a 50,000-frame traceback (10^10 frames) made \`top --cumulative\` run 170 s; 2^26 frames take about a second to walk |`,
  `| trace sizes and counts | each in [0; ${MAX_TRACE_VALUE}] (2^53 - 1), and so their sums over the snapshot | refused: every sum a report makes stays finite, so a file that loads can always be displayed |`,
  `| \`meta\` | ${MAX_META_DEPTH} levels of nesting | refused (writing it back would overflow the stack) |`,
  `| \`.heapprofile\` call tree | ${MAX_PROFILE_FRAMES} (2^24) frames over the distinct sampled stacks | refused (a chain of 20,000 nodes would cost the square of its depth) |`,
  `| \`.heapprofile\` unscaling (object size and count of a sample) | about sqrt(size) steps a size, ${MAX_UNSCALE_STEPS} (2^23) steps a profile (\`MAX_UNSCALE_STEPS\`) | the remaining sizes get the continuous estimate; a profile V8 wrote stays far below (72 steps a size on average at 512 KiB) |`,
  '| deep call trees (`toHeapProfile`, `export --format heapprofile`) | none: written with an explicit stack (`heapProfileToText`), read iteratively | 65,535-frame tracebacks export and read back; `JSON.stringify(toHeapProfile(s))` itself overflows near 2,000 frames |',
  `| \`dump()\` to a FIFO or device | ${STREAM_STALL_MS / 1000} s without progress; no reader at all is refused at once | \`ETIMEDOUT\` / \`ENXIO\` naming the path |`,
  `| \`getObjectTraceback(obj)\` | ${MiB(MAX_OBJECT_TRACEBACK_HEAP)} of used heap; the heap snapshot file is read in 1 MiB chunks, never as one string | \`ERR_TRACEMALLOC_HEAP_TOO_LARGE\`. V8 builds and writes the snapshot at about 2 bytes of file per byte of heap: at 88 MiB of used heap the call peaked at 2.0 GB and took 91 s on a loaded 2-core machine (the old whole-text parse: 2.5 GB; a 300 MiB heap reached 9 GB and failed with ERR_STRING_TOO_LONG) |`,
  '',
  'Source files and source maps (`--read-sources`, `readSources`, `sourceMaps`) and the HTTP handler',
  'have their own bounds: docs/source-maps.md and docs/services.md.',
  '',
];

/** docs/bad-input.md: the prose, the bounds, then one table row per case (the function named on its first). */
function renderDoc(): string {
  const lines = [...INTRO, ...BOUNDS, '## Bad arguments', '', '| Function | Call | What the caller sees |', '|---|---|---|'];
  let api = '';
  for (const c of CASES) {
    const o = runCase(c);
    if (isTracing()) stop();
    lines.push(`| ${c.api === api ? '' : `\`${c.api}\``} | \`${c.call}\` | ${seen(c, o)} |`);
    api = c.api;
  }
  return lines.join('\n') + '\n';
}

test('every bad argument gives the documented error, naming what was wrong', () => {
  for (const c of CASES) {
    const o = runCase(c);
    const on = isTracing();
    if (on) stop();
    const what = `${c.call}: ${seen(c, o)}`;
    assert.equal(on, false, `${c.call} left tracing on`);
    if (c.expect === 'hostile') {
      assert.ok(o.threw && o.error instanceof HostileError, `${what}: expected the Proxy's own error`);
    } else if ('returns' in c.expect) {
      assert.equal(o.threw, false, `${what}: expected a value (${c.expect.returns})`);
    } else {
      const [name, pattern] = c.expect;
      assert.ok(o.threw && o.error instanceof Error, `${what}: expected ${name}: ${pattern}`);
      const error = o.error as Error;
      assert.equal(error.name, name, what);
      assert.match(error.message, pattern, what);
      if (name === 'SnapshotFormatError') assert.equal((error as NodeJS.ErrnoException).code, 'ERR_TRACEMALLOC_BAD_SNAPSHOT', what);
    }
  }
});

test('no error message is cryptic: none comes from inside JavaScript itself', () => {
  const cryptic = /is not a function|Cannot read properties|Cannot convert|is not iterable|Maximum call stack|Do not know how to serialize/;
  for (const c of CASES) {
    const o = runCase(c);
    if (isTracing()) stop();
    if (o.threw && o.error instanceof Error) assert.doesNotMatch(o.error.message, cryptic, `${c.call}: ${seen(c, o)}`);
  }
});

/**
 * The doc is written on the machines' Node (20). Two texts in it come from Node itself and differ
 * between majors: the largest buffer (`buffer.constants.MAX_LENGTH`, 2^32 on Node 20, 2^53 - 1
 * from Node 22) and V8's wording of a JSON syntax error. They are compared as placeholders, so the
 * doc test holds on every supported Node while the doc keeps Node 20's real text.
 */
function versionFree(text: string): string {
  return text
    .replace(/in \[1; \d+\]/g, 'in [1; MAX_LENGTH]')
    .replace(/not valid JSON \((?:[^()]|\([^()]*\))*\)/g, 'not valid JSON (V8\'s message)');
}

test('docs/bad-input.md is what the code does', () => {
  const written = renderDoc();
  if (process.env.BAD_INPUT_DOC === 'write') fs.writeFileSync(DOC, written);
  const current = versionFree(fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '');
  const doc = versionFree(written);
  if (current !== doc) {
    const a = current.split('\n');
    const b = doc.split('\n');
    const i = b.findIndex((line, k) => line !== a[k]);
    assert.fail(`docs/bad-input.md is out of date; run \`${REGENERATE}\`.\nFirst difference, line ${i + 1}:\n  doc:  ${a[i] ?? '(missing)'}\n  code: ${b[i]}`);
  }
});

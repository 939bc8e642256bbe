/**
 * Shared fixtures for the data-model tests: CPython's `create_snapshots()` (Lib/test/test_tracemalloc.py),
 * builders for expected statistics, and the literal tables of `_format_size` and `Traceback.format()` as CPython prints them.
 * Every expected value here is written out by hand from CPython's output, never computed by the
 * code under test.
 */
import * as assert from 'node:assert/strict';
import { inspect } from 'node:util';
import * as tracemalloc from 'tracemalloc';

type RawFrame = [filename: string, lineno: number];
export type Raw = [domain: number, size: number, frames: RawFrame[], totalNframe: number];

/** The raw traces of `snapshot` in CPython's `create_snapshots()` (frames most recent first). */
export const RAW1: readonly Raw[] = [
  [0, 10, [['a.py', 2], ['b.py', 4]], 3],
  [0, 10, [['a.py', 2], ['b.py', 4]], 3],
  [0, 10, [['a.py', 2], ['b.py', 4]], 3],
  [1, 2, [['a.py', 5], ['b.py', 4]], 3],
  [2, 66, [['b.py', 1]], 1],
  [3, 7, [['<unknown>', 0]], 1],
];

/** The raw traces of `snapshot2` in CPython's `create_snapshots()`. */
export const RAW2: readonly Raw[] = [
  [0, 10, [['a.py', 2], ['b.py', 4]], 3],
  [0, 10, [['a.py', 2], ['b.py', 4]], 3],
  [0, 10, [['a.py', 2], ['b.py', 4]], 3],
  [2, 2, [['a.py', 5], ['b.py', 4]], 3],
  [2, 5000, [['a.py', 5], ['b.py', 4]], 3],
  [4, 400, [['c.py', 578]], 1],
];

/** CPython's `create_snapshots()`: two fresh snapshots with traceback limit 2. */
export function createSnapshots(): [tracemalloc.Snapshot, tracemalloc.Snapshot] {
  return [new tracemalloc.Snapshot(RAW1, 2), new tracemalloc.Snapshot(RAW2, 2)];
}

// The named tracebacks of `create_snapshots()`, raw order (most recent first).
export const tb1: RawFrame[] = [['a.py', 2], ['b.py', 4]];
export const tb2: RawFrame[] = [['a.py', 5], ['b.py', 4]];
export const tb3: RawFrame[] = [['b.py', 1]];
export const tb4: RawFrame[] = [['<unknown>', 0]];
export const tb5: RawFrame[] = [['c.py', 578]];

/** `X:n`: a one-frame raw traceback. */
export function at(filename: string, lineno: number): RawFrame[] {
  return [[filename, lineno]];
}

/** `X` alone: the filename key, lineno 0. */
export function file(filename: string): RawFrame[] {
  return [[filename, 0]];
}

/** `S(tb, size, count)`. */
export function S(tb: RawFrame[], size: number, count: number): tracemalloc.Statistic {
  return new tracemalloc.Statistic(new tracemalloc.Traceback(tb), size, count);
}

/** `D(tb, size, sizeDiff, count, countDiff)`. */
export function D(tb: RawFrame[], size: number, sizeDiff: number, count: number, countDiff: number): tracemalloc.StatisticDiff {
  return new tracemalloc.StatisticDiff(new tracemalloc.Traceback(tb), size, sizeDiff, count, countDiff);
}

/** A traceback's frames in raw order (most recent first), as `[filename, lineno]` pairs. */
export function rawFrames(tb: Iterable<tracemalloc.Frame>): RawFrame[] {
  return Array.from(tb, (f): RawFrame => [f.filename, f.lineno]).reverse();
}

/** A trace as the raw tuple it was built from. */
export function rawTrace(trace: tracemalloc.Trace): Raw {
  return [trace.domain, trace.size, rawFrames(trace.traceback), trace.traceback.totalNframe as number];
}

/** All the traces of a snapshot as raw tuples. */
export function rawTraces(snapshot: tracemalloc.Snapshot): Raw[] {
  return Array.from(snapshot.traces, rawTrace);
}

function fieldsOf(stat: tracemalloc.Statistic | tracemalloc.StatisticDiff): unknown[] {
  const base = [stat.constructor.name, rawFrames(stat.traceback), stat.size];
  return stat instanceof tracemalloc.StatisticDiff
    ? [...base, stat.sizeDiff, stat.count, stat.countDiff]
    : [...base, stat.count];
}

/**
 * Asserts that two lists of statistics are equal, element by element, with Python's `==`
 * (`equals`). A field-by-field comparison runs first so a failure shows a readable diff.
 */
export function assertStats(
  actual: readonly (tracemalloc.Statistic | tracemalloc.StatisticDiff)[],
  expected: readonly (tracemalloc.Statistic | tracemalloc.StatisticDiff)[],
): void {
  assert.deepEqual(actual.map(fieldsOf), expected.map(fieldsOf));
  actual.forEach((stat, i) => {
    assert.ok(stat.equals(expected[i]), `statistic ${i}: ${inspect(stat)} != ${inspect(expected[i])}`);
  });
}

/** Asserts that `fn` throws an error of class `type` whose message is exactly `message`. */
export function assertThrowsExactly(fn: () => unknown, type: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected a ${type.name}, got ${inspect(err)}`);
    assert.equal((err as Error).message, message);
    return true;
  });
}

/** Runs `fn` with `reader` as the source reader, restoring the default afterwards. */
export function withSourceReader<T>(reader: tracemalloc.SourceReader, fn: () => T): T {
  tracemalloc.setSourceReader(reader);
  try {
    return fn();
  } finally {
    tracemalloc.setSourceReader(null);
  }
}

/** The stub of CPython's C14: every line reads `  <{filename}, {lineno}>`. */
export const c14Reader: tracemalloc.SourceReader = (filename, lineno) => `  <${filename}, ${lineno}>`;

/** The two lines `Traceback.format()` gives for one frame under `c14Reader`. */
export function pair(filename: string, lineno: number): string[] {
  return [`  File "${filename}", line ${lineno}`, `    <${filename}, ${lineno}>`];
}

/**
 * Python's `_format_size`, row by row: `[input, formatSize(x), formatSize(x, true)]`. A row whose sign
 * column is empty in the document gets `'+' + plain` (the stated rule for values >= 0).
 */
const KiB = 1024;
const TiB = 1024 ** 4;
export const FORMAT_SIZE_TABLE: readonly [number, string, string][] = [
  [0, '0 B', '+0 B'],
  [1, '1 B', '+1 B'],
  [99, '99 B', '+99 B'],
  [100, '100 B', '+100 B'],
  [1023, '1023 B', '+1023 B'],
  [1024, '1024 B', '+1024 B'],
  [9999, '9999 B', '+9999 B'],
  [10239, '10239 B', '+10239 B'],
  [10239.5, '10240 B', '+10240 B'],
  [10240, '10.0 KiB', '+10.0 KiB'],
  [10241, '10.0 KiB', '+10.0 KiB'],
  [10290, '10.0 KiB', '+10.0 KiB'],
  [10291, '10.0 KiB', '+10.0 KiB'],
  [10292, '10.1 KiB', '+10.1 KiB'],
  [10496, '10.2 KiB', '+10.2 KiB'],
  [10560, '10.3 KiB', '+10.3 KiB'],
  [10751, '10.5 KiB', '+10.5 KiB'],
  [10752, '10.5 KiB', '+10.5 KiB'],
  [102338.56, '99.9 KiB', '+99.9 KiB'],
  [102348.8, '100.0 KiB', '+100.0 KiB'],
  [102359.04, '100.0 KiB', '+100.0 KiB'],
  [102399, '100.0 KiB', '+100.0 KiB'],
  [102400, '100 KiB', '+100 KiB'],
  [102451, '100 KiB', '+100 KiB'],
  [1048575, '1024 KiB', '+1024 KiB'],
  [1048576, '1024 KiB', '+1024 KiB'],
  [10485759, '10240 KiB', '+10240 KiB'],
  [10485760, '10.0 MiB', '+10.0 MiB'],
  [10747904, '10.2 MiB', '+10.2 MiB'],
  [104857599, '100.0 MiB', '+100.0 MiB'],
  [104857600, '100 MiB', '+100 MiB'],
  [1073741824, '1024 MiB', '+1024 MiB'],
  [1099511627776, '1024 GiB', '+1024 GiB'],
  [99 * TiB, '99.0 TiB', '+99.0 TiB'],
  [100 * TiB, '100 TiB', '+100 TiB'],
  [10 * 1024 * TiB, '10240 TiB', '+10240 TiB'],
  [0.5, '0 B', '+0 B'],
  [1.5, '2 B', '+2 B'],
  [2.5, '2 B', '+2 B'],
  [3.5, '4 B', '+4 B'],
  [-5, '-5 B', '-5 B'],
  [-10 * KiB, '-10.0 KiB', '-10.0 KiB'],
  [-102400, '-100 KiB', '-100 KiB'],
  [-1048576, '-1024 KiB', '-1024 KiB'],
];

/**
 * Python's `Traceback.format()` for raw `(('a.py',1),('b.py',2),('c.py',3))`:
 * `[limit, frames with mostRecentFirst=false, frames with true]`, frames as `'c3'` = c.py:3.
 */
export const FORMAT_RAW: RawFrame[] = [['a.py', 1], ['b.py', 2], ['c.py', 3]];
export const FORMAT_TABLE: readonly [number | null, string[], string[]][] = [
  [null, ['c3', 'b2', 'a1'], ['a1', 'b2', 'c3']],
  [0, [], []],
  [1, ['a1'], ['a1']],
  [2, ['b2', 'a1'], ['a1', 'b2']],
  [3, ['c3', 'b2', 'a1'], ['a1', 'b2', 'c3']],
  [5, ['c3', 'b2', 'a1'], ['a1', 'b2', 'c3']],
  [-1, ['c3', 'b2'], ['b2', 'c3']],
  [-2, ['c3'], ['c3']],
  [-3, [], []],
  [-5, [], []],
];

/** The `format()` lines under `c14Reader` for frames named as in FORMAT_TABLE (`'c3'`). */
export function formatLines(names: readonly string[]): string[] {
  return names.flatMap((name) => pair(`${name[0]}.py`, Number(name.slice(1))));
}

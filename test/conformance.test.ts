/**
 * The data model against CPython's own tests: C1, C3–C19 and C21 port the cases of CPython's
 * Lib/test/test_tracemalloc.py named in brackets (same fixture, `create_snapshots()`, same expected
 * values); D1–D17 are derived from the behaviour of Lib/tracemalloc.py itself (str() of
 * statistics, cumulative grouping, reversed diffs, error messages, Python's `%.Nf` and
 * `_format_size`), each checked against CPython's output. The live cases (CPython's
 * test_create_snapshot and test_snapshot) are in tracer.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as tracemalloc from 'tracemalloc';
import {
  D, FORMAT_RAW, FORMAT_SIZE_TABLE, FORMAT_TABLE, RAW1, RAW2, S, assertStats, assertThrowsExactly, at,
  c14Reader, createSnapshots, file, formatLines, pair, rawFrames, rawTraces, tb1, tb2, tb3, tb4, tb5,
  withSourceReader, type Raw,
} from './helpers/model-fixture.js';

const { Filter, DomainFilter, Snapshot, Traceback } = tracemalloc;
type AnyFilter = tracemalloc.Filter | tracemalloc.DomainFilter;

/** Does `filterTraces([filter])` keep a one-trace snapshot with these raw frames (and domain)? */
function keeps(filter: AnyFilter, frames: [string, number][], domain = 0): boolean {
  const snapshot = new Snapshot([[domain, 1, frames, frames.length]], frames.length);
  const kept = snapshot.filterTraces([filter]).traces.length;
  assert.ok(kept === 0 || kept === 1);
  return kept === 1;
}

const strings = (stats: readonly object[]): string[] => stats.map(String);

test('C1 [TestTraceback.test_repr] Traceback inspect', () => {
  assert.equal(inspect(new Traceback([])), '<Traceback ()>');
  assert.equal(inspect(new Traceback([], 0)), '<Traceback () total_nframe=0>');
  const frames: [string, number][] = [['f1', 1], ['f2', 2]];
  assert.equal(inspect(new Traceback(frames)),
    "<Traceback (<Frame filename='f2' lineno=2>, <Frame filename='f1' lineno=1>)>");
  assert.equal(inspect(new Traceback(frames, 2)),
    "<Traceback (<Frame filename='f2' lineno=2>, <Frame filename='f1' lineno=1>) total_nframe=2>");
});

test('C3 [TestSnapshot.test_filter_traces] filterTraces with filename filters', () => {
  const [snapshot] = createSnapshots();
  const filter1 = new Filter(false, 'b.py');
  const filter2 = new Filter(true, 'a.py', 2);
  const filter3 = new Filter(true, 'a.py', 5);

  const snapshot3 = snapshot.filterTraces([filter1]);
  assert.deepEqual(rawTraces(snapshot3), [RAW1[0], RAW1[1], RAW1[2], RAW1[3], RAW1[5]]);
  assert.equal(snapshot3.tracebackLimit, 2);
  // The original snapshot is untouched.
  assert.deepEqual(rawTraces(snapshot), RAW1);

  const snapshot4 = snapshot3.filterTraces([filter2, filter3]);
  assert.deepEqual(rawTraces(snapshot4), [RAW1[0], RAW1[1], RAW1[2], RAW1[3]]);
  assert.deepEqual(rawTraces(snapshot3), [RAW1[0], RAW1[1], RAW1[2], RAW1[3], RAW1[5]]);

  // An empty list: a new snapshot with a copy of the traces.
  const snapshot5 = snapshot.filterTraces([]);
  assert.notEqual(snapshot5, snapshot);
  assert.notEqual(snapshot5.traces, snapshot.traces);
  assert.equal(snapshot5.tracebackLimit, snapshot.tracebackLimit);
  assert.deepEqual(rawTraces(snapshot5), RAW1);
  for (let i = 0; i < RAW1.length; i++) assert.ok(snapshot5.traces.at(i)!.equals(snapshot.traces.at(i)));

  assertThrowsExactly(() => snapshot.filterTraces(filter1 as unknown as AnyFilter[]), TypeError,
    'filters must be a list of filters, not Filter');
});

test('C4 [TestSnapshot.test_filter_traces_domain] filterTraces with a filename filter restricted to a domain', () => {
  const [snapshot] = createSnapshots();
  const filtered = snapshot.filterTraces([new Filter(false, 'a.py', null, false, 1)]);
  assert.deepEqual(rawTraces(filtered), [RAW1[0], RAW1[1], RAW1[2], RAW1[4], RAW1[5]]);
});

test('C5 [TestSnapshot.test_filter_traces_domain_filter] filterTraces with DomainFilter', () => {
  const [snapshot] = createSnapshots();
  assert.deepEqual(rawTraces(snapshot.filterTraces([new DomainFilter(false, 3)])), RAW1.slice(0, 5));
  assert.deepEqual(rawTraces(snapshot.filterTraces([new DomainFilter(true, 3)])), [RAW1[5]]);
});

test('C6 [TestSnapshot.test_snapshot_group_by_line] statistics lineno', () => {
  const [snapshot, snapshot2] = createSnapshots();
  assertStats(snapshot.statistics('lineno'), [
    S(at('b.py', 1), 66, 1), S(at('a.py', 2), 30, 3), S(at('<unknown>', 0), 7, 1), S(at('a.py', 5), 2, 1),
  ]);
  assertStats(snapshot2.statistics('lineno'), [
    S(at('a.py', 5), 5002, 2), S(at('c.py', 578), 400, 1), S(at('a.py', 2), 30, 3),
  ]);
  assertStats(snapshot2.compareTo(snapshot, 'lineno'), [
    D(at('a.py', 5), 5002, 5000, 2, 1),
    D(at('c.py', 578), 400, 400, 1, 1),
    D(at('b.py', 1), 0, -66, 0, -1),
    D(at('<unknown>', 0), 0, -7, 0, -1),
    D(at('a.py', 2), 30, 0, 3, 0),
  ]);
});

test('C7 [TestSnapshot.test_snapshot_group_by_file] statistics filename', () => {
  const [snapshot, snapshot2] = createSnapshots();
  assertStats(snapshot.statistics('filename'), [
    S(file('b.py'), 66, 1), S(file('a.py'), 32, 4), S(file('<unknown>'), 7, 1),
  ]);
  assertStats(snapshot2.statistics('filename'), [S(file('a.py'), 5032, 5), S(file('c.py'), 400, 1)]);
  assertStats(snapshot2.compareTo(snapshot, 'filename'), [
    D(file('a.py'), 5032, 5000, 5, 1),
    D(file('c.py'), 400, 400, 1, 1),
    D(file('b.py'), 0, -66, 0, -1),
    D(file('<unknown>'), 0, -7, 0, -1),
  ]);
});

test('C8 [TestSnapshot.test_snapshot_group_by_traceback] statistics traceback', () => {
  const [snapshot, snapshot2] = createSnapshots();
  assertStats(snapshot.statistics('traceback'), [S(tb3, 66, 1), S(tb1, 30, 3), S(tb4, 7, 1), S(tb2, 2, 1)]);
  assertStats(snapshot2.statistics('traceback'), [S(tb2, 5002, 2), S(tb5, 400, 1), S(tb1, 30, 3)]);
  assertStats(snapshot2.compareTo(snapshot, 'traceback'), [
    D(tb2, 5002, 5000, 2, 1),
    D(tb5, 400, 400, 1, 1),
    D(tb3, 0, -66, 0, -1),
    D(tb4, 0, -7, 0, -1),
    D(tb1, 30, 0, 3, 0),
  ]);
  assertThrowsExactly(() => snapshot.statistics('traceback', true), RangeError,
    "cumulative mode cannot by used with key type 'traceback'");
});

test('C9 [TestSnapshot.test_snapshot_group_by_cumulative] statistics cumulative', () => {
  const [snapshot] = createSnapshots();
  assertStats(snapshot.statistics('filename', true), [
    S(file('b.py'), 98, 5), S(file('a.py'), 32, 4), S(file('<unknown>'), 7, 1),
  ]);
  assertStats(snapshot.statistics('lineno', true), [
    S(at('b.py', 1), 66, 1), S(at('b.py', 4), 32, 4), S(at('a.py', 2), 30, 3),
    S(at('<unknown>', 0), 7, 1), S(at('a.py', 5), 2, 1),
  ]);
});

test('C10 [TestSnapshot.test_trace_format] str of Trace, Traceback and Frame', () => {
  const [snapshot] = createSnapshots();
  const trace = snapshot.traces.at(0)!;
  assert.equal(String(trace), 'b.py:4: 10 B');
  assert.equal(String(trace.traceback), 'b.py:4');
  assert.equal(String(trace.traceback.at(0)), 'b.py:4');
  assert.equal(String(trace.traceback[0]), 'b.py:4');
  assert.equal(String(snapshot.traces[0]), 'b.py:4: 10 B');
});

test('C11 [TestSnapshot.test_statistic_format] str of Statistic', () => {
  const [snapshot] = createSnapshots();
  assert.equal(String(snapshot.statistics('lineno')[0]), 'b.py:1: size=66 B, count=1, average=66 B');
});

test('C12 [TestSnapshot.test_statistic_diff_format] str of StatisticDiff', () => {
  const [snapshot, snapshot2] = createSnapshots();
  assert.equal(String(snapshot2.compareTo(snapshot, 'lineno')[0]),
    'a.py:5: size=5002 B (+5000 B), count=2 (+1), average=2501 B');
});

test('C13 [TestSnapshot.test_slices] slices of traces and tracebacks', () => {
  const [snapshot] = createSnapshots();
  const traces = snapshot.traces;
  const cases: [number | undefined, number | undefined, number[]][] = [
    [0, 2, [0, 1]],
    [undefined, undefined, [0, 1, 2, 3, 4, 5]],
    [2, undefined, [2, 3, 4, 5]],
    [-2, undefined, [4, 5]],
    [1, -1, [1, 2, 3, 4]],
    [4, 2, []],
    [-10, 1, [0]],
    [5, 10, [5]],
  ];
  for (const [start, end, indexes] of cases) {
    const slice = traces.slice(start, end);
    assert.equal(slice.length, indexes.length, `traces.slice(${start}, ${end})`);
    slice.forEach((trace, k) => assert.ok(trace.equals(traces.at(indexes[k]!)), `traces.slice(${start}, ${end})[${k}]`));
  }
  // The fixture's traces 0 and 1 are equal; 0 and 4 are not: equals() can tell them apart.
  assert.ok(!traces.at(0)!.equals(traces.at(4)));

  const traceback = snapshot.traces.at(0)!.traceback;
  const head = traceback.slice(0, 2);
  assert.equal(head.length, 2);
  assert.ok(head[0]!.equals(traceback.at(0)));
  assert.ok(head[1]!.equals(traceback.at(1)));
  assert.deepEqual(head.map(String), ['b.py:4', 'a.py:2']);
  const last = traceback.slice(-1);
  assert.equal(last.length, 1);
  assert.ok(last[0]!.equals(traceback.at(-1)));
  assert.ok(last[0]!.equals(traceback[1]));
  assert.deepEqual(traceback.slice(2), []);
});

test('C14 [TestSnapshot.test_format_traceback] Traceback.format with a stubbed source reader', () => {
  const [snapshot] = createSnapshots();
  const tb = snapshot.traces.at(0)!.traceback;
  withSourceReader(c14Reader, () => {
    assert.deepEqual(tb.format(), ['  File "b.py", line 4', '    <b.py, 4>', '  File "a.py", line 2', '    <a.py, 2>']);
    assert.deepEqual(tb.format(1), pair('a.py', 2));
    assert.deepEqual(tb.format(-1), pair('b.py', 4));
    assert.deepEqual(tb.format(null, true), [...pair('a.py', 2), ...pair('b.py', 4)]);
    assert.deepEqual(tb.format(1, true), pair('a.py', 2));
    assert.deepEqual(tb.format(-1, true), pair('b.py', 4));
  });
});

test('C15 [TestFilters.test_filter_attributes] Filter attributes', () => {
  const f = new Filter(true, 'abc');
  assert.equal(f.inclusive, true);
  assert.equal(f.filenamePattern, 'abc');
  assert.equal(f.lineno, null);
  assert.equal(f.allFrames, false);
  assert.equal(f.domain, null);

  const g = new Filter(false, 'test.py', 123, true);
  assert.equal(g.inclusive, false);
  assert.equal(g.filenamePattern, 'test.py');
  assert.equal(g.lineno, 123);
  assert.equal(g.allFrames, true);
  assert.equal(g.domain, null);

  // filenamePattern is read-only.
  assert.throws(() => {
    (f as { filenamePattern: string }).filenamePattern = 'abc2';
  }, TypeError);
  assert.equal(f.filenamePattern, 'abc');

  // The other attributes are plain properties.
  g.inclusive = true;
  g.lineno = 7;
  g.allFrames = false;
  g.domain = 3;
  assert.deepEqual([g.inclusive, g.lineno, g.allFrames, g.domain], [true, 7, false, 3]);
});

test('C16 [TestFilters.test_filter_match] Filter frame matching', () => {
  const columns: [string, number][] = [['abc', 0], ['abc', 5], ['abc', 10], ['12356', 0], ['12356', 5], ['12356', 10]];
  const T = true;
  const F = false;
  const table: [tracemalloc.Filter, boolean[]][] = [
    [new Filter(true, 'abc'), [T, T, T, F, F, F]],
    [new Filter(false, 'abc'), [F, F, F, T, T, T]],
    [new Filter(true, 'abc', 5), [F, T, F, F, F, F]],
    [new Filter(false, 'abc', 5), [T, F, T, T, T, T]],
    [new Filter(true, 'abc', 0), [T, F, F, F, F, F]],
    [new Filter(false, 'abc', 0), [F, T, T, T, T, T]],
  ];
  for (const [filter, expected] of table) {
    const actual = columns.map(([filename, lineno]) => keeps(filter, [[filename, lineno]]));
    assert.deepEqual(actual, expected, `Filter(${filter.inclusive}, 'abc', ${filter.lineno})`);
  }
});

test('C17 [TestFilters.test_filter_match_filename] Filter filename matching', () => {
  const cases: [boolean, string, string, boolean][] = [
    [true, 'abc', 'abc', true],
    [false, '12356', 'abc', true],
    [false, '<unknown>', 'abc', true],
    [true, '12356', 'abc', false],
    [true, '<unknown>', 'abc', false],
    [false, 'abc', 'abc', false],
  ];
  for (const [inclusive, filename, pattern, expected] of cases) {
    assert.equal(keeps(new Filter(inclusive, pattern), [[filename, 0]]), expected, `(${inclusive}, ${filename}, ${pattern})`);
  }
});

test('C18 [TestFilters.test_filter_match_filename_joker] fnmatch patterns (directly and through Filter)', () => {
  const cases: [string, string, boolean][] = [
    ['abc', '', false],
    ['', 'abc', false],
    ['', '', true],
    ['', '*', true],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['abc', 'def', false],
    ['abc', 'a*', true],
    ['abc', 'abc*', true],
    ['abc', 'b*', false],
    ['abc', 'abcd*', false],
    ['abc', 'a*c', true],
    ['abcdcx', 'a*cx', true],
    ['abb', 'a*c', false],
    ['abcdce', 'a*cx', false],
    ['abcde', 'a*c*e', true],
    ['abcbdefeg', 'a*bd*eg', true],
    ['abcdd', 'a*c*e', false],
    ['abcbdefef', 'a*bd*eg', false],
    // Case-sensitive, as on POSIX.
    ['aBC', 'ABc', false],
    ['aBc', 'ABc', false],
    ['aBC', 'ABC', false],
    // '/' and '\' are different characters.
    ['a/b', 'a\\b', false],
    ['a\\b', 'a/b', false],
  ];
  for (const [filename, pattern, expected] of cases) {
    assert.equal(tracemalloc.fnmatch(filename, pattern), expected, `fnmatch(${inspect(filename)}, ${inspect(pattern)})`);
    assert.equal(keeps(new Filter(true, pattern), [[filename, 0]]), expected, `Filter(true, ${inspect(pattern)}) on ${inspect(filename)}`);
  }
});

test('C19 [TestFilters.test_filter_match_trace] Filter traceback matching', () => {
  const t1: [string, number][] = [['a.py', 2], ['b.py', 3]];
  const t2: [string, number][] = [['b.py', 4], ['b.py', 5]];
  const t3: [string, number][] = [['c.py', 5], ['<unknown>', 0]];
  const u: [string, number][] = [['<unknown>', 0]];
  const T = true;
  const F = false;
  const table: [string, tracemalloc.Filter, boolean[]][] = [
    ["Filter(true,'b.py',null,true)", new Filter(true, 'b.py', null, true), [T, T, F, F]],
    ["Filter(true,'b.py')", new Filter(true, 'b.py'), [F, T, F, F]],
    ["Filter(false,'b.py',null,true)", new Filter(false, 'b.py', null, true), [F, F, T, T]],
    ["Filter(false,'b.py')", new Filter(false, 'b.py'), [T, F, T, T]],
    ["Filter(false,'<unknown>')", new Filter(false, '<unknown>'), [T, T, T, F]],
    ["Filter(true,'<unknown>',null,true)", new Filter(true, '<unknown>', null, true), [F, F, T, T]],
    ["Filter(false,'<unknown>',null,true)", new Filter(false, '<unknown>', null, true), [T, T, F, F]],
  ];
  for (const [name, filter, expected] of table) {
    assert.deepEqual([t1, t2, t3, u].map((frames) => keeps(filter, frames)), expected, name);
  }
});

test('C21 [TestSnapshot.test_snapshot_save_attr] meta survives toJSON/fromJSON and dump/load', () => {
  // The TS port keeps a `meta` object on the snapshot (not arbitrary extra properties).
  const meta = { pid: 1234, argv: ['node', 'app.js'], nested: { label: 'after warm-up', n: null } };
  const snapshot = new Snapshot(RAW1, 2, { meta });
  assert.deepEqual(snapshot.meta, meta);

  const viaJSON = Snapshot.fromJSON(JSON.parse(JSON.stringify(snapshot.toJSON())));
  assert.deepEqual(viaJSON.meta, meta);
  assert.deepEqual(rawTraces(viaJSON), RAW1);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-c21-'));
  try {
    const file = path.join(dir, 'snapshot.json');
    snapshot.dump(file);
    const loaded = Snapshot.load(file);
    assert.deepEqual(loaded.meta, meta);
    assert.deepEqual(rawTraces(loaded), RAW1);
    assert.equal(loaded.tracebackLimit, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // meta set after construction is kept too.
  const later = new Snapshot(RAW1, 2);
  later.meta.tag = 'late';
  assert.deepEqual(Snapshot.fromJSON(later.toJSON()).meta, { tag: 'late' });
});

test('D1 str of statistics traceback', () => {
  const [snapshot] = createSnapshots();
  assert.deepEqual(strings(snapshot.statistics('traceback')), [
    'b.py:1: size=66 B, count=1, average=66 B',
    'b.py:4: size=30 B, count=3, average=10 B',
    '<unknown>:0: size=7 B, count=1, average=7 B',
    'b.py:4: size=2 B, count=1, average=2 B',
  ]);
});

test('D2 str of statistics filename', () => {
  const [snapshot] = createSnapshots();
  assert.deepEqual(strings(snapshot.statistics('filename')), [
    'b.py:0: size=66 B, count=1, average=66 B',
    'a.py:0: size=32 B, count=4, average=8 B',
    '<unknown>:0: size=7 B, count=1, average=7 B',
  ]);
});

test('D3 str of statistics filename cumulative', () => {
  const [snapshot] = createSnapshots();
  assert.deepEqual(strings(snapshot.statistics('filename', true)), [
    'b.py:0: size=98 B, count=5, average=20 B',
    'a.py:0: size=32 B, count=4, average=8 B',
    '<unknown>:0: size=7 B, count=1, average=7 B',
  ]);
});

test('D4 snapshot2 statistics lineno cumulative', () => {
  const [, snapshot2] = createSnapshots();
  const stats = snapshot2.statistics('lineno', true);
  assertStats(stats, [
    S(at('b.py', 4), 5032, 5), S(at('a.py', 5), 5002, 2), S(at('c.py', 578), 400, 1), S(at('a.py', 2), 30, 3),
  ]);
  assert.deepEqual(strings(stats), [
    'b.py:4: size=5032 B, count=5, average=1006 B',
    'a.py:5: size=5002 B, count=2, average=2501 B',
    'c.py:578: size=400 B, count=1, average=400 B',
    'a.py:2: size=30 B, count=3, average=10 B',
  ]);
});

test('D5 snapshot2 statistics filename cumulative (tie broken by traceback)', () => {
  const [, snapshot2] = createSnapshots();
  const stats = snapshot2.statistics('filename', true);
  assertStats(stats, [S(file('b.py'), 5032, 5), S(file('a.py'), 5032, 5), S(file('c.py'), 400, 1)]);
  assert.deepEqual(strings(stats), [
    'b.py:0: size=5032 B, count=5, average=1006 B',
    'a.py:0: size=5032 B, count=5, average=1006 B',
    'c.py:0: size=400 B, count=1, average=400 B',
  ]);
});

test('D6 compareTo lineno cumulative', () => {
  const [snapshot, snapshot2] = createSnapshots();
  const diffs = snapshot2.compareTo(snapshot, 'lineno', true);
  assertStats(diffs, [
    D(at('b.py', 4), 5032, 5000, 5, 1),
    D(at('a.py', 5), 5002, 5000, 2, 1),
    D(at('c.py', 578), 400, 400, 1, 1),
    D(at('b.py', 1), 0, -66, 0, -1),
    D(at('<unknown>', 0), 0, -7, 0, -1),
    D(at('a.py', 2), 30, 0, 3, 0),
  ]);
  assert.deepEqual(strings(diffs), [
    'b.py:4: size=5032 B (+5000 B), count=5 (+1), average=1006 B',
    'a.py:5: size=5002 B (+5000 B), count=2 (+1), average=2501 B',
    'c.py:578: size=400 B (+400 B), count=1 (+1), average=400 B',
    'b.py:1: size=0 B (-66 B), count=0 (-1)',
    '<unknown>:0: size=0 B (-7 B), count=0 (-1)',
    'a.py:2: size=30 B (+0 B), count=3 (+0), average=10 B',
  ]);
});

test('D7 compareTo filename cumulative', () => {
  const [snapshot, snapshot2] = createSnapshots();
  const diffs = snapshot2.compareTo(snapshot, 'filename', true);
  assertStats(diffs, [
    D(file('a.py'), 5032, 5000, 5, 1),
    D(file('b.py'), 5032, 4934, 5, 0),
    D(file('c.py'), 400, 400, 1, 1),
    D(file('<unknown>'), 0, -7, 0, -1),
  ]);
  assert.deepEqual(strings(diffs), [
    'a.py:0: size=5032 B (+5000 B), count=5 (+1), average=1006 B',
    'b.py:0: size=5032 B (+4934 B), count=5 (+0), average=1006 B',
    'c.py:0: size=400 B (+400 B), count=1 (+1), average=400 B',
    '<unknown>:0: size=0 B (-7 B), count=0 (-1)',
  ]);
});

test('D8 reverse compareTo lineno', () => {
  const [snapshot, snapshot2] = createSnapshots();
  const diffs = snapshot.compareTo(snapshot2, 'lineno');
  assertStats(diffs, [
    D(at('a.py', 5), 2, -5000, 1, -1),
    D(at('c.py', 578), 0, -400, 0, -1),
    D(at('b.py', 1), 66, 66, 1, 1),
    D(at('<unknown>', 0), 7, 7, 1, 1),
    D(at('a.py', 2), 30, 0, 3, 0),
  ]);
  assert.deepEqual(strings(diffs), [
    'a.py:5: size=2 B (-5000 B), count=1 (-1), average=2 B',
    'c.py:578: size=0 B (-400 B), count=0 (-1)',
    'b.py:1: size=66 B (+66 B), count=1 (+1), average=66 B',
    '<unknown>:0: size=7 B (+7 B), count=1 (+1), average=7 B',
    'a.py:2: size=30 B (+0 B), count=3 (+0), average=10 B',
  ]);
});

test('D9 reverse compareTo filename cumulative', () => {
  const [snapshot, snapshot2] = createSnapshots();
  const diffs = snapshot.compareTo(snapshot2, 'filename', true);
  assertStats(diffs, [
    D(file('a.py'), 32, -5000, 4, -1),
    D(file('b.py'), 98, -4934, 5, 0),
    D(file('c.py'), 0, -400, 0, -1),
    D(file('<unknown>'), 7, 7, 1, 1),
  ]);
  assert.deepEqual(strings(diffs), [
    'a.py:0: size=32 B (-5000 B), count=4 (-1), average=8 B',
    'b.py:0: size=98 B (-4934 B), count=5 (+0), average=20 B',
    'c.py:0: size=0 B (-400 B), count=0 (-1)',
    '<unknown>:0: size=7 B (+7 B), count=1 (+1), average=7 B',
  ]);
});

test('D10 inspect of Trace and Traces', () => {
  const [snapshot] = createSnapshots();
  assert.equal(inspect(snapshot.traces.at(0)),
    "<Trace domain=0 size=10 B, traceback=<Traceback (<Frame filename='b.py' lineno=4>, <Frame filename='a.py' lineno=2>) total_nframe=3>>");
  assert.equal(inspect(snapshot.traces), '<Traces len=6>');
  assert.equal(String(snapshot.traces.at(5)), '<unknown>:0: 7 B');
  // The other repr() forms: Frame, Statistic and StatisticDiff, as CPython prints them.
  assert.equal(inspect(snapshot.traces.at(0)!.traceback.at(0)), "<Frame filename='b.py' lineno=4>");
  const [snap, snap2] = createSnapshots();
  assert.equal(inspect(snap.statistics('lineno')[0]),
    "<Statistic traceback=<Traceback (<Frame filename='b.py' lineno=1>,)> size=66 count=1>");
  assert.equal(inspect(snap2.compareTo(snap, 'lineno')[2]),
    "<StatisticDiff traceback=<Traceback (<Frame filename='b.py' lineno=1>,)> size=0 (-66) count=0 (-1)>");
});

test('D11 error messages', () => {
  const [snapshot, snapshot2] = createSnapshots();
  const foo = 'foo' as unknown as tracemalloc.KeyType;
  assertThrowsExactly(() => snapshot.statistics(foo), RangeError, "unknown key_type: 'foo'");
  assertThrowsExactly(() => snapshot.statistics(foo, true), RangeError, "unknown key_type: 'foo'");
  assertThrowsExactly(() => snapshot2.compareTo(snapshot, foo), RangeError, "unknown key_type: 'foo'");
  assertThrowsExactly(() => snapshot.statistics('traceback', true), RangeError,
    "cumulative mode cannot by used with key type 'traceback'");
  assertThrowsExactly(() => snapshot2.compareTo(snapshot, 'traceback', true), RangeError,
    "cumulative mode cannot by used with key type 'traceback'");
  assertThrowsExactly(() => snapshot.filterTraces(new Filter(true, 'a.py') as unknown as AnyFilter[]), TypeError,
    'filters must be a list of filters, not Filter');
  assertThrowsExactly(() => snapshot.filterTraces(new DomainFilter(true, 1) as unknown as AnyFilter[]), TypeError,
    'filters must be a list of filters, not DomainFilter');
});

test('D12 formatSize table', () => {
  for (const [input, plain, signed] of FORMAT_SIZE_TABLE) {
    assert.equal(tracemalloc.formatSize(input), plain, `formatSize(${input})`);
    assert.equal(tracemalloc.formatSize(input, true), signed, `formatSize(${input}, true)`);
  }
});

test('D13 Traceback.format table', () => {
  const tb = new Traceback(FORMAT_RAW);
  withSourceReader(c14Reader, () => {
    for (const [limit, oldestFirst, mostRecentFirst] of FORMAT_TABLE) {
      assert.deepEqual(tb.format(limit), formatLines(oldestFirst), `format(${limit})`);
      assert.deepEqual(tb.format(limit, true), formatLines(mostRecentFirst), `format(${limit}, true)`);
    }
  });
});

test('D14 cumulative statistics count a repeated line twice', () => {
  const snapshot = new Snapshot([
    [0, 10, [['a.py', 1], ['a.py', 1]], 2],
    [0, 5, [['a.py', 1], ['a.py', 9], ['b.py', 3]], 3],
  ], 3);
  // b.py:3 and a.py:9 tie on (size, count): descending traceback puts b.py first.
  assertStats(snapshot.statistics('lineno', true), [S(at('a.py', 1), 25, 3), S(at('b.py', 3), 5, 1), S(at('a.py', 9), 5, 1)]);
  assertStats(snapshot.statistics('filename', true), [S(file('a.py'), 30, 4), S(file('b.py'), 5, 1)]);
});

test('D15 tie order: descending traceback, code points and numeric lines', () => {
  const snapshot = new Snapshot([
    [0, 10, [['a.py', 2]], 1],
    [0, 10, [['A.py', 1]], 1],
    [0, 10, [['b.py', 1]], 1],
    [0, 10, [['a.py', 10]], 1],
  ], 1);
  const stats = snapshot.statistics('lineno');
  assert.deepEqual(stats.map((s) => String(s.traceback)), ['b.py:1', 'a.py:10', 'a.py:2', 'A.py:1']);
  assertStats(stats, [S(at('b.py', 1), 10, 1), S(at('a.py', 10), 10, 1), S(at('a.py', 2), 10, 1), S(at('A.py', 1), 10, 1)]);
});

test('D16 domain truth table', () => {
  const frames: [string, number][] = [['a.py', 1]];
  const table: [string, AnyFilter, boolean][] = [
    ["Filter(true,'a.py',null,false,5)", new Filter(true, 'a.py', null, false, 5), true],
    ["Filter(true,'a.py',null,false,6)", new Filter(true, 'a.py', null, false, 6), false],
    ["Filter(false,'a.py',null,false,5)", new Filter(false, 'a.py', null, false, 5), false],
    ["Filter(false,'a.py',null,false,6)", new Filter(false, 'a.py', null, false, 6), true],
    ["Filter(true,'b.py',null,false,5)", new Filter(true, 'b.py', null, false, 5), false],
    ["Filter(false,'b.py',null,false,5)", new Filter(false, 'b.py', null, false, 5), true],
    ['DomainFilter(true,5)', new DomainFilter(true, 5), true],
    ['DomainFilter(false,5)', new DomainFilter(false, 5), false],
  ];
  for (const [name, filter, expected] of table) assert.equal(keeps(filter, frames, 5), expected, name);
});

test('D17 averages round half to even, and no average at count 0', () => {
  const x3: [string, number][] = [['x.py', 3]];
  const s52 = String(S(x3, 5, 2));
  const s72 = String(S(x3, 7, 2));
  assert.ok(s52.endsWith('average=2 B'), s52);
  assert.ok(s72.endsWith('average=4 B'), s72);
  assert.equal(s52, 'x.py:3: size=5 B, count=2, average=2 B');
  assert.equal(s72, 'x.py:3: size=7 B, count=2, average=4 B');
  assert.equal(String(S(x3, 0, 0)), 'x.py:3: size=0 B, count=0');
  assert.equal(String(D(x3, 0, 0, 0, 0)), 'x.py:3: size=0 B (+0 B), count=0 (+0)');
  assert.deepEqual(rawFrames(S(x3, 0, 0).traceback), x3);
});

// Keep the fixture constants honest: RAW1/RAW2 are the literal traces of CPython's create_snapshots().
test('create_snapshots() fixture traces read back as built', () => {
  const [snapshot, snapshot2] = createSnapshots();
  assert.equal(snapshot.tracebackLimit, 2);
  assert.equal(snapshot2.tracebackLimit, 2);
  assert.deepEqual(rawTraces(snapshot), RAW1 as Raw[]);
  assert.deepEqual(rawTraces(snapshot2), RAW2 as Raw[]);
});

// Beyond the numbered cases: rules of Lib/tracemalloc.py's grouping, diff and filter code that CPython's tests do not name.

test('grouping: grouping keys ignore totalNframe, column and function name', () => {
  const { Frame } = tracemalloc;
  const frameish = (f: tracemalloc.Frame): [string, number] => f as unknown as [string, number];
  const snapshot = new Snapshot([
    [0, 10, [frameish(new Frame('a.js', 1, { column: 3, functionName: 'f' })), ['main.js', 9]], 5],
    [0, 20, [['a.js', 1], frameish(new Frame('main.js', 9, { column: 1 }))], 2],
    [0, 4, [['a.js', 1], ['main.js', 9]], null],
  ], 2);
  const both: [string, number][] = [['a.js', 1], ['main.js', 9]];
  assertStats(snapshot.statistics('traceback'), [S(both, 34, 3)]);
  assertStats(snapshot.statistics('lineno'), [S(at('a.js', 1), 34, 3)]);
  assertStats(snapshot.statistics('filename'), [S(file('a.js'), 34, 3)]);
  // A tie on (size, count): the greater traceback first.
  assertStats(snapshot.statistics('lineno', true), [S(at('main.js', 9), 34, 3), S(at('a.js', 1), 34, 3)]);
  const old = new Snapshot([[0, 4, [['a.js', 1], ['main.js', 9]], 2]], 2);
  assertStats(snapshot.compareTo(old, 'traceback'), [D(both, 34, 30, 3, 2)]);
  assertStats(snapshot.compareTo(old, 'lineno'), [D(at('a.js', 1), 34, 30, 3, 2)]);
  // The group's traceback has no totalNframe.
  assert.equal(snapshot.statistics('traceback')[0]!.traceback.totalNframe, null);
});

test('grouping: a trace stands for its count of objects', () => {
  const snapshot = new Snapshot([
    [0, 1000, [['a.js', 1]], 1, 4],
    [0, 500, [['a.js', 1]], 1, 2.5],
    [0, 700, [['b.js', 2]], 1],
  ], 1);
  assertStats(snapshot.statistics('lineno'), [S(at('a.js', 1), 1500, 6.5), S(at('b.js', 2), 700, 1)]);
});

test('diff: compareTo against an empty snapshot, and of an empty one', () => {
  const [snapshot] = createSnapshots();
  const empty = new Snapshot([], 2);
  assertStats(empty.compareTo(snapshot, 'lineno'), [
    D(at('b.py', 1), 0, -66, 0, -1),
    D(at('a.py', 2), 0, -30, 0, -3),
    D(at('<unknown>', 0), 0, -7, 0, -1),
    D(at('a.py', 5), 0, -2, 0, -1),
  ]);
  assertStats(snapshot.compareTo(empty, 'filename'), [
    D(file('b.py'), 66, 66, 1, 1),
    D(file('a.py'), 32, 32, 4, 4),
    D(file('<unknown>'), 7, 7, 1, 1),
  ]);
  assert.deepEqual(empty.statistics('traceback'), []);
  assert.deepEqual(empty.compareTo(empty, 'lineno'), []);
});

test('filter: fnmatch rules', () => {
  const cases: [string, string, boolean][] = [
    // `*` crosses `/`; `?` is one character (one code point).
    ['a/b/c.py', '*.py', true],
    ['a/b/c.py', 'a/*', true],
    ['.py', '*.py', true],
    ['a.py', '?.py', true],
    ['ab.py', '?.py', false],
    ['\u{1F600}.py', '?.py', true],
    ['a\nb', 'a*b', true],
    ['a\nb', 'a?b', true],
    // Sets, negated sets and ranges.
    ['b', '[a-c]', true],
    ['d', '[a-c]', false],
    ['d', '[!a-c]', true],
    ['b', '[!a-c]', false],
    ['-', '[a-]', true],
    ['*', '[*]', true],
    ['a', '[*]', false],
    ['?', '[?]', true],
    // `]` right after `[` or `[!` is literal.
    [']', '[]]', true],
    ['a', '[]a]', true],
    ['a', '[!]]', true],
    [']', '[!]]', false],
    // An unclosed `[` is literal.
    ['[', '[', true],
    ['[a', '[a', true],
    ['a', '[a', false],
    // No escape character: a backslash is itself.
    ['\\', '\\', true],
    ['\\a', '\\a', true],
    ['a', '\\a', false],
    ['*', '\\*', false],
    // Regular-expression specials are plain characters.
    ['a.py', 'a.py', true],
    ['axpy', 'a.py', false],
    ['a+b', 'a+b', true],
    ['aab', 'a+b', false],
    ['(x)', '(x)', true],
    ['a|b', 'a|b', true],
    ['a', 'a|b', false],
    ['$^', '$^', true],
    ['a{2}', 'a{2}', true],
    ['aa', 'a{2}', false],
    // Whole string only.
    ['xabc', 'abc', false],
    ['abcx', 'abc', false],
  ];
  for (const [filename, pattern, expected] of cases) {
    assert.equal(tracemalloc.fnmatch(filename, pattern), expected, `fnmatch(${inspect(filename)}, ${inspect(pattern)})`);
  }
});

test('filter: filterTraces keeps order, needs any inclusive and every exclusive filter', () => {
  const snapshot = new Snapshot([
    [0, 1, [['x/a.js', 1]], 1],
    [0, 2, [['x/b.js', 1]], 1],
    [1, 3, [['y/a.js', 1]], 1],
    [0, 4, [['x/a.js', 2]], 1],
    [2, 5, [['z.js', 1]], 1],
  ], 1);
  const sizes = (filters: AnyFilter[]): number[] => Array.from(snapshot.filterTraces(filters).traces, (t) => t.size);
  assert.deepEqual(sizes([new Filter(true, 'x/*'), new Filter(true, 'y/*')]), [1, 2, 3, 4]);
  assert.deepEqual(sizes([new Filter(true, 'x/*'), new Filter(false, '*/a.js')]), [2]);
  assert.deepEqual(sizes([new Filter(false, '*/a.js'), new Filter(false, 'z.js')]), [2]);
  assert.deepEqual(sizes([new Filter(true, '*a.js', 2), new DomainFilter(true, 2)]), [4, 5]);
  assert.deepEqual(sizes([new DomainFilter(false, 0), new DomainFilter(false, 1)]), [5]);
  assert.deepEqual(sizes([new Filter(true, 'nothing')]), []);
  // A generator is an iterable too.
  function* gen(): Generator<AnyFilter> {
    yield new DomainFilter(true, 1);
  }
  assert.deepEqual(sizes(Array.from(gen())), [3]);
  assert.deepEqual(Array.from(snapshot.filterTraces(gen()).traces, (t) => t.size), [3]);
});

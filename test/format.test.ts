/** `formatSize` (Python's `tracemalloc._format_size`) and `formatTop` (the `display_top` recipe of Python's tracemalloc documentation). */
import { test, describe, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tracemalloc from 'tracemalloc';
import { FORMAT_SIZE_TABLE, S, createSnapshots } from './helpers/model-fixture.js';

const { formatSize, formatTop, Snapshot } = tracemalloc;

describe('formatSize', () => {
  for (const [input, plain, signed] of FORMAT_SIZE_TABLE) {
    test(`${input} → ${plain} / ${signed}`, () => {
      assert.equal(formatSize(input), plain);
      assert.equal(formatSize(input, true), signed);
    });
  }

  test('sign defaults to false', () => {
    assert.equal(formatSize(10240, false), '10.0 KiB');
    assert.equal(formatSize(5), '5 B');
  });

  test('ties round to even, not away from zero as toFixed does', () => {
    // 10496 B is exactly 10.25 KiB and 10747904 B exactly 10.25 MiB.
    assert.equal(formatSize(10496), '10.2 KiB');
    assert.equal(formatSize(10747904), '10.2 MiB');
    assert.equal(formatSize(-10496), '-10.2 KiB');
    assert.equal(formatSize(2.5), '2 B');
    assert.equal(formatSize(-2.5), '-2 B');
  });

  test('averages are float divisions and hit the tie rule', () => {
    assert.equal(formatSize(5 / 2), '2 B');
    assert.equal(formatSize(7 / 2), '4 B');
    const x3: [string, number][] = [['x.py', 3]];
    assert.equal(String(S(x3, 5, 2)), 'x.py:3: size=5 B, count=2, average=2 B');
    assert.equal(String(S(x3, 7, 2)), 'x.py:3: size=7 B, count=2, average=4 B');
  });

  test('-0 prints as 0', () => {
    assert.equal(formatSize(-0), '0 B');
    assert.equal(formatSize(-0, true), '+0 B');
  });

  test('bad input is a TypeError', () => {
    assert.throws(() => formatSize(NaN), TypeError);
    assert.throws(() => formatSize(NaN, true), TypeError);
    assert.throws(() => formatSize('10' as unknown as number), TypeError);
    assert.throws(() => formatSize(undefined as unknown as number), TypeError);
    assert.throws(() => formatSize(10n as unknown as number), TypeError);
  });
});

describe('formatTop', () => {
  /** Source lines for the fixture's files; nothing for `<unknown>` or line 0, as linecache. */
  const reader: tracemalloc.SourceReader = (filename, lineno) =>
    filename === '<unknown>' || lineno < 1 ? '' : `   data = alloc('${filename}', ${lineno})   `;

  afterEach(() => {
    tracemalloc.setSourceReader(null);
  });

  test('the fixture, default options', () => {
    tracemalloc.setSourceReader(reader);
    const [snapshot] = createSnapshots();
    assert.equal(formatTop(snapshot), [
      'Top 10 lines',
      '#1: b.py:1: 0.1 KiB',
      "    data = alloc('b.py', 1)",
      '#2: a.py:2: 0.0 KiB',
      "    data = alloc('a.py', 2)",
      '#3: <unknown>:0: 0.0 KiB',
      '#4: a.py:5: 0.0 KiB',
      "    data = alloc('a.py', 5)",
      'Total allocated size: 0.1 KiB',
    ].join('\n'));
  });

  test('the fixture, snapshot2', () => {
    tracemalloc.setSourceReader(reader);
    const [, snapshot2] = createSnapshots();
    // 5002 B = 4.88 KiB, 400 B = 0.39 KiB, 30 B = 0.03 KiB; total 5432 B = 5.30 KiB.
    assert.equal(formatTop(snapshot2), [
      'Top 10 lines',
      '#1: a.py:5: 4.9 KiB',
      "    data = alloc('a.py', 5)",
      '#2: c.py:578: 0.4 KiB',
      "    data = alloc('c.py', 578)",
      '#3: a.py:2: 0.0 KiB',
      "    data = alloc('a.py', 2)",
      'Total allocated size: 5.3 KiB',
    ].join('\n'));
  });

  test('limit: the rest summed on a `K other:` line', () => {
    tracemalloc.setSourceReader(reader);
    const [snapshot] = createSnapshots();
    assert.equal(formatTop(snapshot, { limit: 2 }), [
      'Top 2 lines',
      '#1: b.py:1: 0.1 KiB',
      "    data = alloc('b.py', 1)",
      '#2: a.py:2: 0.0 KiB',
      "    data = alloc('a.py', 2)",
      '2 other: 0.0 KiB',
      'Total allocated size: 0.1 KiB',
    ].join('\n'));
    assert.equal(formatTop(snapshot, { limit: 0 }), ['Top 0 lines', '4 other: 0.1 KiB', 'Total allocated size: 0.1 KiB'].join('\n'));
  });

  test("keyType 'filename'", () => {
    tracemalloc.setSourceReader(reader);
    const [snapshot] = createSnapshots();
    assert.equal(formatTop(snapshot, { keyType: 'filename' }), [
      'Top 10 lines',
      '#1: b.py:0: 0.1 KiB',
      '#2: a.py:0: 0.0 KiB',
      '#3: <unknown>:0: 0.0 KiB',
      'Total allocated size: 0.1 KiB',
    ].join('\n'));
  });

  test('cumulative', () => {
    tracemalloc.setSourceReader(reader);
    const [snapshot] = createSnapshots();
    // Cumulative by file: b.py 98 B, a.py 32 B, <unknown> 7 B; the total adds them up (137 B).
    assert.equal(formatTop(snapshot, { keyType: 'filename', cumulative: true, limit: 1 }), [
      'Top 1 lines',
      '#1: b.py:0: 0.1 KiB',
      '2 other: 0.0 KiB',
      'Total allocated size: 0.1 KiB',
    ].join('\n'));
  });

  test('paths keep their last two parts; KiB with one decimal, ties to even', () => {
    tracemalloc.setSourceReader((filename, lineno) => (filename.endsWith('leak.ts') && lineno === 6 ? '  cache.push(new Array(1e6));' : ''));
    const snapshot = new Snapshot([
      [0, 104857600, [['/home/u/app/src/leak.ts', 6], ['/home/u/app/main.ts', 2]], 2],
      [1, 10496, [['/srv/lib/buf.js', 12]], 1],
      [0, 1024, [['rel.js', 3]], 1],
    ], 2);
    // 10496 B = 10.25 KiB → 10.2; total 104869120 B = 102411.25 KiB → 102411.2.
    assert.equal(formatTop(snapshot, { limit: 2 }), [
      'Top 2 lines',
      '#1: src/leak.ts:6: 102400.0 KiB',
      '    cache.push(new Array(1e6));',
      '#2: lib/buf.js:12: 10.2 KiB',
      '1 other: 1.0 KiB',
      'Total allocated size: 102411.2 KiB',
    ].join('\n'));
  });

  test('a line that holds sites of two domains is listed once per domain, named as every view names it', () => {
    tracemalloc.setSourceReader(() => '');
    const snapshot = new Snapshot([
      [0, 2048, [['/srv/app/io.js', 7]], 1],
      [1, 1024, [['/srv/app/io.js', 7]], 1],
    ], 1);
    assert.equal(formatTop(snapshot), [
      'Top 10 lines',
      '#1: app/io.js:7 [V8 heap]: 2.0 KiB',
      '#2: app/io.js:7 [ArrayBuffers & Buffers]: 1.0 KiB',
      'Total allocated size: 3.0 KiB',
    ].join('\n'));
  });

  test('an empty snapshot', () => {
    assert.equal(formatTop(new Snapshot([], 1)), ['Top 10 lines', 'Total allocated size: 0.0 KiB'].join('\n'));
  });

  test('bad options', () => {
    const [snapshot] = createSnapshots();
    assert.throws(() => formatTop(snapshot, { limit: -1 }), TypeError);
    assert.throws(() => formatTop(snapshot, { limit: 1.5 }), TypeError);
    assert.throws(() => formatTop(snapshot, { keyType: 'foo' as unknown as tracemalloc.KeyType }), {
      name: 'RangeError', message: "unknown key_type: 'foo'",
    });
  });
});

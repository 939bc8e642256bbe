/** `Frame` and `Traceback`: order, access, equality, Python's ordering, repr and `format()`. */
import { test, describe, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { inspect } from 'node:util';
import * as tracemalloc from 'tracemalloc';
import {
  FORMAT_RAW, FORMAT_TABLE, c14Reader, createSnapshots, formatLines, pair, rawFrames,
} from './helpers/model-fixture.js';

const { Frame, Traceback, Snapshot } = tracemalloc;

afterEach(() => {
  tracemalloc.setSourceReader(null);
});

describe('Traceback.format() (Python\'s Traceback.format(limit, most_recent_first))', () => {
  for (const [limit, oldestFirst, mostRecentFirst] of FORMAT_TABLE) {
    test(`limit ${limit}`, () => {
      tracemalloc.setSourceReader(c14Reader);
      const tb = new Traceback(FORMAT_RAW);
      assert.deepEqual(tb.format(limit), formatLines(oldestFirst));
      assert.deepEqual(tb.format(limit, false), formatLines(oldestFirst));
      assert.deepEqual(tb.format(limit, true), formatLines(mostRecentFirst));
    });
  }

  test('no limit argument is limit null', () => {
    tracemalloc.setSourceReader(c14Reader);
    const tb = new Traceback(FORMAT_RAW);
    assert.deepEqual(tb.format(), formatLines(['c3', 'b2', 'a1']));
    assert.deepEqual(tb.format(undefined, true), formatLines(['a1', 'b2', 'c3']));
  });

  test('C14 on the fixture', () => {
    tracemalloc.setSourceReader(c14Reader);
    const [snapshot] = createSnapshots();
    const tb = snapshot.traces.at(0)!.traceback;
    assert.deepEqual(tb.format(), ['  File "b.py", line 4', '    <b.py, 4>', '  File "a.py", line 2', '    <a.py, 2>']);
    assert.deepEqual(tb.format(1), pair('a.py', 2));
    assert.deepEqual(tb.format(-1), pair('b.py', 4));
    assert.deepEqual(tb.format(null, true), [...pair('a.py', 2), ...pair('b.py', 4)]);
    assert.deepEqual(tb.format(1, true), pair('a.py', 2));
    assert.deepEqual(tb.format(-1, true), pair('b.py', 4));
  });

  test('an unknown or blank source line gives only the File line', () => {
    tracemalloc.setSourceReader((filename) => (filename === 'b.py' ? ' \t ' : ''));
    const tb = new Traceback(FORMAT_RAW);
    assert.deepEqual(tb.format(), ['  File "c.py", line 3', '  File "b.py", line 2', '  File "a.py", line 1']);
  });

  test('the source line is stripped of surrounding whitespace', () => {
    tracemalloc.setSourceReader(() => '\t  x = [1, 2]  \t');
    assert.deepEqual(new Traceback([['m.js', 7]]).format(), ['  File "m.js", line 7', '    x = [1, 2]']);
  });

  test('an empty traceback formats to nothing', () => {
    assert.deepEqual(new Traceback([]).format(), []);
    assert.deepEqual(new Traceback([]).format(3, true), []);
  });

  test('a non-integer limit is a TypeError', () => {
    const tb = new Traceback(FORMAT_RAW);
    assert.throws(() => tb.format(1.5), TypeError);
    assert.throws(() => tb.format('1' as unknown as number), TypeError);
  });
});

describe('Traceback basics', () => {
  // Raw order is most recent first: main.js:1 called lib.js:20, which called leaf.js:300.
  const raw: [string, number][] = [['leaf.js', 300], ['lib.js', 20], ['main.js', 1]];

  test('stored and iterated oldest first', () => {
    const tb = new Traceback(raw, 7);
    assert.equal(tb.length, 3);
    assert.equal(String(tb[0]), 'main.js:1');
    assert.equal(String(tb[1]), 'lib.js:20');
    assert.equal(String(tb[2]), 'leaf.js:300');
    assert.equal(tb[3], undefined);
    assert.deepEqual(Array.from(tb, String), ['main.js:1', 'lib.js:20', 'leaf.js:300']);
    assert.deepEqual([...tb].map((f) => [f.filename, f.lineno]), [['main.js', 1], ['lib.js', 20], ['leaf.js', 300]]);
    assert.equal(tb.totalNframe, 7);
    assert.equal(String(tb), 'main.js:1');
  });

  test('at() takes negative indexes from the most recent end', () => {
    const tb = new Traceback(raw);
    assert.equal(String(tb.at(0)), 'main.js:1');
    assert.equal(String(tb.at(-1)), 'leaf.js:300');
    assert.equal(String(tb.at(-3)), 'main.js:1');
    assert.equal(tb.at(3), undefined);
    assert.equal(tb.at(-4), undefined);
  });

  test('totalNframe defaults to null', () => {
    assert.equal(new Traceback(raw).totalNframe, null);
    assert.equal(new Traceback(raw, null).totalNframe, null);
    assert.equal(new Traceback([], 0).totalNframe, 0);
  });

  test('frames may be Frame objects', () => {
    const tb = new Traceback([new Frame('b.js', 2), new Frame('a.js', 1)]);
    assert.deepEqual(rawFrames(tb), [['b.js', 2], ['a.js', 1]]);
  });

  test('an empty traceback prints as an empty string', () => {
    const tb = new Traceback([]);
    assert.equal(tb.length, 0);
    assert.equal(String(tb), '');
    assert.equal(tb.at(0), undefined);
    assert.deepEqual([...tb], []);
  });

  test('equals compares frames (filename and line) in order, not totalNframe', () => {
    const tb = new Traceback(raw, 3);
    assert.ok(tb.equals(new Traceback(raw, 3)));
    assert.ok(tb.equals(new Traceback(raw)));
    assert.ok(tb.equals(new Traceback(raw.map(([f, l]) => new Frame(f, l, { column: 5, functionName: 'fn' })))));
    assert.ok(!tb.equals(new Traceback([...raw].reverse())));
    assert.ok(!tb.equals(new Traceback(raw.slice(1))));
    assert.ok(!tb.equals(new Traceback([['leaf.js', 301], ['lib.js', 20], ['main.js', 1]])));
    assert.ok(!tb.equals(raw));
    assert.ok(!tb.equals(null));
  });

  test('Frame equality and display extras', () => {
    const f = new Frame('a.js', 3, { column: 9, functionName: 'go' });
    assert.equal(f.filename, 'a.js');
    assert.equal(f.lineno, 3);
    assert.equal(f.column, 9);
    assert.equal(f.functionName, 'go');
    assert.ok(f.equals(new Frame('a.js', 3)));
    assert.ok(!f.equals(new Frame('a.js', 4)));
    assert.ok(!f.equals(new Frame('b.js', 3)));
    assert.equal(new Frame('a.js', 3).column, null);
    assert.equal(new Frame('a.js', 3).functionName, null);
    assert.equal(String(f), 'a.js:3');
  });
});

describe('ordering (Python compares tuples, strings by code point)', () => {
  const frame = (filename: string, lineno: number): tracemalloc.Frame => new Frame(filename, lineno);

  test('Frame.compare: filename, then line numerically', () => {
    assert.equal(frame('a.py', 1).compare(frame('b.py', 1)), -1);
    assert.equal(frame('b.py', 1).compare(frame('a.py', 99)), 1);
    assert.equal(frame('a.py', 2).compare(frame('a.py', 10)), -1);
    assert.equal(frame('a.py', 10).compare(frame('a.py', 2)), 1);
    assert.equal(frame('a.py', 10).compare(frame('a.py', 10)), 0);
    assert.equal(frame('A.py', 1).compare(frame('a.py', 1)), -1);
    assert.equal(frame('a', 5).compare(frame('a.py', 1)), -1); // a proper prefix is smaller
  });

  test('non-BMP characters sort above BMP characters from U+E000 up', () => {
    // UTF-16 units would put U+1F600 (0xD83D 0xDE00) below U+E000..U+FFFF; Python does not.
    const emoji = '\u{1F600}.py';
    for (const bmp of ['\uE000.py', '\uFB01.py', '\uFFFD.py', '\uFFFF.py']) {
      assert.equal(frame(emoji, 1).compare(frame(bmp, 1)), 1, `${inspect(emoji)} > ${inspect(bmp)}`);
      assert.equal(frame(bmp, 1).compare(frame(emoji, 1)), -1, `${inspect(bmp)} < ${inspect(emoji)}`);
    }
    // Below the surrogate range, UTF-16 and code point order agree.
    assert.equal(frame(emoji, 1).compare(frame('\uD7FF.py', 1)), 1);
    assert.equal(frame('\u{1F600}', 1).compare(frame('\u{1F601}', 1)), -1);
    assert.equal(frame('\u{10000}', 1).compare(frame('\u{FFFF}', 1)), 1);
    assert.equal(frame('a\u{1F600}', 1).compare(frame('a\uFFFF', 1)), 1);
  });

  test('Traceback.compare: frames oldest first, lexicographic, a proper prefix is smaller', () => {
    const tb = (r: [string, number][]): tracemalloc.Traceback => new Traceback(r);
    // Oldest frames are the last of the raw lists: b.py:4 vs b.py:4, then a.py:2 vs a.py:5.
    assert.equal(tb([['a.py', 2], ['b.py', 4]]).compare(tb([['a.py', 5], ['b.py', 4]])), -1);
    assert.equal(tb([['a.py', 5], ['b.py', 4]]).compare(tb([['a.py', 2], ['b.py', 4]])), 1);
    // The oldest frame decides before the most recent one.
    assert.equal(tb([['z.py', 1], ['a.py', 1]]).compare(tb([['a.py', 1], ['b.py', 1]])), -1);
    // Prefix: [a.py:1] is a prefix of [a.py:1, b.py:2] (oldest first).
    assert.equal(tb([['a.py', 1]]).compare(tb([['b.py', 2], ['a.py', 1]])), -1);
    assert.equal(tb([['b.py', 2], ['a.py', 1]]).compare(tb([['a.py', 1]])), 1);
    assert.equal(tb([]).compare(tb([['a.py', 1]])), -1);
    assert.equal(tb([['a.py', 1]]).compare(tb([['a.py', 1]])), 0);
    assert.equal(tb([['\u{1F600}', 1]]).compare(tb([['\uFFFD', 1]])), 1);
  });

  test('statistics sort ties by code point order', () => {
    const snapshot = new Snapshot([
      [0, 10, [['\uFFFD.py', 1]], 1],
      [0, 10, [['\u{1F600}.py', 1]], 1],
      [0, 10, [['\uE000.py', 1]], 1],
      [0, 10, [['z.py', 1]], 1],
    ], 1);
    assert.deepEqual(snapshot.statistics('lineno').map((s) => String(s.traceback)),
      ['\u{1F600}.py:1', '\uFFFD.py:1', '\uE000.py:1', 'z.py:1']);
    assert.deepEqual(snapshot.statistics('filename').map((s) => String(s.traceback)),
      ['\u{1F600}.py:0', '\uFFFD.py:0', '\uE000.py:0', 'z.py:0']);
  });
});

describe('repr (util.inspect)', () => {
  test('Frame', () => {
    assert.equal(inspect(new Frame('b.py', 4)), "<Frame filename='b.py' lineno=4>");
  });

  test("Python's quoting: double quotes only when the string holds ' and no \"", () => {
    assert.equal(inspect(new Frame("it's.js", 1)), `<Frame filename="it's.js" lineno=1>`);
    assert.equal(inspect(new Frame('say "hi".js', 1)), `<Frame filename='say "hi".js' lineno=1>`);
    assert.equal(inspect(new Frame(`it's "x".js`, 1)), `<Frame filename='it\\'s "x".js' lineno=1>`);
    assert.equal(inspect(new Frame('C:\\a.js', 1)), "<Frame filename='C:\\\\a.js' lineno=1>");
  });

  test('Traceback with one frame has a trailing comma', () => {
    assert.equal(inspect(new Traceback([['a.py', 2]])), "<Traceback (<Frame filename='a.py' lineno=2>,)>");
    assert.equal(inspect(new Traceback([['a.py', 2]], 1)), "<Traceback (<Frame filename='a.py' lineno=2>,) total_nframe=1>");
  });

  test('Traceback with several frames, oldest first', () => {
    assert.equal(inspect(new Traceback([['a.py', 2], ['b.py', 4]], 3)),
      "<Traceback (<Frame filename='b.py' lineno=4>, <Frame filename='a.py' lineno=2>) total_nframe=3>");
  });
});

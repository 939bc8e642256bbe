/** `Snapshot.dump` / `Snapshot.load` and `toJSON` / `fromJSON`: round trips and validation. */
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { inspect } from 'node:util';
import * as tracemalloc from 'tracemalloc';
import { RAW1, RAW2, rawTraces, type Raw } from './helpers/model-fixture.js';

const { Snapshot, SnapshotFormatError } = tracemalloc;

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-persist-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  tracemalloc.setSourceReader(null);
});

/** A fresh path in the temp dir. */
let counter = 0;
function tmp(name: string): string {
  return path.join(dir, `${counter++}-${name}`);
}

const META = { pid: 4242, argv: ['node', 'server.js'], started: '2024-01-01T00:00:00Z', nested: { a: [1, 2, { b: null }] } };

function sample(): tracemalloc.Snapshot {
  return new Snapshot(RAW1, 2, { samplingInterval: 524288, meta: META });
}

function assertSameSnapshot(actual: tracemalloc.Snapshot, expected: tracemalloc.Snapshot, expectedRaw: readonly Raw[]): void {
  assert.equal(actual.tracebackLimit, expected.tracebackLimit);
  assert.equal(actual.samplingInterval, expected.samplingInterval);
  assert.deepEqual(actual.meta, expected.meta);
  assert.equal(actual.traces.length, expectedRaw.length);
  assert.deepEqual(rawTraces(actual), expectedRaw);
  for (let i = 0; i < expectedRaw.length; i++) {
    assert.ok(actual.traces.at(i)!.equals(expected.traces.at(i)), `trace ${i}`);
  }
}

/** A valid file's JSON value, to break one field at a time. */
function validJSON(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(sample().toJSON())) as Record<string, unknown>;
}

function writeText(name: string, text: string | Buffer): string {
  const file = tmp(name);
  fs.writeFileSync(file, text);
  return file;
}

/** Asserts that loading `file` fails with a SnapshotFormatError naming the file and matching `problem`. */
function assertLoadFails(file: string, problem: RegExp, options?: tracemalloc.LoadOptions): void {
  assert.throws(() => Snapshot.load(file, options), (err: unknown) => {
    assert.ok(err instanceof SnapshotFormatError, `expected a SnapshotFormatError, got ${inspect(err)}`);
    assert.equal(err.name, 'SnapshotFormatError');
    assert.ok(err instanceof Error);
    assert.ok(err.message.includes(file), `the message names the file: ${err.message}`);
    assert.match(err.message, problem);
    return true;
  });
}

function assertFromJSONFails(value: unknown, problem: RegExp): void {
  assert.throws(() => Snapshot.fromJSON(value), (err: unknown) => {
    assert.ok(err instanceof SnapshotFormatError, `expected a SnapshotFormatError, got ${inspect(err)}`);
    assert.match((err as Error).message, problem);
    return true;
  });
}

describe('round trip', () => {
  for (const ext of ['.json', '.json.gz']) {
    test(`dump/load ${ext}`, () => {
      const snapshot = sample();
      const file = tmp(`snap${ext}`);
      snapshot.dump(file);
      const bytes = fs.readFileSync(file);
      if (ext === '.json.gz') {
        assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b], 'a .gz file is gzip');
      } else {
        const json = JSON.parse(bytes.toString('utf8'));
        assert.equal(typeof json.format, 'string');
        assert.equal(json.version, tracemalloc.FORMAT_VERSION);
      }
      const loaded = Snapshot.load(file);
      assert.equal(loaded.tracebackLimit, 2);
      assert.equal(loaded.samplingInterval, 524288);
      assert.deepEqual(loaded.meta, META);
      assertSameSnapshot(loaded, snapshot, RAW1);
      // The loaded snapshot computes the same statistics.
      assert.deepEqual(loaded.statistics('lineno').map(String), [
        'b.py:1: size=66 B, count=1, average=66 B',
        'a.py:2: size=30 B, count=3, average=10 B',
        '<unknown>:0: size=7 B, count=1, average=7 B',
        'a.py:5: size=2 B, count=1, average=2 B',
      ]);
    });
  }

  test('a second dump of a loaded snapshot loads equal again; no temporary file is left', () => {
    const first = tmp('a.json');
    sample().dump(first);
    const second = tmp('b.json.gz');
    Snapshot.load(first).dump(second);
    assertSameSnapshot(Snapshot.load(second), sample(), RAW1);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });

  test('dump overwrites an existing file', () => {
    const file = tmp('over.json');
    sample().dump(file);
    new Snapshot(RAW2, 2).dump(file);
    const loaded = Snapshot.load(file);
    assertSameSnapshot(loaded, new Snapshot(RAW2, 2), RAW2);
    assert.equal(loaded.samplingInterval, null);
    assert.deepEqual(loaded.meta, {});
  });

  test('counts, unknown totalNframe, empty tracebacks and an empty snapshot survive', () => {
    const snapshot = new Snapshot([
      [0, 1000, [['x.js', 1]], null, 3.5],
      [5, 0, [], 0, 1],
      [7, 12.5, [['y.js', 2], ['x.js', 1]]],
    ], 10);
    for (const ext of ['.json', '.json.gz']) {
      const file = tmp(`odd${ext}`);
      snapshot.dump(file);
      const loaded = Snapshot.load(file);
      assert.equal(loaded.tracebackLimit, 10);
      assert.deepEqual(Array.from(loaded.traces, (t) => [t.domain, t.size, t.count, t.traceback.totalNframe, t.traceback.length]), [
        [0, 1000, 3.5, null, 1],
        [5, 0, 1, 0, 0],
        [7, 12.5, 1, null, 2],
      ]);
    }
    const empty = tmp('empty-snapshot.json');
    new Snapshot([], 1).dump(empty);
    assert.equal(Snapshot.load(empty).traces.length, 0);
  });

  test('column and functionName of frames survive', () => {
    const frame = new tracemalloc.Frame('/app/f.js', 12, { column: 4, functionName: 'makeBuffer' });
    const snapshot = new Snapshot([[1, 64, [frame as unknown as [string, number]], 1]], 1);
    const file = tmp('extras.json');
    snapshot.dump(file);
    const loaded = Snapshot.load(file).traces.at(0)!.traceback.at(0)!;
    assert.deepEqual([loaded.filename, loaded.lineno, loaded.column, loaded.functionName], ['/app/f.js', 12, 4, 'makeBuffer']);
  });

  test('toJSON/fromJSON round trip, through JSON text too', () => {
    const snapshot = sample();
    assertSameSnapshot(Snapshot.fromJSON(snapshot.toJSON()), snapshot, RAW1);
    assertSameSnapshot(Snapshot.fromJSON(JSON.parse(JSON.stringify(snapshot))), snapshot, RAW1);
  });

  test('a filtered snapshot dumps only its own traces', () => {
    const filtered = sample().filterTraces([new tracemalloc.DomainFilter(true, 3)]);
    const file = tmp('filtered.json');
    filtered.dump(file);
    const loaded = Snapshot.load(file);
    assert.deepEqual(rawTraces(loaded), [RAW1[5]]);
    assert.deepEqual(loaded.meta, META);
    assert.equal(loaded.samplingInterval, 524288);
  });
});

describe('source lines captured at dump time', () => {
  for (const ext of ['.json', '.json.gz']) {
    test(`survive the deletion of the source file (${ext})`, () => {
      tracemalloc.setSourceReader(null);
      const source = tmp('leaky.js');
      fs.writeFileSync(source, ['// header', '   const cache = new Map();   ', 'function grow() {', '  cache.set(Math.random(), new Array(1000));', '}', ''].join('\n'));
      const snapshot = new Snapshot([
        [0, 8000, [[source, 4], [source, 2]], 2],
        [0, 100, [[source, 2]], 1],
      ], 2);
      const expected = [
        `  File "${source}", line 2`,
        '    const cache = new Map();',
        `  File "${source}", line 4`,
        '    cache.set(Math.random(), new Array(1000));',
      ];
      assert.deepEqual(snapshot.traces.at(0)!.traceback.format(), expected);

      const file = tmp(`with-sources${ext}`);
      snapshot.dump(file);
      fs.unlinkSync(source);
      tracemalloc.clearSourceCache();
      // The live reader no longer knows the line: only the file can bring it back.
      assert.equal(tracemalloc.getSourceLine(source, 4), '');
      assert.deepEqual(snapshot.traces.at(0)!.traceback.format(), [`  File "${source}", line 2`, `  File "${source}", line 4`]);

      const loaded = Snapshot.load(file);
      assert.deepEqual(loaded.traces.at(0)!.traceback.format(), expected);
      // Tracebacks made by statistics() read the captured lines as well.
      const top = loaded.statistics('lineno')[0]!;
      assert.equal(String(top), `${source}:4: size=8000 B, count=1, average=8000 B`);
      assert.deepEqual(top.traceback.format(), expected.slice(2));
      // And so does formatTop.
      assert.match(tracemalloc.formatTop(loaded, { limit: 1 }), /\n {4}cache\.set\(Math\.random\(\), new Array\(1000\)\);\n/);
      // A second generation keeps them.
      const again = tmp(`again${ext}`);
      loaded.dump(again);
      assert.deepEqual(Snapshot.load(again).traces.at(0)!.traceback.format(), expected);
    });
  }
});

describe('load errors', () => {
  test('missing file', () => {
    assertLoadFails(path.join(dir, 'does-not-exist.json'), /no such file/i);
  });

  test('a directory', () => {
    const sub = tmp('subdir');
    fs.mkdirSync(sub);
    assertLoadFails(sub, /not a regular file/i);
  });

  test('empty file', () => {
    assertLoadFails(writeText('empty.json', ''), /empty/i);
  });

  test('not JSON', () => {
    assertLoadFails(writeText('text.json', 'hello, world\n'), /not valid JSON/i);
  });

  test('truncated JSON', () => {
    const text = JSON.stringify(sample().toJSON());
    assertLoadFails(writeText('truncated.json', text.slice(0, Math.floor(text.length / 2))), /not valid JSON/i);
  });

  test('truncated gzip', () => {
    const gz = zlib.gzipSync(JSON.stringify(sample().toJSON()));
    assertLoadFails(writeText('truncated.json.gz', gz.subarray(0, gz.length - 10)), /gzip/i);
  });

  test('JSON that is not an object', () => {
    assertLoadFails(writeText('array.json', '[1, 2, 3]'), /not a tracemalloc snapshot/i);
    assertLoadFails(writeText('null.json', 'null'), /not a tracemalloc snapshot/i);
  });

  test('wrong "format"', () => {
    assertLoadFails(writeText('format.json', JSON.stringify({ ...validJSON(), format: 'pprof' })), /format.*"pprof"/i);
    const { format: _drop, ...noFormat } = validJSON();
    assertLoadFails(writeText('no-format.json', JSON.stringify(noFormat)), /format/i);
  });

  test('future "version"', () => {
    const version = tracemalloc.FORMAT_VERSION + 1;
    assertLoadFails(writeText('future.json', JSON.stringify({ ...validJSON(), version })), new RegExp(`version ${version}`));
  });

  test('bad "version"', () => {
    assertLoadFails(writeText('version0.json', JSON.stringify({ ...validJSON(), version: 0 })), /version/);
    assertLoadFails(writeText('version-str.json', JSON.stringify({ ...validJSON(), version: '1' })), /version/);
  });

  test('a wrong-typed field', () => {
    const json = validJSON();
    (json.traces as { size: unknown[] }).size[2] = '10';
    assertLoadFails(writeText('size-string.json', JSON.stringify(json)), /traces\.size\[2\]/);

    const json2 = validJSON();
    json2.tracebackLimit = 'two';
    assertLoadFails(writeText('limit-string.json', JSON.stringify(json2)), /tracebackLimit/);

    const json3 = validJSON();
    json3.meta = [1, 2];
    assertLoadFails(writeText('meta-array.json', JSON.stringify(json3)), /meta/);

    const json4 = validJSON();
    (json4.strings as unknown[])[0] = 7;
    assertLoadFails(writeText('strings-number.json', JSON.stringify(json4)), /strings/);

    const json5 = validJSON();
    (json5.traces as { size: unknown[] }).size[0] = -1;
    assertLoadFails(writeText('size-negative.json', JSON.stringify(json5)), /traces\.size\[0\]/);

    const json6 = validJSON();
    delete (json6.traces as Record<string, unknown>).domain;
    assertLoadFails(writeText('no-domain.json', JSON.stringify(json6)), /traces\.domain/);
  });

  test('an out-of-range index', () => {
    const json = validJSON();
    (json.traces as { traceback: number[] }).traceback[0] = 99;
    assertLoadFails(writeText('tb-index.json', JSON.stringify(json)), /traces\.traceback\[0\]/);

    const json2 = validJSON();
    (json2.frames as { filename: number[] }).filename[0] = (json2.strings as string[]).length;
    assertLoadFails(writeText('string-index.json', JSON.stringify(json2)), /frames\.filename\[0\]/);

    const json3 = validJSON();
    (json3.tracebacks as { frames: number[] }).frames[0] = -1;
    assertLoadFails(writeText('frame-index.json', JSON.stringify(json3)), /tracebacks\.frames\[0\]/);

    const json4 = validJSON();
    (json4.tracebacks as { offsets: number[] }).offsets[1] = 1000;
    assertLoadFails(writeText('offsets.json', JSON.stringify(json4)), /tracebacks\.offsets/);
  });

  test('arrays of a group with different lengths', () => {
    const json = validJSON();
    (json.traces as { count: number[] }).count.pop();
    assertLoadFails(writeText('lengths.json', JSON.stringify(json)), /traces\.count/);
  });

  test('a gzip bomb is stopped at maxBytes', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 1024 * 1024, 'the bomb itself is small');
    const file = writeText('bomb.json.gz', bomb);
    assertLoadFails(file, /decompresses to more than .*1048576/, { maxBytes: 1024 * 1024 });
  });

  test('a file over maxBytes', () => {
    const file = tmp('big.json');
    sample().dump(file);
    const size = fs.statSync(file).size;
    assertLoadFails(file, new RegExp(`${size} bytes.*limit of ${size - 1}`), { maxBytes: size - 1 });
    // At exactly the limit it loads.
    assert.equal(Snapshot.load(file, { maxBytes: size }).traces.length, RAW1.length);
  });

  test('a bad maxBytes is a TypeError', () => {
    const file = tmp('ok.json');
    sample().dump(file);
    assert.throws(() => Snapshot.load(file, { maxBytes: -1 }), TypeError);
    assert.throws(() => Snapshot.load(file, { maxBytes: 'big' as unknown as number }), TypeError);
  });
});

describe('prototype pollution', () => {
  test('"__proto__" in meta does not reach Object.prototype', () => {
    const text = JSON.stringify({ ...validJSON(), meta: { keep: 1 } })
      .replace('"meta":{"keep":1}', '"meta":{"keep":1,"__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}');
    assert.ok(text.includes('"__proto__"'));
    const file = writeText('proto.json', text);
    const loaded = Snapshot.load(file);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    assert.equal(Object.getPrototypeOf(loaded.meta), Object.prototype);
    assert.equal((loaded.meta as Record<string, unknown>).polluted, undefined);
    assert.equal(loaded.meta.keep, 1);
    // The key is kept as plain data, as JSON.parse reads it, not as a prototype.
    assert.ok(Object.hasOwn(loaded.meta, '__proto__'));
    assert.deepEqual(Object.getOwnPropertyDescriptor(loaded.meta, '__proto__')?.value, { polluted: true });
    assert.equal(((loaded.meta.nested ?? {}) as Record<string, unknown>).polluted, undefined);
    // The snapshot still works and dumps again.
    assert.deepEqual(rawTraces(loaded), RAW1);
    const again = tmp('proto-again.json');
    loaded.dump(again);
    Snapshot.load(again);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('"__proto__" at the top level and in groups', () => {
    const text = JSON.stringify(validJSON())
      .replace(/^\{/, '{"__proto__":{"polluted":true},')
      .replace('"traces":{', '"traces":{"__proto__":{"polluted":true},');
    const file = writeText('proto-top.json', text);
    assert.equal(Snapshot.load(file).traces.length, RAW1.length);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('fromJSON of a parsed value with "__proto__" in meta', () => {
    const value = JSON.parse(JSON.stringify(validJSON()).replace('"meta":{', '"meta":{"__proto__":{"polluted":true},'));
    const snapshot = Snapshot.fromJSON(value);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((snapshot.meta as Record<string, unknown>).polluted, undefined);
  });
});

describe('fromJSON validation', () => {
  test('not an object', () => {
    assertFromJSONFails(null, /not a tracemalloc snapshot/);
    assertFromJSONFails('{}', /not a tracemalloc snapshot/);
    assertFromJSONFails([], /not a tracemalloc snapshot/);
  });

  test('wrong format and future version', () => {
    assertFromJSONFails({ ...validJSON(), format: 'other' }, /format/);
    assertFromJSONFails({ ...validJSON(), version: tracemalloc.FORMAT_VERSION + 1 }, new RegExp(`version ${tracemalloc.FORMAT_VERSION + 1}`));
  });

  test('wrong-typed and out-of-range fields', () => {
    const a = validJSON();
    (a.traces as { size: unknown[] }).size[0] = 'x';
    assertFromJSONFails(a, /traces\.size\[0\]/);
    const b = validJSON();
    (b.traces as { traceback: unknown[] }).traceback[1] = 1.5;
    assertFromJSONFails(b, /traces\.traceback\[1\]/);
    const c = validJSON();
    c.samplingInterval = 0;
    assertFromJSONFails(c, /samplingInterval/);
    const d = validJSON();
    d.frames = null;
    assertFromJSONFails(d, /frames/);
  });

  test('the error class', () => {
    try {
      Snapshot.fromJSON({});
      assert.fail('fromJSON({}) did not throw');
    } catch (err) {
      assert.ok(err instanceof SnapshotFormatError);
      assert.equal((err as { code?: unknown }).code, 'ERR_TRACEMALLOC_BAD_SNAPSHOT');
    }
  });
});

test('a loaded snapshot shows only the source lines it carries: it never opens the files it names', () => {
  // A frame naming a real file on this machine, with no source line in the snapshot file.
  const real = path.join(__dirname, '..', '..', 'package.json');
  const json = validJSON() as { strings: string[]; frames: { filename: number[]; lineno: number[]; source: number[] } };
  json.strings.push(real);
  json.frames.filename[0] = json.strings.length - 1;
  json.frames.lineno[0] = 1;
  json.frames.source[0] = -1;
  const file = writeText('names-a-real-file.json', JSON.stringify(json));
  const loaded = Snapshot.load(file);
  const traceback = loaded.traces.slice().map((t) => t.traceback).find((tb) => Array.from(tb).some((f) => f.filename === real));
  assert.ok(traceback !== undefined, 'the frame is there');
  assert.ok(tracemalloc.getSourceLine(real, 1) !== '', 'the live reader would find a line');
  assert.ok(traceback.format().every((line) => !line.includes('{')), traceback.format().join('\n'));
});

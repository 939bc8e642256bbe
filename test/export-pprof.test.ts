// toPprof: the profile decoded with pprof-format's own decoder matches the snapshot's statistics.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { Profile } from 'pprof-format';
import * as tracemalloc from 'tracemalloc';
import { leakyAppSnapshots, sampleSnapshot, tempDir } from './fixtures/export/sample.js';

const { Snapshot, toPprof } = tracemalloc;

interface Decoded {
  profile: Profile;
  str: (i: number | bigint) => string;
  /** Per sample: [leaf filename, leaf line, leaf function, domain label, count, bytes, location ids]. */
  samples: { file: string; line: number; fn: string; domain: string; count: number; size: number; depth: number }[];
}

function decode(buf: Buffer): Decoded {
  assert.equal(buf[0], 0x1f, 'gzip magic');
  assert.equal(buf[1], 0x8b, 'gzip magic');
  const profile = Profile.decode(zlib.gunzipSync(buf));
  const strings = profile.stringTable.strings;
  const str = (i: number | bigint): string => strings[Number(i)]!;
  const locations = new Map(profile.location.map((l) => [Number(l.id), l]));
  const functions = new Map(profile.function.map((f) => [Number(f.id), f]));
  const samples = profile.sample.map((s) => {
    const leaf = locations.get(Number(s.locationId[0]))!;
    assert.equal(leaf.line.length, 1, 'one line per location');
    const fn = functions.get(Number(leaf.line[0]!.functionId))!;
    const label = s.label.find((l) => str(l.key) === 'domain')!;
    return {
      file: str(fn.filename),
      line: Number(leaf.line[0]!.line),
      fn: str(fn.name),
      domain: str(label.str),
      count: Number(s.value[0]),
      size: Number(s.value[1]),
      depth: s.locationId.length,
    };
  });
  return { profile, str, samples };
}

/** Sums per (file, line) of the leaf frames: what statistics('lineno') groups by. */
function sumsByLine(samples: Decoded['samples']): Map<string, { size: number; count: number }> {
  const out = new Map<string, { size: number; count: number }>();
  for (const s of samples) {
    const key = `${s.file}:${s.line}`;
    const v = out.get(key) ?? { size: 0, count: 0 };
    v.size += s.size;
    v.count += s.count;
    out.set(key, v);
  }
  return out;
}

function statsByLine(snapshot: tracemalloc.Snapshot): Map<string, { size: number; count: number }> {
  return new Map(snapshot.statistics('lineno').map((s) => [String(s.traceback), { size: s.size, count: Math.round(s.count) }]));
}

test('sample types, period and comments name what the values are', () => {
  const { profile, str } = decode(toPprof(sampleSnapshot()));
  assert.deepEqual(profile.sampleType.map((t) => [str(t.type), str(t.unit)]), [['inuse_objects', 'count'], ['inuse_space', 'bytes']]);
  assert.equal(str(profile.defaultSampleType), 'inuse_space');
  assert.deepEqual([str(profile.periodType!.type), str(profile.periodType!.unit)], ['space', 'bytes']);
  assert.equal(Number(profile.period), 65536);
  const comments = profile.comment.map(str);
  assert.ok(comments.some((c) => c.includes('traceback limit 3')), comments.join('\n'));
  assert.ok(comments.some((c) => c.includes('function')), 'the note on V8 heap lines');
});

test("an 'allocated' snapshot gives alloc_objects/alloc_space; an exact one has no period", () => {
  const { profile, str } = decode(toPprof(sampleSnapshot({ mode: 'allocated', time: '2024-05-01T10:00:00.000Z' })));
  assert.deepEqual(profile.sampleType.map((t) => str(t.type)), ['alloc_objects', 'alloc_space']);
  assert.equal(str(profile.defaultSampleType), 'alloc_space');
  assert.equal(BigInt(profile.timeNanos), BigInt(Date.parse('2024-05-01T10:00:00.000Z')) * 1_000_000n);
  const exact = decode(toPprof(new Snapshot([[2, 100, [['/a.js', 1]]]], 1)));
  assert.equal(Number(exact.profile.period), 0);
  assert.equal(exact.profile.periodType, undefined);
  assert.deepEqual(exact.samples.map((s) => [s.file, s.line, s.fn, s.count, s.size]), [['/a.js', 1, '(anonymous:L1)', 1, 100]]);
});

test('values per leaf line equal statistics(lineno), and every domain is labelled', () => {
  const snapshot = sampleSnapshot();
  const { samples } = decode(toPprof(snapshot));
  assert.deepEqual(sumsByLine(samples), statsByLine(snapshot));
  const byDomain = new Map<string, number>();
  for (const s of samples) byDomain.set(s.domain, (byDomain.get(s.domain) ?? 0) + s.size);
  for (const [domain, name] of [[0, 'heap'], [1, 'external'], [2, 'user-2']] as const) {
    const expected = snapshot.filterTraces([new tracemalloc.DomainFilter(true, domain)]).statistics('lineno').reduce((a, s) => a + s.size, 0);
    assert.equal(byDomain.get(name), expected, name);
  }
  // Samples are aggregated per (domain, traceback): the five small parse traces are one sample.
  const parse = samples.filter((s) => s.fn === 'parse');
  assert.equal(parse.length, 1);
  assert.equal(parse[0]!.depth, 3);
});

test('one Location per distinct frame, one Function per name and file, with 1-based lines', () => {
  const { profile, str } = decode(toPprof(sampleSnapshot()));
  const fns = new Map(profile.function.map((f) => [Number(f.id), f]));
  const seen = profile.location.map((l) => {
    const line = l.line[0]!;
    const fn = fns.get(Number(line.functionId))!;
    return `${str(fn.name)} ${str(fn.filename)}:${Number(line.line)}:${Number(line.column)}`;
  });
  assert.deepEqual(seen.slice().sort(), [
    '(V8 API) <unknown>:0:0',
    '(anonymous:L30:C5) /app/server.js:30:5',
    'Readable.read node:internal/streams/readable:200:3',
    'handle /app/server.js:10:17',
    'main /app/main.js:1:1',
    'parse /app/parse.js:20:15',
    'readChunk /app/io.js:7:18',
    'remember /app/cache.js:5:3',
  ]);
  assert.equal(new Set(seen).size, seen.length, 'no duplicate location');
  const ids = profile.location.map((l) => Number(l.id));
  assert.deepEqual(ids, ids.map((_, i) => i + 1), 'ids are 1..n');
  // Every sample's locations exist, leaf first: the parse sample goes parse <- handle <- main.
  const names = new Map(profile.location.map((l) => [Number(l.id), str(fns.get(Number(l.line[0]!.functionId))!.name)]));
  const parse = profile.sample.find((s) => names.get(Number(s.locationId[0])) === 'parse')!;
  assert.deepEqual(parse.locationId.map((id) => names.get(Number(id))), ['parse', 'handle', 'main']);
});

test("a real program's snapshot: per-line values equal its statistics(lineno)", () => {
  const { after } = leakyAppSnapshots(tempDir('pprof'));
  const { samples, profile, str } = decode(toPprof(after));
  assert.deepEqual(sumsByLine(samples), statsByLine(after));
  assert.ok(samples.some((s) => s.fn === 'cacheSessions'), 'the leaking function is named');
  assert.equal(Number(profile.period), after.samplingInterval);
  // The V8 heap, and Buffers' backing stores (domain 1), each labelled with its domain.
  assert.ok(samples.some((s) => s.domain === 'heap'));
  assert.ok(samples.every((s) => s.domain === 'heap' || s.domain === 'external'), [...new Set(samples.map((s) => s.domain))].join());
  assert.ok(profile.function.every((f) => str(f.name) !== ''), 'every function has a name');
});

test('an empty snapshot encodes to a valid profile with no samples', () => {
  const { profile } = decode(toPprof(new Snapshot([], 1)));
  assert.equal(profile.sample.length, 0);
  assert.equal(profile.location.length, 0);
});

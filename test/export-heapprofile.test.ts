// toHeapProfile / snapshotFromHeapProfile: the DevTools format, round trips, and a real
// `node --heap-prof` file.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tracemalloc from 'tracemalloc';
import { readHeapProfile } from '#internal/export/heapprofile';
import { FIXTURES, INTERVAL, leakyAppSnapshots, lineIn, olderSampleSnapshot, PKG, sampleSnapshot, statStrings, tempDir } from './fixtures/export/sample.js';

const { DomainFilter, Snapshot, SnapshotFormatError, snapshotFromHeapProfile, toHeapProfile } = tracemalloc;

type Node = tracemalloc.HeapProfileJSON['head'];

function nodes(head: Node): Node[] {
  const out: Node[] = [];
  const stack = [head];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    stack.push(...n.children);
  }
  return out;
}

function roundTrip(snapshot: tracemalloc.Snapshot): tracemalloc.Snapshot {
  return snapshotFromHeapProfile(JSON.parse(JSON.stringify(toHeapProfile(snapshot))));
}

test('toHeapProfile writes the shape of HeapProfiler.getSamplingProfile, 0-based lines and columns', () => {
  const profile = toHeapProfile(sampleSnapshot());
  const all = nodes(profile.head);
  assert.deepEqual(profile.head.callFrame, { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 });
  assert.equal(new Set(all.map((n) => n.id)).size, all.length, 'unique node ids');
  for (const n of all) {
    assert.deepEqual(Object.keys(n).sort(), ['callFrame', 'children', 'id', 'selfSize']);
    assert.deepEqual(Object.keys(n.callFrame).sort(), ['columnNumber', 'functionName', 'lineNumber', 'scriptId', 'url']);
    assert.equal(typeof n.callFrame.scriptId, 'string');
  }
  const parse = all.find((n) => n.callFrame.functionName === 'parse')!;
  assert.deepEqual(parse.callFrame, { functionName: 'parse', scriptId: parse.callFrame.scriptId, url: '/app/parse.js', lineNumber: 19, columnNumber: 14 });
  // Oldest frame at the top: (root) > main > handle > parse.
  const main = profile.head.children.find((n) => n.callFrame.functionName === 'main')!;
  const handle = main.children.find((n) => n.callFrame.functionName === 'handle')!;
  assert.ok(handle.children.includes(parse));
  // Samples: one per trace, sizes as they are, on existing nodes; selfSize is their sum.
  const snapshot = sampleSnapshot();
  assert.equal(profile.samples.length, snapshot.traces.length);
  const byId = new Map(all.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const s of profile.samples) {
    assert.deepEqual(Object.keys(s).sort(), ['nodeId', 'ordinal', 'size']);
    assert.ok(byId.has(s.nodeId));
    self.set(s.nodeId, (self.get(s.nodeId) ?? 0) + s.size);
  }
  for (const n of all) assert.equal(n.selfSize, self.get(n.id) ?? 0, `selfSize of ${n.callFrame.functionName}`);
  // Other domains hang under a pseudo-node each.
  assert.deepEqual(profile.head.children.filter((n) => n.callFrame.scriptId === '0').map((n) => n.callFrame.functionName).sort(),
    ['(domain 1: ArrayBuffers and Buffers)', '(domain 2: user)']);
});

test('round trip: statistics by line, file and traceback are equal, per domain too', () => {
  const snapshot = sampleSnapshot({ mode: 'live', pid: 7, argv: ['node', 'x.js'] });
  const back = roundTrip(snapshot);
  for (const key of ['lineno', 'filename', 'traceback'] as const) assert.deepEqual(statStrings(back, key), statStrings(snapshot, key), key);
  for (const domain of [0, 1, 2]) {
    const only = [new DomainFilter(true, domain)];
    assert.deepEqual(statStrings(back.filterTraces(only)), statStrings(snapshot.filterTraces(only)), `domain ${domain}`);
  }
  assert.equal(back.tracebackLimit, 3);
  assert.equal(back.samplingInterval, INTERVAL);
  assert.deepEqual(back.meta, { mode: 'live', pid: 7, argv: ['node', 'x.js'] });
  // Function names and columns survive.
  const parse = back.statistics('lineno').find((s) => s.traceback.at(0)!.filename === '/app/parse.js')!;
  assert.equal(parse.traceback.at(0)!.functionName, 'parse');
  assert.equal(parse.traceback.at(0)!.column, 15);
});

test('round trip of an exact snapshot keeps counts of 1 and no interval; of a live program, its statistics', () => {
  const exact = new Snapshot([[0, 10, [['a.js', 2], ['b.js', 4]]], [3, 7, [['<unknown>', 0]]], [2, 5000, [['a.js', 5]]]], 2);
  const back = roundTrip(exact);
  assert.equal(back.samplingInterval, null);
  assert.deepEqual(statStrings(back, 'traceback'), statStrings(exact, 'traceback'));
  const { after } = leakyAppSnapshots(tempDir('heapprofile'));
  assert.deepEqual(statStrings(roundTrip(after)), statStrings(after));
});

test('a profile written by node --heap-prof loads: functions, 1-based lines, sizes within the sampling error', () => {
  const dir = tempDir('heap-prof');
  const interval = 32768;
  const r = spawnSync(process.execPath, [`--heap-prof`, `--heap-prof-dir=${dir}`, `--heap-prof-interval=${interval}`, path.join(FIXTURES, 'heap-prof-app.js')],
    { cwd: PKG, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.heapprofile'));
  assert.equal(files.length, 1, `one .heapprofile in ${files.join(', ')}`);
  const file = path.join(dir, files[0]!);
  const snapshot = readHeapProfile(file, { samplingInterval: interval });
  assert.equal(snapshot.samplingInterval, interval);
  assert.equal(snapshot.meta.mode, 'live');
  const app = path.join(FIXTURES, 'heap-prof-app.js');
  const stats = new Map(snapshot.statistics('lineno').map((s) => [String(s.traceback), s]));
  const arrays = stats.get(`${app}:${lineIn('heap-prof-app.js', 'function makeArrays')}`);
  const objects = stats.get(`${app}:${lineIn('heap-prof-app.js', 'function makeObjects')}`);
  assert.ok(arrays !== undefined && objects !== undefined, [...stats.keys()].slice(0, 10).join('\n'));
  assert.equal(arrays.traceback.at(0)!.functionName, 'makeArrays');
  // 2000 arrays of 1000 small integers: 8 bytes an element on 64-bit V8 (4 with pointer compression).
  const expected = 2000 * 1000 * 8;
  const bound = 6 * Math.sqrt(expected * interval);
  assert.ok(Math.abs(arrays.size - expected) < bound || Math.abs(arrays.size - expected / 2) < bound,
    `makeArrays: ${arrays.size} bytes, expected about ${expected} (or half) ± ${Math.round(bound)}`);
  assert.ok(objects.size > 1024 * 1024, `makeObjects: ${objects.size} bytes`);
  // The traceback goes back to the module's top level (a function without a name at line 1).
  assert.ok(snapshot.tracebackLimit >= 3);
  const tb = snapshot.statistics('traceback').find((s) => s.traceback.at(-1)!.functionName === 'makeArrays')!.traceback;
  assert.ok(Array.from(tb).some((fr) => fr.filename === app && fr.lineno === 1), Array.from(tb, String).join(' > '));
  // By default nothing is read from disk for it; with readSources the lines come from the files.
  assert.equal(arrays.traceback.format().length, 1);
  const withSources = readHeapProfile(file, { samplingInterval: interval, readSources: true });
  const lines = withSources.statistics('lineno').find((s) => s.traceback.at(0)!.functionName === 'makeArrays')!.traceback.format();
  assert.match(lines[1] ?? '', /function makeArrays/);
  // Gzipped profiles read the same.
  const gz = path.join(dir, 'p.heapprofile.gz');
  fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(file)));
  assert.deepEqual(statStrings(readHeapProfile(gz, { samplingInterval: interval })), statStrings(snapshot));
  // Node writes exactly the keys toHeapProfile writes; and the snapshot survives a round trip.
  const real = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(Object.keys(real).sort(), ['head', 'samples']);
  assert.deepEqual(Object.keys(real.head).sort(), ['callFrame', 'children', 'id', 'selfSize']);
  assert.deepEqual(Object.keys(real.samples[0]).sort(), ['nodeId', 'ordinal', 'size']);
  assert.deepEqual(statStrings(roundTrip(snapshot), 'traceback'), statStrings(snapshot, 'traceback'));
  // Without the interval, node's default (512 KiB) estimates the counts; the bytes are the same.
  const dflt = snapshotFromHeapProfile(fs.readFileSync(file, 'utf8'));
  assert.equal(dflt.samplingInterval, 512 * 1024);
  assert.deepEqual(dflt.statistics('lineno').map((s) => s.size), snapshot.statistics('lineno').map((s) => s.size));
});

test('options: nframe keeps the most recent frames; bad options are TypeErrors', () => {
  const profile = toHeapProfile(sampleSnapshot());
  const one = snapshotFromHeapProfile(profile, { nframe: 1 });
  assert.equal(one.tracebackLimit, 1);
  assert.ok(Array.from(one.traces).every((t) => t.traceback.length === 1));
  assert.deepEqual(statStrings(one), statStrings(sampleSnapshot()));
  assert.throws(() => snapshotFromHeapProfile(profile, { nframe: 1.5 }), /options.nframe must be an integer in \[1; 65535\], not 1.5/);
  assert.throws(() => snapshotFromHeapProfile(profile, { samplingInterval: 0 }), /samplingInterval must be a number of bytes > 0/);
});

test('invalid profiles are rejected with a SnapshotFormatError that names the problem', () => {
  // biome-ignore lint/suspicious/noExplicitAny: each case corrupts a different field of the profile
  const good = (): any => JSON.parse(JSON.stringify(toHeapProfile(olderSampleSnapshot())));
  const cases: [unknown, RegExp][] = [
    ['{"head": ', /not valid JSON/],
    [[], /not a heap profile/],
    [{ samples: [] }, /"head" must be the root node/],
    [(() => { const p = good(); p.head.children[0].id = p.head.id; return p; })(), /node id \d+ is used twice/],
    [(() => { const p = good(); p.samples[0].nodeId = '1'; return p; })(), /sample 0: "nodeId" must be an integer/],
    [(() => { const p = good(); p.samples[0].size = -1; return p; })(), /sample 0: "size" must be a finite number >= 0/],
    [(() => { const p = good(); p.head.children[0].callFrame.lineNumber = '3'; return p; })(), /lineNumber" and "callFrame.columnNumber" must be integers/],
    [(() => { const p = good(); p.head.children[0].children = {}; return p; })(), /"children" must be an array/],
    [(() => { const p = good(); p.tracemalloc.version = 2; return p; })(), /"tracemalloc": version 2 is not one this reader knows/],
    [(() => { const p = good(); p.tracemalloc.domains.push({ ...p.tracemalloc.domains[0] }); return p; })(), /"domains" lists a domain or a node twice/],
    [(() => { const p = good(); p.tracemalloc.domains = [{ domain: 1, nodeId: p.head.children[0].children[0]?.id ?? 12345 }]; return p; })(), /is not a child of the root/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => snapshotFromHeapProfile(value), (err: Error) => err instanceof SnapshotFormatError && message.test(err.message), String(message));
  }
  // The meta of a file cannot reach a prototype.
  const p = good();
  p.tracemalloc.meta = JSON.parse('{"__proto__": {"polluted": true}}');
  const s = snapshotFromHeapProfile(p);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(s.meta), Object.prototype);
  // A profile without samples (older Node) is read from the nodes' selfSize.
  const noSamples = good();
  delete noSamples.samples;
  const total = (snap: tracemalloc.Snapshot): number => snap.statistics('filename').reduce((a, x) => a + x.size, 0);
  assert.equal(total(snapshotFromHeapProfile(noSamples)), total(olderSampleSnapshot()));
  assert.throws(() => readHeapProfile(path.join(tempDir('missing'), 'nope.heapprofile')), /nope\.heapprofile: no such file/);
  // V8 may report a sample on a node it pruned from the tree: its bytes stay, under <unknown>.
  const pruned = good();
  pruned.samples[0].nodeId = 99999;
  const kept = snapshotFromHeapProfile(pruned);
  assert.equal(total(kept), total(olderSampleSnapshot()));
  assert.ok(kept.statistics('lineno').some((x) => String(x.traceback) === '<unknown>:0'));
});

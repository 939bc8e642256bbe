/**
 * The readers of untrusted files stay bounded (issue 13): a cap on the frames a snapshot's traces
 * hold in all (a 2.6 MiB file made `top --cumulative` run 170 s), values validated so that a file
 * that loads can always be displayed (trace sizes of 1e308), the same for `.heapprofile` files,
 * and deep tracebacks (2,500 and 65,535 frames) exported and read back without recursion.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { MAX_SNAPSHOT_FRAMES, MAX_TRACE_VALUE } from '#internal/persist';
import { launch } from './helpers/child.js';

const { Snapshot, SnapshotFormatError, formatTop, heapProfileToText, renderHtmlReport, snapshotFromHeapProfile, toHeapProfile, toPprof } = tracemalloc;
type Snapshot = tracemalloc.Snapshot;

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
let dir = '';
before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-bounded-'))));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The file of the issue: `traces` traces all sharing one traceback of `depth` frames. */
function deepTracesJSON(depth: number, traces: number): Record<string, unknown> {
  return {
    format: 'tracemalloc-snapshot', version: 1, tracebackLimit: depth, samplingInterval: null, meta: {}, strings: ['/srv/a.js'],
    frames: { filename: Array(depth).fill(0), lineno: Array.from({ length: depth }, (_, i) => i + 1), column: Array(depth).fill(0), function: Array(depth).fill(-1), source: Array(depth).fill(-1) },
    tracebacks: { offsets: [0, depth], frames: Array.from({ length: depth }, (_, i) => i), totalNframe: [depth] },
    traces: { domain: Array(traces).fill(0), size: Array(traces).fill(1), count: Array(traces).fill(1), traceback: Array(traces).fill(0) },
  };
}

function assertRefused(fn: () => unknown, where: string, problem: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof SnapshotFormatError, `${err.name}: ${err.message}`);
    assert.ok(err.message.startsWith(`${where}: `), err.message);
    assert.match(err.message, problem);
    return true;
  });
}

test('a small file whose traces share a huge traceback is refused at load, in well under a second of work', () => {
  const file = path.join(dir, 'deep-traces.json');
  fs.writeFileSync(file, JSON.stringify(deepTracesJSON(50_000, 200_000)));
  assert.ok(fs.statSync(file).size < 3 * 2 ** 20, 'the file of the issue is under 3 MiB');
  assertRefused(() => Snapshot.load(file), file, /its traces hold 10000000000 frames in all .*more than the 67108864 this reader accepts \(LoadOptions\.maxFrames\)$/);
  // The cap is an option: a caller who trusts the file can raise it; lowering it refuses smaller files.
  const small = path.join(dir, 'small.json');
  fs.writeFileSync(small, JSON.stringify(deepTracesJSON(100, 100)));
  assert.equal(Snapshot.load(small).traces.length, 100);
  assertRefused(() => Snapshot.load(small, { maxFrames: 9_999 }), small, /10000 frames in all/);
  assert.equal(Snapshot.load(small, { maxFrames: 10_000 }).traces.length, 100);
  assert.throws(() => Snapshot.load(small, { maxFrames: 0 }), /^TypeError: maxFrames must be an integer number of frames >= 1, not 0$/);
  // fromJSON has the same default cap.
  assertRefused(() => Snapshot.fromJSON(deepTracesJSON(2_000, 40_000)), 'the JSON value', /80000000 frames in all/);
  assert.ok(80_000_000 > MAX_SNAPSHOT_FRAMES);
});

test('the CLI refuses that file at once instead of running `top --cumulative` for minutes', async () => {
  const file = path.join(dir, 'deep-cli.json');
  fs.writeFileSync(file, JSON.stringify(deepTracesJSON(50_000, 200_000)));
  const r = await launch(process.execPath, [CLI, 'top', '--cumulative', file], dir).done;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /its traces hold 10000000000 frames in all/);
});

test('sizes and counts beyond 2^53 - 1, alone or summed, are refused: a file that loads can always be displayed', () => {
  const base = deepTracesJSON(2, 2);
  const withTraces = (size: number[], count: number[]): Record<string, unknown> => ({ ...base, traces: { domain: [0, 0], size, count, traceback: [0, 0] } });
  assertRefused(() => Snapshot.fromJSON(withTraces([1e308, 1e308], [1, 1])), 'the JSON value', /"traces\.size\[0\]" must be a finite number >= 0 and <= 9007199254740991, not 1e\+308/);
  assertRefused(() => Snapshot.fromJSON(withTraces([1, 1], [1, 2 ** 53])), 'the JSON value', /"traces\.count\[1\]" must be a finite number >= 0 and <= 9007199254740991/);
  assertRefused(() => Snapshot.fromJSON(withTraces([2 ** 52, 2 ** 52], [1, 1])), 'the JSON value', /the trace sizes add up to 9007199254740992 bytes, more than 9007199254740991/);
  assertRefused(() => Snapshot.fromJSON(withTraces([1, 1], [2 ** 52, 2 ** 52])), 'the JSON value', /the trace counts add up to/);
  // At the limit, everything a report does works and stays finite.
  const edge = Snapshot.fromJSON(withTraces([MAX_TRACE_VALUE - 1, 1], [MAX_TRACE_VALUE - 1, 1]));
  const old = Snapshot.fromJSON(withTraces([0, 0], [0, 0]));
  for (const key of ['lineno', 'filename'] as const) {
    for (const st of edge.statistics(key, true)) assert.ok(Number.isFinite(st.size) && Number.isFinite(st.count));
    for (const d of edge.compareTo(old, key, true)) assert.ok(Number.isFinite(d.sizeDiff));
    for (const d of old.compareTo(edge, key)) assert.ok(Number.isFinite(d.sizeDiff));
  }
  assert.match(formatTop(edge), /Total allocated size: /);
  toPprof(edge);
  renderHtmlReport(edge, { diffFrom: old });
});

test('.heapprofile values beyond 2^53 - 1, and samples whose stacks hold too many frames, are refused', () => {
  const cf = (functionName: string, url: string, lineNumber: number) => ({ functionName, scriptId: '1', url, lineNumber, columnNumber: 0 });
  // A chain of 5,000 nodes and 20,000 samples at its tip: few distinct frames, 10^8 frames in the traces.
  let tip = { callFrame: cf('f', '/srv/a.js', 4999), selfSize: 0, id: 5001, children: [] as unknown[] };
  const tipId = tip.id;
  for (let i = 4998; i >= 0; i--) tip = { callFrame: cf('f', '/srv/a.js', i), selfSize: 0, id: i + 2, children: [tip] };
  const head = { callFrame: cf('(root)', '', -1), selfSize: 0, id: 1, children: [tip] };
  const samples = Array.from({ length: 20_000 }, (_, i) => ({ size: 16, nodeId: tipId, ordinal: i + 1 }));
  assertRefused(() => snapshotFromHeapProfile({ head, samples }), 'the heap profile', /its traces hold 100000000 frames in all/);
  // With fewer frames kept per traceback (nframe), the same profile is fine.
  assert.equal(snapshotFromHeapProfile({ head, samples }, { nframe: 25 }).traces.length, 20_000);
  const one = { callFrame: cf('(root)', '', -1), selfSize: 0, id: 1, children: [{ callFrame: cf('f', '/srv/a.js', 1), selfSize: 0, id: 2, children: [] }] };
  assertRefused(() => snapshotFromHeapProfile({ head: one, samples: [{ size: 1e308, nodeId: 2, ordinal: 1 }] }), 'the heap profile', /sample 0: "size" must be a finite number >= 0 and <= 9007199254740991/);
  assertRefused(
    () => snapshotFromHeapProfile({ head: one, samples: [{ size: 2 ** 52, nodeId: 2, ordinal: 1 }, { size: 2 ** 52, nodeId: 2, ordinal: 2 }] }),
    'the heap profile',
    /the trace sizes add up to 9007199254740992 bytes/,
  );
});

/** A snapshot with one traceback `depth` frames deep. */
function deepSnapshot(depth: number): Snapshot {
  const frames = Array.from({ length: depth }, (_, i): [string, number] => ['/srv/a.js', i + 1]);
  return new Snapshot([[0, 4096, frames, depth, 1], [1, 100, frames.slice(0, 3), depth, 1]], depth, { samplingInterval: 65536 });
}

for (const depth of [2_500, 65_535]) {
  test(`a ${depth}-frame traceback exports to .heapprofile text and reads back (no recursion)`, () => {
    const s = deepSnapshot(depth);
    const profile = toHeapProfile(s);
    // V8's JSON.stringify recurses and overflows on a deep call tree; heapProfileToText does not.
    const text = heapProfileToText(profile);
    const back = snapshotFromHeapProfile(text);
    assert.equal(back.traces.length, 2);
    assert.equal([...back.traces].find((x) => x.domain === 0)!.traceback.length, depth);
    const lines = (t: Snapshot): number[] => [...[...t.traces].find((x) => x.domain === 0)!.traceback].map((f) => f.lineno);
    assert.deepEqual(lines(back), lines(s));
    // The other exporters and the file format at that depth.
    toPprof(s);
    renderHtmlReport(s, { maxStacks: 5 });
    s.statistics('lineno', true);
    assert.equal(Snapshot.fromJSON(JSON.parse(JSON.stringify(s.toJSON()))).traces.length, 2);
  });
}

test('heapProfileToText writes exactly what JSON.stringify writes', () => {
  const s = new Snapshot([[0, 4096, [['/srv/a.js', 1], ['/srv/b "q".js', 2]], 2, 1], [1, 10, [['/srv/c\n.js', 3]], 1, 2]], 5, {
    samplingInterval: 1024,
    meta: { when: new Date(0), list: [1, null, 'é"\\\n', { a: [] }], nothing: {} },
  });
  const profile = toHeapProfile(s);
  assert.equal(heapProfileToText(profile), JSON.stringify(profile));
});

test('start(65535) and Buffers allocated 2,500 frames deep (the external domain keeps whole stacks): toHeapProfile, its text, and `export --format heapprofile`', async () => {
  const script = `
    const tm = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    tm.start(65535, { samplingInterval: 256, external: true });
    const keep = [];
    function down(n) { if (n === 0) { for (let i = 0; i < 5; i++) keep.push(Buffer.alloc(65536)); return; } down(n - 1); }
    down(2500);
    const s = tm.takeSnapshot();
    tm.stop();
    const deepest = Math.max(...[...s.traces].map((t) => t.traceback.length));
    const back = tm.snapshotFromHeapProfile(tm.heapProfileToText(tm.toHeapProfile(s)));
    s.dump('deep-live.json');
    console.log(JSON.stringify({ deepest, traces: s.traces.length, back: back.traces.length }));`;
  const r = await launch(process.execPath, ['--stack-size=4000', '-e', script], dir).done;
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { deepest: number; traces: number; back: number };
  assert.ok(got.deepest >= 2500, `the deepest traceback has ${got.deepest} frames`);
  assert.equal(got.back, got.traces);
  const out = await launch(process.execPath, [CLI, 'export', '--format', 'heapprofile', '-o', 'deep.heapprofile', 'deep-live.json'], dir).done;
  assert.equal(out.code, 0, out.stderr);
  assert.ok(snapshotFromHeapProfile(fs.readFileSync(path.join(dir, 'deep.heapprofile'), 'utf8')).traces.length === got.traces);
});

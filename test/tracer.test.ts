// The live tracer against V8 (SPEC §2, §5; conformance.md §10). Objects that a test measures are
// held in `held`, read after the snapshot: optimized code lets V8 free an object as soon as no
// code will read it again, even while a variable still names it.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { setRawTraceSourceForTesting } from '#internal/session-testing';
import { gc, lineOf, MiB, samplingBound, settledHeapUsed } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'tracer.test.ts');
const held: unknown[] = [];

afterEach(() => {
  tracemalloc.stop();
  setRawTraceSourceForTesting(null);
  held.length = 0;
});

// One allocation of n MiB on the V8 heap: small integers fill the array in place (a fill with
// doubles would allocate the backing store twice, leaving n MiB of garbage until the next GC).
function allocateMiB(n: number): number[] {
  return new Array<number>((n * MiB) / 8).fill(0);
}

function callerOfAllocate(n: number): unknown {
  return allocateMiB(n);
}

test('start() checks its arguments as Python does, and keeps the limit after stop()', () => {
  assert.throws(() => tracemalloc.start(-1), { name: 'RangeError', message: 'the number of frames must be in range [1; 65535]' });
  assert.throws(() => tracemalloc.start(0), RangeError);
  assert.throws(() => tracemalloc.start(65536), RangeError);
  assert.throws(() => tracemalloc.start(1.5), TypeError);
  assert.throws(() => tracemalloc.start('3' as unknown as number), TypeError);
  assert.throws(() => tracemalloc.start(1, { samplingInterval: 0 }), RangeError);
  assert.throws(() => tracemalloc.start(1, { mode: 'everything' as 'live' }), RangeError);
  assert.throws(() => tracemalloc.start(1, { external: 'yes' as unknown as boolean }), TypeError);
  assert.equal(tracemalloc.isTracing(), false);
  tracemalloc.start(10);
  assert.equal(tracemalloc.isTracing(), true);
  assert.equal(tracemalloc.getTracebackLimit(), 10);
  // Already tracing: arguments are checked, then nothing changes (Python keeps the old limit).
  assert.throws(() => tracemalloc.start(0), RangeError);
  tracemalloc.start(3);
  assert.equal(tracemalloc.getTracebackLimit(), 10);
  tracemalloc.stop();
  assert.equal(tracemalloc.isTracing(), false);
  assert.equal(tracemalloc.getTracebackLimit(), 10);
  tracemalloc.start({ nframe: 4 });
  assert.equal(tracemalloc.getTracebackLimit(), 4);
});

test('takeSnapshot() answers synchronously and fails with Python\'s message when not tracing', () => {
  assert.throws(() => tracemalloc.takeSnapshot(), {
    message: 'the tracemalloc module must be tracing memory allocations to take a snapshot',
    code: 'ERR_TRACEMALLOC_NOT_TRACING',
  });
  tracemalloc.start();
  const snapshot = tracemalloc.takeSnapshot();
  assert.ok(snapshot instanceof tracemalloc.Snapshot, 'a Snapshot, not a promise');
  assert.equal(snapshot.tracebackLimit, 1);
  assert.equal(snapshot.samplingInterval, tracemalloc.DEFAULT_SAMPLING_INTERVAL);
  tracemalloc.stop();
  assert.throws(() => tracemalloc.takeSnapshot(), { code: 'ERR_TRACEMALLOC_NOT_TRACING' });
});

test('C2: a snapshot takes the tracer\'s traces, limit and totalNframe', () => {
  tracemalloc.start(5);
  setRawTraceSourceForTesting(() => [[0, 5, [['a.py', 2]], 10]]);
  const snapshot = tracemalloc.takeSnapshot();
  assert.equal(snapshot.tracebackLimit, 5);
  assert.equal(snapshot.traces.length, 1);
  const trace = snapshot.traces.at(0)!;
  assert.equal(trace.size, 5);
  assert.equal(trace.traceback.totalNframe, 10);
  assert.deepEqual(Array.from(trace.traceback, String), ['a.py:2']);
});

test('100 MiB allocated in a named function is the top line, at its first line in the .ts source, within 5%', () => {
  tracemalloc.start(5);
  held.push(callerOfAllocate(100));
  const snapshot = tracemalloc.takeSnapshot();
  const top = snapshot.statistics('lineno')[0]!;
  const frame = top.traceback.at(0)!;
  // Source maps (on by default) lead from build/test/tracer.test.js back to this file.
  assert.equal(frame.filename, SOURCE);
  assert.equal(frame.lineno, lineOf(SOURCE, 'function allocateMiB('));
  assert.equal(frame.functionName, 'allocateMiB');
  assert.ok(Math.abs(top.size - 100 * MiB) <= 0.05 * 100 * MiB, `size ${top.size}`);
  assert.match(tracemalloc.formatTop(snapshot, { limit: 1 }), /^Top 1 lines\n#1: test\/tracer\.test\.ts:\d+: 1024\d\d\.\d KiB\n {4}function allocateMiB\(/);
  // The traceback of the biggest block names its callers.
  const biggest = snapshot.statistics('traceback')[0]!;
  const names = Array.from(biggest.traceback, (f) => f.functionName);
  assert.deepEqual(names.slice(-2), ['callerOfAllocate', 'allocateMiB']);
  const lines = biggest.traceback.format();
  assert.ok(lines.some((l) => l.includes('function callerOfAllocate(')), lines.join('\n'));
  assert.equal(held.length, 1);
});

test('compareTo() shows the growth at the allocating line', () => {
  tracemalloc.start();
  const before = tracemalloc.takeSnapshot();
  held.push(allocateMiB(64));
  const after = tracemalloc.takeSnapshot();
  const diff = after.compareTo(before, 'lineno')[0]!;
  assert.equal(diff.traceback.at(0)!.lineno, lineOf(SOURCE, 'function allocateMiB('));
  assert.ok(Math.abs(diff.sizeDiff - 64 * MiB) <= 0.05 * 64 * MiB, `sizeDiff ${diff.sizeDiff}`);
  // One block more. The 32-byte array object made at the same line is sampled too, with p = 4.9e-4
  // (then it counts as ~2,048 objects): the objects under 1 MiB at the line are not the block.
  const line = lineOf(SOURCE, 'function allocateMiB(');
  const small = (s: tracemalloc.Snapshot): number => Array.from(s.traces)
    .filter((t) => t.size < MiB && t.traceback.at(0)!.lineno === line).reduce((n, t) => n + t.count, 0);
  assert.equal(diff.countDiff, 1 + small(after) - small(before));
  assert.equal(held.length, 1);
});

function makeSmallObjects(n: number): Array<{ a: number; b: number }> {
  const out = new Array<{ a: number; b: number }>(n);
  for (let i = 0; i < n; i++) out[i] = { a: i, b: -i };
  return out;
}

test('many small objects: the estimate is within the sampling error of the true live size', () => {
  const interval = 32 * 1024;
  tracemalloc.start(1, { samplingInterval: interval });
  const baseline = settledHeapUsed();
  held.push(makeSmallObjects(400_000));
  const trueSize = settledHeapUsed() - baseline;
  const snapshot = tracemalloc.takeSnapshot();
  const line = lineOf(SOURCE, 'function makeSmallObjects(');
  const site = snapshot.statistics('lineno').find((s) => s.traceback.at(0)!.lineno === line && s.traceback.at(0)!.filename === SOURCE);
  assert.ok(site !== undefined, 'the allocating function is a site');
  const bound = samplingBound(trueSize, interval) + 64 * 1024;
  assert.ok(Math.abs(site.size - trueSize) <= bound, `estimate ${site.size}, true ${trueSize}, bound ${bound}`);
  // Each object is 40 bytes on a 64-bit heap without pointer compression: the average says so.
  assert.ok(site.size / site.count > 16 && site.size / site.count < 4096, `average ${site.size / site.count}`);
  assert.equal(held.length, 1);
});

test('getTracedMemory() follows live memory within 10% and keeps the peak after a free', () => {
  tracemalloc.start();
  const [c0] = tracemalloc.getTracedMemory();
  held.push(allocateMiB(64));
  const [c1, p1] = tracemalloc.getTracedMemory();
  assert.ok(Math.abs(c1 - c0 - 64 * MiB) <= 0.1 * 64 * MiB, `current ${c1 - c0}`);
  assert.ok(p1 >= c1);
  held.length = 0;
  tracemalloc.takeSnapshot();
  const [c2, p2] = tracemalloc.getTracedMemory();
  assert.ok(c1 - c2 >= 0.9 * 64 * MiB, `current fell by ${c1 - c2}`);
  assert.ok(p2 >= p1, 'the peak does not fall');
  tracemalloc.clearTraces();
  const [c3, p3] = tracemalloc.getTracedMemory();
  // Zero, up to what the heap gained between the two calls: the counter's own read (~2 KiB) and
  // whatever V8 put on the heap meanwhile (compiled code counts as heap used, and coverage makes
  // it larger): 95 KiB once in CI under c8, 1 of 6 runs beside a CPU hog here. Far below 64 MiB.
  assert.ok(c3 < 256 * 1024 && p3 < 256 * 1024, `after clearTraces: ${c3}, ${p3}`);
  tracemalloc.stop();
  assert.deepEqual(tracemalloc.getTracedMemory(), [0, 0]);
});

function spike(): number {
  const temporary = allocateMiB(64);
  return temporary.length;
}

test('the peak catches a spike that lived only between two GCs, with no read in between', () => {
  tracemalloc.start();
  const [, p0] = tracemalloc.getTracedMemory();
  assert.ok(p0 < 8 * MiB);
  spike();
  gc();
  const [c1, p1] = tracemalloc.getTracedMemory();
  assert.ok(c1 < 16 * MiB, `current ${c1}`);
  assert.ok(p1 >= 0.95 * 64 * MiB, `peak ${p1}`);
});

test('resetPeak() brings the peak down to current; a later allocation raises it by about its size', () => {
  tracemalloc.start();
  spike();
  gc();
  const [, p1] = tracemalloc.getTracedMemory();
  assert.ok(p1 >= 0.95 * 64 * MiB);
  tracemalloc.resetPeak();
  const [c2, p2] = tracemalloc.getTracedMemory();
  assert.ok(p2 < p1 && p2 >= c2, `peak ${p2}, current ${c2}`);
  held.push(allocateMiB(64));
  const [, p3] = tracemalloc.getTracedMemory();
  assert.ok(Math.abs(p3 - p2 - 64 * MiB) <= 0.1 * 64 * MiB, `the peak rose by ${p3 - p2}`);
});

test('getTracemallocMemory() is 0 when not tracing, positive while tracing, smaller after clearTraces()', () => {
  assert.equal(tracemalloc.getTracemallocMemory(), 0);
  tracemalloc.start(5, { samplingInterval: 4096 });
  held.push(makeSmallObjects(200_000));
  tracemalloc.takeSnapshot();
  const before = tracemalloc.getTracemallocMemory();
  assert.ok(before > 0);
  tracemalloc.clearTraces();
  assert.ok(tracemalloc.getTracemallocMemory() < before);
  assert.equal(held.length, 1);
});

test('C20: a live snapshot survives dump() and load()', () => {
  tracemalloc.start(3);
  held.push(callerOfAllocate(8));
  const snapshot = tracemalloc.takeSnapshot();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-'));
  try {
    const file = path.join(dir, 'live.json.gz');
    snapshot.dump(file);
    const loaded = tracemalloc.Snapshot.load(file);
    assert.equal(loaded.traces.length, snapshot.traces.length);
    for (let i = 0; i < loaded.traces.length; i++) assert.ok(loaded.traces.at(i)!.equals(snapshot.traces.at(i)), `trace ${i}`);
    assert.equal(loaded.tracebackLimit, 3);
    assert.deepEqual(loaded.statistics('lineno').map(String), snapshot.statistics('lineno').map(String));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  tracemalloc.stop();
  assert.throws(() => tracemalloc.takeSnapshot(), { message: 'the tracemalloc module must be tracing memory allocations to take a snapshot' });
});

function makeGarbage(): number {
  let total = 0;
  for (let i = 0; i < 8; i++) total += allocateMiB(8).length;
  return total;
}

test("'allocated' mode also counts objects already collected", () => {
  tracemalloc.start(1, { mode: 'allocated' });
  makeGarbage();
  const snapshot = tracemalloc.takeSnapshot();
  assert.equal(snapshot.meta.mode, 'allocated');
  const line = lineOf(SOURCE, 'function allocateMiB(');
  const site = snapshot.statistics('lineno').find((s) => s.traceback.at(0)!.lineno === line);
  assert.ok(site !== undefined && Math.abs(site.size - 64 * MiB) <= 0.05 * 64 * MiB, `site ${site?.size}`);
  tracemalloc.stop();
  tracemalloc.start(1, { mode: 'live' });
  makeGarbage();
  const live = tracemalloc.takeSnapshot();
  // None of the 64 MiB of garbage. A sample of one small object that V8 still holds (seen once in
  // a run beside a CPU hog: 1 sample of 1.8 KiB, read as 65 KiB) is not that garbage: allow up to
  // four such samples at the default interval (64 KiB each), far below one of the 8 MiB arrays.
  const leftover = live.statistics('lineno').find((s) => s.traceback.at(0)!.lineno === line)?.size ?? 0;
  assert.ok(leftover <= 4 * 64 * 1024, `live mode counted ${leftover} bytes of the garbage`);
});

test("'allocated' mode keeps its totals across snapshots while V8's own records are freed", () => {
  tracemalloc.start(1, { mode: 'allocated' });
  const line = lineOf(SOURCE, 'function allocateMiB(');
  const siteSize = (snapshot: tracemalloc.Snapshot): number =>
    snapshot.statistics('lineno').find((s) => s.traceback.at(0)!.lineno === line)?.size ?? 0;
  makeGarbage();
  const first = siteSize(tracemalloc.takeSnapshot());
  makeGarbage();
  const second = siteSize(tracemalloc.takeSnapshot());
  assert.ok(Math.abs(first - 64 * MiB) <= 0.05 * 64 * MiB, `first ${first}`);
  assert.ok(Math.abs(second - 128 * MiB) <= 0.05 * 128 * MiB, `second ${second}`);
  // The sampler is one per isolate: another session sees what V8 still holds. The snapshot
  // folded the samples into the tracer's table and restarted V8's sampler, so V8 holds none of
  // the 128 MiB of garbage any more.
  const other = new inspector.Session();
  other.connect();
  try {
    let profile: { samples: Array<{ size: number }> } | undefined;
    other.post('HeapProfiler.getSamplingProfile', (err, res) => {
      assert.equal(err, null);
      profile = (res as unknown as { profile: typeof profile }).profile;
    });
    const held = profile!.samples.reduce((sum, x) => sum + x.size, 0);
    assert.ok(held < 8 * MiB, `V8 still holds ${held} bytes of samples`);
  } finally {
    other.disconnect();
  }
});

// Issue 19, domain 1: a snapshot holds the Buffers still alive, even when the program dropped them
// in the same synchronous task (no FinalizationRegistry callback can run there); 'allocated' mode
// counts Buffers; the tracer's own allocations are never the program's; byteSize() counts the
// bookkeeping.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { ExternalTracer } from '#internal/external';
import { Snapshot } from '#internal/snapshot';
import { StoreBuilder } from '#internal/store';
import { gc, lineOf, MiB } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'external-liveness.test.ts');
const held: unknown[] = [];
let tracer: ExternalTracer | null = null;

afterEach(() => {
  tracemalloc.stop();
  tracer?.stop();
  tracer = null;
  held.length = 0;
});

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Domain-1 bytes of `snapshot` whose traceback passes through the line of this file containing `needle`. */
function bytesThrough(snapshot: tracemalloc.Snapshot | Snapshot, needle: string): number {
  const line = lineOf(SOURCE, needle);
  let size = 0;
  for (const t of snapshot.traces) {
    if (t.domain === 1 && Array.from(t.traceback).some((f) => f.filename === SOURCE && f.lineno === line)) size += t.size;
  }
  return size;
}

/** Reads every file and drops it (in a function of its own: no register of this frame holds the last one). */
function readAll(files: string[]): number {
  let checksum = 0;
  for (const file of files) checksum += fs.readFileSync(file)[7]!; // read and dropped
  return checksum;
}

test('files read with readFileSync and dropped in the same synchronous task are not in the snapshot', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-liveness-'));
  try {
    const files: string[] = [];
    for (let i = 0; i < 40; i++) {
      const file = path.join(dir, `f${i}.bin`);
      fs.writeFileSync(file, Buffer.alloc(MiB, i));
      files.push(file);
    }
    tracemalloc.start(8);
    await nextTask(); // the program's work starts in a later task than start(), as in any service
    // Everything below is synchronous: no FinalizationRegistry callback runs until it ends.
    const checksum = readAll(files);
    const kept = fs.readFileSync(files[0]!); // read and kept
    const snapshot = tracemalloc.takeSnapshot();
    assert.ok(checksum > 0 && kept.length === MiB);
    const dropped = bytesThrough(snapshot, '// read and dropped');
    const alive = bytesThrough(snapshot, '// read and kept');
    // 40 MiB were read and dropped; before the fix they were all still in the snapshot.
    assert.equal(dropped, 0, `dropped buffers still traced: ${dropped} bytes`);
    assert.ok(Math.abs(alive - MiB) <= 0.01 * MiB, `kept buffer: ${alive} bytes`);
    held.push(kept);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function allocateDropped(): void {
  for (let i = 0; i < 1000; i++) Buffer.alloc(1000); // a thousand dropped
}

test('Buffers sampled beyond the spare slots of a task leave the snapshot from the next task on', async () => {
  const t = new ExternalTracer({ interval: 1, nframe: 1, sourceMaps: true, adaptive: false }); // every allocation sampled
  tracer = t;
  t.start();
  await nextTask();
  allocateDropped();
  gc();
  let builder = new StoreBuilder();
  t.addTraces(builder);
  const sameTask = bytesThrough(Snapshot._fromColumns(builder.build(), 1), '// a thousand dropped');
  // The first 256 samples took slots made in an earlier task: their death is seen at once; the
  // other 744 got slots made in this task, which a WeakRef keeps until the task ends.
  assert.ok(Math.abs(sameTask - 744 * 1000) <= 0.01 * 744 * 1000, `same task: ${sameTask} bytes`);
  await nextTask();
  gc();
  builder = new StoreBuilder();
  t.addTraces(builder);
  assert.equal(bytesThrough(Snapshot._fromColumns(builder.build(), 1), '// a thousand dropped'), 0);
});

test("'allocated' mode counts Buffers allocated and dropped, across snapshots, and never shrinks", async () => {
  tracemalloc.start(1, { mode: 'allocated' });
  await nextTask();
  let checksum = 0;
  for (let i = 0; i < 50; i++) checksum += Buffer.alloc(MiB, 1)[0]!; // allocated and dropped
  const first = tracemalloc.takeSnapshot();
  const size = bytesThrough(first, '// allocated and dropped');
  assert.ok(Math.abs(size - 50 * MiB) <= 0.01 * 50 * MiB, `allocated: ${size} bytes`); // 1 MiB >> interval: exact
  assert.equal(checksum, 50);
  gc();
  await nextTask();
  const second = tracemalloc.takeSnapshot();
  assert.equal(bytesThrough(second, '// allocated and dropped'), size);
  // No `<external>:0` remainder in 'allocated' mode: arrayBuffers is a live figure.
  assert.ok(!Array.from(second.traces).some((tr) => tr.domain === 1 && tr.traceback.at(0)!.filename === '<external>'));
  tracemalloc.clearTraces();
  assert.equal(bytesThrough(tracemalloc.takeSnapshot(), '// allocated and dropped'), 0);
});

test("the tracer's own allocations are not the program's: reading a snapshot file is not traced", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-own-'));
  try {
    const file = path.join(dir, 'snap.tracemalloc');
    tracemalloc.start(1);
    held.push(Buffer.alloc(MiB)); // a program buffer
    tracemalloc.takeSnapshot().dump(file);
    tracemalloc.stop();
    const t = new ExternalTracer({ interval: 1, nframe: 4, sourceMaps: true, adaptive: false }); // every allocation sampled
    tracer = t;
    t.start();
    for (let i = 0; i < 3; i++) held.push(tracemalloc.Snapshot.load(file)); // the library reads a file
    held.push(fs.readFileSync(file)); // the program reads the same file
    const builder = new StoreBuilder();
    t.addTraces(builder);
    const snapshot = Snapshot._fromColumns(builder.build(), 4);
    assert.equal(bytesThrough(snapshot, '// the library reads a file'), 0);
    assert.ok(bytesThrough(snapshot, '// the program reads the same file') >= fs.statSync(file).size);
    // No frame of this package in any trace.
    const own = path.join(__dirname, '..', '..', 'dist') + path.sep;
    for (const tr of snapshot.traces) assert.ok(Array.from(tr.traceback).every((f) => !f.filename.startsWith(own)), String(tr.traceback));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('byteSize() counts the bookkeeping of live samples, measured on the heap within 25 %', async () => {
  const N = 50_000;
  const measure = (traced: boolean): { delta: number; estimate: number } => {
    let t: ExternalTracer | null = null;
    if (traced) {
      t = new ExternalTracer({ interval: 1, nframe: 1, sourceMaps: false, adaptive: false });
      tracer = t;
      t.start();
    }
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept: Buffer[] = [];
    for (let i = 0; i < N; i++) kept.push(Buffer.alloc(100));
    gc();
    gc();
    const delta = process.memoryUsage().heapUsed - before;
    const estimate = t?.byteSize() ?? 0;
    t?.stop();
    tracer = null;
    assert.equal(kept.length, N);
    return { delta, estimate };
  };
  await nextTask();
  const untraced = measure(false);
  const traced = measure(true);
  const own = traced.delta - untraced.delta;
  assert.ok(Math.abs(traced.estimate - own) <= 0.25 * own, `estimate ${traced.estimate}, measured ${own}`);
  const t = new ExternalTracer({ interval: 1, nframe: 1, sourceMaps: false, adaptive: false });
  assert.equal(t.byteSize(), 0); // not started: nothing held
});

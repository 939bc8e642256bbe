// Issue 19 (b, c): the counter after a snapshot, and getTracemallocMemory() against measurements.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tracemalloc from 'tracemalloc';
import * as path from 'node:path';
import { gc, MiB, samplingBound } from './helpers/live.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const MEASURE_TIMEOUT_MS = 120_000;

let held: unknown[] = [];
afterEach(() => {
  tracemalloc.stop();
  held = [];
});

function smallObjects(bytes: number): Array<{ a: number; b: string }> {
  // About 56 bytes each (object + short string): bytes / 56 objects.
  const out = [];
  for (let i = 0; i < bytes / 56; i++) out.push({ a: i, b: `s${i}` });
  return out;
}

function heapTotal(snapshot: tracemalloc.Snapshot): number {
  let total = 0;
  for (const t of snapshot.traces) if (t.domain === tracemalloc.HEAP_DOMAIN) total += t.size;
  return total;
}

// At a 512 B interval V8's answer (the profile object) is several MiB. The counter's baseline
// used to be read after that answer was parsed, so once the profile was garbage-collected the
// counter read low by its size (10 % here). The baseline now comes from the GC's own record.
test('after a snapshot at a 512 B interval, the counter agrees with the snapshot once its garbage is collected', () => {
  const interval = 512;
  tracemalloc.start({ samplingInterval: interval, external: false });
  held.push(smallObjects(24 * MiB));
  let snap: tracemalloc.Snapshot | null = tracemalloc.takeSnapshot();
  const traced = heapTotal(snap);
  snap = null;
  gc();
  gc();
  const [current] = tracemalloc.getTracedMemory();
  const bound = samplingBound(traced, interval) + 0.03 * traced;
  assert.ok(Math.abs(current - traced) < bound, `counter ${(current / MiB).toFixed(2)} MiB vs snapshot ${(traced / MiB).toFixed(2)} MiB (bound ${(bound / MiB).toFixed(2)} MiB)`);
  assert.equal((held[0] as unknown[]).length > 0, true);
});

const PKG = path.join(__dirname, '..', '..');

/**
 * One program (keeps `objects` small objects allocated while traced, churns 2,000,000 more), run
 * untraced or traced at a 128 B interval; it prints what the tracer says it holds and what the
 * process holds: the resident bytes of the malloc arena (the `[heap]` mapping of
 * /proc/self/smaps, where V8's sample records and global handles live) plus V8's heap used. The
 * child runs with MALLOC_ARENA_MAX=1 (every thread's malloc in that one arena) and an mmap
 * threshold of 32 MiB (the sampler's growing tables stay in it too). This leaves out V8's heap
 * pages, resident or not: RSS - total_physical_size + heap used, used before, varied by up to
 * 15 MiB between identical untraced runs on Node 22+ (freed heap pages kept resident by V8's
 * page pool), which is what made Node 22+ look over-estimated 1.2-2.4x. This measure repeats to
 * +-1 MiB (notes/owncost.md has the runs).
 */
async function measureTracerMemory(mode: 'off' | 'live' | 'allocated', objects: number): Promise<{ est: number; used: number }> {
  const code = `
    const v8 = require('node:v8');
    v8.setFlagsFromString('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc');
    const tm = require('tracemalloc');
    const settle = () => { for (let i = 0; i < 4; i++) gc(); };
    settle();
    const mode = ${JSON.stringify(mode)};
    if (mode !== 'off') tm.start({ mode, samplingInterval: 128, external: false });
    const objs = [];
    for (let i = 0; i < ${objects}; i++) objs.push({ i, s: 'v' + i });
    let tmp = [];
    for (let i = 0; i < 2e6; i++) { tmp.push({ i }); if (tmp.length === 1000) tmp = []; }
    settle();
    let arena = 0, mapping = '';
    for (const line of require('node:fs').readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) mapping = line;
      else if (line.startsWith('Rss:') && mapping.endsWith('[heap]')) arena += Number(line.split(/\\s+/)[1]) * 1024;
    }
    const est = tm.getTracemallocMemory();
    console.log(JSON.stringify({ est, used: arena + v8.getHeapStatistics().used_heap_size, n: objs.length }));
  `;
  const env = { ...process.env, MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: String(32 * MiB) };
  // 2-4 s on a quiet machine; a loaded one (a CPU hog and three test suites on 2 cores) took
  // over the 20 s of helpers/child.ts's launch().
  const { stdout } = await execFileAsync(process.execPath, ['-e', code], { cwd: PKG, env, timeout: MEASURE_TIMEOUT_MS, maxBuffer: MiB });
  return JSON.parse(stdout) as { est: number; used: number };
}

/** Untraced runs, one per program size. */
const untraced = new Map<number, Promise<number>>();
function untracedUsed(objects: number): Promise<number> {
  let p = untraced.get(objects);
  if (p === undefined) {
    p = measureTracerMemory('off', objects).then((r) => r.used);
    untraced.set(objects, p);
  }
  return p;
}

/**
 * Live mode with 2.7 x 10^5 live samples: the estimate before this test (170 bytes times traced
 * heap / interval) was 1.48, 1.61, 1.22 and 1.26 times the measurement on Node 20, 22, 24 and 26
 * here (notes/owncost.md). 'allocated' mode: 1.4 x 10^5 live samples and the records of 2 x 10^6
 * collected objects.
 */
const CASES = [{ mode: 'live', objects: 600_000 }, { mode: 'allocated', objects: 300_000 }] as const;
const linux = process.platform === 'linux';
for (const { mode, objects } of CASES) {
  test(`getTracemallocMemory() is within 25% of the memory tracing adds (${mode} mode, ${objects} objects, 128 B interval)`,
    { skip: linux ? false : 'measures the malloc arena through /proc/self/smaps (Linux)' }, async (t) => {
      // Three runs each, the median kept: a stray transient malloc (a GC or compiler thread) can
      // leave the arena a few tens of MiB larger in one run (seen once in 48: +53 MiB), and in a
      // full suite one traced run once read ~45 MiB smaller than the others: an outlier either way.
      const offs = [await untracedUsed(objects)];
      for (let i = 0; i < 2; i++) offs.push((await measureTracerMemory('off', objects)).used);
      const off = offs.sort((a, b) => a - b)[1]!;
      const ons: { est: number; used: number }[] = [];
      for (let i = 0; i < 3; i++) ons.push(await measureTracerMemory(mode, objects));
      const on = ons.sort((a, b) => a.used - b.used)[1]!;
      const measured = on.used - off;
      const msg = `estimate ${(on.est / MiB).toFixed(1)} MiB, measured ${(measured / MiB).toFixed(1)} MiB (Node ${process.versions.node})`;
      t.diagnostic(msg);
      assert.ok(measured > 8 * MiB, `the measurement is too small to compare: ${msg}`);
      assert.ok(Math.abs(on.est - measured) <= 0.25 * measured, msg);
    });
}

// Flat program memory: the tracer's own estimate stays flat too. Held Buffers are traced in
// domain 1, not by V8's sampler, so they add no sample records ('live' used to count them as
// heap samples); 'allocated' mode used to add the tracer's own allocations at each fold (12 ->
// 82 MiB over 30 snapshots).
for (const mode of ['live', 'allocated'] as const) {
  test(`getTracemallocMemory() stays flat over 30 snapshots of a flat program holding 200 MiB of Buffers (${mode} mode)`, () => {
    tracemalloc.start({ mode, samplingInterval: 8192 });
    held.push(smallObjects(4 * MiB));
    tracemalloc.takeSnapshot();
    const withoutBuffers = tracemalloc.getTracemallocMemory();
    const buffers: Buffer[] = [];
    for (let i = 0; i < 200; i++) buffers.push(Buffer.alloc(MiB));
    held.push(buffers);
    const seen: number[] = [];
    for (let k = 0; k < 30; k++) {
      let junk: unknown[] | null = smallObjects(MiB);
      junk = null;
      tracemalloc.takeSnapshot();
      seen.push(tracemalloc.getTracemallocMemory());
      void junk;
    }
    const msg = `${(withoutBuffers / MiB).toFixed(2)} MiB before the Buffers, then ${seen.map((b) => (b / MiB).toFixed(2)).join(' ')}`;
    // 200 Buffers of 1 MiB are 200 domain-1 samples (their bookkeeping and the source lines of
    // their frames: 0.3 MiB measured); counted as heap they would be 25,600 phantom V8 samples
    // (4.2 MiB at 8 KiB).
    assert.ok(seen[0]! - withoutBuffers < MiB, `200 MiB of Buffers added too much: ${msg}`);
    // Slack for the tracer's own heap, which the estimate counts in steps of samples.
    assert.ok(seen[29]! <= seen[4]! * 1.25 + 128 * 1024, `grew over 30 snapshots of a flat program: ${msg}`);
  });
}

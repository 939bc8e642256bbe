/**
 * Grouping throughput of the data model: `statistics()`, `compareTo()` and `filterTraces()` on
 * synthetic snapshots of 10^4, 10^5 and 10^6 traces, and the memory a snapshot keeps per trace.
 * Built only through the public API (`new Snapshot(rawTraces, limit)`), with a seeded PRNG so
 * every run measures the same workload.
 *
 * Run: npm run bench -- grouping
 */
import * as tracemalloc from 'tracemalloc';
import {
  QUICK, emit, formatBytes, formatCount, formatMs, gc, interleave, log, median, prng, retainedBytes, sink, timeOnce,
  type BenchCheck, type BenchTable,
} from './lib.js';

type RawTrace = tracemalloc.RawTrace;
type RawFrame = tracemalloc.RawFrame;

const SIZES = QUICK ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const MEMORY_N = QUICK ? 100_000 : 1_000_000;
const FILES = 500;
const FRAMES = 5000;
const MAX_DEPTH = 10;
const LIMIT = MAX_DEPTH;
/** Measured rounds and warm-up rounds per size: small sizes get more, as they are cheap and noisier. */
const ROUNDS = (n: number): number => (n >= 1_000_000 ? 7 : 15);
const WARMUP = (n: number): number => (n >= 1_000_000 ? 1 : n >= 100_000 ? 5 : 25);
/** Fresh builds per size for the first-call times (and the constructor's time). */
const COLD_SAMPLES = 3;
const TARGET_MS = 1000;
const TARGET_BYTES_PER_TRACE = 1024;

/** The frames every workload draws from: ~5,000 distinct (file, line) pairs in 500 files. */
function frameUniverse(random: () => number): RawFrame[] {
  const dirs = ['src/routes', 'src/services', 'src/models', 'lib', 'node_modules/express/lib', 'node_modules/pg/lib',
    'node_modules/lodash', 'node_modules/@aws-sdk/client-s3/dist-cjs'];
  const files = Array.from({ length: FILES }, (_, i) => `/srv/app/${dirs[i % dirs.length]}/file${i}.js`);
  return Array.from({ length: FRAMES }, (_, j): RawFrame => [files[j % FILES]!, 1 + Math.floor(random() * 3000)]);
}

/**
 * A pool of distinct tracebacks (raw: most recent first) of depth 1-10. Frames are drawn with a
 * skew (some functions are on many stacks, as in real programs), and deeper stacks share their
 * oldest frames with others (a common entry point).
 */
function tracebackPool(count: number, frames: RawFrame[], random: () => number): RawFrame[][] {
  const roots = frames.slice(0, 20);
  const pool: RawFrame[][] = [];
  for (let t = 0; t < count; t++) {
    const depth = 1 + Math.floor(random() * MAX_DEPTH);
    const tb: RawFrame[] = [];
    for (let d = 0; d < depth; d++) {
      const oldest = d === depth - 1 && depth > 3;
      tb.push(oldest ? roots[Math.floor(random() * roots.length)]! : frames[Math.floor(frames.length * random() ** 2)]!);
    }
    pool.push(tb);
  }
  return pool;
}

/**
 * `n` raw traces over `pool[offset .. offset + n/20]`: every traceback of that range is used at
 * least once, the rest skewed toward a few hot ones. Sizes log-uniform in [16 B, 64 KiB], 10%
 * in the external domain, counts 1-4 (as a sampled estimate would be).
 */
function rawTraces(n: number, pool: RawFrame[][], offset: number, random: () => number): RawTrace[] {
  const distinct = Math.max(1, Math.round(n / 20));
  const traces: RawTrace[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const tb = offset + (i < distinct ? i : Math.floor(distinct * random() ** 2));
    const frames = pool[tb]!;
    const size = 8 * Math.round(2 ** (4 + random() * 12) / 8);
    const domain = random() < 0.1 ? 1 : 0;
    const total = frames.length === MAX_DEPTH ? MAX_DEPTH + Math.floor(random() * 20) : frames.length;
    traces[i] = [domain, size, frames, total, 1 + Math.floor(random() * 4)];
  }
  return traces;
}

/** The new and old raw traces for size `n`: old uses a pool range shifted by 10%, so some groups are only in one. */
function workload(n: number): { newRaw: RawTrace[]; oldRaw: RawTrace[] } {
  const random = prng(0x5eed + n);
  const frames = frameUniverse(random);
  const distinct = Math.max(1, Math.round(n / 20));
  const shift = Math.round(distinct / 10);
  const pool = tracebackPool(distinct + shift, frames, random);
  return { newRaw: rawTraces(n, pool, 0, random), oldRaw: rawTraces(n, pool, shift, random) };
}

type Snapshot = tracemalloc.Snapshot;
const OPERATIONS: [name: string, run: (snap: Snapshot, old: Snapshot) => unknown][] = [
  ["statistics('lineno')", (s) => s.statistics('lineno')],
  ["statistics('filename')", (s) => s.statistics('filename')],
  ["statistics('traceback')", (s) => s.statistics('traceback')],
  ["statistics('lineno', true)", (s) => s.statistics('lineno', true)],
  ["compareTo(old, 'lineno')", (s, o) => s.compareTo(o, 'lineno')],
  ["compareTo(old, 'traceback')", (s, o) => s.compareTo(o, 'traceback')],
  ["filterTraces([Filter(false, '*/file1*')])", (s) => s.filterTraces([new tracemalloc.Filter(false, '*/file1*')])],
];
const CONSTRUCT = 'new Snapshot(rawTraces, 10)';

interface SizeResult {
  n: number;
  groups: { lineno: number; traceback: number };
  construct: number;
  warm: Record<string, number>;
  cold: Record<string, number>;
}

function measureSize(n: number): SizeResult {
  log(`${formatCount(n)} traces: building the workload`);
  const { newRaw, oldRaw } = workload(n);
  // First calls: each operation on freshly built snapshots (the caches of interned keys are
  // empty), which is what a user calling statistics() once pays. The garbage of building is
  // collected first, so it is not charged to the call (the forced GC itself makes the call a
  // little slower: see InterleaveOptions.gcBetween). Each build also times the constructor.
  const coldSamples: Record<string, number[]> = Object.fromEntries(OPERATIONS.map(([name]) => [name, []]));
  const constructSamples: number[] = [];
  for (let sample = 0; sample < COLD_SAMPLES; sample++) {
    for (const [name, run] of OPERATIONS) {
      gc();
      let snap: Snapshot | undefined;
      constructSamples.push(timeOnce(() => (snap = new tracemalloc.Snapshot(newRaw, LIMIT))));
      const old = new tracemalloc.Snapshot(oldRaw, LIMIT);
      gc();
      coldSamples[name]!.push(timeOnce(() => run(snap!, old)));
    }
  }
  const cold = Object.fromEntries(OPERATIONS.map(([name]) => [name, median(coldSamples[name]!)]));
  log(`${formatCount(n)} traces: cold calls done; timing warm calls (${ROUNDS(n)} interleaved rounds)`);
  // Warm: all operations interleaved round by round on the same pair of snapshots.
  const snap = new tracemalloc.Snapshot(newRaw, LIMIT);
  const old = new tracemalloc.Snapshot(oldRaw, LIMIT);
  const cases = Object.fromEntries(OPERATIONS.map(([name, run]) => [name, () => run(snap, old)]));
  const timings = interleave(cases, { warmup: WARMUP(n), rounds: ROUNDS(n) });
  const warm = Object.fromEntries(OPERATIONS.map(([name]) => [name, timings[name]!.median]));
  const groups = { lineno: snap.statistics('lineno').length, traceback: snap.statistics('traceback').length };
  return { n, groups, construct: median(constructSamples), warm, cold };
}

/** Retained bytes per trace of a snapshot of `n` traces: right after construction, and after every kind of query (caches filled). */
function measureMemory(n: number): { built: number; queried: number; estimate: number } {
  log(`memory: ${formatCount(n)} traces`);
  const { newRaw } = workload(n);
  gc();
  const before = retainedBytes();
  let snap: Snapshot | null = new tracemalloc.Snapshot(newRaw, LIMIT);
  gc();
  const built = retainedBytes() - before;
  for (const key of ['lineno', 'filename', 'traceback'] as const) sink(snap.statistics(key));
  sink(snap.statistics('lineno', true));
  sink(null);
  gc();
  const queried = retainedBytes() - before;
  const estimate = snap.byteSize();
  sink(snap);
  snap = null;
  return { built: built / n, queried: queried / n, estimate: estimate / n };
}

function main(): void {
  const memory = measureMemory(MEMORY_N);
  sink(null);
  const results = SIZES.map(measureSize);
  const largest = results[results.length - 1]!;

  const timeTable: BenchTable = {
    caption: `Median of ${results.map((r) => ROUNDS(r.n)).join(', ')} interleaved warm calls (per size), after warm-up rounds; ` +
      `the last column is the first call on freshly built snapshots (median of ${COLD_SAMPLES}, after a forced GC), which also ` +
      'interns that key type. The constructor row is the median of every fresh build.',
    columns: ['operation', ...results.map((r) => `${formatCount(r.n)} traces`), `${formatCount(largest.n)}, first call`],
    rows: [
      ...OPERATIONS.map(([name]) => [name, ...results.map((r) => formatMs(r.warm[name]!)), formatMs(largest.cold[name]!)]),
      [CONSTRUCT, ...results.map((r) => formatMs(r.construct)), '–'],
    ],
  };
  const shapeTable: BenchTable = {
    caption: 'Workload shape (seeded, identical on every run).',
    columns: ['traces', 'distinct tracebacks', "'lineno' groups", "'traceback' groups"],
    rows: results.map((r) => [formatCount(r.n), Math.round(r.n / 20).toLocaleString('en-US'),
      r.groups.lineno.toLocaleString('en-US'), r.groups.traceback.toLocaleString('en-US')]),
  };
  const memoryTable: BenchTable = {
    caption: `Retained memory of one snapshot of ${formatCount(MEMORY_N)} traces (heapUsed + arrayBuffers after gc(), before/after, divided by the number of traces).`,
    columns: ['measure', 'bytes per trace'],
    rows: [
      ['after new Snapshot()', memory.built.toFixed(1)],
      ['after statistics() of every key type (caches filled)', memory.queried.toFixed(1)],
      ["snapshot.byteSize() (the snapshot's own estimate)", memory.estimate.toFixed(1)],
    ],
  };

  const checks: BenchCheck[] = [];
  for (const [name] of OPERATIONS) {
    if (!name.startsWith('statistics') && !name.startsWith('compareTo')) continue;
    const worst = Math.max(largest.warm[name]!, largest.cold[name]!);
    checks.push({ what: `${name}, ${formatCount(largest.n)} traces (worst of warm and first call)`, target: '< 1 s',
      value: formatMs(worst), ok: worst < TARGET_MS });
  }
  checks.push({ what: `retained memory per trace, ${formatCount(MEMORY_N)} traces`, target: 'well under 1 KiB',
    value: formatBytes(Math.max(memory.built, memory.queried)), ok: Math.max(memory.built, memory.queried) < TARGET_BYTES_PER_TRACE / 4 });

  emit({
    name: 'grouping',
    title: 'Grouping throughput and snapshot memory',
    description:
      '`statistics()`, `compareTo()` and `filterTraces()` on synthetic snapshots built through the public ' +
      '`new Snapshot(rawTraces, 10)`: about 5,000 distinct frames in 500 files, n/20 distinct tracebacks of depth 1–10 ' +
      '(skewed toward hot frames and tracebacks), log-uniform sizes from 16 B to 64 KiB, 10% in the external domain, from a ' +
      'seeded PRNG. The old snapshot of `compareTo` uses a traceback range shifted by 10%, so groups appear and disappear.',
    target: '`statistics()` and `compareTo()` on 10^6 traces < 1 s each (SPEC §7); memory well under 1 KiB per trace ' +
      '(checked here as < 256 B).',
    tables: [timeTable, shapeTable, memoryTable],
    checks,
    notes: [
      'A snapshot interns its frames and tracebacks and keeps the traces as typed-array columns; `Frame`, `Traceback` ' +
        'and `Statistic` objects are made only for the groups a query returns. The first call of a key type also interns ' +
        'that key type (lines, files or whole tracebacks) once per snapshot; later calls reuse it.',
    ],
  });
}

main();

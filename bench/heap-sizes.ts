/**
 * Snapshot pauses where services live: heaps of about 100 MiB, 1 GiB and 3 GiB, built by a
 * generated program of many allocation sites and realistic object shapes (records with strings
 * and arrays, Maps, nested objects, strings, number arrays). For each size, two helper processes
 * build the same heap: one traced by tracemalloc, one profiled by @datadog/pprof (V8 has one
 * sampling heap profiler per isolate, so they cannot share a process); both sample every 64 KiB
 * (tracemalloc's default). Then, in interleaved rounds, each helper times its calls on the main
 * thread:
 *
 * - tracemalloc: `takeSnapshot()` with the default settle (`snapshotGC: 'full'`); its parts: a full GC alone, the raw inspector round trip
 *   (`HeapProfiler.getSamplingProfile` through a second session: the GC, V8 building the profile,
 *   the JSON round trip), the conversion of that raw profile into a snapshot alone; and, as an
 *   experiment, the same read done by a worker thread (`inspector.Session.connectToMainThread()`)
 *   that also parses and converts the profile, while the main thread runs and measures what is
 *   taken from it.
 * - tracemalloc with `snapshotGC: 'fast'`, in a third helper (not on the 3 GiB heap: a third
 *   3 GiB process is more memory than the machine should give one benchmark): `takeSnapshot()`.
 * - pprof: `heap.profile()` (no GC: dead objects still sampled), `gc()` + `heap.profile()` (live
 *   objects, like a snapshot), `gc()` alone.
 * - once, on the ~100 MiB heap only (not interleaved: it is slow and memory-hungry):
 *   `v8.writeHeapSnapshot()` to /dev/null, in the pprof helper.
 *
 *   npm run bench -- heap-sizes              100 MiB, 1 GiB, 3 GiB
 *   npm run bench -- heap-sizes:100m,1g      some sizes
 *   npm run bench -- --no-3gib heap-sizes    without the 3 GiB heap
 *
 * Memory: the 3 GiB case runs two helpers of about 3.3 GiB each, with --max-old-space-size=5120,
 * about 7 GiB at the worst moment.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as inspector from 'node:inspector';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import * as tracemalloc from 'tracemalloc';
import { IN_CHILD, QUICK, emit, formatBytes, formatMs, formatRatio, log, median, serveChild, startChild, tempDir, type BenchCheck, type BenchTable } from './lib.js';
import { countNodes, post, type RawNode } from './lib.js';

type Pprof = typeof import('@datadog/pprof');

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const INTERVAL = 64 * KiB;
const PPROF_STACK_DEPTH = 128;
/**
 * `v8.writeHeapSnapshot()` is timed on heaps up to this size only: it took a minute on the
 * 137 MiB heap of a busy machine (its time grows at least linearly with the number of objects) and
 * needs several times the heap's memory; beyond, the table says "not run" and gives a lower bound
 * scaled from the largest heap it was run on.
 */
const HEAP_SNAPSHOT_MAX = 256 * MiB;

interface Size {
  key: string;
  label: string;
  bytes: number;
  rounds: number;
  /** --max-old-space-size of each helper (MiB). */
  maxOld: number;
}

const SIZES: Size[] = [
  { key: '100m', label: '~100 MiB', bytes: 100 * MiB, rounds: QUICK ? 3 : 7, maxOld: 1024 },
  { key: '1g', label: '~1 GiB', bytes: 1 * GiB, rounds: QUICK ? 2 : 5, maxOld: 2560 },
  { key: '3g', label: '~3 GiB', bytes: 3 * GiB, rounds: QUICK ? 1 : 3, maxOld: 5120 },
];

// ---------------------------------------------------------------------------------------------
// The generated program: FILES files x SITES functions, each an allocation site of one of five
// shapes, called round-robin below a short chain of callers until the heap reaches its size.

const FILES = 40;
const SITES = 50;

function generateProgram(): string {
  const dir = join(tempDir(), 'heap-program');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'keep.js'), "'use strict';\nmodule.exports = [];\n");
  const shapes = [
    // A record: strings, a small array, a nested object.
    (s: string) => `  for (let i = 0; i < n; i++) out.push({ id: i, name: 'user-' + i + '-${s}', email: 'u' + i + '@example.com', ` +
      `tags: ['a${s}', 'b', String(i & 63)], address: { city: 'c' + (i & 255), zip: 10000 + i, geo: [i * 0.5, i * 0.25] }, active: (i & 1) === 0 });`,
    // A Map of small entries.
    (s: string) => `  const m = new Map(); for (let i = 0; i < n; i++) m.set('${s}:' + i, { v: i, at: i * 1000 }); out.push(m);`,
    // Strings of varied length (log lines, cache keys).
    (s: string) => `  for (let i = 0; i < n; i++) out.push('GET /api/${s}/' + i + '?q=' + 'x'.repeat(i & 127) + ' 200 ' + (i * 7));`,
    // Arrays of numbers (time series).
    (_s: string) => `  for (let i = 0; i < n; i += 16) { const a = new Array(16); for (let k = 0; k < 16; k++) a[k] = i + k + 0.5; out.push(a); }`,
    // Class instances linked in a list (an ORM-ish graph).
    (s: string) => `  let prev = null; for (let i = 0; i < n; i++) { prev = new Node${s}(i, prev); if ((i & 31) === 0) { out.push(prev); prev = null; } }`,
  ];
  for (let f = 0; f < FILES; f++) {
    const lines = ["'use strict';", "const keep = require('./keep.js');"];
    const sites: string[] = [];
    for (let s = 0; s < SITES; s++) {
      const tag = `${f}_${s}`;
      lines.push(`class Node${tag} { constructor(v, next) { this.v = v; this.label = 'n${tag}'; this.next = next; } }`);
      lines.push(`function site_${tag}(n) {`, '  const out = [];', shapes[(f * SITES + s) % shapes.length]!(tag), '  keep.push(out);', '}');
      sites.push(`site_${tag}`);
    }
    lines.push(`module.exports = [${sites.join(', ')}];`, '');
    writeFileSync(join(dir, `file_${f}.js`), lines.join('\n'));
  }
  const index = [
    "'use strict';",
    "const keep = require('./keep.js');",
    `const sites = [].concat(${Array.from({ length: FILES }, (_, f) => `require('./file_${f}.js')`).join(', ')});`,
    'function handle(site, n) { site(n); }',
    'function dispatch(k, n) { handle(sites[k % sites.length], n); }',
    // Grow the heap to `bytes` (heap used after a GC), each call keeping about 40-100 KiB.
    'exports.build = (bytes, gc) => {',
    '  let k = 0;',
    '  for (;;) {',
    '    for (let j = 0; j < 400; j++) dispatch(k++, 600);',
    '    if (process.memoryUsage().heapUsed >= bytes) { gc(); if (process.memoryUsage().heapUsed >= bytes) return k; }',
    '  }',
    '};',
    'exports.clear = () => { keep.length = 0; };',
    '',
  ];
  const entry = join(dir, 'index.js');
  writeFileSync(entry, index.join('\n'));
  return entry;
}

interface Program {
  build(bytes: number, gc: () => void): number;
  clear(): void;
}

const gcNow = (): void => (globalThis as unknown as { gc: () => void }).gc();

// ---------------------------------------------------------------------------------------------
// Helpers

interface Setup {
  heapUsed: number;
  buildMs: number;
  calls: number;
  nodes?: number;
  traces?: number;
}

/** Times `fn` on this thread (wall clock: the pause the program sees). */
function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Wall time and the process's CPU time (every thread: V8's GC helpers too) of `fn`, ms. */
function timeBoth(fn: () => unknown): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const wall = time(fn);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}



/** The worker of the experiment: reads the main thread's profile, parses and converts it, off the main thread. */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const inspector = require('node:inspector');
const { join } = require('node:path');
const { addProfile } = require(join(workerData.dist, 'profile.js'));
const { StoreBuilder } = require(join(workerData.dist, 'store.js'));
const { CallFrameResolver, frameOwner } = require(join(workerData.dist, 'resolve.js'));
const session = new inspector.Session();
session.connectToMainThread();
session.post('HeapProfiler.enable', () => parentPort.postMessage({ ready: true }));
const resolver = new CallFrameResolver(true);
parentPort.on('message', ({ port }) => {
  const t0 = performance.now();
  session.post('HeapProfiler.getSamplingProfile', (err, res) => {
    const t1 = performance.now();
    let error = null;
    let traces = 0;
    try {
      if (err) throw err;
      const builder = new StoreBuilder();
      addProfile(builder, res.profile, { nframe: 1, interval: workerData.interval, domain: 0, resolve: resolver.resolve, owner: frameOwner });
      const store = builder.build();
      traces = store.size ?? 0;
    } catch (e) {
      error = String(e && e.stack || e);
    }
    port.postMessage({ readMs: t1 - t0, convertMs: performance.now() - t1, traces, error });
  });
});
`;

/** The 'fast' settle's helper: builds the same heap, times `takeSnapshot()` only. */
function fastHelper(): Record<string, (arg: never) => unknown> {
  return {
    setup: ({ program, bytes }: { program: string; bytes: number }): Setup => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const prog = require(program) as Program;
      tracemalloc.start(1, { samplingInterval: INTERVAL, snapshotGC: 'fast' });
      const t0 = performance.now();
      const calls = prog.build(bytes, gcNow);
      const buildMs = performance.now() - t0;
      tracemalloc.takeSnapshot();
      return { heapUsed: process.memoryUsage().heapUsed, buildMs, calls };
    },
    round: (): Record<string, number> => {
      const t = timeBoth(() => tracemalloc.takeSnapshot());
      return { takeSnapshot: t.wall, takeSnapshotCpu: t.cpu };
    },
  };
}

function tracemallocHelper(): Record<string, (arg: never) => unknown> {
  let raw: inspector.Session | null = null;
  let worker: Worker | null = null;
  let internals: {
    addProfile: typeof import('../src/profile.js').addProfile;
    StoreBuilder: typeof import('../src/store.js').StoreBuilder;
    resolver: import('../src/resolve.js').CallFrameResolver;
    frameOwner: typeof import('../src/resolve.js').frameOwner;
  } | null = null;
  let internalsError: string | null = null;
  const dist = join(__dirname, '..', '..', 'dist');

  /** The conversion alone, as takeSnapshot() runs it, on a profile read just before (untimed). */
  const convert = (): number => {
    if (internals === null) return NaN;
    const profile = post<{ profile: unknown }>(raw!, 'HeapProfiler.getSamplingProfile').profile;
    const { addProfile, StoreBuilder, resolver, frameOwner } = internals;
    return time(() => {
      const builder = new StoreBuilder();
      addProfile(builder, profile as never, { nframe: 1, interval: INTERVAL, domain: 0, resolve: resolver.resolve, owner: frameOwner });
      builder.build();
    });
  };

  /**
   * The worker experiment: the worker reads the profile through its own session connected to this
   * thread, then parses and converts it; meanwhile this thread spins and adds up every gap of more
   * than 0.2 ms between two iterations: the time V8 and the inspector took from it.
   */
  const viaWorker = (): { blockedMs: number; totalMs: number; workerReadMs: number; workerConvertMs: number } => {
    const { port1, port2 } = new MessageChannel();
    worker!.postMessage({ port: port2 }, [port2]);
    const t0 = performance.now();
    let last = t0;
    let blocked = 0;
    for (;;) {
      const t = performance.now();
      if (t - last > 0.2) blocked += t - last;
      last = t;
      const msg = receiveMessageOnPort(port1);
      if (msg !== undefined) {
        port1.close();
        const m = msg.message as { readMs: number; convertMs: number; error: string | null };
        if (m.error !== null) throw new Error(`worker: ${m.error}`);
        return { blockedMs: blocked, totalMs: performance.now() - t0, workerReadMs: m.readMs, workerConvertMs: m.convertMs };
      }
      if (t - t0 > 600_000) throw new Error('the worker did not answer in 10 minutes');
    }
  };

  return {
    setup: async ({ program, bytes }: { program: string; bytes: number }): Promise<Setup & { internalsError: string | null; workerError: string | null }> => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const prog = require(program) as Program;
      tracemalloc.start(1, { samplingInterval: INTERVAL });
      const t0 = performance.now();
      const calls = prog.build(bytes, gcNow);
      const buildMs = performance.now() - t0;
      raw = new inspector.Session();
      raw.connect();
      post(raw, 'HeapProfiler.enable');
      try {
        /* eslint-disable @typescript-eslint/no-require-imports */
        const resolve = require(join(dist, 'resolve.js')) as typeof import('../src/resolve.js');
        internals = {
          addProfile: (require(join(dist, 'profile.js')) as typeof import('../src/profile.js')).addProfile,
          StoreBuilder: (require(join(dist, 'store.js')) as typeof import('../src/store.js')).StoreBuilder,
          resolver: new resolve.CallFrameResolver(true),
          frameOwner: resolve.frameOwner,
        };
        /* eslint-enable @typescript-eslint/no-require-imports */
        convert();
      } catch (err) {
        internals = null;
        internalsError = (err as Error).message.split('\n')[0]!;
      }
      let workerError: string | null = null;
      try {
        worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dist, interval: INTERVAL } });
        await new Promise<void>((resolve, reject) => {
          worker!.once('message', () => resolve());
          worker!.once('error', reject);
        });
        worker.unref();
      } catch (err) {
        worker = null;
        workerError = (err as Error).message.split('\n')[0]!;
      }
      const p = post<{ profile: { head: RawNode } }>(raw, 'HeapProfiler.getSamplingProfile').profile;
      const snap = tracemalloc.takeSnapshot();
      return { heapUsed: process.memoryUsage().heapUsed, buildMs, calls, nodes: countNodes(p.head), traces: snap.traces.length, internalsError, workerError };
    },
    round: (): Record<string, number> => {
      const out: Record<string, number> = {};
      const cases: [string, () => void][] = [
        ['takeSnapshot', () => {
          const t = timeBoth(() => tracemalloc.takeSnapshot());
          out.takeSnapshot = t.wall;
          out.takeSnapshotCpu = t.cpu;
        }],
        ['gc', () => (out.gc = time(gcNow))],
        ['raw', () => (out.raw = time(() => post(raw!, 'HeapProfiler.getSamplingProfile')))],
        ['convert', () => (out.convert = convert())],
      ];
      if (worker !== null) {
        cases.push(['worker', () => {
          const w = viaWorker();
          out.workerBlocked = w.blockedMs;
          out.workerTotal = w.totalMs;
          out.workerRead = w.workerReadMs;
          out.workerConvert = w.workerConvertMs;
        }]);
      }
      const r = (round++) % cases.length;
      for (let k = 0; k < cases.length; k++) cases[(k + r) % cases.length]![1]();
      return out;
    },
  };
}

let round = 0;

function pprofHelper(): Record<string, (arg: never) => unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pprof = require('@datadog/pprof') as Pprof;
  return {
    setup: ({ program, bytes }: { program: string; bytes: number }): Setup => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const prog = require(program) as Program;
      pprof.heap.start(INTERVAL, PPROF_STACK_DEPTH);
      const t0 = performance.now();
      const calls = prog.build(bytes, gcNow);
      const buildMs = performance.now() - t0;
      pprof.heap.profile();
      return { heapUsed: process.memoryUsage().heapUsed, buildMs, calls };
    },
    round: (): Record<string, number> => {
      const out: Record<string, number> = {};
      const cases: [string, () => void][] = [
        ['profile', () => (out.profile = time(() => pprof.heap.profile()))],
        ['gcProfile', () => {
          const t = timeBoth(() => {
            gcNow();
            pprof.heap.profile();
          });
          out.gcProfile = t.wall;
          out.gcProfileCpu = t.cpu;
        }],
        ['gc', () => (out.gc = time(gcNow))],
      ];
      const r = (round++) % cases.length;
      for (let k = 0; k < cases.length; k++) cases[(k + r) % cases.length]![1]();
      return out;
    },
    heapSnapshot: (): { ms: number; error: string | null } => {
      try {
        return { ms: time(() => v8.writeHeapSnapshot('/dev/null')), error: null };
      } catch (err) {
        return { ms: NaN, error: (err as Error).message };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The parent

interface SizeResult {
  size: Size;
  tm: Setup & { internalsError: string | null; workerError: string | null };
  pp: Setup;
  fast: Setup | null;
  fastRounds: Record<string, number>[];
  tmRounds: Record<string, number>[];
  ppRounds: Record<string, number>[];
  heapSnapshot: { ms: number; error: string | null };
}

async function measureSize(size: Size, program: string): Promise<SizeResult> {
  const nodeArgs = [`--max-old-space-size=${size.maxOld}`];
  const tmChild = startChild(__filename, ['tracemalloc'], { nodeArgs });
  const ppChild = startChild(__filename, ['pprof'], { nodeArgs });
  const fastChild = size.key === '3g' ? null : startChild(__filename, ['fast'], { nodeArgs });
  try {
    // One at a time: two builds at once would time each other's GCs.
    const tm = await tmChild.call<SizeResult['tm']>('setup', { program, bytes: size.bytes });
    log(`${size.label}: tracemalloc helper built ${formatBytes(tm.heapUsed)} in ${formatMs(tm.buildMs)} (${tm.nodes} profile nodes, ${tm.traces} traces)`);
    const pp = await ppChild.call<Setup>('setup', { program, bytes: size.bytes });
    log(`${size.label}: pprof helper built ${formatBytes(pp.heapUsed)} in ${formatMs(pp.buildMs)}`);
    const fast = fastChild === null ? null : await fastChild.call<Setup>('setup', { program, bytes: size.bytes });
    const tmRounds: Record<string, number>[] = [];
    const ppRounds: Record<string, number>[] = [];
    const fastRounds: Record<string, number>[] = [];
    const helpers = { tm: { child: tmChild, rounds: tmRounds }, pp: { child: ppChild, rounds: ppRounds }, fast: { child: fastChild, rounds: fastRounds } };
    const orders: (keyof typeof helpers)[][] = [['tm', 'pp', 'fast'], ['pp', 'fast', 'tm'], ['fast', 'tm', 'pp']];
    // One warm-up round each, then interleaved rounds, each helper first in turn.
    for (let r = 0; r < size.rounds + 1; r++) {
      for (const who of orders[r % orders.length]!) {
        const h = helpers[who];
        if (h.child === null) continue;
        const t = await h.child.call<Record<string, number>>('round');
        if (r > 0) h.rounds.push(t);
      }
    }
    let heapSnapshot: { ms: number; error: string | null };
    if (size.bytes > HEAP_SNAPSHOT_MAX) {
      heapSnapshot = { ms: NaN, error: 'not run' };
    } else {
      log(`${size.label}: ${size.rounds} rounds done; v8.writeHeapSnapshot()...`);
      heapSnapshot = await ppChild.call<{ ms: number; error: string | null }>('heapSnapshot');
    }
    return { size, tm, pp, fast, fastRounds, tmRounds, ppRounds, heapSnapshot };
  } finally {
    await tmChild.close();
    await ppChild.close();
    await fastChild?.close();
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_CASES ? new Set(process.env.BENCH_CASES.split(',').map((s) => s.trim().toLowerCase())) : null;
  let sizes = only === null ? SIZES : SIZES.filter((s) => only.has(s.key));
  if (only !== null && sizes.length !== only.size) throw new Error(`unknown size in ${[...only].join(',')}; known: ${SIZES.map((s) => s.key).join(', ')}`);
  const skipped3g = process.env.BENCH_NO_3GIB === '1' && sizes.some((s) => s.key === '3g');
  if (skipped3g) sizes = sizes.filter((s) => s.key !== '3g');
  const program = generateProgram();
  const results: SizeResult[] = [];
  for (const size of sizes) {
    results.push(await measureSize(size, program));
    // Cumulative: if run.ts has to stop this module at its time limit, the sizes done are kept.
    report(results, sizes, only, skipped3g);
  }
}

function report(results: SizeResult[], sizes: Size[], only: Set<string> | null, skipped3g: boolean): void {
  const med = (rounds: Record<string, number>[], k: string): number => median(rounds.map((r) => r[k]!).filter((x) => x !== undefined && Number.isFinite(x)));
  const rows: (string | number)[][] = [];
  const checks: BenchCheck[] = [];
  for (const r of results) {
    const snap = med(r.tmRounds, 'takeSnapshot');
    const ppGc = med(r.ppRounds, 'gcProfile');
    const vs = (x: number): string => formatRatio(snap / x);
    let heapSnapshot = Number.isFinite(r.heapSnapshot.ms) ? formatMs(r.heapSnapshot.ms) : `failed: ${r.heapSnapshot.error}`;
    if (r.heapSnapshot.error === 'not run') {
      const known = results.filter((x) => Number.isFinite(x.heapSnapshot.ms)).pop();
      heapSnapshot = known === undefined ? 'not run' : `not run (> ${formatMs((known.heapSnapshot.ms * r.tm.heapUsed) / known.tm.heapUsed)}, scaled from ${known.size.label})`;
    }
    const fast = r.fastRounds.length === 0 ? NaN : med(r.fastRounds, 'takeSnapshot');
    rows.push([r.size.label, formatBytes(r.tm.heapUsed), formatMs(snap), formatMs(ppGc), vs(ppGc),
      formatRatio(med(r.tmRounds, 'takeSnapshotCpu') / med(r.ppRounds, 'gcProfileCpu')),
      Number.isFinite(fast) ? formatMs(fast) : 'not run', Number.isFinite(fast) ? formatRatio(fast / ppGc) : '–',
      formatMs(med(r.ppRounds, 'profile')),
      vs(med(r.ppRounds, 'profile')), heapSnapshot, Number.isFinite(r.heapSnapshot.ms) ? vs(r.heapSnapshot.ms) : '–']);
    checks.push({ what: `takeSnapshot() pause vs @datadog/pprof gc() + heap.profile(), ${r.size.label} heap`, target: '<= 1.00x',
      value: formatRatio(snap / ppGc), ok: snap <= ppGc });
  }
  const partRows = results.map((r) => {
    const t = (k: string): string => formatMs(med(r.tmRounds, k));
    return [r.size.label, String(r.tm.nodes), t('takeSnapshot'), t('gc'), formatMs(med(r.ppRounds, 'gc')), t('raw'), t('convert'),
      formatMs(med(r.tmRounds, 'takeSnapshot') - med(r.tmRounds, 'raw'))];
  });
  const workerRows = results.filter((r) => r.tm.workerError === null).map((r) => {
    const t = (k: string): string => formatMs(med(r.tmRounds, k));
    const snap = med(r.tmRounds, 'takeSnapshot');
    const blocked = med(r.tmRounds, 'workerBlocked');
    return [r.size.label, t('takeSnapshot'), t('workerBlocked'), formatRatio(blocked / snap), t('workerRead'), t('workerConvert'), t('workerTotal')];
  });
  const tables: BenchTable[] = [
    {
      caption: 'Main-thread pause per call, median of the interleaved rounds (each size: ' +
        `${results.map((r) => `${r.size.label} ${r.size.rounds}`).join(', ')} rounds after one warm-up); ratios are takeSnapshot() / the other call. ` +
        '"ratio of CPU times": the same two calls compared by the CPU time of their process (every thread) instead of the ' +
        'pause: on a busy machine the pause also measures the neighbours, the CPU time less so. `v8.writeHeapSnapshot()` is ' +
        'timed once, on the ~100 MiB heap only (it is far slower than the others and needs several times the heap\'s memory); ' +
        'on the larger heaps its lower bound is scaled from that one by heap size.',
      columns: ['heap', 'heap used', 'takeSnapshot()', 'pprof gc() + heap.profile()', 'ratio', 'ratio of CPU times',
        "takeSnapshot(), snapshotGC: 'fast'", 'ratio to pprof gc() + heap.profile()', 'pprof heap.profile() (no GC)', 'ratio',
        'v8.writeHeapSnapshot()', 'ratio'],
      rows,
    },
    {
      caption: 'Where takeSnapshot()\'s time goes (tracemalloc helper unless said): a full GC alone; the raw inspector round trip ' +
        '(a second session\'s `HeapProfiler.getSamplingProfile`: the GC the inspector forces, V8 building the profile, its JSON ' +
        'serialization and parse); the conversion of that raw profile into a snapshot alone (what a worker could take over); ' +
        'takeSnapshot() minus the raw round trip.',
      columns: ['heap', 'profile nodes', 'takeSnapshot()', 'gc()', 'gc() in the pprof helper', 'raw round trip', 'conversion alone', 'takeSnapshot() − raw'],
      rows: partRows,
    },
  ];
  if (workerRows.length > 0) {
    tables.push({
      caption: 'Experiment (bench code, not in the library): a worker thread reads the profile through ' +
        '`inspector.Session.connectToMainThread()`, then parses and converts it, while the main thread spins and adds up ' +
        'every gap of more than 0.2 ms: the main-thread time taken (V8\'s GC and profile building, the inspector\'s ' +
        'serialization, which run on the main thread), against takeSnapshot()\'s whole pause.',
      columns: ['heap', 'takeSnapshot()', 'main thread blocked, worker read', 'ratio', 'worker: read + parse', 'worker: conversion', 'until the worker is done'],
      rows: workerRows,
    });
  }
  const notes = [
    `Heaps: a generated program of ${FILES * SITES} allocation sites in ${FILES} files (records with strings, a small array and a ` +
      'nested object; Maps of small entries; strings of varied length; number arrays; linked class instances), called ' +
      'round-robin until heap used after a GC reaches the size. Both helpers sample every 64 KiB (tracemalloc\'s default; ' +
      `pprof with stack depth ${PPROF_STACK_DEPTH}). Build times (tracemalloc / pprof helper): ` +
      `${results.map((r) => `${r.size.label} ${formatMs(r.tm.buildMs)} / ${formatMs(r.pp.buildMs)}`).join(', ')}.`,
    "takeSnapshot() runs the default settle (`snapshotGC: 'full'`): `--retain-maps-for-n-gc=0` for the time of the read, one " +
      "full GC, then the read's own (two full GCs; the former settle ran four or more); `snapshotGC: 'fast'` runs the read's " +
      "GC only and may count garbage that V8 frees only at later GCs (docs/differences-from-python.md section 4). The 'fast' " +
      'helper is not run on the 3 GiB heap (a third process of that size).',
    'A snapshot must hold live objects only, so it pays a full GC, as `gc()` + `heap.profile()` does; `heap.profile()` alone ' +
      'is cheaper but its profile still holds samples of objects that died since the last GC. `v8.writeHeapSnapshot()` ' +
      'writes every object of the heap (here to /dev/null): the other tool a user would reach for.',
  ];
  const internalsError = results.find((r) => r.tm.internalsError !== null)?.tm.internalsError;
  if (internalsError !== undefined) notes.push(`The conversion could not be timed alone (the library's internals changed?): ${internalsError}.`);
  const workerError = results.find((r) => r.tm.workerError !== null)?.tm.workerError;
  if (workerError !== undefined) notes.push(`The worker experiment could not run: ${workerError}.`);
  if (skipped3g) notes.push('The 3 GiB heap was skipped (`--no-3gib`).');
  emit({
    name: 'heap-sizes',
    title: 'Snapshot pause on large heaps',
    description: 'The main-thread pause of `takeSnapshot()` on heaps of about 100 MiB, 1 GiB and 3 GiB, against @datadog/pprof\'s ' +
      '`heap.profile()` with and without a `gc()` before it and `v8.writeHeapSnapshot()`, each in a helper process that built ' +
      'the same heap; where the time goes; and what a worker thread could take off the main thread' +
      (only === null ? '.' : ` (cases: ${sizes.map((s) => s.key).join(', ')}).`),
    target: 'takeSnapshot()\'s pause no worse than @datadog/pprof\'s gc() + heap.profile() at every size (issue 17).',
    tables,
    checks,
    notes,
  });
}

if (IN_CHILD) {
  serveChild(process.argv[2] === 'pprof' ? pprofHelper() : process.argv[2] === 'fast' ? fastHelper() : tracemallocHelper());
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

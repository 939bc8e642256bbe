/**
 * Tracing overhead: three workloads (allocation-heavy, JSON/HTTP-like, Buffer-heavy), each timed
 * untraced, traced by tracemalloc and profiled by @datadog/pprof's heap profiler at the same
 * sampling intervals. Each workload runs in its own helper process; there every configuration
 * starts its profiler, runs the workload once (timed) and stops it again, in an order that rotates
 * from round to round. tracemalloc and pprof each drive V8's one sampling heap profiler, so they
 * never run at the same time. Ratios are medians of the per-round ratios to the untraced run.
 *
 * Run: npm run bench -- overhead
 */
import { Buffer } from 'node:buffer';
import * as tracemalloc from 'tracemalloc';
import {
  IN_CHILD, QUICK, bufferHeavyRound, emit, formatBytes, formatMs, formatRatio, interleaveSetup, log, median, saveArtifact, serveChild, sink, startChild,
  type BenchCheck, type BenchTable, type SetupCase,
} from './lib.js';

type Pprof = typeof import('@datadog/pprof');

const KiB = 1024;
/** The intervals compared (bytes). */
const INTERVALS = [8, 32, 64, 128, 512].map((k) => k * KiB);
/** Frames recorded per sample by pprof: the inspector's fixed depth, so both walk the same stacks. */
const PPROF_STACK_DEPTH = 128;
const ROUNDS = QUICK ? 3 : 9;
const WARMUP = 1;
/** Work per round, so that one untraced round takes roughly 100-200 ms on a 2020s server core. */
const SCALE = QUICK ? 0.25 : 1;

// ---------------------------------------------------------------------------------------------
// Workloads. Deterministic; what must survive the optimizer escapes into `ring` or `kept`.

let blackhole = 0;

/** Many small objects, one in four kept for the round; a churn of temporary arrays and strings. */
function allocationHeavy(): unknown {
  const n = Math.round(400_000 * SCALE);
  const kept: object[] = [];
  const ring: unknown[] = new Array(4096).fill(null);
  for (let i = 0; i < n; i++) {
    const item = { id: i, name: `item-${i}`, score: i * 0.5, tags: [i & 7, i & 15, i & 31] };
    if ((i & 3) === 0) kept.push(item);
    const tmp = new Array(8);
    for (let k = 0; k < 8; k++) tmp[k] = i + k;
    ring[i & 4095] = tmp;
    const text = `${item.name}:${item.score}:${tmp[3]}`;
    const parts = text.split(':');
    ring[(i + 2048) & 4095] = parts;
    blackhole += parts.length + text.length;
  }
  return kept;
}

const SKUS = Array.from({ length: 64 }, (_, i) => `SKU-${(i * 7919) % 100_000}`);

/** Request-like JSON parsed and serialized, response strings built, a bounded session cache kept. */
function jsonLike(): unknown {
  const n = Math.round(40_000 * SCALE);
  const sessions = new Map<string, unknown>();
  const ring: unknown[] = new Array(256).fill(null);
  for (let i = 0; i < n; i++) {
    const items = [];
    for (let k = 0; k < 3 + (i % 6); k++) items.push({ sku: SKUS[(i + k) & 63], qty: 1 + ((i + k) % 4), price: 100 + ((i * k) % 900) });
    const raw = JSON.stringify({
      method: 'POST',
      url: `/api/users/${i % 1000}/orders?page=${i % 7}`,
      headers: { 'content-type': 'application/json', 'x-request-id': `req-${i}`, 'user-agent': 'bench/1.0' },
      body: JSON.stringify({ user: i % 1000, items, note: i % 5 === 0 ? 'gift wrap, please' : null }),
    });
    const request = JSON.parse(raw) as { url: string; headers: Record<string, string>; body: string };
    const body = JSON.parse(request.body) as { user: number; items: { sku: string; qty: number; price: number }[] };
    let total = 0;
    for (const item of body.items) total += item.qty * item.price;
    const response = {
      status: 201,
      orderId: `${body.user}-${i}`,
      total,
      lines: body.items.map((item) => ({ sku: item.sku, amount: item.qty * item.price, label: `${item.qty} x ${item.sku}` })),
      requestId: request.headers['x-request-id'],
    };
    const payload = JSON.stringify(response);
    const head = `HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n` +
      `X-Request-Id: ${response.requestId}\r\n\r\n`;
    ring[i & 255] = head + payload;
    if (i % 8 === 0) sessions.set(`session-${i % 4000}`, { user: body.user, last: response.orderId, lines: response.lines });
    blackhole += head.length;
  }
  return sessions;
}

/** Buffers and typed arrays: alloc/allocUnsafe/from/concat, toString, typed arrays; some kept for the round. */
function bufferHeavy(): unknown {
  const round = bufferHeavyRound(Math.round(30_000 * SCALE));
  blackhole += round.sink;
  return round.kept;
}

/** Bytes of Buffers and typed arrays one round of `bufferHeavy` allocates, by the same arithmetic. */
function bufferHeavyExternalBytes(): number {
  const n = Math.round(30_000 * SCALE);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const a = 64 + (i & 1023);
    const b = Buffer.byteLength(`payload-${i}-${'x'.repeat(i & 63)}`);
    const c = 2048;
    bytes += a + b + c + (a + b + c) + 512 + 64 * 8;
    if (i % 32 === 0) bytes += 16 * KiB;
    if (i % 2048 === 0) bytes += 1024 * KiB;
  }
  return bytes;
}

const WORKLOADS: Record<string, { title: string; run: () => unknown; external: boolean }> = {
  allocation: { title: 'allocation-heavy', run: allocationHeavy, external: false },
  json: { title: 'JSON/HTTP-like', run: jsonLike, external: false },
  buffer: { title: 'Buffer-heavy', run: bufferHeavy, external: true },
};

// ---------------------------------------------------------------------------------------------
// The helper process: one workload, every configuration, interleaved.

interface WorkloadResult {
  workload: string;
  /** Case name -> per-round times (ms), rounds aligned across cases. */
  samples: Record<string, number[]>;
  /** Did `start()` wrap Buffer's entry points (the external domain)? */
  externalWrapped: boolean;
  /** Why @datadog/pprof could not be used, or null. */
  pprofError: string | null;
  /** V8 heap bytes one round allocates (estimated by tracing a round in 'allocated' mode). */
  allocated: number;
  /** Bytes of Buffers and typed arrays one round allocates (Buffer-heavy only, else 0). */
  external: number;
  /** V8's stack capture, measured in this helper (Buffer-heavy only). */
  stack: { captureNs: number; formattedNs: number } | null;
}

function loadPprof(): { pprof: Pprof | null; error: string | null } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { pprof: require('@datadog/pprof') as Pprof, error: null };
  } catch (err) {
    return { pprof: null, error: (err as Error).message.split('\n')[0]! };
  }
}

/**
 * V8's price of a stack capture like the external domain's (three frames below a wrapper, 200,000
 * calls each, median ns per call of 5 rounds): the capture alone, and with the text formatted.
 */
function stackCaptureCost(): { captureNs: number; formattedNs: number } {
  const E = Error as unknown as { stackTraceLimit: number; captureStackTrace(h: object, f: Function): void };
  const calls = QUICK ? 20_000 : 200_000;
  const time = (read: boolean): number => {
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) {
        const holder: { stack?: unknown } = {};
        const limit = E.stackTraceLimit;
        E.stackTraceLimit = 3;
        E.captureStackTrace(holder, time);
        E.stackTraceLimit = limit;
        if (read) blackhole += (holder.stack as string).length;
        else sink(holder);
      }
      rounds.push(Number(process.hrtime.bigint() - t0) / calls);
    }
    return median(rounds);
  };
  const outer = (read: boolean): number => time(read); // a frame or two below, as in a program
  return { captureNs: outer(false), formattedNs: outer(true) };
}

function caseName(kind: 'tracemalloc' | 'tracemalloc-noext' | 'tracemalloc-nocapture' | 'pprof', interval: number): string {
  return `${kind}@${interval / KiB}`;
}

function measureWorkload(name: string): WorkloadResult {
  const workload = WORKLOADS[name]!;
  const { pprof, error } = loadPprof();
  const originalAlloc = Buffer.alloc;
  tracemalloc.start(1, { external: true });
  const externalWrapped = Buffer.alloc !== originalAlloc;
  tracemalloc.stop();

  const run = (): unknown => {
    const kept = workload.run();
    sink(kept);
    return kept;
  };
  const drop = (): void => sink(null);
  const cases: Record<string, SetupCase> = { untraced: { run, after: drop } };
  for (const interval of INTERVALS) {
    cases[caseName('tracemalloc', interval)] = {
      before: () => tracemalloc.start(1, { samplingInterval: interval }),
      run,
      after: () => {
        tracemalloc.stop();
        drop();
      },
    };
    if (workload.external) {
      cases[caseName('tracemalloc-noext', interval)] = {
        before: () => tracemalloc.start(1, { samplingInterval: interval, external: false }),
        run,
        after: () => {
          tracemalloc.stop();
          drop();
        },
      };
      if (interval === INTERVALS[0]) {
        // A diagnosis, at the smallest interval only: the external domain with V8's stack capture
        // replaced by a constant stack, to split the cost of a sample between the capture and the rest.
        // (external-stack.ts calls own.ts's captureCallSites through the module's exports.)
        const ownModule = require('../../dist/own.js') as { captureCallSites: (callee: Function, limit: number) => readonly unknown[] };
        const capture = ownModule.captureCallSites;
        const constant = (function constantStack(): readonly unknown[] {
          return capture(constantStack, 3);
        })();
        cases[caseName('tracemalloc-nocapture', interval)] = {
          before: () => {
            ownModule.captureCallSites = () => constant;
            tracemalloc.start(1, { samplingInterval: interval });
          },
          run,
          after: () => {
            tracemalloc.stop();
            ownModule.captureCallSites = capture;
            drop();
          },
        };
      }
    }
    if (pprof !== null) {
      cases[caseName('pprof', interval)] = {
        before: () => pprof.heap.start(interval, PPROF_STACK_DEPTH),
        run,
        after: () => {
          pprof.heap.stop();
          drop();
        },
      };
    }
  }
  log(`${workload.title}: ${Object.keys(cases).length} configurations x ${WARMUP + ROUNDS} rounds`);
  const timings = interleaveSetup(cases, { warmup: WARMUP, rounds: ROUNDS, gcBetween: true });
  // How much one round allocates on the V8 heap: a round traced in 'allocated' mode (untimed).
  tracemalloc.start(1, { mode: 'allocated', external: false });
  sink(workload.run());
  let allocated = 0;
  for (const trace of tracemalloc.takeSnapshot().traces) if (trace.domain === tracemalloc.HEAP_DOMAIN) allocated += trace.size;
  tracemalloc.stop();
  sink(blackhole);
  return {
    workload: name,
    samples: Object.fromEntries(Object.entries(timings).map(([k, t]) => [k, t.samples])),
    externalWrapped,
    pprofError: error,
    allocated,
    external: workload.external ? bufferHeavyExternalBytes() : 0,
    stack: workload.external ? stackCaptureCost() : null,
  };
}

// ---------------------------------------------------------------------------------------------
// The parent: one helper per workload, then the tables.

/** Median of the per-round ratios `samples[name][r] / samples.untraced[r]`. */
function overheadRatio(result: WorkloadResult, name: string): number {
  const base = result.samples.untraced!;
  const own = result.samples[name];
  if (own === undefined) return NaN;
  return median(own.map((ms, r) => ms / base[r]!));
}

async function main(): Promise<void> {
  const results: WorkloadResult[] = [];
  for (const name of Object.keys(WORKLOADS)) {
    const child = startChild(__filename, [], { nodeArgs: ['--max-old-space-size=2048'] });
    try {
      results.push(await child.call<WorkloadResult>('measure', name));
    } finally {
      await child.close();
    }
  }
  const pprofError = results.find((r) => r.pprofError !== null)?.pprofError ?? null;
  const externalWrapped = results.every((r) => r.externalWrapped);

  const tables: BenchTable[] = [];
  const ratios: Record<string, Record<string, number>> = {};
  for (const result of results) {
    const workload = WORKLOADS[result.workload]!;
    const columns = ['sampling interval', 'tracemalloc'];
    if (workload.external) columns.push('tracemalloc, external: false');
    columns.push('@datadog/pprof heap');
    ratios[result.workload] = {};
    const rows = INTERVALS.map((interval) => {
      const tm = overheadRatio(result, caseName('tracemalloc', interval));
      ratios[result.workload]![String(interval)] = tm;
      const row: string[] = [`${interval / KiB} KiB`, formatRatio(tm)];
      if (workload.external) row.push(formatRatio(overheadRatio(result, caseName('tracemalloc-noext', interval))));
      row.push(pprofError === null ? formatRatio(overheadRatio(result, caseName('pprof', interval))) : 'not loaded');
      return row;
    });
    tables.push({
      caption: `**${workload.title}**: time traced / untraced, median of ${ROUNDS} interleaved per-round ratios ` +
        `(untraced round: ${formatMs(median(result.samples.untraced!))}, allocating about ${formatBytes(result.allocated)} ` +
        `on the V8 heap: ${formatBytes((result.allocated / median(result.samples.untraced!)) * 1000)}/s).`,
      columns,
      rows,
    });
  }

  const defaultInterval = tracemalloc.DEFAULT_SAMPLING_INTERVAL;
  const checks: BenchCheck[] = [];
  const atDefault = ratios.allocation?.[String(defaultInterval)];
  if (atDefault !== undefined) {
    checks.push({
      what: `tracing overhead, allocation-heavy workload, default interval (${defaultInterval / KiB} KiB)`,
      target: '<= 1.05x',
      value: formatRatio(atDefault),
      ok: atDefault <= 1.05,
    });
  }
  // accuracy.ts, which runs next, chooses the default interval from these ratios and its errors.
  saveArtifact('overhead', ratios);

  // V8's cost per sample, from the smallest interval (the largest signal): extra time / samples taken.
  const perSample = results.filter((r) => !WORKLOADS[r.workload]!.external).map((r) => {
    const interval = INTERVALS[0]!;
    const extraMs = (overheadRatio(r, caseName('tracemalloc', interval)) - 1) * median(r.samples.untraced!);
    return `${WORKLOADS[r.workload]!.title} ${((extraMs * 1000) / (r.allocated / interval)).toFixed(1)} µs`;
  });
  // The external domain's cost per sample: what the wrappers add over heap sampling alone.
  const perExternal = results.filter((r) => WORKLOADS[r.workload]!.external && r.external > 0).map((r) => {
    const interval = INTERVALS[0]!;
    const extraMs = (overheadRatio(r, caseName('tracemalloc', interval)) - overheadRatio(r, caseName('tracemalloc-noext', interval))) *
      median(r.samples.untraced!);
    const captureMs = (overheadRatio(r, caseName('tracemalloc', interval)) - overheadRatio(r, caseName('tracemalloc-nocapture', interval))) *
      median(r.samples.untraced!);
    return { us: (extraMs * 1000) / (r.external / interval), rate: (r.external / median(r.samples.untraced!)) * 1000, stack: r.stack!,
      captureUs: (captureMs * 1000) / (r.external / interval) };
  })[0];
  const notes = [
    'The cost is V8\'s, per sample: the time added is about (bytes allocated per second / interval) x (cost of one sample). ' +
      `Measured at ${INTERVALS[0]! / KiB} KiB: ${perSample.join(', ')} per sample (a stack walk and a record). So the ` +
      'overhead of a program follows its allocation rate: the allocation-heavy workload here allocates far faster than ' +
      'most services, which spend their time in I/O and in code that allocates less.',
    'Each workload runs in its own `node --expose-gc` helper process. In every round each configuration collects ' +
      'garbage, starts its profiler (`tracemalloc.start(1, { samplingInterval })`, or `heap.start(interval, ' +
      `${PPROF_STACK_DEPTH})\` of @datadog/pprof), runs the workload once (timed) and stops the profiler (untimed); the ` +
      'order of the configurations rotates from round to round, after one warm-up round. The two profilers never run ' +
      'at the same time: V8 has one sampling heap profiler per thread.',
    'The allocation-heavy workload makes 400,000 small objects with a string and a 3-element array each (one in four ' +
      'kept until the round ends), an 8-element array and a split string per object. The JSON/HTTP-like workload ' +
      'serializes and parses 40,000 request-like JSON documents, builds response objects, JSON and header strings, and ' +
      'keeps a bounded session cache. The Buffer-heavy workload makes 30,000 rounds of `Buffer.alloc`, ' +
      '`Buffer.from(string)`, `Buffer.allocUnsafe` (pooled), `Buffer.concat`, base64 `toString`, a `Uint8Array` and a ' +
      '`Float64Array`, keeping a 16 KiB Buffer in 32 and a 1 MiB `allocUnsafeSlow` in 2048.',
    externalWrapped
      ? 'The external domain (option `external`, default true) was active: `start()` wrapped the Buffer and typed-array ' +
        'entry points, so the "tracemalloc" column of the Buffer-heavy workload includes the wrappers and the ' +
        '"external: false" column is the cost of heap sampling alone.'
      : 'The external domain was **not** active in this build (`start()` did not wrap `Buffer.alloc`), so both ' +
        'tracemalloc columns of the Buffer-heavy workload measure heap sampling alone.',
    ...(perExternal === undefined || !externalWrapped ? [] : [
      `The Buffer-heavy workload allocates about ${formatBytes(perExternal.rate)}/s in Buffers and typed arrays, far more ` +
        'than it allocates on the V8 heap, and pprof does not see that memory at all. Tracing it costs about ' +
        `${perExternal.us.toFixed(1)} µs per external sample (measured at ${INTERVALS[0]! / KiB} KiB: the difference between ` +
        'the two tracemalloc columns, divided by the external samples a round takes). Of that, V8\'s capture of the JavaScript stack of the call ' +
        `(\`Error.captureStackTrace\`, three frames) is about ${perExternal.captureUs.toFixed(1)} µs: the same run with the capture ` +
        'replaced by a constant stack (a diagnosis, not an option) is that much faster. In a program the capture costs ' +
        'more than alone (' +
        `${(perExternal.stack.captureNs / 1000).toFixed(1)} µs unformatted, ${(perExternal.stack.formattedNs / 1000).toFixed(1)} µs ` +
        'formatted, in a loop of the same helper): V8 walks every frame above the call, and the frames of optimized code ' +
        'are rebuilt from their deoptimization data. The rest is the record: the sample, its FinalizationRegistry entry and ' +
        'WeakMap sentinel, and the work they add to the GCs. Between samples a wrapper costs a subtraction and a comparison (docs/external-memory.md). ' +
        'A program that allocates Buffers at this rate and cannot afford it passes `external: false`, or a larger interval.',
    ]),
    pprofError === null
      ? '@datadog/pprof\'s heap profiler (the same V8 sampler, read through its native addon instead of the inspector) ' +
        'costs the same as tracemalloc while sampling: both pay V8\'s per-sample stack walk. tracemalloc adds a ' +
        'once-a-second counter tick (`getTracedMemory()`\'s peak) and, with `external`, the Buffer wrappers.'
      : `@datadog/pprof could not be loaded: \`${pprofError}\`.`,
  ];

  emit({
    name: 'overhead',
    title: 'Tracing overhead',
    description:
      'Time of three workloads (allocation-heavy, JSON/HTTP-like, Buffer-heavy) traced by tracemalloc and profiled by ' +
      '@datadog/pprof\'s heap profiler at sampling intervals of 8 to 512 KiB, as a ratio to the same workload untraced ' +
      'in the same process.',
    target: 'At the default interval, the allocation-heavy workload runs at <= 1.05x of its untraced time (SPEC §7).',
    tables,
    checks,
    notes,
  });
}

if (IN_CHILD) {
  serveChild({ measure: (name: string) => measureWorkload(name) });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

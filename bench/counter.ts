/**
 * The cheap counter and the tracer's own memory. `getTracedMemory()` is timed call by call while a
 * workload allocates between the calls (median and p99 per call, default interval); the tracer's
 * memory is measured in two helper processes that keep the same objects, one untraced and one
 * traced at a small interval (hundreds of thousands of live samples): the difference in resident
 * and heap memory per 10^5 samples, next to what `getTracemallocMemory()` estimates.
 *
 * Run: npm run bench -- counter
 */
import * as tracemalloc from 'tracemalloc';
import {
  IN_CHILD, QUICK, emit, formatBytes, gc, log, median, quantile, serveChild, sink, startChild,
  type BenchCheck, type BenchTable,
} from './lib.js';

const KiB = 1024;
/** Timed calls of getTracedMemory(), in bursts between slices of the workload. */
const CALLS = QUICK ? 20_000 : 200_000;
const BURST = 100;
/** The memory test: objects kept, and the interval that gives ~2 x 10^5 live samples of them. */
const KEPT_OBJECTS = QUICK ? 200_000 : 1_000_000;
const MEMORY_INTERVAL = 256;
const TARGET_MEDIAN_US = 50;
/** The slowest call allowed: a scavenge of this workload takes a few ms; a stall of the counter took 30-150. */
const MAX_CALL_MS = 20;

let blackhole = 0;
const ring: unknown[] = new Array(1024).fill(null);

/** About 30 KiB of short-lived objects and strings. */
function slice(i: number): void {
  for (let k = 0; k < 256; k++) {
    const o = { k, i, label: `slice ${i}:${k}` };
    ring[(i * 256 + k) & 1023] = o;
    blackhole += o.label.length;
  }
}

/** Per-call times (µs) of `fn`, timed one by one in bursts between slices of the workload. */
function timeCalls(fn: () => unknown, calls: number): number[] {
  const times: number[] = [];
  for (let i = 0; times.length < calls; i++) {
    slice(i);
    for (let b = 0; b < BURST; b++) {
      const t0 = performance.now();
      sink(fn());
      times.push((performance.now() - t0) * 1000);
    }
  }
  return times;
}

interface MemoryResult {
  rss: number;
  heapUsed: number;
  external: number;
  samples: number;
  tracemallocMemory: number;
}

function keep(): unknown[] {
  const kept: unknown[] = new Array(KEPT_OBJECTS);
  for (let i = 0; i < KEPT_OBJECTS; i++) kept[i] = { i, a: null, b: null, c: null };
  return kept;
}

const helpers = {
  memory: (traced: boolean): MemoryResult => {
    // Warm up and settle the heap the same way in both processes.
    sink(keep());
    sink(null);
    gc();
    if (traced) tracemalloc.start(1, { samplingInterval: MEMORY_INTERVAL });
    const kept = keep();
    gc();
    const m = process.memoryUsage();
    const result: MemoryResult = { rss: m.rss, heapUsed: m.heapUsed, external: m.external, samples: 0, tracemallocMemory: 0 };
    if (traced) {
      result.tracemallocMemory = tracemalloc.getTracemallocMemory();
      result.samples = tracemalloc.takeSnapshot().traces.length;
      tracemalloc.stop();
    }
    sink(kept);
    return result;
  },
};

async function main(): Promise<void> {
  // getTracedMemory(): traced at the default interval, and the same calls untraced (they return [0, 0]).
  log(`getTracedMemory(): ${CALLS.toLocaleString('en-US')} timed calls`);
  const untraced = timeCalls(() => tracemalloc.getTracedMemory(), CALLS / 4);
  tracemalloc.start(1);
  const traced = timeCalls(() => tracemalloc.getTracedMemory(), CALLS);
  const resetPeak = timeCalls(() => tracemalloc.resetPeak(), CALLS / 4);
  tracemalloc.stop();
  const empty = timeCalls(() => 0, CALLS / 4);

  log('memory: untraced and traced helpers');
  const results: MemoryResult[] = [];
  for (const tracedRun of [false, true]) {
    const child = startChild(__filename, [], { nodeArgs: ['--max-old-space-size=2048'] });
    try {
      results.push(await child.call<MemoryResult>('memory', tracedRun));
    } finally {
      await child.close();
    }
  }
  const [base, withTracer] = results as [MemoryResult, MemoryResult];
  const per = (bytes: number): string => formatBytes((bytes / withTracer.samples) * 1e5);

  const fmtUs = (us: number): string => `${us < 10 ? us.toFixed(2) : us.toFixed(1)} µs`;
  const row = (name: string, t: number[]): string[] => [name, fmtUs(median(t)), fmtUs(quantile(t, 0.99)), fmtUs(quantile(t, 0.999)), fmtUs(t.reduce((a, b) => Math.max(a, b), 0))];
  const tables: BenchTable[] = [
    {
      caption: `Per call, ${CALLS.toLocaleString('en-US')} calls in bursts of ${BURST} between slices of an allocating ` +
        `workload (about 30 KiB of short-lived objects a slice), default interval (${tracemalloc.DEFAULT_SAMPLING_INTERVAL / KiB} ` +
        'KiB). Each call is timed alone with performance.now() (itself about 0.05 µs), so the times include that.',
      columns: ['call', 'median', 'p99', 'p99.9', 'max'],
      rows: [
        row('getTracedMemory(), tracing', traced),
        row('resetPeak(), tracing', resetPeak),
        row('getTracedMemory(), not tracing ([0, 0])', untraced),
        row('an empty call (the timer alone)', empty),
      ],
    },
    {
      caption: `The tracer's own memory: two processes keep the same ${KEPT_OBJECTS.toLocaleString('en-US')} objects, one ` +
        `untraced, one traced at a ${MEMORY_INTERVAL}-byte interval (${withTracer.samples.toLocaleString('en-US')} live samples); ` +
        'memory after gc(), before any snapshot.',
      columns: ['measure', 'untraced', 'traced', 'difference', 'per 10^5 samples'],
      rows: [
        ['resident set (rss)', formatBytes(base.rss), formatBytes(withTracer.rss), formatBytes(withTracer.rss - base.rss), per(withTracer.rss - base.rss)],
        ['V8 heap used', formatBytes(base.heapUsed), formatBytes(withTracer.heapUsed), formatBytes(withTracer.heapUsed - base.heapUsed),
          per(withTracer.heapUsed - base.heapUsed)],
        ['getTracemallocMemory() (estimate)', '–', formatBytes(withTracer.tracemallocMemory), '–', per(withTracer.tracemallocMemory)],
      ],
    },
  ];
  const med = median(traced);
  const worst = [...traced, ...resetPeak].reduce((a, b) => Math.max(a, b), 0);
  const checks: BenchCheck[] = [
    { what: 'getTracedMemory() median per call, tracing', target: `< ${TARGET_MEDIAN_US} µs`, value: fmtUs(med), ok: med < TARGET_MEDIAN_US },
    { what: 'slowest getTracedMemory() or resetPeak() call (no stall beyond a young-generation GC)', target: `< ${MAX_CALL_MS} ms`,
      value: fmtUs(worst), ok: worst < MAX_CALL_MS * 1000 },
  ];
  sink(blackhole);
  emit({
    name: 'counter',
    title: 'getTracedMemory() and the tracer\'s own memory',
    description:
      '`getTracedMemory()` timed call by call while a workload allocates between the calls, and the memory the tracer ' +
      'adds to a process per 10^5 live samples (V8 keeps each sample outside the JavaScript heap).',
    target: '`getTracedMemory()`: median < 50 µs, never a forced GC (SPEC §7).',
    tables,
    checks,
    notes: [
      '`getTracedMemory()` reads V8\'s heap statistics and folds the heap sizes that `v8.GCProfiler` recorded before each ' +
        'GC into the peak (when the heap shrank since the previous call, or at most once a millisecond); the slow calls ' +
        '(p99 and above) are those that fold; the max also catches a GC or a descheduling that happened during the call.',
      'Folding at every call, as the counter first did, stopped and restarted the GCProfiler each time; Node keeps a native ' +
        'object per restart until the next full GC, and a loop of calls stalled for 30-70 ms whenever Node\'s table of them ' +
        'grew (this table\'s max was 151 ms, on Node 20 and 26 alike). Hence the check on the max below.',
      'The per-sample memory is mostly outside the V8 heap (V8\'s sample records and their weak handles), so it shows in ' +
        'the resident set, not in heap used; `getTracemallocMemory()` estimates it at a fixed cost a sample (170 bytes, calibrated ' +
        'on this table) plus the tracer\'s caches. Resident-set differences include allocator slack: read them to a few MiB.',
    ],
  });
}

if (IN_CHILD) {
  serveChild({ memory: (traced: boolean) => helpers.memory(traced) });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

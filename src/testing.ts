/**
 * Leak assertions for any test framework: `measureLeak(fn)` estimates how many bytes each call of
 * `fn` leaves behind, `assertNoLeak(fn)` fails with the sites that grow. The estimate is the
 * least-squares slope of traced memory against the number of calls over several snapshots, and
 * the verdict allows for the sampling error; docs/testing.md explains the statistic and gives its
 * measured false-alarm and detection rates.
 */
import { AssertionError } from 'node:assert';
import * as v8 from 'node:v8';
import { formatSize } from './format.js';
import { sourceLine, type Frame } from './frame.js';
import { ownerAt, stackShowsProgram } from './own.js';
import type { Snapshot } from './snapshot.js';
import { isTracing, start, stop, takeSnapshot } from './tracer.js';

/** Options of `measureLeak` and `assertNoLeak`. Sizes are bytes; "per iteration" means per call of `fn`. */
export interface LeakOptions {
  /** Measured calls of `fn`, after the warm-up. Default 1000. */
  iterations?: number;
  /** Calls before measuring, so that caches fill and the JIT settles. Default: a tenth of `iterations`, at least 20. */
  warmup?: number;
  /** Snapshots are taken at the start and after each of this many equal parts of the calls. Default 10. */
  checkpoints?: number;
  /** Growth per call that counts as a leak, in bytes. Default 64. */
  threshold?: number;
  /** Mean bytes between heap samples when `measureLeak` starts tracing itself. Default 1024. */
  samplingInterval?: number;
  /** How many growing sites the report lists. Default 5. */
  limit?: number;
}

/** One allocation site and how much it grew between the first and the last checkpoint. */
export interface LeakSite {
  /** The site's file (the most recent frame outside Node.js internals). */
  filename: string;
  /** 1-based; for V8-heap traces, the line where the allocating function starts. */
  lineno: number;
  functionName: string | null;
  /** The source line, `''` when unknown. */
  line: string;
  /** Bytes at the site at the last checkpoint, and their change since the first (estimates). */
  size: number;
  sizeDiff: number;
  /** Objects at the site at the last checkpoint, and their change since the first (estimates). */
  count: number;
  countDiff: number;
}

/** What `measureLeak` found. */
export interface LeakReport {
  /** Measured calls (warm-up excluded). */
  iterations: number;
  warmup: number;
  /** Mean bytes between heap samples during the measurement. */
  samplingInterval: number;
  /** Estimated bytes left behind per call: the least-squares slope of traced bytes against calls. */
  growthPerIteration: number;
  /** Standard error of `growthPerIteration` (bytes per call), from the residuals and the sampling. */
  standardError: number;
  /** Growth per call allowed before `leaking` (bytes). */
  threshold: number;
  /** Allowance for noise over `threshold`: 4 standard errors of a growth of exactly `threshold` (bytes per call). */
  margin: number;
  /** `growthPerIteration > threshold + margin`. */
  leaking: boolean;
  /** Traced bytes (the tracer's own excluded) after `iteration` measured calls, one per snapshot. */
  checkpoints: { iteration: number; bytes: number }[];
  /** The sites that grew most between the first and the last checkpoint, biggest growth first. */
  sites: LeakSite[];
}

// TurboFan's allocation folding (one bump for several objects in optimized code) hides most of
// those objects from V8's sampling heap profiler: a hot function leaking 1 KiB a call was traced
// at half its size or less. Code optimized from now on does not fold, so it is sampled in full;
// code that was already optimized before this module was imported keeps folding (see
// docs/testing.md). The cost is a little speed in allocation-heavy optimized code.
v8.setFlagsFromString('--no-turbo-allocation-folding');

/** Standard errors of margin; with the threshold, this is what keeps clean code from failing. */
export const MARGIN_SIGMAS = 4;
const DEFAULTS = { iterations: 1000, checkpoints: 10, threshold: 64, samplingInterval: 1024, limit: 5 };
/** Frames kept when `measureLeak` starts tracing itself: enough to tell whose code allocated (see `isOwnTrace`). */
const OWN_NFRAME = 64;

function checkInt(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`options.${name} must be an integer in [${min}; ${max}], not ${String(value)}`);
  }
  return value;
}

interface Settings {
  iterations: number;
  warmup: number;
  checkpoints: number;
  threshold: number;
  samplingInterval: number;
  limit: number;
}

function settings(options: LeakOptions): Settings {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const iterations = checkInt('iterations', options.iterations ?? DEFAULTS.iterations, 2);
  const checkpoints = checkInt('checkpoints', options.checkpoints ?? Math.min(DEFAULTS.checkpoints, iterations), 2, iterations);
  const warmup = checkInt('warmup', options.warmup ?? Math.max(20, Math.round(iterations / 10)), 0);
  const threshold = options.threshold ?? DEFAULTS.threshold;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
    throw new RangeError(`options.threshold must be a number of bytes >= 0, not ${String(threshold)}`);
  }
  const samplingInterval = checkInt('samplingInterval', options.samplingInterval ?? DEFAULTS.samplingInterval, 1, 2 ** 31 - 1);
  const limit = checkInt('limit', options.limit ?? DEFAULTS.limit, 0);
  return { iterations, warmup, checkpoints, threshold, samplingInterval, limit };
}

/** The library's own frame (own.ts decides, by generated position; the tracer folds such frames out of tracebacks). */
function isOwn(f: Frame): boolean {
  return ownerAt(f.filename, f.lineno, f.column ?? 0) !== null;
}

/**
 * Did the tracer allocate this (a snapshot, a cache, a parsed source map) rather than the code
 * under test? The most recent frame of this package or its dependencies decides: the code under
 * test runs below the measuring loop (`BOUNDARY`); any other frame of ours means our own work. A
 * stack with no frame of ours (an async continuation, a timer) is the code under test's. V8 names
 * only the outermost function of inlined code, so the loop's three functions all count as the
 * boundary; none of them keeps an allocation from one checkpoint to the next.
 */
function isOwnTrace(frames: readonly Frame[]): boolean {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (isOwn(f)) return f.functionName === null || !BOUNDARY.has(f.functionName);
  }
  return false;
}

/** Calls the function under test. Its call site is made megamorphic first (`primeCallSite`), so V8 never inlines `fn` here. */
function callUnderTest(fn: (iteration: number) => unknown, iteration: number): unknown {
  return fn(iteration);
}

/**
 * Calls `callUnderTest` with more distinct functions than V8 inlines at one call site (4), so its
 * call of `fn` stays a real call: inlined into ours, `fn`'s allocations would carry our frame
 * instead of its own.
 */
function primeCallSite(): void {
  const dummies = [(i: number) => i, (i: number) => i + 1, (i: number) => i + 2, (i: number) => i + 3, (i: number) => i + 4, (i: number) => i + 5];
  for (const dummy of dummies) callUnderTest(dummy, 0);
}

/** Calls `fn` for iterations `from` to `to - 1`, awaiting its result when it is a promise (or thenable). */
async function runCalls(fn: (iteration: number) => unknown, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const result = callUnderTest(fn, i) as { then?: unknown } | null | undefined;
    if (result != null && typeof result.then === 'function') await result;
  }
}

/** Elements of the canary: an array of 1 MiB on the V8 heap, sampled for sure at intervals up to 128 KiB. */
const CANARY_ELEMENTS = 128 * 1024;
const CANARY_NAME = 'tracemallocLeakCanary';

/** A function that allocates the canary, compiled outside this package's files as the code under test is. */
function makeCanary(): () => unknown {
  const make = new Function(`return function ${CANARY_NAME}() { return new Array(${CANARY_ELEMENTS}).fill(0); };`) as () => () => unknown;
  return make();
}

/**
 * Throws unless `snapshot` holds the canary that `callUnderTest` just allocated: if the tracer
 * left out what the code under test allocates, every leak would pass unseen.
 */
function checkCanary(snapshot: Snapshot, interval: number, canary: unknown[], programSeen: boolean | null): void {
  const bytes = CANARY_ELEMENTS * 8;
  // The canary is compiled apart from the program (new Function): the caller's own frames tell
  // whether the program's code is taken for the library's (inside a bundle, one file holds both).
  if (programSeen === false) throw blind('the code that called measureLeak is taken for the library\'s own');
  if (interval > bytes / 8) return;
  const seen = snapshot.statistics('lineno').some((stat) => stat.size >= bytes && stat.traceback.at(-1)?.functionName === CANARY_NAME);
  if (!seen || canary.length !== CANARY_ELEMENTS) throw blind('a 1 MiB array allocated through its measuring loop is missing from the snapshot');
}

function blind(why: string): Error {
  const err = new Error(`measureLeak cannot see what the code under test allocates: ${why}, so every leak would pass unseen`);
  (err as Error & { code: string }).code = 'ERR_TRACEMALLOC_BLIND';
  return err;
}

const BOUNDARY = new Set([callUnderTest.name, runCalls.name, measureLeak.name]);

/** The frame a trace is charged to: the most recent one outside Node.js internals and this package (else the most recent). */
function siteFrame(frames: readonly Frame[]): Frame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (!f.filename.startsWith('node:') && f.filename !== '<unknown>' && !isOwn(f)) return f;
  }
  return frames[frames.length - 1];
}

interface SiteTotal {
  frame: Frame | undefined;
  line: string;
  size: number;
  count: number;
}

/** Traced bytes by site, and their sum, leaving out what the tracer allocated. */
function siteTotals(snapshot: Snapshot): { total: number; sites: Map<string, SiteTotal> } {
  const sites = new Map<string, SiteTotal>();
  let total = 0;
  for (const stat of snapshot.statistics('traceback')) {
    const frames = Array.from(stat.traceback);
    if (isOwnTrace(frames)) continue;
    const frame = siteFrame(frames);
    total += stat.size;
    const key = frame === undefined ? '' : `${frame.filename}\0${frame.lineno}`;
    let site = sites.get(key);
    if (site === undefined) {
      const line = frame === undefined || frame.lineno === 0 ? '' : sourceLine(stat.traceback._lines, frame.filename, frame.lineno).trim();
      site = { frame, line, size: 0, count: 0 };
      sites.set(key, site);
    }
    site.size += stat.size;
    site.count += stat.count;
  }
  return { total, sites };
}

/** Sites of the library's own code (the measuring loop), for the report's note. */
const OWN_SITES = new WeakSet<LeakSite>();

/**
 * The sites that grew, biggest first. Sites in this package are the measuring loop's own few
 * bytes unless V8 inlined the code under test into it: they are listed only above `ownMinimum`.
 */
function growingSites(first: Map<string, SiteTotal>, last: Map<string, SiteTotal>, limit: number, ownMinimum: number): LeakSite[] {
  const out: LeakSite[] = [];
  for (const [key, site] of last) {
    const before = first.get(key);
    const sizeDiff = site.size - (before?.size ?? 0);
    if (!(sizeDiff > 0)) continue;
    const own = site.frame !== undefined && isOwn(site.frame);
    if (own && sizeDiff <= ownMinimum) continue;
    const leakSite: LeakSite = {
      filename: site.frame?.filename ?? '<unknown>',
      lineno: site.frame?.lineno ?? 0,
      functionName: site.frame?.functionName ?? null,
      line: site.line,
      size: site.size,
      sizeDiff,
      count: site.count,
      countDiff: site.count - (before?.count ?? 0),
    };
    if (own) OWN_SITES.add(leakSite);
    out.push(leakSite);
  }
  return out.sort((a, b) => b.sizeDiff - a.sizeDiff || b.countDiff - a.countDiff).slice(0, limit);
}

/**
 * The least-squares slope of `ys` against `xs`, its standard error from the residuals, and the
 * standard error a pure sampling process of `rate` bytes per call would give it: each byte left
 * behind is an independent increment of variance `interval` (an estimate of S bytes of objects
 * smaller than the interval has variance S * interval), accumulated from one checkpoint to the next.
 */
export function slopeStatistics(xs: readonly number[], ys: readonly number[], rate: number, interval: number): { slope: number; residualError: number; samplingError: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let k = 0; k < n; k++) {
    sxx += (xs[k]! - mx) ** 2;
    sxy += (xs[k]! - mx) * (ys[k]! - my);
  }
  const slope = sxy / sxx;
  let rss = 0;
  for (let k = 0; k < n; k++) rss += (ys[k]! - my - slope * (xs[k]! - mx)) ** 2;
  const residualError = n > 2 ? Math.sqrt(rss / (n - 2) / sxx) : 0;
  // slope = sum_k w_k y_k with w_k = (x_k - mx) / sxx; y_k = y_0 + sum_{j<=k} D_j, so
  // slope = sum_j D_j c_j with c_j = sum_{k>=j} w_k, and Var(D_j) = rate * interval * (x_j - x_{j-1}).
  let variance = 0;
  let tail = 0;
  for (let j = n - 1; j >= 1; j--) {
    tail += (xs[j]! - mx) / sxx;
    variance += rate * interval * (xs[j]! - xs[j - 1]!) * tail * tail;
  }
  return { slope, residualError, samplingError: Math.sqrt(variance) };
}

/** Lets pending callbacks run and ends the current job, so `WeakRef` targets and finished work can be collected. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Calls `fn` (sync or async) `warmup + iterations` times and estimates the bytes each call leaves
 * behind. Traces with a small sampling interval if tracing is off (and stops after); if tracing is
 * already on, uses it as it is (a larger interval widens the margin). Takes `checkpoints + 2`
 * snapshots, each a full GC.
 */
export async function measureLeak(fn: (iteration: number) => unknown, options: LeakOptions = {}): Promise<LeakReport> {
  if (typeof fn !== 'function') throw new TypeError('fn must be a function');
  const s = settings(options);
  const programSeen = stackShowsProgram(measureLeak);
  const startedHere = !isTracing();
  if (startedHere) start(OWN_NFRAME, { samplingInterval: s.samplingInterval });
  try {
    primeCallSite();
    await runCalls(fn, 0, s.warmup);
    const canary = callUnderTest(makeCanary(), 0) as unknown[];
    // The site breakdown of the start is taken (and kept) before the first measured snapshot,
    // so that what it holds is in every checkpoint alike.
    const n = s.checkpoints + 1;
    const xs = new Array<number>(n).fill(0);
    const ys = new Array<number>(n).fill(0);
    await settle();
    const startSnapshot = takeSnapshot();
    const interval = startSnapshot.samplingInterval ?? s.samplingInterval;
    checkCanary(startSnapshot, interval, canary, programSeen);
    const first = siteTotals(startSnapshot).sites;
    let last: Map<string, SiteTotal> = first;
    let done = 0;
    for (let k = 0; k < n; k++) {
      const target = s.warmup + Math.round((s.iterations * k) / s.checkpoints);
      await runCalls(fn, s.warmup + done, target);
      done = target - s.warmup;
      await settle();
      const totals = siteTotals(takeSnapshot());
      xs[k] = done;
      ys[k] = totals.total;
      // Only the last breakdown is kept: the others are garbage by the next snapshot.
      if (k === n - 1) last = totals.sites;
    }
    const stats = slopeStatistics(xs, ys, s.threshold, interval);
    const observed = slopeStatistics(xs, ys, Math.max(0, stats.slope), interval);
    const margin = MARGIN_SIGMAS * Math.hypot(stats.residualError, stats.samplingError);
    return {
      iterations: s.iterations,
      warmup: s.warmup,
      samplingInterval: interval,
      growthPerIteration: stats.slope,
      standardError: Math.hypot(stats.residualError, observed.samplingError),
      threshold: s.threshold,
      margin,
      leaking: stats.slope > s.threshold + margin,
      checkpoints: xs.map((iteration, k) => ({ iteration, bytes: ys[k]! })),
      sites: growingSites(first, last, s.limit, s.iterations * s.threshold),
    };
  } finally {
    if (startedHere) stop();
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A readable account of a report: the verdict and its numbers, then the growing sites with file:line. */
export function formatLeakReport(report: LeakReport): string {
  const perCall = (v: number): string => formatSize(v / report.iterations, true);
  const lines = [
    `${report.leaking ? 'leak' : 'no leak'}: ${formatSize(report.growthPerIteration, true)} per call ± ${formatSize(report.standardError)} ` +
      `(allowed: ${formatSize(report.threshold)} + noise margin ${formatSize(report.margin)}; ${plural(report.iterations, 'call')} ` +
      `after ${report.warmup} warm-up, ${report.checkpoints.length} snapshots, sampling interval ${report.samplingInterval} B)`,
  ];
  if (report.sites.length > 0) {
    lines.push('growing sites (estimates; on the V8 heap, the line is where the allocating function starts):');
    for (const site of report.sites) {
      const fn = site.functionName === null ? '' : ` ${site.functionName}()`;
      const note = OWN_SITES.has(site) ? ' [code that V8 inlined into the measuring loop]' : '';
      lines.push(`  ${site.filename}:${site.lineno}${fn}: ${formatSize(site.sizeDiff, true)}, ` +
        `${signed(Math.round(site.countDiff))} objects (${perCall(site.sizeDiff)} per call)${note}`);
      if (site.line !== '') lines.push(`      ${site.line}`);
    }
  }
  return lines.join('\n');
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

/**
 * Throws node:assert's `AssertionError` when `fn` leaves more than `threshold` bytes per call
 * behind (beyond the sampling margin); its message lists the growing sites with file:line.
 * Resolves to the report otherwise. `fn` may be sync or async.
 */
export async function assertNoLeak(fn: (iteration: number) => unknown, options: LeakOptions = {}): Promise<LeakReport> {
  const report = await measureLeak(fn, options);
  if (report.leaking) {
    throw new AssertionError({
      message: `${fn.name === '' ? 'the function' : fn.name} leaks ${formatSize(report.growthPerIteration)} per call\n${formatLeakReport(report)}`,
      actual: report.growthPerIteration,
      expected: report.threshold,
      operator: 'assertNoLeak',
    });
  }
  return report;
}

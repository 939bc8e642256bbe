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
import { clearTraces, getTracedMemory, isTracing, resetPeak, start, stop, takeSnapshot } from './tracer.js';
import { captureStack, parseCapturedStack } from './stack.js';
import { errorWithCode, lastAbandoned, nextTurn, now, withTurn, type Turn } from './testing-runtime.js';


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
  /** Windows of `iterations` calls at most, while a growth above the threshold is still settling. Default 4. */
  maxWindows?: number;
  /** Milliseconds without a call of `fn` returning after which the measurement is aborted (ERR_TRACEMALLOC_STALLED). Default 4000. */
  stallTimeout?: number;
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
  /** Estimated bytes left behind per call: the least-squares slope of traced bytes against calls, over the last window. */
  growthPerIteration: number;
  /** Standard error of `growthPerIteration` (bytes per call), from the residuals and the sampling. */
  standardError: number;
  /** Growth per call allowed before `leaking` (bytes). */
  threshold: number;
  /** Allowance for noise over `threshold`: 4 standard errors of a growth of exactly `threshold` (bytes per call). */
  margin: number;
  /** The verdict of the windows' rule (docs/testing.md): steady growth above `threshold + margin`. */
  leaking: boolean;
  /** Why: which rule of the verdict applied. */
  reason: string;
  /** The windows measured, in order; `growthPerIteration`, `standardError` and `margin` are the last one's. */
  windows: LeakWindow[];
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
/** Standard errors by which a window's growth must fall below the previous one's to count as a warm-up still settling. */
export const SETTLING_SIGMAS = 3;
const DEFAULTS = { iterations: 1000, checkpoints: 10, threshold: 64, samplingInterval: 1024, limit: 5, maxWindows: 4, stallTimeout: 4000 };
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
  maxWindows: number;
  stallTimeout: number;
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
  const maxWindows = checkInt('maxWindows', options.maxWindows ?? DEFAULTS.maxWindows, 1, 1000);
  const stallTimeout = checkInt('stallTimeout', options.stallTimeout ?? DEFAULTS.stallTimeout, 1, 2 ** 31 - 1);
  return { iterations, warmup, checkpoints, threshold, samplingInterval, limit, maxWindows, stallTimeout };
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

/** Throws the reason the watchdog aborted this measurement, if it did: it no longer owns the tracer. */
function checkTurn(turn: Turn): void {
  if (turn.aborted !== null) throw turn.aborted;
}

/** Calls `fn` for iterations `from` to `to - 1`, awaiting its result when it is a promise (or thenable). */
async function runCalls(fn: (iteration: number) => unknown, from: number, to: number, turn: Turn): Promise<void> {
  for (let i = from; i < to; i++) {
    const result = callUnderTest(fn, i) as { then?: unknown } | null | undefined;
    if (result != null && typeof result.then === 'function') {
      await result;
      checkTurn(turn);
    }
    turn.progress = now();
  }
}

/**
 * Starts tracing for a measurement unless it is on; returns whether it started it. A failure
 * (another copy of tracemalloc holds V8's sampler: a test file or a test that started tracing
 * and never stopped it) is rethrown with what to do about it.
 */
function startTracing(samplingInterval: number, nframe: number, mode: 'live' | 'allocated'): boolean {
  if (isTracing()) return false;
  try {
    start(nframe, { samplingInterval, mode });
  } catch (err) {
    const abandoned = lastAbandoned();
    const e = errorWithCode(`tracemalloc/testing could not start tracing: ${(err as Error).message}. ` +
      'Something else in this process holds V8\'s heap sampler: most often an earlier test (or test file, in Jest each ' +
      'file has its own copy of tracemalloc) that called start() without stop(); stop tracing in an afterEach/afterAll hook.' +
      (abandoned === null ? '' : ` (Earlier in this thread, ${abandoned})`), (err as { code?: string }).code ?? 'ERR_TRACEMALLOC_BUSY');
    (e as Error & { cause: unknown }).cause = err;
    throw e;
  }
  return true;
}

/** The canary: 1024 arrays of ~1 KiB, kept together (1 MiB of ordinary small objects on the V8 heap). */
const CANARY_ARRAYS = 1024;
const CANARY_BYTES = CANARY_ARRAYS * 1032;
const CANARY_NAME = 'tracemallocLeakCanary';
/** The canary is checked at sampling intervals up to this: its estimate then has a standard error of at most 1/8 of its size. */
const CANARY_MAX_INTERVAL = 16 * 1024;

/** A function that allocates the canary, compiled outside this package's files as the code under test is. */
function makeCanary(): () => unknown {
  const make = new Function(`return function ${CANARY_NAME}() { const a = []; for (let i = 0; i < ${CANARY_ARRAYS}; i++) a.push(new Array(124).fill(i)); return a; };`) as () => () => unknown;
  return make();
}

/** Bytes of the snapshot's traces whose stack holds the canary's frame. */
function canaryBytes(snapshot: Snapshot): number {
  let bytes = 0;
  for (const stat of snapshot.statistics('traceback')) {
    if (Array.from(stat.traceback).some((f) => f.functionName === CANARY_NAME)) bytes += stat.size;
  }
  return bytes;
}

/**
 * Throws unless a snapshot holds at least half of the canary allocated through the measuring
 * loop (expected: all of it, within 4 standard errors at most): if the tracer left out what the
 * code under test allocates, every leak would pass unseen. A miss is tried once more before it
 * is an error (a snapshot can race with a scheduler's work under load). Returns the interval.
 */
async function checkCanary(requested: number, turn: Turn): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const canary = callUnderTest(makeCanary(), 0) as unknown[];
    await nextTurn();
    checkTurn(turn);
    const snapshot = checkpointSnapshot();
    const interval = snapshot.samplingInterval ?? requested;
    if (interval > CANARY_MAX_INTERVAL) return interval;
    const seen = canaryBytes(snapshot);
    if (seen >= CANARY_BYTES / 2 && canary.length === CANARY_ARRAYS) return interval;
    if (attempt >= 1) throw blind(`of 1 MiB allocated through its measuring loop, twice, the snapshot showed ${seen} bytes`);
  }
}

function blind(why: string): Error {
  return errorWithCode(`measureLeak cannot see what the code under test allocates: ${why}, so every leak would pass unseen`, 'ERR_TRACEMALLOC_BLIND');
}

const BOUNDARY = new Set([callUnderTest.name, runCalls.name, 'measureInTurn']);

/** The frame a trace is charged to: the most recent one outside Node.js internals and this package (else the most recent). */
function siteFrame(frames: readonly Frame[]): Frame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (!f.filename.startsWith('node:') && f.filename !== '<unknown>' && !isOwn(f)) return f;
  }
  return frames[frames.length - 1];
}

/** A frame of code outside Node.js internals, V8's pseudo-frames and this package. */
function isUserFrame(f: Frame): boolean {
  return !f.filename.startsWith('node:') && !f.filename.startsWith('<') && f.filename !== '' && !isOwn(f);
}

/**
 * Can the trace be the code under test's? It must have a frame of code outside Node.js and V8
 * (or of the measuring loop, into which V8 may inline it). What only Node.js internals and V8's
 * pseudo-frames allocated (the event loop's and async hooks' bookkeeping, the bytecode compiler)
 * is scheduling noise of the whole process, not a leak of the code under test: code under test
 * always reaches Node.js through a frame of its own.
 */
function isAttributable(frames: readonly Frame[], caller: CallerSites): boolean {
  return frames.some((f) => (isUserFrame(f) && !isCallerFrame(f, caller)) || (f.functionName !== null && BOUNDARY.has(f.functionName) && isOwn(f)));
}

/** file:line of each call on the caller's stack, and the column of the call. */
type CallerSites = ReadonlyMap<string, number>;

/**
 * A frame of the caller's stack: same file and line, at or shortly before the call's column (an
 * async frame points at the `await` before the call). A function under test written inline,
 * after the call's opening, is at a later column and is not mistaken for the caller.
 */
function isCallerFrame(f: Frame, caller: CallerSites): boolean {
  const column = caller.get(`${f.filename}:${f.lineno}`);
  const c = f.column ?? 0;
  return column !== undefined && c <= column && c >= column - CALLER_COLUMNS;
}

/**
 * How far before the call an async frame's column may be: `await `, a receiver (`await t.assertNoLeak(`).
 * Bounded, because in a minified bundle the whole program is one line: the function under test
 * lies elsewhere on the caller's line.
 */
const CALLER_COLUMNS = 32;

/**
 * The call sites (file:line:column) on the stack of the code that called the measurement: the
 * test's own body, awaiting it. Its continuations run on no frame of the code under test, and
 * the external domain charges the tracer's own Buffers to the first frame outside this package,
 * which is one of these: a trace whose only frames outside Node.js are these is not the code
 * under test's. Exact columns, so a function under test written on the same line still counts.
 */
function callerSites(callee: Function): CallerSites {
  const site = parseCapturedStack(captureStack(callee, CALLER_FRAMES), CALLER_FRAMES, CALLER_FRAMES, true);
  const out = new Map<string, number>();
  for (const f of site.frames) {
    if (f.filename === '<unknown>') continue;
    const key = `${f.filename}:${f.lineno}`;
    out.set(key, Math.max(out.get(key) ?? 0, f.column));
  }
  return out;
}

const CALLER_FRAMES = 64;

const NO_CALLER: CallerSites = new Map();

interface SiteTotal {
  frame: Frame | undefined;
  line: string;
  size: number;
  count: number;
}

/** Traced bytes by site, and their sum, leaving out what the tracer allocated. */
function siteTotals(snapshot: Snapshot, caller: CallerSites = NO_CALLER): { total: number; sites: Map<string, SiteTotal> } {
  const sites = new Map<string, SiteTotal>();
  let total = 0;
  for (const stat of snapshot.statistics('traceback')) {
    const frames = Array.from(stat.traceback);
    if (isOwnTrace(frames) || !isAttributable(frames, caller)) continue;
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

/** Sites of the library's own code (the measuring loop), for the report's note. */
const OWN_SITES = new WeakSet<LeakSite>();

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

/** Takes a checkpoint's snapshot. Not a measuring-loop function: what the snapshot itself keeps is charged here, to this package. */
function checkpointSnapshot(): Snapshot {
  return takeSnapshot();
}

/** One window of the measurement: `checkpoints` equal parts of `iterations` calls, a snapshot after each. */
export interface LeakWindow {
  /** Measured calls before the window and at its end (warm-up excluded). */
  from: number;
  to: number;
  /** The least-squares slope over the window's snapshots (bytes per call) and its standard error. */
  growthPerIteration: number;
  standardError: number;
  /** 4 standard errors of a growth at the threshold: sampling and residual noise (bytes per call). */
  margin: number;
  /** `growthPerIteration > threshold + margin`. */
  above: boolean;
  /** The slope over the window's first and second halves (bytes per call) and their standard errors: a bend shows a warm-up ending. */
  halves?: { first: number; firstError: number; second: number; secondError: number };
}

interface WindowSeries {
  xs: number[];
  ys: number[];
}

function windowStats(series: WindowSeries, from: number, threshold: number, interval: number): LeakWindow {
  const stats = slopeStatistics(series.xs, series.ys, threshold, interval);
  const observed = slopeStatistics(series.xs, series.ys, Math.max(0, stats.slope), interval);
  const margin = MARGIN_SIGMAS * Math.hypot(stats.residualError, stats.samplingError);
  const window: LeakWindow = {
    from,
    to: series.xs[series.xs.length - 1]!,
    growthPerIteration: stats.slope,
    standardError: Math.hypot(stats.residualError, observed.samplingError),
    margin,
    above: stats.slope > threshold + margin,
  };
  const n = series.xs.length;
  if (n >= 5) {
    const mid = Math.floor((n - 1) / 2);
    const half = (a: number, b: number): { slope: number; error: number } => {
      const xs = series.xs.slice(a, b + 1);
      const ys = series.ys.slice(a, b + 1);
      const st = slopeStatistics(xs, ys, 0, interval);
      const sampling = slopeStatistics(xs, ys, Math.max(threshold, st.slope), interval).samplingError;
      return { slope: st.slope, error: Math.hypot(st.residualError, sampling) };
    };
    const first = half(0, mid);
    const second = half(mid, n - 1);
    window.halves = { first: first.slope, firstError: first.error, second: second.slope, secondError: second.error };
  }
  return window;
}

/**
 * The decision on the windows measured so far: `'pass'`, `'leak'`, or `'more'` (measure another
 * window). Clean as soon as a window is not above the threshold; a leak when two consecutive
 * windows are above it and the second is not significantly lower than the first (steady
 * growth); while the growth is above the threshold but still falling significantly (a warm-up
 * settling), another window, up to `maxWindows`, after which growth above the threshold is a leak.
 */
export function decide(windows: readonly LeakWindow[], maxWindows: number): { verdict: 'pass' | 'leak' | 'more'; reason: string } {
  const w = windows[windows.length - 1]!;
  if (!w.above) return { verdict: 'pass', reason: windows.length === 1 ? 'growth under the threshold' : `growth settled under the threshold after ${windows.length} windows` };
  if (windows.length >= 2) {
    const p = windows[windows.length - 2]!;
    const h = w.halves;
    const falling = p.growthPerIteration - w.growthPerIteration > SETTLING_SIGMAS * Math.hypot(p.standardError, w.standardError) ||
      (h !== undefined && h.first - h.second > SETTLING_SIGMAS * Math.hypot(h.firstError, h.secondError));
    if (!falling) return { verdict: 'leak', reason: `steady growth over ${windows.length === 2 ? 'two' : 'the last two of ' + windows.length} consecutive windows` };
  }
  if (windows.length >= maxWindows) return { verdict: 'leak', reason: `growth still above the threshold after ${windows.length} windows (slowing, not stopping)` };
  return { verdict: 'more', reason: '' };
}

/**
 * Calls `fn` (sync or async) after a warm-up, in windows of `iterations` calls, until the rule of
 * `decide` reaches a verdict, and estimates the bytes each call leaves behind. Traces with a
 * small sampling interval if tracing is off (and stops after, also when `fn` throws or stalls);
 * if tracing is already on, uses it as it is (a larger interval widens the margin). Measurements
 * queue: at most one runs at a time in a thread, whichever copy of this package calls it.
 */
export function measureLeak(fn: (iteration: number) => unknown, options: LeakOptions = {}): Promise<LeakReport> {
  if (typeof fn !== 'function') return Promise.reject(new TypeError('fn must be a function'));
  let s: Settings;
  try {
    s = settings(options);
  } catch (err) {
    return Promise.reject(err);
  }
  let startedHere = false;
  const caller = callerSites(measureLeak);
  const programSeen = stackShowsProgram(measureLeak);
  return withTurn(`measureLeak(${fn.name || 'fn'})`, s.stallTimeout, async (turn) => {
    startedHere = startTracing(s.samplingInterval, OWN_NFRAME, 'live');
    try {
      // The canary is compiled apart from the program (new Function): the caller's own frames tell
      // whether the program's code is taken for the library's (inside a bundle, one file holds both).
      if (programSeen === false) throw blind('the code that called measureLeak is taken for the library\'s own');
      return await measureInTurn(fn, s, turn, caller);
    } finally {
      if (startedHere && turn.aborted === null) stop();
    }
  }, () => {
    if (startedHere) stop();
  });
}

async function measureInTurn(fn: (iteration: number) => unknown, s: Settings, turn: Turn, caller: CallerSites): Promise<LeakReport> {
  primeCallSite();
  await runCalls(fn, 0, s.warmup, turn);
  const interval = await checkCanary(s.samplingInterval, turn);
  await nextTurn();
  checkTurn(turn);
  // The site breakdown of the start is taken (and kept) before the first measured snapshot,
  // so that what it holds is in every checkpoint alike.
  const first = siteTotals(checkpointSnapshot(), caller).sites;
  let last: Map<string, SiteTotal> = first;
  await nextTurn();
  checkTurn(turn);
  const xs: number[] = [];
  const ys: number[] = [];
  let done = 0;
  xs.push(0);
  ys.push(siteTotals(checkpointSnapshot(), caller).total);
  const windows: LeakWindow[] = [];
  let decision: { verdict: 'pass' | 'leak' | 'more'; reason: string } = { verdict: 'more', reason: '' };
  while (decision.verdict === 'more') {
    const from = done;
    const series: WindowSeries = { xs: [done], ys: [ys[ys.length - 1]!] };
    for (let k = 1; k <= s.checkpoints; k++) {
      const target = from + Math.round((s.iterations * k) / s.checkpoints);
      await runCalls(fn, s.warmup + done, s.warmup + target, turn);
      done = target;
      await nextTurn();
      checkTurn(turn);
      const totals = siteTotals(checkpointSnapshot(), caller);
      turn.progress = now();
      xs.push(done);
      ys.push(totals.total);
      series.xs.push(done);
      series.ys.push(totals.total);
      last = totals.sites;
    }
    windows.push(windowStats(series, from, s.threshold, interval));
    decision = decide(windows, s.maxWindows);
  }
  const w = windows[windows.length - 1]!;
  return {
    iterations: done,
    warmup: s.warmup,
    samplingInterval: interval,
    growthPerIteration: w.growthPerIteration,
    standardError: w.standardError,
    threshold: s.threshold,
    margin: w.margin,
    leaking: decision.verdict === 'leak',
    reason: decision.reason,
    windows,
    checkpoints: xs.map((iteration, k) => ({ iteration, bytes: ys[k]! })),
    sites: growingSites(first, last, s.limit, w.to * s.threshold),
  };
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
  if (report.windows.length > 1) {
    lines.push(`windows: ${report.windows.map((w) => `${formatSize(w.growthPerIteration, true)}${w.above ? '' : ' (under)'}`).join(', ')} per call; ${report.reason}`);
  }
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

/** Options of `measurePeak` and `assertMaxMemory`. */
export interface PeakOptions {
  /** Mean bytes between heap samples when tracing is started for the call (the sites' precision). Default 1024. */
  samplingInterval?: number;
  /** How many sites the report lists. Default 5. */
  limit?: number;
  /** Milliseconds `fn` may run before the measurement is aborted (ERR_TRACEMALLOC_STALLED). Default 60000. */
  stallTimeout?: number;
}

/** A site that allocated (or, when tracing was already on, kept) memory during the call. */
export interface PeakSite {
  filename: string;
  lineno: number;
  functionName: string | null;
  line: string;
  /** Estimated bytes and objects (sampled). */
  size: number;
  count: number;
}

/** What `measurePeak` found. */
export interface PeakReport {
  /** Highest traced memory during the call, over what was traced just before it (bytes). */
  peak: number;
  /** Traced memory at the end of the call, over what was traced just before it (bytes; the call's garbage not yet collected included). */
  end: number;
  samplingInterval: number;
  /**
   * `'allocated'`: the sites are what the call allocated, garbage included (tracing was started for
   * the call): the peak is made of these. `'kept'`: tracing was already on in 'live' mode, so the
   * sites are what the call left alive.
   */
  sitesKind: 'allocated' | 'kept';
  /** Biggest first. */
  sites: PeakSite[];
}

/** Bytes between V8 heap samples for `measurePeak`'s sites when it starts tracing itself. */
const PEAK_DEFAULTS = { samplingInterval: 1024, limit: 5, stallTimeout: 60_000 };

function topSites(snapshot: Snapshot, before: Snapshot | null, limit: number): PeakSite[] {
  const now = siteTotals(snapshot).sites;
  const then = before === null ? new Map<string, SiteTotal>() : siteTotals(before).sites;
  const out: PeakSite[] = [];
  for (const [key, site] of now) {
    const size = site.size - (then.get(key)?.size ?? 0);
    if (!(size > 0)) continue;
    out.push({
      filename: site.frame?.filename ?? '<unknown>',
      lineno: site.frame?.lineno ?? 0,
      functionName: site.frame?.functionName ?? null,
      line: site.line,
      size,
      count: site.count - (then.get(key)?.count ?? 0),
    });
  }
  return out.sort((a, b) => b.size - a.size).slice(0, limit);
}

/**
 * Calls `fn` once (awaiting it when it returns a promise) and measures the peak of traced memory
 * during the call: `getTracedMemory()`'s counter, which reads the V8 heap's used size exactly
 * (not sampled) and the heap's size before each GC, plus the exact bytes of ArrayBuffers. Names
 * the sites (sampled). Queues with the other measurements of this thread.
 */
export function measurePeak(fn: () => unknown, options: PeakOptions = {}): Promise<PeakReport> {
  if (typeof fn !== 'function') return Promise.reject(new TypeError('fn must be a function'));
  if (options === null || typeof options !== 'object') return Promise.reject(new TypeError('options must be an object'));
  let interval: number;
  let limit: number;
  let stallTimeout: number;
  try {
    interval = checkInt('samplingInterval', options.samplingInterval ?? PEAK_DEFAULTS.samplingInterval, 1, 2 ** 31 - 1);
    limit = checkInt('limit', options.limit ?? PEAK_DEFAULTS.limit, 0);
    stallTimeout = checkInt('stallTimeout', options.stallTimeout ?? PEAK_DEFAULTS.stallTimeout, 1, 2 ** 31 - 1);
  } catch (err) {
    return Promise.reject(err);
  }
  let startedHere = false;
  return withTurn(`assertMaxMemory(${fn.name || 'fn'})`, stallTimeout, async (turn) => {
    startedHere = startTracing(interval, OWN_NFRAME, 'allocated');
    try {
      await nextTurn();
      checkTurn(turn);
      // A snapshot runs a full GC: the counter then starts from live memory, not from garbage.
      const first = takeSnapshot();
      if (startedHere) clearTraces();
      resetPeak();
      const [before] = getTracedMemory();
      const result = callUnderTest(fn as (i: number) => unknown, 0) as { then?: unknown } | null | undefined;
      if (result != null && typeof result.then === 'function') await result;
      checkTurn(turn);
      const [current, peak] = getTracedMemory();
      const last = takeSnapshot();
      return {
        peak: Math.max(0, peak - before),
        end: Math.max(0, current - before),
        samplingInterval: last.samplingInterval ?? interval,
        sitesKind: startedHere ? 'allocated' : 'kept',
        sites: topSites(last, startedHere ? null : first, limit),
      } satisfies PeakReport;
    } finally {
      if (startedHere && turn.aborted === null) stop();
    }
  }, () => {
    if (startedHere) stop();
  });
}

/** A readable account of a peak report: the peak, then the sites with file:line. */
export function formatPeakReport(report: PeakReport, limitBytes?: number): string {
  const lines = [`peak ${formatSize(report.peak)} during the call` + (limitBytes === undefined ? '' : ` (limit ${formatSize(limitBytes)})`) +
    `, ${formatSize(report.end)} at its end (garbage not yet collected included; sampling interval ${report.samplingInterval} B)`];
  if (report.sites.length > 0) {
    lines.push(report.sitesKind === 'allocated' ? 'top sites by bytes allocated during the call (estimates):' : 'top sites by bytes kept by the call (estimates):');
    for (const site of report.sites) {
      const fn = site.functionName === null ? '' : ` ${site.functionName}()`;
      lines.push(`  ${site.filename}:${site.lineno}${fn}: ${formatSize(site.size)}, ${Math.round(site.count)} objects`);
      if (site.line !== '') lines.push(`      ${site.line}`);
    }
  }
  return lines.join('\n');
}

/**
 * pytest-memray's `limit_memory` for Node.js: calls `fn` once (sync or async) and throws
 * node:assert's `AssertionError` when the peak of traced memory during the call exceeds `bytes`,
 * naming the sites that made it. Resolves to the report otherwise.
 */
export async function assertMaxMemory(fn: () => unknown, bytes: number, options: PeakOptions = {}): Promise<PeakReport> {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
    throw new RangeError(`bytes must be a finite number of bytes >= 0, not ${String(bytes)}`);
  }
  const report = await measurePeak(fn, options);
  if (report.peak > bytes) {
    throw new AssertionError({
      message: `${fn.name === '' ? 'the function' : fn.name} used ${formatSize(report.peak)} at its peak, over the limit of ${formatSize(bytes)}\n${formatPeakReport(report, bytes)}`,
      actual: report.peak,
      expected: bytes,
      operator: 'assertMaxMemory',
    });
  }
  return report;
}

/**
 * Shared helpers of the benchmarks: the result shape a benchmark module prints, timing
 * (medians, interleaved rounds), a seeded PRNG, heap measurement and table formatting.
 *
 * A benchmark module (bench/<name>.ts) runs in its own `node --expose-gc` process started by
 * run.ts. It measures, then calls `emit(result)` once: that prints one line
 * `BENCH_RESULT <json>` on stdout, which run.ts collects. Anything else the module prints (on
 * stdout or stderr) is passed through as progress. Times are milliseconds, sizes bytes.
 */

/** A table of results: `columns` are the headers, each row has one cell per column. */
export interface BenchTable {
  /** A short line shown above the table, or omitted. */
  caption?: string;
  columns: string[];
  rows: (string | number)[][];
}

/** One target of the performance contract (SPEC §7) and whether this run met it. */
export interface BenchCheck {
  /** What is measured, e.g. "statistics('lineno'), 10^6 traces". */
  what: string;
  /** The target as text, e.g. "< 1 s". */
  target: string;
  /** The measured value as text, e.g. "212 ms". */
  value: string;
  ok: boolean;
}

/** What a benchmark module prints (through `emit`) and run.ts turns into a docs section. */
export interface BenchResult {
  /** The registry name (bench/<name>.ts). */
  name: string;
  /** The section's title in docs/performance.md. */
  title: string;
  /** One or two sentences: what is measured, on what workload, and how. */
  description: string;
  /** The SPEC §7 target in words. */
  target: string;
  tables: BenchTable[];
  checks: BenchCheck[];
  /** Extra remarks printed under the tables (one paragraph each). */
  notes?: string[];
}

const RESULT_PREFIX = 'BENCH_RESULT ';

/** Prints `result` as the line run.ts collects. Call it once, at the end of the module. */
export function emit(result: BenchResult): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** @internal Finds the result line in a module's stdout, or `null`. */
export function parseResult(stdout: string): BenchResult | null {
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith(RESULT_PREFIX)) return JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchResult;
  }
  return null;
}

/** Progress for the person watching: goes to stderr so it never mixes with the result line. */
export function log(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

/** True when run.ts was given `--quick`: modules should use smaller workloads (not written to docs). */
export const QUICK = process.env.BENCH_QUICK === '1';

// ---------------------------------------------------------------------------------------------
// Statistics and timing

/** The median of `values` (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

/** Runs `fn` once and returns how long it took, in milliseconds. */
export function timeOnce(fn: () => unknown): number {
  const start = now();
  sink(fn());
  return now() - start;
}

let sinkValue: unknown;
/** Keeps a result alive so the optimizer cannot drop the work that produced it. */
export function sink(value: unknown): void {
  sinkValue = value;
}
/** @internal */
export function lastSunk(): unknown {
  return sinkValue;
}

/** Collects garbage when the process runs with `--expose-gc` (run.ts always passes it). */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect !== undefined) {
    collect();
    collect();
  }
}

export interface InterleaveOptions {
  /** Rounds that are run and thrown away first (JIT warm-up). Default 1. */
  warmup?: number;
  /** Measured rounds; the result is the median over them. Default 7. */
  rounds?: number;
  /**
   * Collect garbage before every call. Default false: a forced GC right before a timed call makes
   * that call slower (V8 shrinks the young generation, and the call pays to grow it again; seen
   * as 2x on a 2 ms call), while the rotating order already spreads one case's garbage evenly.
   */
  gcBetween?: boolean;
}

/** The samples and median of one case of `interleave`. */
export interface CaseTiming {
  samples: number[];
  median: number;
}

/**
 * Times several cases side by side: each round runs every case once, in an order that rotates
 * from round to round, so drift (thermal, other processes, GC state) hits all cases alike.
 * Returns each case's samples and median in milliseconds. Use it for every A/B ratio: a ratio
 * is `median(A) / median(B)` of the same call, never of absolute times from different runs.
 */
export function interleave(cases: Record<string, () => unknown>, options: InterleaveOptions = {}): Record<string, CaseTiming> {
  const { warmup = 1, rounds = 7, gcBetween = false } = options;
  const names = Object.keys(cases);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length]!;
      if (gcBetween) gc();
      const ms = timeOnce(cases[name]!);
      if (r >= warmup) samples[name]!.push(ms);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { samples: samples[n]!, median: median(samples[n]!) }]));
}

/**
 * The ratio of two cases timed side by side by `interleave`: the median of the per-round
 * ratios `a/b` (robust to a slow round hitting both), and the ratio of the medians.
 */
export function ratio(a: CaseTiming, b: CaseTiming): { perRound: number; ofMedians: number } {
  const perRound = a.samples.map((x, i) => x / b.samples[i]!);
  return { perRound: median(perRound), ofMedians: a.median / b.median };
}

// ---------------------------------------------------------------------------------------------
// Workloads

/** A seeded PRNG (mulberry32): the same seed gives the same sequence on every run. Returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes the process holds for JS: V8 heap in use plus ArrayBuffer backing stores. Call `gc()` first. */
export function retainedBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Milliseconds with about three significant digits: `0.412 ms`, `41.2 ms`, `1.23 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `96.3 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let u = 0;
  while (Math.abs(value) >= 1024 && u < units.length - 1) {
    value /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[u]}`;
}

/** A ratio as `1.03x`. */
export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : '–';
}

/** `10^6` for powers of ten, else the number with thousands separators. */
export function formatCount(n: number): string {
  const e = Math.log10(n);
  return Number.isInteger(e) && e >= 3 ? `10^${e}` : n.toLocaleString('en-US');
}

function cells(table: BenchTable): string[][] {
  return [table.columns, ...table.rows.map((row) => row.map(String))];
}

/** A GitHub-flavoured Markdown table; columns after the first are right-aligned. */
export function markdownTable(table: BenchTable): string {
  const [head, ...body] = cells(table);
  const escape = (s: string): string => s.replace(/\|/g, '\\|');
  const line = (row: string[]): string => `| ${row.map(escape).join(' | ')} |`;
  const rule = `|${head!.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  return [line(head!), rule, ...body.map(line)].join('\n');
}

/** A plain-text table for the terminal, columns padded; columns after the first right-aligned. */
export function textTable(table: BenchTable): string {
  const all = cells(table);
  const widths = all[0]!.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const [head, ...body] = all;
  return [line(head!), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

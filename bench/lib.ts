/**
 * Shared helpers of the benchmarks: the result shape a benchmark module prints, timing
 * (medians, interleaved rounds), a seeded PRNG, heap measurement and table formatting.
 *
 * A benchmark module (bench/<name>.ts) runs in its own `node --expose-gc` process started by
 * run.ts. It measures, then calls `emit(result)` once: that prints one line
 * `BENCH_RESULT <json>` on stdout, which run.ts collects. Anything else the module prints (on
 * stdout or stderr) is passed through as progress. Times are milliseconds, sizes bytes.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type * as inspector from 'node:inspector';
import { join } from 'node:path';

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

/**
 * Prints `result` as the line run.ts collects: call it at the end of the module. A long module may
 * also call it as it goes with a cumulative result (run.ts keeps the last one printed, and uses a
 * partial one when it has to kill the module at its time limit).
 */
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
  return interleaveSetup(Object.fromEntries(Object.entries(cases).map(([name, run]) => [name, { run }])), options);
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

/** A seeded PRNG (mulberry32), shared with the tests: the same seed gives the same workload on every run. */
export { prng } from '../test/helpers/prng.js';

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
  const escapeCell = (s: string): string => s.replace(/\|/g, '\\|');
  const line = (row: string[]): string => `| ${row.map(escapeCell).join(' | ')} |`;
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

// ---------------------------------------------------------------------------------------------
// Cases with untimed setup, percentiles

/** A case of `interleaveSetup`: `before` and `after` run around each timed `run`, untimed. */
export interface SetupCase {
  /** Runs right before the timed call, untimed (e.g. start a profiler). */
  before?: () => void;
  /** The timed call. */
  run: () => unknown;
  /** Runs right after the timed call, untimed (e.g. stop the profiler). */
  after?: () => void;
}

/**
 * `interleave` for cases that need setup and teardown around every timed call: each round runs
 * every case once, in a rotating order; only `run` is timed. With `gcBetween`, the GC comes
 * before `before`. Each case starts with the previous case's result released (see `sink`).
 */
export function interleaveSetup(cases: Record<string, SetupCase>, options: InterleaveOptions = {}): Record<string, CaseTiming> {
  const { warmup = 1, rounds = 7, gcBetween = false } = options;
  const names = Object.keys(cases);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length]!;
      const c = cases[name]!;
      // The previous case's result is dropped first: kept, it would be live data that this case's
      // GCs mark (a parsed profile of thousands of nodes makes a forced full GC measurably slower).
      sink(null);
      if (gcBetween) gc();
      c.before?.();
      let ms: number;
      try {
        ms = timeOnce(c.run);
      } finally {
        c.after?.();
      }
      if (r >= warmup) samples[name]!.push(ms);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { samples: samples[n]!, median: median(samples[n]!) }]));
}

/** The `q` quantile (0 to 1) of `values`, by the nearest-rank rule. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** A relative error as a signed percentage: `+2.4%`. */
export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(digits)}%`;
}

// ---------------------------------------------------------------------------------------------
// Helper processes and generated code
//
// A module that must measure in several processes (two profilers that each own V8's one
// sampling heap profiler, another Node version) starts helpers with `startChild(__filename, ...)`
// and, when `IN_CHILD`, serves requests with `serveChild`. Requests go one at a time over the
// IPC channel, so the parent can interleave rounds across processes while the others wait idle.

const CHILD_ENV = 'BENCH_CHILD';

/** True in a helper process started by `startChild`. */
export const IN_CHILD = process.env[CHILD_ENV] === '1' && typeof process.send === 'function';

export interface ChildOptions {
  /** The node binary. Default: the one running this process. */
  execPath?: string;
  /** Node flags; `--expose-gc` is always passed. */
  nodeArgs?: string[];
  /** Extra environment variables (on top of this process's). */
  env?: Record<string, string>;
}

/** A helper process: `call` a handler that it registered with `serveChild`. */
export interface Child {
  /** Runs the child's handler `name` on `arg` (structured as JSON) and resolves to its return value. */
  call<T = unknown>(name: string, arg?: unknown): Promise<T>;
  /** Closes the channel (the child then exits) and resolves when it has exited. */
  close(): Promise<void>;
}

interface ChildReply {
  id: number;
  value?: unknown;
  error?: string;
}

/** Starts `script` (with `args`) in a `node --expose-gc` child that serves requests (`serveChild`). */
export function startChild(script: string, args: string[] = [], options: ChildOptions = {}): Child {
  const child = spawn(options.execPath ?? process.execPath, ['--expose-gc', ...(options.nodeArgs ?? []), script, ...args], {
    env: { ...process.env, ...options.env, [CHILD_ENV]: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  let ended: string | null = null;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  const fail = (why: string): void => {
    ended ??= why;
    for (const p of pending.values()) p.reject(new Error(`helper ${script} ${args.join(' ')}: ${why}`));
    pending.clear();
  };
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      fail(`exited with ${signal ?? `code ${code}`}`);
      resolve();
    });
  });
  child.on('error', (err) => fail(`could not start: ${err.message}`));
  child.on('message', (message: ChildReply) => {
    const p = pending.get(message.id);
    if (p === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) p.reject(new Error(message.error));
    else p.resolve(message.value);
  });
  return {
    call<T>(name: string, arg?: unknown): Promise<T> {
      if (ended !== null) return Promise.reject(new Error(`helper ${script}: ${ended}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, name, arg });
      });
    },
    close(): Promise<void> {
      if (child.connected) child.disconnect();
      return exited;
    },
  };
}

/** In a helper process: answers the parent's `call(name, arg)` with `handlers[name](arg)`, one at a time. */
export function serveChild(handlers: Record<string, (arg: never) => unknown>): void {
  let queue = Promise.resolve();
  process.on('message', (message: { id: number; name: string; arg: never }) => {
    queue = queue.then(async () => {
      let reply: ChildReply;
      try {
        const handler = handlers[message.name];
        if (handler === undefined) throw new Error(`no handler '${message.name}' (known: ${Object.keys(handlers).join(', ')})`);
        reply = { id: message.id, value: await handler(message.arg) };
      } catch (err) {
        reply = { id: message.id, error: (err as Error)?.stack ?? String(err) };
      }
      process.send!(reply);
    });
  });
}

let tempRoot: string | null = null;

/** A private temporary directory (for generated programs), removed when this process exits. */
export function tempDir(): string {
  if (tempRoot === null) {
    const dir = mkdtempSync(join(tmpdir(), 'tracemalloc-bench-'));
    tempRoot = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return tempRoot;
}

/** Where `saveArtifact` keeps its files: build/bench/artifacts (never committed). */
const ARTIFACTS = join(__dirname, 'artifacts');

/**
 * Saves `value` as JSON for a later module of the same `npm run bench` (modules run one after the
 * other, in registry order): e.g. accuracy.ts reads overhead.ts's ratios to choose the default interval.
 */
export function saveArtifact(name: string, value: unknown): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, `${name}.json`), JSON.stringify({ time: Date.now(), quick: QUICK, value }));
}

/** What `saveArtifact(name)` saved at most `maxAgeMs` ago (and in the same quick mode), or `null`. */
export function loadArtifact<T>(name: string, maxAgeMs: number): T | null {
  try {
    const saved = JSON.parse(readFileSync(join(ARTIFACTS, `${name}.json`), 'utf8')) as { time: number; quick: boolean; value: T };
    return Date.now() - saved.time <= maxAgeMs && saved.quick === QUICK ? saved.value : null;
  } catch {
    return null;
  }
}

/**
 * The Buffer-heavy workload of the overhead and buffers benchmarks: `n` iterations of Buffer
 * factories, `concat`, `toString`, typed arrays, some kept for the round (returned with a value to
 * sink, so nothing is optimised away).
 */
export function bufferHeavyRound(n: number): { kept: Buffer[]; sink: number } {
  const KiB = 1024;
  let sum = 0;
  const kept: Buffer[] = [];
  const ring: unknown[] = new Array(256).fill(null);
  for (let i = 0; i < n; i++) {
    const a = Buffer.alloc(64 + (i & 1023));
    a.writeUInt32LE(i, 0);
    const b = Buffer.from(`payload-${i}-${'x'.repeat(i & 63)}`);
    const c = Buffer.allocUnsafe(2048);
    c.fill(i & 255);
    const joined = Buffer.concat([a, b, c]);
    const text = joined.toString('base64', 0, 96);
    const bytes = new Uint8Array(512);
    bytes[i & 511] = i;
    const floats = new Float64Array(64);
    floats[i & 63] = i * 0.5;
    ring[i & 255] = joined;
    ring[(i + 128) & 255] = floats;
    if (i % 32 === 0) kept.push(Buffer.alloc(16 * KiB, i & 255));
    if (i % 2048 === 0) kept.push(Buffer.allocUnsafeSlow(1024 * KiB));
    sum += text.length + bytes[0]!;
  }
  return { kept, sink: sum };
}

/** A synchronous post on an in-process session (it answers before `post` returns). */
export function post<T>(session: inspector.Session, method: string, params: object = {}): T {
  let result: T | undefined;
  let error: Error | null = null;
  session.post(method, params, (err: Error | null, res?: unknown) => {
    error = err;
    result = res as T;
  });
  if (error !== null) throw error;
  if (result === undefined) throw new Error(`${method} did not answer synchronously`);
  return result;
}

/** The number of nodes of a sampling heap profile's tree (iterative: profiles can be deep). */
/** A node of a sampling heap profile's tree, as far as the benchmarks read it. */
export interface RawNode {
  children: RawNode[];
}

export function countNodes(head: RawNode): number {
  let n = 0;
  const stack = [head];
  while (stack.length > 0) {
    const node = stack.pop()!;
    n++;
    for (const child of node.children) stack.push(child);
  }
  return n;
}

/**
 * Whole processes measured by their CPU time: what the `tools` and `startup` benchmarks use to
 * compare a program run untraced, with the preload (`node --import tracemalloc/register`,
 * `NODE_TRACEMALLOC=1`) and under `tracemalloc run`.
 *
 * CPU time, not wall time: the machine may be shared, and a process that waits for a core does
 * not accumulate CPU time while it waits (it still pays for cache misses and frequency changes,
 * which is why every comparison is also interleaved round by round). The time is the user + system
 * CPU of the whole process tree, read from bash's `times` builtin after the command: that is
 * getrusage(RUSAGE_CHILDREN), which sums every descendant that was waited for, so `tracemalloc
 * run`'s own process, the traced program and anything the program starts are all counted.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, quantile } from './lib.js';

/** The repository (build/bench/ -> ../..). */
export const ROOT = join(__dirname, '..', '..');
/** The preload as `--import` takes it: what `tracemalloc/register` resolves to for an ESM importer. */
export const REGISTER_URL = pathToFileURL(join(ROOT, 'dist', 'register.mjs')).href;
/** The CLI: what `npx tracemalloc` runs. */
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** How a command is run: untraced, with the preload only, or under `tracemalloc run`. */
export type Config = 'untraced' | 'preload' | 'run';
export const CONFIGS: readonly Config[] = ['untraced', 'preload', 'run'];

/** This environment without tracemalloc's variables or NODE_OPTIONS (a parent's preload must not leak in), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('NODE_TRACEMALLOC') && k !== 'NODE_OPTIONS' && !k.startsWith('BENCH_')) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * The command line and environment of `nodeArgs` (arguments of `node`, e.g. `[script, ...args]`)
 * in configuration `config`. `run` uses the CLI's defaults (top 10 printed at exit, interval 64 KiB).
 */
export function commandFor(config: Config, nodeArgs: readonly string[], env: Record<string, string> = {}): { argv: string[]; env: NodeJS.ProcessEnv } {
  const node = process.execPath;
  switch (config) {
    case 'untraced':
      return { argv: [node, ...nodeArgs], env: cleanEnv(env) };
    case 'preload':
      return { argv: [node, '--import', REGISTER_URL, ...nodeArgs], env: cleanEnv({ ...env, NODE_TRACEMALLOC: '1' }) };
    case 'run':
      return { argv: [node, CLI, 'run', '--', node, ...nodeArgs], env: cleanEnv(env) };
  }
}

/** One measured process. */
export interface ProcResult {
  /** User + system CPU of the whole process tree, ms. */
  cpuMs: number;
  /** Wall-clock time, ms. */
  wallMs: number;
  code: number | null;
  /** sha256 of what the command wrote on stdout (the program's output must not depend on tracing). */
  stdoutHash: string;
  /** The end of stderr (the exit report of `run` goes there), for diagnostics. */
  stderrTail: string;
  /** The start of stdout, for diagnostics. */
  stdoutHead: string;
  /** The report's headline lines on stderr (`tracemalloc: pid ...`), with what each snapshot cost. */
  reportLines: string[];
}

let outCount = 0;

/** Runs `argv` in `cwd` and measures it (see the module comment). Throws when it cannot be started or is killed. */
export function measureProcess(argv: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; outDir: string; timeoutMs?: number }): ProcResult {
  const out = join(options.outDir, `stdout-${process.pid}-${outCount++}.txt`);
  // `times` prints two lines: this shell's own user/system time, then its children's.
  const script = 'out=$1; shift; "$@" >"$out"; rc=$?; times; exit $rc';
  const start = performance.now();
  const res = spawnSync('bash', ['-c', script, 'bench', out, ...argv], {
    cwd: options.cwd,
    env: options.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 300_000,
  });
  const wallMs = performance.now() - start;
  if (res.error !== undefined) throw new Error(`${argv.join(' ')}: ${res.error.message}`);
  if (res.signal !== null) throw new Error(`${argv.join(' ')}: killed by ${res.signal}`);
  const lines = res.stdout.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  if (m === null) throw new Error(`${argv.join(' ')}: no CPU times in ${JSON.stringify(res.stdout)}; stderr: ${res.stderr.slice(-500)}`);
  const cpuMs = (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
  let stdout: Buffer;
  try {
    stdout = readFileSync(out);
  } finally {
    rmSync(out, { force: true });
  }
  const stdoutHash = createHash('sha256').update(stdout).digest('hex');
  // Anywhere in a line: a tool may leave a partial line (a progress bar's `\r`) before the report.
  const reportLines = res.stderr.split('\n').filter((l) => l.includes('tracemalloc: pid ')).slice(0, 64);
  return { cpuMs, wallMs, code: res.status, stdoutHash, stderrTail: res.stderr.slice(-2000), stdoutHead: stdout.subarray(0, 2000).toString(), reportLines };
}

/** Median and spread of per-round values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    n: values.length,
  };
}

/** The cases a benchmark was asked to run (`npm run bench -- name:case1,case2`), or null for all. */
export function selectedCases(): Set<string> | null {
  const raw = process.env.BENCH_CASES ?? '';
  return raw === '' ? null : new Set(raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
}

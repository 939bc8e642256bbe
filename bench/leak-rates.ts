/**
 * The false-alarm and detection rates of `tracemalloc/testing`, as docs/testing.md reports them.
 * Each scenario is measured `--runs` times with the default options (and 2,000 iterations for the
 * leaks, as the docs promise), spread over `--procs` fresh processes so JIT and heap states vary.
 *
 *   npm run build && npm run build:test && node build/bench/leak-rates.js [--runs 60] [--procs 3] [--only name]
 *
 * Not part of `npm test`: it takes minutes. It prints one table row a scenario and exits 1 when a
 * clean scenario ever failed or a leak was ever missed.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { measureLeak, type LeakOptions } from 'tracemalloc/testing';

interface Scenario {
  name: string;
  kind: 'clean' | 'leak';
  what: string;
  options: LeakOptions;
  /** Makes a fresh `fn` for one run (and forgets what the previous run kept). */
  make(): (i: number) => unknown;
}

const KiB = 1024;
const sleep = () => new Promise<void>((resolve) => setImmediate(resolve));

// Leaked objects go in `sink`, which is read after each run (V8 would free what no code reads).
let sink: unknown[] = [];
let blackhole = 0;

const SCENARIOS: Scenario[] = [
  {
    name: 'clean-sync-small',
    kind: 'clean',
    what: 'sync, a few small objects a call, all dropped',
    options: {},
    make: () => (i) => {
      blackhole += JSON.stringify({ i, s: `item ${i}`, list: [i, i + 1, i + 2] }).length;
    },
  },
  {
    name: 'clean-sync-churn',
    kind: 'clean',
    what: 'sync, allocates and frees ~256 KiB a call (arrays, strings, maps)',
    options: {},
    make: () => (i) => {
      const arrays = Array.from({ length: 32 }, (_, k) => new Array(128).fill(i + k));
      const text = Array.from({ length: 200 }, (_, k) => `line ${k} of ${i}`).join('\n');
      const map = new Map<number, string>();
      for (let k = 0; k < 500; k++) map.set(k, `v${k}`);
      const big = new Float64Array(16 * KiB);
      blackhole += arrays.length + text.length + map.size + big.length;
    },
  },
  {
    name: 'clean-async-churn',
    kind: 'clean',
    what: 'async, awaits an immediate, allocates and frees ~64 KiB a call',
    options: {},
    make: () => async (i) => {
      await sleep();
      const objects = Array.from({ length: 1000 }, (_, k) => ({ k, i, name: `o${k}` }));
      await Promise.resolve();
      blackhole += objects.length;
    },
  },
  {
    name: 'clean-bounded-cache',
    kind: 'clean',
    what: 'sync, an LRU cache of 100 entries of 1 KiB (full after the warm-up)',
    options: {},
    make: () => {
      const cache = new Map<number, number[]>();
      return (i) => {
        const key = i % 100;
        if (!cache.has(key)) cache.set(key, new Array(128).fill(key));
        blackhole += cache.get(key)!.length;
      };
    },
  },
  {
    name: 'clean-closures-promises',
    kind: 'clean',
    what: 'async, closures, promise chains and a timer each call, all settled',
    options: {},
    make: () => async (i) => {
      const fns = Array.from({ length: 50 }, (_, k) => () => k + i);
      const values = await Promise.all(fns.map(async (f) => f()));
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      blackhole += values.length;
    },
  },
  {
    name: 'leak-sync-1k',
    kind: 'leak',
    what: 'sync, keeps one array of ~1 KiB a call',
    options: { iterations: 2000 },
    make: () => (i) => {
      sink.push(new Array(124).fill(i));
    },
  },
  {
    name: 'leak-sync-150',
    kind: 'leak',
    what: 'sync, keeps ~150 B a call (an array of 12 numbers), default 1,000 calls',
    options: {},
    make: () => (i) => {
      sink.push(new Array(12).fill(i));
    },
  },
  {
    name: 'leak-async-1k',
    kind: 'leak',
    what: 'async, keeps ~1 KiB a call after an await',
    options: { iterations: 2000 },
    make: () => async (i) => {
      await sleep();
      sink.push(new Array(124).fill(i));
    },
  },
  {
    name: 'leak-small-objects-1k',
    kind: 'leak',
    what: 'sync, keeps 32 objects of ~32 B a call (1 KiB) amid 256 KiB of churn',
    options: { iterations: 2000 },
    make: () => (i) => {
      const garbage = Array.from({ length: 64 }, () => new Array(500).fill(i));
      blackhole += garbage.length;
      for (let k = 0; k < 32; k++) sink.push({ a: i, b: k });
    },
  },
  {
    name: 'leak-listeners-1k',
    kind: 'leak',
    what: 'sync, an EventEmitter listener closing over 1 KiB, never removed',
    options: { iterations: 2000 },
    make: () => {
      const emitter = new EventEmitter();
      emitter.setMaxListeners(0);
      sink.push(emitter);
      return (i) => {
        const data = new Array(124).fill(i);
        emitter.on('tick', () => data.length);
      };
    },
  },
];

interface RunResult {
  name: string;
  leaking: boolean;
  growth: number;
  margin: number;
  ms: number;
}

function argValue(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

async function worker(runs: number, only: string | null): Promise<void> {
  for (const scenario of SCENARIOS) {
    if (only !== null && !scenario.name.includes(only)) continue;
    for (let r = 0; r < runs; r++) {
      sink = [];
      const t0 = performance.now();
      const report = await measureLeak(scenario.make(), scenario.options);
      const ms = performance.now() - t0;
      const result: RunResult = { name: scenario.name, leaking: report.leaking, growth: report.growthPerIteration, margin: report.margin, ms };
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
      if (sink.length < 0) throw new Error('unreachable'); // reads `sink`
    }
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const only = argValue('only', '') || null;
  if (process.argv.includes('--worker')) {
    await worker(Number(argValue('runs', '1')), only);
    return;
  }
  const runs = Number(argValue('runs', '60'));
  const procs = Number(argValue('procs', '3'));
  const perProc = Math.ceil(runs / procs);
  const results: RunResult[] = [];
  for (let p = 0; p < procs; p++) {
    const args = [__filename, '--worker', '--runs', String(perProc), ...(only === null ? [] : ['--only', only])];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.startsWith('RESULT ')) results.push(JSON.parse(line.slice(7)) as RunResult);
        }
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
    });
    process.stderr.write(`process ${p + 1}/${procs} done\n`);
  }
  let bad = 0;
  console.log('| scenario | kind | runs | flagged as leaking | growth per call (min / median / max) | margin (median) | time per run (median) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const scenario of SCENARIOS) {
    const rs = results.filter((r) => r.name === scenario.name);
    if (rs.length === 0) continue;
    const flagged = rs.filter((r) => r.leaking).length;
    if (scenario.kind === 'clean' ? flagged > 0 : flagged < rs.length) bad++;
    const g = rs.map((r) => r.growth);
    console.log(`| ${scenario.name}: ${scenario.what} | ${scenario.kind} | ${rs.length} | ${flagged} | ` +
      `${Math.min(...g).toFixed(1)} / ${median(g).toFixed(1)} / ${Math.max(...g).toFixed(1)} B | ` +
      `${median(rs.map((r) => r.margin)).toFixed(1)} B | ${median(rs.map((r) => r.ms)).toFixed(0)} ms |`);
  }
  process.exitCode = bad > 0 ? 1 : 0;
}

void main();

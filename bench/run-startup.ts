/**
 * `tracemalloc run`'s fixed cost per process (issue 17): the CPU time (user + system, of the
 * process and its children, from the shell's `times`) of `node -e 0` untraced, under the preload
 * (`node -r tracemalloc/register`, the cost every process of `run -- npm run build` pays), and
 * under `tracemalloc run` (the CLI's own process as well), in interleaved rounds so that the
 * machine's load falls on every case alike. The target: the preload adds under 50 ms of CPU.
 *
 *   node build/bench/run-startup.js [rounds]     (or: npm run bench -- run-startup)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { emit, log, median, QUICK } from './lib.js';

const ROOT = join(__dirname, '..', '..');
const REGISTER = join(ROOT, 'dist', 'register.js');
const BIN = join(ROOT, 'dist', 'cli', 'main.js');
const ROUNDS = Number(process.argv[2] ?? (QUICK ? 7 : 25));

/** The target of issue 17: the preload's fixed cost per process. */
const TARGET_MS = 50;

function quote(arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/** Runs of a command per sample: `times` counts in clock ticks (10 ms), so a sample sums several runs. */
const REPEAT = 5;

/** CPU milliseconds (user + system) of one run of `argv` and its children, measured by sh's `times` over REPEAT runs. */
function cpuMs(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const once = `${argv.map(quote).join(' ')} >/dev/null 2>&1`;
  const r = spawnSync('/bin/sh', ['-c', `${Array(REPEAT).fill(once).join('; ')}; times`], { env, encoding: 'utf8' });
  // `times` prints the shell's own times, then its children's: "0m0.040s 0m0.012s".
  const lines = r.stdout.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  if (m === null) throw new Error(`cannot read times from ${JSON.stringify(r.stdout)} (${r.stderr})`);
  return ((Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000) / REPEAT;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NODE_TRACEMALLOC') && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

const CASES: Record<string, { argv: string[]; env: NodeJS.ProcessEnv }> = {
  'node -e 0': { argv: [process.execPath, '-e', '0'], env: baseEnv() },
  'preload, tracing only': { argv: [process.execPath, '-r', REGISTER, '-e', '0'], env: { ...baseEnv(), NODE_TRACEMALLOC: '16' } },
  'preload, top at exit': { argv: [process.execPath, '-r', REGISTER, '-e', '0'], env: { ...baseEnv(), NODE_TRACEMALLOC: '16', NODE_TRACEMALLOC_TOP: '10' } },
  'tracemalloc run -- node -e 0': { argv: [process.execPath, BIN, 'run', '--', process.execPath, '-e', '0'], env: baseEnv() },
  // The CLI's own process alone: what `run` costs once per command, beside the traced processes.
  'tracemalloc run -- true': { argv: [process.execPath, BIN, 'run', '--', 'true'], env: baseEnv() },
};

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(CASES).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, c] of Object.entries(CASES)) samples[name]!.push(cpuMs(c.argv, c.env));
  if ((round + 1) % 5 === 0) log(`run-startup: ${round + 1}/${ROUNDS} rounds`);
}

const base = median(samples['node -e 0']!);
const rows = Object.entries(samples).map(([name, values]) => {
  const m = median(values);
  return [name, m.toFixed(0), name === 'node -e 0' ? '' : `+${(m - base).toFixed(0)}`, Math.min(...values).toFixed(0)];
});
const preload = median(samples['preload, top at exit']!) - base;
const run = median(samples['tracemalloc run -- node -e 0']!) - base;
emit({
  name: 'run-startup',
  title: "run's fixed cost per process",
  description: `CPU time (user + system, from sh's \`times\`) of \`node -e 0\` untraced, under the preload (\`node -r dist/register.js\`, NODE_TRACEMALLOC=16, what each process of \`tracemalloc run -- npm run build\` pays) and under \`tracemalloc run\` (its own process included); medians of ${ROUNDS} interleaved rounds of ${REPEAT} runs each.`,
  target: `the preload adds under ${TARGET_MS} ms of CPU per process (issue 17)`,
  tables: [{ columns: ['case', 'CPU ms (median)', 'over node -e 0', 'min'], rows }],
  checks: [
    { what: 'preload with the top at exit, over node -e 0', target: `< ${TARGET_MS} ms`, value: `${preload.toFixed(0)} ms`, ok: preload < TARGET_MS },
  ],
  notes: [
    `tracemalloc run -- node -e 0 costs ${run.toFixed(0)} ms over node -e 0: the preload's cost in the traced process, plus, once per command, the CLI's own Node.js process (\`run -- true\`: ${median(samples['tracemalloc run -- true']!).toFixed(0)} ms, about one Node.js start-up).`,
  ],
});

/**
 * The false-alarm and detection table of `tracemalloc/testing` (docs/testing.md): real leak-free
 * libraries and real leak patterns (test/runners/shared/scenarios.cjs), measured with
 * `measureLeak`'s default options inside the real test runners (node:test, Jest, Vitest, Mocha;
 * test/runners/bench/), with a CPU hog (`node -e 'for(;;){}'`) running beside them.
 *
 *   npm run build && npm run build:test && node build/bench/leak-rates.js [--reps 3] [--procs 3] [--runners node:test,jest,vitest,mocha] [--only name] [--no-hog]
 *   node build/bench/leak-rates.js --from results.jsonl     the table of the results of an earlier run
 *
 * Each runner is started `--procs` times (fresh processes: JIT and heap states vary), each run
 * measures every scenario `--reps` times; each process is capped at 8 minutes. Prints one table
 * row a scenario and the totals; exits 1 when a clean scenario was flagged, a leak was missed or
 * its line not named, or a measurement failed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, type BenchTable } from './lib.js';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'runners', 'bench');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const CAP_MS = 8 * 60 * 1000;

const RUNNERS: Record<string, string[]> = {
  'node:test': [process.execPath, '--test', path.join(FIXTURES, 'nodetest.test.cjs')],
  jest: [path.join(BIN, 'jest'), '-c', path.join(FIXTURES, 'jest.config.cjs')],
  vitest: [path.join(BIN, 'vitest'), 'run', '-c', path.join(FIXTURES, 'vitest.config.mjs')],
  mocha: [path.join(BIN, 'mocha'), '--timeout', '300000', path.join(FIXTURES, 'mocha.test.cjs')],
};

interface Result {
  runner: string;
  name: string;
  kind: 'clean' | 'leak';
  leaking?: boolean;
  growth?: number;
  margin?: number;
  windows?: number;
  ms?: number;
  lineNamed?: boolean;
  error?: string;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

function run(cmd: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    const cap = setTimeout(() => child.kill('SIGKILL'), CAP_MS);
    child.on('exit', (code) => {
      clearTimeout(cap);
      if (code !== 0) process.stderr.write(`${cmd.join(' ')} exited with ${code}\n${err}\n`);
      resolve(code);
    });
  });
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const from = arg('from', '');
  if (from !== '') {
    report(fs.readFileSync(from, 'utf8'), 'results of an earlier run', 0);
    return;
  }
  // Under `npm run bench -- --quick` (BENCH_QUICK=1): one process a runner, one run a scenario.
  const quick = process.env.BENCH_QUICK === '1';
  const reps = arg('reps', quick ? '1' : '3');
  const procs = Number(arg('procs', quick ? '1' : '3'));
  const runners = arg('runners', Object.keys(RUNNERS).join(',')).split(',');
  const only = arg('only', '');
  const results = path.join(os.tmpdir(), `leak-rates-${process.pid}.jsonl`);
  fs.rmSync(results, { force: true });
  // A frozen copy of dist/ (as <package>/.leak-rates-<pid>/dist, so its own files are recognized
  // as dist/ and its dependencies resolve from the package): a rebuild during the run changes nothing.
  const frozenRoot = path.join(ROOT, `.leak-rates-${process.pid}`);
  const frozen = path.join(frozenRoot, 'dist');
  fs.cpSync(path.join(ROOT, 'dist'), frozen, { recursive: true });
  let hog: ChildProcess | null = null;
  if (!process.argv.includes('--no-hog')) hog = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
  const t0 = Date.now();
  try {
    for (let p = 0; p < procs; p++) {
      for (const runner of runners) {
        await run(RUNNERS[runner]!, { ...process.env, LEAK_RESULTS: results, LEAK_REPS: reps, LEAK_ONLY: only, LEAK_DIST: frozen });
        process.stderr.write(`${runner} process ${p + 1}/${procs} done (${Math.round((Date.now() - t0) / 1000)} s)\n`);
      }
    }
  } finally {
    hog?.kill('SIGKILL');
    fs.rmSync(frozenRoot, { recursive: true, force: true });
  }
  process.stderr.write(`results: ${results}\n`);
  report(fs.existsSync(results) ? fs.readFileSync(results, 'utf8') : '', hog === null ? 'no hog' : 'a CPU hog beside', Date.now() - t0);
}

function report(text: string, how: string, ms: number): void {
  const rows = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Result);
  const node = spawnSync(process.execPath, ['-p', 'process.version + " " + os.cpus()[0].model + ", " + os.cpus().length + " cores"'], { encoding: 'utf8' }).stdout.trim();
  console.log(`Node.js ${node}; ${how}; ${Math.round(ms / 1000)} s in all\n`);
  const columns = ['scenario', 'kind', 'runners', 'runs', 'flagged', 'line named', 'errors', 'growth per call (min / median / max)', 'time per run (median)'];
  const table: BenchTable = { columns, rows: [] };
  console.log(`| ${columns.join(' | ')} |`);
  console.log(`|${columns.map(() => '---').join('|')}|`);
  const names = [...new Set(rows.map((r) => r.name))];
  let bad = 0;
  const totals = { clean: 0, cleanFlagged: 0, leak: 0, leakCaught: 0, leakNamed: 0, errors: 0 };
  for (const name of names) {
    const rs = rows.filter((r) => r.name === name);
    const ok = rs.filter((r) => r.error === undefined);
    const errs = rs.filter((r) => r.error !== undefined);
    const kind = rs[0]!.kind;
    const flagged = ok.filter((r) => r.leaking).length;
    const named = ok.filter((r) => r.leaking && r.lineNamed).length;
    const unavailable = errs.filter((r) => r.error!.startsWith('unavailable'));
    const failed = errs.length - unavailable.length;
    totals.errors += failed;
    if (kind === 'clean') {
      totals.clean += ok.length;
      totals.cleanFlagged += flagged;
      if (flagged > 0) bad++;
    } else {
      totals.leak += ok.length;
      totals.leakCaught += flagged;
      totals.leakNamed += named;
      if (flagged < ok.length || named < flagged) bad++;
    }
    if (failed > 0) bad++;
    const g = ok.map((r) => r.growth!);
    const where = [...new Set(ok.map((r) => r.runner))].join(', ');
    const na = unavailable.length > 0 ? ` (not loadable in ${[...new Set(unavailable.map((r) => r.runner))].join(', ')})` : '';
    const row = [name, kind, `${where}${na}`, ok.length, flagged, kind === 'leak' ? named : '-', failed,
      g.length ? `${Math.min(...g).toFixed(0)} / ${median(g).toFixed(0)} / ${Math.max(...g).toFixed(0)} B` : '-', ok.length ? `${median(ok.map((r) => r.ms!)).toFixed(0)} ms` : '-'];
    table.rows.push(row);
    console.log(`| ${row.join(' | ')} |`);
  }
  const bound = totals.clean > 0 ? (3 / totals.clean) * 100 : NaN;
  console.log(`\nClean runs: ${totals.clean}, flagged: ${totals.cleanFlagged} (95% upper bound of the false-alarm rate with 0 seen: 3/${totals.clean} = ${bound.toFixed(2)}%). ` +
    `Leaking runs: ${totals.leak}, caught: ${totals.leakCaught}, line named: ${totals.leakNamed}. Failed measurements: ${totals.errors}.`);
  for (const r of rows.filter((x) => x.error !== undefined && !x.error.startsWith('unavailable')).slice(0, 10)) console.log(`error: ${r.runner} ${r.name}: ${r.error}`);
  emit({
    name: 'leak-rates',
    title: 'Leak assertions: false alarms and detection on real code',
    description: `measureLeak with its default options on ${names.length} scenarios (real leak-free libraries and real leak patterns, ` +
      'test/runners/shared/scenarios.cjs) inside node:test, Jest, Vitest and Mocha, with a CPU hog beside them (bench/leak-rates.ts).',
    target: 'no false alarm in 500 clean runs; every leak of 256 B a call or more caught, its line named',
    tables: [table],
    checks: [
      { what: 'clean runs flagged', target: '0 of >= 500', value: `${totals.cleanFlagged} of ${totals.clean}`, ok: totals.cleanFlagged === 0 && totals.clean >= 500 },
      { what: 'leaking runs caught, line named', target: 'all', value: `${totals.leakCaught} and ${totals.leakNamed} of ${totals.leak}`, ok: totals.leakCaught === totals.leak && totals.leakNamed === totals.leak },
      { what: 'failed measurements', target: '0', value: String(totals.errors), ok: totals.errors === 0 },
    ],
    notes: [`${how}. With 0 false alarms in n clean runs, the false-alarm rate is under 3/n at 95% confidence.`],
  });
  process.exitCode = bad > 0 ? 1 : 0;
}

void main();

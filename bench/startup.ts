/**
 * The fixed cost of tracing a process: `node -e 0` untraced, with the preload, with the preload and
 * its exit report, and under `tracemalloc run`, plus `tracemalloc run` of a non-Node command (the
 * CLI's own process alone). CPU time of the whole process tree (bench/procs.ts), many rounds, the
 * cases interleaved in a rotating order; the extra cost is the median of the per-round differences
 * to the untraced run of the same round.
 *
 *   npm run bench -- startup
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { QUICK, emit, formatMs, log, tempDir, type BenchTable } from './lib.js';
import { CLI, REGISTER_URL, ROOT, cleanEnv, measureProcess, spread, type ProcResult } from './procs.js';

const ROUNDS = QUICK ? 5 : 21;
const WARMUP = 2;
const TARGET_MS = 50;

interface Case {
  name: string;
  what: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** A Node >= 26 binary (this one, $BENCH_NODE26 or scripts/fetch-node.sh 26's cached one), or null. */
function findNode26(): string | null {
  if (Number(process.versions.node.split('.')[0]) >= 26) return process.execPath;
  const env = process.env.BENCH_NODE26;
  if (env !== undefined && env !== '') return existsSync(env) ? env : null;
  try {
    const out = execFileSync(join(ROOT, 'scripts', 'fetch-node.sh'), ['26'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
    const path = out.trim().split('\n').pop()!;
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function NODE26_VERSION(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
}

function main(): void {
  const node = process.execPath;
  const trueCmd = 'true';
  const cases: Case[] = [
    { name: 'untraced', what: '`node -e 0`', argv: [node, '-e', '0'], env: cleanEnv() },
    { name: 'preload', what: '`NODE_TRACEMALLOC=1 node --import tracemalloc/register -e 0` (sampler on, no report)',
      argv: [node, '--import', REGISTER_URL, '-e', '0'], env: cleanEnv({ NODE_TRACEMALLOC: '1' }) },
    { name: 'preload+report', what: 'the same with `NODE_TRACEMALLOC_TOP=10`: a snapshot and the top printed at exit (what `run` starts)',
      argv: [node, '--import', REGISTER_URL, '-e', '0'], env: cleanEnv({ NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_TOP: '10' }) },
    { name: 'run', what: '`tracemalloc run -- node -e 0`', argv: [node, CLI, 'run', '--', node, '-e', '0'], env: cleanEnv() },
    { name: 'true', what: '`true` (a non-Node command)', argv: [trueCmd], env: cleanEnv() },
    { name: 'run true', what: '`tracemalloc run -- true`: the CLI\'s own process, nothing traced', argv: [node, CLI, 'run', '--', trueCmd], env: cleanEnv() },
  ];
  // Node >= 26: what starting V8's sampler costs by `v8.startHeapProfile()` against an inspector session.
  const node26 = findNode26();
  if (node26 !== null) {
    const interval = 64 * 1024;
    cases.push(
      { name: 'n26', what: 'Node 26: `node -e 0`', argv: [node26, '-e', '0'], env: cleanEnv() },
      { name: 'n26 v8', what: 'Node 26: `v8.startHeapProfile({ sampleInterval: 65536 })`, then exit',
        argv: [node26, '-e', `require('v8').startHeapProfile({ sampleInterval: ${interval} })`], env: cleanEnv() },
      { name: 'n26 inspector', what: 'Node 26: an inspector session, `HeapProfiler.enable` + `startSampling`, then exit',
        argv: [node26, '-e', "const s = new (require('inspector').Session)(); s.connect(); s.post('HeapProfiler.enable'); " +
          `s.post('HeapProfiler.startSampling', { samplingInterval: ${interval} })`], env: cleanEnv() },
      { name: 'n26 preload', what: 'Node 26: the preload (`NODE_TRACEMALLOC=1 node --import tracemalloc/register -e 0`)',
        argv: [node26, '--import', REGISTER_URL, '-e', '0'], env: cleanEnv({ NODE_TRACEMALLOC: '1' }) },
    );
  }
  const dir = join(tempDir(), 'startup');
  mkdirSync(dir, { recursive: true });
  const runs: Record<string, ProcResult[]> = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + r) % cases.length]!;
      const res = measureProcess(c.argv, { cwd: ROOT, env: c.env, outDir: dir });
      if (res.code !== 0) throw new Error(`${c.name} exited with ${res.code}: ${res.stderrTail}`);
      if (r >= WARMUP) runs[c.name]!.push(res);
    }
  }
  const cpu = (name: string) => spread(runs[name]!.map((x) => x.cpuMs));
  const extra = (name: string, base: string) => spread(runs[name]!.map((x, i) => x.cpuMs - runs[base]![i]!.cpuMs));
  const base = cpu('untraced');
  log(`node -e 0: ${formatMs(base.median)} CPU`);
  const row = (c: Case, baseName: string): string[] => {
    const s = cpu(c.name);
    const e = c.name === baseName ? null : extra(c.name, baseName);
    return [c.what, formatMs(s.median), `${formatMs(s.p25)}–${formatMs(s.p75)}`,
      e === null ? '–' : `${formatMs(e.median)} (${formatMs(e.p25)}–${formatMs(e.p75)})`];
  };
  const runExtra = extra('run', 'untraced');
  const perProcess = extra('preload+report', 'untraced');
  const tables: BenchTable[] = [
    {
      caption: `CPU time (user + system, whole process tree), median and interquartile range of ${ROUNDS} interleaved rounds; ` +
        '"extra" is the median (and interquartile range) of the per-round differences to the untraced `node -e 0` of the same round.',
      columns: ['process', 'CPU', 'p25–p75', 'extra vs `node -e 0`'],
      rows: cases.filter((c) => c.name !== 'true' && c.name !== 'run true' && !c.name.startsWith('n26')).map((c) => row(c, 'untraced')),
    },
    {
      caption: 'The CLI\'s own process: `tracemalloc run` of a command that is not Node.js, against that command alone.',
      columns: ['process', 'CPU', 'p25–p75', 'extra vs `true`'],
      rows: cases.filter((c) => c.name === 'true' || c.name === 'run true').map((c) => row(c, 'true')),
    },
  ];
  if (node26 !== null) {
    tables.push({
      caption: `Node ${NODE26_VERSION(node26)}: starting V8's sampling heap profiler through \`v8.startHeapProfile()\` (new in Node 26, no ` +
        'inspector session) against an inspector session, and the whole preload; extra vs Node 26\'s `node -e 0`.',
      columns: ['process', 'CPU', 'p25–p75', 'extra vs `node -e 0`'],
      rows: cases.filter((c) => c.name.startsWith('n26')).map((c) => row(c, 'n26')),
    });
  }
  const pre = extra('preload', 'untraced').median;
  const report = extra('preload+report', 'preload').median;
  const cliAlone = extra('run true', 'true').median;
  const nodeAlone = base.median - cpu('true').median;
  emit({
    name: 'startup',
    title: 'Fixed cost per traced process',
    description: `\`node -e 0\` untraced, with the preload, with the preload and its exit report, and under \`tracemalloc run\`: ` +
      `CPU time of the whole process tree, ${ROUNDS} rounds, the cases interleaved. \`tracemalloc run -- npm run build\` traces ` +
      'every Node.js process the build starts, and pays this once per process.',
    target: `\`tracemalloc run\` adds < ${TARGET_MS} ms of CPU per process (issue 17).`,
    tables,
    checks: [
      { what: '`tracemalloc run -- node -e 0` CPU − `node -e 0` CPU (median of per-round differences)', target: `< ${TARGET_MS} ms`,
        value: formatMs(runExtra.median), ok: runExtra.median < TARGET_MS },
      { what: 'per traced process (the preload and its exit report, what `run -- npm run build` pays for each process it starts) − `node -e 0`',
        target: `< ${TARGET_MS} ms`, value: formatMs(perProcess.median), ok: perProcess.median < TARGET_MS },
    ],
    notes: [
      `Where it goes, from the medians: the preload (loading the library, starting the inspector session and V8's sampler) ` +
        `${formatMs(pre)}; the exit report (the settle GC, the profile read with its own full GC, the conversion and the printed top) ${formatMs(report)} more; ` +
        `the CLI's own Node.js process (start-up, argument parsing, spawning) ${formatMs(cliAlone)}. A Node.js process alone costs ` +
        `${formatMs(nodeAlone)} here (\`node -e 0\` minus \`true\`: every row also counts the shell that measures it), so the CLI's process can never cost much less than that unless \`run\` stops being a ` +
        'separate process. It cannot on Node 20 (no `execve`; where Node has `process.execve`, the CPU time spent before ' +
        'it still counts for the process), and running a script inside the CLI\'s process would change its `process.argv`, ' +
        '`require.main` and `process.execArgv`: so the target of 50 ms is out of reach by about one Node.js start-up, ' +
        'and the rest (preload, exit report) is what `run` can cut (docs/cli.md, "What `run` costs").',
      ...(node26 === null ? ['No Node.js 26 binary was found (scripts/fetch-node.sh 26, or BENCH_NODE26): the Node 26 rows are missing.'] : [
        'Node 26\'s `v8.startHeapProfile()` starts the same V8 sampler without an inspector session. Started alone, it costs ' +
        'about what an inspector session with `HeapProfiler.startSampling` costs (third table): the preload\'s start-up ' +
        'cost is loading the library, not starting the sampler, so the new API would not make `run` cheaper to start.',
      ]),
    ],
  });
}

main();

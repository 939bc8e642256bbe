/**
 * The fixed cost of tracing a process: `node -e 0` untraced, with the preload, with the preload and
 * its exit report, and under `tracemalloc run`, plus `tracemalloc run` of a non-Node command (the
 * CLI's own process alone). CPU time of the whole process tree (bench/procs.ts), many rounds, the
 * cases interleaved in a rotating order; the extra cost is the median of the per-round differences
 * to the untraced run of the same round.
 *
 *   npm run bench -- startup
 */
import { mkdirSync } from 'node:fs';
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
  const tables: BenchTable[] = [
    {
      caption: `CPU time (user + system, whole process tree), median and interquartile range of ${ROUNDS} interleaved rounds; ` +
        '"extra" is the median (and interquartile range) of the per-round differences to the untraced `node -e 0` of the same round.',
      columns: ['process', 'CPU', 'p25–p75', 'extra vs `node -e 0`'],
      rows: cases.filter((c) => c.name !== 'true' && c.name !== 'run true').map((c) => row(c, 'untraced')),
    },
    {
      caption: 'The CLI\'s own process: `tracemalloc run` of a command that is not Node.js, against that command alone.',
      columns: ['process', 'CPU', 'p25–p75', 'extra vs `true`'],
      rows: cases.filter((c) => c.name === 'true' || c.name === 'run true').map((c) => row(c, 'true')),
    },
  ];
  const pre = extra('preload', 'untraced').median;
  const report = extra('preload+report', 'preload').median;
  const cliAlone = extra('run true', 'true').median;
  emit({
    name: 'startup',
    title: 'Fixed cost per traced process',
    description: `\`node -e 0\` untraced, with the preload, with the preload and its exit report, and under \`tracemalloc run\`: ` +
      `CPU time of the whole process tree, ${ROUNDS} rounds, the cases interleaved. \`tracemalloc run -- npm run build\` traces ` +
      'every Node.js process the build starts, and pays this once per process.',
    target: `\`tracemalloc run\` adds < ${TARGET_MS} ms of CPU per process (issue 17).`,
    tables,
    checks: [{ what: '`tracemalloc run -- node -e 0` CPU − `node -e 0` CPU (median of per-round differences)', target: `< ${TARGET_MS} ms`,
      value: formatMs(runExtra.median), ok: runExtra.median < TARGET_MS }],
    notes: [
      `Where it goes, from the medians: the preload (loading the library, starting the inspector session and V8's sampler) ` +
        `${formatMs(pre)}; the exit report (a forced GC, the profile, the conversion and the printed top) ${formatMs(report)} more; ` +
        `the CLI's own Node.js process (start-up, argument parsing, spawning) ${formatMs(cliAlone)}. A Node.js process alone costs ` +
        `${formatMs(base.median)} here, so the CLI's process can never cost much less than that unless \`run\` stops being a ` +
        'separate process.',
    ],
  });
}

main();

/**
 * The benchmark runner behind `npm run bench`: runs each registered benchmark module in its own
 * `node --expose-gc` process (so heaps and JIT state never interfere), one after the other,
 * prints its tables, and regenerates docs/performance.md.
 *
 *   npm run bench                      every benchmark, then rewrite docs/performance.md
 *   npm run bench -- grouping          only `grouping`; the other sections of the doc are kept
 *   npm run bench -- --quick grouping  smaller workloads, for trying things out (doc untouched)
 *   npm run bench -- --no-docs         do not touch docs/performance.md
 *   npm run bench -- --list            the registered names
 *
 * Adding a benchmark: write bench/<name>.ts that measures and calls `emit(result)` from
 * ./lib.js once (the `BenchResult` shape: title, description, target, tables, checks), then add
 * one line to BENCHMARKS below. Exit code: 1 when a module crashed or printed no result, else 0
 * (a missed target is shown as MISSED in the output and the doc, not as a failure).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { formatBytes, markdownTable, parseResult, textTable, type BenchResult } from './lib.js';

/** A registered benchmark: bench/<name>.ts, and what its process needs. */
interface BenchModule {
  name: string;
  /** Extra node flags (`--expose-gc` is always passed). */
  nodeArgs?: string[];
  /** Minutes before the process is killed. Default 20. */
  timeoutMinutes?: number;
}

/** The registry, in the order of docs/performance.md. One line a benchmark. */
const BENCHMARKS: BenchModule[] = [
  { name: 'grouping', nodeArgs: ['--max-old-space-size=4096'] },
  // overhead before accuracy: accuracy chooses the default interval from overhead's ratios.
  { name: 'overhead', timeoutMinutes: 10 },
  { name: 'snapshot', timeoutMinutes: 5 },
  { name: 'accuracy', timeoutMinutes: 10 },
  { name: 'counter', timeoutMinutes: 5 },
  { name: 'run-startup', timeoutMinutes: 5 },
  { name: 'buffers', timeoutMinutes: 10 },
  { name: 'leak-rates', timeoutMinutes: 70 },
];

const ROOT = join(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'performance.md');

/** Where and when a result was measured. */
interface RunInfo {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  memory: string;
  platform: string;
  /** The 1-minute load average when the run started: other work on the machine skews absolute times. */
  load: number;
}

/** A result with the run it came from: what the doc stores for each section. */
interface Recorded {
  run: RunInfo;
  result: BenchResult;
}

function runInfo(): RunInfo {
  const cpus = os.cpus();
  return {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory: formatBytes(os.totalmem()),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    load: os.loadavg()[0]!,
  };
}

function parseArgs(argv: string[]): { names: string[]; quick: boolean; docs: boolean; list: boolean } {
  const names: string[] = [];
  let quick = false;
  let docs = true;
  let list = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--no-docs') docs = false;
    else if (arg === '--list') list = true;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg} (known: --quick, --no-docs, --list)`);
    else names.push(arg);
  }
  return { names, quick, docs: docs && !quick, list };
}

/** Runs one module in a child process; resolves to its result, or an error message. */
function runModule(mod: BenchModule, quick: boolean): Promise<BenchResult | string> {
  const script = join(__dirname, `${mod.name}.js`);
  if (!existsSync(script)) return Promise.resolve(`${script} does not exist (is bench/${mod.name}.ts built?)`);
  const args = ['--expose-gc', ...(mod.nodeArgs ?? []), script];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, BENCH_QUICK: quick ? '1' : '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (!line.startsWith('BENCH_RESULT ')) process.stderr.write(`  ${line}\n`);
    });
    const minutes = mod.timeoutMinutes ?? 20;
    const timer = setTimeout(() => child.kill('SIGKILL'), minutes * 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`could not start: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let result: BenchResult | null = null;
      try {
        result = parseResult(stdout);
      } catch (err) {
        resolve(`unreadable result: ${(err as Error).message}`);
        return;
      }
      if (code !== 0) resolve(signal === 'SIGKILL' ? `killed after ${minutes} min` : `exited with ${signal ?? `code ${code}`}`);
      else if (result === null) resolve('printed no BENCH_RESULT line');
      else resolve(result);
    });
  });
}

function printResult(result: BenchResult): void {
  console.log(`\n## ${result.title} (${result.name})\n`);
  for (const table of result.tables) {
    if (table.caption) console.log(table.caption);
    console.log(`${textTable(table)}\n`);
  }
  for (const check of result.checks) {
    console.log(`${check.ok ? 'ok    ' : 'MISSED'}  ${check.what}: ${check.value} (target ${check.target})`);
  }
}

// ---------------------------------------------------------------------------------------------
// docs/performance.md: regenerated from data. Each section stores its result as JSON in an HTML
// comment, so running one benchmark rewrites its section and keeps the others as they were.

const SECTION = /<!-- bench-result (.*?) -->/g;

function encodeComment(value: Recorded): string {
  // "--" may not appear inside an HTML comment; it can only occur in JSON strings, so escape it there.
  return JSON.stringify(value).replace(/--/g, '-\\u002d');
}

function readRecorded(): Map<string, Recorded> {
  const kept = new Map<string, Recorded>();
  if (!existsSync(DOC)) return kept;
  for (const match of readFileSync(DOC, 'utf8').matchAll(SECTION)) {
    try {
      const recorded = JSON.parse(match[1]!) as Recorded;
      kept.set(recorded.result.name, recorded);
    } catch {
      // A hand-edited or broken section is dropped; it will be measured again.
    }
  }
  return kept;
}

function describeRun(run: RunInfo): string {
  const load = run.load === undefined ? '' : `, load average ${run.load.toFixed(2)} at start`;
  return `${run.date}, Node ${run.node}, ${run.cpu} (${run.cores} cores, ${run.memory}), ${run.platform}${load}`;
}

function renderDoc(recorded: Recorded[], current: RunInfo): string {
  const out: string[] = [
    '# Performance',
    '',
    '<!-- Generated by `npm run bench` (bench/run.ts). Do not edit by hand: the next run rewrites this file. -->',
    '',
    'Measured by `npm run bench` (`npm run bench -- <name>` for one benchmark), never by timed unit tests. Each',
    'benchmark runs in its own `node --expose-gc` process; times are medians of several rounds, and every ratio',
    'compares cases run side by side, interleaved, in the same process (SPEC §7). Absolute times depend on the',
    'machine and its load; compare them across runs only as a rough guide. The benchmarks are in `bench/`',
    '(bench/run.ts explains how to add one).',
    '',
    `Last run: ${describeRun(current)}.`,
    '',
  ];
  const checks = recorded.flatMap((r) => r.result.checks);
  if (checks.length > 0) {
    out.push('## Targets', '', markdownTable({
      columns: ['measure', 'measured', 'target', 'met'],
      rows: checks.map((c) => [c.what, c.value, c.target, c.ok ? 'yes' : '**no**']),
    }), '');
  }
  for (const { run, result } of recorded) {
    out.push(`## ${result.title}`, '', `<!-- bench-result ${encodeComment({ run, result })} -->`, '');
    out.push(`\`npm run bench -- ${result.name}\` · measured ${describeRun(run)}.`, '');
    out.push(result.description, '', `**Target:** ${result.target}`, '');
    for (const table of result.tables) {
      if (table.caption) out.push(table.caption, '');
      out.push(markdownTable(table), '');
    }
    for (const note of result.notes ?? []) out.push(note, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const mod of BENCHMARKS) console.log(mod.name);
    return 0;
  }
  const unknown = options.names.filter((n) => !BENCHMARKS.some((m) => m.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; registered: ${BENCHMARKS.map((m) => m.name).join(', ')}`);
    return 2;
  }
  const selected = options.names.length === 0 ? BENCHMARKS : BENCHMARKS.filter((m) => options.names.includes(m.name));
  const info = runInfo();
  console.log(`Machine: ${describeRun(info)}${options.quick ? ' [--quick: docs not written]' : ''}`);

  const fresh = new Map<string, Recorded>();
  let failed = 0;
  for (const mod of selected) {
    console.error(`\n> ${mod.name}`);
    const start = Date.now();
    const result = await runModule(mod, options.quick);
    if (typeof result === 'string') {
      failed++;
      console.error(`benchmark ${mod.name} failed: ${result}`);
      continue;
    }
    console.error(`  (${((Date.now() - start) / 1000).toFixed(0)} s)`);
    printResult(result);
    fresh.set(mod.name, { run: info, result });
  }

  if (options.docs && fresh.size > 0) {
    const kept = readRecorded();
    const recorded = BENCHMARKS.flatMap((m) => {
      const r = fresh.get(m.name) ?? kept.get(m.name);
      return r === undefined ? [] : [r];
    });
    writeFileSync(DOC, renderDoc(recorded, info));
    console.log(`\nWrote ${DOC}`);
  }
  return failed > 0 ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

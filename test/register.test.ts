// The preload (tracemalloc/register) in real child processes: NODE_TRACEMALLOC values, the
// snapshot at exit, on process.exit(), on SIGTERM (the process still ends by the signal), and on
// demand with SIGUSR2.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Snapshot } from 'tracemalloc';
import { CHILD_TIMEOUT_MS, launch as launchChild, type Result } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
const REGISTER_MJS = path.join(ROOT, 'dist', 'register.mjs');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cli');
const STATE = path.join(FIXTURES, 'state.js');
const WAIT = path.join(FIXTURES, 'wait.js');
let dir = '';

function launch(args: string[], env: Record<string, string>): ReturnType<typeof launchChild> {
  return launchChild(process.execPath, args, dir, env);
}

function run(args: string[], env: Record<string, string>): Promise<Result> {
  return launch(args, env).done;
}

/** Resolves once the child has printed `text` on stdout. */
function waitFor(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (seen.includes(text)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
  });
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-register-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bad NODE_TRACEMALLOC values stop the process at start-up: exit 1, the variable and the value on stderr', async () => {
  const values = ['-1', '65536', 'abc', '0x5', '7 ', '1.5'];
  const results = await Promise.all(values.map((v) => run(['--require', REGISTER, STATE], { NODE_TRACEMALLOC: v })));
  results.forEach((r, i) => {
    const v = values[i]!;
    assert.equal(r.code, 1, v);
    assert.equal(r.stdout, '', `${v}: the program did not run`);
    assert.equal(r.stderr, `tracemalloc: NODE_TRACEMALLOC=${JSON.stringify(v)} is not valid: expected an integer number of frames in [1; 65535], or 0 to disable tracing\n`);
  });
});

test('bad values of the other variables stop it the same way; --import reports them too', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_INTERVAL: '-5' }, /^tracemalloc: NODE_TRACEMALLOC_INTERVAL="-5" is not valid/],
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_TOP: 'ten' }, /^tracemalloc: NODE_TRACEMALLOC_TOP="ten" is not valid/],
    [['--import', REGISTER_MJS, STATE], { NODE_TRACEMALLOC: 'abc' }, /^tracemalloc: NODE_TRACEMALLOC="abc" is not valid/],
  ];
  const results = await Promise.all(cases.map(([args, env]) => run(args, env)));
  results.forEach((r, i) => {
    assert.equal(r.code, 1);
    assert.match(r.stderr, cases[i]![2]);
  });
});

test('good values trace with that many frames (and interval); unset, empty and 0 leave tracing off', async () => {
  const cases: [string[], Record<string, string>, unknown][] = [
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '25' }, { tracing: true, limit: 25, interval: 65536 }],
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_INTERVAL: '4096' }, { tracing: true, limit: 1, interval: 4096 }],
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '65535' }, { tracing: true, limit: 65535, interval: 65536 }],
    [['--import', REGISTER_MJS, STATE], { NODE_TRACEMALLOC: '3' }, { tracing: true, limit: 3, interval: 65536 }],
    [['--require', REGISTER, STATE], {}, { tracing: false, limit: 1, interval: null }],
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '' }, { tracing: false, limit: 1, interval: null }],
    [['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '0' }, { tracing: false, limit: 1, interval: null }],
  ];
  const results = await Promise.all(cases.map(([args, env]) => run(args, env)));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(JSON.parse(r.stdout), cases[i]![2], JSON.stringify(cases[i]![1]));
  });
});

test('a dump or top variable without NODE_TRACEMALLOC says that tracing is off', async () => {
  const r = await run(['--require', REGISTER, STATE], { NODE_TRACEMALLOC_DUMP: 'x.json' });
  assert.equal(r.code, 0);
  assert.equal(r.stderr, 'tracemalloc: NODE_TRACEMALLOC_DUMP is set but NODE_TRACEMALLOC is not: tracing is off\n');
});

test('NODE_TRACEMALLOC_DUMP is written at a normal end, on process.exit() and after an uncaught exception', async () => {
  const files = ['end.json', 'exit-%p.json.gz', 'throw.json'].map((f) => path.join(dir, f));
  const [end, exit, thrown] = await Promise.all([
    run(['--require', REGISTER, STATE], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: files[0]! }),
    run(['--require', REGISTER, STATE, 'exit'], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: files[1]! }),
    run(['--require', REGISTER, STATE, 'throw'], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: files[2]! }),
  ]);
  assert.equal(end!.code, 0);
  assert.equal(exit!.code, 3);
  assert.equal(thrown!.code, 1);
  assert.match(thrown!.stderr, /Error: boom/);
  const exitFiles = fs.readdirSync(dir).filter((f) => /^exit-\d+\.json\.gz$/.test(f));
  assert.equal(exitFiles.length, 1, 'the pid replaces %p');
  for (const file of [files[0]!, path.join(dir, exitFiles[0]!), files[2]!]) {
    const snapshot = Snapshot.load(file);
    assert.equal(snapshot.meta.reason, 'exit');
    assert.equal(snapshot.meta.script, STATE);
    // state.js keeps an array of 512 KiB: sampled for sure at the default interval.
    const mine = snapshot.statistics('filename').find((s) => s.traceback.at(0)?.filename === STATE);
    assert.ok(mine !== undefined && mine.size >= 512 * 1024, file);
  }
});

test('NODE_TRACEMALLOC_TOP prints the top on stderr at exit; stdout stays the program\'s', async () => {
  const r = await run(['--require', REGISTER, path.join(FIXTURES, 'app.js')], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_TOP: '3' });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'app: 1000 arrays\n');
  assert.match(r.stderr, /^tracemalloc: pid \d+ at exit \(.*app\.js\), snapshot \d+ ms\nTop 3 lines\n#1: cli\/app\.js:7: \d+\.\d KiB\n {4}function allocateRetained\(n\) \{\n/);
  assert.match(r.stderr, /\nTotal allocated size: \d+\.\d KiB\n$/);
});

test('on SIGTERM with no handler of its own: the snapshot is written and the process still dies by SIGTERM', async () => {
  const file = path.join(dir, 'term.json');
  const plain = launch([WAIT], {});
  const traced = launch(['--require', REGISTER, WAIT], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: file });
  await Promise.all([waitFor(plain.child, 'ready'), waitFor(traced.child, 'ready')]);
  plain.child.kill('SIGTERM');
  traced.child.kill('SIGTERM');
  const [p, t] = await Promise.all([plain.done, traced.done]);
  assert.deepEqual([t.code, t.signal], [p.code, p.signal]);
  assert.deepEqual([t.code, t.signal], [null, 'SIGTERM']);
  assert.equal(Snapshot.load(file).meta.reason, 'SIGTERM');
});

test('on SIGINT likewise: the snapshot, then death by SIGINT', async () => {
  const file = path.join(dir, 'int.json');
  const traced = launch(['--require', REGISTER, WAIT], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: file });
  await waitFor(traced.child, 'ready');
  traced.child.kill('SIGINT');
  const t = await traced.done;
  assert.deepEqual([t.code, t.signal], [null, 'SIGINT']);
  assert.equal(Snapshot.load(file).meta.reason, 'SIGINT');
});

test('a program with its own SIGTERM handler keeps control; its exit writes the snapshot', async () => {
  const file = path.join(dir, 'handled.json');
  const traced = launch(['--require', REGISTER, WAIT, 'handle'], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: file });
  await waitFor(traced.child, 'ready');
  traced.child.kill('SIGTERM');
  const t = await traced.done;
  assert.deepEqual([t.code, t.signal], [7, null]);
  assert.match(t.stdout, /handled SIGTERM/);
  assert.equal(Snapshot.load(file).meta.reason, 'exit');
});

test('SIGUSR2 writes numbered snapshots next to the dump path, or in the working directory', async () => {
  const file = path.join(dir, 'demand.json.gz');
  const withPath = launch(['--require', REGISTER, WAIT], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: file });
  const inCwd = launch(['--require', REGISTER, WAIT], { NODE_TRACEMALLOC: '1' });
  await Promise.all([waitFor(withPath.child, 'ready'), waitFor(inCwd.child, 'ready')]);
  const expected = [path.join(dir, 'demand.1.json.gz'), path.join(dir, 'demand.2.json.gz'), path.join(dir, `tracemalloc-${inCwd.child.pid}.1.json`)];
  withPath.child.kill('SIGUSR2');
  await waitForFile(expected[0]!);
  withPath.child.kill('SIGUSR2');
  inCwd.child.kill('SIGUSR2');
  await Promise.all([waitForFile(expected[1]!), waitForFile(expected[2]!)]);
  withPath.child.kill('SIGTERM');
  inCwd.child.kill('SIGTERM');
  const [a, b] = await Promise.all([withPath.done, inCwd.done]);
  assert.equal(a.signal, 'SIGTERM');
  assert.equal(b.signal, 'SIGTERM');
  for (const f of expected) assert.equal(Snapshot.load(f).meta.reason, 'SIGUSR2');
  assert.match(a.stderr, new RegExp(`tracemalloc: wrote ${escapeRegExp(expected[0]!)}\\n`));
  assert.match(b.stderr, new RegExp(`tracemalloc: wrote ${escapeRegExp(expected[2]!)}\\n`));
  assert.equal(Snapshot.load(file).meta.reason, 'SIGTERM');
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Resolves when `file` exists (the preload writes it atomically). Bounded by CHILD_TIMEOUT_MS. */
async function waitForFile(file: string): Promise<void> {
  const deadline = Date.now() + CHILD_TIMEOUT_MS;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} was not written`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the snapshot at exit counts what is alive, not the garbage made just before', async () => {
  // 24 MiB kept in arrays reachable from a global, 96 MiB of arrays and closures made garbage at
  // the very end (no GC in between need have freed them). Sampled at 64 KiB: each 16,368-byte
  // array is sampled with p = 0.221 and V8 counts a sample as round(1/p) = 5 arrays where it stands
  // for 4.52 (docs/differences-from-python.md §1), so the estimate is 26.5 MiB with a standard
  // deviation of 1.27 MiB (1,536 arrays, binomial); 20-34 MiB is 5.1 sigma below and 5.9 above
  // (a bound of 30 failed about 1 run in 300), while counting the garbage would read ~5x.
  const program = path.join(dir, 'final-gc.js');
  fs.writeFileSync(program, `
globalThis.kept = [];
for (let i = 0; i < 24 * 64; i++) globalThis.kept.push(new Array(2044).fill(i));
let junk = [];
for (let i = 0; i < 96 * 64; i++) junk.push({ a: new Array(2044).fill(i), f: () => i });
junk = null;
console.log('done');
`);
  const dump = path.join(dir, 'final-gc.json');
  const r = await run(['--require', REGISTER, program], { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_DUMP: dump });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'done\n');
  let total = 0;
  for (const t of Snapshot.load(dump).traces) total += t.size;
  const mib = total / 1048576;
  assert.ok(mib > 20 && mib < 34, `traced ${mib.toFixed(1)} MiB at exit, expected 26.5 MiB (24 MiB as V8 scales it) ± 5 sigma`);
});

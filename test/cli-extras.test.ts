// Issue 16, the rough edges of `run` and the CLI: traceback headings name the program's frame,
// `top`/`diff` read `.heapprofile` files (node --heap-prof), worker threads are traced under
// `run` (each its own report), colour follows NO_COLOR / FORCE_COLOR / TERM=dumb per stream, and
// big inputs (a .json.gz counts unpacked) show progress on a terminal.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Snapshot, type RawTrace } from 'tracemalloc';
import { runCli } from '#internal/cli/program';
import { colorEnabled, headingFrame, inputBytes } from '#internal/view';
import type { CommandIO } from '#internal/cli/command';
import { launch } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cli');
const APP = path.join(FIXTURES, 'app.js');
let dir = '';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function cli(argv: string[], io: Partial<CommandIO> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(argv, { isTTY: false, ...io, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-cli-extras-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// Raw frames are most recent first: an allocation in a promise job queued by the program.
const ASYNC: RawTrace[] = [
  [0, 300 * 1024, [['node:internal/process/task_queues', 95], ['/srv/node_modules/lib/queue.js', 3], ['/srv/app/server.js', 42], ['/srv/app/main.js', 1]], null, 30],
  [0, 100 * 1024, [['node:internal/process/task_queues', 95], ['/srv/node_modules/lib/queue.js', 3]], null, 10],
  [0, 50 * 1024, [['node:internal/process/task_queues', 95], ['node:internal/timers', 5]], null, 5],
];

test('--key traceback: each group is headed by the program\'s most recent frame, not node:internal', async () => {
  const snapshot = new Snapshot(ASYNC, 4);
  const stats = snapshot.statistics('traceback');
  assert.deepEqual(stats.map((s) => { const f = headingFrame(s.traceback)!; return `${f.filename}:${f.lineno}`; }), [
    '/srv/app/server.js:42', // the program's own code, past node_modules
    '/srv/node_modules/lib/queue.js:3', // no code of the program's own: the dependency
    'node:internal/process/task_queues:95', // internals only: the most recent frame
  ]);
  const file = path.join(dir, 'async.json');
  snapshot.dump(file);
  const top = await cli(['top', '--key', 'traceback', '--limit', '3', file]);
  assert.match(top.stdout, /^Top 3 tracebacks\n#1: app\/server\.js:42: 30 memory blocks: 300\.0 KiB\n {2}File "\/srv\/app\/main\.js", line 1\n/);
  assert.match(top.stdout, /\n#2: lib\/queue\.js:3: 10 memory blocks: 100\.0 KiB\n/);
  const empty = path.join(dir, 'empty.json');
  new Snapshot([], 4).dump(empty);
  const diff = await cli(['diff', '--key', 'traceback', '--limit', '1', empty, file]);
  assert.match(diff.stdout, /^\[ Top 1 differences \]\napp\/server\.js:42: size=300 KiB \(\+300 KiB\), count=30 \(\+30\)/);
});

test('top and diff read node --heap-prof output, as report and export do', async () => {
  const profDir = path.join(dir, 'prof');
  const r = await launch(process.execPath, ['--heap-prof', '--heap-prof-dir', profDir, '--heap-prof-interval', '4096', APP], dir).done;
  assert.equal(r.code, 0, r.stderr);
  const [name] = fs.readdirSync(profDir).filter((f) => f.endsWith('.heapprofile'));
  assert.ok(name !== undefined, 'node --heap-prof wrote no .heapprofile');
  const profile = path.join(profDir, name);
  const top = await cli(['top', '--interval', '4096', '--read-sources', '--limit', '1', profile]);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^Top 1 lines\n#1: cli\/app\.js:7: \d+\.\d KiB\n {4}function allocateRetained\(n\) \{\n/);
  // The same file under a name that does not say it: recognized by its content.
  const renamed = path.join(dir, 'renamed.json');
  fs.copyFileSync(profile, renamed);
  assert.match((await cli(['top', '--interval', '4096', '--limit', '1', renamed])).stdout, /^Top 1 lines\n#1: cli\/app\.js:7: /);
  const empty = path.join(dir, 'nothing.json');
  new Snapshot([], 1).dump(empty);
  const diff = await cli(['diff', '--interval', '4096', '--limit', '1', empty, profile]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^\[ Top 1 differences \]\n.*app\.js:7: size=\d+ KiB \(\+\d+ KiB\)/);
});

test('run traces worker threads: each prints its own top and writes its own dump', async () => {
  const r = await launch(process.execPath, [BIN, 'run', '--top', '1', '--dump', 'w.json', path.join(FIXTURES, 'workers.js')], dir).done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /tracemalloc: pid \d+ worker 1 at exit \(.*workers\.js\), snapshot \d+ ms\nTop 1 lines\n#1: cli\/workers\.js:13: \d+\.\d KiB\n {4}function workerAllocate\(\) \{\n/);
  assert.match(r.stderr, /tracemalloc: pid \d+ at exit \(.*workers\.js\), snapshot \d+ ms\nTop 1 lines\n#1: cli\/workers\.js:7: \d+\.\d KiB\n {4}function mainAllocate\(\) \{\n/);
  const main = Snapshot.load(path.join(dir, 'w.json'));
  const worker = Snapshot.load(path.join(dir, 'w.worker-1.json'));
  const size = (s: Snapshot, fn: string): number => s.statistics('lineno').filter((x) => x.traceback.at(0)!.lineno === (fn === 'main' ? 7 : 13)).reduce((a, x) => a + x.size, 0);
  // 512 and 384 arrays of 8,208 bytes: at a 64 KiB interval each is sampled with p = 0.118 and a
  // sample counts 65,664 bytes, so the main thread's ~60 samples (sd 7.3) must fall to 23 or fewer
  // to read under 1.5 MiB (5.1 sd, ~2e-7) and the worker's ~45 (sd 6.3) to 15 or fewer to read
  // under 1 MiB (4.7 sd). (With 128 arrays and a bound of 0.3 MiB, 4 samples or fewer failed it:
  // 2 runs in 1,211.)
  assert.ok(size(main, 'main') > 1.5 * 1048576 && size(worker, 'worker') > 1048576, `${size(main, 'main')} ${size(worker, 'worker')}`);
  assert.equal(size(main, 'worker'), 0, 'the main thread\'s snapshot holds none of the worker\'s');
  assert.equal(size(worker, 'main'), 0);
});

test('colour: FORCE_COLOR wins (0 turns it off), then NO_COLOR, then TERM=dumb, then the terminal', () => {
  const cases: [boolean, Record<string, string>, boolean][] = [
    [true, {}, true], [false, {}, false],
    [false, { FORCE_COLOR: '1' }, true], [false, { FORCE_COLOR: '3' }, true], [true, { FORCE_COLOR: '0' }, false], [true, { FORCE_COLOR: 'false' }, false],
    [true, { FORCE_COLOR: '' }, true], [false, { FORCE_COLOR: '' }, false],
    [true, { NO_COLOR: '1' }, false], [true, { NO_COLOR: '' }, true], [false, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    [true, { TERM: 'dumb' }, false], [true, { TERM: 'xterm-256color' }, true], [false, { TERM: 'dumb', FORCE_COLOR: '1' }, true],
  ];
  for (const [tty, env, expected] of cases) assert.equal(colorEnabled(tty, env), expected, `${tty} ${JSON.stringify(env)}`);
});

test('colour per stream: stdout piped stays plain while stderr, a terminal, shows progress; FORCE_COLOR colours a pipe', async () => {
  const file = path.join(dir, 'colour.json');
  new Snapshot(ASYNC, 4).dump(file);
  const piped = await cli(['top', file], { stdoutTTY: false, stderrTTY: true, env: {}, progressMinBytes: 1 });
  assert.doesNotMatch(piped.stdout, /\u001b\[/);
  assert.match(piped.stderr, /^loading .*colour\.json \(\d+ B\)\.\.\.\r\u001b\[K$/);
  const forced = await cli(['top', file], { stdoutTTY: false, stderrTTY: false, env: { FORCE_COLOR: '1' } });
  assert.match(forced.stdout, /^\u001b\[1mTop 10 lines\u001b\[22m\n/);
  const dumb = await cli(['top', file], { isTTY: true, env: { TERM: 'dumb' }, progressMinBytes: 1 });
  assert.doesNotMatch(dumb.stdout + dumb.stderr, /\u001b\[/);
  assert.equal(dumb.stderr, '', 'no progress line on a terminal that cannot erase it');
  // The bin itself: a pipe, FORCE_COLOR=1 and NO_COLOR set in its environment.
  const bin = await launch(process.execPath, [BIN, 'top', file], dir, { FORCE_COLOR: '1' }).done;
  assert.match(bin.stdout, /^\u001b\[1mTop 10 lines/);
  const no = await launch(process.execPath, [BIN, 'top', file], dir, { NO_COLOR: '1' }).done;
  assert.doesNotMatch(no.stdout, /\u001b\[/);
});

test('progress: a .json.gz counts unpacked; report and export say what they do on big inputs', async () => {
  // Repetitive traces: the JSON packs ~50 times smaller.
  const traces: RawTrace[] = Array.from({ length: 4000 }, (_, i) => [0, 1024, [[`/srv/app/module-${i % 40}.js`, i % 100]], null, 1]);
  const json = path.join(dir, 'big.json');
  const gz = path.join(dir, 'big.json.gz');
  new Snapshot(traces, 1).dump(json);
  new Snapshot(traces, 1).dump(gz);
  const packed = fs.statSync(gz).size;
  const unpacked = fs.statSync(json).size;
  assert.ok(unpacked > 4 * packed, `${packed} ${unpacked}`);
  assert.equal(inputBytes(gz), zlib.gunzipSync(fs.readFileSync(gz)).length);
  assert.equal(inputBytes(json), unpacked);
  // Over the threshold only once unpacked: progress, naming both sizes.
  const threshold = Math.floor((packed + unpacked) / 2);
  const top = await cli(['top', gz], { isTTY: true, env: {}, progressMinBytes: threshold });
  assert.match(top.stderr, /^loading .*big\.json\.gz \(\d+ B, [\d.]+ KiB unpacked\)\.\.\.\r\u001b\[K$/);
  const report = await cli(['report', gz, '-o', path.join(dir, 'big.html')], { isTTY: true, env: {}, progressMinBytes: threshold });
  assert.match(report.stderr, /loading .*\.\.\.\r\u001b\[Krendering the report\.\.\.\r\u001b\[Kwrote the report to /);
  const exported = await cli(['export', gz, '-o', path.join(dir, 'big.pb.gz')], { isTTY: true, env: {}, progressMinBytes: threshold });
  assert.match(exported.stderr, /converting to pprof\.\.\.\r\u001b\[Kwrote the pprof profile to /);
  const small = await cli(['report', gz, '-o', path.join(dir, 'big2.html')], { isTTY: true, env: {}, progressMinBytes: unpacked * 2 });
  assert.match(small.stderr, /^wrote the report to /);
});

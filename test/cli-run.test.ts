// `tracemalloc run` end to end: the bin runs a fixture program traced, the top comes out on
// stderr, the exit code (or signal) is the program's, and --dump writes a file that `top` and
// `diff` read.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHILD_TIMEOUT_MS, launch as launchChild } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cli');
const APP = path.join(FIXTURES, 'app.js');
const WAIT = path.join(FIXTURES, 'wait.js');
let dir = '';

/** The bin itself, as npm installs it: executed through its shebang. */
function launch(args: string[]): ReturnType<typeof launchChild> {
  return launchChild(BIN, args, dir);
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-run-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the bin is executable and starts with a shebang', () => {
  assert.ok((fs.statSync(BIN).mode & 0o111) !== 0, 'executable');
  assert.match(fs.readFileSync(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('run app.js: the program\'s stdout stays clean, the top is on stderr, the exit code is the program\'s', async () => {
  const [ok, failing] = await Promise.all([launch(['run', APP]).done, launch(['run', '--top', '2', APP, '42']).done]);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'app: 1000 arrays\n');
  // Issue 16: the traced program says its pid and how to ask it for a snapshot, first.
  const pid = /^tracemalloc: tracing pid (\d+) \(.*app\.js\); a snapshot now: kill -USR2 (\d+)\n/.exec(ok.stderr);
  assert.ok(pid !== null && pid[1] === pid[2], ok.stderr);
  assert.match(ok.stderr.slice(pid[0].length), /^tracemalloc: pid \d+ at exit \(.*app\.js\), snapshot \d+ ms\nTop 10 lines\n#1: cli\/app\.js:7: \d+\.\d KiB\n {4}function allocateRetained\(n\) \{\n/);
  assert.equal(failing.code, 42);
  assert.match(failing.stderr, /\nTop 2 lines\n#1: cli\/app\.js:7: /);
});

test('run --dump writes a snapshot that top and diff read', async () => {
  const file = path.join(dir, 'heap.json');
  const small = path.join(dir, 'small.json.gz');
  const [r, s] = await Promise.all([
    launch(['run', '--dump', 'heap.json', '--top', '0', APP]).done,
    launch(['run', '--dump', small, '--top', '0', '--', process.execPath, '-e', 'globalThis.kept = [1, 2, 3]']).done,
  ]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^tracemalloc: tracing pid (\d+) .*kill -USR2 \1\ntracemalloc run: snapshot written to heap.json \(read it with: tracemalloc top heap.json\)\n$/);
  assert.equal(s.code, 0);
  const top = await launch(['top', '--limit', '1', file]).done;
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Top 1 lines\n#1: cli\/app\.js:7: \d+\.\d KiB\n {4}function allocateRetained\(n\) \{\n/);
  const diff = await launch(['diff', '--limit', '1', small, file]).done;
  assert.equal(diff.code, 0);
  assert.match(diff.stdout, new RegExp(`^\\[ Top 1 differences \\]\\n${APP.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7: size=\\d+ KiB \\(\\+\\d+ KiB\\), count=\\d+ \\(\\+\\d+\\), average=\\d+ B\\n$`));
  const json = JSON.parse((await launch(['top', '--json', '--key', 'filename', file]).done).stdout);
  assert.equal(json.stats[0].traceback[0].filename, APP);
});

test('a program killed by a signal: run dies by the same signal', async () => {
  const { child, done } = launch(['run', '--top', '1', WAIT]);
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  child.kill('SIGTERM'); // passed on to the program, which writes its top and dies by SIGTERM
  const r = await done;
  assert.deepEqual([r.code, r.signal], [null, 'SIGTERM']);
  assert.match(r.stderr, /tracemalloc: pid \d+ at SIGTERM \(.*wait\.js\), snapshot \d+ ms\nTop 1 lines\n/);
});

test('SIGUSR2 and SIGINT sent to run reach the program: a numbered snapshot, then death by SIGINT', async () => {
  const { child, done } = launch(['run', '--top', '0', '--dump', 'served.json', WAIT]);
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  child.kill('SIGUSR2');
  const numbered = path.join(dir, 'served.1.json');
  const deadline = Date.now() + CHILD_TIMEOUT_MS;
  while (!fs.existsSync(numbered) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  child.kill('SIGINT'); // stdin is not a terminal here, so run passes SIGINT on
  const r = await done;
  assert.deepEqual([r.code, r.signal], [null, 'SIGINT']);
  assert.match(r.stderr, new RegExp(`tracemalloc: wrote ${numbered.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n`));
  assert.ok(fs.existsSync(path.join(dir, 'served.json')), 'the snapshot at SIGINT');
});

test('a command that does not exist: exit 127 and a message', async () => {
  const r = await launch(['run', 'no-such-command-tracemalloc']).done;
  assert.equal(r.code, 127);
  assert.equal(r.stderr, 'tracemalloc run: cannot run "no-such-command-tracemalloc": command not found\n');
});

test('usage errors exit 2', async () => {
  const r = await launch(['run']).done;
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'tracemalloc run: a program to run is needed\nRun "tracemalloc run --help" for usage.\n');
});

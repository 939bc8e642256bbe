// The `top` and `diff` commands and the dispatcher, run in this process on snapshot files made
// from hand-written traces (deterministic), with in-memory streams.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Snapshot, type RawTrace } from 'tracemalloc';
import { runCli, version } from '#internal/cli/program';
import { loadSnapshot, PROGRESS_MIN_BYTES } from '#internal/view';

const APP = path.join(__dirname, '..', '..', 'test', 'fixtures', 'cli', 'app.js');
let dir = '';
let oldFile = '';
let newFile = '';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function cli(argv: string[], isTTY = false, env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(argv, { stdout, stderr, isTTY, ...(env !== undefined ? { env } : {}) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

// app.js:7 is `function allocateRetained(n) {`, app.js:11 the call at module level.
const OLD: RawTrace[] = [
  [0, 40960, [[APP, 7], [APP, 11]], 2, 40],
  [0, 10240, [['/srv/lib/cache.js', 3]], 1, 10],
  [0, 4096, [['node:internal/timers', 5]], 1, 4],
];
const NEW: RawTrace[] = [
  [0, 102400, [[APP, 7], [APP, 11]], 2, 100],
  [0, 2048, [['/srv/lib/cache.js', 3]], 1, 2],
  [0, 8192, [['/srv/lib/pool.js', 20]], 1, 8],
];

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-cli-'));
  oldFile = path.join(dir, 'old.json');
  newFile = path.join(dir, 'new.json.gz');
  new Snapshot(OLD, 2, { samplingInterval: 1024 }).dump(oldFile);
  new Snapshot(NEW, 2, { samplingInterval: 1024 }).dump(newFile);
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('top prints formatTop of the file, with the source lines it carries', async () => {
  const r = await cli(['top', newFile]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, [
    'Top 10 lines',
    '#1: cli/app.js:7: 100.0 KiB',
    '    function allocateRetained(n) {',
    '#2: lib/pool.js:20: 8.0 KiB',
    '#3: lib/cache.js:3: 2.0 KiB',
    '(V8 heap sites are functions: the line shown is where the allocating function starts)',
    'Total allocated size: 110.0 KiB',
    '',
  ].join('\n'));
});

test('top --limit, --filter, --exclude and --key filename', async () => {
  const limited = await cli(['top', '--limit', '1', newFile]);
  assert.match(limited.stdout, /^Top 1 lines\n#1: cli\/app\.js:7: 100\.0 KiB\n/);
  assert.match(limited.stdout, /\n2 other: 10\.0 KiB\nTotal allocated size: 110\.0 KiB\n$/);
  const filtered = await cli(['top', '--filter', '/srv/*', '--exclude', '*/pool.js', newFile]);
  assert.match(filtered.stdout, /^Top 10 lines\n#1: lib\/cache\.js:3: 2\.0 KiB\n/);
  assert.match(filtered.stdout, /Total allocated size: 2\.0 KiB\n$/);
  const byFile = await cli(['top', '--key', 'filename', newFile]);
  assert.match(byFile.stdout, /#1: cli\/app\.js:0: 100\.0 KiB/);
  const all = await cli(['top', '--limit', '0', newFile]);
  assert.match(all.stdout, /^Top 3 lines\n/);
});

test('top --key traceback prints each traceback as Python\'s documentation does, headed by the program\'s most recent frame', async () => {
  const r = await cli(['top', '--key', 'traceback', '--limit', '1', newFile]);
  assert.equal(r.stdout, [
    'Top 1 tracebacks',
    '#1: cli/app.js:7: 100 memory blocks: 100.0 KiB',
    `  File "${APP}", line 11`,
    '    allocateRetained(1000);',
    `  File "${APP}", line 7`,
    '    function allocateRetained(n) {',
    '2 other: 10.0 KiB',
    'Total allocated size: 110.0 KiB',
    '',
  ].join('\n'));
});

test('top --json has the documented shape', async () => {
  const r = await cli(['top', '--json', '--limit', '1', newFile]);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    format: 'tracemalloc-top',
    version: 1,
    file: newFile,
    keyType: 'lineno',
    cumulative: false,
    tracebackLimit: 2,
    samplingInterval: 1024,
    total: { size: 112640, count: 110 },
    stats: [{ traceback: [{ filename: APP, lineno: 7, function: null, line: 'function allocateRetained(n) {' }], size: 102400, count: 100 }],
    other: { groups: 2, size: 10240, count: 10 },
  });
});

test('diff prints one str(StatisticDiff) a line, biggest change first', async () => {
  const r = await cli(['diff', oldFile, newFile]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, [
    '[ Top 10 differences ]',
    `${APP}:7: size=100 KiB (+60.0 KiB), count=100 (+60), average=1024 B`,
    '/srv/lib/pool.js:20: size=8192 B (+8192 B), count=8 (+8), average=1024 B',
    '/srv/lib/cache.js:3: size=2048 B (-8192 B), count=2 (-8), average=1024 B',
    'node:internal/timers:5: size=0 B (-4096 B), count=0 (-4)',
    '',
  ].join('\n'));
  const json = JSON.parse((await cli(['diff', '--json', '--limit', '2', oldFile, newFile])).stdout);
  assert.equal(json.format, 'tracemalloc-diff');
  assert.deepEqual(json.total, { size: 112640, sizeDiff: 112640 - 55296, count: 110, countDiff: 56 });
  assert.equal(json.stats.length, 2);
  assert.deepEqual(json.stats[1], { traceback: [{ filename: '/srv/lib/pool.js', lineno: 20, function: null, line: null }], size: 8192, sizeDiff: 8192, count: 8, countDiff: 8 });
  assert.deepEqual(json.other, { groups: 2, size: 2048, sizeDiff: -12288, count: 2, countDiff: -12 });
});

test('colour on a terminal only, and not with NO_COLOR', async () => {
  const plain = await cli(['diff', oldFile, newFile], false, {});
  assert.doesNotMatch(plain.stdout, /\u001b\[/);
  const tty = await cli(['diff', oldFile, newFile], true, {});
  assert.match(tty.stdout, /\u001b\[31m\(\+60\.0 KiB\)\u001b\[39m/);
  assert.match(tty.stdout, /\u001b\[32m\(-8192 B\)\u001b\[39m/);
  assert.equal(tty.stdout.replace(/\u001b\[\d+m/g, ''), plain.stdout);
  assert.doesNotMatch((await cli(['top', newFile], true, { NO_COLOR: '1' })).stdout, /\u001b\[/);
});

test('a bad file: exit 1 and one line naming the file and the problem', async () => {
  const missing = path.join(dir, 'missing.json');
  const r = await cli(['top', missing]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `tracemalloc top: ${missing}: no such file\n`);
  const junk = path.join(dir, 'junk.json');
  fs.writeFileSync(junk, '{"format": "something else"}');
  const j = await cli(['diff', oldFile, junk]);
  assert.equal(j.code, 1);
  assert.match(j.stderr, /^tracemalloc diff: .*junk\.json: not a tracemalloc snapshot/);
});

test('help, version, usage errors and unknown commands', async () => {
  const main = await cli(['--help']);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /^Usage: tracemalloc <command> \[options\]\n/);
  assert.match(main.stdout, /\n {2}run +run a program traced/);
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^Usage: tracemalloc/);
  for (const argv of [['top', '--help'], ['help', 'top'], ['--help', 'top'], ['top', '-h', 'ignored.json']]) {
    const r = await cli(argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.match(r.stdout, /^Usage: tracemalloc top \[options\] <file>\n/, argv.join(' '));
  }
  assert.match((await cli(['run', '--help'])).stdout, /^Usage: tracemalloc run \[options\] \[--\] <command> \[args\.\.\.\]/);
  assert.match((await cli(['diff', '--help'])).stdout, /^Usage: tracemalloc diff/);
  const v = await cli(['--version']);
  assert.equal(v.stdout, `${version()}\n`);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const bad = await cli(['top', '--limit', 'x', 'a.json']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'tracemalloc top: --limit must be an integer in [0; 2147483647], not "x"\nRun "tracemalloc top --help" for usage.\n');
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^tracemalloc: unknown command "frobnicate" \(commands: run, top, diff/);
});

test('loading a big file shows progress on a terminal only, then erases it', () => {
  const big = path.join(dir, 'big.json');
  const raw: RawTrace[] = [];
  for (let i = 0; i < 2000; i++) raw.push([0, 64, [[`/srv/app/file${i % 50}.js`, i]], 1, 1]);
  new Snapshot(raw, 1).dump(big);
  const size = fs.statSync(big).size;
  assert.ok(PROGRESS_MIN_BYTES >= 8 * 1024 * 1024, 'small files load without a progress line');
  const stderr = new Sink();
  loadSnapshot(big, { stdout: new Sink(), stderr, isTTY: true }, size);
  assert.match(stderr.text, /^loading .*big\.json \(\d+(\.\d)? KiB\)\.\.\.\r\u001b\[K$/);
  const quiet = new Sink();
  loadSnapshot(big, { stdout: new Sink(), stderr: quiet, isTTY: false }, size);
  assert.equal(quiet.text, '');
  const small = new Sink();
  loadSnapshot(big, { stdout: new Sink(), stderr: small, isTTY: true });
  assert.equal(small.text, '');
});

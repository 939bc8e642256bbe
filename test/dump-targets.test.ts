/**
 * Where `dump()` writes (issue 13): a symlink's target is replaced atomically (the link stays), a
 * FIFO, a character device and standard output (`-`, `/dev/stdout`) are written in place, a
 * directory, a block device or socket is refused, and no special file is ever replaced by a
 * regular one. Errors name the caller's path, never the temporary file. Concurrent dumps from
 * worker threads and processes to one path always leave a whole, loadable file.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Snapshot } from 'tracemalloc';
import { cleanEnv, launch } from './helpers/child.js';
import { descriptorOf, resolveTarget } from '#internal/write-file';

const ROOT = path.join(__dirname, '..', '..');
const INDEX = path.join(ROOT, 'dist', 'index.js');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
let dir = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-dump-'));
  fs.chmodSync(dir, 0o755);
});
after(() => {
  try {
    execFileSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
  } catch {
    // No immutable file was made.
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const small = new Snapshot([[0, 4096, [['/srv/app.js', 3]], 1]], 1, { samplingInterval: 65536 });

/** A snapshot of about `n` traces over distinct frames: big enough for writes to overlap. */
function bigSnapshot(n: number, tag: number): Snapshot {
  const raw: [number, number, [string, number][], number, number][] = [];
  for (let i = 0; i < n; i++) raw.push([0, 64 + i, [[`/srv/app/module-${i % 997}.js`, i + 1], ['/srv/app/main.js', tag]], 2, 1]);
  return new Snapshot(raw, 2, { samplingInterval: 65536, meta: { tag } });
}

/** What a dump error looks like: Node's `CODE: what, dump 'path'`, the caller's path, no temp name. */
function assertDumpError(fn: () => unknown, code: string, file: string, what?: RegExp): void {
  assert.throws(fn, (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.startsWith(`${code}: `), err.message);
    assert.ok(err.message.endsWith(`, dump '${file}'`), err.message);
    assert.ok(!err.message.includes('.tmp'), `the message names a temporary file: ${err.message}`);
    if (what !== undefined) assert.match(err.message, what);
    return true;
  });
}

/** No temporary file is left in `d`. */
function assertNoTemp(d: string): void {
  assert.deepEqual(fs.readdirSync(d).filter((n) => n.endsWith('.tmp')), []);
}

test('a symlink: its target is replaced atomically, the link stays a link', () => {
  const d = fs.mkdtempSync(path.join(dir, 'link-'));
  const target = path.join(d, 'target.json');
  fs.writeFileSync(target, 'old', { mode: 0o640 });
  fs.chmodSync(target, 0o640);
  fs.symlinkSync('target.json', path.join(d, 'link.json'));
  // A chain through another directory, by a relative link.
  fs.mkdirSync(path.join(d, 'sub'));
  fs.symlinkSync('../link.json', path.join(d, 'sub', 'chain.json'));
  small.dump(path.join(d, 'sub', 'chain.json'));
  assert.ok(fs.lstatSync(path.join(d, 'link.json')).isSymbolicLink());
  assert.ok(fs.lstatSync(path.join(d, 'sub', 'chain.json')).isSymbolicLink());
  assert.equal(Snapshot.load(target).traces.length, 1);
  // The target keeps its permission bits.
  assert.equal(fs.statSync(target).mode & 0o777, 0o640);
  assertNoTemp(d);
});

test('a dangling symlink: its target is created, the link stays', () => {
  const d = fs.mkdtempSync(path.join(dir, 'dangling-'));
  fs.symlinkSync('made.json', path.join(d, 'link.json'));
  small.dump(path.join(d, 'link.json'));
  assert.ok(fs.lstatSync(path.join(d, 'link.json')).isSymbolicLink());
  assert.equal(Snapshot.load(path.join(d, 'made.json')).traces.length, 1);
  // Dangling into a directory that does not exist: ENOENT naming the link.
  fs.symlinkSync('nowhere/made.json', path.join(d, 'bad.json'));
  assertDumpError(() => small.dump(path.join(d, 'bad.json')), 'ENOENT', path.join(d, 'bad.json'));
  // A loop of links: ELOOP naming the path given.
  fs.symlinkSync('b.json', path.join(d, 'a.json'));
  fs.symlinkSync('a.json', path.join(d, 'b.json'));
  assertDumpError(() => small.dump(path.join(d, 'a.json')), 'ELOOP', path.join(d, 'a.json'));
  assert.ok(fs.lstatSync(path.join(d, 'a.json')).isSymbolicLink());
  assertNoTemp(d);
});

test('a FIFO is written in place and stays a FIFO; one without a reader is refused, not waited for', async () => {
  const d = fs.mkdtempSync(path.join(dir, 'fifo-'));
  const fifo = path.join(d, 'pipe');
  execFileSync('mkfifo', [fifo]);
  assertDumpError(() => small.dump(fifo), 'ENXIO', fifo, /no process is reading this FIFO/);
  assert.ok(fs.lstatSync(fifo).isFIFO());
  // A reader in another process (the pipe holds 64 KiB: the big snapshot makes dump() wait on it).
  // cat copies into a file: this thread is busy in dump() and could not drain a pipe from it.
  const copy = path.join(d, 'copy.json');
  const copyFd = fs.openSync(copy, 'w');
  const reader = spawn('cat', [fifo], { stdio: ['ignore', copyFd, 'inherit'] });
  fs.closeSync(copyFd);
  const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
  // Wait until cat has opened the FIFO (dump() refuses while nobody reads).
  const big = bigSnapshot(20000, 1);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      big.dump(fifo);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await closed;
  const text = fs.readFileSync(copy, 'utf8');
  assert.ok(text.length > 65536, `only ${text.length} bytes came through`);
  assert.equal(Snapshot.fromJSON(JSON.parse(text)).traces.length, 20000);
  assert.ok(fs.lstatSync(fifo).isFIFO());
  assertNoTemp(d);
});

test('a character device (a null device) is written in place and stays a device', () => {
  // As root, a private null device: a regression would replace it, not the machine's /dev/null.
  // Without root, /dev/null itself (which only root could replace).
  const d = fs.mkdtempSync(path.join(dir, 'dev-'));
  let device = '/dev/null';
  if (process.getuid?.() === 0) {
    device = path.join(d, 'null');
    execFileSync('mknod', ['-m', '666', device, 'c', '1', '3']);
  }
  small.dump(device);
  assert.ok(fs.lstatSync(device).isCharacterDevice());
  // A symlink to it, too.
  fs.symlinkSync(device, path.join(d, 'null.json'));
  small.dump(path.join(d, 'null.json'));
  assert.ok(fs.lstatSync(path.join(d, 'null.json')).isSymbolicLink());
  assert.ok(fs.lstatSync(device).isCharacterDevice());
  assertNoTemp(d);
});

test('a directory is refused (EISDIR naming it) and left alone', () => {
  const d = fs.mkdtempSync(path.join(dir, 'dir-'));
  fs.writeFileSync(path.join(d, 'keep'), 'x');
  assertDumpError(() => small.dump(d), 'EISDIR', d);
  fs.symlinkSync(d, path.join(dir, 'dirlink'));
  assertDumpError(() => small.dump(path.join(dir, 'dirlink')), 'EISDIR', path.join(dir, 'dirlink'));
  assert.deepEqual(fs.readdirSync(d), ['keep']);
});

test('a path under a regular file: ENOTDIR naming the path, not a temporary file', () => {
  const file = path.join(dir, 'plain');
  fs.writeFileSync(file, 'x');
  assertDumpError(() => small.dump(path.join(file, 'out.json')), 'ENOTDIR', path.join(file, 'out.json'));
  assertDumpError(() => small.dump('no-such-dir/out.json'), 'ENOENT', 'no-such-dir/out.json');
});

test('a failing rename (an immutable target, root or not) names the path given and leaves no temporary file', (t) => {
  const d = fs.mkdtempSync(path.join(dir, 'immutable-'));
  const target = path.join(d, 'snap.json');
  small.dump(target);
  const before = fs.readFileSync(target);
  // chattr +i makes even root's rename over the file fail (EPERM), after the temporary file is
  // written: the path where the temporary name used to leak out.
  const r = spawnSync('chattr', ['+i', target]);
  if (r.status !== 0) {
    t.diagnostic(`chattr +i is not available here (${r.stderr?.toString().trim()}): the rename failure is checked through a read-only directory below`);
    return;
  }
  try {
    assertDumpError(() => bigSnapshot(10, 2).dump(target), 'EPERM', target);
    assert.deepEqual(fs.readFileSync(target), before);
    assertNoTemp(d);
  } finally {
    spawnSync('chattr', ['-i', target]);
  }
});

test('a read-only directory: EACCES naming the path given, as a user without root', async () => {
  const d = fs.mkdtempSync(path.join(dir, 'readonly-'));
  fs.chmodSync(d, 0o555);
  const target = path.join(d, 'snap.json');
  const script = `
    const { Snapshot } = require(${JSON.stringify(INDEX)});
    const s = new Snapshot([[0, 4096, [['/srv/app.js', 3]], 1]], 1);
    try { s.dump(${JSON.stringify(target)}); console.log('wrote'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  // Root ignores permissions: run the check as nobody (uid 65534), a real non-root user, with this
  // very Node (copied where nobody can run it when it lives in root's home, as cached majors do).
  const asRoot = process.getuid?.() === 0;
  const nobody = { uid: 65534, gid: 65534 };
  let node = process.execPath;
  if (asRoot && spawnSync(node, ['--version'], nobody).status !== 0) {
    node = path.join(dir, 'node');
    if (!fs.existsSync(node)) fs.copyFileSync(process.execPath, node);
    fs.chmodSync(node, 0o755);
  }
  const r = spawnSync(node, ['-e', script], { env: cleanEnv(), encoding: 'utf8', ...(asRoot ? nobody : {}) });
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { code: string; message: string };
  assert.equal(got.code, 'EACCES', r.stdout);
  assert.equal(got.message, `EACCES: permission denied, dump '${target}'`);
  assert.deepEqual(fs.readdirSync(d), []);
});

/**
 * Runs `code` (CommonJS) in a child whose stdout is a real pipe (through `| cat`: Node's own
 * 'pipe' is a socket, which /dev/stdout cannot reopen) or the file descriptor `stdout`.
 */
function child(code: string, stdout: 'pipe' | number): ReturnType<typeof spawnSync> {
  const script = `const { Snapshot } = require(${JSON.stringify(INDEX)});\n${code}`;
  const options = { cwd: dir, env: cleanEnv(), encoding: 'utf8' as const, timeout: 20_000 };
  if (stdout === 'pipe') return spawnSync('sh', ['-c', '"$0" -e "$1" | cat', process.execPath, script], options);
  return spawnSync(process.execPath, ['-e', script], { ...options, stdio: ['ignore', stdout, 'pipe'] });
}

const DUMP_THEN_WRITE = (target: string): string => `
  const s = new Snapshot([[0, 4096, [['/srv/app.js', 3]], 1]], 1);
  s.dump(${JSON.stringify(target)});
  process.stdout.write('\\nafter\\n');
  require('fs').writeFileSync('/dev/stdout', 'later\\n', { flag: 'a' });`;

test('/dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N stand for the descriptor, never for a path', () => {
  // Checked by name, without writing: a regression must not replace the machine's /dev/stdout.
  assert.deepEqual(resolveTarget('/dev/stdout'), { kind: 'fd', fd: 1 });
  assert.deepEqual(resolveTarget('-'), { kind: 'fd', fd: 1 });
  assert.deepEqual(resolveTarget('/dev/stderr'), { kind: 'fd', fd: 2 });
  assert.deepEqual(resolveTarget('/dev/fd/7'), { kind: 'fd', fd: 7 });
  assert.deepEqual(resolveTarget(`/proc/${process.pid}/fd/1`), { kind: 'fd', fd: 1 });
  assert.equal(descriptorOf('/proc/1/fd/1'), process.pid === 1 ? 1 : null);
  assert.equal(descriptorOf('./-'), null);
});

// `my-stdout` is a link to /proc/self/fd/1, as /dev/stdout is: the same mechanism, in a private
// directory (the children run there, so a regression writes files there, not in /dev).
for (const target of ['my-stdout', '-', '/proc/self/fd/1']) {
  test(`dump('${target}') writes to the process's standard output (a pipe, then a file), never a file in its place`, () => {
    if (!fs.existsSync(path.join(dir, 'my-stdout'))) fs.symlinkSync('/proc/self/fd/1', path.join(dir, 'my-stdout'));
    const r = child(DUMP_THEN_WRITE(target), 'pipe');
    assert.equal(r.status, 0, String(r.stderr));
    const [json, ...rest] = String(r.stdout).split('\n');
    assert.equal(Snapshot.fromJSON(JSON.parse(json!)).traces.length, 1);
    assert.deepEqual(rest, ['after', 'later', '']);
    // Standard output redirected to a file: the dump goes into that file, at its position.
    const out = path.join(dir, `stdout-${target.replace(/\W/g, '_')}.txt`);
    const fd = fs.openSync(out, 'w');
    try {
      const r2 = child(DUMP_THEN_WRITE(target), fd);
      assert.equal(r2.status, 0, String(r2.stderr));
    } finally {
      fs.closeSync(fd);
    }
    const [json2, ...rest2] = fs.readFileSync(out, 'utf8').split('\n');
    assert.equal(Snapshot.fromJSON(JSON.parse(json2!)).traces.length, 1);
    assert.deepEqual(rest2, ['after', 'later', '']);
    assert.ok(fs.lstatSync(path.join(dir, 'my-stdout')).isSymbolicLink(), 'the link is still a link');
    assert.ok(!fs.existsSync(path.join(dir, '-')), 'no file named -');
  });
}

test('NODE_TRACEMALLOC_DUMP through a symlink updates the target and keeps the link', async () => {
  const d = fs.mkdtempSync(path.join(dir, 'env-'));
  fs.writeFileSync(path.join(d, 'target.json'), 'old');
  fs.symlinkSync('target.json', path.join(d, 'heap.json'));
  const r = await launch(process.execPath, ['--require', REGISTER, '-e', 'globalThis.keep = Array.from({ length: 1000 }, (_, i) => ({ i }));'], d, {
    NODE_TRACEMALLOC: '1',
    NODE_TRACEMALLOC_DUMP: 'heap.json',
  }).done;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.lstatSync(path.join(d, 'heap.json')).isSymbolicLink());
  assert.ok(Snapshot.load(path.join(d, 'target.json')).traces.length >= 0);
  assert.notEqual(fs.readFileSync(path.join(d, 'target.json'), 'utf8'), 'old');
  assertNoTemp(d);
});

test('concurrent dumps from worker threads and processes to one path always leave a whole, loadable file', async () => {
  const d = fs.mkdtempSync(path.join(dir, 'race-'));
  const target = path.join(d, 'snap.json');
  const ROUNDS = 15;
  const worker = `
    const { workerData } = require('node:worker_threads');
    const { Snapshot } = require(${JSON.stringify(INDEX)});
    const raw = [];
    for (let i = 0; i < 8000; i++) raw.push([0, 64 + i, [['/srv/m' + (i % 97) + '.js', i + 1], ['/srv/main.js', workerData.tag]], 2, 1]);
    const s = new Snapshot(raw, 2, { meta: { tag: workerData.tag } });
    for (let k = 0; k < workerData.rounds; k++) s.dump(workerData.target);`;
  const workers = [1, 2, 3].map(
    (tag) =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(worker, { eval: true, workerData: { tag, rounds: ROUNDS, target } });
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${tag} exited with ${code}`))));
      }),
  );
  const procs = [4, 5].map((tag) =>
    launch(process.execPath, ['-e', worker.replace("const { workerData } = require('node:worker_threads');", `const workerData = ${JSON.stringify({ tag, rounds: ROUNDS, target })};`)], d).done,
  );
  // Meanwhile this thread loads the file as often as it can: it must never see a partial file.
  let loads = 0;
  let running = true;
  const all = Promise.all([...workers, ...procs]).finally(() => (running = false));
  while (running) {
    if (fs.existsSync(target)) {
      const s = Snapshot.load(target);
      assert.equal(s.traces.length, 8000);
      assert.ok([1, 2, 3, 4, 5].includes(s.meta.tag as number));
      loads++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const results = await all;
  for (const r of results.slice(3) as { code: number | null; stderr: string }[]) assert.equal(r.code, 0, r.stderr);
  assert.equal(Snapshot.load(target).traces.length, 8000);
  assert.ok(loads > 0, 'the reader loaded the file at least once while the writers ran');
  assertNoTemp(d);
});

// Issue 16: Go's /debug/pprof/heap and /debug/pprof/allocs, read by a real pprof reader over
// loopback: `go tool pprof` (Debian's golang-go; .ci/run installs it). The profile it fetches
// from the running server lists the leaking functions by name, two anonymous functions stay two
// nodes (named by position), and the sample types are Go's.
//
// Without Go on the machine this file fails, saying how to install it, unless
// TRACEMALLOC_SKIP_GO=1 is set (then the Go tests are reported as skipped, never passed).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Profile } from 'pprof-format';
import * as tracemalloc from 'tracemalloc';

const GO_TIMEOUT_MS = 30_000;
const held: unknown[] = [];
let server: http.Server;
let base = '';
let tmp = '';

function findGo(): string | null {
  for (const candidate of ['go', '/usr/lib/go/bin/go', '/usr/local/go/bin/go']) {
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore', timeout: 10_000 });
      return candidate;
    } catch {
      // Next.
    }
  }
  return null;
}
const GO = findGo();
const skipGo = GO === null && process.env.TRACEMALLOC_SKIP_GO === '1' ? 'go is not installed and TRACEMALLOC_SKIP_GO=1' : false;

/** `go tool pprof ARGS` (async: the server answers in this process meanwhile). */
function pprof(args: string[]): Promise<string> {
  if (GO === null) throw new Error('go tool pprof is needed: apt-get install golang-go (or set TRACEMALLOC_SKIP_GO=1 to skip)');
  return new Promise((resolve, reject) => {
    execFile(GO, ['tool', 'pprof', ...args], {
      timeout: GO_TIMEOUT_MS,
      env: { ...process.env, HOME: tmp, PPROF_TMPDIR: tmp, GOCACHE: path.join(tmp, 'gocache'), GOPATH: path.join(tmp, 'gopath'), GOFLAGS: '' },
    }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`go tool pprof ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(`${stdout}`);
    });
  });
}

// Three sites, 4 MiB each in arrays of 128 KiB: one named function and two arrow functions of
// one line each, which pprof must not merge.
function leakNamed(): void {
  for (let i = 0; i < 32; i++) held.push(new Array(16384).fill(i));
}
// Passed as arguments, the arrow functions get no name, not even an inferred one.
function callEach(...fns: (() => void)[]): void {
  for (const f of fns) f();
}
function leakAnonymous(): void {
  callEach(
    () => { while (held.length < 64) held.push(new Array(16384).fill(1)); }, // anonymous A
    () => { while (held.length < 96) held.push(new Array(16384).fill(2)); }, // anonymous B
  );
}
/** `(anonymous:L<line>:C<column>)` of the arrow function on the line marked `marker` in this file's source. */
function positionName(marker: string): string {
  const lines = fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'http-pprof.test.ts'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.endsWith(`// ${marker}`));
  return `(anonymous:L${i + 1}:C${lines[i]!.indexOf('() =>') + 1})`;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-pprof-'));
  tracemalloc.start(8);
  leakNamed();
  leakAnonymous();
  server = http.createServer(tracemalloc.createHttpHandler());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  tracemalloc.stop();
  held.length = 0;
  fs.rmSync(tmp, { recursive: true, force: true });
});

function get(pathname: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(`${base}${pathname}`, { agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('go tool pprof -top reads /debug/pprof/heap over loopback and lists the leaking functions', { skip: skipGo }, async () => {
  const top = await pprof(['-top', '-sample_index=inuse_space', `${base}/debug/pprof/heap`]);
  assert.match(top, /Type: inuse_space/);
  const flat = new Map<string, number>();
  for (const m of top.matchAll(/^\s*([\d.]+)([kMG]?B)\s+[\d.]+%\s+[\d.]+%\s+[\d.]+[kMG]?B\s+[\d.]+%\s+(.+)$/gm)) {
    const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2]!]!;
    flat.set(m[3]!.trim(), Number(m[1]) * unit);
  }
  const a = positionName('anonymous A');
  const b = positionName('anonymous B');
  assert.notEqual(a, b);
  for (const name of ['leakNamed', a, b]) {
    // 4 MiB each; 128 KiB arrays at a 64 KiB interval are sampled with probability ~0.86: the
    // estimate of a site of 32 of them stays within [2; 7] MiB far beyond 6 sigma.
    const bytes = flat.get(name);
    assert.ok(bytes !== undefined, `${name} is not in go tool pprof's top:\n${top}`);
    assert.ok(bytes > 2 * 1048576 && bytes < 7 * 1048576, `${name}: ${bytes} bytes`);
  }
});

test('go tool pprof -raw: Go sample types, the period, one location per function', { skip: skipGo }, async () => {
  const raw = await pprof(['-raw', `${base}/debug/pprof/heap`]);
  assert.match(raw, /^inuse_objects\/count inuse_space\/bytes\[dflt\]$/m);
  assert.match(raw, /^PeriodType: space bytes$/m);
  assert.match(raw, /^Period: 65536$/m);
  const a = positionName('anonymous A');
  assert.ok(raw.includes(`${a} ${path.join(__dirname, '..', '..', 'test', 'http-pprof.test.ts')}:`), raw);
  const allocs = await pprof(['-raw', `${base}/debug/pprof/allocs`]);
  assert.match(allocs, /^inuse_objects\/count inuse_space\/bytes\[dflt\]$/m, "'live' mode has no alloc_*: /allocs serves the same profile, as Go does");
});

test("'allocated' mode: alloc_objects and alloc_space, read by go tool pprof", { skip: skipGo }, async () => {
  tracemalloc.stop();
  tracemalloc.start(8, { mode: 'allocated' });
  try {
    const garbage: unknown[] = [];
    for (let i = 0; i < 32; i++) garbage.push(new Array(16384).fill(i));
    garbage.length = 0;
    const raw = await pprof(['-raw', `${base}/debug/pprof/allocs`]);
    assert.match(raw, /^alloc_objects\/count alloc_space\/bytes\[dflt\]$/m);
    const top = await pprof(['-top', `${base}/debug/pprof/allocs`]);
    assert.match(top, /Type: alloc_space/);
  } finally {
    tracemalloc.stop();
    tracemalloc.start(8);
  }
});

test('?debug=1 is text, ?seconds is refused, other pprof routes are not ours', async () => {
  const text = await get('/debug/pprof/heap?debug=1');
  assert.equal(text.status, 200);
  assert.match(text.body.toString(), /^Top \d+ lines/);
  const seconds = await get('/debug/pprof/heap?seconds=30');
  assert.equal(seconds.status, 400);
  assert.match(seconds.body.toString(), /seconds .* not supported/);
  assert.equal((await get('/debug/pprof/profile')).status, 404);
  const index = await get('/debug/pprof/');
  assert.match(index.body.toString(), /\/debug\/pprof\/heap/);
  const pb = await get('/debug/pprof/heap');
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['content-type'], 'application/octet-stream');
  const profile = Profile.decode(zlib.gunzipSync(pb.body));
  assert.ok(profile.sample.length > 0);
});

test('pprofPrefix moves the routes; false removes them', async () => {
  const moved = tracemalloc.createHttpHandler({ pprofPrefix: '/internal/pprof/' });
  const none = tracemalloc.createHttpHandler({ pprofPrefix: false });
  const answer = (handler: tracemalloc.HttpHandler, url: string): Promise<number> => new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => {
      http.get(`http://127.0.0.1:${(s.address() as AddressInfo).port}${url}`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => s.close(() => resolve(res.statusCode!)));
      });
    });
  });
  assert.equal(await answer(moved, '/internal/pprof/heap'), 200);
  assert.equal(await answer(moved, '/debug/pprof/heap'), 404);
  assert.equal(await answer(none, '/debug/pprof/heap'), 404);
  assert.throws(() => tracemalloc.createHttpHandler({ pprofPrefix: 'pprof' }), /pprofPrefix must start with \//);
  assert.throws(() => tracemalloc.createHttpHandler({ pprofPrefix: 1 as unknown as string }), /pprofPrefix must be a string/);
});

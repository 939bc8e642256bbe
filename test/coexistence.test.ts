// V8 has one sampling heap profiler per isolate: tracemalloc must never silently take it from
// another tool, and must say so clearly when another tool takes it away.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as inspector from 'node:inspector';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';

afterEach(() => tracemalloc.stop());

function post<T = unknown>(session: inspector.Session, method: string, params: object = {}): T {
  let result: unknown;
  let error: Error | null = null;
  session.post(method, params, (err: Error | null, res?: unknown) => {
    error = err;
    result = res;
  });
  if (error !== null) throw error;
  return result as T;
}

test('start() refuses, with a clear error, while another tool runs the sampling heap profiler', () => {
  const other = new inspector.Session();
  other.connect();
  try {
    post(other, 'HeapProfiler.enable');
    post(other, 'HeapProfiler.startSampling', { samplingInterval: 16384 });
    assert.throws(() => tracemalloc.start(), { code: 'ERR_TRACEMALLOC_INSPECTOR', message: /already running in this thread: another tool/ });
    assert.equal(tracemalloc.isTracing(), false);
    // The other tool's profile is intact.
    const { profile } = post<{ profile: { samples: unknown[] } }>(other, 'HeapProfiler.getSamplingProfile');
    assert.ok(Array.isArray(profile.samples));
    post(other, 'HeapProfiler.stopSampling');
  } finally {
    other.disconnect();
  }
  // Once the other tool is done, tracing starts.
  tracemalloc.start();
  assert.equal(tracemalloc.isTracing(), true);
});

test('a snapshot says so when another tool stopped the sampler under us; stop() still works', () => {
  tracemalloc.start();
  const other = new inspector.Session();
  other.connect();
  try {
    post(other, 'HeapProfiler.enable');
    post(other, 'HeapProfiler.stopSampling');
  } finally {
    other.disconnect();
  }
  assert.throws(() => tracemalloc.takeSnapshot(), { code: 'ERR_TRACEMALLOC_INSPECTOR', message: /stopped by another tool/ });
  assert.doesNotThrow(() => tracemalloc.stop());
  assert.equal(tracemalloc.isTracing(), false);
});

test('tracing works in a process started with --inspect (the debugger port open)', () => {
  const r = spawnSync(process.execPath, ['--inspect=127.0.0.1:0', '-e', `
    const tm = require('tracemalloc');
    tm.start(3);
    globalThis.keep = new Array(4 * 1024 * 1024).fill(0);
    const top = tm.takeSnapshot().statistics('lineno')[0];
    console.log(top.size > 30e6 ? 'ok' : 'small ' + top.size);
    tm.stop();
    require('node:inspector').close();
  `], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
});

test('tracing works with a debugger attached (the Debugger domain on, a breakpoint set)', () => {
  const debuggerSession = new inspector.Session();
  debuggerSession.connect();
  try {
    post(debuggerSession, 'Debugger.enable');
    post(debuggerSession, 'Debugger.setBreakpointByUrl', { lineNumber: 0, url: 'never-loaded.js' });
    tracemalloc.start(3);
    const held = new Array<number>(2 * 1024 * 1024).fill(0);
    const top = tracemalloc.takeSnapshot().statistics('lineno')[0]!;
    assert.ok(top.size >= 15 * 1024 * 1024, `top ${top.size}`);
    assert.equal(held.length, 2 * 1024 * 1024);
  } finally {
    post(debuggerSession, 'Debugger.disable');
    debuggerSession.disconnect();
  }
});

test("with @datadog/pprof's heap profiler running, start() refuses and pprof's profile stays intact", () => {
  const { heap } = require('@datadog/pprof') as { heap: { start(interval: number, depth: number): void; stop(): void; profile(): { sample: unknown[] } } };
  heap.start(512 * 1024, 64);
  try {
    assert.throws(() => tracemalloc.start(), { code: 'ERR_TRACEMALLOC_INSPECTOR', message: /already running in this thread/ });
    assert.ok(Array.isArray(heap.profile().sample), "pprof's profile still reads");
  } finally {
    heap.stop();
  }
  // The other way round: pprof starting while we trace takes V8's one sampler (our earlier
  // samples are lost, theirs are whole), and once it stops our next snapshot says so.
  tracemalloc.start();
  heap.start(512 * 1024, 64);
  assert.ok(Array.isArray(heap.profile().sample));
  heap.stop();
  assert.throws(() => tracemalloc.takeSnapshot(), { message: /stopped by another tool/ });
});

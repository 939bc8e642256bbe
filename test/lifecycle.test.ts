// The tracer never keeps a program alive and leaves nothing behind: checked in real child processes.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const PKG = path.join(__dirname, '..', '..');

function runChild(code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: PKG, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a program that starts tracing and never stops exits on its own', () => {
  const r = runChild(`
    const tm = require('tracemalloc');
    tm.start(5);
    globalThis.keep = new Array(1e6).fill(1);
    tm.getTracedMemory();
    tm.takeSnapshot();
    console.log('done');
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'done');
});

test('stop() leaves no timer, handle or inspector session behind; start/stop twice are fine', () => {
  const r = runChild(`
    const tm = require('tracemalloc');
    const inspector = require('node:inspector');
    const before = process.getActiveResourcesInfo().sort().join(',');
    tm.stop();
    tm.start(2); tm.start(2);
    tm.getTracedMemory(); tm.takeSnapshot();
    tm.stop(); tm.stop();
    const after = process.getActiveResourcesInfo().sort().join(',');
    // Another session can drive the sampling heap profiler again: ours has let go of it.
    const s = new inspector.Session(); s.connect();
    let err = 'not called';
    s.post('HeapProfiler.startSampling', { samplingInterval: 4096 }, (e) => { err = e ? e.message : null; });
    s.post('HeapProfiler.stopSampling', () => {});
    s.disconnect();
    console.log(JSON.stringify({ before, after, err }));
  `);
  assert.equal(r.status, 0, r.stderr);
  const { before, after, err } = JSON.parse(r.stdout) as { before: string; after: string; err: string | null };
  assert.equal(after, before);
  assert.equal(err, null);
});

test('stop() inside an exit handler is fine', () => {
  const r = runChild(`
    const tm = require('tracemalloc');
    tm.start();
    process.on('exit', () => { tm.stop(); console.log('stopped', tm.isTracing()); });
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'stopped false');
});

// Issue 18: nothing of a session survives stop(). Every part the session made (the session, its
// frame resolver, counter, domains, domain-1 tracer) and every profile it read is watched through
// a WeakRef; after stop() and a few GCs none may be reachable. Where it exists, v8.queryObjects
// also counts the live instances of the session's classes (0 expected).
for (const mode of ['live', 'allocated'] as const) {
  test(`stop() releases the session, its resolver and every profile it read (${mode} mode)`, () => {
    const r = runChild(`
      const v8 = require('node:v8');
      v8.setFlagsFromString('--expose-gc');
      const gc = require('node:vm').runInNewContext('gc');
      const watch = require('#internal/session-testing');
      const { TracingSession } = require('#internal/session');
      const { CallFrameResolver } = require('#internal/resolve');
      const tm = require('tracemalloc');
      watch.watchSessionObjectsForTesting();
      for (let round = 0; round < 2; round++) {
        tm.start({ nframe: 5, mode: ${JSON.stringify(mode)}, trackAllocations: round === 1 });
        let keep = [];
        for (let i = 0; i < 2e4; i++) keep.push({ i, s: 'x' + i });
        keep.push(Buffer.alloc(1 << 20));
        tm.takeSnapshot().statistics('traceback');
        tm.takeSnapshot();
        if (round === 1) tm.getObjectTraceback(keep[5]);
        tm.getTracemallocMemory();
        keep = null;
        tm.stop();
      }
      const count = (C) => typeof v8.queryObjects === 'function' ? v8.queryObjects(C, { format: 'count' }) : -1;
      setImmediate(() => {
        for (let i = 0; i < 4; i++) gc();
        console.log(JSON.stringify({
          watched: watch.watchedObjectsAliveForTesting(),
          sessions: count(TracingSession),
          resolvers: count(CallFrameResolver),
        }));
      });
    `);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { watched: number; sessions: number; resolvers: number };
    assert.equal(out.watched, 0, `objects of a stopped session still reachable: ${r.stdout}`);
    // v8.queryObjects exists from Node 20.13 and 22.0; before that the WeakRefs above decide alone.
    if (out.sessions !== -1) {
      assert.equal(out.sessions, 0);
      assert.equal(out.resolvers, 0);
    }
  });
}

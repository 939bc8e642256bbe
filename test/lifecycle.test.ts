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

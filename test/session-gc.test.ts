// Issue 19: the default snapshot settle holds `--retain-maps-for-n-gc` at 0 for the time of its
// read only (so that the read's GC frees what dead objects' maps kept), and gives the host its
// own value back: V8's default, or the one on the host's command line, even when the read throws.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { EXTRA_GCS, hostAllowsNatives, hostRetainMaps, makeSettleTools, readSettled, V8_RETAIN_MAPS_DEFAULT } from '../src/session-gc.js';

const PKG = path.join(__dirname, '..', '..');

/** Runs `script` with `node nodeArgs -e` in a fresh process, NODE_OPTIONS cleared, `env` added. */
function runNode(nodeArgs: string[], script: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...nodeArgs, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });
}

test("hostRetainMaps reads the host's command line, else V8's default", () => {
  assert.equal(V8_RETAIN_MAPS_DEFAULT, 2);
  assert.equal(hostRetainMaps([]), 2);
  assert.equal(hostRetainMaps(['--expose-gc', '--max-old-space-size=512']), 2);
  assert.equal(hostRetainMaps(['--retain-maps-for-n-gc=5']), 5);
  assert.equal(hostRetainMaps(['--retain_maps_for_n_gc=0']), 0);
  assert.equal(hostRetainMaps(['--retain-maps-for-n-gc=7', '--retain_maps-for-n-gc=3']), 3, 'the last one wins, as in V8');
  assert.equal(hostRetainMaps(['--retain-maps-for-n-gc-other=9', '--retain-maps-for-n-gc=x']), 2);
});

function record(restore: number, mode: 'full' | 'fast', fail = false): { events: string[]; result: unknown; error: unknown } {
  const events: string[] = [];
  let error: unknown = null;
  let result: unknown = null;
  try {
    const tools = { gc: () => void events.push('gc'), finalizeOptimization: () => void events.push('finalize') };
    result = readSettled(mode, tools, () => {
      events.push('read');
      if (fail) throw new Error('read failed');
      return 42;
    }, (flags) => events.push(flags), restore);
  } catch (err) {
    error = err;
  }
  return { events, result, error };
}

test("'full' reads with maps not retained and restores the host's value", () => {
  const gcs = Array.from({ length: EXTRA_GCS }, () => 'gc');
  assert.deepEqual(record(2, 'full'), { events: ['finalize', '--retain-maps-for-n-gc=0', ...gcs, 'read', '--retain-maps-for-n-gc=2'], result: 42, error: null });
  assert.deepEqual(record(5, 'full').events, ['finalize', '--retain-maps-for-n-gc=0', ...gcs, 'read', '--retain-maps-for-n-gc=5']);
  const failed = record(5, 'full', true);
  assert.equal((failed.error as Error).message, 'read failed');
  assert.deepEqual(failed.events, ['finalize', '--retain-maps-for-n-gc=0', ...gcs, 'read', '--retain-maps-for-n-gc=5'], 'restored when the read throws');
  // A host that runs with 0 already: nothing to set or restore.
  assert.deepEqual(record(0, 'full').events, ['finalize', ...gcs, 'read']);
  // 'fast': no flag, no GC beyond the read's own.
  assert.deepEqual(record(2, 'fast'), { events: ['read'], result: 42, error: null });
});

test("hostAllowsNatives reads the host's command line: the last of the flag and its negation", () => {
  assert.equal(hostAllowsNatives([]), false);
  assert.equal(hostAllowsNatives(['--allow-natives-syntax']), true);
  assert.equal(hostAllowsNatives(['--allow_natives_syntax', '--expose-gc']), true);
  assert.equal(hostAllowsNatives(['--allow-natives-syntax', '--no-allow-natives-syntax']), false);
  assert.equal(hostAllowsNatives(['--allow-natives-syntax-x']), false);
});

test('the settle tools: a private GC and %FinalizeOptimization, with neither left to the host', () => {
  const tools = makeSettleTools([]);
  assert.equal(typeof tools.gc, 'function');
  assert.equal(typeof tools.finalizeOptimization, 'function', 'V8 has %FinalizeOptimization on every supported Node');
  tools.finalizeOptimization!();
  tools.gc!();
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  // Natives syntax is off again for the host's code.
  assert.throws(() => new Function('%FinalizeOptimization()'), SyntaxError);
});

/** Runs takeSnapshot() in a fresh process with `nodeArgs`, recording every V8 flag set. */
function flagsSetBy(nodeArgs: string[], options = ''): { flags: string[]; gc: string; traces: number } {
  const script = `
    const v8 = require('node:v8');
    const flags = [];
    const set = v8.setFlagsFromString;
    v8.setFlagsFromString = (f) => { flags.push(f); return set(f); };
    const tracemalloc = require(${JSON.stringify(PKG)});
    tracemalloc.start(${options});
    const keep = Array.from({ length: 20000 }, (_, i) => ({ i, s: 'x' + i }));
    const snap = tracemalloc.takeSnapshot();
    tracemalloc.takeSnapshot();
    tracemalloc.stop();
    console.log(JSON.stringify({ flags, gc: typeof globalThis.gc, traces: snap.traces.length + keep.length * 0 }));
  `;
  const child = runNode(nodeArgs, script);
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { flags: string[]; gc: string; traces: number };
}

test("takeSnapshot() sets --retain-maps-for-n-gc=0 for its read only and restores V8's default", () => {
  const r = flagsSetBy([]);
  const maps = r.flags.filter((f) => f.startsWith('--retain-maps-for-n-gc'));
  assert.deepEqual(maps, ['--retain-maps-for-n-gc=0', '--retain-maps-for-n-gc=2', '--retain-maps-for-n-gc=0', '--retain-maps-for-n-gc=2'], r.flags.join(' '));
  assert.equal(r.gc, 'undefined', 'no global gc left in the host');
  assert.ok(r.traces > 0);
});

test('natives syntax is set only while the settle compiles and calls its function, and a host that runs with it keeps it', () => {
  const natives = (flags: string[]) => flags.filter((f) => f.includes('natives'));
  // Once at start() to compile, once around each of the two snapshots' calls.
  const pair = ['--allow-natives-syntax', '--no-allow-natives-syntax'];
  assert.deepEqual(natives(flagsSetBy([]).flags), [...pair, ...pair, ...pair]);
  assert.deepEqual(natives(flagsSetBy(['--allow-natives-syntax']).flags), []);
});

test('a host started with --expose-gc keeps gc in the contexts and workers it makes after start()', () => {
  const script = `
    const tracemalloc = require(${JSON.stringify(PKG)});
    tracemalloc.start();
    tracemalloc.takeSnapshot();
    const context = require('node:vm').runInNewContext('typeof gc');
    const { Worker } = require('node:worker_threads');
    new Worker('require("node:worker_threads").parentPort.postMessage(typeof gc)', { eval: true })
      .on('message', (worker) => console.log(JSON.stringify({ main: typeof gc, context, worker })));
  `;
  const child = runNode(['--expose-gc'], script);
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { main: 'function', context: 'function', worker: 'function' });
});

test('the finalization still runs when V8 flushed its bytecode between snapshots (--stress-flush-code)', () => {
  // V8 compiles a flushed function again at its next call: with natives syntax off by then, that
  // call threw "SyntaxError: Unexpected token '%'" out of takeSnapshot().
  const script = `
    const tracemalloc = require(${JSON.stringify(PKG)});
    const v8 = require('node:v8');
    v8.setFlagsFromString('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc');
    v8.setFlagsFromString('--no-expose-gc');
    tracemalloc.start();
    tracemalloc.takeSnapshot();
    let round = 0;
    (function tick() {
      for (let i = 0; i < 3; i++) gc();
      if (++round < 5) return setTimeout(tick, 1);
      const snap = tracemalloc.takeSnapshot();
      let natives = true;
      try { new Function('%FinalizeOptimization()'); } catch { natives = false; }
      console.log(JSON.stringify({ traces: snap.traces.length, natives }));
    })();
  `;
  const child = runNode(['--stress-flush-code'], script, { NODE_DEBUG: 'tracemalloc' });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout) as { traces: number; natives: boolean };
  assert.ok(out.traces > 0);
  assert.equal(out.natives, false, 'natives syntax left on for the host');
  assert.doesNotMatch(child.stderr, /FinalizeOptimization (failed|is not available)/);
});

test("takeSnapshot() restores the host's own --retain-maps-for-n-gc", () => {
  const r = flagsSetBy(['--retain-maps-for-n-gc=5']);
  const maps = r.flags.filter((f) => f.startsWith('--retain-maps-for-n-gc'));
  assert.deepEqual(maps, ['--retain-maps-for-n-gc=0', '--retain-maps-for-n-gc=5', '--retain-maps-for-n-gc=0', '--retain-maps-for-n-gc=5']);
});

test("snapshotGC: 'fast' sets no V8 flag at all", () => {
  const r = flagsSetBy(['--retain-maps-for-n-gc=5'], "{ snapshotGC: 'fast' }");
  assert.deepEqual(r.flags.filter((f) => f.startsWith('--retain')), []);
});

test('the preload settles its exit report the default way, and NODE_TRACEMALLOC_SNAPSHOT_GC=fast sets no flag', () => {
  // A first preload records every V8 flag set (on stderr, as it happens); then the package's own.
  const spy = "const v8 = require('node:v8'); const fs = require('node:fs'); const set = v8.setFlagsFromString; " +
    "v8.setFlagsFromString = (f) => { fs.writeSync(2, 'FLAG ' + f + '\\n'); return set(f); };";
  const spawn = (extra: Record<string, string>) =>
    runNode([], `${spy} require(${JSON.stringify(path.join(PKG, 'dist', 'register.js'))}); globalThis.keep = Array.from({ length: 5000 }, (_, i) => ({ i }));`,
      { NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_TOP: '1', ...extra });
  const full = spawn({});
  assert.equal(full.status, 0, full.stderr);
  const retain = (s: string) => s.split('\n').filter((l) => l.startsWith('FLAG --retain-maps-for-n-gc'));
  assert.deepEqual(retain(full.stderr), ['FLAG --retain-maps-for-n-gc=0', 'FLAG --retain-maps-for-n-gc=2'], full.stderr);
  assert.match(full.stderr, /Top 1 lines/);
  const fast = spawn({ NODE_TRACEMALLOC_SNAPSHOT_GC: 'fast' });
  assert.equal(fast.status, 0, fast.stderr);
  assert.deepEqual(retain(fast.stderr), [], fast.stderr);
  assert.match(fast.stderr, /Top 1 lines/);
  const bad = spawn({ NODE_TRACEMALLOC_SNAPSHOT_GC: 'quick' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /NODE_TRACEMALLOC_SNAPSHOT_GC="quick" is not valid/);
});

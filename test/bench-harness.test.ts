// The benchmark harness that measures whole processes (bench/procs.ts): it must count the CPU of
// the whole process tree, keep the program's stdout apart, and build the three configurations
// (untraced, preload, `tracemalloc run`) so that only the traced ones trace. No timing is
// asserted beyond what a busy loop of known length must at least cost.
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, REGISTER_URL, commandFor, measureProcess, spread } from '../bench/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-harness-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('measureProcess counts the CPU of a grandchild, hashes stdout and keeps the exit code', () => {
  // A child that starts a grandchild spinning for 300 ms of its own CPU, then exits with 3.
  const spin = "const t = process.cpuUsage(); while ((process.cpuUsage(t).user + process.cpuUsage(t).system) < 300e3) {} console.log('spun')";
  const parent = `const r = require('child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(spin)}], { stdio: 'inherit' }); process.exit(r.status === 0 ? 3 : 9)`;
  const res = measureProcess([process.execPath, '-e', parent], { cwd: dir, env: process.env, outDir: dir });
  assert.equal(res.code, 3);
  assert.ok(res.cpuMs >= 300, `the grandchild's 300 ms of CPU are counted: ${res.cpuMs} ms`);
  assert.equal(res.stdoutHead, 'spun\n');
  const again = measureProcess([process.execPath, '-e', "console.log('spun')"], { cwd: dir, env: process.env, outDir: dir });
  assert.equal(again.stdoutHash, res.stdoutHash, 'the same output hashes the same');
  assert.ok(again.cpuMs > 0 && again.cpuMs < res.cpuMs);
});

test('commandFor: untraced has no preload, preload traces through the env variable, run goes through the CLI', () => {
  const untraced = commandFor('untraced', ['app.js']);
  assert.deepEqual(untraced.argv, [process.execPath, 'app.js']);
  assert.equal(untraced.env.NODE_TRACEMALLOC, undefined);
  assert.equal(untraced.env.NODE_OPTIONS, undefined);
  const preload = commandFor('preload', ['app.js']);
  assert.deepEqual(preload.argv, [process.execPath, '--import', REGISTER_URL, 'app.js']);
  assert.equal(preload.env.NODE_TRACEMALLOC, '1');
  const run = commandFor('run', ['app.js']);
  assert.deepEqual(run.argv, [process.execPath, CLI, 'run', '--', process.execPath, 'app.js']);
  assert.equal(run.env.NODE_TRACEMALLOC, undefined, 'run sets the variables itself');
});

test('the preload configuration really traces: the process sees tracing on', () => {
  const probe = "const t = require(process.env.TM); console.log(t.isTracing())";
  const env = { TM: join(__dirname, '..', '..', 'dist', 'index.js') };
  const on = commandFor('preload', ['-e', probe], env);
  const off = commandFor('untraced', ['-e', probe], env);
  assert.equal(measureProcess(on.argv, { cwd: dir, env: on.env, outDir: dir }).stdoutHead, 'true\n');
  assert.equal(measureProcess(off.argv, { cwd: dir, env: off.env, outDir: dir }).stdoutHead, 'false\n');
});

test('spread: median, quartiles, extremes', () => {
  assert.deepEqual(spread([5, 1, 3, 2, 4]), { median: 3, min: 1, max: 5, p25: 2, p75: 4, n: 5 });
});

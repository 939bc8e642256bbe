// Issue 12: one process-wide owner of V8's sampler and of the patched builtins across copies of
// the library (two versions in one node_modules; the same files in several module registries).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launch } from './helpers/child.js';

const PKG = path.join(__dirname, '..', '..');
/** Copies live under build/ so that their dependencies resolve from the repository's node_modules. */
const COPIES = path.join(PKG, 'build', 'owner-copies');

/** A copy of the built package at `COPIES/<name>/node_modules/tracemalloc` claiming `version`. */
function makeCopy(name: string, version: string): string {
  const dir = path.join(COPIES, name, 'node_modules', 'tracemalloc');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(PKG, 'dist'), path.join(dir, 'dist'), { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, version }));
  return dir;
}

async function runChild(code: string): Promise<Record<string, unknown>> {
  const r = await launch(process.execPath, ['-e', code], PKG).done;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

test('a second copy (another version) gets TracerOwnedError naming the first; builtins are never wrapped twice', async () => {
  const a = makeCopy('a', '1.0.0-a');
  const b = makeCopy('b', '2.0.0-b');
  const out = await runChild(`
    const A = require(${JSON.stringify(a)});
    const B = require(${JSON.stringify(b)});
    const untraced = Buffer.alloc;
    A.start();
    const wrappedByA = Buffer.alloc;
    let err = null;
    try { B.start(); } catch (e) { err = e; }
    const r = {
      name: err && err.name, code: err && err.code, message: err && err.message, owner: err && err.owner,
      isB: err instanceof B.TracerOwnedError,
      bTracing: B.isTracing(), aTracing: A.isTracing(),
      sameWrapper: Buffer.alloc === wrappedByA, wasWrapped: wrappedByA !== untraced,
    };
    A.stop();
    r.restored = Buffer.alloc === untraced;
    B.start();
    try { A.start(); } catch (e) { r.reverse = e.message; }
    B.stop();
    console.log(JSON.stringify(r));
  `);
  assert.equal(out.name, 'TracerOwnedError');
  assert.equal(out.code, 'ERR_TRACEMALLOC_OWNED');
  assert.equal(out.isB, true);
  assert.match(String(out.message), new RegExp(`${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(version 1\\.0\\.0-a, tracing since `));
  assert.match(String(out.message), /2\.0\.0-b/);
  assert.doesNotMatch(String(out.message), /another tool/);
  assert.deepEqual((out.owner as { version: string }).version, '1.0.0-a');
  assert.equal(out.bTracing, false);
  assert.equal(out.aTracing, true);
  assert.equal(out.sameWrapper, true, 'the second copy stacked a wrapper on the first');
  assert.equal(out.restored, true);
  assert.match(String(out.reverse), /version 2\.0\.0-b/);
});

test("a copy whose modules were dropped while tracing is stopped by the next copy's start(), with a warning (a live copy never is: see above)", async () => {
  const c = makeCopy('c', '3.0.0-c');
  const out = await runChild(`
    const Module = require('node:module');
    const v8 = require('node:v8');
    const entry = require.resolve(${JSON.stringify(c)});
    // One module registry per load, as a test runner gives each test file.
    function load() {
      const m = new Module(entry, null);
      m.filename = entry;
      m.paths = Module._nodeModulePaths(require('node:path').dirname(entry));
      m.load(entry);
      return m.exports;
    }
    // The whole registry, dependencies included, as a test runner drops a file's registry
    // (a dependency's module.parent names the first module that required it).
    function dropRegistry() {
      for (const k of Object.keys(require.cache)) delete require.cache[k];
    }
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code + ': ' + w.message));
    const untraced = Buffer.alloc;
    // A test runner runs each file in its own task: so does this.
    load().start(); // the first "file" never stops
    dropRegistry();
    setImmediate(() => {
      const second = load();
      second.start();
      const r = { tracing: second.isTracing(), wrapped: Buffer.alloc !== untraced };
      second.stop();
      r.restored = Buffer.alloc === untraced;
      setImmediate(() => { r.warnings = warnings; console.log(JSON.stringify(r)); });
    });
  `);
  assert.equal(out.tracing, true);
  assert.equal(out.wrapped, true);
  assert.equal(out.restored, true, "the stale copy's Buffer wrappers were not removed");
  const warnings = out.warnings as string[];
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0]!, /^TRACEMALLOC_STALE_OWNER: .*version 3\.0\.0-c\) was still tracing when its modules were unloaded/);
});

test('in Jest, a test file that never stops tracing leaves the next file able to trace (the stale copy is stopped, with a warning)', async () => {
  const dir = path.join(PKG, 'test', 'fixtures', 'owner-jest');
  const jest = path.join(path.dirname(require.resolve('jest/package.json')), 'bin', 'jest.js');
  const r = await launch(process.execPath, [jest, '--config', path.join(dir, 'jest.config.js'), '--runInBand', '--ci'], PKG, { TM_PKG: PKG }).done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /PASS .*a\.test\.js[\s\S]*\[TRACEMALLOC_STALE_OWNER\] Warning: tracemalloc: the copy at .* was still tracing when its modules were unloaded[\s\S]*PASS .*b\.test\.js/);
});

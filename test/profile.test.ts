// The conversion of V8's sampling profile into traces, on hand-written profiles.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { addProfile, unscaleSample } from '#internal/profile';
import { CallFrameResolver, frameOwner } from '#internal/resolve';
import { StoreBuilder } from '#internal/store';
import { Snapshot } from '#internal/snapshot';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtin, cf, node, profile, root } from './helpers/profiles.js';
// Loaded so that their position ranges are known (own.ts: a module not loaded has no frames).
import 'tracemalloc';
import 'tracemalloc/testing';

function convert(p: Parameters<typeof addProfile>[1], nframe = 10, interval = 65536) {
  const builder = new StoreBuilder();
  const resolver = new CallFrameResolver(false);
  const { traced: total } = addProfile(builder, p, { nframe, interval, domain: 0, resolve: resolver.resolve });
  return { snapshot: Snapshot._fromColumns(builder.build(), nframe), total, resolver };
}

/** V8's scaling of one sample: objectSize * round(1 / (1 - exp(-objectSize / interval))). */
function v8Scaled(objectSize: number, interval: number): number {
  return objectSize * Math.round(1 / (1 - Math.exp(-objectSize / interval)));
}

test('unscaleSample finds an exact object size and count for every sample V8 can report', () => {
  for (const interval of [1024, 8192, 32768, 65536, 524288]) {
    for (let objectSize = 16; objectSize <= 4 * interval; objectSize += objectSize < 4096 ? 8 : 1000) {
      const scaled = v8Scaled(objectSize, interval);
      const { objectSize: size, count } = unscaleSample(scaled, interval);
      const where = `interval ${interval}, object ${objectSize}`;
      // Bytes are exact; the pair is one V8 could have reported.
      assert.equal(size * count, scaled, where);
      assert.equal(Math.round(1 / (1 - Math.exp(-size / interval))), count, where);
      // Several sizes can give the same product: the smallest is chosen, never above the truth.
      assert.ok(size <= objectSize, `${where}: chose ${size}`);
    }
  }
  // Objects of many intervals are always sampled and stand for themselves.
  assert.deepEqual(unscaleSample(100 * 1024 * 1024, 65536), { objectSize: 100 * 1024 * 1024, count: 1 });
  // A 40-byte object at 64 KiB, the size of `{ a, b }` on Node's heap, is found exactly.
  assert.deepEqual(unscaleSample(v8Scaled(40, 65536), 65536), { objectSize: 40, count: 1639 });
});

test('each sample becomes a trace with its scaled size and estimated count', () => {
  const alloc = node(cf('allocate', '/app/a.js', 9, 17));
  const main = node(cf('main', '/app/main.js', 0, 0), [alloc]);
  const p = profile(root([main]), [[alloc, v8Scaled(40, 65536)], [alloc, v8Scaled(40, 65536)], [main, 1 << 20]]);
  const { snapshot, total } = convert(p);
  assert.equal(snapshot.traces.length, 3);
  assert.equal(total, 2 * v8Scaled(40, 65536) + (1 << 20));
  const t0 = snapshot.traces.at(0)!;
  assert.equal(t0.size, v8Scaled(40, 65536));
  assert.equal(t0.count, Math.round(1 / (1 - Math.exp(-40 / 65536))));
  // 0-based positions become 1-based lines and columns; frames are stored oldest first.
  assert.deepEqual(Array.from(t0.traceback, (f) => [f.filename, f.lineno, f.column, f.functionName]),
    [['/app/main.js', 1, 1, 'main'], ['/app/a.js', 10, 18, 'allocate']]);
  assert.equal(t0.traceback.totalNframe, 2);
  const stats = snapshot.statistics('lineno');
  assert.equal(String(stats[0]), '/app/main.js:1: size=1024 KiB, count=1, average=1024 KiB');
  assert.equal(stats[1]!.count, 2 * t0.count);
});

test('builtin frames fold into their JavaScript caller, as Python leaves out C functions', () => {
  const push = node(builtin('push'));
  const fill = node(cf('fill', '/app/fill.js', 4), [push]);
  const p = profile(root([fill]), [[push, 4096]]);
  const tb = convert(p).snapshot.traces.at(0)!.traceback;
  assert.deepEqual(Array.from(tb, String), ['/app/fill.js:5']);
  assert.equal(tb.totalNframe, 1);
});

test('a stack with no JavaScript frame becomes <unknown>:0 named after V8\'s label', () => {
  const api = node(cf('(V8 API)', '', -1, -1, '0'));
  const tb = convert(profile(root([api]), [[api, 4096]])).snapshot.traces.at(0)!.traceback;
  assert.equal(tb.length, 1);
  assert.equal(String(tb.at(0)), '<unknown>:0');
  assert.equal(tb.at(0)!.functionName, '(V8 API)');
});

test('the traceback keeps the nframe most recent frames and totalNframe the full depth', () => {
  let leaf = node(cf('f0', '/app/deep.js', 0));
  const top = leaf;
  for (let i = 1; i < 6; i++) leaf = node(cf(`f${i}`, '/app/deep.js', i * 10), [leaf]);
  const { snapshot } = convert(profile(root([leaf]), [[top, 100000]]), 3);
  const tb = snapshot.traces.at(0)!.traceback;
  assert.deepEqual(Array.from(tb, (f) => f.functionName), ['f2', 'f1', 'f0']);
  assert.equal(tb.totalNframe, 6);
  assert.equal(snapshot.tracebackLimit, 3);
});

test('file:// URLs become paths; node: specifiers and other names stay', () => {
  const esm = node(cf('esm', 'file:///srv/app/mod%20ule.mjs', 2));
  const internal = node(cf('readFileSync', 'node:fs', 440));
  const { snapshot } = convert(profile(root([esm, internal]), [[esm, 70000], [internal, 70000]]));
  assert.deepEqual(snapshot.traces.slice().map((t) => String(t.traceback.at(-1))), ['/srv/app/mod ule.mjs:3', 'node:fs:441']);
});

test('frames of a script collected since an earlier read still name their file and line', () => {
  const resolver = new CallFrameResolver(false);
  const alive = resolver.resolve(cf('make', '/app/eval.js', 41, 2, '99'));
  assert.deepEqual(alive, { filename: '/app/eval.js', lineno: 42, column: 3, functionName: 'make' });
  // The same script, after V8 collected it: empty url, line -1.
  const gone = resolver.resolve(cf('make', '', -1, -1, '99'));
  assert.deepEqual(gone, alive);
  // A script never seen: honest about what is unknown.
  assert.deepEqual(resolver.resolve(cf('f', '', -1, -1, '100')), { filename: '<anonymous>', lineno: 0, column: 0, functionName: 'f' });
});

test("the tracer's own allocations are left out; the nearest owner of a stack decides", () => {
  const dist = path.join(__dirname, '..', '..', 'dist');
  const user = node(cf('handler', '/app/server.js', 9));
  // The tracer's source-map parsing: a dependency (neutral) called by the tracer (own).
  const parse = node(cf('parseMappings', '/app/node_modules/source-map/lib/consumer.js', 467));
  // (a line inside takeSnapshot of the built tracer.js: frames outside a module's statements are not ours)
  const tracerLine = fs.readFileSync(path.join(dist, 'tracer.js'), 'utf8').split('\n').findIndex((l) => l.startsWith('function takeSnapshot(')) + 2;
  const ours = node(cf('takeSnapshot', path.join(dist, 'tracer.js'), tracerLine), [parse]);
  // A Buffer made through the external-domain wrapper: Node's internals, then the wrapper.
  const internals = node(cf('allocate', 'node:buffer', 400));
  // (a line inside the wrappers' neutral region of external.js; the rest of that module is the tracer's)
  const externalJs = fs.readFileSync(path.join(dist, 'external.js'), 'utf8').split('\n');
  const wrapperLine = externalJs.findIndex((l) => l.startsWith('function wrapBufferStatic(')) + 1;
  assert.ok(wrapperLine > 0);
  const wrapper = node(cf('alloc', path.join(dist, 'external.js'), wrapperLine), [internals]);
  // The code under test of tracemalloc/testing: user code called back by the tracer.
  const measured = node(cf('leaky', '/app/leaky.js', 3));
  const testing = node(cf('measureLeak', path.join(dist, 'testing.js'), 80), [measured]);
  const caller = node(cf('main', '/app/main.js', 0), [user, ours, wrapper, testing]);
  const p = profile(root([caller]), [[user, 70000], [parse, 80000], [internals, 90000], [measured, 100000]]);
  const builder = new StoreBuilder();
  const resolver = new CallFrameResolver(false);
  const totals = addProfile(builder, p, { nframe: 5, interval: 65536, domain: 0, resolve: resolver.resolve, owner: frameOwner });
  assert.deepEqual(totals, { traced: 260000, own: 80000 });
  const snapshot = Snapshot._fromColumns(builder.build(), 5);
  assert.deepEqual(snapshot.traces.slice().map((t) => t.traceback.at(-1)!.functionName), ['handler', 'allocate', 'leaky']);
  assert.equal(frameOwner(cf('x', 'file://' + path.join(dist, 'snapshot.js'), 1)), 'own');
  assert.equal(frameOwner(cf('x', '/elsewhere/dist/snapshot.js', 1)), 'user');
  // The external domain's bookkeeping (external-record.js, outside the wrappers' region) is the tracer's.
  const recordJs = fs.readFileSync(path.join(dist, 'external-record.js'), 'utf8').split('\n');
  const recordLine = recordJs.findIndex((l) => l.includes('#record(result, kind, arg0, n, callee) {'));
  assert.ok(recordLine > 0);
  assert.equal(frameOwner(cf('#record', path.join(dist, 'external-record.js'), recordLine, 4)), 'own');
  // Outside a module's marked range (past its last statement) the same file is not ours.
  assert.equal(frameOwner(cf('x', path.join(dist, 'snapshot.js'), 100_000)), 'user');
  assert.equal(frameOwner(cf('push', '', -1, -1, '0')), 'neutral');
  assert.equal(frameOwner(cf('evaluated', '', 0, 0, '42')), 'user');
});

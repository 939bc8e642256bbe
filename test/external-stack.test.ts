// Domain 1's stack cache (src/external-stack.ts): samples are looked up by script and source offset
// per frame; distinct call positions (even on one line) stay distinct sites, repeated samples of a
// position share one, scripts without a name (eval) still get their site, and source maps are
// applied when a snapshot reads the site.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { ExternalTracer } from '#internal/external';
import { externalTracerPerTest } from './helpers/external.js';
import { HAS_POSITION } from '#internal/external-stack';
import { Snapshot } from '#internal/snapshot';
import { StoreBuilder } from '#internal/store';
import { lineOf, MiB } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'external-stack.test.ts');
const held: unknown[] = [];
const startTracer = externalTracerPerTest(held);

function start(sourceMaps = true): ExternalTracer {
  // Allocations of 1 MiB and more are always sampled: every one below is recorded.
  return startTracer({ sourceMaps });
}

function snapshotOf(t: ExternalTracer): Snapshot {
  const builder = new StoreBuilder();
  t.addTraces(builder);
  return Snapshot._fromColumns(builder.build(), 1);
}

test('V8 gives call sites a source offset on this Node (the cache keys frames by it)', () => {
  assert.equal(HAS_POSITION, true, process.version);
});

test('two calls on one line are two sites, told apart by their columns', () => {
  const t = start();
  for (let i = 0; i < 3; i++) held.push(Buffer.alloc(MiB), Buffer.allocUnsafe(2 * MiB)); // TWO-ON-ONE-LINE
  const line = lineOf(SOURCE, '// TWO-ON-ONE-LINE');
  const at = Array.from(snapshotOf(t).traces).filter((tr) => tr.domain === 1 && tr.traceback.at(0)!.filename === SOURCE && tr.traceback.at(0)!.lineno === line);
  const byColumn = new Map<number, number>();
  for (const tr of at) {
    const column = tr.traceback.at(0)!.column ?? 0;
    byColumn.set(column, (byColumn.get(column) ?? 0) + tr.size);
  }
  assert.equal(byColumn.size, 2, `columns ${[...byColumn.keys()].join(', ')}`);
  assert.deepEqual([...byColumn.values()].sort((a, b) => a - b), [3 * MiB, 6 * MiB]);
});

test('samples at one position share one traceback; other positions do not take it', () => {
  const t = start();
  const sameSite = (): Buffer => Buffer.alloc(MiB); // SAME-SITE
  for (let i = 0; i < 5; i++) held.push(sameSite());
  held.push(Buffer.alloc(MiB)); // OTHER-SITE
  const snapshot = snapshotOf(t);
  const stats = snapshot.statistics('traceback').filter((s) => s.traceback.at(0)!.filename === SOURCE);
  const same = stats.filter((s) => s.traceback.at(0)!.lineno === lineOf(SOURCE, '// SAME-SITE'));
  const other = stats.filter((s) => s.traceback.at(0)!.lineno === lineOf(SOURCE, '// OTHER-SITE'));
  assert.equal(same.length, 1);
  assert.equal(same[0]!.count, 5);
  assert.equal(same[0]!.size, 5 * MiB);
  assert.equal(other.length, 1);
  assert.equal(other[0]!.size, MiB);
});

test('a script without a name (eval) still gets its site, and distinct evals are not mixed with named code', () => {
  const t = start();
  // biome-ignore lint/security/noGlobalEval: a script without a file name is what is tested
  held.push(eval('Buffer.alloc(2 * 1024 * 1024)'), eval('[Buffer.alloc(3 * 1024 * 1024)][0]'));
  const domain1 = Array.from(snapshotOf(t).traces).filter((tr) => tr.domain === 1 && tr.traceback.at(0)!.filename !== '<external>');
  const total = domain1.reduce((sum, tr) => sum + tr.size, 0);
  assert.equal(total, 5 * MiB);
  for (const tr of domain1) assert.notEqual(tr.traceback.at(0)!.filename, SOURCE);
});

test('with sourceMaps the frame names the TypeScript source; without, the built file', () => {
  const mapped = start(true);
  held.push(Buffer.alloc(MiB)); // MAPPED-OR-NOT
  const withMaps = Array.from(snapshotOf(mapped).traces).find((tr) => tr.domain === 1 && tr.size === MiB)!;
  mapped.stop();
  const raw = start(false);
  held.push(Buffer.alloc(MiB)); // MAPPED-OR-NOT
  const withoutMaps = Array.from(snapshotOf(raw).traces).find((tr) => tr.domain === 1 && tr.size === MiB)!;
  assert.equal(withMaps.traceback.at(0)!.filename, SOURCE);
  assert.equal(withMaps.traceback.at(0)!.lineno, lineOf(SOURCE, '// MAPPED-OR-NOT'));
  assert.equal(withoutMaps.traceback.at(0)!.filename, __filename);
});

test('two versions of a file under one name (hot reload): a call at the same offset on another line is that line', () => {
  const t = start();
  const name = path.join(path.sep, 'virtual', 'hot-reload.js');
  // The second version moves the call to line 2 without changing its source offset.
  const v1 = 'globalThis.__tmHot1 = function () { return Buffer.alloc(1048576); };';
  const v2 = 'globalThis.__tmHot2 = function ()\n{ return Buffer.alloc(1048576); };';
  assert.equal(v1.indexOf('Buffer.alloc'), v2.indexOf('Buffer.alloc'));
  vm.runInThisContext(v1, { filename: name });
  vm.runInThisContext(v2, { filename: name });
  const g = globalThis as unknown as Record<string, () => Buffer>;
  // Both called from one position, so the stacks differ in the first frame's script only.
  for (const version of [g.__tmHot1!, g.__tmHot2!]) for (let i = 0; i < 3; i++) held.push(version());
  delete g.__tmHot1;
  delete g.__tmHot2;
  const byLine = new Map<number, number>();
  for (const tr of snapshotOf(t).traces) {
    const frame = tr.traceback.at(0)!;
    if (tr.domain === 1 && frame.filename === name) byLine.set(frame.lineno, (byLine.get(frame.lineno) ?? 0) + tr.size);
  }
  assert.deepEqual([...byLine.entries()].sort(), [[1, 3 * MiB], [2, 3 * MiB]]);
});

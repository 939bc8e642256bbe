// Domains beyond the V8 heap through the public API: Buffers and typed arrays (domain 1) and
// user domains reported with track()/untrack() (Python's PyTraceMalloc_Track).
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { gc, lineOf, MiB } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'domains.test.ts');
const held: unknown[] = [];
afterEach(() => {
  tracemalloc.stop();
  held.length = 0;
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('sixteen Buffer.alloc(4 MiB) are one 64 MiB statistic at the exact call line, in domain 1', async () => {
  const original = { Uint8Array, ArrayBuffer, alloc: Buffer.alloc };
  tracemalloc.start(1);
  for (let i = 0; i < 16; i++) held.push(Buffer.alloc(4 * MiB)); // the allocating line
  const snapshot = tracemalloc.takeSnapshot();
  const external = snapshot.filterTraces([new tracemalloc.DomainFilter(true, tracemalloc.EXTERNAL_DOMAIN)]);
  const top = external.statistics('lineno')[0]!;
  assert.equal(top.traceback.at(0)!.filename, SOURCE);
  assert.equal(top.traceback.at(0)!.lineno, lineOf(SOURCE, '// the allocating line'));
  assert.ok(Math.abs(top.size - 64 * MiB) <= 0.1 * 64 * MiB, `size ${top.size}`);
  // The V8 heap knows nothing of it: domain 0 holds no such site.
  const heap = snapshot.filterTraces([new tracemalloc.DomainFilter(true, tracemalloc.HEAP_DOMAIN)]);
  assert.ok(heap.statistics('lineno').every((s) => s.size < 16 * MiB));
  // getTracedMemory() counts domain 1.
  assert.ok(tracemalloc.getTracedMemory()[0] >= 0.9 * 64 * MiB);
  // Collected: it leaves the snapshot (the registry's callbacks run after a full GC).
  held.length = 0;
  for (let i = 0; i < 5; i++) {
    gc();
    await turn();
  }
  const after = tracemalloc.takeSnapshot().filterTraces([new tracemalloc.DomainFilter(true, 1)]);
  assert.ok(after.statistics('lineno').every((s) => s.traceback.at(0)!.filename !== SOURCE || s.size < MiB), 'gone once collected');
  tracemalloc.stop();
  assert.equal(Uint8Array, original.Uint8Array);
  assert.equal(ArrayBuffer, original.ArrayBuffer);
  assert.equal(Buffer.alloc, original.alloc);
});

test('a 64 MiB Float64Array made by slice() is attributed at its line; external: false leaves domain 1 empty', () => {
  tracemalloc.start(1);
  held.push(new Float64Array(8 * MiB).slice()); // the typed array line (constructors are not wrapped: a copy is)
  // The array slice() copied is dead but may still be counted by arrayBuffers (in <external>:0).
  const top = tracemalloc.takeSnapshot().filterTraces([new tracemalloc.DomainFilter(true, 1)]).statistics('lineno')
    .find((st) => st.traceback.at(0)!.filename !== '<external>')!;
  assert.equal(top.traceback.at(0)!.lineno, lineOf(SOURCE, '// the typed array line'));
  assert.ok(Math.abs(top.size - 64 * MiB) <= 0.01 * 64 * MiB);
  tracemalloc.stop();
  tracemalloc.start(1, { external: false });
  held.push(new Float64Array(8 * MiB));
  const domains = new Set(tracemalloc.takeSnapshot().traces.slice().map((t) => t.domain));
  assert.equal(domains.has(1), false);
});

function registerPool(key: string, size: number): void {
  tracemalloc.track(7, key, size); // the track line
}

test('track() shows a user domain with the caller\'s traceback and size; untrack() removes it', () => {
  assert.throws(() => tracemalloc.track(7, 'a', 10), { code: 'ERR_TRACEMALLOC_NOT_TRACING' });
  tracemalloc.start(3);
  assert.throws(() => tracemalloc.track(1, 'a', 10), RangeError);
  assert.throws(() => tracemalloc.track(0, 'a', 10), RangeError);
  assert.throws(() => tracemalloc.track(7, 'a', -1), TypeError);
  assert.throws(() => tracemalloc.track(2.5, 'a', 1), TypeError);
  registerPool('pool-a', 5000);
  registerPool('pool-b', 3000);
  registerPool('pool-a', 6000); // tracking a key again replaces its block
  const [current] = tracemalloc.getTracedMemory();
  assert.ok(current >= 9000);
  const user = tracemalloc.takeSnapshot().filterTraces([new tracemalloc.DomainFilter(true, 7)]);
  assert.equal(user.traces.length, 2);
  const stat = user.statistics('lineno')[0]!;
  assert.equal(stat.size, 9000);
  assert.equal(stat.count, 2);
  const frame = stat.traceback.at(0)!;
  assert.equal(frame.filename, SOURCE);
  assert.equal(frame.lineno, lineOf(SOURCE, '// the track line'));
  const tb = user.traces.at(0)!.traceback;
  // Oldest first: the most recent frame is the track() call in registerPool, and its caller precedes it.
  assert.equal(tb.at(-1)!.functionName, 'registerPool');
  assert.ok(tb.length >= 2 && tb.totalNframe !== 0);
  tracemalloc.untrack(7, 'pool-a');
  tracemalloc.untrack(7, 'never-tracked');
  const after = tracemalloc.takeSnapshot().filterTraces([new tracemalloc.DomainFilter(true, 7)]);
  assert.equal(after.statistics('lineno')[0]!.size, 3000);
  tracemalloc.clearTraces();
  assert.equal(tracemalloc.takeSnapshot().filterTraces([new tracemalloc.DomainFilter(true, 7)]).traces.length, 0);
});

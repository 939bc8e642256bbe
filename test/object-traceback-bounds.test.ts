/**
 * getObjectTraceback is bounded (issue 13): it needs a full heap snapshot, so it refuses a heap
 * over MAX_OBJECT_TRACEBACK_HEAP with ERR_TRACEMALLOC_HEAP_TOO_LARGE instead of growing the
 * process by gigabytes (a 300 MiB heap reached 9 GB and failed with ERR_STRING_TOO_LONG).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { AllocationTracker } from '#internal/inspector';
import { CallFrameResolver } from '#internal/resolve';
import { HeapTooLargeError, MAX_OBJECT_TRACEBACK_HEAP, objectTraceback } from '#internal/object-traceback';
import * as tracemalloc from 'tracemalloc';

test('a heap over the limit is refused with a clear error before any heap snapshot', () => {
  const tracker = new AllocationTracker();
  tracker.start();
  try {
    const ctx = { tracker, resolver: new CallFrameResolver(false), tracebackLimit: 5 };
    const made = { made: 'after tracking started' };
    const used = v8.getHeapStatistics().used_heap_size;

    assert.throws(() => objectTraceback(ctx, made, 1024 * 1024), (err: Error) => {
      assert.ok(err instanceof HeapTooLargeError);
      assert.equal((err as HeapTooLargeError).code, 'ERR_TRACEMALLOC_HEAP_TOO_LARGE');
      assert.match(err.message, /^getObjectTraceback\(\) needs a heap snapshot, which costs several times the heap in memory: the heap holds [\d.]+ [KMG]iB, over the limit of 1024 KiB$/);
      return true;
    });

    assert.ok(used > 1024 * 1024);
    // Under the limit, the same call answers.
    const tb = objectTraceback(ctx, made, Infinity);
    assert.ok(tb !== null && tb.length >= 1, 'a traceback for an object allocated while tracking');
    // Primitives and null have no traceback, whatever the heap.
    assert.equal(objectTraceback(ctx, 42, 1), null);
    assert.equal(objectTraceback(ctx, null, 1), null);
  } finally {
    tracker.stop();
  }
});

test('the public getObjectTraceback keeps working under the default limit', () => {
  assert.ok(v8.getHeapStatistics().used_heap_size < MAX_OBJECT_TRACEBACK_HEAP, 'the test heap is under the limit');
  tracemalloc.start(5, { trackAllocations: true });
  try {
    const obj = { here: true };
    const tb = tracemalloc.getObjectTraceback(obj);
    assert.ok(tb !== null, 'a traceback');
    assert.ok([...tb].some((f) => /object-traceback-bounds\.test\.[jt]s$/.test(f.filename)), tb.format().join('\n'));
  } finally {
    tracemalloc.stop();
  }
});

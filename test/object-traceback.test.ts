// getObjectTraceback() (SPEC §5.4): V8's allocation tracker, read through a heap snapshot.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { lineOf } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'object-traceback.test.ts');
afterEach(() => tracemalloc.stop());

function makeWidget(): { name: string; parts: number[] } {
  return { name: 'widget', parts: [1, 2, 3] };
}

function assembleWidget(): { name: string; parts: number[] } {
  return makeWidget();
}

test('getObjectTraceback() returns the allocating stack of an object made after start()', () => {
  const before = makeWidget();
  tracemalloc.start(5, { trackAllocations: true });
  const widget = assembleWidget();
  const tb = tracemalloc.getObjectTraceback(widget);
  assert.ok(tb !== null, 'a traceback');
  const recent = tb.at(-1)!;
  assert.equal(recent.filename, SOURCE);
  assert.equal(recent.functionName, 'makeWidget');
  assert.equal(recent.lineno, lineOf(SOURCE, 'function makeWidget('));
  assert.equal(tb.at(-2)!.functionName, 'assembleWidget');
  assert.ok(tb.length <= 5 && tb.totalNframe! >= tb.length);
  // Allocated before tracing started: V8 recorded no stack, as Python returns None.
  assert.equal(tracemalloc.getObjectTraceback(before), null);
  assert.equal(tracemalloc.getObjectTraceback(42), null);
  assert.equal(widget.parts.length + before.parts.length, 6);
});

test('getObjectTraceback() is null unless tracing with trackAllocations', () => {
  const widget = makeWidget();
  assert.equal(tracemalloc.getObjectTraceback(widget), null);
  tracemalloc.start(5);
  assert.equal(tracemalloc.getObjectTraceback(makeWidget()), null);
  assert.equal(widget.name, 'widget');
});

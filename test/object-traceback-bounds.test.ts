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
import { allocationStackFromFile, HeapTooLargeError, MAX_OBJECT_TRACEBACK_HEAP, objectTraceback } from '#internal/object-traceback';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
      assert.match(err.message, /^getObjectTraceback\(\) needs a heap snapshot, which V8 writes at about 2 bytes per byte of heap and several seconds per 100 MiB: the heap holds [\d.]+ [KMG]iB, over the limit of 1024 KiB$/);
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

interface HeapSnapshotJSON {
  snapshot: { meta: { node_fields: string[]; trace_function_info_fields: string[]; trace_node_fields: string[] } };
  nodes: number[];
  strings: string[];
  trace_function_infos: number[];
  trace_tree: unknown[];
}

/** The reader before issue 13 (the whole snapshot parsed as one JSON value), verbatim: the reference. */
function allocationStack(snap: HeapSnapshotJSON, id: number): unknown[] | null {
  const meta = snap.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const idField = meta.node_fields.indexOf('id');
  const traceField = meta.node_fields.indexOf('trace_node_id');
  if (!(id > 0) || idField < 0 || traceField < 0) return null;
  let traceId = 0;
  for (let i = 0; i < snap.nodes.length; i += nodeFields) {
    if (snap.nodes[i + idField] === id) {
      traceId = snap.nodes[i + traceField]!;
      break;
    }
  }
  if (traceId === 0) return null;
  const tnf = meta.trace_node_fields.length;
  const parents = new Map<number, number>();
  const infos = new Map<number, number>();
  const pending: Array<[unknown[], number]> = [[snap.trace_tree, 0]];
  while (pending.length > 0) {
    const [nodes, parent] = pending.pop()!;
    for (let i = 0; i < nodes.length; i += tnf) {
      const nodeId = nodes[i] as number;
      parents.set(nodeId, parent);
      infos.set(nodeId, nodes[i + 1] as number);
      pending.push([nodes[i + 4] as unknown[], nodeId]);
    }
  }
  const f = meta.trace_function_info_fields;
  const width = f.length;
  const [iName, iScript, iScriptId, iLine, iColumn] = ['name', 'script_name', 'script_id', 'line', 'column'].map((n) => f.indexOf(n)) as [number, number, number, number, number];
  const frames: unknown[] = [];
  for (let nodeId = traceId; nodeId > 0; nodeId = parents.get(nodeId) ?? 0) {
    const base = infos.get(nodeId)! * width;
    const rec = snap.trace_function_infos;
    const name = snap.strings[rec[base + iName]!] ?? '';
    if (name === '(root)') break;
    frames.push({ functionName: name, url: snap.strings[rec[base + iScript]!] ?? '', scriptId: String(rec[base + iScriptId]), line: rec[base + iLine]!, column: rec[base + iColumn]! });
  }
  return frames;
}

test('the chunked reader finds the same allocation stack as parsing the whole snapshot, for every traced object', () => {
  const tracker = new AllocationTracker();
  tracker.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-heap-'));
  try {
    // Objects allocated at several depths and sites while tracking, with odd names and strings.
    const keep: unknown[] = [];
    function leaf(i: number): void {
      keep.push({ i, s: `str "${i}" \\ é` });
    }
    function mid(i: number): void {
      if (i % 3 === 0) leaf(i);
      else keep.push([i]);
    }
    for (let i = 0; i < 300; i++) mid(i);
    const file = (v8 as unknown as { writeHeapSnapshot(f: string): string }).writeHeapSnapshot(path.join(dir, 'h.heapsnapshot'));
    const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as HeapSnapshotJSON;
    const nf = snap.snapshot.meta.node_fields.length;
    const idField = snap.snapshot.meta.node_fields.indexOf('id');
    const traceField = snap.snapshot.meta.node_fields.indexOf('trace_node_id');
    let compared = 0;
    let withStack = 0;
    for (let i = 0; i < snap.nodes.length; i += nf) {
      if (snap.nodes[i + traceField] === 0 && (compared > 0 || i > 0)) continue;
      const id = snap.nodes[i + idField]!;
      const expected = allocationStack(snap, id);
      assert.deepEqual(allocationStackFromFile(file, id), expected, `object id ${id}`);
      compared++;
      if (expected !== null && expected.length > 0) withStack++;
      if (compared >= 40) break;
    }
    assert.ok(withStack > 10, `${withStack} objects with a stack compared`);
    assert.equal(allocationStackFromFile(file, 0), null);
    assert.equal(allocationStackFromFile(file, 2 ** 40), null);
    keep.length = 0;
  } finally {
    tracker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

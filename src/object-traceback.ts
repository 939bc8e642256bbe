/**
 * `getObjectTraceback(obj)`: the stack that allocated an object, from V8's allocation tracker
 * (`start(n, { trackAllocations: true })`). The tracker answers only through a full heap
 * snapshot, which costs about 30 times the heap in memory and 0.1 s per MiB of heap to write and
 * parse (a 300 MiB heap reached 9 GB and failed with ERR_STRING_TOO_LONG after 40 s). So it is
 * refused, with a clear error, above `MAX_OBJECT_TRACEBACK_HEAP` of used heap.
 */
import * as v8 from 'node:v8';
import { formatSize } from './format.js';
import { Frame, Traceback } from './frame.js';
import type { AllocationTracker } from './inspector.js';
import type { CallFrameResolver } from './resolve.js';

/**
 * The most used heap (`v8.getHeapStatistics().used_heap_size`) at which `getObjectTraceback`
 * still takes a heap snapshot: 128 MiB. Measured (trackAllocations on, small objects): 212 MiB of
 * used heap took 2 s and 640 MB of peak memory; the 300 MiB heap (with more strings)
 * reached 9 GB. The snapshot file is capped as well (MAX_HEAP_SNAPSHOT_FILE).
 */
export const MAX_OBJECT_TRACEBACK_HEAP = 128 * 1024 * 1024;

/**
 * The largest heap snapshot file `getObjectTraceback` reads (it is parsed as one JSON text): 256
 * MiB. A heap of long strings can stay under MAX_OBJECT_TRACEBACK_HEAP and still write a bigger
 * snapshot (V8 strings stop near 512 MiB: ERR_STRING_TOO_LONG).
 */
export const MAX_HEAP_SNAPSHOT_FILE = 256 * 1024 * 1024;

/** Raised by `getObjectTraceback` on a heap too big to snapshot within bounds. */
export class HeapTooLargeError extends Error {
  readonly code = 'ERR_TRACEMALLOC_HEAP_TOO_LARGE';
  constructor(what: 'heap' | 'snapshot', used: number, limit: number) {
    super(
      `getObjectTraceback() needs a heap snapshot, which costs several times the heap in memory: ` +
        (what === 'heap'
          ? `the heap holds ${formatSize(used)}, over the limit of ${formatSize(limit)}`
          : `the heap snapshot is ${formatSize(used)}, over the limit of ${formatSize(limit)}`),
    );
    this.name = 'Error';
  }
}

export interface ObjectTracebackContext {
  tracker: AllocationTracker | null;
  resolver: CallFrameResolver;
  tracebackLimit: number;
}

/** The traceback where `obj` was allocated, or null; see the module's comment for the bound. */
export function objectTraceback(s: ObjectTracebackContext | null, obj: unknown, limit = MAX_OBJECT_TRACEBACK_HEAP): Traceback | null {
  if (s === null || s.tracker === null) return null;
  if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return null;
  const used = v8.getHeapStatistics().used_heap_size;
  if (used > limit) throw new HeapTooLargeError('heap', used, limit);
  const stack = s.tracker.stackOf(obj);
  if (stack === null) return null;
  const frames = [];
  for (const f of stack) {
    const r = s.resolver.resolve({ functionName: f.functionName, scriptId: f.scriptId, url: f.url, lineNumber: f.line - 1, columnNumber: f.column - 1 });
    if (r !== null) frames.push(r);
  }
  if (frames.length === 0) return null;
  const kept = frames.slice(0, s.tracebackLimit).map((r) => new Frame(r.filename, r.lineno, { column: r.column || null, functionName: r.functionName }));
  return new Traceback(kept, frames.length);
}

/**
 * `getObjectTraceback(obj)`: the stack that allocated an object, from V8's allocation tracker
 * (`start(n, { trackAllocations: true })`). The tracker answers only through a full heap snapshot.
 * V8 writes it to a private temporary file (about twice the used heap), which is then read
 * forward in 1 MiB chunks, keeping only the path to the object (it used to be parsed as one JSON
 * text: a 300 MiB heap reached 9 GB and failed with ERR_STRING_TOO_LONG after 40 s). Writing the
 * snapshot still takes time in proportion to the heap, so a heap over MAX_OBJECT_TRACEBACK_HEAP
 * is refused with a clear error.
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { formatSize } from './format.js';
import { Frame, Traceback } from './frame.js';
import type { AllocationTracker } from './inspector.js';
import type { CallFrameResolver } from './resolve.js';

/**
 * The most used heap (`v8.getHeapStatistics().used_heap_size`) at which `getObjectTraceback`
 * still takes a heap snapshot: 64 MiB. Measured with the allocation tracker on (small objects,
 * 2 cores at load ~20): at 88 MiB of used heap the call took 91 s and the process peaked at 2.0 GB
 * (2.5 GB and 68 s with the old whole-text parse), nearly all of it V8 building and writing the
 * snapshot (about 2 bytes of file per byte of heap). Reading the file here costs about 1 s per
 * 100 MiB and no memory that grows with it; parsing it whole took 5 s and 700 MB for 75 MiB.
 */
export const MAX_OBJECT_TRACEBACK_HEAP = 64 * 1024 * 1024;

/** Raised by `getObjectTraceback` on a heap too big to snapshot within bounds. */
export class HeapTooLargeError extends Error {
  readonly code = 'ERR_TRACEMALLOC_HEAP_TOO_LARGE';
  constructor(used: number, limit: number) {
    super(
      `getObjectTraceback() needs a heap snapshot, which V8 writes at about 2 bytes per byte of heap ` +
        `and several seconds per 100 MiB: the heap holds ${formatSize(used)}, over the limit of ${formatSize(limit)}`,
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
  if (used > limit) throw new HeapTooLargeError(used, limit);
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

/** One frame of an allocation stack, as the heap snapshot's trace_function_infos give it. */
export interface SnapshotAllocationFrame {
  functionName: string;
  scriptId: string;
  url: string;
  /** 1-based (the function's start). */
  line: number;
  column: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;

/**
 * Reads a JSON file forward in 1 MiB chunks, token by token: memory stays at one chunk plus what
 * the caller keeps, however big the file.
 */
class JsonScanner {
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(1 << 20);
  #len = 0;
  #pos = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  #fill(): boolean {
    this.#len = fs.readSync(this.#fd, this.#buf, 0, this.#buf.length, null);
    this.#pos = 0;
    return this.#len > 0;
  }

  /** The next byte that is not white space, without taking it; -1 at the end. */
  peek(): number {
    for (;;) {
      if (this.#pos >= this.#len && !this.#fill()) return -1;
      const b = this.#buf[this.#pos]!;
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) this.#pos++;
      else return b;
    }
  }

  next(): number {
    const b = this.peek();
    if (b >= 0) this.#pos++;
    return b;
  }

  expect(byte: number): void {
    const b = this.next();
    if (b !== byte) throw new Error(`heap snapshot: expected ${String.fromCharCode(byte)}, found ${b < 0 ? 'the end' : String.fromCharCode(b)}`);
  }

  /** A number (integers, as heap snapshots hold, read digit by digit; any other number as text). */
  number(): number {
    this.peek();
    let value = 0;
    let digits = 0;
    let negative = false;
    let text: string | null = null;
    for (;;) {
      if (this.#pos >= this.#len && !this.#fill()) break;
      const b = this.#buf[this.#pos]!;
      if (b >= 0x30 && b <= 0x39) {
        if (text === null) value = value * 10 + (b - 0x30);
        else text += String.fromCharCode(b);
        digits++;
      } else if (b === MINUS && digits === 0 && !negative && text === null) {
        negative = true;
      } else if (b === 0x2e || b === 0x65 || b === 0x45 || b === 0x2b || b === MINUS) {
        text ??= `${negative ? '-' : ''}${value}`;
        text += String.fromCharCode(b);
      } else {
        break;
      }
      this.#pos++;
    }
    const n = text === null ? (negative ? -value : value) : Number(text);
    if (digits === 0 || !Number.isFinite(n)) throw new Error('heap snapshot: expected a number');
    return n;
  }

  /** A string: decoded when `keep`, else skipped (its bytes never held). */
  string(keep: boolean): string {
    this.expect(QUOTE);
    const parts: Buffer[] = [];
    let escaped = false;
    for (;;) {
      if (this.#pos >= this.#len && !this.#fill()) throw new Error('heap snapshot: a string does not end');
      const start = this.#pos;
      let end = -1;
      for (let i = start; i < this.#len; i++) {
        const b = this.#buf[i]!;
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          end = i;
          break;
        }
      }
      const stop = end < 0 ? this.#len : end;
      if (keep) parts.push(Buffer.from(this.#buf.subarray(start, stop)));
      this.#pos = end < 0 ? this.#len : end + 1;
      if (end >= 0) break;
    }
    return keep ? (JSON.parse(`"${Buffer.concat(parts).toString('utf8')}"`) as string) : '';
  }

  /** Skips one value of any kind. */
  skip(): void {
    let depth = 0;
    do {
      const b = this.peek();
      if (b === QUOTE) this.string(false);
      else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
        this.#pos++;
        depth++;
      } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
        this.#pos++;
        depth--;
      } else if (b === COMMA || b === COLON) this.#pos++;
      else if (b < 0) throw new Error('heap snapshot: the file ends inside a value');
      else if (b === 0x74 || b === 0x66 || b === 0x6e) {
        // true, false, null
        while (this.peek() >= 0x61 && this.peek() <= 0x7a) this.#pos++;
      } else this.number();
    } while (depth > 0);
  }

  /** Calls `each` for every element of an array, with its index; `each` must read the element. */
  array(each: (index: number) => void): void {
    this.expect(OPEN_ARRAY);
    let i = 0;
    if (this.peek() === CLOSE_ARRAY) {
      this.#pos++;
      return;
    }
    for (;;) {
      each(i++);
      const b = this.next();
      if (b === CLOSE_ARRAY) return;
      if (b !== COMMA) throw new Error('heap snapshot: expected , or ] in an array');
    }
  }
}

interface SnapshotMeta {
  node_fields: string[];
  trace_function_info_fields: string[];
  trace_node_fields: string[];
}

/**
 * The allocation stack of heap object `id` (most recent first) from a heap snapshot file written
 * while V8's allocation tracker ran, or null when it has none. Reads the file once, forward, in
 * chunks: it keeps the snapshot's metadata, the function infos (six numbers per function), the
 * path of trace-tree nodes down to the object's, and the few strings that path names, never the
 * nodes, edges or the other strings. So memory stays small however big the heap; a heap of
 * 212 MiB used to be parsed as one JSON text (several GB; ERR_STRING_TOO_LONG past 512 MiB).
 */
export function allocationStackFromFile(file: string, id: number): SnapshotAllocationFrame[] | null {
  if (!(id > 0)) return null;
  const fd = fs.openSync(file, 'r');
  try {
    const s = new JsonScanner(fd);
    let meta: SnapshotMeta | null = null;
    let traceId = 0;
    const infos: number[] = [];
    let chain: number[] | null = null; // function info indices, the object's node first
    const wanted = new Map<number, string>();
    s.expect(OPEN_OBJECT);
    for (;;) {
      const key = s.string(true);
      s.expect(COLON);
      if (key === 'snapshot') {
        // Small: { meta, node_count, edge_count, trace_function_count }.
        let m: SnapshotMeta | null = null;
        s.expect(OPEN_OBJECT);
        for (;;) {
          const k = s.string(true);
          s.expect(COLON);
          if (k === 'meta') m = readMeta(s);
          else s.skip();
          if (s.next() === CLOSE_OBJECT) break;
        }
        meta = m;
      } else if (key === 'nodes' && meta !== null) {
        const nf = meta.node_fields.length;
        const idField = meta.node_fields.indexOf('id');
        const traceField = meta.node_fields.indexOf('trace_node_id');
        if (idField < 0 || traceField < 0) return null;
        const cur = new Array<number>(nf).fill(0);
        s.array((i) => {
          const field = i % nf;
          cur[field] = s.number();
          if (field === nf - 1 && traceId === 0 && cur[idField] === id) traceId = cur[traceField]!;
        });
        if (traceId === 0) return null;
      } else if (key === 'trace_function_infos') {
        s.array(() => infos.push(s.number()));
      } else if (key === 'trace_tree' && meta !== null) {
        chain = traceChain(s, meta.trace_node_fields, traceId);
        if (chain === null) return null;
        const f = meta.trace_function_info_fields;
        const width = f.length;
        for (const fi of chain) {
          for (const name of ['name', 'script_name']) {
            const at = f.indexOf(name);
            if (at >= 0) wanted.set(infos[fi * width + at]!, '');
          }
        }
      } else if (key === 'strings' && chain !== null) {
        s.array((i) => {
          if (wanted.has(i)) wanted.set(i, s.string(true));
          else s.skip();
        });
        return framesOf(chain, infos, meta!.trace_function_info_fields, wanted);
      } else {
        s.skip();
      }
      const b = s.next();
      if (b === CLOSE_OBJECT) return null;
      if (b !== COMMA) throw new Error('heap snapshot: expected , or } after a value');
    }
  } finally {
    fs.closeSync(fd);
  }
}

function readMeta(s: JsonScanner): SnapshotMeta {
  const meta: SnapshotMeta = { node_fields: [], trace_function_info_fields: [], trace_node_fields: [] };
  s.expect(OPEN_OBJECT);
  for (;;) {
    const k = s.string(true);
    s.expect(COLON);
    if (k === 'node_fields' || k === 'trace_function_info_fields' || k === 'trace_node_fields') {
      const list: string[] = [];
      s.array(() => list.push(s.string(true)));
      meta[k] = list;
    } else {
      s.skip();
    }
    if (s.next() === CLOSE_OBJECT) return meta;
  }
}

/**
 * Walks the trace tree (`[id, function_info_index, count, size, [children...], ...]`, nested)
 * without building it, and returns the function info indices from node `traceId` up to the root.
 */
function traceChain(s: JsonScanner, fields: string[], traceId: number): number[] | null {
  const width = fields.length;
  const idAt = fields.indexOf('id');
  const infoAt = fields.indexOf('function_info_index');
  const childrenAt = fields.indexOf('children');
  if (idAt < 0 || infoAt < 0 || childrenAt < 0 || traceId === 0) {
    s.skip();
    return null;
  }
  // path[k]: the function info of the node that owns the k-th open children array.
  const path: number[] = [];
  let found: number[] | null = null;
  const level = (): void => {
    // An explicit stack of [index in the current array, the node's id, its function info].
    const stack: [number, number, number][] = [];
    s.expect(OPEN_ARRAY);
    let state: [number, number, number] = [0, 0, 0];
    if (s.peek() === CLOSE_ARRAY) {
      s.next();
      return;
    }
    for (;;) {
      const field = state[0] % width;
      if (field === childrenAt) {
        if (found === null && state[1] === traceId) found = [state[2], ...path.slice().reverse()];
        path.push(state[2]);
        stack.push(state);
        s.expect(OPEN_ARRAY);
        state = [0, 0, 0];
        if (s.peek() === CLOSE_ARRAY) {
          s.next();
          state = stack.pop()!;
          path.pop();
          state[0]++;
          if (!closeOrComma()) return;
          continue;
        }
        continue;
      }
      const v = s.number();
      if (field === idAt) state[1] = v;
      else if (field === infoAt) state[2] = v;
      state[0]++;
      if (!closeOrComma()) return;
    }
    /** After a value: `,` goes on; `]` closes arrays (as many as end here); false at the top. */
    function closeOrComma(): boolean {
      for (;;) {
        const b = s.next();
        if (b === COMMA) return true;
        if (b !== CLOSE_ARRAY) throw new Error('heap snapshot: expected , or ] in the trace tree');
        if (stack.length === 0) return false;
        state = stack.pop()!;
        path.pop();
        state[0]++;
      }
    }
  };
  level();
  return found;
}

function framesOf(chain: number[], infos: number[], fields: string[], strings: Map<number, string>): SnapshotAllocationFrame[] {
  const width = fields.length;
  const [iName, iScript, iScriptId, iLine, iColumn] = ['name', 'script_name', 'script_id', 'line', 'column'].map((n) => fields.indexOf(n)) as [number, number, number, number, number];
  const frames: SnapshotAllocationFrame[] = [];
  for (const fi of chain) {
    const base = fi * width;
    const name = strings.get(infos[base + iName]!) ?? '';
    if (name === '(root)') break;
    frames.push({
      functionName: name,
      url: strings.get(infos[base + iScript]!) ?? '',
      scriptId: String(infos[base + iScriptId]),
      line: infos[base + iLine]!,
      column: infos[base + iColumn]!,
    });
  }
  return frames;
}

/**
 * Snapshot <-> Chrome DevTools `.heapprofile` (the JSON of `HeapProfiler.getSamplingProfile`, as
 * `node --heap-prof` writes it). Reading goes through profile.ts's `addProfile`, the conversion
 * the live tracer uses, so a file and a live profile give the same traces.
 */
import type { CallFrame, ProfileNode, ProfileSample, SamplingProfile } from '../inspector.js';
import { addProfile } from '../profile.js';
import { CallFrameResolver } from '../resolve.js';
import { Snapshot } from '../snapshot.js';
import { StoreBuilder, Tables, TraceColumns } from '../store.js';
import { checkMaxBytes, checkMaxFrames, checkTraceTotals, copyMeta, DEFAULT_MAX_BYTES, MAX_SNAPSHOT_FRAMES, MAX_TRACE_VALUE, SnapshotFormatError } from '../persist.js';
import { describeType, describeValue } from '../format.js';
import { EXTERNAL_DOMAIN, isSampledDomain } from '../domain-names.js';
import { readCappedFile } from '../read-file.js';

/** The sampling interval `node --heap-prof` uses unless `--heap-prof-interval` says otherwise (bytes). */
export const NODE_HEAP_PROF_INTERVAL = 512 * 1024;

const EXTENSION_NAME = 'tracemalloc-heapprofile';

/**
 * What `toHeapProfile` adds under the `tracemalloc` key, which DevTools ignores: the facts the
 * format has no room for, so that reading the file back gives the same snapshot.
 */
interface HeapProfileExtension {
  format: typeof EXTENSION_NAME;
  version: 1;
  tracebackLimit: number;
  samplingInterval: number | null;
  meta: Record<string, unknown>;
  /** The pseudo-node under the root that holds each non-heap domain's stacks. */
  domains: { domain: number; nodeId: number }[];
  /**
   * The object count of each sample, in the order of `samples`. V8's format keeps only the scaled
   * size, from which a count can only be guessed, and not at all for the external domain's own
   * sampler: with this, a round trip keeps counts exactly. Optional (files without it still read).
   */
  counts?: number[];
}

/** A `.heapprofile` as `toHeapProfile` writes it: V8's profile plus the `tracemalloc` key. */
export interface HeapProfileJSON extends SamplingProfile {
  tracemalloc?: HeapProfileExtension;
}

const PSEUDO_FRAME = { scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } as const;

function domainLabel(domain: number): string {
  return domain === EXTERNAL_DOMAIN ? `(domain 1: ArrayBuffers and Buffers)` : `(domain ${domain}: user)`;
}

/**
 * Converts `snapshot` to a `.heapprofile` that DevTools' Memory panel loads ("Load profile"):
 * a call tree from `(root)` through each traceback, oldest frame first, and one sample per trace
 * with its (already scaled) size in bytes. Lines and columns are 0-based here, unlike in frames.
 * Domains other than the V8 heap hang under a pseudo-node named `(domain N: ...)`; a `tracemalloc`
 * key that DevTools ignores keeps the traceback limit, interval and metadata for
 * `snapshotFromHeapProfile`.
 */
export function toHeapProfile(snapshot: Snapshot): HeapProfileJSON {
  if (!(snapshot instanceof Snapshot)) throw new TypeError(`snapshot must be a Snapshot, not ${describeType(snapshot)}`);
  const c = snapshot._columns;
  const t = c.tables;
  let nextId = 1;
  const makeNode = (callFrame: CallFrame): ProfileNode => ({ callFrame, selfSize: 0, id: nextId++, children: [] });
  const head = makeNode({ functionName: '(root)', ...PSEUDO_FRAME });
  const childIndex = new Map<ProfileNode, Map<string, ProfileNode>>();
  const child = (parent: ProfileNode, key: string, callFrame: () => CallFrame): ProfileNode => {
    let index = childIndex.get(parent);
    if (index === undefined) {
      index = new Map();
      childIndex.set(parent, index);
    }
    let node = index.get(key);
    if (node === undefined) {
      node = makeNode(callFrame());
      parent.children.push(node);
      index.set(key, node);
    }
    return node;
  };
  // Script ids: one per filename, and another for its frames of unknown line, so that the reader
  // (which fills a line of -1 from other frames of the same script and function) keeps them unknown.
  const scriptIds = new Map<string, string>();
  const scriptId = (key: string): string => {
    let id = scriptIds.get(key);
    if (id === undefined) {
      id = String(scriptIds.size + 1);
      scriptIds.set(key, id);
    }
    return id;
  };
  const frameKey = new Map<number, string>();
  const keyOf = (f: number): string => {
    let key = frameKey.get(f);
    if (key === undefined) {
      key = `${t.files[f]}\0${t.lines[f]}\0${t.columns[f]}\0${t.funcs[f] ?? ''}`;
      frameKey.set(f, key);
    }
    return key;
  };
  const callFrameOf = (f: number) => (): CallFrame => {
    const file = t.files[f]!;
    const line = t.lines[f]!;
    return {
      functionName: t.funcs[f] ?? '',
      scriptId: scriptId(line > 0 ? file : `${file}\0unknown`),
      url: file,
      lineNumber: line - 1,
      columnNumber: line > 0 ? t.columns[f]! - 1 : -1,
    };
  };
  const domainNodes = new Map<number, ProfileNode>();
  const leafOf = new Map<string, ProfileNode>();
  const samples: ProfileSample[] = [];
  for (let i = 0; i < c.length; i++) {
    const domain = c.domains[i]!;
    const tb = c.tracebacks[i]!;
    const leafKey = `${domain}|${tb}`;
    let leaf = leafOf.get(leafKey);
    if (leaf === undefined) {
      let node = head;
      if (domain !== 0) {
        let top = domainNodes.get(domain);
        if (top === undefined) {
          top = child(head, `\u0001${domain}`, () => ({ functionName: domainLabel(domain), ...PSEUDO_FRAME }));
          domainNodes.set(domain, top);
        }
        node = top;
      }
      // The tables list frames most recent first; the tree goes from the oldest down.
      for (let j = t.tbOffsets[tb + 1]! - 1; j >= t.tbOffsets[tb]!; j--) {
        const f = t.tbFrames[j]!;
        node = child(node, keyOf(f), callFrameOf(f));
      }
      leaf = node;
      leafOf.set(leafKey, leaf);
    }
    const size = c.sizes[i]!;
    leaf.selfSize += size;
    samples.push({ size, nodeId: leaf.id, ordinal: i + 1 });
  }
  return {
    head,
    samples,
    tracemalloc: {
      format: EXTENSION_NAME,
      version: 1,
      tracebackLimit: snapshot.tracebackLimit,
      samplingInterval: snapshot.samplingInterval,
      meta: { ...snapshot.meta },
      domains: Array.from(domainNodes, ([domain, node]) => ({ domain, nodeId: node.id })),
      counts: Array.from(c.counts),
    },
  };
}

/**
 * `JSON.stringify` for plain JSON data (objects, arrays, strings, numbers, booleans, null), with
 * an explicit stack instead of recursion: the call tree of a profile nests one level per frame,
 * and V8's `JSON.stringify` overflows the stack near 2,000 levels (a 2,500-frame traceback under
 * `start(65535)`). Gives the same text as `JSON.stringify` for such data.
 */
export function stringifyDeep(value: unknown): string {
  const out: string[] = [];
  // Each entry: a value to write, or a closing bracket / separator to emit.
  const stack: unknown[] = [value];
  const CLOSE_OBJECT = Symbol('}');
  const CLOSE_ARRAY = Symbol(']');
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === CLOSE_OBJECT) {
      out.push('}');
    } else if (v === CLOSE_ARRAY) {
      out.push(']');
    } else if (v instanceof Separator) {
      out.push(v.text);
    } else if (Array.isArray(v)) {
      out.push('[');
      stack.push(CLOSE_ARRAY);
      for (let i = v.length - 1; i >= 0; i--) {
        const item = v[i] as unknown;
        stack.push(item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : item);
        if (i > 0) stack.push(COMMA);
      }
    } else if (typeof v === 'object' && v !== null) {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        out.push(JSON.stringify(v));
        continue;
      }
      out.push('{');
      stack.push(CLOSE_OBJECT);
      const keys = Object.keys(v).filter((k) => {
        const x = (v as Record<string, unknown>)[k];
        return x !== undefined && typeof x !== 'function' && typeof x !== 'symbol';
      });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((v as Record<string, unknown>)[keys[i]!]);
        stack.push(new Separator(`${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:`));
      }
    } else {
      out.push(JSON.stringify(v) ?? 'null');
    }
  }
  return out.join('');
}

class Separator {
  constructor(readonly text: string) {}
}
const COMMA = new Separator(',');

/**
 * The text of a `.heapprofile` (what `export --format heapprofile` writes): `JSON.stringify`'s,
 * at any depth of the call tree. `JSON.stringify(toHeapProfile(s))` itself overflows the stack
 * for tracebacks of about 2,000 frames and more (`JSON.rawJSON` takes only primitives, so the
 * tree cannot carry its own `toJSON`): write profiles with this.
 */
export function heapProfileToText(profile: HeapProfileJSON): string {
  return stringifyDeep(profile);
}

export interface HeapProfileReadOptions {
  /**
   * Frames kept per traceback (the snapshot's `tracebackLimit`). Default: what the file's
   * `tracemalloc` key says, else the deepest stack of the profile.
   */
  nframe?: number;
  /**
   * The interval the profile was sampled with (bytes), used to estimate object counts. Default:
   * the file's `tracemalloc` key, else 524288 (`node --heap-prof`'s default).
   */
  samplingInterval?: number;
  /**
   * Read the files the profile names, on this machine: their source maps (frames of generated
   * code map to the original sources) and, later, their source lines for reports. Default false:
   * like a snapshot file, a profile from elsewhere never makes the reader open other files.
   */
  readSources?: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const int = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/**
 * The most stack frames a profile may make the reader walk and store: the sum, over the nodes that
 * samples point at, of their depth. Each sampled node becomes a traceback of up to its depth in
 * frames, so a deep tree with samples all along it costs the square of its depth: this keeps a
 * small hostile file (a chain of 20,000 nodes is 3.6 MB) from taking the process down. Real
 * profiles stay far below: V8 records at most 128 frames a stack.
 */
export const MAX_PROFILE_FRAMES = 2 ** 24;

/**
 * Validates a parsed `.heapprofile` (every node, frame and sample) and returns its nodes by id.
 * `where` names the value in errors.
 */
function checkProfile(value: unknown, where: string): { profile: SamplingProfile; byId: Map<number, ProfileNode>; depth: number } {
  const fail = (problem: string): never => {
    throw new SnapshotFormatError(where, problem);
  };
  if (!isObject(value)) fail('not a heap profile (expected a JSON object with "head" and "samples")');
  const v = value as Record<string, unknown>;
  if (!isObject(v.head)) fail('not a heap profile ("head" must be the root node of the call tree)');
  const byId = new Map<number, ProfileNode>();
  const depthOf = new Map<number, number>();
  let depth = 0;
  const stack: [unknown, number, number | null][] = [[v.head, 0, null]];
  while (stack.length > 0) {
    const [node, d, parentId] = stack.pop()!;
    const at = `node ${byId.size + 1}`;
    if (!isObject(node)) fail(`${at}: a node must be an object`);
    const n = node as Record<string, unknown>;
    const cf = n.callFrame;
    if (!isObject(cf)) fail(`${at}: "callFrame" must be an object`);
    const f = cf as Record<string, unknown>;
    if (typeof f.functionName !== 'string' || typeof f.url !== 'string') fail(`${at}: "callFrame.functionName" and "callFrame.url" must be strings`);
    if (typeof f.scriptId !== 'string' && !int(f.scriptId)) fail(`${at}: "callFrame.scriptId" must be a string or an integer`);
    // 0-based; the snapshot keeps them 1-based in 32-bit integers.
    if (!int(f.lineNumber) || !int(f.columnNumber) || f.lineNumber < -1 || f.columnNumber < -1 || f.lineNumber >= 0x7fffffff || f.columnNumber >= 0x7fffffff) {
      fail(`${at}: "callFrame.lineNumber" and "callFrame.columnNumber" must be integers in [-1; 2147483646]`);
    }
    if (!int(n.id)) fail(`${at}: "id" must be an integer`);
    const id = n.id as number;
    if (byId.has(id)) fail(`node id ${id} is used twice`);
    if (n.selfSize !== undefined && !(typeof n.selfSize === 'number' && n.selfSize >= 0 && n.selfSize <= MAX_TRACE_VALUE)) {
      fail(`node ${id}: "selfSize" must be a finite number >= 0 and <= ${MAX_TRACE_VALUE}`);
    }
    const children = n.children ?? [];
    if (!Array.isArray(children)) fail(`node ${id}: "children" must be an array`);
    const clean: ProfileNode = {
      callFrame: {
        functionName: f.functionName as string,
        scriptId: String(f.scriptId),
        url: f.url as string,
        lineNumber: f.lineNumber as number,
        columnNumber: f.columnNumber as number,
      },
      selfSize: (n.selfSize as number | undefined) ?? 0,
      id,
      children: [],
    };
    byId.set(id, clean);
    depthOf.set(id, d);
    if (parentId !== null) byId.get(parentId)!.children.push(clean);
    depth = Math.max(depth, d);
    for (const ch of children as unknown[]) stack.push([ch, d + 1, id]);
  }
  const head = byId.get((v.head as Record<string, unknown>).id as number)!;
  let samples: ProfileSample[];
  if (v.samples === undefined) {
    // Old profiles carry only each node's selfSize: one sample per node stands for it.
    samples = [];
    for (const node of byId.values()) if (node.selfSize > 0) samples.push({ size: node.selfSize, nodeId: node.id, ordinal: samples.length + 1 });
  } else {
    if (!Array.isArray(v.samples)) fail('"samples" must be an array');
    samples = (v.samples as unknown[]).map((s, i) => {
      if (!isObject(s)) return fail(`sample ${i}: must be an object`);
      if (!(typeof s.size === 'number' && s.size >= 0 && s.size <= MAX_TRACE_VALUE)) fail(`sample ${i}: "size" must be a finite number >= 0 and <= ${MAX_TRACE_VALUE}`);
      // V8 can report a sample whose node it has pruned from the tree: the sample keeps its bytes
      // under <unknown>, as the live tracer does.
      if (!int(s.nodeId)) fail(`sample ${i}: "nodeId" must be an integer`);
      return { size: s.size as number, nodeId: s.nodeId as number, ordinal: int(s.ordinal) ? s.ordinal : i + 1 };
    });
  }
  let frames = 0;
  for (const id of new Set(samples.map((s) => s.nodeId))) frames += depthOf.get(id) ?? 0;
  if (frames > MAX_PROFILE_FRAMES) {
    fail(`its samples' call stacks hold ${frames} frames in all, more than the ${MAX_PROFILE_FRAMES} this reader accepts (is the call tree ${depth} levels deep?)`);
  }
  return { profile: { head, samples }, byId, depth };
}

function checkExtension(value: unknown, byId: Map<number, ProfileNode>, head: ProfileNode, sampleCount: number, where: string): HeapProfileExtension | null {
  if (value === undefined) return null;
  const fail = (problem: string): never => {
    throw new SnapshotFormatError(where, `"tracemalloc": ${problem}`);
  };
  if (!isObject(value) || value.format !== EXTENSION_NAME) return fail(`"format" must be "${EXTENSION_NAME}"`);
  if (value.version !== 1) fail(`version ${describeValue(value.version)} is not one this reader knows (1); upgrade tracemalloc to read it`);
  if (!Number.isSafeInteger(value.tracebackLimit) || (value.tracebackLimit as number) < 0) fail('"tracebackLimit" must be an integer in [0; 9007199254740991]');
  const interval = value.samplingInterval;
  if (interval !== null && !(typeof interval === 'number' && Number.isFinite(interval) && interval > 0)) fail('"samplingInterval" must be a number > 0 or null');
  if (value.meta !== undefined && !isObject(value.meta)) fail('"meta" must be an object');
  if (!Array.isArray(value.domains)) fail('"domains" must be an array');
  const rootChildren = new Set(head.children);
  const domains = (value.domains as unknown[]).map((d, i) => {
    if (!isObject(d) || !int(d.domain) || d.domain < 1 || d.domain > 0xffffffff || !int(d.nodeId)) return fail(`domains[${i}] must be { domain: integer >= 1, nodeId: integer }`);
    const node = byId.get(d.nodeId);
    if (node === undefined || !rootChildren.has(node)) fail(`domains[${i}]: node ${d.nodeId} is not a child of the root`);
    return { domain: d.domain, nodeId: d.nodeId as number };
  });
  if (new Set(domains.map((d) => d.domain)).size !== domains.length || new Set(domains.map((d) => d.nodeId)).size !== domains.length) {
    fail('"domains" lists a domain or a node twice');
  }
  const counts = value.counts;
  if (counts !== undefined) {
    if (!Array.isArray(counts) || counts.length !== sampleCount) fail(`"counts" must be an array of ${sampleCount} numbers, one per sample`);
    (counts as unknown[]).forEach((n, i) => {
      if (typeof n !== 'number' || !(n >= 0 && n <= MAX_TRACE_VALUE)) fail(`"counts[${i}]" must be a finite number >= 0 and <= ${MAX_TRACE_VALUE}, not ${describeValue(n)}`);
    });
  }
  // Copy meta into a fresh object so nothing in the file can reach a prototype.
  const meta = copyMeta((value.meta ?? {}) as Record<string, unknown>);
  if (typeof meta === 'string') return fail(meta);
  const ext: HeapProfileExtension = { format: EXTENSION_NAME, version: 1, tracebackLimit: value.tracebackLimit as number, samplingInterval: interval as number | null, meta, domains };
  if (counts !== undefined) ext.counts = counts as number[];
  return ext;
}

/**
 * Reads a `.heapprofile` (a parsed value or its JSON text; `node --heap-prof`, DevTools, or
 * `toHeapProfile`) into a snapshot of the V8 heap domain, as the live tracer would have made it:
 * 1-based lines, builtins folded into their callers, counts estimated from the sampling interval.
 * Sample sizes are kept as they are (V8 has already scaled them). Invalid input throws a
 * `SnapshotFormatError` naming the problem.
 */
export function snapshotFromHeapProfile(json: unknown, options: HeapProfileReadOptions = {}): Snapshot {
  return heapProfileToSnapshot(json, options, 'the heap profile');
}

/** `snapshotFromHeapProfile`, naming the input `where` in errors. */
function heapProfileToSnapshot(json: unknown, options: HeapProfileReadOptions & { maxFrames?: number }, where: string): Snapshot {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const maxFrames = checkMaxFrames(options.maxFrames ?? MAX_SNAPSHOT_FRAMES);
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new SnapshotFormatError(where, `not valid JSON (${(err as Error).message})`);
    }
  }
  const { profile, byId, depth } = checkProfile(value, where);
  const ext = checkExtension((value as Record<string, unknown>).tracemalloc, byId, profile.head, profile.samples.length, where);
  if (options.nframe !== undefined && (!int(options.nframe) || options.nframe < 1 || options.nframe > 65535)) {
    throw new TypeError(`options.nframe must be an integer in [1; 65535], not ${describeValue(options.nframe)}`);
  }
  const nframe = options.nframe ?? ext?.tracebackLimit ?? Math.max(1, depth);
  const given = options.samplingInterval;
  if (given !== undefined && !(typeof given === 'number' && Number.isFinite(given) && given > 0)) {
    throw new TypeError(`options.samplingInterval must be a number of bytes > 0, not ${describeValue(given)}`);
  }
  const interval = given ?? (ext === null ? NODE_HEAP_PROF_INTERVAL : ext.samplingInterval);
  const readSources = options.readSources ?? false;
  if (typeof readSources !== 'boolean') throw new TypeError('options.readSources must be a boolean');
  const resolver = new CallFrameResolver(readSources);
  const builder = new StoreBuilder();

  // Split the tree: the heap under the root, each other domain under its pseudo-node.
  const domainOfNode = new Map<number, number>();
  for (const d of ext?.domains ?? []) domainOfNode.set(d.nodeId, d.domain);
  const subtreeDomain = new Map<number, number>();
  const walk: [ProfileNode, number][] = [[profile.head, 0]];
  while (walk.length > 0) {
    const [node, domain] = walk.pop()!;
    subtreeDomain.set(node.id, domain);
    for (const ch of node.children) walk.push([ch, node === profile.head ? domainOfNode.get(ch.id) ?? 0 : domain]);
  }
  const byDomain = new Map<number, ProfileSample[]>();
  const indexOf = new Map<ProfileSample, number>();
  profile.samples.forEach((s, i) => {
    indexOf.set(s, i);
    const d = subtreeDomain.get(s.nodeId) ?? 0;
    let list = byDomain.get(d);
    if (list === undefined) byDomain.set(d, (list = []));
    list.push(s);
  });
  const countAt: Array<[trace: number, sample: number]> = []; // exact counts from the file, if any
  const exact: [number, number][] = []; // trace index ranges whose counts are exact (1 each)
  for (const [domain, samples] of [...byDomain].sort((a, b) => a[0] - b[0])) {
    let head = profile.head;
    if (domain !== 0) {
      const top = ext!.domains.find((d) => d.domain === domain)!;
      // The pseudo-node becomes the root of the domain's own tree, so it is not a frame.
      head = byId.get(top.nodeId)!;
    }
    const from = builder.traceCount;
    // Domains 0 and 1 are sampled (by V8 and by the external tracer); user domains are exact.
    const sampled = interval !== null && isSampledDomain(domain);
    addProfile(builder, { head, samples }, { nframe, interval: interval ?? 1, domain, resolve: resolver.resolve });
    if (!sampled) exact.push([from, builder.traceCount]);
    // addProfile adds one trace per sample, in order.
    if (ext?.counts !== undefined) {
      for (let k = 0; k < samples.length; k++) countAt.push([from + k, indexOf.get(samples[k]!)!]);
    }
  }
  let columns = builder.build();
  if (!readSources) {
    // Tables that never read a source file: the snapshot shows no source lines, as a loaded one.
    const t = columns.tables;
    const tables = new Tables(t.files, t.lines, t.columns, t.funcs, t.tbOffsets, t.tbFrames, t.tbTotals, t.sources, true);
    columns = new TraceColumns(tables, columns.domains, columns.sizes, columns.counts, columns.tracebacks);
  }
  for (const [from, to] of exact) columns.counts.fill(1, from, to);
  for (const [trace, sample] of countAt) columns.counts[trace] = ext!.counts![sample]!;
  // The same bounds as a snapshot file: sums that stay finite, and the frames the traces hold.
  const tables = columns.tables;
  let frames = 0;
  for (let i = 0; i < columns.length; i++) {
    const tb = columns.tracebacks[i]!;
    frames += tables.tbOffsets[tb + 1]! - tables.tbOffsets[tb]!;
  }
  const problem = checkTraceTotals(columns.sizes, columns.counts, frames, maxFrames);
  if (problem !== null) throw new SnapshotFormatError(where, problem);
  const meta = ext?.meta ?? { mode: 'live', source: 'heapprofile' };
  return Snapshot._fromColumns(columns, nframe, { samplingInterval: interval, meta });
}

/**
 * Reads a `.heapprofile` file (gzip allowed), at most `maxBytes` (default 512 MiB) decompressed,
 * into a snapshot; see `snapshotFromHeapProfile`. Errors name the file.
 */
export function readHeapProfile(file: string, options: HeapProfileReadOptions & { maxBytes?: number; maxFrames?: number } = {}): Snapshot {
  const maxBytes = checkMaxBytes(options.maxBytes ?? DEFAULT_MAX_BYTES);
  const fail = (problem: string): never => {
    throw new SnapshotFormatError(file, problem);
  };
  const data = readCappedFile(file, maxBytes, fail);
  return heapProfileToSnapshot(data.toString('utf8'), options, file);
}

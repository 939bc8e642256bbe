/**
 * The snapshot file format: versioned, self-describing JSON (gzip when the name ends in `.gz`),
 * with interned frames and tracebacks, columnar traces and the frames' source lines. Loading
 * validates every field, caps the decompressed size, and never follows anything the file names.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as zlib from 'node:zlib';
import { describeValue } from './format.js';
import { getSourceLine } from './source.js';
import { Tables, TraceColumns } from './store.js';
import { writeFileSafely } from './write-file.js';
import { readCappedFile } from './read-file.js';

export const FORMAT_NAME = 'tracemalloc-snapshot';
export const FORMAT_VERSION = 1;
/** Default cap on a snapshot file's decompressed size: 512 MiB (V8 strings stop near there). */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

export interface LoadOptions {
  /** Reject files whose (decompressed) JSON is larger than this many bytes. Default 512 MiB. */
  maxBytes?: number;
  /**
   * Reject files whose traces hold more frames than this in all (each trace counts the frames of
   * its traceback). Default `MAX_SNAPSHOT_FRAMES` (2^26).
   */
  maxFrames?: number;
}

/**
 * The most frames a snapshot's traces may hold in all (the sum, over the traces, of their
 * traceback's length): what `statistics(key, true)`, the exporters and reports walk. Tracebacks
 * are interned, so a 2.6 MiB file can make 200,000 traces share a 50,000-frame traceback, 10^10
 * frames: `top --cumulative` ran 170 s on it. 2^26 frames take about a second to walk; a live
 * snapshot with 25 frames a trace reaches it at 2.7 million traces.
 */
export const MAX_SNAPSHOT_FRAMES = 2 ** 26;

/**
 * The largest size or count a trace may carry, and the largest sum of either over a snapshot:
 * 2^53 - 1. Every sum a report makes (per line, per file, cumulative over at most 2^31 frames,
 * the difference of two snapshots) then stays a finite number, so a file that loads can always be
 * displayed (trace sizes of 1e308 used to load, then made `top` fail with a TypeError).
 */
export const MAX_TRACE_VALUE = Number.MAX_SAFE_INTEGER;

/** Checks `LoadOptions.maxFrames`. */
export function checkMaxFrames(maxFrames: unknown): number {
  if (typeof maxFrames !== 'number' || !Number.isSafeInteger(maxFrames) || maxFrames < 1) {
    throw new TypeError(`maxFrames must be an integer number of frames >= 1, not ${describeValue(maxFrames)}`);
  }
  return maxFrames;
}

/**
 * Checks the sizes and counts of a snapshot's traces (each in [0; 2^53 - 1], and so their sums)
 * and the frames its traces hold in all; returns a problem to report, or null.
 */
export function checkTraceTotals(sizes: ArrayLike<number>, counts: ArrayLike<number>, frames: number, maxFrames: number): string | null {
  let size = 0;
  let count = 0;
  for (let i = 0; i < sizes.length; i++) {
    size += sizes[i]!;
    count += counts[i]!;
  }
  if (size > MAX_TRACE_VALUE) return `the trace sizes add up to ${size} bytes, more than ${MAX_TRACE_VALUE} (2^53 - 1)`;
  if (count > MAX_TRACE_VALUE) return `the trace counts add up to ${count}, more than ${MAX_TRACE_VALUE} (2^53 - 1)`;
  if (frames > maxFrames) {
    return `its traces hold ${frames} frames in all (each trace counts its traceback's frames), more than the ${maxFrames} this reader accepts (LoadOptions.maxFrames)`;
  }
  return null;
}

/** The JSON shape of a snapshot file, version 1. Every array of a group has the same length. */
export interface SnapshotJSON {
  format: typeof FORMAT_NAME;
  version: number;
  tracebackLimit: number;
  samplingInterval: number | null;
  meta: Record<string, unknown>;
  /** Every filename, function name and source line, referred to by index. */
  strings: string[];
  /** Per frame: filename (string index), 1-based line, 1-based column (0 unknown), function (string index or -1), source line (string index or -1). */
  frames: { filename: number[]; lineno: number[]; column: number[]; function: number[]; source: number[] };
  /** Traceback t's frames (most recent first) are `frames[offsets[t]..offsets[t+1]]`; totalNframe null when unknown. */
  tracebacks: { offsets: number[]; frames: number[]; totalNframe: (number | null)[] };
  traces: { domain: number[]; size: number[]; count: number[]; traceback: number[] };
}

/** `meta` may nest this many levels: deeper, JSON.stringify (dump, export) would overflow the stack. */
export const MAX_META_DEPTH = 100;

/**
 * Copies `meta` (free-form JSON data from a file) into a fresh object, key by key with
 * `defineProperty`, so nothing in the file can reach a prototype. Returns a problem to report
 * instead when it nests deeper than MAX_META_DEPTH levels.
 */
export function copyMeta(meta: Record<string, unknown>): Record<string, unknown> | string {
  const stack: [unknown, number][] = [[meta, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_META_DEPTH) return `"meta" nests deeper than ${MAX_META_DEPTH} levels`;
    for (const key of Object.keys(value)) stack.push([(value as Record<string, unknown>)[key], depth + 1]);
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(meta)) {
    Object.defineProperty(copy, key, { value: meta[key], enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** Checks `LoadOptions.maxBytes` (zlib takes at most buffer.constants.MAX_LENGTH). */
export function checkMaxBytes(maxBytes: unknown): number {
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > bufferConstants.MAX_LENGTH) {
    throw new TypeError(`maxBytes must be an integer number of bytes in [1; ${bufferConstants.MAX_LENGTH}], not ${describeValue(maxBytes)}`);
  }
  return maxBytes;
}

/** Raised for a snapshot file or value that cannot be read; `code` is `ERR_TRACEMALLOC_BAD_SNAPSHOT`. */
export class SnapshotFormatError extends Error {
  readonly code = 'ERR_TRACEMALLOC_BAD_SNAPSHOT';
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'SnapshotFormatError';
  }
}

/** Serializes columns to the file format, keeping only the frames and tracebacks in use. */
export function columnsToJSON(
  columns: TraceColumns,
  tracebackLimit: number,
  samplingInterval: number | null,
  meta: Record<string, unknown>,
  capturedLine: (filename: string, lineno: number) => string | undefined,
): SnapshotJSON {
  const t = columns.tables;
  const strings: string[] = [];
  const stringIds = new Map<string, number>();
  const str = (s: string): number => {
    let id = stringIds.get(s);
    if (id === undefined) {
      id = strings.length;
      strings.push(s);
      stringIds.set(s, id);
    }
    return id;
  };
  const frameMap = new Int32Array(t.frameCount).fill(-1);
  const tbMap = new Int32Array(t.tracebackCount).fill(-1);
  const frames = { filename: [] as number[], lineno: [] as number[], column: [] as number[], function: [] as number[], source: [] as number[] };
  const tracebacks = { offsets: [0], frames: [] as number[], totalNframe: [] as (number | null)[] };
  const traces = { domain: Array.from(columns.domains), size: Array.from(columns.sizes), count: Array.from(columns.counts), traceback: [] as number[] };
  for (let i = 0; i < columns.length; i++) {
    const tb = columns.tracebacks[i]!;
    if (tbMap[tb] === -1) {
      for (let j = t.tbOffsets[tb]!; j < t.tbOffsets[tb + 1]!; j++) {
        const f = t.tbFrames[j]!;
        if (frameMap[f] === -1) {
          frameMap[f] = frames.filename.length;
          const file = t.files[f]!;
          const line = t.lines[f]!;
          frames.filename.push(str(file));
          frames.lineno.push(line);
          frames.column.push(t.columns[f]!);
          const func = t.funcs[f];
          frames.function.push(func == null ? -1 : str(func));
          const text = capturedLine(file, line) ?? getSourceLine(file, line);
          frames.source.push(text === '' ? -1 : str(text));
        }
        tracebacks.frames.push(frameMap[f]!);
      }
      tracebacks.offsets.push(tracebacks.frames.length);
      const total = t.tbTotals[tb]!;
      tracebacks.totalNframe.push(total < 0 ? null : total);
      tbMap[tb] = tracebacks.totalNframe.length - 1;
    }
    traces.traceback.push(tbMap[tb]!);
  }
  return { format: FORMAT_NAME, version: FORMAT_VERSION, tracebackLimit, samplingInterval, meta, strings, frames, tracebacks, traces };
}

export interface ParsedSnapshot {
  columns: TraceColumns;
  tracebackLimit: number;
  samplingInterval: number | null;
  meta: Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a parsed file (or `toJSON()` value) and builds its columns. `where` names it in errors. */
export function columnsFromJSON(value: unknown, where: string, maxFrames = MAX_SNAPSHOT_FRAMES): ParsedSnapshot {
  const fail = (problem: string): never => {
    throw new SnapshotFormatError(where, problem);
  };
  if (!isPlainObject(value)) fail('not a tracemalloc snapshot (expected a JSON object)');
  const v = value as Record<string, unknown>;
  if (v.format !== FORMAT_NAME) fail(`not a tracemalloc snapshot (format is ${v.format === undefined ? 'missing' : describeValue(v.format)}, expected "${FORMAT_NAME}")`);
  if (typeof v.version !== 'number' || !Number.isInteger(v.version) || v.version < 1) fail('"version" must be an integer >= 1');
  if ((v.version as number) > FORMAT_VERSION) {
    fail(`written in format version ${v.version}, newer than this reader's version ${FORMAT_VERSION}; upgrade tracemalloc to read it`);
  }
  const int = (x: unknown, min: number, max: number): boolean => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
  if (!int(v.tracebackLimit, 0, Number.MAX_SAFE_INTEGER)) fail('"tracebackLimit" must be an integer >= 0');
  const interval = v.samplingInterval ?? null;
  if (interval !== null && !(typeof interval === 'number' && interval > 0 && Number.isFinite(interval))) fail('"samplingInterval" must be a number > 0 or null');
  const meta = v.meta ?? {};
  if (!isPlainObject(meta)) fail('"meta" must be an object');
  const metaCopy = copyMeta(meta as Record<string, unknown>);
  if (typeof metaCopy === 'string') fail(metaCopy);
  const strings = v.strings;
  if (!Array.isArray(strings) || !strings.every((s) => typeof s === 'string')) fail('"strings" must be an array of strings');
  const nStrings = (strings as string[]).length;

  const group = (name: string, fields: string[]): { arrays: unknown[][]; length: number } => {
    const g = v[name];
    if (!isPlainObject(g)) return fail(`"${name}" must be an object of arrays`);
    const arrays = fields.map((field) => {
      const a = g[field];
      if (!Array.isArray(a)) fail(`"${name}.${field}" must be an array`);
      return a as unknown[];
    });
    return { arrays, length: arrays[0]!.length };
  };
  const checkEach = (label: string, a: unknown[], length: number, ok: (x: unknown) => boolean, expected: string): void => {
    if (a.length !== length) fail(`"${label}" has ${a.length} entries, expected ${length}`);
    for (let i = 0; i < a.length; i++) if (!ok(a[i])) fail(`"${label}[${i}]" must be ${expected}, not ${describeValue(a[i])}`);
  };

  const fr = group('frames', ['filename', 'lineno', 'column', 'function', 'source']);
  const nFrames = fr.length;
  const [fFile, fLine, fCol, fFunc, fSrc] = fr.arrays as [unknown[], unknown[], unknown[], unknown[], unknown[]];
  const strIndex = (x: unknown): boolean => int(x, 0, nStrings - 1);
  const optStrIndex = (x: unknown): boolean => x === -1 || strIndex(x);
  checkEach('frames.filename', fFile, nFrames, strIndex, 'a string index');
  checkEach('frames.lineno', fLine, nFrames, (x) => int(x, 0, 0x7fffffff), 'an integer >= 0');
  checkEach('frames.column', fCol, nFrames, (x) => int(x, 0, 0x7fffffff), 'an integer >= 0');
  checkEach('frames.function', fFunc, nFrames, optStrIndex, 'a string index or -1');
  checkEach('frames.source', fSrc, nFrames, optStrIndex, 'a string index or -1');

  const tbg = group('tracebacks', ['offsets', 'frames', 'totalNframe']);
  const [offsets, tbFrames, totals] = tbg.arrays as [unknown[], unknown[], unknown[]];
  const nTb = totals.length;
  checkEach('tracebacks.offsets', offsets, nTb + 1, (x) => int(x, 0, tbFrames.length), `an integer in [0; ${tbFrames.length}]`);
  if (offsets[0] !== 0 || offsets[nTb] !== tbFrames.length) fail('"tracebacks.offsets" must start at 0 and end at the number of traceback frames');
  for (let i = 0; i < nTb; i++) if ((offsets[i] as number) > (offsets[i + 1] as number)) fail(`"tracebacks.offsets" must not decrease (at ${i})`);
  checkEach('tracebacks.frames', tbFrames, tbFrames.length, (x) => int(x, 0, nFrames - 1), 'a frame index');
  checkEach('tracebacks.totalNframe', totals, nTb, (x) => x === null || int(x, 0, 0x7fffffff), 'an integer >= 0 or null');

  const tr = group('traces', ['domain', 'size', 'count', 'traceback']);
  const [tDomain, tSize, tCount, tTb] = tr.arrays as [unknown[], unknown[], unknown[], unknown[]];
  const nTraces = tr.length;
  const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= MAX_TRACE_VALUE;
  checkEach('traces.domain', tDomain, nTraces, (x) => int(x, 0, 0xffffffff), 'an integer in [0; 4294967295]');
  checkEach('traces.size', tSize, nTraces, finite, `a finite number >= 0 and <= ${MAX_TRACE_VALUE}`);
  checkEach('traces.count', tCount, nTraces, finite, `a finite number >= 0 and <= ${MAX_TRACE_VALUE}`);
  checkEach('traces.traceback', tTb, nTraces, (x) => int(x, 0, nTb - 1), 'a traceback index');
  let frameCount = 0;
  for (let i = 0; i < nTraces; i++) {
    const tb = tTb[i] as number;
    frameCount += (offsets[tb + 1] as number) - (offsets[tb] as number);
  }
  const problem = checkTraceTotals(tSize as number[], tCount as number[], frameCount, maxFrames);
  if (problem !== null) fail(problem);

  const s = strings as string[];
  const files = (fFile as number[]).map((i) => s[i]!);
  const lines = Int32Array.from(fLine as number[]);
  const sources = new Map<string, string>();
  (fSrc as number[]).forEach((src, f) => {
    if (src >= 0) sources.set(`${files[f]}\0${lines[f]}`, s[src]!);
  });
  const tables = new Tables(
    files,
    lines,
    Int32Array.from(fCol as number[]),
    (fFunc as number[]).map((i) => (i < 0 ? null : s[i]!)),
    Uint32Array.from(offsets as number[]),
    Uint32Array.from(tbFrames as number[]),
    Float64Array.from(totals as (number | null)[], (x) => (x === null ? -1 : x)),
    sources,
    true,
  );
  const columns = new TraceColumns(
    tables,
    Uint32Array.from(tDomain as number[]),
    Float64Array.from(tSize as number[]),
    Float64Array.from(tCount as number[]),
    Uint32Array.from(tTb as number[]),
  );
  return { columns, tracebackLimit: v.tracebackLimit as number, samplingInterval: interval as number | null, meta: metaCopy as Record<string, unknown> };
}

/**
 * Writes JSON (gzip when `file` ends in `.gz`): a regular file atomically (a temporary file renamed
 * into place), a FIFO, device or standard output (`-`, `/dev/stdout`) in place; see write-file.ts.
 */
export function writeSnapshotFile(file: string, json: SnapshotJSON): void {
  if (typeof file !== 'string' || file === '') throw new TypeError('dump() needs a file path (a non-empty string)');
  const text = JSON.stringify(json);
  const data = file.endsWith('.gz') ? zlib.gzipSync(text) : Buffer.from(text);
  writeFileSafely(file, data);
}

/** Reads and validates a snapshot file. */
export function readSnapshotFile(file: string, options: LoadOptions = {}): ParsedSnapshot {
  if (typeof file !== 'string' || file === '') throw new TypeError('load() needs a file path (a non-empty string)');
  if (options === null || typeof options !== 'object') throw new TypeError('load() options must be an object');
  const maxBytes = checkMaxBytes(options.maxBytes ?? DEFAULT_MAX_BYTES);
  const maxFrames = checkMaxFrames(options.maxFrames ?? MAX_SNAPSHOT_FRAMES);
  const fail = (problem: string): never => {
    throw new SnapshotFormatError(file, problem);
  };
  const data = readCappedFile(file, maxBytes, fail, ' (LoadOptions.maxBytes)');
  if (data.length === 0) fail('the file is empty');
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (err) {
    fail(`not valid JSON (${(err as Error).message})`);
  }
  return columnsFromJSON(json, file, maxFrames);
}

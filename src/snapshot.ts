/**
 * `Snapshot`, `Trace` and the `traces` sequence, as in Python's tracemalloc: grouping by
 * traceback, file or line (`statistics`), diffs (`compareTo`) and filters (`filterTraces`),
 * computed over compact columns (see store.ts).
 */
import { inspect } from 'node:util';
import { describeType, describeValue, formatSize } from './format.js';
import { Frame, sourceLine, Traceback, type LineLookup, type RawFrame } from './frame.js';
import { DomainFilter, Filter } from './filter.js';
import { fnmatch } from './fnmatch.js';
import { Statistic, StatisticDiff } from './statistic.js';
import { StoreBuilder, type Tables, type TraceColumns } from './store.js';
import type { LoadOptions, SnapshotJSON } from './persist.js';
import { CUMULATIVE_TRACEBACK_ERROR, isKeyType, type KeyType } from './keys.js';

// The file formats (and zlib, the atomic writer) are loaded when a snapshot is written or read, not
// with the class: the preload's exit report prints a top without them (issue 17).
let persistModule: typeof import('./persist.js') | null = null;
function persist(): typeof import('./persist.js') {
  return (persistModule ??= require('./persist.js') as typeof import('./persist.js'));
}

/** How statistics group traces: by whole traceback, by file, or by line of the most recent frame. */
export type { KeyType } from './keys.js';

/**
 * A raw trace, Python's shape plus an optional count:
 * `[domain, size, frames (most recent first), totalNframe?, count?]`.
 */
export type RawTrace = readonly [domain: number, size: number, frames: readonly (RawFrame | Frame)[], totalNframe?: number | null, count?: number];

/** Extra, non-Python facts a snapshot carries; all optional. */
export interface SnapshotOptions {
  /** Mean bytes between samples of the heap, or `null` when traces are exact. */
  samplingInterval?: number | null;
  /** Free-form metadata kept by `dump`/`load` (e.g. time, pid, argv). */
  meta?: Record<string, unknown>;
}

/** One traced block (or, when sampled, the estimate a sample stands for). */
export class Trace {
  constructor(
    readonly domain: number,
    /** Bytes. */
    readonly size: number,
    readonly traceback: Traceback,
    /** Estimated number of objects this trace stands for (1 when exact). */
    readonly count = 1,
  ) {
    if (!Number.isInteger(domain) || domain < 0 || domain > 0xffffffff) throw new TypeError(`domain must be an integer in [0; 4294967295], not ${describeValue(domain)}`);
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) throw new TypeError(`size must be a finite number >= 0, not ${describeValue(size)}`);
    if (!(traceback instanceof Traceback)) throw new TypeError(`traceback must be a Traceback, not ${describeType(traceback)}`);
    if (typeof count !== 'number' || !Number.isFinite(count) || count < 0) throw new TypeError(`count must be a finite number >= 0, not ${describeValue(count)}`);
  }

  /** Python's `==`: same domain, size and traceback (and count). */
  equals(other: unknown): boolean {
    return other instanceof Trace && other.domain === this.domain && other.size === this.size &&
      other.count === this.count && other.traceback.equals(this.traceback) &&
      other.traceback.totalNframe === this.traceback.totalNframe;
  }

  toString(): string {
    return `${this.traceback}: ${formatSize(this.size)}`;
  }

  [inspect.custom](): string {
    return `<Trace domain=${this.domain} size=${formatSize(this.size)}, traceback=${this.traceback[inspect.custom]()}>`;
  }
}

const INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * The traces of a snapshot, read-only and array-like: `length`, `at(i)`, `traces[i]`, iteration,
 * `slice`. `Trace` objects are made on access.
 */
export class Traces implements Iterable<Trace> {
  readonly [index: number]: Trace;
  /** @internal */
  readonly _snapshot: Snapshot;

  constructor(snapshot: Snapshot) {
    if (!(snapshot instanceof Snapshot)) throw new TypeError(`Traces are made by Snapshot.traces, from a Snapshot, not ${describeType(snapshot)}`);
    this._snapshot = snapshot;
    // biome-ignore lint/correctness/noConstructorReturn: Python's traces[i] needs index access, which only a proxy gives
    return new Proxy(this, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && INDEX.test(prop)) return target.at(Number(prop));
        return Reflect.get(target, prop, receiver);
      },
      has(target, prop) {
        if (typeof prop === 'string' && INDEX.test(prop)) return Number(prop) < target.length;
        return Reflect.has(target, prop);
      },
    });
  }

  get length(): number {
    return this._snapshot._columns.length;
  }

  /** The trace at `index` (negative counts from the end), or `undefined`. */
  at(index: number): Trace | undefined {
    const columns = this._snapshot._columns;
    let i = Math.trunc(index);
    if (i < 0) i += columns.length;
    if (!(i >= 0 && i < columns.length)) return undefined;
    return new Trace(columns.domains[i]!, columns.sizes[i]!, this._snapshot._traceback(columns.tracebacks[i]!), columns.counts[i]!);
  }

  *[Symbol.iterator](): IterableIterator<Trace> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  /** The traces from `start` to `end`, as `Array.prototype.slice` takes them. */
  slice(start?: number, end?: number): Trace[] {
    const n = this.length;
    const norm = (v: number | undefined, dflt: number): number => {
      if (v === undefined) return dflt;
      const t = Math.trunc(v);
      return t < 0 ? Math.max(n + t, 0) : Math.min(t, n);
    };
    const out: Trace[] = [];
    for (let i = norm(start, 0), e = norm(end, n); i < e; i++) out.push(this.at(i)!);
    return out;
  }

  [inspect.custom](): string {
    return `<Traces len=${this.length}>`;
  }
}

function checkLimit(limit: unknown): number {
  // Up to 2^53 - 1, as the file format: every snapshot can be dumped and loaded again.
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw new TypeError(`tracebackLimit must be an integer in [0; 9007199254740991], not ${describeValue(limit)}`);
  }
  return limit;
}

function checkKeyType(keyType: unknown, cumulative: unknown): asserts keyType is KeyType {
  if (!isKeyType(keyType)) {
    throw new RangeError(`unknown key_type: ${typeof keyType === 'string' ? `'${keyType}'` : describeValue(keyType)}`);
  }
  if (typeof cumulative !== 'boolean') {
    throw new TypeError(`cumulative must be a boolean, not ${describeType(cumulative)}`);
  }
  if (cumulative && keyType === 'traceback') {
    throw new RangeError(CUMULATIVE_TRACEBACK_ERROR);
  }
}

/** @internal Validates one raw trace and adds it to `builder`. */
export function addRawTrace(builder: StoreBuilder, raw: unknown, index: number): void {
  const where = (): string => `raw trace ${index}`; // a function: the text is built only for an error
  if (!Array.isArray(raw) || raw.length < 3 || raw.length > 5) {
    throw new TypeError(`${where()} must be [domain, size, frames, totalNframe?, count?], not ${describeType(raw)}`);
  }
  const [domain, size, frames, total, count] = raw as unknown[];
  if (typeof domain !== 'number' || !Number.isInteger(domain) || domain < 0 || domain > 0xffffffff) {
    throw new TypeError(`${where()}: domain must be an integer in [0; 4294967295], not ${describeValue(domain)}`);
  }
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
    throw new TypeError(`${where()}: size must be a finite number >= 0, not ${describeValue(size)}`);
  }
  if (!Array.isArray(frames)) throw new TypeError(`${where()}: frames must be an array of [filename, lineno], not ${describeType(frames)}`);
  // Depths and lines are 32-bit in the tables and the file format.
  if (total != null && (typeof total !== 'number' || !Number.isInteger(total) || total < 0 || total > 0x7fffffff)) {
    throw new TypeError(`${where()}: totalNframe must be an integer in [0; 2147483647] or null, not ${describeValue(total)}`);
  }
  if (count !== undefined && (typeof count !== 'number' || !Number.isFinite(count) || count < 0)) {
    throw new TypeError(`${where()}: count must be a finite number >= 0, not ${describeValue(count)}`);
  }
  const ids = frames.map((frame: unknown, f: number) => {
    if (frame instanceof Frame) return builder.frame(frame.filename, frame.lineno, frame.column ?? 0, frame.functionName);
    if (!Array.isArray(frame) || typeof frame[0] !== 'string' || !Number.isInteger(frame[1]) || frame[1] < 0 || frame[1] > 0x7fffffff) {
      throw new TypeError(`${where()}: frame ${f} must be [filename: string, lineno: integer in [0; 2147483647]]`);
    }
    return builder.frame(frame[0], frame[1]);
  });
  builder.trace(domain, size, count ?? 1, builder.traceback(ids, (total as number | null | undefined) ?? -1));
}

interface Group {
  /** The group's key id in its snapshot (a line, file or traceback key; see #groupBy). */
  key: number;
  /** A frame id (line or file keys) or a traceback id (traceback keys) with this key; -1 for the empty traceback. */
  repr: number;
  traceback: Traceback;
  size: number;
  count: number;
}

/** A snapshot of traced memory: the traces, the traceback limit they were taken with, and metadata. */
export class Snapshot {
  /** The traceback limit the traces were captured with. */
  readonly tracebackLimit: number;
  /** Mean bytes between heap samples when the snapshot came from the sampler, else `null`. */
  readonly samplingInterval: number | null;
  /** Free-form metadata, kept by `dump`/`load` and `toJSON`/`fromJSON`. */
  meta: Record<string, unknown>;
  /** @internal */
  _columns!: TraceColumns;
  #traces: Traces | null = null;
  #tracebacks: (Traceback | undefined)[] = [];
  #frames: (Frame | undefined)[] = [];
  #lines: LineLookup | null = null;

  /**
   * Builds a snapshot from raw traces `[domain, size, frames (most recent first), totalNframe?,
   * count?]`, as Python's `Snapshot(traces, traceback_limit)`.
   */
  constructor(rawTraces: Iterable<RawTrace>, tracebackLimit: number, options: SnapshotOptions = {}) {
    this.tracebackLimit = checkLimit(tracebackLimit);
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describeType(options)}`);
    const interval = options.samplingInterval ?? null;
    if (interval !== null && (typeof interval !== 'number' || !(interval > 0) || !Number.isFinite(interval))) {
      throw new TypeError(`samplingInterval must be a finite number > 0 or null, not ${describeValue(interval)}`);
    }
    this.samplingInterval = interval;
    const meta = options.meta ?? {};
    if (typeof meta !== 'object' || Array.isArray(meta)) throw new TypeError(`options.meta must be an object, not ${describeType(meta)}`);
    this.meta = { ...meta };
    if (rawTraces instanceof StoreColumnsCarrier) {
      this.#setColumns(rawTraces.columns);
      return;
    }
    if (rawTraces == null || typeof (rawTraces as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`traces must be an iterable of raw traces, not ${describeType(rawTraces)}`);
    }
    const builder = new StoreBuilder();
    let i = 0;
    for (const raw of rawTraces as Iterable<unknown>) addRawTrace(builder, raw, i++);
    this.#setColumns(builder.build());
  }

  /** @internal Wraps prepared columns (from the tracer, a filter or a file). */
  static _fromColumns(columns: TraceColumns, tracebackLimit: number, options: SnapshotOptions = {}): Snapshot {
    return new Snapshot(new StoreColumnsCarrier(columns) as unknown as RawTrace[], tracebackLimit, options);
  }

  #setColumns(columns: TraceColumns): void {
    this._columns = columns;
    const { sources, sourcesOnly } = columns.tables;
    if (sourcesOnly) this.#lines = (filename, lineno) => sources.get(`${filename}\0${lineno}`) ?? '';
    else this.#lines = sources.size > 0 ? (filename, lineno) => sources.get(`${filename}\0${lineno}`) : null;
  }

  /** The traces, array-like (`length`, `at(i)`, `[i]`, iteration). */
  get traces(): Traces {
    return (this.#traces ??= new Traces(this));
  }

  /** @internal The frame with id `f`, built once. */
  _frame(f: number): Frame {
    let frame = this.#frames[f];
    if (frame === undefined) {
      const t = this._columns.tables;
      const column = t.columns[f]!;
      frame = new Frame(t.files[f]!, t.lines[f]!, { column: column > 0 ? column : null, functionName: t.funcs[f] ?? null });
      this.#frames[f] = frame;
    }
    return frame;
  }

  /** @internal The source line of a frame as this snapshot shows it (captured copy first). */
  _sourceLine(filename: string, lineno: number): string {
    return sourceLine(this.#lines, filename, lineno);
  }

  /** @internal The traceback with id `tb` (with its totalNframe), built once. */
  _traceback(tb: number): Traceback {
    let traceback = this.#tracebacks[tb];
    if (traceback === undefined) {
      const t = this._columns.tables;
      const total = t.tbTotals[tb]!;
      traceback = this.#makeTraceback(this.#frameIds(tb), total < 0 ? null : total);
      this.#tracebacks[tb] = traceback;
    }
    return traceback;
  }

  #frameIds(tb: number): number[] {
    const t = this._columns.tables;
    return Array.from(t.tbFrames.subarray(t.tbOffsets[tb]!, t.tbOffsets[tb + 1]!));
  }

  #makeTraceback(frameIds: readonly number[], total: number | null): Traceback {
    const tb = new Traceback(frameIds.map((f) => this._frame(f)), total);
    tb._lines = this.#lines;
    return tb;
  }

  /**
   * Groups the traces by `keyType` and returns one `Statistic` per group, biggest first
   * (descending size, then count, then traceback). `cumulative` counts a trace once for every
   * frame of its traceback, not only the most recent (not with `'traceback'`).
   */
  statistics(keyType: KeyType, cumulative = false): Statistic[] {
    checkKeyType(keyType, cumulative);
    const groups = this.#groupBy(keyType, cumulative);
    const stats = groups.map((g) => new Statistic(g.traceback, g.size, g.count));
    return stats.sort((a, b) => b.size - a.size || b.count - a.count || b.traceback.compare(a.traceback));
  }

  /**
   * Python's `compare_to`: groups this (new) snapshot and `oldSnapshot` by `keyType` and returns
   * one `StatisticDiff` per group of either, ordered by the absolute size change, then size,
   * absolute count change, count and traceback, all descending.
   */
  compareTo(oldSnapshot: Snapshot, keyType: KeyType, cumulative = false): StatisticDiff[] {
    if (!(oldSnapshot instanceof Snapshot)) {
      throw new TypeError(`oldSnapshot must be a Snapshot, not ${describeType(oldSnapshot)}`);
    }
    checkKeyType(keyType, cumulative);
    const newGroups = this.#groupBy(keyType, cumulative);
    const oldGroups = oldSnapshot.#groupBy(keyType, cumulative);
    const match = this.#matchGroups(oldSnapshot, keyType, newGroups, oldGroups);
    const previous: (Group | undefined)[] = new Array(newGroups.length);
    for (let j = 0; j < oldGroups.length; j++) if (match[j]! >= 0) previous[match[j]!] = oldGroups[j];
    const diffs: StatisticDiff[] = [];
    for (let i = 0; i < newGroups.length; i++) {
      const g = newGroups[i]!;
      const p = previous[i];
      diffs.push(p !== undefined
        ? new StatisticDiff(g.traceback, g.size, g.size - p.size, g.count, g.count - p.count)
        : new StatisticDiff(g.traceback, g.size, g.size, g.count, g.count));
    }
    for (let j = 0; j < oldGroups.length; j++) {
      const g = oldGroups[j]!;
      if (match[j]! < 0) diffs.push(new StatisticDiff(g.traceback, 0, -g.size, 0, -g.count));
    }
    return diffs.sort((a, b) =>
      Math.abs(b.sizeDiff) - Math.abs(a.sizeDiff) || b.size - a.size ||
      Math.abs(b.countDiff) - Math.abs(a.countDiff) || b.count - a.count || b.traceback.compare(a.traceback));
  }

  /**
   * For each group of `old`, the index of the group of `this` whose traceback is equal (Python's
   * equality: the same (filename, lineno) frames), or -1. Works on interned key ids: text is
   * compared once per distinct line or file, and tracebacks as sequences of line ids.
   */
  #matchGroups(old: Snapshot, keyType: KeyType, newGroups: Group[], oldGroups: Group[]): Int32Array {
    const nt = this._columns.tables;
    const ot = old._columns.tables;
    const match = new Int32Array(oldGroups.length).fill(-1);
    if (nt === ot) {
      // Shared tables (e.g. a filtered snapshot): key ids mean the same on both sides.
      const byKey = new Map<number, number>();
      for (let i = 0; i < newGroups.length; i++) byKey.set(newGroups[i]!.key, i);
      for (let j = 0; j < oldGroups.length; j++) match[j] = byKey.get(oldGroups[j]!.key) ?? -1;
      return match;
    }
    // Old frame key id -> new frame key id (-1: not in the new snapshot), through the key's text.
    const byFile = keyType === 'filename';
    const newKeys = byFile ? nt.fileKeys() : nt.lineKeys();
    const oldKeys = byFile ? ot.fileKeys() : ot.lineKeys();
    const text = (t: Tables, f: number): string => (byFile ? t.files[f]! : `${t.files[f]}\0${t.lines[f]}`);
    const newByText = new Map<string, number>();
    for (let f = 0; f < nt.frameCount; f++) newByText.set(text(nt, f), newKeys.ids[f]!);
    const oldToNew = new Int32Array(oldKeys.count).fill(-2);
    for (let f = 0; f < ot.frameCount; f++) {
      const k = oldKeys.ids[f]!;
      if (oldToNew[k] === -2) oldToNew[k] = newByText.get(text(ot, f)) ?? -1;
    }
    if (keyType !== 'traceback') {
      // Group keys are frame key ids; the id one past the last stands for the empty traceback.
      const newIndex = new Int32Array(newKeys.count + 1).fill(-1);
      for (let i = 0; i < newGroups.length; i++) newIndex[newGroups[i]!.key] = i;
      for (let j = 0; j < oldGroups.length; j++) {
        const k = oldGroups[j]!.key;
        const mapped = k === oldKeys.count ? newKeys.count : oldToNew[k]!;
        if (mapped >= 0) match[j] = newIndex[mapped]!;
      }
      return match;
    }
    // Traceback keys: an old traceback, as new line ids, is looked up in the new snapshot's index.
    const index = nt.tracebackIndex();
    const newIndex = new Int32Array(index.count).fill(-1);
    for (let i = 0; i < newGroups.length; i++) newIndex[newGroups[i]!.key] = i;
    const seq: number[] = [];
    for (let j = 0; j < oldGroups.length; j++) {
      const tb = oldGroups[j]!.repr;
      const start = ot.tbOffsets[tb]!;
      const len = ot.tbOffsets[tb + 1]! - start;
      let k = 0;
      for (; k < len; k++) if ((seq[k] = oldToNew[oldKeys.ids[ot.tbFrames[start + k]!]!]!) < 0) break;
      if (k < len) continue; // a frame the new snapshot does not have
      const key = index.find(seq, len);
      if (key >= 0) match[j] = newIndex[key]!;
    }
    return match;
  }

  #groupBy(keyType: KeyType, cumulative: boolean): Group[] {
    const c = this._columns;
    const t = c.tables;
    const n = c.length;
    // Each group is keyed by an id: a line-key id, a file-key id, or a traceback-key id. The
    // extra last slot is the group of traces with an empty traceback.
    const frameKeys = keyType === 'filename' ? t.fileKeys() : t.lineKeys();
    const keyCount = keyType === 'traceback' ? t.tracebackKeys().count : frameKeys.count;
    const empty = keyCount;
    const sizes = new Float64Array(keyCount + 1);
    const counts = new Float64Array(keyCount + 1);
    const seen = new Uint8Array(keyCount + 1);
    const repr = new Int32Array(keyCount + 1).fill(-1); // a frame id (or traceback id) per key
    const { tbOffsets, tbFrames } = t;
    if (!cumulative) {
      const tbKey = new Int32Array(t.tracebackCount);
      const tbRepr = new Int32Array(t.tracebackCount);
      if (keyType === 'traceback') {
        tbKey.set(t.tracebackKeys().ids);
        for (let tb = 0; tb < tbRepr.length; tb++) tbRepr[tb] = tb;
      } else {
        for (let tb = 0; tb < tbKey.length; tb++) {
          const start = tbOffsets[tb]!;
          if (start === tbOffsets[tb + 1]) {
            tbKey[tb] = empty;
          } else {
            tbKey[tb] = frameKeys.ids[tbFrames[start]!]!;
            tbRepr[tb] = tbFrames[start]!;
          }
        }
      }
      for (let i = 0; i < n; i++) {
        const tb = c.tracebacks[i]!;
        const k = tbKey[tb]!;
        sizes[k] = sizes[k]! + c.sizes[i]!;
        counts[k] = counts[k]! + c.counts[i]!;
        if (seen[k] === 0) {
          seen[k] = 1;
          repr[k] = tbRepr[tb]!;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const tb = c.tracebacks[i]!;
        for (let j = tbOffsets[tb]!, end = tbOffsets[tb + 1]!; j < end; j++) {
          const f = tbFrames[j]!;
          const k = frameKeys.ids[f]!;
          sizes[k] = sizes[k]! + c.sizes[i]!;
          counts[k] = counts[k]! + c.counts[i]!;
          if (seen[k] === 0) {
            seen[k] = 1;
            repr[k] = f;
          }
        }
      }
    }
    const groups: Group[] = [];
    for (let k = 0; k <= keyCount; k++) {
      if (seen[k] === 0) continue;
      let traceback: Traceback;
      if (k === empty) traceback = this.#makeTraceback([], null);
      else if (keyType === 'traceback') traceback = this.#makeTraceback(this.#frameIds(repr[k]!), null);
      else if (keyType === 'lineno') traceback = this.#makeTraceback([repr[k]!], null);
      else {
        traceback = new Traceback([new Frame(t.files[repr[k]!]!, 0)]);
        traceback._lines = this.#lines;
      }
      groups.push({ key: k, repr: k === empty ? -1 : repr[k]!, traceback, size: sizes[k]!, count: counts[k]! });
    }
    return groups;
  }

  /**
   * A new snapshot with the traces that pass `filters` (Python's `filter_traces`): a trace is kept
   * when any inclusive filter matches it (or there is none) and no exclusive filter drops it.
   */
  filterTraces(filters: Iterable<Filter | DomainFilter>): Snapshot {
    if (filters == null || typeof (filters as Iterable<unknown>)[Symbol.iterator] !== 'function' || typeof filters === 'string') {
      throw new TypeError(`filters must be a list of filters, not ${describeType(filters)}`);
    }
    const list = Array.from(filters);
    list.forEach((f, i) => {
      if (!(f instanceof Filter) && !(f instanceof DomainFilter)) {
        throw new TypeError(`filters[${i}] must be a Filter or a DomainFilter, not ${describeType(f)}`);
      }
    });
    const c = this._columns;
    const options = { samplingInterval: this.samplingInterval, meta: this.meta };
    if (list.length === 0) return Snapshot._fromColumns(c.select(new Uint8Array(c.length).fill(1)), this.tracebackLimit, options);
    const include = list.filter((f) => f.inclusive);
    const exclude = list.filter((f) => !f.inclusive);
    const includeMatch = include.map((f) => this.#matcher(f));
    const excludeMatch = exclude.map((f) => this.#matcher(f));
    const keep = new Uint8Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const tb = c.tracebacks[i]!;
      const domain = c.domains[i]!;
      let ok = includeMatch.length === 0 || includeMatch.some((m) => m(tb, domain));
      if (ok) ok = excludeMatch.every((m) => m(tb, domain));
      keep[i] = ok ? 1 : 0;
    }
    return Snapshot._fromColumns(c.select(keep), this.tracebackLimit, options);
  }

  /** Python's `filter._match(trace)` as a function of (traceback id, domain), cached per traceback. */
  #matcher(filter: Filter | DomainFilter): (tb: number, domain: number) => boolean {
    const inclusive = filter.inclusive;
    if (filter instanceof DomainFilter) {
      const d = filter.domain;
      return (_tb, domain) => (domain === d) !== !inclusive;
    }
    const t = this._columns.tables;
    const fileMatch = new Map<string, boolean>();
    const pattern = filter.filenamePattern;
    const lineno = filter.lineno;
    const frameMatches = (f: number): boolean => {
      const file = t.files[f]!;
      let m = fileMatch.get(file);
      if (m === undefined) {
        m = fnmatch(file, pattern);
        fileMatch.set(file, m);
      }
      return m && (lineno === null || t.lines[f] === lineno);
    };
    const cache = new Int8Array(t.tracebackCount); // 0 unknown, 1 true, 2 false
    const allFrames = filter.allFrames;
    const matchTraceback = (tb: number): boolean => {
      const cached = cache[tb];
      if (cached !== 0) return cached === 1;
      const start = t.tbOffsets[tb]!;
      const end = t.tbOffsets[tb + 1]!;
      let res: boolean;
      if (allFrames) {
        let any = false;
        for (let j = start; j < end && !any; j++) any = frameMatches(t.tbFrames[j]!);
        res = any ? inclusive : !inclusive;
      } else {
        // The most recent frame; an empty traceback matches nothing.
        res = (start < end && frameMatches(t.tbFrames[start]!)) !== !inclusive;
      }
      cache[tb] = res ? 1 : 2;
      return res;
    };
    const domain = filter.domain;
    if (domain === null) return (tb) => matchTraceback(tb);
    return inclusive
      ? (tb, d) => matchTraceback(tb) && d === domain
      : (tb, d) => matchTraceback(tb) || d !== domain;
  }

  /** A plain JSON value of the whole snapshot (the file format of `dump`, uncompressed). */
  toJSON(): SnapshotJSON {
    return persist().columnsToJSON(this._columns, this.tracebackLimit, this.samplingInterval, { ...this.meta }, (file, line) => this.#lines?.(file, line));
  }

  /** Rebuilds a snapshot from `toJSON()`'s value, validating every field. */
  static fromJSON(value: unknown): Snapshot {
    const parsed = persist().columnsFromJSON(value, 'the JSON value');
    return Snapshot._fromColumns(parsed.columns, parsed.tracebackLimit, { samplingInterval: parsed.samplingInterval, meta: parsed.meta });
  }

  /** Writes the snapshot to `path` (JSON; gzip when the name ends in `.gz`), with its source lines. */
  dump(path: string): void {
    persist().writeSnapshotFile(path, this.toJSON());
  }

  /** Reads a snapshot written by `dump`, validating it; errors name the file and the problem. */
  static load(path: string, options?: LoadOptions): Snapshot {
    const parsed = persist().readSnapshotFile(path, options);
    return Snapshot._fromColumns(parsed.columns, parsed.tracebackLimit, { samplingInterval: parsed.samplingInterval, meta: parsed.meta });
  }

  /** Approximate bytes this snapshot holds (columns and tables). */
  byteSize(): number {
    return this._columns.byteSize() + this._columns.tables.byteSize();
  }

  [inspect.custom](): string {
    return `<Snapshot traces=${this._columns.length} traceback_limit=${this.tracebackLimit}>`;
  }
}

/** Carries prepared columns through the public constructor without exposing them. */
class StoreColumnsCarrier {
  constructor(readonly columns: TraceColumns) {}
}

/**
 * `Snapshot`, `Trace` and the `traces` sequence, as in Python's tracemalloc: grouping by
 * traceback, file or line (`statistics`), diffs (`compareTo`) and filters (`filterTraces`),
 * computed over compact columns (see store.ts).
 */
import { inspect } from 'node:util';
import { describeType, formatSize } from './format.js';
import { Frame, Traceback, type LineLookup, type RawFrame } from './frame.js';
import { DomainFilter, Filter } from './filter.js';
import { fnmatch } from './fnmatch.js';
import { Statistic, StatisticDiff } from './statistic.js';
import { StoreBuilder, type TraceColumns } from './store.js';
import { columnsFromJSON, columnsToJSON, readSnapshotFile, writeSnapshotFile, type LoadOptions, type SnapshotJSON } from './persist.js';

/** How statistics group traces: by whole traceback, by file, or by line of the most recent frame. */
export type KeyType = 'traceback' | 'filename' | 'lineno';

/**
 * A raw trace, Python's shape plus an optional count:
 * `[domain, size, frames (most recent first), totalNframe?, count?]`.
 */
export type RawTrace = readonly [domain: number, size: number, frames: readonly RawFrame[], totalNframe?: number | null, count?: number];

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
  ) {}

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
    this._snapshot = snapshot;
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
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
    throw new TypeError(`tracebackLimit must be an integer >= 0, not ${describeType(limit) === 'number' ? limit : describeType(limit)}`);
  }
  return limit;
}

function checkKeyType(keyType: unknown, cumulative: unknown): asserts keyType is KeyType {
  if (keyType !== 'traceback' && keyType !== 'filename' && keyType !== 'lineno') {
    throw new RangeError(`unknown key_type: ${typeof keyType === 'string' ? `'${keyType}'` : String(keyType)}`);
  }
  if (typeof cumulative !== 'boolean') {
    throw new TypeError(`cumulative must be a boolean, not ${describeType(cumulative)}`);
  }
  if (cumulative && keyType === 'traceback') {
    throw new RangeError("cumulative mode cannot by used with key type 'traceback'");
  }
}

/** @internal Validates one raw trace and adds it to `builder`. */
export function addRawTrace(builder: StoreBuilder, raw: unknown, index: number): void {
  const where = `raw trace ${index}`;
  if (!Array.isArray(raw) || raw.length < 3 || raw.length > 5) {
    throw new TypeError(`${where} must be [domain, size, frames, totalNframe?, count?], not ${describeType(raw)}`);
  }
  const [domain, size, frames, total, count] = raw as unknown[];
  if (typeof domain !== 'number' || !Number.isInteger(domain) || domain < 0 || domain > 0xffffffff) {
    throw new TypeError(`${where}: domain must be an integer in [0; 4294967295], not ${String(domain)}`);
  }
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
    throw new TypeError(`${where}: size must be a finite number >= 0, not ${String(size)}`);
  }
  if (!Array.isArray(frames)) throw new TypeError(`${where}: frames must be an array of [filename, lineno], not ${describeType(frames)}`);
  if (total != null && (typeof total !== 'number' || !Number.isInteger(total) || total < 0)) {
    throw new TypeError(`${where}: totalNframe must be an integer >= 0 or null, not ${String(total)}`);
  }
  if (count !== undefined && (typeof count !== 'number' || !Number.isFinite(count) || count < 0)) {
    throw new TypeError(`${where}: count must be a finite number >= 0, not ${String(count)}`);
  }
  const ids = frames.map((frame: unknown, f: number) => {
    if (frame instanceof Frame) return builder.frame(frame.filename, frame.lineno, frame.column ?? 0, frame.functionName);
    if (!Array.isArray(frame) || typeof frame[0] !== 'string' || !Number.isInteger(frame[1]) || frame[1] < 0) {
      throw new TypeError(`${where}: frame ${f} must be [filename: string, lineno: integer >= 0]`);
    }
    return builder.frame(frame[0], frame[1]);
  });
  builder.trace(domain, size, count ?? 1, builder.traceback(ids, (total as number | null | undefined) ?? -1));
}

interface Group {
  key: number;
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
    const interval = options.samplingInterval ?? null;
    if (interval !== null && (typeof interval !== 'number' || !(interval > 0))) {
      throw new TypeError(`samplingInterval must be a number > 0 or null, not ${String(interval)}`);
    }
    this.samplingInterval = interval;
    this.meta = { ...(options.meta ?? {}) };
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
    const oldByKey = new Map<string, Group>();
    for (const g of oldGroups) oldByKey.set(oldSnapshot.#groupKey(keyType, g), g);
    const diffs: StatisticDiff[] = [];
    for (const g of newGroups) {
      const key = this.#groupKey(keyType, g);
      const previous = oldByKey.get(key);
      if (previous !== undefined) {
        oldByKey.delete(key);
        diffs.push(new StatisticDiff(g.traceback, g.size, g.size - previous.size, g.count, g.count - previous.count));
      } else {
        diffs.push(new StatisticDiff(g.traceback, g.size, g.size, g.count, g.count));
      }
    }
    for (const g of oldByKey.values()) diffs.push(new StatisticDiff(g.traceback, 0, -g.size, 0, -g.count));
    return diffs.sort((a, b) =>
      Math.abs(b.sizeDiff) - Math.abs(a.sizeDiff) || b.size - a.size ||
      Math.abs(b.countDiff) - Math.abs(a.countDiff) || b.count - a.count || b.traceback.compare(a.traceback));
  }

  /** A key for a group that is equal across snapshots exactly when Python's tracebacks are equal. */
  #groupKey(keyType: KeyType, g: Group): string {
    let key = '';
    for (const frame of g.traceback) key += keyType === 'filename' ? frame.filename : `${frame.filename}\0${frame.lineno}\u0001`;
    return `${g.traceback.length}\u0002${key}`;
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
      groups.push({ key: k, traceback, size: sizes[k]!, count: counts[k]! });
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
    return columnsToJSON(this._columns, this.tracebackLimit, this.samplingInterval, { ...this.meta }, (file, line) => this.#lines?.(file, line));
  }

  /** Rebuilds a snapshot from `toJSON()`'s value, validating every field. */
  static fromJSON(value: unknown): Snapshot {
    const parsed = columnsFromJSON(value, 'the JSON value');
    return Snapshot._fromColumns(parsed.columns, parsed.tracebackLimit, { samplingInterval: parsed.samplingInterval, meta: parsed.meta });
  }

  /** Writes the snapshot to `path` (JSON; gzip when the name ends in `.gz`), with its source lines. */
  dump(path: string): void {
    writeSnapshotFile(path, this.toJSON());
  }

  /** Reads a snapshot written by `dump`, validating it; errors name the file and the problem. */
  static load(path: string, options?: LoadOptions): Snapshot {
    const parsed = readSnapshotFile(path, options);
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

/**
 * Compact storage of a snapshot: interned frames and tracebacks, and the traces as columns of
 * typed arrays (24 bytes a trace). `Frame`, `Traceback` and `Trace` objects are built only when
 * someone reads them. Tables are immutable once built and shared by filtered snapshots.
 */

/** The interned frames and tracebacks that traces point into. Immutable once built. */
export class Tables {
  constructor(
    /** Per frame: filename, 1-based line (0 unknown), 1-based column (0 unknown), function name. */
    readonly files: readonly string[],
    readonly lines: Int32Array,
    readonly columns: Int32Array,
    readonly funcs: readonly (string | null)[],
    /** Traceback t's frame ids, most recent first: `tbFrames[tbOffsets[t] .. tbOffsets[t+1]]`. */
    readonly tbOffsets: Uint32Array,
    readonly tbFrames: Uint32Array,
    /** Traceback t's captured depth, or -1 for unknown (`null`). */
    readonly tbTotals: Float64Array,
    /** Source lines captured with the snapshot: key `${filename}\0${lineno}`. */
    readonly sources: ReadonlyMap<string, string>,
    /**
     * The snapshot came from a file or JSON: `sources` holds every line it has, and no other file
     * is ever read for it (a loaded snapshot cannot make the reader open files it names).
     */
    readonly sourcesOnly = false,
  ) {}

  get frameCount(): number {
    return this.files.length;
  }

  get tracebackCount(): number {
    return this.tbOffsets.length - 1;
  }

  private derived = new Map<string, { ids: Int32Array; count: number }>();

  /** Frame id -> id of its (filename, lineno) pair: Python's frame equality. Cached. */
  lineKeys(): { ids: Int32Array; count: number } {
    return this.cached('line', () => internBy(this.frameCount, (f) => `${this.files[f]}\0${this.lines[f]}`));
  }

  /** Frame id -> id of its filename. Cached. */
  fileKeys(): { ids: Int32Array; count: number } {
    return this.cached('file', () => internBy(this.frameCount, (f) => this.files[f]!));
  }

  /** Traceback id -> id of its sequence of (filename, lineno) pairs. Cached. */
  tracebackKeys(): { ids: Int32Array; count: number } {
    return this.tracebackIndex();
  }

  private tbIndex: TracebackIndex | null = null;

  /** The index behind `tracebackKeys()`, which also finds a key by its sequence of line key ids. Cached. */
  tracebackIndex(): TracebackIndex {
    return (this.tbIndex ??= new TracebackIndex(this));
  }

  private cached(name: string, make: () => { ids: Int32Array; count: number }): { ids: Int32Array; count: number } {
    let value = this.derived.get(name);
    if (value === undefined) {
      value = make();
      this.derived.set(name, value);
    }
    return value;
  }

  /** Approximate bytes held by the tables. */
  byteSize(): number {
    let strings = 0;
    const seen = new Set<string>();
    for (const f of this.files) if (!seen.has(f)) { seen.add(f); strings += f.length * 2 + 16; }
    for (const f of this.funcs) if (f !== null && !seen.has(f)) { seen.add(f); strings += f.length * 2 + 16; }
    return strings + this.files.length * 24 + this.tbOffsets.byteLength + this.tbFrames.byteLength + this.tbTotals.byteLength;
  }
}

/**
 * Tracebacks interned by their sequence of line key ids (most recent first), in an open-addressing
 * hash table of traceback ids, so equal sequences share one key id without building strings.
 */
export class TracebackIndex {
  /** Traceback id -> key id. */
  readonly ids: Int32Array;
  /** Number of distinct keys. */
  readonly count: number;
  private readonly line: Int32Array;
  /** Hash slot -> 1 + the first traceback id with that key, or 0 when free. */
  private readonly slots: Int32Array;

  constructor(private readonly tables: Tables) {
    const n = tables.tracebackCount;
    const { tbOffsets, tbFrames } = tables;
    const line = tables.lineKeys().ids;
    let size = 16;
    while (size < 2 * n) size *= 2; // at most half full
    const slots = new Int32Array(size);
    const ids = new Int32Array(n);
    let count = 0;
    for (let t = 0; t < n; t++) {
      const start = tbOffsets[t]!;
      const len = tbOffsets[t + 1]! - start;
      let h = hashStart(len);
      for (let j = 0; j < len; j++) h = hashStep(h, line[tbFrames[start + j]!]!);
      for (let i = hashEnd(h) & (size - 1); ; i = (i + 1) & (size - 1)) {
        const other = slots[i]! - 1;
        if (other < 0) {
          slots[i] = t + 1;
          ids[t] = count++;
          break;
        }
        const oStart = tbOffsets[other]!;
        if (tbOffsets[other + 1]! - oStart !== len) continue;
        let same = true;
        for (let j = 0; j < len && same; j++) same = line[tbFrames[oStart + j]!] === line[tbFrames[start + j]!];
        if (same) {
          ids[t] = ids[other]!;
          break;
        }
      }
    }
    this.line = line;
    this.slots = slots;
    this.ids = ids;
    this.count = count;
  }

  /** The key id of the traceback whose line key ids are `seq[0 .. len)` (most recent first), or -1. */
  find(seq: ArrayLike<number>, len: number): number {
    const { tbOffsets, tbFrames } = this.tables;
    const line = this.line;
    const mask = this.slots.length - 1;
    let h = hashStart(len);
    for (let j = 0; j < len; j++) h = hashStep(h, seq[j]!);
    for (let i = hashEnd(h) & mask; ; i = (i + 1) & mask) {
      const other = this.slots[i]! - 1;
      if (other < 0) return -1;
      const oStart = tbOffsets[other]!;
      if (tbOffsets[other + 1]! - oStart !== len) continue;
      let same = true;
      for (let j = 0; j < len && same; j++) same = line[tbFrames[oStart + j]!] === seq[j];
      if (same) return this.ids[other]!;
    }
  }
}

// FNV-1a over 32-bit values, with a final mix so the low bits (the slot) depend on every value.
function hashStart(len: number): number {
  return Math.imul(0x811c9dc5 ^ len, 0x01000193);
}

function hashStep(h: number, value: number): number {
  return Math.imul(h ^ value, 0x01000193);
}

function hashEnd(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

function internBy(n: number, keyOf: (i: number) => string): { ids: Int32Array; count: number } {
  const ids = new Int32Array(n);
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = keyOf(i);
    let id = index.get(key);
    if (id === undefined) {
      id = index.size;
      index.set(key, id);
    }
    ids[i] = id;
  }
  return { ids, count: index.size };
}

/** The traces of one snapshot: columns that point into shared `Tables`. */
export class TraceColumns {
  constructor(
    readonly tables: Tables,
    readonly domains: Uint32Array,
    readonly sizes: Float64Array,
    readonly counts: Float64Array,
    readonly tracebacks: Uint32Array,
  ) {}

  get length(): number {
    return this.sizes.length;
  }

  /** A new set of columns holding the traces whose index `keep` selects, in order. */
  select(keep: Uint8Array): TraceColumns {
    let n = 0;
    for (let i = 0; i < keep.length; i++) n += keep[i]!;
    const domains = new Uint32Array(n);
    const sizes = new Float64Array(n);
    const counts = new Float64Array(n);
    const tracebacks = new Uint32Array(n);
    for (let i = 0, j = 0; i < keep.length; i++) {
      if (keep[i] === 0) continue;
      domains[j] = this.domains[i]!;
      sizes[j] = this.sizes[i]!;
      counts[j] = this.counts[i]!;
      tracebacks[j] = this.tracebacks[i]!;
      j++;
    }
    return new TraceColumns(this.tables, domains, sizes, counts, tracebacks);
  }

  /** Approximate bytes held by the columns (not the shared tables). */
  byteSize(): number {
    return this.domains.byteLength + this.sizes.byteLength + this.counts.byteLength + this.tracebacks.byteLength;
  }
}

/** Growable arrays that become a `TraceColumns` over fresh `Tables`. */
export class StoreBuilder {
  private files: string[] = [];
  private lines: number[] = [];
  private columns: number[] = [];
  private funcs: (string | null)[] = [];
  /** filename -> (lineno, or a `lineno\0column[\0func]` string when column or func is known) -> frame id. */
  private frameIndex = new Map<string, Map<number | string, number>>();
  private tbOffsets: number[] = [0];
  private tbFrames: number[] = [];
  private tbTotals: number[] = [];
  /** Hash of (frame ids, total) -> the last traceback id with that hash; `tbNext` chains the others. */
  private tbByHash = new Map<number, number>();
  private tbNext: number[] = [];
  private domains: number[] = [];
  private sizes: number[] = [];
  private counts: number[] = [];
  private traceTbs: number[] = [];
  readonly sources = new Map<string, string>();

  /** Interns a frame; `column` 0 and `func` null mean unknown. Returns its id. */
  frame(filename: string, lineno: number, column = 0, func: string | null = null): number {
    // Two levels, so the common case (no column, no function) builds no string: the filename's
    // hash is cached in the string itself, and the line is a number key.
    let byLine = this.frameIndex.get(filename);
    if (byLine === undefined) {
      byLine = new Map();
      this.frameIndex.set(filename, byLine);
    }
    const key = func === null ? (column === 0 ? lineno : `${lineno}\0${column}`) : `${lineno}\0${column}\0${func}`;
    let id = byLine.get(key);
    if (id === undefined) {
      id = this.files.length;
      this.files.push(filename);
      this.lines.push(lineno);
      this.columns.push(column);
      this.funcs.push(func);
      byLine.set(key, id);
    }
    return id;
  }

  /** Interns a traceback of frame ids (most recent first); `total` -1 means unknown. Returns its id. */
  traceback(frameIds: readonly number[], total: number): number {
    // Interned by a numeric hash of (ids, total), each candidate checked frame by frame.
    const n = frameIds.length;
    let h = hashStep(hashStart(n), total | 0);
    for (let i = 0; i < n; i++) h = hashStep(h, frameIds[i]!);
    const head = this.tbByHash.get(h) ?? -1;
    for (let id = head; id !== -1; id = this.tbNext[id]!) {
      const start = this.tbOffsets[id]!;
      if (this.tbTotals[id] !== total || this.tbOffsets[id + 1]! - start !== n) continue;
      let same = true;
      for (let i = 0; i < n && same; i++) same = this.tbFrames[start + i] === frameIds[i];
      if (same) return id;
    }
    const id = this.tbTotals.length;
    for (let i = 0; i < n; i++) this.tbFrames.push(frameIds[i]!);
    this.tbOffsets.push(this.tbFrames.length);
    this.tbTotals.push(total);
    this.tbNext.push(head);
    this.tbByHash.set(h, id);
    return id;
  }

  /** Adds a trace: `size` bytes standing for `count` objects, allocated at traceback `tb`. */
  trace(domain: number, size: number, count: number, tb: number): void {
    this.domains.push(domain);
    this.sizes.push(size);
    this.counts.push(count);
    this.traceTbs.push(tb);
  }

  get traceCount(): number {
    return this.sizes.length;
  }

  build(): TraceColumns {
    const tables = new Tables(
      this.files,
      Int32Array.from(this.lines),
      Int32Array.from(this.columns),
      this.funcs,
      Uint32Array.from(this.tbOffsets),
      Uint32Array.from(this.tbFrames),
      Float64Array.from(this.tbTotals),
      new Map(this.sources),
    );
    return new TraceColumns(
      tables,
      Uint32Array.from(this.domains),
      Float64Array.from(this.sizes),
      Float64Array.from(this.counts),
      Uint32Array.from(this.traceTbs),
    );
  }
}

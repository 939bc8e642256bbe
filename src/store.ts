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
    return this.cached('traceback', () => {
      const line = this.lineKeys().ids;
      return internBy(this.tracebackCount, (t) => {
        let key = '';
        for (let i = this.tbOffsets[t]!; i < this.tbOffsets[t + 1]!; i++) key += `${line[this.tbFrames[i]!]},`;
        return key;
      });
    });
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
  private frameIndex = new Map<string, number>();
  private tbOffsets: number[] = [0];
  private tbFrames: number[] = [];
  private tbTotals: number[] = [];
  private tbIndex = new Map<string, number>();
  private domains: number[] = [];
  private sizes: number[] = [];
  private counts: number[] = [];
  private traceTbs: number[] = [];
  readonly sources = new Map<string, string>();

  /** Interns a frame; `column` 0 and `func` null mean unknown. Returns its id. */
  frame(filename: string, lineno: number, column = 0, func: string | null = null): number {
    const key = `${filename}\0${lineno}\0${column}\0${func ?? '\u0001'}`;
    let id = this.frameIndex.get(key);
    if (id === undefined) {
      id = this.files.length;
      this.files.push(filename);
      this.lines.push(lineno);
      this.columns.push(column);
      this.funcs.push(func);
      this.frameIndex.set(key, id);
    }
    return id;
  }

  /** Interns a traceback of frame ids (most recent first); `total` -1 means unknown. Returns its id. */
  traceback(frameIds: readonly number[], total: number): number {
    const key = `${frameIds.join(',')}|${total}`;
    let id = this.tbIndex.get(key);
    if (id === undefined) {
      id = this.tbTotals.length;
      for (const f of frameIds) this.tbFrames.push(f);
      this.tbOffsets.push(this.tbFrames.length);
      this.tbTotals.push(total);
      this.tbIndex.set(key, id);
    }
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

/**
 * 'allocated' mode: V8 keeps a record of every sample, even of objects long collected, so its
 * memory would grow with every byte the program allocates. The session regularly reads the
 * samples, folds them into one entry per call stack here, and restarts V8's sampler, which frees
 * its records: memory stays bounded by the number of distinct call stacks.
 */
import type { StoreBuilder, TraceColumns } from './store.js';

/** How often 'allocated' mode folds V8's samples into its own table (one forced GC each time). */
export const FOLD_INTERVAL_MS = 30_000;

interface FoldedEntry {
  frames: Array<[filename: string, lineno: number, column: number, functionName: string | null]>;
  total: number;
  size: number;
  count: number;
}

export class FoldedSamples {
  readonly #entries = new Map<string, FoldedEntry>();
  /** Bytes of keys and frames held (kept up to date as entries are added). */
  #bytes = 0;

  fold(columns: TraceColumns): void {
    const t = columns.tables;
    const keys: (string | undefined)[] = [];
    for (let i = 0; i < columns.length; i++) {
      const tb = columns.tracebacks[i]!;
      let key = keys[tb];
      let entry: FoldedEntry | undefined;
      if (key === undefined) {
        const frames: FoldedEntry['frames'] = [];
        for (let j = t.tbOffsets[tb]!; j < t.tbOffsets[tb + 1]!; j++) {
          const f = t.tbFrames[j]!;
          frames.push([t.files[f]!, t.lines[f]!, t.columns[f]!, t.funcs[f] ?? null]);
        }
        key = `${JSON.stringify(frames)}|${t.tbTotals[tb]}`;
        keys[tb] = key;
        entry = this.#entries.get(key);
        if (entry === undefined) {
          entry = { frames, total: t.tbTotals[tb]!, size: 0, count: 0 };
          this.#entries.set(key, entry);
          this.#bytes += ENTRY_BYTES + key.length * 2 + frames.length * FRAME_BYTES;
        }
      } else {
        entry = this.#entries.get(key)!;
      }
      entry.size += columns.sizes[i]!;
      entry.count += columns.counts[i]!;
    }
  }

  /** Adds one trace of `domain` per call stack to `builder`. */
  addTo(builder: StoreBuilder, domain: number): void {
    for (const e of this.#entries.values()) {
      const ids = e.frames.map(([file, line, column, fn]) => builder.frame(file, line, column, fn));
      builder.trace(domain, e.size, e.count, builder.traceback(ids, e.total));
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Approximate bytes held: the map entry and the entry object, the key, and each frame tuple. */
  byteSize(): number {
    return this.#bytes;
  }
}

/** A Map entry, the entry object and its frames array (V8, 64-bit, pointer compression off: measured ~96). */
const ENTRY_BYTES = 96;
/** One frame tuple of four slots. */
const FRAME_BYTES = 64;

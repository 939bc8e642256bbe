/**
 * User domains (2 and up): memory that the program reports itself with `track(domain, key,
 * size)`, as C extensions do with Python's `PyTraceMalloc_Track`. Exact, not sampled; each block
 * keeps the traceback of the `track()` call.
 */
import type { Site } from './stack.js';
import type { StoreBuilder } from './store.js';

interface Block {
  size: number;
  stack: Site;
}

export class UserDomains {
  readonly #domains = new Map<number, Map<unknown, Block>>();
  #bytes = 0;
  #blocks = 0;

  /** Records (or replaces) block `key` of `domain`. */
  track(domain: number, key: unknown, size: number, stack: Site): void {
    let blocks = this.#domains.get(domain);
    if (blocks === undefined) {
      blocks = new Map();
      this.#domains.set(domain, blocks);
    }
    const previous = blocks.get(key);
    if (previous !== undefined) this.#bytes -= previous.size;
    else this.#blocks++;
    blocks.set(key, { size, stack });
    this.#bytes += size;
  }

  /** Forgets block `key` of `domain`; an unknown key is not an error. */
  untrack(domain: number, key: unknown): void {
    const blocks = this.#domains.get(domain);
    const block = blocks?.get(key);
    if (blocks === undefined || block === undefined) return;
    blocks.delete(key);
    if (blocks.size === 0) this.#domains.delete(domain);
    this.#bytes -= block.size;
    this.#blocks--;
  }

  /** Bytes tracked in all user domains. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds one trace per tracked block. */
  addTraces(builder: StoreBuilder, nframe: number): void {
    for (const [domain, blocks] of this.#domains) {
      for (const { size, stack } of blocks.values()) {
        const ids = stack.frames.slice(0, nframe).map((f) => builder.frame(f.filename, f.lineno, f.column, f.functionName));
        if (ids.length === 0) ids.push(builder.frame('<unknown>', 0));
        builder.trace(domain, size, 1, builder.traceback(ids, stack.total ?? -1));
      }
    }
  }

  clear(): void {
    this.#domains.clear();
    this.#bytes = 0;
    this.#blocks = 0;
  }

  /** Approximate bytes held by the registry. */
  byteSize(): number {
    return this.#blocks * 160;
  }
}

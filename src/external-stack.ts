/**
 * Domain 1's stacks: the parsed site of a sampled allocation, looked up without building a text.
 *
 * A sample captures V8's structured call sites below the wrapper (`captureCallSites`). Most
 * samples come from a site already seen, so the sites are looked up in a trie keyed, frame by
 * frame, by the script (the string V8 hands out, whose hash it caches) and the call's source
 * offset and line (`CallSite#getPosition`, `getLineNumber`: one number; line and column where V8
 * lacks the offset): three calls per frame and no allocation. Only a new stack pays for the text (`stackText`), the function names
 * and the parse (`parseCapturedStack`). Before this cache, building the text on every sample
 * (seven CallSite calls a frame, string concatenation, then hashing the text) was a third of a
 * sample's cost (docs/external-memory.md, Cost).
 *
 * A frame's function name is the one seen the first time its position was sampled: the same call
 * position reached with another receiver type (`A.f` and `B.f` sharing a function) keeps the
 * first name. Positions, which decide files and lines, are exact.
 *
 * Source maps are applied when a snapshot reads a site (`mappedFrames`), not when a sample is
 * taken: loading a map (read, parse) is then never paid in the program's time, nor by sites
 * whose Buffers die before any snapshot.
 */
import { captureCallSites, type CallSite } from './own.js';
import type { ResolvedFrame } from './profile.js';
import { mapPosition } from './sourcemap.js';
import { parseCapturedStack, stackText, type Site } from './stack.js';

/** The cached value of the tracer's own allocations (reading a snapshot file, ...). */
export const OWN: unique symbol = Symbol('own');
export type CachedSite = Site | typeof OWN;

/** Distinct stacks remembered before the cache starts over. */
const SITE_CACHE_LIMIT = 10_000;
/** Estimated bytes per trie level of a cached stack (maps, node). */
const NODE_BYTES = 160;
/** Estimated bytes per frame of a cached site (object, strings shared with V8's). */
const FRAME_BYTES = 120;

/** One trie level: script -> call position -> the next level. */
interface TrieNode {
  /** The site of a stack that ends here. */
  site: CachedSite | undefined;
  readonly next: Map<unknown, Map<unknown, TrieNode>>;
}

const newNode = (): TrieNode => ({ site: undefined, next: new Map() });

const probe = (function probeSite(): (CallSite & { getPosition?: () => number }) | undefined {
  return captureCallSites(probeSite, 1)[0];
})();
/** Does this V8 give a call site's source offset (one call instead of line and column)? */
export const HAS_POSITION = typeof probe?.getPosition === 'function';

type PositionedSite = CallSite & { getPosition(): number };

/**
 * The call's position in its script, a number when it fits one exactly: its source offset and its
 * line. The line is there for scripts that share a file name (hot reload, `vm` code compiled
 * under one name): a call at the same offset of two versions of a file is on different lines
 * when the code before it changed, and must not take the first version's line.
 */
function positionKey(site: CallSite): unknown {
  const line = site.getLineNumber() ?? 0;
  if (HAS_POSITION) {
    const position = (site as PositionedSite).getPosition();
    return line < 0x200000 && position < 0x80000000 ? position * 0x200000 + line : `${position}:${line}`;
  }
  const column = site.getColumnNumber() ?? 0;
  return column < 0x1000000 ? line * 0x1000000 + column : `${line}:${column}`;
}

const mappedCache = new WeakMap<Site, readonly ResolvedFrame[]>();

/** A site's frames with source maps applied (`mapPosition`), computed once per site. */
export function mappedFrames(site: Site): readonly ResolvedFrame[] {
  let frames = mappedCache.get(site);
  if (frames === undefined) {
    frames = site.frames.map((frame) => {
      if (frame.lineno < 1) return frame;
      const mapped = mapPosition(frame.filename, frame.lineno, Math.max(frame.column ?? 0, 1));
      return mapped === null ? frame : { ...frame, filename: mapped.file, lineno: mapped.line, column: mapped.column };
    });
    mappedCache.set(site, frames);
  }
  return frames;
}

export class SiteCache {
  readonly #nframe: number;
  readonly #limit: number;
  /** Number of call sites captured -> the trie of stacks of that length. */
  #roots = new Map<number, TrieNode>();
  /** Stacks whose script has no name (eval without sourceURL): keyed by their whole text. */
  #byText = new Map<string, CachedSite>();
  #count = 0;
  #bytes = 0;
  /** Whether the last `site()` parsed a new stack (the adaptation leaves that cost out). */
  parsed = false;

  constructor(nframe: number, limit: number) {
    this.#nframe = nframe;
    this.#limit = limit;
  }

  /** The site of the stack below `callee` (at most `limit` frames), parsed once per distinct stack. */
  site(callee: Function): CachedSite {
    this.parsed = false;
    const sites = captureCallSites(callee, this.#limit);
    const n = sites.length;
    let node: TrieNode | undefined = this.#roots.get(n);
    if (node === undefined) {
      node = newNode();
      this.#roots.set(n, node);
    }
    for (let i = 0; i < n; i++) {
      const cs = sites[i]!;
      const file = cs.getFileName();
      if (typeof file !== 'string' || file === '') return this.#viaText(sites);
      let positions: Map<unknown, TrieNode> | undefined = node.next.get(file);
      if (positions === undefined) {
        positions = new Map();
        node.next.set(file, positions);
      }
      const key = positionKey(cs);
      let child: TrieNode | undefined = positions.get(key);
      if (child === undefined) {
        child = newNode();
        positions.set(key, child);
        this.#bytes += NODE_BYTES;
      }
      node = child;
    }
    const cached = node.site;
    if (cached !== undefined) return cached;
    const site = this.#parse(sites);
    node.site = site;
    return site;
  }

  /** Estimated bytes of the cache. */
  get byteSize(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#roots = new Map();
    this.#byText = new Map();
    this.#count = 0;
    this.#bytes = 0;
  }

  #viaText(sites: readonly CallSite[]): CachedSite {
    const text = stackText(sites);
    const cached = this.#byText.get(text);
    if (cached !== undefined) return cached;
    const site = this.#parse(sites, text);
    this.#byText.set(text, site);
    this.#bytes += text.length;
    return site;
  }

  #parse(sites: readonly CallSite[], text = stackText(sites)): CachedSite {
    this.parsed = true;
    if (this.#count >= SITE_CACHE_LIMIT) this.clear();
    this.#count++;
    const parsed = parseCapturedStack(text, this.#nframe, this.#limit, false);
    const site = parsed.own ? OWN : parsed;
    this.#bytes += 64 + (site === OWN ? 0 : site.frames.length * FRAME_BYTES);
    return site;
  }
}

/**
 * Call frames of V8's profile -> snapshot frames: 1-based lines, `file://` URLs as paths, source
 * maps applied, and memory of scripts already collected (V8 reports them with an empty url and
 * line -1, so their url and each function's position are remembered from earlier reads).
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import type { CallFrame } from './inspector.js';
import type { ResolvedFrame } from './profile.js';
import { mapPosition } from './sourcemap.js';

const log = debuglog('tracemalloc');
const CACHE_LIMIT = 50_000;

/** This package's compiled code: frames in it are the tracer's own (see `frameOwner`). */
const OWN_DIR = path.resolve(__dirname) + path.sep;
const OWN_DIR_URL = pathToFileURL(OWN_DIR).href;
/**
 * The external domain's wrappers call the original builtins directly, so an allocation below
 * them is the caller's, with no user frame in between to say so: they are neutral.
 */
const PASS_THROUGH = new Set(['external.js']);

/** Who a call frame speaks for when deciding whose allocation a sample is. */
export type FrameOwner = 'own' | 'user' | 'neutral';

/**
 * `'own'` for the tracer's code, `'neutral'` for code that works on behalf of its caller (Node's
 * internals, dependencies in node_modules, V8 builtins, the external-domain wrappers), `'user'`
 * for the rest. The nearest non-neutral frame to the allocation owns it.
 */
export function frameOwner(cf: CallFrame): FrameOwner {
  const url = cf.url;
  let rest: string | null = null;
  if (url.startsWith(OWN_DIR)) rest = url.slice(OWN_DIR.length);
  else if (url.startsWith(OWN_DIR_URL)) rest = url.slice(OWN_DIR_URL.length);
  if (rest !== null) return PASS_THROUGH.has(rest) ? 'neutral' : 'own';
  if (cf.scriptId === '0' || cf.scriptId === '' || url.startsWith('node:') || url.includes('/node_modules/')) return 'neutral';
  return 'user';
}

/** A url as a filename: `file://` URLs become paths; `node:` specifiers and other urls stay. */
export function urlToFilename(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch (err) {
      log('cannot convert %s to a path: %o', url, err);
    }
  }
  return url;
}

export class CallFrameResolver {
  readonly #sourceMaps: boolean;
  readonly #urls = new Map<string, string>(); // scriptId -> url
  readonly #positions = new Map<string, readonly [number, number]>(); // scriptId \0 function -> 0-based line, column
  readonly #cache = new Map<string, ResolvedFrame | null>();

  constructor(sourceMaps: boolean) {
    this.#sourceMaps = sourceMaps;
  }

  /** See `FrameResolver` in profile.ts: `null` for frames without a script (builtins, pseudo-frames). */
  readonly resolve = (cf: CallFrame): ResolvedFrame | null => {
    if (cf.scriptId === '0' || cf.scriptId === '') return null;
    const key = `${cf.scriptId}\0${cf.url}\0${cf.lineNumber}\0${cf.columnNumber}\0${cf.functionName}`;
    let frame = this.#cache.get(key);
    if (frame !== undefined) return frame;
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    let url = cf.url;
    if (url !== '') this.#remember(this.#urls, cf.scriptId, url);
    else url = this.#urls.get(cf.scriptId) ?? '';
    let line = cf.lineNumber;
    let column = cf.columnNumber;
    const positionKey = `${cf.scriptId}\0${cf.functionName}`;
    if (line >= 0) this.#remember(this.#positions, positionKey, [line, column] as const);
    else [line, column] = this.#positions.get(positionKey) ?? [-1, -1];
    frame = {
      filename: url === '' ? '<anonymous>' : urlToFilename(url),
      lineno: line >= 0 ? line + 1 : 0,
      column: column >= 0 ? column + 1 : 0,
      functionName: cf.functionName === '' ? null : cf.functionName,
    };
    if (this.#sourceMaps && frame.lineno > 0) {
      const mapped = mapPosition(frame.filename, frame.lineno, Math.max(frame.column, 1));
      if (mapped !== null) frame = { ...frame, filename: mapped.file, lineno: mapped.line, column: mapped.column };
    }
    this.#cache.set(key, frame);
    return frame;
  };

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= CACHE_LIMIT && !map.has(key)) map.clear();
    map.set(key, value);
  }

  /** Approximate bytes held by the caches. */
  byteSize(): number {
    return (this.#cache.size + this.#urls.size + this.#positions.size) * 160;
  }

  /** Forgets the resolved frames; script urls and positions are kept (scripts may be gone since). */
  clear(): void {
    this.#cache.clear();
  }
}

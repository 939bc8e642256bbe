/**
 * Call frames of V8's profile -> snapshot frames: 1-based lines, `file://` URLs as paths, source
 * maps applied, and memory of scripts already collected (V8 reports them with an empty url and
 * line -1, so their url and each function's position are remembered from earlier reads).
 */
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import type { CallFrame } from './inspector.js';
import type { ResolvedFrame } from './profile.js';
import { mapPosition } from './sourcemap.js';
import { MainScript } from './main-script.js';

const log = debuglog('tracemalloc');
const CACHE_LIMIT = 50_000;

export { frameOwner, type FrameOwner } from './own.js';
import { ownerAt } from './own.js';

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

/** A resolved frame cached under its script, position and function name (and url, checked on a hit). */
interface CachedFrame {
  readonly url: string;
  readonly functionName: string;
  readonly frame: ResolvedFrame;
  /** Another frame at the same script and position (a different name or url), or null. */
  readonly next: CachedFrame | null;
}

/** The cache key of a 0-based position: a small integer for lines and columns below 32767, else a string. */
function positionKey(line: number, column: number): number | string {
  return line >= -1 && line < 0x7ffe && column >= -1 && column < 0x7ffe ? ((line + 1) << 15) | (column + 1) : `${line}:${column}`;
}

export class CallFrameResolver {
  readonly #sourceMaps: boolean;
  readonly #urls = new Map<string, string>(); // scriptId -> url
  readonly #positions = new Map<string, readonly [number, number]>(); // scriptId \0 function -> 0-based line, column
  /** scriptId -> position key -> frames. Keyed without building a string: a profile has thousands of frames. */
  readonly #cache = new Map<string, Map<number | string, CachedFrame>>();
  #cached = 0;
  /** The main CommonJS script after V8 collected it: its scriptId and file (main-script.ts). */
  #main: { scriptId: string; script: MainScript } | null = null;

  constructor(sourceMaps: boolean) {
    this.#sourceMaps = sourceMaps;
  }

  /** See `FrameResolver` in profile.ts: `null` for frames without a script (builtins, pseudo-frames) and the library's own. */
  readonly resolve = (cf: CallFrame): ResolvedFrame | null => {
    if (cf.scriptId === '0' || cf.scriptId === '') return null;
    // The library's own frames (and its neutral wrappers) are folded out of every traceback.
    if (cf.lineNumber >= 0 && ownerAt(cf.url, cf.lineNumber + 1, cf.columnNumber + 1) !== null) return null;
    let script = this.#cache.get(cf.scriptId);
    const key = positionKey(cf.lineNumber, cf.columnNumber);
    const first = script?.get(key);
    for (let c: CachedFrame | null | undefined = first; c != null; c = c.next) {
      if (c.functionName === cf.functionName && c.url === cf.url) return c.frame;
    }
    if (this.#cached >= CACHE_LIMIT) {
      this.#cache.clear();
      this.#cached = 0;
      script = undefined;
    }
    if (script === undefined) {
      script = new Map();
      this.#cache.set(cf.scriptId, script);
    }
    const frame = this.#resolve(cf);
    script.set(key, { url: cf.url, functionName: cf.functionName, frame, next: script.get(key) ?? null });
    this.#cached++;
    return frame;
  };

  /**
   * Names the collected main script: frames of `scriptId` without a url are `file`'s, their lines
   * found by function name (main-script.ts). Ignored when an earlier read saw the script alive.
   */
  nameCollectedMain(scriptId: string, file: string): void {
    if (this.#urls.has(scriptId) || this.#main?.scriptId === scriptId) return;
    this.#main = { scriptId, script: new MainScript(file) };
    this.#cache.delete(scriptId);
  }

  #resolve(cf: CallFrame): ResolvedFrame {
    let url = cf.url;
    const main = this.#main !== null && this.#main.scriptId === cf.scriptId ? this.#main.script : null;
    if (url !== '') this.#remember(this.#urls, cf.scriptId, url);
    else url = this.#urls.get(cf.scriptId) ?? main?.file ?? '';
    let line = cf.lineNumber;
    let column = cf.columnNumber;
    const functionKey = `${cf.scriptId}\0${cf.functionName}`;
    if (line >= 0) this.#remember(this.#positions, functionKey, [line, column] as const);
    else [line, column] = this.#positions.get(functionKey) ?? (main === null ? [-1, -1] : [main.line(cf.functionName) - 1, -1]);
    let frame: ResolvedFrame = {
      filename: url === '' ? '<anonymous>' : urlToFilename(url),
      lineno: line >= 0 ? line + 1 : 0,
      column: column >= 0 ? column + 1 : 0,
      functionName: cf.functionName === '' ? null : cf.functionName,
    };
    if (this.#sourceMaps && frame.lineno > 0) {
      // A script's top-level code starts at its first byte, which belongs to no source (in a
      // minified bundle, the first mapping after it is some module's first line): only an exact
      // mapping names a source there.
      const topLevel = line === 0 && column === 0 && cf.functionName === '';
      const mapped = mapPosition(frame.filename, frame.lineno, Math.max(frame.column, 1), !topLevel);
      if (mapped !== null) frame = { ...frame, filename: mapped.file, lineno: mapped.line, column: mapped.column };
    }
    return frame;
  }

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= CACHE_LIMIT && !map.has(key)) map.clear();
    map.set(key, value);
  }

  /** Approximate bytes held by the caches. */
  byteSize(): number {
    return (this.#cached + this.#urls.size + this.#positions.size) * 160;
  }

  /** Forgets the resolved frames; script urls and positions are kept (scripts may be gone since). */
  clear(): void {
    this.#cache.clear();
    this.#cached = 0;
  }
}

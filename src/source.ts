/**
 * Source lines, as Python's `linecache`: `getSourceLine(filename, lineno)` returns the line's text
 * (without its newline) or `''` when it is unknown. Files are read once and cached; `file://` URLs
 * are read as paths; text registered with `registerSource` (a source map's `sourcesContent`) is
 * used for files that are not on disk. Tests can replace the reader with `setSourceReader`.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Returns the 1-based line `lineno` of `filename`, or `''` when unknown. */
export type SourceReader = (filename: string, lineno: number) => string;

const FILE_CACHE_LIMIT = 512;
/** Largest file read for its lines (regular files only). */
export const MAX_SOURCE_BYTES = 32 * 1024 * 1024;
/** Characters of cached file lines kept at most; past it the cache is emptied. */
export const MAX_CACHED_SOURCE_CHARS = 64 * 1024 * 1024;

const fileCache = new Map<string, string[] | null>();
let cachedChars = 0;
const registered = new Map<string, string[]>();
let registeredChars = 0;
let customReader: SourceReader | null = null;
/** The text of an original that a parsed source map carries (`sourcesContent`), set by sourcemap.ts. */
let mapSource: ((filename: string) => string | undefined) | null = null;

function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/**
 * The text of `file` when it is a regular file of at most `max` bytes, else `null` (absent, a
 * directory, a FIFO, a device such as /dev/zero or /dev/stdin, too big). The file is opened
 * without blocking (opening a FIFO would wait for a writer) and checked on the open descriptor.
 */
export function readRegularFile(file: string, max: number): string | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size > max) return null;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return null;
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already closed.
      }
    }
  }
}

function readLines(filename: string): string[] | null {
  const known = registered.get(filename);
  if (known !== undefined) return known;
  let lines = fileCache.get(filename);
  if (lines !== undefined) return lines;
  lines = null;
  try {
    const path = filename.startsWith('file://') ? fileURLToPath(filename) : filename;
    // Pseudo-files (`<unknown>`, `node:fs`, `evalmachine.<anonymous>`) are never read.
    if (path !== '' && !path.startsWith('<') && !path.startsWith('node:')) {
      const text = readRegularFile(path, MAX_SOURCE_BYTES);
      if (text !== null) lines = splitLines(text);
    }
  } catch {
    lines = null;
  }
  if (lines === null && mapSource !== null) {
    const text = mapSource(filename);
    if (text !== undefined) lines = splitLines(text);
  }
  const chars = lines === null ? 0 : lines.reduce((n, l) => n + l.length + 1, 0);
  if (fileCache.size >= FILE_CACHE_LIMIT || cachedChars + chars > MAX_CACHED_SOURCE_CHARS) clearSourceCache();
  fileCache.set(filename, lines);
  cachedChars += chars;
  return lines;
}

/** @internal Lets sourcemap.ts serve the `sourcesContent` of originals that are not on disk. */
export function setMapSourceLookup(lookup: ((filename: string) => string | undefined) | null): void {
  mapSource = lookup;
}

function defaultReader(filename: string, lineno: number): string {
  if (!Number.isInteger(lineno) || lineno < 1) return '';
  const lines = readLines(filename);
  return lines?.[lineno - 1] ?? '';
}

/** Python's `linecache.getline(filename, lineno)`, without the trailing newline. */
export function getSourceLine(filename: string, lineno: number): string {
  return (customReader ?? defaultReader)(filename, lineno);
}

/**
 * Replaces the source reader (tests, or a host that serves sources itself); `null` restores the
 * default. Returns the reader that was in place (`null` for the default).
 */
export function setSourceReader(reader: SourceReader | null): SourceReader | null {
  if (reader !== null && typeof reader !== 'function') {
    throw new TypeError('the source reader must be a function (filename, lineno) => string, or null');
  }
  const previous = customReader;
  customReader = reader;
  return previous;
}

/** Makes `text` the source of `filename` for `getSourceLine` (e.g. a source map's `sourcesContent`). */
export function registerSource(filename: string, text: string): void {
  if (typeof filename !== 'string') throw new TypeError(`filename must be a string, not ${filename === null ? 'null' : typeof filename}`);
  if (typeof text !== 'string') throw new TypeError(`text must be a string, not ${text === null ? 'null' : typeof text}`);
  const old = registered.get(filename);
  if (old !== undefined) registeredChars -= old.reduce((n, l) => n + l.length + 1, 0);
  registered.set(filename, splitLines(text));
  registeredChars += text.length + 1;
}

/** Forgets every cached file (Python's `linecache.clearcache()`). Registered sources are kept. */
export function clearSourceCache(): void {
  fileCache.clear();
  cachedChars = 0;
}

/**
 * Bytes held by the source-line cache and the registered sources (UTF-16 characters, plus the
 * arrays' entries). The cache is bounded by `MAX_CACHED_SOURCE_CHARS`; registered sources are
 * what the host registered (`registerSource`), kept until it replaces them.
 */
export function sourceCacheBytes(): number {
  return (cachedChars + registeredChars) * 2 + (fileCache.size + registered.size) * 96;
}

/** Source lines longer than this are cut around the column when displayed (`displayLine`). */
export const MAX_DISPLAY_CHARS = 160;

/** A line is "long" (minified code) when its text is longer than `MAX_DISPLAY_CHARS`: then a location shows its column and function. */
export function isLongLine(text: string): boolean {
  return text.trim().length > MAX_DISPLAY_CHARS;
}

/**
 * A source line for a terminal: trimmed; when longer than `max` characters (minified code), the
 * `max` characters around the 1-based `column` (the start when unknown), with `…` where it was cut.
 */
export function displayLine(text: string, column: number | null = null, max = MAX_DISPLAY_CHARS): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  const lead = text.length - text.trimStart().length;
  const at = column !== null && column > 0 ? Math.min(Math.max(column - 1 - lead, 0), trimmed.length - 1) : 0;
  let start = Math.max(0, at - Math.floor(max / 3));
  const end = Math.min(trimmed.length, start + max);
  start = Math.max(0, end - max);
  return `${start > 0 ? '…' : ''}${trimmed.slice(start, end)}${end < trimmed.length ? '…' : ''}`;
}

/** Text cut to at most `max` characters in its middle (file and function names of generated code). */
export function cutMiddle(text: string, max = MAX_DISPLAY_CHARS): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - (max - 1 - half))}`;
}

/**
 * A frame's location for a terminal: `file:line` as Python prints it; on a long line (minified
 * code, `isLongLine(text)`), `file:line:column` and the function's name, which say which code of
 * the line it is. Long names are cut in their middle.
 */
export function displayLocation(filename: string, lineno: number, column: number | null, functionName: string | null, text: string): string {
  const where = `${cutMiddle(filename)}:${lineno}`;
  if (!isLongLine(text)) return where;
  const col = column !== null && column > 0 ? `:${column}` : '';
  const fn = functionName !== null && functionName !== '' ? ` (${cutMiddle(functionName, 60)})` : '';
  return `${where}${col}${fn}`;
}

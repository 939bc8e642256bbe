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
const MAX_SOURCE_BYTES = 32 * 1024 * 1024;

const fileCache = new Map<string, string[] | null>();
const registered = new Map<string, string[]>();
let customReader: SourceReader | null = null;

function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
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
      const stat = fs.statSync(path, { throwIfNoEntry: false });
      if (stat !== undefined && stat.isFile() && stat.size <= MAX_SOURCE_BYTES) {
        lines = splitLines(fs.readFileSync(path, 'utf8'));
      }
    }
  } catch {
    lines = null;
  }
  if (fileCache.size >= FILE_CACHE_LIMIT) fileCache.clear();
  fileCache.set(filename, lines);
  return lines;
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
  registered.set(filename, splitLines(text));
}

/** Forgets every cached file (Python's `linecache.clearcache()`). Registered sources are kept. */
export function clearSourceCache(): void {
  fileCache.clear();
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

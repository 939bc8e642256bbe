/**
 * Generated positions -> original positions, from wherever the runtime has the map:
 *
 * 1. Node's own source-map cache (`module.findSourceMap`), filled by `--enable-source-maps`,
 *    `process.setSourceMapsEnabled(true)` and by loaders that use it (tsx): the map of the code
 *    that actually ran, even when the file on disk is the untranspiled source.
 * 2. The generated file's last `//# sourceMappingURL=` comment: an inline base64 `data:` URL or
 *    an external file relative to it (tsc, esbuild, webpack on disk).
 * 3. The map URL V8 recorded when it compiled the script (scripts.ts): the code runners and
 *    loaders compile from memory (Jest, Vitest, ts-node) under the original file's name.
 *
 * Maps are parsed by Node's `SourceMap` (node:module), so the work is Node's: inside an app's
 * bundle, a source-map library's frames would be indistinguishable from the app's (see own.ts).
 * A map's `sourcesContent` serves the lines of originals not on disk (source.ts asks for them).
 * Files are read only when they are regular files under `MAX_MAP_BYTES` (a frame or a comment
 * naming /dev/zero or a FIFO costs nothing). The cache is bounded (`MAX_CACHED_MAPS`,
 * `MAX_CACHED_MAP_BYTES`), counted (`sourceMapCacheBytes`) and released (`clearSourceMapCache`).
 */
import * as fs from 'node:fs';
import * as nodeModule from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import { scriptSourceMapURL } from './scripts.js';
import { readRegularFile, setMapSourceLookup } from './source.js';

const log = debuglog('tracemalloc');
/** Generated files whose map (or its absence) is remembered. */
export const MAX_CACHED_MAPS = 1000;
/** Bytes of parsed maps the cache holds at most (estimated from their JSON size). */
export const MAX_CACHED_MAP_BYTES = 256 * 1024 * 1024;
/** Largest generated file read to find its map comment, and largest map file read. */
export const MAX_MAP_BYTES = 64 * 1024 * 1024;
/** Node's parsed map takes about this many times its JSON's size (measured: 3.1-3.6 on tsc and esbuild maps). */
const PARSED_BYTES_PER_JSON_BYTE = 4;

// The last map comment of a file, as source-map-support and V8 find it.
const SOURCE_MAPPING_URL =
  /(?:\/\/[@#][\s]*sourceMappingURL=([^\s'"]+)[\s]*$)|(?:\/\*[@#][\s]*sourceMappingURL=([^\s*'"]+)[\s]*(?:\*\/)[\s]*$)/gm;
// An absolute URL (`webpack://`, `file:`, `data:`); one-letter schemes are Windows drives.
const URL_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]+:/;

/** An original position: `line` and `column` are 1-based. */
export interface MappedPosition {
  file: string;
  line: number;
  column: number;
}

/** Node's `SourceMap` (the part used here). */
interface NodeSourceMap {
  readonly payload: { sources?: unknown; sourcesContent?: unknown; sections?: unknown };
  findEntry(line: number, column: number): { generatedLine?: number; originalSource?: string; originalLine?: number; originalColumn?: number };
}

interface MappedFile {
  readonly map: NodeSourceMap;
  /** Estimated bytes held. */
  readonly bytes: number;
  /** `sourcesContent` of originals by the map's name of them (served to source.ts for originals not on disk). */
  readonly contents: Map<string, string>;
}

// generated file (as given) -> its map, or null when it has none (or a broken one).
const mapped = new Map<string, MappedFile | null>();
let mappedBytes = 0;
// original file (our name) -> its text from a map's sourcesContent, for originals not on disk.
const originals = new Map<string, string>();
setMapSourceLookup((filename) => originals.get(filename));

/**
 * Maps a position in generated code to the original source, or returns `null` when the file has
 * no source map (or a broken one) or the position has no mapping. `file` is an absolute path or
 * a `file://` URL; `line` and `column` are 1-based, in and out (a column below 1 is taken as 1).
 * The closest mapping at or before the column on its line is used, else (unless `firstAfter` is
 * false) the first one after it.
 * The original file is an absolute path, or the map's URL as it is for other schemes
 * (`webpack://…`). Never throws.
 */
export function mapPosition(file: string, line: number, column: number, firstAfter = true): MappedPosition | null {
  if (!Number.isInteger(line) || line < 1) return null;
  let entry = mapped.get(file);
  if (entry === undefined) {
    entry = load(file);
    remember(file, entry);
  }
  if (entry === null) return null;
  const line0 = line - 1;
  const col0 = Number.isInteger(column) && column > 1 ? column - 1 : 0;
  try {
    let found = entry.map.findEntry(line0, col0);
    if (found.generatedLine !== line0) {
      if (!firstAfter) return null;
      // Nothing at or before the column on this line (e.g. the column of its indentation): the
      // first mapping after it on the same line, found by bisection over columns.
      const end = entry.map.findEntry(line0, 0x7fffffff);
      if (end.generatedLine !== line0) return null;
      let lo = col0;
      let hi = 0x7fffffff;
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (entry.map.findEntry(line0, mid).generatedLine === line0) hi = mid;
        else lo = mid;
      }
      found = entry.map.findEntry(line0, hi);
    }
    const { originalSource, originalLine, originalColumn } = found;
    if (typeof originalSource !== 'string' || typeof originalLine !== 'number' || originalLine < 0) return null;
    return {
      file: originalFile(entry, originalSource),
      line: originalLine + 1,
      column: typeof originalColumn === 'number' && originalColumn >= 0 ? originalColumn + 1 : 1,
    };
  } catch (err) {
    log('source map of %s is broken: %o', file, err);
    remember(file, null);
    return null;
  }
}

function remember(file: string, entry: MappedFile | null): void {
  const old = mapped.get(file);
  if (old != null) mappedBytes -= old.bytes;
  const bytes = entry?.bytes ?? 0;
  if (!mapped.has(file) && (mapped.size >= MAX_CACHED_MAPS || mappedBytes + bytes > MAX_CACHED_MAP_BYTES)) clearSourceMapCache();
  mapped.set(file, entry);
  mappedBytes += bytes;
}

/** Bytes held by the source-map cache (parsed maps, estimated from their size). */
export function sourceMapCacheBytes(): number {
  return mappedBytes + mapped.size * 120;
}

/** Forgets every cached map (they are read again when needed). */
export function clearSourceMapCache(): void {
  mapped.clear();
  originals.clear();
  mappedBytes = 0;
}

/** The text of a regular file of at most `MAX_MAP_BYTES`, or `null` (absent, special, too big). */
function readRegular(file: string): string | null {
  return readRegularFile(file, MAX_MAP_BYTES);
}

/** Node's cached map of `source` (a path), if the runtime has one. */
function runtimeMap(source: string): NodeSourceMap | null {
  const find = (nodeModule as { findSourceMap?: (p: string) => NodeSourceMap | undefined }).findSourceMap;
  if (typeof find !== 'function') return null;
  try {
    return find(source) ?? find(pathToFileURL(source).href) ?? null;
  } catch {
    return null;
  }
}

/**
 * True for a file of node_modules that V8 compiled as it is on disk, so that the disk text's map
 * comment, or its lack of one, is the script's, and asking V8 (scripts.ts: a Debugger round,
 * 80-250 ms at the exit of tsc or ESLint, whose heaps hold tens of thousands of compiled
 * functions) would learn nothing. That holds for what Node's own loaders compile: transpiling
 * require hooks and loaders leave node_modules alone by default, and a file Node's CommonJS
 * loader compiled is in its cache. Test runners that transform dependencies on request compile
 * from memory (Jest, Vitest: they set JEST_WORKER_ID and VITEST): there, files not in Node's cache
 * are still asked about. A hook told to transform a dependency outside those runners loses the
 * mapping of that dependency's frames (docs/source-maps.md).
 */
function compiledFromDisk(source: string): boolean {
  if (!source.includes(`${path.sep}node_modules${path.sep}`)) return false;
  const cache = (nodeModule as unknown as { _cache?: Record<string, unknown> })._cache;
  if (typeof cache === 'object' && cache !== null && Object.hasOwn(cache, source)) return true;
  return process.env.JEST_WORKER_ID === undefined && process.env.VITEST === undefined;
}

/** Finds and parses the map of `file`; `null` when there is none or it cannot be used. */
function load(file: string): MappedFile | null {
  let source: string;
  try {
    source = file.startsWith('file:') ? fileURLToPath(file) : file;
  } catch {
    return null;
  }
  if (!path.isAbsolute(source)) return null;
  const runtime = runtimeMap(source);
  // Node's own cache holds that map: only our reference and index are ours.
  if (runtime !== null) return describe(runtime, 1024);
  // The map comment of the file on disk, else the one V8 recorded for the code that ran (a
  // runner's or loader's transform of the file, compiled from memory: see scripts.ts).
  const text = readRegular(source);
  let url: string | null = null;
  if (text !== null) for (const m of text.matchAll(SOURCE_MAPPING_URL)) url = m[1] ?? m[2] ?? null;
  if (url === null && !compiledFromDisk(source)) url = scriptSourceMapURL(source) || null;
  if (url === null) return null;
  try {
    let json: string | null;
    let mapUrl: string;
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      if (comma < 0) throw new Error('a data: URL without a comma');
      const meta = url.slice(5, comma);
      const data = url.slice(comma + 1);
      json = meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
      mapUrl = source;
    } else {
      mapUrl = URL_SCHEME.test(url) ? url : path.resolve(path.dirname(source), decodeURIComponentSafe(url));
      const mapFile = mapUrl.startsWith('file:') ? fileURLToPath(mapUrl) : mapUrl;
      json = URL_SCHEME.test(mapFile) ? null : readRegular(mapFile);
      if (json === null) {
        log('source map of %s not found at %s', file, url);
        return null;
      }
    }
    const raw: unknown = JSON.parse(json.replace(/^\)\]\}'[^\n]*\n/, ''));
    const payload = resolveSources(raw, mapUrl);
    const SourceMap = (nodeModule as unknown as { SourceMap: new (payload: unknown) => NodeSourceMap }).SourceMap;
    return describe(new SourceMap(payload), json.length * PARSED_BYTES_PER_JSON_BYTE);
  } catch (err) {
    if (err instanceof BrokenMappings) log('source map of %s is broken: %o', file, err);
    else log('cannot read the source map of %s: %o', file, err);
    return null;
  }
}

class BrokenMappings extends Error {
  constructor() {
    super('its mappings are not base64 VLQ');
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface RawSection {
  version?: unknown;
  sourceRoot?: unknown;
  sources?: unknown;
  sourcesContent?: unknown;
  mappings?: unknown;
  names?: unknown;
}

/** A copy of the map whose sources are our names of them: absolute paths, or URLs as they are. */
function resolveSources(map: unknown, mapUrl: string): unknown {
  if (typeof map !== 'object' || map === null) throw new TypeError('the source map is not an object');
  const raw = map as RawSection & { sections?: unknown };
  if (Array.isArray(raw.sections)) {
    return {
      ...raw,
      sections: raw.sections.map((section: { offset?: unknown; map?: unknown } | null) => ({
        offset: section?.offset,
        map: resolveSources(section?.map ?? {}, mapUrl),
      })),
    };
  }
  if (!Array.isArray(raw.sources)) throw new TypeError('the source map has no sources');
  if (typeof raw.mappings !== 'string') throw new TypeError('the source map has no mappings');
  // Node's decoder skips what is not base64 VLQ: a corrupt map would map to wrong lines, silently.
  if (!/^[A-Za-z0-9+/,;]*$/.test(raw.mappings)) throw new BrokenMappings();
  const root = typeof raw.sourceRoot === 'string' ? raw.sourceRoot : '';
  return {
    ...raw,
    sourceRoot: '',
    names: Array.isArray(raw.names) ? raw.names : [],
    sources: raw.sources.map((name: unknown) => resolveOriginal(mapUrl, joinSourceRoot(root, String(name)))),
  };
}

/** The originals' `sourcesContent` of a parsed map, by source name. */
function describe(map: NodeSourceMap, bytes: number): MappedFile {
  const contents = new Map<string, string>();
  const collect = (section: RawSection): void => {
    const sources = Array.isArray(section.sources) ? section.sources : [];
    const texts = Array.isArray(section.sourcesContent) ? section.sourcesContent : [];
    sources.forEach((name: unknown, i: number) => {
      const text: unknown = texts[i];
      if (typeof name === 'string' && typeof text === 'string') contents.set(name, text);
    });
  };
  const payload = map.payload as RawSection & { sections?: unknown };
  if (Array.isArray(payload.sections)) for (const s of payload.sections as { map?: RawSection }[]) collect(s?.map ?? {});
  else collect(payload);
  return { map, bytes, contents };
}

/** The map's `sourceRoot` prepended to a source, as browsers and source-map do. */
function joinSourceRoot(root: string, name: string): string {
  if (root === '' || URL_SCHEME.test(name)) return name;
  return root.endsWith('/') || name.startsWith('/') ? root + name : `${root}/${name}`;
}

/**
 * Our name of an original: an absolute path for a relative or absolute path and for a `file:`
 * URL; other URLs as they are.
 */
function resolveOriginal(mapUrl: string, name: string): string {
  if (URL_SCHEME.test(name)) return filePath(name);
  if (URL_SCHEME.test(mapUrl)) return filePath(new URL(name, mapUrl).href);
  return path.resolve(path.dirname(mapUrl), name);
}

/** Our name for a source of the map; its `sourcesContent` serves its lines when it is not on disk. */
function originalFile(entry: MappedFile, name: string): string {
  const file = filePath(name);
  const content = entry.contents.get(name);
  if (content !== undefined && !originals.has(file) && (URL_SCHEME.test(file) || !isRegularFile(file))) {
    originals.set(file, content); // counted in the map's bytes, dropped with the cache
  }
  return file;
}

function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    return false;
  }
}

/** A `file:` URL as a path; anything else (or a URL that is no local path) as it is. */
function filePath(url: string): string {
  if (!url.startsWith('file:')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

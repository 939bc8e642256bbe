/**
 * Generated positions -> original positions through `source-map-support`'s `mapSourcePosition`,
 * without installing it (the host's `Error.prepareStackTrace` is left alone). Maps are found as
 * that package finds them: the last `//# sourceMappingURL=` comment of the generated file, an
 * external file relative to it or an inline base64 `data:` URL. A map's `sourcesContent` is
 * registered with `registerSource` for originals that are not on disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import * as sms from 'source-map-support';
import { registerSource } from './source.js';

const log = debuglog('tracemalloc');
const CACHE_LIMIT = 10_000;
// source-map's biases: the closest mapping at or before the column, or at or after it.
const GREATEST_LOWER_BOUND = 1;
const LEAST_UPPER_BOUND = 2;
// source-map-support's own test for a map comment (it keeps the last match).
const SOURCE_MAPPING_URL =
  /(?:\/\/[@#][\s]*sourceMappingURL=([^\s'"]+)[\s]*$)|(?:\/\*[@#][\s]*sourceMappingURL=([^\s*'"]+)[\s]*(?:\*\/)[\s]*$)/m;
// An absolute URL (`webpack://`, `file:`, `data:`); one-letter schemes are Windows drives.
const URL_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]+:/;

/** An original position: `line` and `column` are 1-based. */
export interface MappedPosition {
  file: string;
  line: number;
  column: number;
}

interface MappedFile {
  /** The generated file as a path: the key of source-map-support's caches. */
  readonly source: string;
  /** source-map-support's name of each original -> its index in `files`. */
  readonly names: Map<string, number>;
  /** Our name of each original: an absolute path, or a URL kept as it is. */
  readonly files: string[];
  /** `sourcesContent` of each original not yet registered (`null` once done or when absent). */
  readonly contents: (string | null)[];
}

interface RawSection {
  sourceRoot?: unknown;
  sources?: unknown;
  sourcesContent?: unknown;
}

// generated file (as given) -> its map, or null when it has none (or a broken one).
const mapped = new Map<string, MappedFile | null>();

/**
 * Maps a position in generated code to the original source, or returns `null` when the file has
 * no source map (or a broken one) or the position has no mapping. `file` is an absolute path or
 * a `file://` URL; `line` and `column` are 1-based, in and out (a column below 1 is taken as 1).
 * The original file is an absolute path, or the map's URL as it is for other schemes
 * (`webpack://…`). Never throws.
 */
export function mapPosition(file: string, line: number, column: number): MappedPosition | null {
  if (!Number.isInteger(line) || line < 1) return null;
  let entry = mapped.get(file);
  if (entry === undefined) {
    entry = load(file);
    if (mapped.size >= CACHE_LIMIT) mapped.clear();
    mapped.set(file, entry);
  }
  if (entry === null) return null;
  const col0 = Number.isInteger(column) && column > 1 ? column - 1 : 0;
  try {
    // source-map-support: line 1-based, column 0-based, in and out; it returns its argument
    // itself when nothing maps. The bias is passed through to source-map's originalPositionFor.
    let position = { source: entry.source, line, column: col0, bias: GREATEST_LOWER_BOUND };
    let original = sms.mapSourcePosition(position);
    if (original === position) {
      // Nothing at or before the column on this line (e.g. the column of its indentation).
      position = { source: entry.source, line, column: col0, bias: LEAST_UPPER_BOUND };
      original = sms.mapSourcePosition(position);
      if (original === position) return null;
    }
    if (typeof original.source !== 'string' || typeof original.line !== 'number' || original.line < 1) {
      return null;
    }
    return {
      file: originalFile(entry, original.source),
      line: original.line,
      column: typeof original.column === 'number' && original.column >= 0 ? original.column + 1 : 1,
    };
  } catch (err) {
    // source-map parses `mappings` lazily: a corrupt one throws here, on the first lookup.
    log('source map of %s is broken: %o', file, err);
    mapped.set(file, null);
    return null;
  }
}

/** Finds and reads the map of `file`; `null` when there is none or it cannot be used. */
function load(file: string): MappedFile | null {
  try {
    const source = file.startsWith('file:') ? fileURLToPath(file) : file;
    if (!path.isAbsolute(source)) return null;
    // Our own look at the file first: source-map-support keeps the text of every file it reads,
    // so files without a map comment (most of them) are never handed to it.
    let text: string | null = null;
    try {
      text = fs.readFileSync(source, 'utf8');
    } catch {
      // Not on disk: a retrieveFile handler installed by the host may still know it.
    }
    if (text !== null && !SOURCE_MAPPING_URL.test(text)) return null;
    const found = sms.retrieveSourceMap(source);
    if (found === null) {
      if (text !== null) log('source map of %s not found', file);
      return null;
    }
    const map: unknown =
      typeof found.map === 'string' ? JSON.parse(found.map.replace(/^\)\]\}'[^\n]*\n/, '')) : found.map;
    return describe(source, found.url, map);
  } catch (err) {
    log('cannot read the source map of %s: %o', file, err);
    return null;
  }
}

/** The originals of a parsed map, named as source-map-support names them and as we do. */
function describe(source: string, mapUrl: string | undefined, map: unknown): MappedFile | null {
  if (typeof map !== 'object' || map === null) throw new TypeError('the source map is not an object');
  const raw = map as RawSection & { sections?: unknown };
  let sections: RawSection[];
  if (Array.isArray(raw.sections)) {
    sections = raw.sections.map((section: { map?: RawSection } | null) => section?.map ?? {});
  } else if (Array.isArray(raw.sources)) {
    sections = [raw];
  } else {
    throw new TypeError('the source map has no sources');
  }
  const entry: MappedFile = { source, names: new Map(), files: [], contents: [] };
  for (const section of sections) {
    const root = typeof section.sourceRoot === 'string' ? section.sourceRoot : '';
    const sources = Array.isArray(section.sources) ? section.sources : [];
    const contents = Array.isArray(section.sourcesContent) ? section.sourcesContent : [];
    sources.forEach((name: unknown, i: number) => {
      const joined = joinSourceRoot(root, String(name));
      entry.names.set(relativeTo(mapUrl, joined), entry.files.length);
      entry.files.push(resolveOriginal(mapUrl, joined));
      const content: unknown = contents[i];
      entry.contents.push(typeof content === 'string' ? content : null);
    });
  }
  return entry;
}

/** The map's `sourceRoot` prepended to a source, as source-map 0.6 does (and Chrome). */
function joinSourceRoot(root: string, name: string): string {
  if (root === '' || URL_SCHEME.test(name)) return name;
  return root.endsWith('/') || name.startsWith('/') ? root + name : `${root}/${name}`;
}

/** source-map-support's `supportRelativeURL`: how it names an original relative to the map. */
function relativeTo(mapUrl: string | undefined, name: string): string {
  if (!mapUrl) return name;
  const dir = path.dirname(mapUrl);
  const protocol = /^\w+:\/\/[^/]*/.exec(dir)?.[0] ?? '';
  const start = dir.slice(protocol.length);
  if (protocol !== '' && /^\/\w:/.test(start)) {
    return `${protocol}/${path.resolve(dir.slice(protocol.length + 1), name).replace(/\\/g, '/')}`;
  }
  return protocol + path.resolve(start, name);
}

/**
 * Our name of an original: an absolute path for a relative or absolute path and for a `file:`
 * URL; other URLs as they are. source-map-support resolves URLs as paths (`webpack://x/a.ts`
 * becomes `<map dir>/webpack:/x/a.ts`), hence this separate resolution.
 */
function resolveOriginal(mapUrl: string | undefined, name: string): string {
  if (URL_SCHEME.test(name)) return filePath(name);
  if (!mapUrl) return name;
  if (URL_SCHEME.test(mapUrl)) return filePath(new URL(name, mapUrl).href);
  return path.resolve(path.dirname(mapUrl), name);
}

/** Our name for source-map-support's `name`, registering its `sourcesContent` on first use. */
function originalFile(entry: MappedFile, name: string): string {
  // A one-source map needs no matching (and is immune to naming quirks).
  const index = entry.files.length === 1 ? 0 : entry.names.get(name);
  if (index === undefined) return filePath(name);
  const file = entry.files[index]!;
  const content = entry.contents[index];
  if (content !== null && content !== undefined) {
    entry.contents[index] = null;
    if (URL_SCHEME.test(file) || !fs.existsSync(file)) registerSource(file, content);
  }
  return file;
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

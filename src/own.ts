/**
 * Whose code is a frame: the one place that decides whether a frame or stack entry is this
 * library's own code, however the library is installed.
 *
 * Every module of the library records, when it loads, the script it was compiled into and the
 * position range it occupies there: `enter()` is called by its first statement and `leave()` by
 * its last (the build adds both calls to every file of dist/, see scripts/own-markers.js; this
 * module marks itself). A frame is ours when its script and position lie in one of those ranges.
 * Function positions (heap samples) and call positions (captured stacks) of a module's code both
 * lie between its first and last statement, in a file of its own (node_modules, a linked package,
 * two copies) as well as inside an app's bundle, minified or not, where a directory says nothing:
 * a bundle holds the app's code and ours in one file.
 *
 * The registry is shared by every copy of the library loaded in the process (a global keyed by a
 * registered symbol), so one copy's tracer never takes another copy's work for the program's.
 * Code of the library run from its TypeScript sources without the build (tsx, ts-node on src/)
 * has no markers: its files are recognised by directory, which is exact there (one file a module).
 */
import { basename, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Intrinsics, read once before anything is patched; then this module's own range starts (it
// cannot require itself, so it marks itself: nothing above this line but imports and intrinsics).
const NativeError = Error;
const captureStackTrace = Error.captureStackTrace;
const OWN_MODULE = enter();

/** A 1-based position in a script. */
interface Range {
  readonly startLine: number;
  readonly startColumn: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly owner: 'own' | 'neutral';
}

interface Registry {
  /** Script (a path, or the URL as V8 gives it when it is no file) -> ranges of the library's modules in it. */
  readonly scripts: Map<string, Range[]>;
  /**
   * Directories whose files are the library's: `'always'` when it runs from its sources (no
   * markers); `'unmarked'` for its built dist/, used only for files without ranges (when the
   * markers could not record: a host froze `Error.prepareStackTrace`).
   */
  readonly dirs: Map<string, 'always' | 'unmarked'>;
}

const REGISTRY_KEY = Symbol.for('tracemalloc.ownCode.v1');

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (r === undefined) {
    r = { scripts: new Map(), dirs: new Map() };
    Object.defineProperty(globalThis, REGISTRY_KEY, { value: r, enumerable: false, configurable: true, writable: false });
  }
  return r;
}

const REGISTRY = registry();

// ---- Call sites, read once before anything can patch them ----

/** V8's structured call site (the methods this library reads). */
export interface CallSite {
  getFileName(): string | null | undefined;
  getScriptNameOrSourceURL?(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
  isToplevel(): boolean;
  isConstructor(): boolean;
  isNative(): boolean;
  isAsync?(): boolean;
}

type ErrorStatics = Record<'stackTraceLimit' | 'prepareStackTrace', unknown>;
function returnSites(_holder: unknown, sites: readonly CallSite[]): readonly CallSite[] {
  return sites;
}

/** Sets a static of `Error` for the capture; returns false when it cannot be changed. */
function setStatic(E: ErrorStatics, key: keyof ErrorStatics, value: unknown, desc: PropertyDescriptor | undefined): boolean {
  if (desc === undefined || ('value' in desc && desc.writable === true)) {
    E[key] = value;
    return true;
  }
  if (desc.configurable !== true) return false;
  Object.defineProperty(E, key, { value, writable: true, enumerable: desc.enumerable ?? false, configurable: true });
  return true;
}

/** Puts back what `setStatic` changed: the same value and the same descriptor. */
function restoreStatic(E: ErrorStatics, key: keyof ErrorStatics, desc: PropertyDescriptor | undefined): void {
  if (desc === undefined) delete E[key];
  else if ('value' in desc && desc.writable === true) E[key] = desc.value;
  else Object.defineProperty(E, key, desc);
}

/**
 * V8's call sites below `callee`, at most `limit`, most recent first. `Error.stackTraceLimit` and
 * `Error.prepareStackTrace` are set for the capture only (a host's formatter, such as
 * source-map-support's or Node's `--enable-source-maps`, is bypassed) and restored exactly.
 * Empty when the host froze them.
 */
export function captureCallSites(callee: Function, limit: number): readonly CallSite[] {
  const limitOwner = NativeError as unknown as ErrorStatics; // V8 reads the limit from the intrinsic
  const formatOwner = (globalThis.Error ?? NativeError) as unknown as ErrorStatics; // Node reads the global's
  const limitDesc = Reflect.getOwnPropertyDescriptor(limitOwner, 'stackTraceLimit');
  const formatDesc = Reflect.getOwnPropertyDescriptor(formatOwner, 'prepareStackTrace');
  let limitSet = false;
  let formatSet = false;
  try {
    limitSet = setStatic(limitOwner, 'stackTraceLimit', limit, limitDesc);
    formatSet = setStatic(formatOwner, 'prepareStackTrace', returnSites, formatDesc);
    if (!formatSet) return [];
    const holder: { stack?: unknown } = {};
    captureStackTrace(holder, callee);
    const stack = holder.stack; // formatted now, while our formatter is in place
    return Array.isArray(stack) ? (stack as CallSite[]) : [];
  } finally {
    if (formatSet) restoreStatic(formatOwner, 'prepareStackTrace', formatDesc);
    if (limitSet) restoreStatic(limitOwner, 'stackTraceLimit', limitDesc);
  }
}

/** A script's name as frames give it: `file://` URLs as paths, anything else as it is. */
export function scriptKey(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url;
}

/** The position of the frame right below `callee` on the stack: where `callee` was called from. */
function callerPosition(callee: Function): { file: string; line: number; column: number } | null {
  const site = captureCallSites(callee, 1)[0];
  if (site === undefined) return null;
  const file = site.getFileName() ?? site.getScriptNameOrSourceURL?.() ?? null;
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (typeof file !== 'string' || file === '' || line === null || column === null) return null;
  return { file: scriptKey(file), line, column };
}

/** The start of a module's range, returned by `enter()`; `leave()` closes it. */
export interface OwnModule {
  /** Called by the module's last statement: the module's range ends at this call. */
  leave(): void;
}

/**
 * Called by a module's first statement: its range starts at this call. Also marks a region inside
 * a module (the narrowest range holding a position decides): `'neutral'` for code that works on
 * behalf of its caller (the external domain's wrappers call the builtins they wrap, so what is
 * allocated below them is the caller's).
 */
export function enter(owner: 'own' | 'neutral' = 'own'): OwnModule {
  const start = callerPosition(enter);
  if (start === null) return { leave() {} };
  const leave = (): void => {
    const end = callerPosition(leave);
    if (end === null || end.file !== start.file) return;
    addRange(start.file, { startLine: start.line, startColumn: start.column, endLine: end.line, endColumn: end.column, owner });
  };
  return { leave };
}

function addRange(file: string, range: Range): void {
  let ranges = REGISTRY.scripts.get(file);
  if (ranges === undefined) {
    ranges = [];
    REGISTRY.scripts.set(file, ranges);
  }
  for (const r of ranges) {
    if (r.startLine === range.startLine && r.startColumn === range.startColumn && r.endLine === range.endLine && r.endColumn === range.endColumn) return;
  }
  ranges.push(range);
  // Narrowest first: a neutral module never nests in an own one, but a region may (see `enter`).
  ranges.sort((a, b) => span(a) - span(b));
}

function span(r: Range): number {
  return (r.endLine - r.startLine) * 1e7 + (r.endColumn - r.startColumn);
}

function before(l1: number, c1: number, l2: number, c2: number): boolean {
  return l1 < l2 || (l1 === l2 && c1 <= c2);
}

/**
 * `'own'` or `'neutral'` when the 1-based position `line`:`column` of script `file` (a path or
 * URL as V8 or a stack gives it) is the library's code, `null` when it is not.
 */
export function ownerAt(file: string, line: number, column: number): 'own' | 'neutral' | null {
  const key = scriptKey(file);
  const ranges = REGISTRY.scripts.get(key);
  if (ranges !== undefined) {
    for (const r of ranges) {
      if (before(r.startLine, r.startColumn, line, column) && before(line, column, r.endLine, r.endColumn)) return r.owner;
    }
  }
  if (REGISTRY.dirs.size > 0) {
    const dir = dirname(key) + sep;
    for (const [d, mode] of REGISTRY.dirs) {
      if (dir.startsWith(d) && (mode === 'always' || ranges === undefined)) return 'own';
    }
  }
  return null;
}

/** Is the 1-based position `line`:`column` of `file` the library's own code (neutral wrappers included)? */
export function isOwnPosition(file: string, line: number, column: number): boolean {
  return ownerAt(file, line, column) !== null;
}

/** A call frame of V8's profile (0-based positions). */
export interface ProfileCallFrame {
  readonly url: string;
  readonly scriptId: string | number;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** Who a call frame speaks for when deciding whose allocation a sample is. */
export type FrameOwner = 'own' | 'user' | 'neutral';

/**
 * `'own'` for the tracer's code, `'neutral'` for code that works on behalf of its caller (Node's
 * internals, dependencies in node_modules, V8 builtins, the external-domain wrappers), `'user'`
 * for the rest. The nearest non-neutral frame to the allocation owns it.
 */
export function frameOwner(cf: ProfileCallFrame): FrameOwner {
  const url = cf.url;
  if (cf.scriptId === '0' || cf.scriptId === '' || cf.scriptId === 0 || url.startsWith('node:')) return 'neutral';
  const mine = ownerAt(url, cf.lineNumber + 1, cf.columnNumber + 1);
  if (mine !== null) return mine;
  return url.includes('/node_modules/') ? 'neutral' : 'user';
}

/** A directory whose files are the library's (see `Registry.dirs`). */
function registerDirectory(dir: string, mode: 'always' | 'unmarked'): void {
  REGISTRY.dirs.set(dir.endsWith(sep) ? dir : dir + sep, mode);
}

/**
 * This module's own file name: `own.ts` run from sources, `own.js` built; anything else means the
 * library was bundled into another file (where `__filename` is the bundle's, or undefined in ESM).
 */
function ownFileName(): string | null {
  return typeof __filename === 'string' ? __filename : null;
}

const SELF = ownFileName();
/** True when this module runs from its TypeScript source (no build step, so no markers). */
export const FROM_SOURCES = SELF !== null && basename(SELF) === 'own.ts';
if (FROM_SOURCES) registerDirectory(dirname(SELF!), 'always');
// Built and not bundled (this file is dist/own.js): dist/ is ours wherever its markers are missing.
else if (SELF !== null && basename(SELF) === 'own.js') registerDirectory(dirname(SELF), 'unmarked');

/**
 * Throws unless the library can tell its own frames from the program's here: the frame of the
 * function that calls this (a function of the library, e.g. `start`) must be classified as its
 * own. A bundle built from the library's sources without its build step has no markers, and every
 * sample of the tracer would then be taken for the program's: this fails loudly instead.
 */
export function assertOwnCodeKnown(): void {
  const at = callerPosition(assertOwnCodeKnown);
  if (at === null) return; // no stack to read (a host froze Error): nothing is decided by stacks either
  if (ownerAt(at.file, at.line, at.column) === 'own') return;
  const err = new Error(
    `tracemalloc cannot tell its own code from the program's in ${at.file}: the library's modules ` +
      'carry no position markers there (its build adds them to dist/). Bundle the published ' +
      'package (its dist/ files, as installed from npm), or keep it out of the bundle ' +
      '(esbuild --packages=external or --external:tracemalloc, webpack externals).',
  );
  (err as Error & { code: string }).code = 'ERR_TRACEMALLOC_OWN_CODE_UNKNOWN';
  throw err;
}

/**
 * Does the stack below `callee` hold a frame of the program (not the library's, not Node's, not
 * node_modules)? `null` when the stack has no frame that could be (all of Node or node_modules).
 * `false` means the program's own code is taken for the library's: its samples would be dropped.
 */
export function stackShowsProgram(callee: Function): boolean | null {
  let candidates = 0;
  for (const site of captureCallSites(callee, 64)) {
    const file = site.getFileName() ?? '';
    const line = site.getLineNumber();
    if (file === '' || line === null || file.startsWith('node:')) continue;
    const mine = ownerAt(file, line, site.getColumnNumber() ?? 0);
    if (mine === null && scriptKey(file).includes(`${sep}node_modules${sep}`)) continue;
    candidates++;
    if (mine === null) return true;
  }
  return candidates === 0 ? null : false;
}

/** The ranges known, for tests and diagnostics: script -> [startLine, startColumn, endLine, endColumn, owner][]. */
export function ownRanges(): Map<string, Array<[number, number, number, number, 'own' | 'neutral']>> {
  const out = new Map<string, Array<[number, number, number, number, 'own' | 'neutral']>>();
  for (const [file, ranges] of REGISTRY.scripts) out.set(file, ranges.map((r) => [r.startLine, r.startColumn, r.endLine, r.endColumn, r.owner]));
  return out;
}

// This module's range ends here.
OWN_MODULE.leave();

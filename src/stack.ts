/**
 * JavaScript stacks captured at a call (the external domain's sampled allocations, `track()`):
 * V8's structured call sites, whatever `Error.prepareStackTrace` the host installed, kept as a
 * compact text and parsed into frames with exact 1-based call lines, this package's own frames
 * dropped (decided by own.ts), `file://` URLs as paths and source maps applied.
 */
import type { ResolvedFrame } from './profile.js';
import { captureCallSites, ownerAt, scriptKey, type CallSite } from './own.js';
import { mapPosition } from './sourcemap.js';

/** A parsed stack, shared by the samples taken at the same place. */
export interface Site {
  /** The `nframe` most recent frames, most recent first; never empty. */
  readonly frames: readonly ResolvedFrame[];
  /** Frames in the whole stack, or `null` when the capture was cut at its limit. */
  readonly total: number | null;
  /**
   * The library's own allocation: the nearest frame to the call that is not neutral (Node's
   * internals, node_modules, the external domain's wrappers) is the library's, as `frameOwner`
   * decides for heap samples. Such samples are the tracer's, not the program's.
   */
  readonly own: boolean;
}

// Separators of the stack text: no file name, function name or number holds them in practice,
// and a frame that does is only misnamed, never mixed with another sample's.
const FIELD = '\u0000';
const FRAME = '\u0001';

/** A call site's function name, as V8 prints it (`Type.method`, `new Class`, `async f`), or ''. */
function siteName(site: CallSite): string {
  const fn = site.getFunctionName();
  let name: string;
  if (site.isConstructor()) {
    name = `new ${fn ?? '<anonymous>'}`;
  } else if (!site.isToplevel()) {
    const type = site.getTypeName();
    const method = site.getMethodName();
    const base = fn ?? method ?? '<anonymous>';
    name = type !== null && type !== '' && !base.startsWith(`${type}.`) ? `${type}.${base}` : base;
  } else {
    name = fn ?? '';
  }
  return site.isAsync?.() === true && name !== '' ? `async ${name}` : name;
}

/**
 * The stack below `callee`, at most `limit` frames, as text (the key that samples taken at the
 * same place share): V8's structured call sites, so file names with spaces or parentheses and
 * eval frames are read exactly, whatever `Error.prepareStackTrace` the host set (it is bypassed).
 * Builtins (no file) are left out.
 */
export function captureStack(callee: Function, limit: number): string {
  return stackText(captureCallSites(callee, limit));
}

/** The text `captureStack` makes of call sites already captured (external-stack.ts's cache misses). */
export function stackText(sites: readonly CallSite[]): string {
  let text = `${sites.length}`;
  for (const site of sites) {
    if (site.isNative()) continue;
    const file = site.getFileName() ?? site.getScriptNameOrSourceURL?.() ?? '';
    const line = site.getLineNumber();
    if (line === null) continue; // a builtin: folded into its caller
    text += `${FRAME}${file === '' ? '<anonymous>' : file}${FIELD}${line}${FIELD}${site.getColumnNumber() ?? 0}${FIELD}${siteName(site)}`;
  }
  return text;
}

/**
 * Stack text (from `captureStack`, at most `limit` frames) -> the `nframe` most recent frames:
 * builtins and this package's frames dropped, URLs as paths, source maps applied.
 */
export function parseCapturedStack(stack: string, nframe: number, limit: number, sourceMaps: boolean): Site {
  const parts = stack.split(FRAME);
  const captured = Number(parts[0]);
  const frames: ResolvedFrame[] = [];
  let total = 0;
  let owner: 'own' | 'user' | null = null;
  for (let i = 1; i < parts.length; i++) {
    const [file = '', lineText = '0', columnText = '0', name = ''] = parts[i]!.split(FIELD);
    const lineno = Number(lineText);
    const column = Number(columnText);
    const mine = ownerAt(file, lineno, column);
    if (owner === null) {
      if (mine === 'own') owner = 'own';
      else if (mine === null && !file.startsWith('node:') && !file.includes('/node_modules/')) owner = 'user';
    }
    if (mine !== null) continue; // the library's own frames
    total++;
    if (frames.length >= nframe) continue;
    const filename = scriptKey(file);
    let frame: ResolvedFrame = { filename, lineno, column, functionName: name === '' ? null : name };
    if (sourceMaps) {
      const mapped = mapPosition(filename, lineno, Math.max(column, 1));
      if (mapped !== null) frame = { ...frame, filename: mapped.file, lineno: mapped.line, column: mapped.column };
    }
    frames.push(frame);
  }
  if (frames.length === 0) frames.push({ filename: '<unknown>', lineno: 0, column: 0, functionName: null });
  return { frames, total: captured >= limit ? null : Math.max(total, 1), own: owner === 'own' };
}

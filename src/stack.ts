/**
 * JavaScript stacks captured at a call (the external domain's sampled allocations, `track()`):
 * V8's call sites, whatever `Error.prepareStackTrace` the host installed, parsed with
 * `stacktrace-parser` into frames with exact 1-based call lines, this package's own frames
 * dropped, `file://` URLs as paths and source maps applied.
 */
import * as path from 'node:path';
import { parse as parseStack } from 'stacktrace-parser';
import type { ResolvedFrame } from './profile.js';
import { urlToFilename } from './resolve.js';
import { mapPosition } from './sourcemap.js';

// Intrinsics, read once before anything is patched.
const NativeError = Error;
const captureStackTrace = Error.captureStackTrace;
const callSiteToString = (site: unknown): string => String(site);

/** A parsed stack, shared by the samples taken at the same place. */
export interface Site {
  /** The `nframe` most recent frames, most recent first; never empty. */
  readonly frames: readonly ResolvedFrame[];
  /** Frames in the whole stack, or `null` when the capture was cut at its limit. */
  readonly total: number | null;
}

const PACKAGE_ROOT = path.resolve(__dirname, '..');
const OWN_DIRS = [path.join(PACKAGE_ROOT, 'dist') + path.sep, path.join(PACKAGE_ROOT, 'src') + path.sep];

function isOwnFile(filename: string): boolean {
  return filename.startsWith(OWN_DIRS[0]!) || filename.startsWith(OWN_DIRS[1]!);
}

/** V8's own format of frames (what Node prints), whatever `Error.prepareStackTrace` the host set. */
function formatCallSites(_holder: unknown, callSites: readonly unknown[]): string {
  let text = 'Error';
  for (const site of callSites) text += `\n    at ${callSiteToString(site)}`;
  return text;
}

type ErrorStatics = Record<'stackTraceLimit' | 'prepareStackTrace', unknown>;

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
 * The stack below `callee` as V8 prints it, at most `limit` frames. `Error.stackTraceLimit` and
 * `Error.prepareStackTrace` are set for the capture only (a host's formatter, such as
 * source-map-support's, is bypassed) and restored exactly.
 */
export function captureStack(callee: Function, limit: number): string {
  const limitOwner = NativeError as unknown as ErrorStatics; // V8 reads the limit from the intrinsic
  const formatOwner = (globalThis.Error ?? NativeError) as unknown as ErrorStatics; // Node reads the global's
  const limitDesc = Reflect.getOwnPropertyDescriptor(limitOwner, 'stackTraceLimit');
  const formatDesc = Reflect.getOwnPropertyDescriptor(formatOwner, 'prepareStackTrace');
  let limitSet = false;
  let formatSet = false;
  try {
    limitSet = setStatic(limitOwner, 'stackTraceLimit', limit, limitDesc);
    formatSet = setStatic(formatOwner, 'prepareStackTrace', formatCallSites, formatDesc);
    const holder: { stack?: unknown } = {};
    captureStackTrace(holder, callee);
    const stack = holder.stack; // formatted now, while our formatter is in place
    return typeof stack === 'string' ? stack : '';
  } finally {
    if (formatSet) restoreStatic(formatOwner, 'prepareStackTrace', formatDesc);
    if (limitSet) restoreStatic(limitOwner, 'stackTraceLimit', limitDesc);
  }
}

/**
 * Stack text (from `captureStack`, at most `limit` frames) -> the `nframe` most recent frames:
 * builtins and this package's frames dropped, URLs as paths, source maps applied.
 */
export function parseCapturedStack(stack: string, nframe: number, limit: number, sourceMaps: boolean): Site {
  const parsed = parseStack(stack);
  const frames: ResolvedFrame[] = [];
  let total = 0;
  for (const f of parsed) {
    if (f.file === null || f.lineNumber === null) continue; // a builtin: folded into its caller
    const filename = urlToFilename(f.file);
    if (isOwnFile(filename)) continue;
    total++;
    if (frames.length >= nframe) continue;
    let frame: ResolvedFrame = {
      filename,
      lineno: f.lineNumber,
      column: f.column ?? 0,
      functionName: f.methodName === '<unknown>' ? null : f.methodName,
    };
    if (sourceMaps) {
      const mapped = mapPosition(filename, frame.lineno, Math.max(frame.column, 1));
      if (mapped !== null) frame = { ...frame, filename: mapped.file, lineno: mapped.line, column: mapped.column };
    }
    frames.push(frame);
  }
  if (frames.length === 0) frames.push({ filename: '<unknown>', lineno: 0, column: 0, functionName: null });
  return { frames, total: parsed.length >= limit ? null : Math.max(total, 1) };
}

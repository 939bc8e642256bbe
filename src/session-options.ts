/**
 * `start()`'s arguments, checked and given their defaults in one place.
 */
import { describeType, describeValue } from './format.js';

/** The default mean number of bytes between two heap samples (see docs/performance.md). */
export const DEFAULT_SAMPLING_INTERVAL = 64 * 1024;

export interface StartOptions {
  /** Frames kept per traceback, 1 to 65535 (same as the first argument). Default 1. */
  nframe?: number;
  /** Mean bytes between heap samples; smaller is more precise and costs more. */
  samplingInterval?: number;
  /** Trace ArrayBuffer/Buffer backing stores (domain 1). Default true. */
  external?: boolean;
  /** Map frames of generated code to the original sources. Default true. */
  sourceMaps?: boolean;
  /** Record a stack for every allocation so `getObjectTraceback` works (costly). Default false. */
  trackAllocations?: boolean;
  /** `'live'`: objects still alive (default); `'allocated'`: also objects already collected. */
  mode?: 'live' | 'allocated';
  /**
   * How hard a snapshot collects garbage before it reads V8's profile (see
   * docs/differences-from-python.md). `'full'` (default): one more full GC before the read's own,
   * both with V8's retention of dead objects' maps turned off, so a snapshot is the live set.
   * `'fast'`: only the one GC that reading the profile runs (about half the pause on a large heap),
   * but it may count garbage that V8 frees only a few full GCs later.
   */
  snapshotGC?: 'full' | 'fast';
}

export interface SessionOptions {
  readonly nframe: number;
  readonly samplingInterval: number;
  readonly external: boolean;
  readonly sourceMaps: boolean;
  readonly trackAllocations: boolean;
  readonly mode: 'live' | 'allocated';
  readonly snapshotGC: 'full' | 'fast';
}

const START_OPTIONS = ['nframe', 'samplingInterval', 'external', 'sourceMaps', 'trackAllocations', 'mode', 'snapshotGC'];

export function checkNframe(nframe: unknown): number {
  if (typeof nframe !== 'number' || !Number.isInteger(nframe)) {
    throw new TypeError(`the number of frames must be an integer, not ${typeof nframe === 'number' ? nframe : describeType(nframe)}`);
  }
  if (nframe < 1 || nframe > 65535) throw new RangeError('the number of frames must be in range [1; 65535]');
  return nframe;
}

function checkBoolean(options: StartOptions, name: keyof StartOptions, dflt: boolean): boolean {
  const value = options[name];
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new TypeError(`options.${name} must be a boolean, not ${describeType(value)}`);
  return value;
}

function checkChoice<T extends string>(options: StartOptions, name: keyof StartOptions, choices: readonly T[]): T {
  const value = options[name] ?? choices[0];
  if (!choices.includes(value as T)) {
    throw new RangeError(`options.${name} must be ${choices.map((c) => `'${c}'`).join(' or ')}, not ${String(value)}`);
  }
  return value as T;
}

/** `start(nframe?, options?)` or `start(options)` -> every option checked, with its default. */
export function parseStartArgs(nframe: unknown, options: unknown): SessionOptions {
  let opts = (options === undefined ? {} : options) as StartOptions;
  let n: unknown = nframe;
  if (nframe === null) throw new TypeError('the number of frames must be an integer, not null');
  if (typeof nframe === 'object') {
    if (options !== undefined) throw new TypeError('start(options) takes no second argument');
    opts = nframe as StartOptions;
    n = opts.nframe;
  } else if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`options must be an object, not ${describeType(opts)}`);
  } else if (opts.nframe !== undefined && nframe !== undefined && opts.nframe !== nframe) {
    throw new TypeError(`start(${String(nframe)}, { nframe: ${String(opts.nframe)} }) gives two different numbers of frames`);
  }
  for (const key of Object.keys(opts)) {
    if (!START_OPTIONS.includes(key)) throw new TypeError(`unknown option ${JSON.stringify(key)}: start() takes ${START_OPTIONS.join(', ')}`);
  }
  const limit = checkNframe(n ?? opts.nframe ?? 1);
  const interval = opts.samplingInterval ?? DEFAULT_SAMPLING_INTERVAL;
  if (typeof interval !== 'number') {
    throw new TypeError(`options.samplingInterval must be an integer number of bytes, not ${describeValue(interval)}`);
  }
  if (!Number.isInteger(interval) || interval < 1 || interval > 2 ** 31 - 1) {
    throw new RangeError(`options.samplingInterval must be an integer number of bytes in [1; 2147483647], not ${String(interval)}`);
  }
  return {
    nframe: limit,
    samplingInterval: interval,
    mode: checkChoice(opts, 'mode', ['live', 'allocated'] as const),
    external: checkBoolean(opts, 'external', true),
    sourceMaps: checkBoolean(opts, 'sourceMaps', true),
    trackAllocations: checkBoolean(opts, 'trackAllocations', false),
    snapshotGC: checkChoice(opts, 'snapshotGC', ['full', 'fast'] as const),
  };
}

/**
 * The environment variables of the preload (`tracemalloc/register`), parsed strictly: a pure
 * function from an environment to a configuration or an error that names the variable and its
 * value. `NODE_TRACEMALLOC` is the analogue of Python's `PYTHONTRACEMALLOC`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { isKeyType, KEY_TYPE_CHOICES } from './keys.js';

/** The variables the preload reads. */
export const ENV = {
  nframe: 'NODE_TRACEMALLOC',
  interval: 'NODE_TRACEMALLOC_INTERVAL',
  dump: 'NODE_TRACEMALLOC_DUMP',
  top: 'NODE_TRACEMALLOC_TOP',
  key: 'NODE_TRACEMALLOC_KEY',
  signal: 'NODE_TRACEMALLOC_SIGNAL',
  oomDump: 'NODE_TRACEMALLOC_OOM_DUMP',
  oomThreshold: 'NODE_TRACEMALLOC_OOM_THRESHOLD',
  /** `full` (default) or `fast`: the `snapshotGC` option of every snapshot the preload takes. */
  snapshotGC: 'NODE_TRACEMALLOC_SNAPSHOT_GC',
  /** Set by `tracemalloc run`: each traced process prints its pid and how to ask it for a snapshot. */
  announce: 'NODE_TRACEMALLOC_ANNOUNCE',
  /** `1`: worker threads are traced too, each with its own report (`tracemalloc run` sets it). */
  workers: 'NODE_TRACEMALLOC_WORKERS',
} as const;

/**
 * Frames per traceback when a variable other than `NODE_TRACEMALLOC` turns tracing on
 * (`NODE_TRACEMALLOC_OOM_DUMP` alone), and `tracemalloc run`'s default: enough for the traceback
 * view and the flame graph to show who called the allocating function. Python's default of 1
 * stays for `start()` and `NODE_TRACEMALLOC=1`.
 */
export const RUN_DEFAULT_NFRAME = 16;

/** The share of V8's heap limit at which `NODE_TRACEMALLOC_OOM_DUMP` is first written, in percent (then again at each 10% more). */
export const DEFAULT_OOM_THRESHOLD = 60;

/** What the preload does, once the environment is read. */
export interface PreloadConfig {
  /** Frames kept per traceback, 1 to 65535. */
  nframe: number;
  /** Mean bytes between heap samples, or `null` for the library's default. */
  interval: number | null;
  /** Where to write a snapshot at exit (absolute; `%p` already replaced by the pid), or `null`. */
  dump: string | null;
  /** How many lines of the top to print on stderr at exit; 0 prints nothing. */
  top: number;
  /** How the printed top groups traces. */
  keyType: 'lineno' | 'filename' | 'traceback';
  /** The signal that writes a numbered snapshot on demand, or `null` for none. */
  signal: NodeJS.Signals | null;
  /** Where to write a snapshot when the V8 heap nears its limit (absolute, `%p` replaced), or `null`. */
  oomDump: string | null;
  /** The share of the heap limit (percent, 10 to 99) that writes `oomDump`. */
  oomThreshold: number;
  /** Print `pid N` and how to ask for a snapshot at start (`NODE_TRACEMALLOC_ANNOUNCE=1`, set by `run`). */
  announce: boolean;
  /** How snapshots settle the heap (`start()`'s `snapshotGC`). */
  snapshotGC: 'full' | 'fast';
}

/** A variable with a value the preload cannot use; the message names both. */
/**
 * Why the preload's dump cannot be `-` (standard output): it writes several files (at exit, at the
 * peak, on each signal, one per worker) named after the dump path, and the program owns stdout.
 * `dump('-')` in code does stream one snapshot to stdout.
 */
export const STREAM_DUMP_REFUSED = "a file name, not '-': the preload writes several snapshot files named after it (at exit, at the peak, on a signal, one per worker thread) and the program owns standard output";

export class EnvError extends Error {
  readonly code = 'ERR_TRACEMALLOC_ENV';
  constructor(name: string, value: string, expected: string) {
    super(`${name}=${JSON.stringify(value)} is not valid: expected ${expected}`);
    this.name = 'EnvError';
  }
}

/** Signals that cannot be caught, are Node's own (SIGUSR1 opens the inspector) or end the process. */
const RESERVED_SIGNALS = new Set(['SIGKILL', 'SIGSTOP', 'SIGUSR1', 'SIGINT', 'SIGTERM', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT', 'SIGTRAP', 'SIGSYS']);

/**
 * A decimal integer in [min; max] written with digits only (no sign, space, exponent or `0x`), or
 * `null` when it is not one.
 */
export function parseStrictInt(text: string, min: number, max: number): number | null {
  if (!/^[0-9]{1,10}$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}

/**
 * Reads the preload's variables from `env`. Returns `null` when tracing is off (`NODE_TRACEMALLOC`
 * unset, empty or `0`); throws an `EnvError` for any value it cannot use. Relative dump paths are
 * resolved against `cwd` and `%p` becomes `pid`.
 */
export function parseEnv(env: Record<string, string | undefined>, cwd: string, pid: number): PreloadConfig | null {
  const raw = env[ENV.nframe] ?? '';
  const rawOom = env[ENV.oomDump] ?? '';
  // NODE_TRACEMALLOC_OOM_DUMP set alone turns tracing on, as NODE_TRACEMALLOC does; 0 still turns it off.
  if (raw === '0' || (raw === '' && rawOom === '')) return null;
  const nframe = raw === '' ? RUN_DEFAULT_NFRAME : parseStrictInt(raw, 1, 65535);
  if (nframe === null) throw new EnvError(ENV.nframe, raw, 'an integer number of frames in [1; 65535], or 0 to disable tracing');

  const rawInterval = env[ENV.interval] ?? '';
  let interval: number | null = null;
  if (rawInterval !== '') {
    interval = parseStrictInt(rawInterval, 1, 2 ** 31 - 1);
    if (interval === null) throw new EnvError(ENV.interval, rawInterval, 'an integer number of bytes in [1; 2147483647]');
  }

  const rawTop = env[ENV.top] ?? '';
  let top = 0;
  if (rawTop !== '') {
    const n = parseStrictInt(rawTop, 0, 65535);
    if (n === null) throw new EnvError(ENV.top, rawTop, 'an integer number of lines in [0; 65535]');
    top = n;
  }

  const rawKey = env[ENV.key] ?? '';
  let keyType: PreloadConfig['keyType'] = 'lineno';
  if (isKeyType(rawKey)) keyType = rawKey;
  else if (rawKey !== '') throw new EnvError(ENV.key, rawKey, KEY_TYPE_CHOICES);

  const rawDump = env[ENV.dump] ?? '';
  if (rawDump === '-') throw new EnvError(ENV.dump, rawDump, STREAM_DUMP_REFUSED);
  const dump = rawDump === '' ? null : path.resolve(cwd, rawDump.replaceAll('%p', String(pid)));

  const rawSignal = env[ENV.signal] ?? '';
  let signal: NodeJS.Signals | null = 'SIGUSR2';
  if (rawSignal === 'none') signal = null;
  else if (rawSignal !== '') {
    const known = Object.hasOwn(os.constants.signals, rawSignal);
    if (!known || RESERVED_SIGNALS.has(rawSignal)) {
      throw new EnvError(ENV.signal, rawSignal, 'a signal name such as SIGUSR2 or SIGHUP (not SIGUSR1, SIGINT, SIGTERM, SIGKILL...), or none');
    }
    signal = rawSignal as NodeJS.Signals;
  }
  const oomDump = rawOom === '' ? null : path.resolve(cwd, rawOom.replaceAll('%p', String(pid)));
  const rawThreshold = env[ENV.oomThreshold] ?? '';
  let oomThreshold = DEFAULT_OOM_THRESHOLD;
  if (rawThreshold !== '') {
    const n = parseStrictInt(rawThreshold, 10, 99);
    if (n === null) throw new EnvError(ENV.oomThreshold, rawThreshold, 'a percentage of the heap limit, an integer in [10; 99]');
    oomThreshold = n;
  }
  const rawSettle = env[ENV.snapshotGC] ?? '';
  if (rawSettle !== '' && rawSettle !== 'full' && rawSettle !== 'fast') {
    throw new EnvError(ENV.snapshotGC, rawSettle, "'full' (two GCs: only live objects, the default) or 'fast' (one GC)");
  }
  const snapshotGC = rawSettle === 'fast' ? 'fast' : 'full';
  const announce = (env[ENV.announce] ?? '') === '1';
  return { nframe, interval, dump, top, keyType, signal, oomDump, oomThreshold, announce, snapshotGC };
}

/** Variables that do nothing unless `NODE_TRACEMALLOC` turns tracing on. */
export function idleVariables(env: Record<string, string | undefined>): string[] {
  return [ENV.interval, ENV.dump, ENV.top, ENV.key, ENV.oomThreshold, ENV.snapshotGC].filter((name) => (env[name] ?? '') !== '');
}

/**
 * The file of the `n`th on-demand snapshot: the dump path with `.n` before its extension
 * (`heap.json` -> `heap.1.json`, `heap.json.gz` -> `heap.1.json.gz`, `heap` -> `heap.1`), or
 * `tracemalloc-<pid>.<n>.json` in `dir` when there is no dump path.
 */
export function numberedDumpPath(dump: string | null, n: number, dir: string, pid: number): string {
  if (dump === null) return path.join(dir, `tracemalloc-${pid}.${n}.json`);
  return dumpPathWith(dump, String(n));
}

/**
 * Every file the preload derives from its dump path (numbered on a signal, `peak`, `worker-<id>`):
 * `tag` before the extension (`heap.json` -> `heap.<tag>.json`, `heap.json.gz` ->
 * `heap.<tag>.json.gz`, `heap` -> `heap.<tag>`).
 */
export function dumpPathWith(dump: string, tag: string): string {
  const base = path.basename(dump);
  const m = /^(.+?)((?:\.json)?(?:\.gz)?)$/.exec(base);
  let stem = m?.[1] ?? base;
  let ext = m?.[2] ?? '';
  if (ext === '' && path.extname(stem) !== '') {
    ext = path.extname(stem);
    stem = stem.slice(0, -ext.length);
  }
  return path.join(path.dirname(dump), `${stem}.${tag}${ext}`);
}

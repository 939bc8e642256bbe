/**
 * A periodic reporter for services: every `intervalMs`, one snapshot, compared with the previous
 * one (or the first), logged as one plain JSON-safe record that pino, winston or console.log
 * take as it is. Its timer is unref()ed: it never keeps the process alive.
 */
import { debuglog } from 'node:util';
import { describeType, describeValue } from './format.js';
import { isKeyType, type KeyType } from './keys.js';
import type { Snapshot } from './snapshot.js';
import { getTracedMemory, isTracing, start, stop, takeSnapshot } from './tracer.js';

const log = debuglog('tracemalloc');

export interface ReporterOptions {
  /** Milliseconds between two reports. Default 60000. */
  intervalMs?: number;
  /** Sites per report. Default 10. */
  limit?: number;
  /** How sites are grouped (`'lineno'` by default). */
  keyType?: KeyType;
  /** Compare each snapshot with the previous report's (default) or with the one taken at start. */
  compareTo?: 'previous' | 'start';
  /** Receives each record. Default: one JSON line through `console.log`. */
  log?: (record: ReportRecord) => void;
}

/** One site in a record. Sizes in bytes, estimates when sampled. */
export interface ReportSite {
  /** The site's file; with `keyType: 'traceback'`, the most recent frame's. */
  file: string;
  /** 1-based; on the V8 heap, the line where the allocating function starts; 0 with `'filename'`. */
  line: number;
  function: string | null;
  size: number;
  sizeDiff: number;
  count: number;
  countDiff: number;
  /** With `keyType: 'traceback'`: every frame as `file:line`, most recent first. */
  traceback?: string[];
}

/**
 * What the reporter logs. No key collides with the fields that loggers add themselves (pino's
 * `time`, `msg`, `pid`, `level`; winston's `message`, `level`).
 */
export interface ReportRecord {
  /** Always `'tracemalloc'`, to find the records in a log. */
  type: 'tracemalloc';
  /** When this snapshot was taken (ISO 8601). */
  takenAt: string;
  /** When the snapshot it is compared with was taken (ISO 8601). */
  since: string;
  compareTo: 'previous' | 'start';
  /** `getTracedMemory()`: traced bytes now, and the peak since tracing started or the last `resetPeak()`. */
  current: number;
  peak: number;
  /** Bytes in this snapshot, and their change since the compared one. */
  traced: number;
  tracedDiff: number;
  /** The sites that grew most since the compared snapshot, biggest growth first. */
  top: ReportSite[];
  /** Milliseconds this report took (the snapshot is a full GC). */
  durationMs: number;
}

export interface Reporter {
  /** Takes a snapshot now, logs its record and returns it (also what the timer does). */
  report(): ReportRecord | null;
  /** Stops the timer; stops tracing too if the reporter started it. Idempotent. */
  stop(): void;
}

function round(n: number): number {
  return Math.round(n);
}

function checkOptions(options: ReporterOptions): Required<ReporterOptions> {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describeType(options)}`);
  const intervalMs = options.intervalMs ?? 60_000;
  if (typeof intervalMs !== 'number') throw new TypeError(`options.intervalMs must be a number of milliseconds, not ${describeValue(intervalMs)}`);
  if (!Number.isFinite(intervalMs) || intervalMs < 1 || intervalMs > 2 ** 31 - 1) {
    throw new RangeError(`options.intervalMs must be a number of milliseconds in [1; 2147483647], not ${String(intervalMs)}`);
  }
  const limit = options.limit ?? 10;
  if (typeof limit !== 'number') throw new TypeError(`options.limit must be an integer >= 0, not ${describeValue(limit)}`);
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`options.limit must be an integer >= 0, not ${String(limit)}`);
  const keyType = options.keyType ?? 'lineno';
  if (!isKeyType(keyType)) throw new RangeError(`unknown key_type: ${String(keyType)}`);
  const compareTo = options.compareTo ?? 'previous';
  if (compareTo !== 'previous' && compareTo !== 'start') throw new RangeError(`options.compareTo must be 'previous' or 'start', not ${String(compareTo)}`);
  const sink = options.log ?? ((record: ReportRecord) => console.log(JSON.stringify(record)));
  if (typeof sink !== 'function') throw new TypeError(`options.log must be a function, not ${describeType(sink)}`);
  return { intervalMs, limit, keyType, compareTo, log: sink };
}

function totalSize(snapshot: Snapshot): number {
  let total = 0;
  for (const stat of snapshot.statistics('traceback')) total += stat.size;
  return total;
}

/** The record of `snapshot` compared with `base`: the `limit` sites that grew most. */
export function buildRecord(snapshot: Snapshot, base: Snapshot, options: { limit: number; keyType: KeyType; compareTo: 'previous' | 'start' }, durationMs: number): ReportRecord {
  const diffs = snapshot.compareTo(base, options.keyType)
    .filter((d) => d.sizeDiff > 0)
    .sort((a, b) => b.sizeDiff - a.sizeDiff || b.countDiff - a.countDiff)
    .slice(0, options.limit);
  const [current, peak] = getTracedMemory();
  const traced = totalSize(snapshot);
  return {
    type: 'tracemalloc',
    takenAt: String(snapshot.meta.time ?? new Date().toISOString()),
    since: String(base.meta.time ?? ''),
    compareTo: options.compareTo,
    current: round(current),
    peak: round(peak),
    traced: round(traced),
    tracedDiff: round(traced - totalSize(base)),
    top: diffs.map((d) => {
      const frame = d.traceback.at(-1);
      const site: ReportSite = {
        file: frame?.filename ?? '<unknown>',
        line: frame?.lineno ?? 0,
        function: frame?.functionName ?? null,
        size: round(d.size),
        sizeDiff: round(d.sizeDiff),
        count: round(d.count),
        countDiff: round(d.countDiff),
      };
      if (options.keyType === 'traceback') site.traceback = Array.from(d.traceback, (f) => `${f.filename}:${f.lineno}`).reverse();
      return site;
    }),
    durationMs: round(durationMs),
  };
}

/**
 * Starts logging the top growth every `intervalMs` (one snapshot, a full GC, per interval). Starts
 * tracing if it is off (and stops it again in `stop()`); takes the first snapshot now.
 */
export function startReporter(options: ReporterOptions = {}): Reporter {
  const o = checkOptions(options);
  const startedHere = !isTracing();
  if (startedHere) start();
  // Only the compared snapshot is held: the first one with 'start', else the last one.
  let previous = takeSnapshot();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const report = (): ReportRecord | null => {
    if (stopped) return null;
    if (!isTracing()) {
      log('reporter: tracing was stopped; no report');
      return null;
    }
    let record: ReportRecord;
    try {
      const t0 = performance.now();
      const snapshot = takeSnapshot();
      const base = previous;
      record = buildRecord(snapshot, base, o, performance.now() - t0);
      if (o.compareTo === 'previous') previous = snapshot;
    } catch (err) {
      log('reporter: the snapshot failed: %o', err);
      return null;
    }
    try {
      o.log(record);
    } catch (err) {
      log('reporter: options.log threw: %o', err);
    }
    return record;
  };

  timer = setInterval(report, o.intervalMs);
  timer.unref();
  return {
    report,
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) clearInterval(timer);
      timer = null;
      if (startedHere) stop();
    },
  };
}

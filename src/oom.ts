/**
 * The watch behind `NODE_TRACEMALLOC_OOM_DUMP` and `tracemalloc run --oom-dump`: calls `onNear`
 * the first time V8's heap (the old generation and what the young one may promote into it)
 * reaches `thresholdPercent` of the old generation's limit (set by `--max-old-space-size`), so that
 * a snapshot is written while there is still room to take it;
 * then again at each further `STEP_PERCENT` (80, 90 after 70), so that the last dump written is
 * the nearest to the crash while the first one is already safe on disk. It looks after every garbage collection (a `gc` performance entry)
 * and every `POLL_MS`: both need the event loop, so a leak inside one synchronous loop that
 * never returns to it is not caught (docs/cli.md says what else is not).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { clearImmediate, clearInterval, setImmediate, setInterval } from 'node:timers';
import * as v8 from 'node:v8';

/** How often the heap is also read between collections. */
export const POLL_MS = 250;

/**
 * Within this many percent of the limit below the next level, the heap is also read on every turn
 * of the event loop: a leak that adds megabytes a turn crosses the last 20 % between two
 * collections (measured: 59 % -> 96 % of a 64 MiB limit in 88 ms), too fast for `POLL_MS`.
 */
export const CLOSE_PERCENT = 20;

/** After a call, the next one comes this many percent of the limit higher (up to 99%). */
export const STEP_PERCENT = 10;

export interface HeapLimitWatch {
  stop(): void;
}

export interface HeapUse {
  /**
   * Bytes used in V8's heap, every space: the old generation and what the young generation holds,
   * which the next scavenge may promote into it at once (live objects and garbage not collected
   * yet).
   */
  used: number;
  /** The old generation's limit, in bytes: the one V8 dies at. */
  limit: number;
}

/**
 * The last `--max-old-space-size` (MiB) in `args` (Node's arguments, then NODE_OPTIONS), or `null`.
 * V8 also accepts underscores.
 */
export function maxOldSpaceFlag(args: readonly string[]): number | null {
  let mib: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const m = /^--max[-_]old[-_]space[-_]size(?:=(.*))?$/.exec(args[i]!);
    if (m === null) continue;
    const text = m[1] ?? args[i + 1];
    if (text !== undefined && /^[0-9]+(\.[0-9]+)?$/.test(text)) mib = Number(text);
  }
  return mib;
}

/**
 * The old generation's limit: \`--max-old-space-size\` when given (in Node's arguments or
 * NODE_OPTIONS), else \`heap_size_limit\`, which adds the young generation's reserve to it (48 to
 * 192 MiB, depending on the Node.js version): a few percent of a default limit of gigabytes.
 */
export function oldGenerationLimit(heapSizeLimit: number, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): number {
  const flag = maxOldSpaceFlag([...execArgv, ...nodeOptions.split(/\s+/).filter((a) => a !== '')]);
  return flag !== null && flag > 0 ? Math.min(flag * 1048576, heapSizeLimit) : heapSizeLimit;
}

let cachedLimit = 0;

/**
 * The heap's use, against the old generation's limit. The young generation counts too: on Node 26
 * a leak kept ~30 MiB there, and one scavenge promoted it from 59.8 % of a 64 MiB limit past the
 * limit with no turn of the event loop in between (the watch never ran; test/cli-oom.test.ts).
 */
export function heapUse(): HeapUse {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) used += space.space_used_size;
  if (cachedLimit === 0) cachedLimit = oldGenerationLimit(v8.getHeapStatistics().heap_size_limit);
  return { used, limit: cachedLimit };
}

/**
 * Calls `onNear(use, level)` when the used heap reaches `level` % of the limit: `thresholdPercent`
 * first, then each `STEP_PERCENT` more while under 100. Never throws into the program.
 */
export function watchHeapLimit(thresholdPercent: number, onNear: (use: HeapUse, level: number) => void, read: () => HeapUse = heapUse): HeapLimitWatch {
  let done = false;
  let level = thresholdPercent;
  let observer: PerformanceObserver | null = null;
  let timer: NodeJS.Timeout | null = null;
  let turn: NodeJS.Immediate | null = null;
  const stop = (): void => {
    done = true;
    observer?.disconnect();
    observer = null;
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (turn !== null) clearImmediate(turn);
    turn = null;
  };
  const onTurn = (): void => {
    turn = null;
    check();
  };
  const check = (): void => {
    if (done) return;
    const use = read();
    if (use.used * 100 < use.limit * level) {
      // Close to the next level: read again on the next turn (unref'd: it keeps nothing alive).
      if (turn === null && use.used * 100 >= use.limit * (level - CLOSE_PERCENT)) turn = setImmediate(onTurn).unref();
      return;
    }
    const reached = level;
    // The next level above what is used now: a jump past two levels calls once.
    while (level < 100 && use.used * 100 >= use.limit * level) level += STEP_PERCENT;
    if (level >= 100) stop();
    try {
      onNear(use, reached);
    } catch {
      // The caller reports its own failures.
    }
  };
  observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  timer = setInterval(check, POLL_MS);
  timer.unref();
  return { stop };
}

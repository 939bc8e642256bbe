/**
 * The preload: `node --import tracemalloc/register app.js`, `node -r tracemalloc/register app.js`
 * or `NODE_OPTIONS='--import tracemalloc/register'`. `NODE_TRACEMALLOC=N` starts tracing with N
 * frames (the analogue of Python's `PYTHONTRACEMALLOC`); a value that is not an integer in
 * [1; 65535] (or 0) stops the process at start-up with exit code 1, as Python does. The other
 * variables are described in docs/cli.md. The exit and signal hooks never throw into the program:
 * their failures are one line on stderr and details under `NODE_DEBUG=tracemalloc`.
 */
import { debuglog } from 'node:util';
import * as v8 from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';
import { dumpPathWith, ENV, EnvError, idleVariables, numberedDumpPath, parseEnv, type PreloadConfig } from './preload-env.js';
import type { Snapshot } from './snapshot.js';
import { isTracing, start, takeSnapshot } from './tracer.js';
import { PeakKeeper, peakDumpPath } from './peak.js';

const log = debuglog('tracemalloc');
/** Set once per process, so two copies of the package preloaded together install once. */
const INSTALLED = Symbol.for('tracemalloc.register.installed');

function say(text: string): void {
  try {
    process.stderr.write(`${text}\n`);
  } catch (err) {
    log('cannot write to stderr: %o', err);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A snapshot for `reason` (`exit`, a signal name), or `null` when the tracer is not running any
 * more. Settled like any snapshot (session-gc.ts): the report at exit holds what is alive.
 */
function capture(reason: string, meta: Record<string, unknown> = {}): Snapshot | null {
  if (!isTracing()) {
    log('tracing was stopped before %s: no snapshot', reason);
    return null;
  }
  const snapshot = takeSnapshot();
  snapshot.meta.reason = reason;
  snapshot.meta.script = process.argv[1] ?? null;
  Object.assign(snapshot.meta, meta);
  return snapshot;
}

/** Takes a snapshot and writes it to `file` and/or prints its top, as configured. Never throws. */
function report(config: PreloadConfig, reason: string, file: string | null, meta: Record<string, unknown> = {}): boolean {
  try {
    const t0 = performance.now();
    const snapshot = capture(reason, meta);
    if (snapshot === null) return false;
    // What the report costs the program (its settle GCs, the read, the conversion), printed with it.
    const costMs = performance.now() - t0;
    if (file !== null) {
      try {
        snapshot.dump(file);
      } catch (err) {
        say(`tracemalloc: cannot write the snapshot to ${file}: ${errorText(err)}`);
        log('dump to %s failed: %o', file, err);
        return false;
      }
    }
    if (config.top > 0) {
      // The text view is loaded only when printed (start-up stays cheap, issue 17).
      const { renderTop, styleFor } = require('./view.js') as typeof import('./view.js');
      const style = styleFor(Boolean(process.stderr.isTTY), process.env);
      say(`tracemalloc: pid ${process.pid}${isMainThread ? '' : ` worker ${threadId}`} at ${reason}${process.argv[1] ? ` (${process.argv[1]})` : ''}, ` +
        `snapshot ${Math.round(costMs)} ms\n` +
        renderTop(snapshot, { keyType: config.keyType, cumulative: false, limit: config.top }, style));
    }
    return true;
  } catch (err) {
    say(`tracemalloc: no snapshot at ${reason}: ${errorText(err)}`);
    log('the %s hook failed: %o', reason, err);
    return false;
  }
}

/** Prints the top at the program's peak of traced memory and writes it beside the dump (peak.ts). Never throws. */
function reportPeak(config: PreloadConfig, peak: PeakKeeper): void {
  try {
    peak.stop();
    const { snapshot, traced, taken, costMs } = peak.info;
    if (snapshot === null) return;
    if (config.dump !== null) {
      const file = peakDumpPath(config.dump);
      try {
        snapshot.dump(file);
      } catch (err) {
        say(`tracemalloc: cannot write the peak snapshot to ${file}: ${errorText(err)}`);
      }
    }
    if (config.top > 0) {
      const { renderTop, styleFor } = require('./view.js') as typeof import('./view.js');
      const style = styleFor(Boolean(process.stderr.isTTY), process.env);
      say(`tracemalloc: pid ${process.pid} at its peak of traced memory, ${(traced / 1048576).toFixed(1)} MiB ` +
        `(${taken} peak snapshot${taken === 1 ? '' : 's'}, ${Math.round(costMs)} ms)\n` +
        renderTop(snapshot, { keyType: config.keyType, cumulative: false, limit: config.top }, style));
    }
  } catch (err) {
    log('the peak report failed: %o', err);
  }
}

/** Watches the heap for `NODE_TRACEMALLOC_OOM_DUMP`: one snapshot when it nears its limit. */
function watchOom(cfg: PreloadConfig, file: string): void {
  // Loaded only when asked for: start-up stays cheap (issue 17).
  const { watchHeapLimit } = require('./oom.js') as typeof import('./oom.js');
  watchHeapLimit(cfg.oomThreshold, (use, level) => {
    const mib = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;
    const at = `${mib(use.used)} of its ${mib(use.limit)} limit`;
    // Each level rewrites the file (atomically): the last one written is the nearest to the crash.
    if (report({ ...cfg, top: 0 }, 'heap-limit', file, { heapUsed: use.used, heapLimit: use.limit, heapLevel: level })) {
      say(`tracemalloc: the V8 heap reached ${at} (${level}%): wrote ${file} (read it with: tracemalloc top ${file})`);
    }
  });
}

/**
 * A dump path for worker `id`: `heap.json` -> `heap.worker-3.json`, so that each thread's
 * snapshot has its own file.
 */
export function workerDumpPath(dump: string, id: number): string {
  return dumpPathWith(dump, `worker-${id}`);
}

function install(env: NodeJS.ProcessEnv): void {
  const g = globalThis as { [INSTALLED]?: boolean };
  if (g[INSTALLED] === true) return;
  // `-r` preloads run again in every worker thread (each its own isolate, with its own copy of
  // this module), `--import` ones do not. A worker is traced, with its own report, when
  // NODE_TRACEMALLOC_WORKERS=1 (`tracemalloc run` sets it); else only the main thread is.
  if (!isMainThread && (env[ENV.workers] ?? '') !== '1') return;
  g[INSTALLED] = true;

  let config: PreloadConfig | null;
  try {
    config = parseEnv(env, process.cwd(), process.pid);
  } catch (err) {
    if (!(err instanceof EnvError)) throw err;
    say(`tracemalloc: ${err.message}`);
    process.exit(1);
  }
  if (config === null) {
    const idle = idleVariables(env);
    if ((env[ENV.nframe] ?? '') === '' && idle.length > 0) {
      say(`tracemalloc: ${idle.join(', ')} ${idle.length > 1 ? 'are' : 'is'} set but ${ENV.nframe} is not: tracing is off`);
    }
    return;
  }
  // TurboFan's allocation folding hides objects from V8's sampler (a hot loop was traced at half
  // its size, or less); the program's code is not optimized yet, so turning it off here covers
  // all of it. The cost is a little speed in allocation-heavy optimized code (docs/cli.md).
  v8.setFlagsFromString('--no-turbo-allocation-folding');
  try {
    start(config.nframe, {
      ...(config.interval === null ? {} : { samplingInterval: config.interval }),
      ...(config.snapshotGC === 'fast' ? { snapshotGC: 'fast' as const } : {}),
    });
  } catch (err) {
    say(`tracemalloc: cannot start tracing: ${errorText(err)}`);
    log('start failed: %o', err);
    return;
  }
  const cfg = isMainThread ? config : { ...config, dump: config.dump === null ? null : workerDumpPath(config.dump, threadId), oomDump: null, signal: null, announce: false };
  if (cfg.oomDump !== null) watchOom(cfg, cfg.oomDump);
  if (!isMainThread) {
    // Signals reach the main thread only; a worker reports when it ends by itself (not on terminate()).
    if (cfg.dump !== null || cfg.top > 0) process.on('exit', () => report(cfg, 'exit', cfg.dump));
    return;
  }

  if (cfg.dump !== null || cfg.top > 0) {
    // Not beside the heap-limit watcher: near a small heap limit the peak snapshots' GCs and the
    // snapshot they hold made the program die before the watcher's dump (cli-oom test, Node 26).
    const peak = new PeakKeeper();
    if (cfg.oomDump === null) peak.start();
    process.on('exit', () => {
      report(cfg, 'exit', cfg.dump);
      reportPeak(cfg, peak);
    });
    // A terminating signal skips 'exit'. When the program has no handler of its own, write the
    // snapshot, then re-raise the signal with the default action so the process ends as it
    // would have. When it has one, it decides; if it exits, the 'exit' hook writes the snapshot.
    const onTerminate = (signal: NodeJS.Signals): void => {
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, onTerminate);
      report(cfg, signal, cfg.dump);
      process.kill(process.pid, signal);
    };
    process.on('SIGINT', onTerminate);
    process.on('SIGTERM', onTerminate);
  }

  if (cfg.announce) {
    const script = process.argv[1] ? ` (${process.argv[1]})` : '';
    say(cfg.signal === null
      ? `tracemalloc: tracing pid ${process.pid}${script}`
      : `tracemalloc: tracing pid ${process.pid}${script}; a snapshot now: kill -${cfg.signal.slice(3)} ${process.pid}`);
  }
  if (cfg.signal !== null) {
    const dir = process.cwd();
    let n = 0;
    process.on(cfg.signal, (signal: NodeJS.Signals) => {
      n += 1;
      const file = numberedDumpPath(cfg.dump, n, dir, process.pid);
      if (report(cfg, signal, file)) say(`tracemalloc: wrote ${file}`);
    });
  }
}

install(process.env);

/**
 * The only user of `node:inspector`: an in-process session on this thread's isolate that drives
 * V8's sampling heap profiler. The in-process session answers synchronously, so every call here
 * returns its result directly (a test checks it).
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { allocationStackFromFile } from './object-traceback.js';

/** A frame of V8's profile. Line and column are 0-based here, and -1 when V8 could not resolve them. */
export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  callFrame: CallFrame;
  /** Bytes allocated by this function itself (scaled estimate). */
  selfSize: number;
  id: number;
  children: ProfileNode[];
}

/** One sample. `size` is already scaled by V8: the object's size times its rounded estimated count. */
export interface ProfileSample {
  size: number;
  nodeId: number;
  ordinal: number;
}

export interface SamplingProfile {
  head: ProfileNode;
  samples: ProfileSample[];
}

/** Thrown when V8's sampling heap profiler cannot be driven (for example another tool runs it). */
export class InspectorError extends Error {
  readonly code = 'ERR_TRACEMALLOC_INSPECTOR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InspectorError';
  }
}

/**
 * A connected in-process session, or InspectorError: under Node's permission model
 * (`--experimental-permission` on Node 20, `--permission` on 22 and later) the inspector is
 * restricted unless `--allow-inspector` is given, and Node throws ERR_ACCESS_DENIED.
 */
function connectSession(what: string): inspector.Session {
  let session: inspector.Session | null = null;
  try {
    session = new inspector.Session();
    session.connect();
    return session;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const denied = code === 'ERR_ACCESS_DENIED';
    throw new InspectorError(
      denied
        ? `cannot start ${what}: Node's permission model denies the inspector to this process ` +
            `(started with --permission or --experimental-permission); tracemalloc needs it: add --allow-inspector (Node 22+)`
        : `cannot start ${what}: cannot open an inspector session: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Posts a command and returns its result: the in-process session answers before `post` returns. */
function postSync<T>(session: inspector.Session | null, method: string, params?: Record<string, unknown>): T {
  if (session === null) throw new InspectorError('the inspector session is closed');
  let done = false;
  let error: Error | null = null;
  let result: unknown;
  session.post(method, params ?? {}, (err: Error | null, res?: unknown) => {
    done = true;
    error = err;
    result = res;
  });
  if (!done) throw new InspectorError(`the inspector did not answer ${method} synchronously`);
  if (error !== null) throw new InspectorError(`${method} failed: ${(error as Error).message}`, { cause: error });
  return result as T;
}

export class HeapSampler {
  #session: inspector.Session | null = null;

  #post<T>(method: string, params?: Record<string, unknown>): T {
    return postSync<T>(this.#session, method, params);
  }


  /**
   * Opens the session and starts sampling every `interval` bytes on average. V8 has one sampling
   * heap profiler per isolate: if another tool (a profiler, DevTools) is already running it, this
   * throws rather than take it over, which would silently wreck that tool's profile.
   */
  start(interval: number, includeCollected: boolean): void {
    if (this.#session !== null) return;
    this.#session = connectSession("V8's sampling heap profiler");
    let busy = false;
    try {
      this.#post('HeapProfiler.enable');
      try {
        // Answers only when the isolate's sampler is running: then someone else owns it.
        this.#post('HeapProfiler.getSamplingProfile');
        busy = true;
      } catch {
        busy = false;
      }
      if (!busy) {
        this.#post('HeapProfiler.startSampling', {
          samplingInterval: interval,
          includeObjectsCollectedByMajorGC: includeCollected,
          includeObjectsCollectedByMinorGC: includeCollected,
        });
      }
    } catch (err) {
      this.#close();
      throw new InspectorError(`cannot start V8's sampling heap profiler: ${(err as Error).message}`, { cause: err });
    }
    if (busy) {
      this.#close();
      throw new InspectorError(
        "V8's sampling heap profiler is already running in this thread: another tool (such as @datadog/pprof's heap " +
          'profiler or DevTools allocation sampling) owns it, and V8 has only one. Stop that tool before tracemalloc.start().',
      );
    }
  }

  get running(): boolean {
    return this.#session !== null;
  }

  /** Reads the samples of objects still alive. V8 runs a full GC first: this is not cheap. */
  profile(): SamplingProfile {
    try {
      return this.#post<{ profile: SamplingProfile }>('HeapProfiler.getSamplingProfile').profile;
    } catch (err) {
      if (/not started/i.test((err as Error).message)) {
        throw new InspectorError(
          "V8's sampling heap profiler was stopped by another tool in this thread (a profiler or DevTools); " +
            'call tracemalloc.stop() and start() again once that tool is done',
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Forgets every sample so far, keeping the same settings. */
  restart(interval: number, includeCollected: boolean): void {
    this.#post('HeapProfiler.stopSampling');
    this.#post('HeapProfiler.startSampling', {
      samplingInterval: interval,
      includeObjectsCollectedByMajorGC: includeCollected,
      includeObjectsCollectedByMinorGC: includeCollected,
    });
  }

  /** Stops sampling and closes the session. Idempotent, never throws. */
  stop(): void {
    if (this.#session === null) return;
    try {
      this.#post('HeapProfiler.stopSampling');
    } catch {
      // Not sampling (start failed half-way, or another tool stopped it): nothing to stop.
    }
    this.#close();
  }

  /** Disables the domain and disconnects, without touching the sampler. */
  #close(): void {
    const session = this.#session;
    if (session === null) return;
    try {
      this.#post('HeapProfiler.disable');
    } catch {
      // The session may already be unusable; disconnecting below is what matters.
    }
    this.#session = null;
    session.disconnect();
  }
}

/** One frame of an allocation stack from V8's allocation tracker, most recent first. */
export interface AllocationFrame {
  functionName: string;
  scriptId: string;
  url: string;
  /** 1-based, as the heap snapshot's trace_function_infos give them (the function's start). */
  line: number;
  column: number;
}

const PROBE = 'tracemalloc.probe';


/**
 * V8's allocation tracker (`HeapProfiler.startTrackingHeapObjects` with `trackAllocations`): a
 * stack for every allocation, read back through a heap snapshot. Slow by nature; for debugging.
 */
export class AllocationTracker {
  #session: inspector.Session | null = null;

  #post<T>(method: string, params?: Record<string, unknown>): T {
    return postSync<T>(this.#session, method, params);
  }


  start(): void {
    if (this.#session !== null) return;
    this.#session = connectSession("V8's allocation tracker");
    try {
      this.#post('HeapProfiler.enable');
      this.#post('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
    } catch (err) {
      this.stop();
      throw new InspectorError(`cannot start V8's allocation tracker: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The allocation stack of `value` (most recent first), or `null` when V8 did not record one
   * (allocated before tracking started, or not a heap object). Takes a full heap snapshot.
   */
  stackOf(value: unknown): AllocationFrame[] | null {
    const key = Symbol.for(PROBE);
    const g = globalThis as Record<symbol, unknown>;
    g[key] = value;
    let objectId: string | undefined;
    try {
      const evaluated = this.#post<{ result: { objectId?: string } }>('Runtime.evaluate', {
        expression: `globalThis[Symbol.for(${JSON.stringify(PROBE)})]`,
        objectGroup: 'tracemalloc',
      });
      objectId = evaluated.result.objectId;
    } finally {
      delete g[key];
    }
    if (objectId === undefined) return null;
    // Ids are given to every object by a heap snapshot: take it first, then ask for the id. The
    // snapshot goes to a private temporary directory, read and deleted at once (it can hold
    // secrets): v8.writeHeapSnapshot is synchronous on every Node, where Node 22 and later answer
    // the inspector's takeHeapSnapshot only after the current task. object-traceback.ts reads it
    // in chunks, never as one string.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-'));
    try {
      const file = v8.writeHeapSnapshot(path.join(dir, 'heap.heapsnapshot'));
      const { heapSnapshotObjectId } = this.#post<{ heapSnapshotObjectId: string }>('HeapProfiler.getHeapObjectId', { objectId });
      return allocationStackFromFile(file, Number(heapSnapshotObjectId));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      this.#post('Runtime.releaseObjectGroup', { objectGroup: 'tracemalloc' });
    }
  }

  /** Stops tracking and closes the session. Idempotent, never throws. */
  stop(): void {
    const session = this.#session;
    if (session === null) return;
    try {
      this.#post('HeapProfiler.stopTrackingHeapObjects', { reportProgress: false });
    } catch {
      // Not tracking (start failed half-way).
    }
    try {
      this.#post('HeapProfiler.disable');
    } catch {
      // Disconnecting below is what matters.
    }
    this.#session = null;
    session.disconnect();
  }
}

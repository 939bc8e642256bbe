/**
 * The only user of `node:inspector`: an in-process session on this thread's isolate that drives
 * V8's sampling heap profiler. The in-process session answers synchronously, so every call here
 * returns its result directly (a test checks it).
 */
import * as inspector from 'node:inspector';

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

export class HeapSampler {
  #session: inspector.Session | null = null;

  /** Posts a command and returns its result; the in-process session answers before `post` returns. */
  #post<T>(method: string, params?: Record<string, unknown>): T {
    const session = this.#session;
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

  /** Opens the session and starts sampling every `interval` bytes on average. */
  start(interval: number, includeCollected: boolean): void {
    if (this.#session !== null) return;
    const session = new inspector.Session();
    session.connect();
    this.#session = session;
    try {
      this.#post('HeapProfiler.enable');
      this.#post('HeapProfiler.startSampling', {
        samplingInterval: interval,
        includeObjectsCollectedByMajorGC: includeCollected,
        includeObjectsCollectedByMinorGC: includeCollected,
      });
    } catch (err) {
      this.stop();
      const message = (err as Error).message;
      throw new InspectorError(
        /already|started/i.test(message)
          ? `V8's sampling heap profiler is already running in this thread (another profiler, such as @datadog/pprof or DevTools, owns it): ${message}`
          : `cannot start V8's sampling heap profiler: ${message}`,
        { cause: err },
      );
    }
  }

  get running(): boolean {
    return this.#session !== null;
  }

  /** Reads the samples of objects still alive. V8 runs a full GC first: this is not cheap. */
  profile(): SamplingProfile {
    return this.#post<{ profile: SamplingProfile }>('HeapProfiler.getSamplingProfile').profile;
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
    const session = this.#session;
    if (session === null) return;
    try {
      this.#post('HeapProfiler.stopSampling');
    } catch {
      // Not sampling (start failed half-way): nothing to stop.
    }
    try {
      this.#post('HeapProfiler.disable');
    } catch {
      // The session may already be unusable; disconnecting below is what matters.
    }
    this.#session = null;
    session.disconnect();
  }
}

/**
 * Tracing inside `worker_threads`: a worker traces its own isolate (start, takeSnapshot,
 * getTracedMemory), independently of the main thread in both directions, and stopping one leaves
 * the other running. Also: what `inspector.Session.connectToMainThread` allows from a worker
 * (docs/workers.md). This file is its own worker: loaded off the main thread, it serves commands.
 *
 * Allocations are single arrays of many MiB, which V8's sampler always sees; bounds allow the
 * array header and V8's rounding (a few KiB), never exact sizes.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as inspector from 'node:inspector';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import * as tracemalloc from 'tracemalloc';

const MiB = 1024 * 1024;
/** What a thread allocates on its V8 heap, and in Buffers (outside the heap: domain 1). */
const WORKER_HEAP_MIB = 48;
const MAIN_HEAP_MIB = 24;
const WORKER_BUFFER_MIB = 32;
/** A big array is one sample that V8 scales by ~1: its estimate is within a few KiB. */
const SLACK = 1 * MiB;

/** Objects measured by a snapshot stay here until after it: V8 frees what no code reads again. */
const held: unknown[] = [];

// Distinct function names: a snapshot's frames tell which thread's code allocated.
function workerHeapAllocation(mib: number): number[] {
  return new Array<number>((mib * MiB) / 8).fill(0);
}
function mainHeapAllocation(mib: number): number[] {
  return new Array<number>((mib * MiB) / 8).fill(0);
}
function workerBufferAllocation(mib: number): Buffer {
  return Buffer.alloc(mib * MiB, 1);
}

/** Bytes per `domain:function` over every frame of every trace (a site counted once per trace). */
interface Summary {
  sites: Record<string, number>;
  total: number;
  traces: number;
}

function summarize(snapshot: tracemalloc.Snapshot): Summary {
  const sites: Record<string, number> = {};
  let total = 0;
  for (const trace of snapshot.traces) {
    total += trace.size;
    const names = new Set(Array.from(trace.traceback, (f) => f.functionName ?? ''));
    for (const name of names) sites[`${trace.domain}:${name}`] = (sites[`${trace.domain}:${name}`] ?? 0) + trace.size;
  }
  return { sites, total, traces: snapshot.traces.length };
}

function site(summary: Summary, domain: number, name: string): number {
  return summary.sites[`${domain}:${name}`] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// The worker side: one command at a time, answered with { id, ok, value } or { id, ok: false, error }.

type Command =
  | { cmd: 'start'; nframe: number }
  | { cmd: 'stop' | 'isTracing' | 'traced' | 'own' | 'snapshot' | 'free' | 'mainThreadStart' | 'mainThreadRead' | 'mainThreadStop' }
  | { cmd: 'allocHeap' | 'allocBuffer'; mib: number };

/** A session on the main thread's isolate, from the worker: its answers come asynchronously. */
let mainSession: inspector.Session | null = null;

function post<T>(session: inspector.Session, method: string, params: Record<string, unknown> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (err: Error | null, result?: unknown) => (err !== null ? reject(err) : resolve(result as T)));
  });
}

const MAIN_INTERVAL = 32 * 1024;

async function serve(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'start':
      tracemalloc.start(c.nframe);
      return tracemalloc.isTracing();
    case 'stop':
      tracemalloc.stop();
      return tracemalloc.isTracing();
    case 'isTracing':
      return tracemalloc.isTracing();
    case 'traced':
      return tracemalloc.getTracedMemory();
    case 'own':
      return tracemalloc.getTracemallocMemory();
    case 'allocHeap':
      held.push(workerHeapAllocation(c.mib));
      return held.length;
    case 'allocBuffer':
      held.push(workerBufferAllocation(c.mib));
      return held.length;
    case 'free':
      held.length = 0;
      return 0;
    case 'snapshot': {
      const summary = summarize(tracemalloc.takeSnapshot());
      void held.length; // keeps what was measured alive until now
      return summary;
    }
    case 'mainThreadStart': {
      // The recipe of docs/workers.md: V8's sampler of the main isolate, driven from here.
      const session = new inspector.Session();
      session.connectToMainThread();
      mainSession = session;
      let answered = false;
      session.post('HeapProfiler.enable', () => {
        answered = true;
      });
      const answeredSynchronously = answered;
      await post(session, 'HeapProfiler.enable');
      await post(session, 'HeapProfiler.startSampling', { samplingInterval: MAIN_INTERVAL });
      return { answeredSynchronously };
    }
    case 'mainThreadRead': {
      const { profile } = await post<{ profile: unknown }>(mainSession!, 'HeapProfiler.getSamplingProfile');
      return summarize(tracemalloc.snapshotFromHeapProfile(profile, { samplingInterval: MAIN_INTERVAL }));
    }
    case 'mainThreadStop':
      await post(mainSession!, 'HeapProfiler.stopSampling');
      mainSession!.disconnect();
      mainSession = null;
      return null;
  }
}

if (!isMainThread) {
  parentPort!.on('message', (m: { id: number } & Command) => {
    serve(m).then(
      (value) => parentPort!.postMessage({ id: m.id, ok: true, value }),
      (err: unknown) => parentPort!.postMessage({ id: m.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The main thread: the tests.

/** A worker running this file, with `call(command)` returning its answer. */
class TracingWorker {
  readonly worker = new Worker(__filename);
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const w = this.#waiting.get(m.id)!;
      this.#waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(`in the worker: ${m.error}`));
    });
    this.worker.on('error', (err) => {
      for (const w of this.#waiting.values()) w.reject(err);
      this.#waiting.clear();
    });
  }

  call<T>(command: Command): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...command });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

function mainSnapshot(): Summary {
  const summary = summarize(tracemalloc.takeSnapshot());
  void held.length;
  return summary;
}

/**
 * Does this build trace Buffers (domain 1) on the main thread? The external domain is optional
 * work in progress in some trees; the Buffer checks below run whenever it is there.
 */
let externalTraced: boolean | undefined;
function tracesBuffers(): boolean {
  if (externalTraced === undefined) {
    tracemalloc.start();
    try {
      const b = Buffer.alloc(8 * MiB, 1);
      externalTraced = summarize(tracemalloc.takeSnapshot()).sites['1:tracesBuffers'] !== undefined;
      void b.length;
    } finally {
      tracemalloc.stop();
    }
  }
  return externalTraced;
}

function assertAbout(actual: number, mib: number, what: string): void {
  assert.ok(actual >= mib * MiB - SLACK && actual <= mib * MiB + SLACK, `${what}: ${(actual / MiB).toFixed(2)} MiB, expected ${mib} MiB ± ${SLACK / MiB} MiB`);
}

if (isMainThread) {
  after(() => {
    tracemalloc.stop();
    held.length = 0;
  });

  test('a worker traces its own allocations: start, getTracedMemory, takeSnapshot', async (t) => {
    const buffers = tracesBuffers();
    if (!buffers) t.diagnostic('this build does not trace Buffers (domain 1) yet: the Buffer checks are skipped');
    const w = new TracingWorker();
    try {
      assert.equal(await w.call({ cmd: 'isTracing' }), false);
      assert.equal(await w.call({ cmd: 'start', nframe: 5 }), true);
      const before = await w.call<[number, number]>({ cmd: 'traced' });
      await w.call({ cmd: 'allocHeap', mib: WORKER_HEAP_MIB });
      await w.call({ cmd: 'allocBuffer', mib: WORKER_BUFFER_MIB });
      const s = await w.call<Summary>({ cmd: 'snapshot' });
      assertAbout(site(s, 0, 'workerHeapAllocation'), WORKER_HEAP_MIB, 'the worker\'s heap array in its snapshot');
      if (buffers) assertAbout(site(s, 1, 'workerBufferAllocation'), WORKER_BUFFER_MIB, 'the worker\'s Buffer in its snapshot (domain 1)');
      const [current, peak] = await w.call<[number, number]>({ cmd: 'traced' });
      const expected = (WORKER_HEAP_MIB + (buffers ? WORKER_BUFFER_MIB : 0)) * MiB;
      assert.ok(current - before[0] >= expected - 4 * SLACK, `worker's current grew by ${((current - before[0]) / MiB).toFixed(1)} MiB`);
      assert.ok(peak >= current);
      assert.ok((await w.call<number>({ cmd: 'own' })) > 0, 'getTracemallocMemory() counts the worker tracer');
      // The main thread was never started: it traces nothing and sees nothing.
      assert.equal(tracemalloc.isTracing(), false);
      assert.deepEqual(tracemalloc.getTracedMemory(), [0, 0]);
      assert.throws(() => tracemalloc.takeSnapshot(), { code: 'ERR_TRACEMALLOC_NOT_TRACING' });
      assert.equal(await w.call({ cmd: 'stop' }), false);
    } finally {
      await w.terminate();
    }
  });

  test('main thread and worker trace separately: neither sees the other\'s allocations', async () => {
    const buffers = tracesBuffers();
    const w = new TracingWorker();
    try {
      tracemalloc.start(5);
      await w.call({ cmd: 'start', nframe: 5 });
      const mainBefore = tracemalloc.getTracedMemory()[0];
      const workerBefore = (await w.call<[number, number]>({ cmd: 'traced' }))[0];

      held.push(mainHeapAllocation(MAIN_HEAP_MIB));
      await w.call({ cmd: 'allocHeap', mib: WORKER_HEAP_MIB });
      await w.call({ cmd: 'allocBuffer', mib: WORKER_BUFFER_MIB });

      const main = mainSnapshot();
      const worker = await w.call<Summary>({ cmd: 'snapshot' });
      assertAbout(site(main, 0, 'mainHeapAllocation'), MAIN_HEAP_MIB, 'main\'s array in main\'s snapshot');
      assert.equal(site(main, 0, 'workerHeapAllocation'), 0, 'main\'s snapshot has none of the worker\'s heap');
      assert.equal(site(main, 1, 'workerBufferAllocation'), 0, 'main\'s snapshot has none of the worker\'s Buffers');
      assertAbout(site(worker, 0, 'workerHeapAllocation'), WORKER_HEAP_MIB, 'the worker\'s array in its snapshot');
      assert.equal(site(worker, 0, 'mainHeapAllocation'), 0, 'the worker\'s snapshot has none of main\'s heap');
      // Totals: each side's traced memory grew by its own allocation only. The other side's 48 or
      // 80 MiB would show far above these bounds.
      assert.ok(main.total < (MAIN_HEAP_MIB + 16) * MiB, `main's snapshot holds ${(main.total / MiB).toFixed(1)} MiB`);
      const mainGrowth = tracemalloc.getTracedMemory()[0] - mainBefore;
      assert.ok(mainGrowth < (MAIN_HEAP_MIB + 16) * MiB, `main's current grew by ${(mainGrowth / MiB).toFixed(1)} MiB`);
      const workerGrowth = (await w.call<[number, number]>({ cmd: 'traced' }))[0] - workerBefore;
      assert.ok(workerGrowth >= (WORKER_HEAP_MIB + (buffers ? WORKER_BUFFER_MIB : 0)) * MiB - 4 * SLACK, `worker's current grew by ${(workerGrowth / MiB).toFixed(1)} MiB`);
      assert.ok(workerGrowth < (WORKER_HEAP_MIB + WORKER_BUFFER_MIB + MAIN_HEAP_MIB) * MiB, 'and not by main\'s allocation');
    } finally {
      tracemalloc.stop();
      held.length = 0;
      await w.terminate();
    }
  });

  test('stopping one thread\'s tracer leaves the other running', async () => {
    const w = new TracingWorker();
    try {
      tracemalloc.start();
      await w.call({ cmd: 'start', nframe: 1 });
      tracemalloc.stop();
      assert.equal(await w.call({ cmd: 'isTracing' }), true, 'main\'s stop() leaves the worker tracing');
      await w.call({ cmd: 'allocHeap', mib: WORKER_HEAP_MIB });
      assertAbout(site(await w.call<Summary>({ cmd: 'snapshot' }), 0, 'workerHeapAllocation'), WORKER_HEAP_MIB, 'the worker after main stopped');

      tracemalloc.start();
      assert.equal(await w.call({ cmd: 'stop' }), false);
      assert.equal(tracemalloc.isTracing(), true, 'the worker\'s stop() leaves main tracing');
      held.push(mainHeapAllocation(MAIN_HEAP_MIB));
      assertAbout(site(mainSnapshot(), 0, 'mainHeapAllocation'), MAIN_HEAP_MIB, 'main after the worker stopped');
    } finally {
      tracemalloc.stop();
      held.length = 0;
      await w.terminate();
    }
  });

  test('a worker that ends while tracing, without stop(), leaves main tracing and a new worker can trace', async () => {
    tracemalloc.start();
    try {
      const w = new TracingWorker();
      await w.call({ cmd: 'start', nframe: 1 });
      await w.call({ cmd: 'allocHeap', mib: WORKER_HEAP_MIB });
      await w.terminate(); // mid-tracing: its session and sampler go with its isolate
      assert.equal(tracemalloc.isTracing(), true);
      held.push(mainHeapAllocation(MAIN_HEAP_MIB));
      assertAbout(site(mainSnapshot(), 0, 'mainHeapAllocation'), MAIN_HEAP_MIB, 'main after a worker ended');
      const w2 = new TracingWorker();
      try {
        await w2.call({ cmd: 'start', nframe: 1 });
        await w2.call({ cmd: 'allocHeap', mib: WORKER_HEAP_MIB });
        assertAbout(site(await w2.call<Summary>({ cmd: 'snapshot' }), 0, 'workerHeapAllocation'), WORKER_HEAP_MIB, 'a second worker');
      } finally {
        await w2.terminate();
      }
    } finally {
      tracemalloc.stop();
      held.length = 0;
    }
  });

  test('connectToMainThread: a worker can sample the main isolate, asynchronously, through the inspector', async () => {
    // tracemalloc's own tracer needs the inspector to answer synchronously, which only a session on
    // the same thread does; a session on the main thread from a worker answers later. The profile
    // it reads is V8's, which snapshotFromHeapProfile turns into a snapshot (docs/workers.md).
    const w = new TracingWorker();
    try {
      const started = await w.call<{ answeredSynchronously: boolean }>({ cmd: 'mainThreadStart' });
      assert.equal(started.answeredSynchronously, false, 'the main thread answers a worker asynchronously');
      // V8 has one sampler per isolate: while the worker drives main's, main's own start() refuses.
      assert.throws(() => tracemalloc.start(), { code: 'ERR_TRACEMALLOC_INSPECTOR', message: /already running in this thread/ });
      assert.equal(tracemalloc.isTracing(), false);
      held.push(mainHeapAllocation(MAIN_HEAP_MIB));
      const seen = await w.call<Summary>({ cmd: 'mainThreadRead' });
      void held.length;
      assertAbout(site(seen, 0, 'mainHeapAllocation'), MAIN_HEAP_MIB, 'main\'s array, seen from the worker');
      assert.equal(site(seen, 0, 'workerHeapAllocation'), 0);
      await w.call({ cmd: 'mainThreadStop' });
      tracemalloc.start(); // the sampler is free again
      assert.equal(tracemalloc.isTracing(), true);
    } finally {
      tracemalloc.stop();
      held.length = 0;
      await w.terminate();
    }
  });
}

// tracemalloc/testing against what broke it in the wild: a bounded warm-up (a cache that fills
// and stops), fake timers, concurrent assertions, two copies of the package, a function that
// never settles; and assertMaxMemory. Live V8; bounds from the sampling error.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { assertMaxMemory, assertNoLeak, decide, measureLeak, measurePeak, type LeakWindow } from 'tracemalloc/testing';
import { lineOf, MiB } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'testing-robust.test.ts');
let kept: unknown[] = [];
let sink = 0;

afterEach(() => {
  assert.ok(kept.length >= 0 && sink >= 0);
  kept = [];
  tracemalloc.stop();
});

function leak512(i: number): void {
  kept.push(new Array(60).fill(i));
}

function clean(i: number): void {
  sink += JSON.stringify({ i, list: [i, i + 1] }).length;
}

const win = (growth: number, se: number, margin: number, above: boolean): LeakWindow => ({ from: 0, to: 1000, growthPerIteration: growth, standardError: se, margin, above });

test('decide: under the threshold passes; two steady windows above it leak; a falling growth gets another window, up to maxWindows', () => {
  assert.equal(decide([win(10, 5, 30, false)], 4).verdict, 'pass');
  assert.equal(decide([win(300, 10, 30, true)], 4).verdict, 'more');
  assert.deepEqual(decide([win(300, 10, 30, true), win(310, 10, 30, true)], 4), { verdict: 'leak', reason: 'steady growth over two consecutive windows' });
  // 300 -> 150 with standard errors of 10: a drop of 10.6 standard errors, still settling.
  assert.equal(decide([win(300, 10, 30, true), win(150, 10, 30, true)], 4).verdict, 'more');
  assert.equal(decide([win(300, 10, 30, true), win(150, 10, 30, true), win(20, 5, 30, false)], 4).verdict, 'pass');
  assert.equal(decide([win(300, 10, 30, true), win(200, 10, 30, true), win(120, 10, 30, true), win(100, 10, 30, true)], 4).verdict, 'leak');
  const r = decide([win(400, 10, 30, true), win(300, 10, 30, true), win(200, 10, 30, true), win(120, 10, 30, true)], 4);
  assert.deepEqual(r, { verdict: 'leak', reason: 'growth still above the threshold after 4 windows (slowing, not stopping)' });
});

test('a bounded warm-up is not a leak: a cache that fills over 1,600 calls, then stops', async () => {
  const cache = new Map<number, number[]>();
  const fill = (i: number): number => {
    const key = i % 1600;
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = new Array(60).fill(key)));
    return v.length;
  };
  const report = await measureLeak(fill);
  assert.equal(report.leaking, false, JSON.stringify(report.windows));
  // The first window (calls 100-1100) grows by ~500 B a call; the rule waits for it to settle.
  assert.ok(report.windows.length >= 2, JSON.stringify(report.windows));
  assert.ok(report.windows[0]!.above, JSON.stringify(report.windows[0]));
  assert.equal(cache.size, 1600);
});

test('faked global timers (never firing) neither hang the assertion nor leave tracing on', async () => {
  const saved = { setImmediate: globalThis.setImmediate, setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  // Like @sinonjs/fake-timers' (Jest's and Vitest's): a Node-like timer object that never fires.
  const never = Object.assign(() => ({ ref() {}, unref() {}, hasRef: () => false }), { clock: {} });
  Object.assign(globalThis, { setImmediate: never, setTimeout: never, setInterval: never });
  try {
    const report = await measureLeak(clean, { iterations: 200 });
    assert.equal(report.leaking, false);
    await assert.rejects(assertNoLeak(leak512, { iterations: 300 }), AssertionError);
  } finally {
    Object.assign(globalThis, saved);
  }
  assert.equal(tracemalloc.isTracing(), false);
});

test('concurrent assertions queue: each verdict is right and none fails with NOT_TRACING', async () => {
  const results = await Promise.allSettled([
    assertNoLeak(clean, { iterations: 300 }),
    assertNoLeak(leak512, { iterations: 300 }),
    measureLeak(clean, { iterations: 300 }),
    assertMaxMemory(() => new Array(MiB / 8).fill(1).length, 64 * MiB),
  ]);
  assert.equal(results[0].status, 'fulfilled', String((results[0] as PromiseRejectedResult).reason));
  assert.equal(results[1].status, 'rejected');
  assert.ok((results[1] as PromiseRejectedResult).reason instanceof AssertionError, String((results[1] as PromiseRejectedResult).reason));
  assert.equal(results[2].status, 'fulfilled');
  assert.equal((results[2] as PromiseFulfilledResult<{ leaking: boolean }>).value.leaking, false);
  assert.equal(results[3].status, 'fulfilled');
  assert.equal(tracemalloc.isTracing(), false);
});

test('two copies of the package (as Jest loads one per test file) share one queue', async () => {
  const dist = path.dirname(require.resolve('tracemalloc/testing'));
  const saved = Object.keys(require.cache).filter((k) => k.startsWith(dist));
  const cached = saved.map((k) => [k, require.cache[k]] as const);
  for (const k of saved) delete require.cache[k];
  const other = require(path.join(dist, 'testing.js')) as typeof import('tracemalloc/testing');
  for (const k of Object.keys(require.cache)) if (k.startsWith(dist)) delete require.cache[k];
  for (const [k, m] of cached) require.cache[k] = m;
  assert.notEqual(other.measureLeak, measureLeak);
  const [a, b] = await Promise.all([measureLeak(clean, { iterations: 200 }), other.measureLeak(clean, { iterations: 200 })]);
  assert.equal(a.leaking, false);
  assert.equal(b.leaking, false);
  assert.equal(tracemalloc.isTracing(), false);
});

test('a function that never settles is aborted after stallTimeout: tracing stopped, the queue goes on', async () => {
  const hang = (i: number): Promise<void> | void => (i === 30 ? new Promise<void>(() => undefined) : undefined);
  const t0 = performance.now();
  await assert.rejects(measureLeak(hang, { stallTimeout: 300 }), { code: 'ERR_TRACEMALLOC_STALLED', message: /^measureLeak\(hang\) stopped: the function under test made no progress for 300 ms/ });
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(tracemalloc.isTracing(), false);
  const report = await measureLeak(clean, { iterations: 200 });
  assert.equal(report.leaking, false);
});

const MB8 = 8 * MiB;

function build8MiB(): number[] {
  return new Array(MB8 / 8).fill(0).map((_, k) => k);
}

test('assertMaxMemory fails over the limit and names the line; passes under it; the peak is within the counter\'s error', async () => {
  const line = lineOf(SOURCE, 'function build8MiB(');
  await assert.rejects(assertMaxMemory(function peak8() {
    return build8MiB().length;
  }, 4 * MiB), (err: unknown) => {
    assert.ok(err instanceof AssertionError);
    assert.equal(err.operator, 'assertMaxMemory');
    assert.match(err.message, /^peak8 used \d+(\.\d+)? MiB at its peak, over the limit of 4096 KiB\npeak /);
    assert.ok(err.message.includes(`${SOURCE}:${line} build8MiB(): `), err.message);
    return true;
  });
  const report = await assertMaxMemory(() => build8MiB().length, 128 * MiB);
  // The counter reads the heap's used size exactly: at least the array's 8 MiB backing store
  // (map() makes a second one), at most that plus garbage V8 had not collected yet.
  assert.ok(report.peak >= MB8 && report.peak < 3 * MB8 + 32 * MiB, String(report.peak));
  assert.equal(report.sitesKind, 'allocated');
  assert.equal(report.sites[0]!.filename, SOURCE);
  assert.equal(tracemalloc.isTracing(), false);
});

test('assertMaxMemory: async functions, transient peaks and Buffers count', async () => {
  const transient = await measurePeak(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    const big = build8MiB();
    await Promise.resolve();
    return big.length;
  });
  assert.ok(transient.peak >= MB8, String(transient.peak));
  const buffers = await measurePeak(() => Buffer.alloc(MB8, 1).length);
  assert.ok(buffers.peak >= MB8, String(buffers.peak));
  const nothing = await measurePeak(() => 1 + 1);
  assert.ok(nothing.peak < MiB, String(nothing.peak));
  await assert.rejects(assertMaxMemory(() => 1, -1), RangeError);
  await assert.rejects(assertMaxMemory('x' as unknown as () => void, 1), TypeError);
});

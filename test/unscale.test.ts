/**
 * Unscaling V8's samples in bounded steps (issue 13): the search used to try every multiple of 4
 * from (size - interval) / 2 up to the size, so a `.heapprofile` with an interval of 1e12 kept the
 * reader busy for minutes. The new search must give exactly the old answers on every size V8 can
 * report at the intervals the tracer accepts, and stop within its budget on anything else.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MAX_UNSCALE_STEPS, Unscaler, unscaleSample } from '#internal/unscale';
import { addProfile } from '#internal/profile';
import { CallFrameResolver } from '#internal/resolve';
import { StoreBuilder } from '#internal/store';
import { prng } from './helpers/prng.js';
import * as tracemalloc from 'tracemalloc';

/** The search before issue 13, verbatim: the reference the bounded one must agree with. */
function scanUnscale(size: number, interval: number): { objectSize: number; count: number } {
  const scale = (s: number): number => Math.round(1 / (1 - Math.exp(-s / interval)));
  if (!(size > 0) || !(interval > 0)) return { objectSize: size, count: 1 };
  if (size > 2.5 * interval) return { objectSize: size, count: 1 };
  const lo = Math.max(16, Math.floor((size - interval) / 8) * 4);
  const hi = size;
  for (let s = lo; s <= hi; s += 4) {
    if (size % s === 0 && scale(s) === size / s) return { objectSize: s, count: size / s };
  }
  const count = Math.max(1, Math.round(size / Math.max(1, 2 * (size - interval))));
  return { objectSize: size / count, count };
}

const v8Scaled = (s: number, interval: number): number => s * Math.round(1 / (1 - Math.exp(-s / interval)));

test('the bounded search gives the old answer on every size V8 reports at realistic intervals', () => {
  const rand = prng(0x5ca1e);
  let checked = 0;
  for (const interval of [512, 1024, 4096, 16384, 32768, 65536, 131072, 524288, 1048576]) {
    // Every object size up to 4 KiB (step 4), then a seeded sample up to 3 intervals.
    const sizes: number[] = [];
    for (let s = 16; s <= Math.min(4096, 3 * interval); s += 4) sizes.push(s);
    for (let k = 0; k < 300; k++) sizes.push(16 + 4 * Math.floor((rand() * 3 * interval) / 4));
    for (const s of sizes) {
      const scaled = v8Scaled(s, interval);
      const { objectSize, count } = unscaleSample(scaled, interval);
      assert.deepEqual({ objectSize, count }, scanUnscale(scaled, interval), `object ${s} at interval ${interval} (sample ${scaled})`);
      checked++;
    }
  }
  assert.ok(checked > 5000);
});

test('the bounded search gives the old answer on sizes V8 never reports (odd, near the interval, random)', () => {
  const rand = prng(0xb0a7);
  for (const interval of [1024, 32768, 65536, 524288]) {
    const sizes = [1, 3, 15, 16, 17, interval - 4, interval, interval + 1, interval + 4, interval + 8, 2 * interval, 2.5 * interval, 2.5 * interval + 4, 0.5, 1e-9];
    for (let k = 0; k < 60; k++) sizes.push(Math.floor(rand() * 2.6 * interval), 4 * Math.floor((rand() * 2.6 * interval) / 4));
    for (const size of sizes) {
      const { objectSize, count } = unscaleSample(size, interval);
      assert.deepEqual({ objectSize, count }, scanUnscale(size, interval), `size ${size} at interval ${interval}`);
    }
  }
});

test('any size costs at most about sqrt(size) steps: the interval of 1e12 from the issue', () => {
  for (const [size, interval] of [
    [1999999999996, 1e12],
    [1e12 + 4000, 1e12],
    [2 ** 52, 2 ** 51],
    [2147483684, 2 ** 31 - 1],
  ] as const) {
    const r = unscaleSample(size, interval);
    assert.ok(r.steps <= Math.sqrt(size) + 2, `${size} at ${interval}: ${r.steps} steps`);
    assert.ok(r.count >= 1 && Number.isFinite(r.objectSize));
  }
  // Not a safe integer, or not a multiple of 4: no candidate can divide it, no search at all.
  assert.equal(unscaleSample(2 ** 60, 2 ** 60).steps, 0);
  assert.equal(unscaleSample(1e12 + 2, 1e12).steps, 0);
  // The budget stops a search and falls back on the continuous estimate.
  const size = 1e12 + 3988;
  assert.ok(unscaleSample(size, 1e12).steps > 10);
  const capped = unscaleSample(size, 1e12, 10);
  assert.equal(capped.steps, 10);
  assert.equal(capped.count, Math.round(size / (2 * 3988)));
});

test('an Unscaler spends at most MAX_UNSCALE_STEPS on one profile, then estimates', () => {
  const u = new Unscaler(1e12);
  for (let i = 1; i <= 20000; i++) u.count(1e12 + 4 * i * 997);
  assert.equal(u.budget, 0, 'the crafted sizes exhaust the budget');
  // Past the budget, every size is answered without a search, and still with a valid count.
  assert.ok(u.count(1e12 + 4 * 123457) >= 1);
  assert.equal(u.budget, 0);
  // A live-like profile spends little: 2,000 distinct genuine sizes at 512 KiB.
  const live = new Unscaler(524288);
  for (let s = 16; s < 16 + 4 * 2000; s += 4) live.count(v8Scaled(s, 524288));
  assert.ok(MAX_UNSCALE_STEPS - live.budget < MAX_UNSCALE_STEPS / 20, `spent ${MAX_UNSCALE_STEPS - live.budget}`);
});

test('addProfile on 20,000 distinct crafted sizes at an interval of 1e12 keeps every byte and a count per sample', () => {
  const leaf = { callFrame: { functionName: 'f', scriptId: '1', url: '/srv/a.js', lineNumber: 2, columnNumber: 0 }, selfSize: 0, id: 2, children: [] };
  const head = { callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, selfSize: 0, id: 1, children: [leaf] };
  const samples = Array.from({ length: 20000 }, (_, i) => ({ size: 1e12 + 4 * (i + 1) * 997, nodeId: 2, ordinal: i + 1 }));
  const builder = new StoreBuilder();
  const resolver = new CallFrameResolver(false);
  const totals = addProfile(builder, { head, samples }, { nframe: 1, interval: 1e12, domain: 0, resolve: resolver.resolve });
  const columns = builder.build();
  assert.equal(columns.length, 20000);
  assert.equal(totals.traced, samples.reduce((a, s) => a + s.size, 0));
  for (let i = 0; i < columns.length; i++) assert.ok(columns.counts[i]! >= 1);
});

test('the live tracer: every heap trace of a real snapshot has the count the old scan gives its size', () => {
  for (const interval of [1024, 32768]) {
    tracemalloc.start(5, { samplingInterval: interval });
    const keep: unknown[] = [];
    try {
      for (let i = 0; i < 20_000; i++) keep.push(i % 3 === 0 ? { i, s: `x${i}` } : i % 3 === 1 ? [i, i + 1, i + 2] : new Array(i % 50).fill(i));
      const snapshot = tracemalloc.takeSnapshot();
      let checked = 0;
      for (const trace of snapshot.traces) {
        if (trace.domain !== 0) continue;
        assert.equal(trace.count, scanUnscale(trace.size, interval).count, `size ${trace.size} at ${interval}`);
        checked++;
      }
      assert.ok(checked > 20, `${checked} heap traces checked at ${interval}`);
    } finally {
      tracemalloc.stop();
      keep.length = 0;
    }
  }
});

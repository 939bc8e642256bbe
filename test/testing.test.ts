// tracemalloc/testing: the statistic on hand-made series, then measureLeak and assertNoLeak on
// live V8 with code that leaks and code that does not. What a leaking function keeps goes into
// `kept`, which is read at the end of each test: V8 frees what no code reads again.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { setRawTraceSourceForTesting } from '#internal/session-testing';
import { assertNoLeak, formatLeakReport, measureLeak, slopeStatistics, MARGIN_SIGMAS } from 'tracemalloc/testing';
import { lineOf } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'testing.test.ts');
let kept: unknown[] = [];
let sink = 0;

afterEach(() => {
  assert.ok(kept.length >= 0);
  kept = [];
  tracemalloc.stop();
  setRawTraceSourceForTesting(null);
});

// About 1 KiB a call: an array of 124 small integers (a 1008-byte backing store and its header).
function leakOneKiB(i: number): void {
  kept.push(new Array(124).fill(i));
}

async function leakOneKiBLater(i: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  kept.push(new Array(124).fill(i));
}

// Allocates about 40 KiB a call and keeps none of it.
function churn(i: number): void {
  const arrays = Array.from({ length: 20 }, (_, k) => new Array(200).fill(i + k));
  const text = arrays.map((a) => a.length).join(',');
  sink += text.length;
}

async function churnAsync(i: number): Promise<void> {
  await Promise.resolve();
  const objects = Array.from({ length: 200 }, (_, k) => ({ k, i, name: `o${k}` }));
  await new Promise((resolve) => setImmediate(resolve));
  sink += objects.length;
}

test('slopeStatistics: the least-squares slope, its residual error, and the sampling error of a rate', () => {
  const exact = slopeStatistics([0, 10, 20, 30], [5, 25, 45, 65], 0, 1024);
  assert.equal(exact.slope, 2);
  assert.equal(exact.residualError, 0);
  assert.equal(exact.samplingError, 0);
  // x = 0, 1, 2: w = (-1, 0, 1) / 2, c_1 = c_2 = 1/2; Var = rate * I * (1 * 1/4 + 1 * 1/4).
  const s = slopeStatistics([0, 1, 2], [0, 0, 0], 64, 1024);
  assert.equal(s.samplingError, Math.sqrt(64 * 1024 * 0.5));
  const noisy = slopeStatistics([0, 1, 2, 3], [0, 2, 0, 2], 0, 1024);
  assert.ok(noisy.slope > 0 && noisy.residualError > 0);
});

test('assertNoLeak catches a 1 KiB-a-call leak and names its file and line', async () => {
  const line = lineOf(SOURCE, 'function leakOneKiB(');
  await assert.rejects(assertNoLeak(leakOneKiB), (err: unknown) => {
    assert.ok(err instanceof AssertionError);
    assert.equal(err.code, 'ERR_ASSERTION');
    assert.equal(err.operator, 'assertNoLeak');
    assert.match(err.message, /^leakOneKiB leaks \d+ B per call\nleak: \+\d+ B per call/);
    assert.ok(err.message.includes(`${SOURCE}:${line} leakOneKiB(): +`), err.message);
    assert.ok(err.message.includes('      function leakOneKiB(i: number): void {'), err.message);
    return true;
  });
  assert.equal(tracemalloc.isTracing(), false, 'the tracing it started is stopped');
});

test('measureLeak reports the growth per call within its error, and the growing site first', async () => {
  const report = await measureLeak(leakOneKiB, { iterations: 500 });
  // 1032 bytes a call, plus the array that keeps them; V8's estimate of objects near the
  // sampling interval is biased by up to a third (docs/testing.md).
  assert.ok(report.leaking);
  assert.ok(report.growthPerIteration > 700 && report.growthPerIteration < 1800, String(report.growthPerIteration));
  assert.ok(report.standardError > 0 && report.standardError < 100, String(report.standardError));
  // A leak is steady growth over two consecutive windows of 500 calls (a third if the first was
  // still settling): 1000 calls and 21 snapshots, or 1500 and 31.
  const w = report.windows.length;
  assert.ok(w === 2 || w === 3, String(w));
  assert.ok(report.windows.slice(-2).every((x) => x.above));
  assert.match(report.reason, /^steady growth over (two|the last two of 3) consecutive windows$/);
  assert.equal(report.iterations, 500 * w);
  assert.equal(report.warmup, 50);
  assert.equal(report.samplingInterval, 1024);
  assert.equal(report.checkpoints.length, 10 * w + 1);
  assert.deepEqual(report.checkpoints.map((c) => c.iteration), Array.from({ length: 10 * w + 1 }, (_, k) => k * 50));
  const site = report.sites[0]!;
  assert.equal(site.filename, SOURCE);
  assert.equal(site.lineno, lineOf(SOURCE, 'function leakOneKiB('));
  assert.equal(site.functionName, 'leakOneKiB');
  assert.ok(site.sizeDiff > 300 * 1024 && site.countDiff > 0, JSON.stringify(site));
  assert.match(formatLeakReport(report), /^leak: \+\d+ B per call ± \d+ B \(allowed: 64 B \+ noise margin \d+ B; 1[05]00 calls after 50 warm-up, [23]1 snapshots, sampling interval 1024 B\)\nwindows: \+\d+ B, \+\d+ B(, \+\d+ B)? per call; steady growth over/);
});

test('an async leak is caught too', async () => {
  await assert.rejects(assertNoLeak(leakOneKiBLater, { iterations: 300 }), (err: unknown) => {
    assert.ok(err instanceof AssertionError);
    assert.ok(err.message.includes(`${SOURCE}:${lineOf(SOURCE, 'async function leakOneKiBLater(')}`), err.message);
    return true;
  });
});

test('clean code passes: sync, async, and code that allocates and frees a lot each call', async () => {
  for (const fn of [churn, churnAsync, (i: number) => JSON.stringify({ i })]) {
    const report = await assertNoLeak(fn, { iterations: 300 });
    assert.equal(report.leaking, false);
    assert.ok(report.growthPerIteration < report.threshold + report.margin);
    assert.ok(report.margin > 0 && report.margin < 200, `${fn.name}: margin ${report.margin}`);
  }
  assert.ok(sink > 0);
});

test('the margin is the sampling error of a growth at the threshold, and more with a coarser interval', async () => {
  const fine = await measureLeak(churn, { iterations: 200, threshold: 256 });
  const coarse = await measureLeak(churn, { iterations: 200, threshold: 256, samplingInterval: 16 * 1024 });
  const expected = (interval: number) => MARGIN_SIGMAS * slopeStatistics(fine.checkpoints.map((c) => c.iteration), fine.checkpoints.map(() => 0), 256, interval).samplingError;
  assert.ok(fine.margin >= expected(1024) - 1e-9, `${fine.margin} >= ${expected(1024)}`);
  // More with a coarser interval: at 16x the interval, at least its sampling error (4x the fine
  // interval's: it grows as sqrt(interval)), and more than the fine run's whole margin. Not 3x that
  // margin: it also holds the residual scatter of the fine run's measurements, which a loaded
  // machine can raise to the sampling error's size (failed once on Node 22 beside benchmarks).
  assert.ok(coarse.margin >= expected(16 * 1024) - 1e-9);
  assert.ok(coarse.margin > fine.margin, `${coarse.margin} > ${fine.margin}`);
});

test('an existing tracer is used as it is and left running', async () => {
  tracemalloc.start(7, { samplingInterval: 2048 });
  const report = await measureLeak(churn, { iterations: 100 });
  assert.equal(report.samplingInterval, 2048);
  assert.equal(tracemalloc.isTracing(), true);
  assert.equal(tracemalloc.getTracebackLimit(), 7);
});

test('a tracer that cannot see the code under test is an error, not a pass', async () => {
  tracemalloc.start(1, { samplingInterval: 1024 });
  setRawTraceSourceForTesting(() => []);
  await assert.rejects(measureLeak(leakOneKiB, { iterations: 20 }), { code: 'ERR_TRACEMALLOC_BLIND', message: /^measureLeak cannot see what the code under test allocates/ });
});

test('options are checked', async () => {
  await assert.rejects(measureLeak('nope' as unknown as () => void), { name: 'TypeError', message: 'fn must be a function' });
  await assert.rejects(measureLeak(churn, { iterations: 1 }), { name: 'RangeError', message: 'options.iterations must be an integer in [2; 9007199254740991], not 1' });
  await assert.rejects(measureLeak(churn, { iterations: 10, checkpoints: 11 }), { name: 'RangeError', message: /^options\.checkpoints must be an integer in \[2; 10\]/ });
  await assert.rejects(measureLeak(churn, { threshold: -1 }), { name: 'RangeError', message: 'options.threshold must be a number of bytes >= 0, not -1' });
  await assert.rejects(measureLeak(churn, { samplingInterval: 0 }), { name: 'RangeError' });
  await assert.rejects(measureLeak(churn, { warmup: 1.5 }), { name: 'RangeError' });
  await assert.rejects(measureLeak(churn, { maxWindows: 0 }), { name: 'RangeError', message: 'options.maxWindows must be an integer in [1; 1000], not 0' });
  await assert.rejects(measureLeak(churn, { stallTimeout: -5 }), { name: 'RangeError', message: /^options\.stallTimeout must be an integer/ });
  assert.equal(tracemalloc.isTracing(), false);
});

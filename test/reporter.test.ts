// startReporter: the record's shape and content, the timer (unref()ed, one snapshot per
// interval), compareTo 'previous' and 'start', and what stop() leaves behind.
import { test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import type { ReportRecord } from 'tracemalloc';
import { lineOf } from './helpers/live.js';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'reporter.test.ts');
const held: unknown[] = [];

afterEach(() => {
  held.length = 0;
  tracemalloc.stop();
});

// 8 MiB in 64 arrays of 128 KiB. At the default interval (64 KiB) each array is sampled with
// probability 1 - exp(-2) = 0.86, so about 55 of them are seen (standard deviation 2.7).
function grow(): void {
  for (let i = 0; i < 64; i++) held.push(new Array(16384).fill(i));
}

test('a record: plain JSON-safe fields, the growing site first with file:line, size, count and diffs', () => {
  const records: ReportRecord[] = [];
  const reporter = startQuiet(records, { limit: 3 });
  grow();
  const record = reporter.report()!;
  reporter.stop();
  assert.equal(records.length, 1);
  assert.equal(records[0], record);
  assert.deepEqual(JSON.parse(JSON.stringify(record)), record, 'JSON-safe');
  assert.deepEqual(Object.keys(record).sort(), ['compareTo', 'current', 'durationMs', 'peak', 'since', 'takenAt', 'top', 'traced', 'tracedDiff', 'type']);
  for (const key of ['time', 'msg', 'message', 'level', 'pid', 'hostname']) assert.ok(!(key in record), `${key} would collide with a logger's own field`);
  assert.equal(record.type, 'tracemalloc');
  assert.equal(record.compareTo, 'previous');
  assert.ok(Date.parse(record.takenAt) >= Date.parse(record.since));
  assert.ok(record.current > 0 && record.peak >= record.current);
  assert.ok(record.top.length >= 1 && record.top.length <= 3);
  const top = record.top[0]!;
  assert.deepEqual(Object.keys(top).sort(), ['count', 'countDiff', 'file', 'function', 'line', 'size', 'sizeDiff']);
  assert.equal(top.file, SOURCE);
  assert.equal(top.line, lineOf(SOURCE, 'function grow('));
  assert.equal(top.function, 'grow');
  // Between 32 and 64 arrays seen (32 is 8.5 standard deviations below the mean).
  assert.ok(top.sizeDiff >= 4 * 1024 * 1024 && top.sizeDiff <= 9 * 1024 * 1024, String(top.sizeDiff));
  assert.ok(top.countDiff > 0 && top.size >= top.sizeDiff);
  assert.ok(record.tracedDiff > 4 * 1024 * 1024);
  assert.ok(record.top.every((s, i) => i === 0 || s.sizeDiff <= record.top[i - 1]!.sizeDiff && s.sizeDiff > 0));
});

test("compareTo 'previous' shows only the new growth; 'start' all of it since the start", () => {
  const previous: ReportRecord[] = [];
  const sinceStart: ReportRecord[] = [];
  const a = startQuiet(previous, { compareTo: 'previous' });
  const b = startQuiet(sinceStart, { compareTo: 'start' });
  grow();
  a.report();
  b.report();
  const second = a.report()!;
  const third = b.report()!;
  a.stop();
  b.stop();
  assert.equal(second.top.find((s) => s.function === 'grow'), undefined, 'nothing grew since the previous report');
  assert.ok(third.top.some((s) => s.function === 'grow'), 'grow() still grew since the start');
  assert.equal(third.compareTo, 'start');
  assert.equal(third.since, sinceStart[0]!.since);
});

test('the timer logs one record per interval, and stop() stops it and the tracing it started', async () => {
  const records: ReportRecord[] = [];
  assert.equal(tracemalloc.isTracing(), false);
  let twoRecords: () => void = () => {};
  const gotTwo = new Promise<void>((resolve) => (twoRecords = resolve));
  const t0 = performance.now();
  const reporter = tracemalloc.startReporter({
    intervalMs: 30,
    log: (r) => {
      records.push(r);
      if (records.length === 2) twoRecords();
    },
  });
  assert.equal(tracemalloc.isTracing(), true, 'tracing started');
  const deadline = setTimeout(() => twoRecords(), 20_000);
  await gotTwo;
  clearTimeout(deadline);
  reporter.stop();
  reporter.stop();
  const elapsed = performance.now() - t0;
  const n = records.length;
  assert.ok(n >= 2, `${n} records`);
  assert.ok(n <= Math.floor(elapsed / 30) + 1, `at most one record per interval: ${n} in ${elapsed} ms`);
  assert.equal(tracemalloc.isTracing(), false, 'stopped with the reporter that started it');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(records.length, n, 'no record after stop()');
  assert.equal(reporter.report(), null);
});

test('a tracer already running is left running; a throwing log does not break the reporter', () => {
  tracemalloc.start(2);
  let calls = 0;
  const reporter = tracemalloc.startReporter({ log: () => { calls++; throw new Error('logger down'); } });
  assert.notEqual(reporter.report(), null);
  assert.notEqual(reporter.report(), null);
  reporter.stop();
  assert.equal(calls, 2);
  assert.equal(tracemalloc.isTracing(), true);
  assert.equal(tracemalloc.getTracebackLimit(), 2);
});

test('the timer is unref()ed: a process with only a reporter exits', () => {
  const script = `const t = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
    t.startReporter({ intervalMs: 10, log: () => {} }); console.log('started');`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'started\n');
});

test('the default log is one JSON line on stdout', () => {
  const script = `const t = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
    const r = t.startReporter(); r.report(); r.stop();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).type, 'tracemalloc');
});

test('options are checked', () => {
  assert.throws(() => tracemalloc.startReporter({ intervalMs: 0 }), RangeError);
  assert.throws(() => tracemalloc.startReporter({ limit: -1 }), RangeError);
  assert.throws(() => tracemalloc.startReporter({ keyType: 'line' as 'lineno' }), { name: 'RangeError', message: 'unknown key_type: line' });
  assert.throws(() => tracemalloc.startReporter({ compareTo: 'first' as 'start' }), RangeError);
  assert.throws(() => tracemalloc.startReporter({ log: 'console' as unknown as () => void }), TypeError);
  assert.equal(tracemalloc.isTracing(), false);
});

function startQuiet(records: ReportRecord[], options: tracemalloc.ReporterOptions = {}): tracemalloc.Reporter {
  return tracemalloc.startReporter({ intervalMs: 3_600_000, ...options, log: (r) => records.push(r) });
}

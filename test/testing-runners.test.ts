// tracemalloc/testing inside the real test runners: node:test, Jest (two files in one worker,
// each with its own copy of the package; fake timers), Mocha and AVA (tests of a file run
// concurrently, in a worker thread). Each runs test/runners/shared/suite.cjs, whose checks
// record themselves in a results file; a check missing or a runner failing fails here.
// Vitest's four pools: testing-runner-vitest.test.ts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runSuite } from './helpers/runners.js';

test('node:test: clean passes, a leak names its line, assertMaxMemory, mock.timers, concurrency: 4', async () => {
  await runSuite('node:test', [process.execPath, '--test', 'test/runners/nodetest/suite.test.cjs'], '.', ['fakeTimers']);
});

test('Jest 30: two files in one worker, each its own copy; fake timers; test.concurrent', async () => {
  const { results } = await runSuite('jest', ['node_modules/.bin/jest', '-c', 'test/runners/jest/jest.config.cjs', '--runInBand'], '.', ['fakeTimers']);
  for (const check of ['clean', 'leak', 'maxMemory']) assert.ok(results.includes(`jest-second-file ${check} ok`), results.join('\n'));
});

test('Mocha 12: the checks, and concurrent assertions in one test', async () => {
  await runSuite('mocha', ['node_modules/.bin/mocha', '--timeout', '120000', 'test/runners/mocha/suite.test.cjs'], '.', [], ['concurrent-clean-1', 'concurrent-leak', 'concurrent-clean-2', 'concurrent-peak']);
});

test('AVA 6: every test of the file at once, in a worker thread; tracing off once all are done', async () => {
  const { results } = await runSuite('ava', ['../../../node_modules/.bin/ava'], 'test/runners/ava', []);
  assert.ok(results.includes('ava tracing-off-after-all ok'), results.join('\n'));
});

// tracemalloc/testing inside Vitest 4, in each of its four pools (worker threads, child
// processes, and both in VM contexts): the checks of test/runners/shared/suite.cjs, vi.useFakeTimers
// and test.concurrent included.
import { test } from 'node:test';
import { runSuite } from './helpers/runners.js';

for (const pool of ['threads', 'forks', 'vmThreads', 'vmForks']) {
  test(`Vitest 4.1 (${pool} pool): clean, leak, assertMaxMemory, fake timers, test.concurrent`, async () => {
    await runSuite(`vitest-${pool}`, ['node_modules/.bin/vitest', 'run', '-c', 'test/runners/vitest/vitest.config.mjs', '--pool', pool], '.', ['fakeTimers'], [], { VITEST_POOL_NAME: pool });
  });
}

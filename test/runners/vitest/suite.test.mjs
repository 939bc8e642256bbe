import { createRequire } from 'node:module';
import { test, vi } from 'vitest';
createRequire(import.meta.url)('../shared/suite.cjs').register(`vitest-${process.env.VITEST_POOL_NAME ?? 'pool'}`, {
  test: (name, fn) => test(name, fn),
  fakeTimers: () => vi.useFakeTimers(),
  realTimers: () => vi.useRealTimers(),
  concurrent: (cases) => {
    for (const [name, fn] of cases) test.concurrent(name, fn);
  },
});

'use strict';
/* global test, jest */
require('../shared/suite.cjs').register('jest', {
  test: (name, fn) => test(name, fn),
  fakeTimers: () => jest.useFakeTimers(),
  realTimers: () => jest.useRealTimers(),
  concurrent: (cases) => {
    for (const [name, fn] of cases) test.concurrent(name, fn);
  },
});

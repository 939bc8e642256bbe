'use strict';
/* global test, jest */
// A second file in the same worker (--runInBand): the first left nothing behind, this one's copy
// of tracemalloc (Jest's per-file registry) measures normally, fake timers left on included.
jest.useFakeTimers();
require('../shared/suite.cjs').register('jest-second-file', {
  test: (name, fn) => test(name, fn),
  concurrent: () => undefined,
});

'use strict';
const { test, describe } = require('node:test');
require('../shared/suite.cjs').register('node:test', {
  test: (name, fn) => test(name, fn),
  // node:test's own fake timers (mock.timers) fake the globals, as Jest's and Vitest's do.
  fakeTimers: () => require('node:test').mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate'] }),
  realTimers: () => require('node:test').mock.timers.reset(),
  concurrent: (cases) => describe('concurrent', { concurrency: cases.length }, () => {
    for (const [name, fn] of cases) test(name, fn);
  }),
});

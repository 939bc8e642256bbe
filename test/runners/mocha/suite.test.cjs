'use strict';
/* global it */
// Mocha runs the tests of a file one after the other: the concurrent cases run in one test, together.
require('../shared/suite.cjs').register('mocha', {
  test: (name, fn) => it(name, fn),
  concurrent: (cases) => it('concurrent', () => Promise.all(cases.map(([, fn]) => fn()))),
});

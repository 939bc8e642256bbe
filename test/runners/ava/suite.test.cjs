'use strict';
// AVA runs the tests of a file concurrently (its default), each file in a worker thread.
const test = require('ava');
const suite = require('../shared/suite.cjs');
test.after.always('tracing is off once every test is done', (t) => {
  t.false(suite.tracingIsOn());
  require('node:fs').appendFileSync(process.env.SUITE_RESULTS, 'ava tracing-off-after-all ok\n');
});
suite.register('ava', {
  allConcurrent: true,
  test: (name, fn) => test(name, async (t) => {
    await fn();
    t.pass();
  }),
  concurrent: (cases) => {
    for (const [name, fn] of cases) test(name, async (t) => {
      await fn();
      t.pass();
    });
  },
});

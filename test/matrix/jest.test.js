const probe = require('./runner-probe.cjs');
const app = require('./app-cjs.js');

test('the fixture traced inside Jest', () => {
  probe(app);
});

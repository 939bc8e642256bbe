const probe = require('./runner-probe.cjs');
const app = require('./app.ts');

test('the fixture (TypeScript, through ts-jest) traced inside Jest', () => {
  probe(app);
});

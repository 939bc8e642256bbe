import { test } from 'vitest';
import probe from './runner-probe.cjs';
import * as app from './app.ts';

test('the fixture traced inside Vitest', () => {
  probe(app);
});

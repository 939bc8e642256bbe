import { createRequire } from 'node:module';
import { test } from 'vitest';
createRequire(import.meta.url)('../shared/driver.cjs').register('vitest', test);

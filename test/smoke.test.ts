import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tracemalloc from 'tracemalloc';

test('the package loads by its own name, from require and import alike', async () => {
  const req = createRequire(__filename);
  const fromRequire = req('tracemalloc');
  const fromImport = await import('tracemalloc');
  assert.equal(fromRequire.Snapshot, tracemalloc.Snapshot);
  // One implementation behind both entry points: the ESM wrapper re-exports the CommonJS objects.
  assert.equal(fromImport.Snapshot, tracemalloc.Snapshot);
});

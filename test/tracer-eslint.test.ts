// Issue 19a on a real program: after ESLint (pinned devDependency) lints its own 389 library files
// with every rule, the first snapshot must be the live set: within 10 % of the snapshot taken once
// GCs until stable have freed everything they can. With only the one GC that reading V8's profile
// runs (snapshotGC: 'fast'), the first snapshot counted 1.35-1.5x the live set (Node 20 and 26;
// numbers in docs/differences-from-python.md). And no frame of this library appears in any trace.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { gc, MiB } from './helpers/live.js';

const PKG = path.join(__dirname, '..', '..');
const { gcUntilStable } = require(path.join(PKG, 'test', 'fixtures', 'truth', 'live-set.cjs')) as { gcUntilStable: (gc: () => void) => void };

function heapTotal(snapshot: tracemalloc.Snapshot): number {
  let total = 0;
  for (const t of snapshot.traces) if (t.domain === tracemalloc.HEAP_DOMAIN) total += t.size;
  return total;
}

test("after ESLint's lintFiles(), the first snapshot is the live set and holds no frame of tracemalloc", async () => {
  const eslintDir = path.dirname(require.resolve('eslint/package.json'));
  const { ESLint } = require('eslint') as typeof import('eslint');
  const { builtinRules } = require('eslint/use-at-your-own-risk') as { builtinRules: Map<string, { meta?: { deprecated?: unknown } }> };
  const rules: Record<string, 'warn'> = {};
  for (const [name, rule] of builtinRules) if (!rule.meta?.deprecated) rules[name] = 'warn';
  tracemalloc.start({ nframe: 4 });
  try {
    const eslint = new ESLint({
      cwd: eslintDir,
      overrideConfigFile: true,
      overrideConfig: [{ files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', ecmaVersion: 2024 }, rules }],
    });
    const results = await eslint.lintFiles(['lib/**/*.js']);
    assert.ok(results.length > 300, `${results.length} files linted`);
    const first = tracemalloc.takeSnapshot();
    const firstTotal = heapTotal(first);
    const own = [path.join(PKG, 'dist') + path.sep, path.join(PKG, 'src') + path.sep];
    // Every domain: the heap (V8's sampler) and domain 1 (the Buffer wrappers' own frames).
    for (const trace of first.traces) {
      for (const frame of trace.traceback) {
        assert.ok(!own.some((dir) => frame.filename.startsWith(dir)), `a frame of tracemalloc in the program's traces: ${frame.filename}:${frame.lineno}`);
      }
    }
    // The truth: GC until the heap stops shrinking (at least 6 full GCs), then read again.
    gcUntilStable(gc);
    const settledTotal = heapTotal(tracemalloc.takeSnapshot());
    const msg = `first snapshot ${(firstTotal / MiB).toFixed(1)} MiB, live set ${(settledTotal / MiB).toFixed(1)} MiB`;
    assert.ok(Math.abs(firstTotal - settledTotal) <= 0.1 * settledTotal, msg);
    assert.ok(results.length > 0);
  } finally {
    tracemalloc.stop();
  }
});

// getTracemallocMemory() counts V8's live samples from its global handles (src/sampler-memory.ts):
// handles the program makes itself must not stay counted as the tracer's once a snapshot has
// re-anchored the count, in 'allocated' mode (whose snapshot restarts V8's sampler) as in live mode.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import * as tracemalloc from '../src/index.js';
import { MiB } from './helpers/live.js';

for (const mode of ['live', 'allocated'] as const) {
  test(`${mode} mode: the program's own global handles leave the estimate at the next snapshot`, () => {
    tracemalloc.start(1, { mode });
    try {
      tracemalloc.takeSnapshot();
      const before = tracemalloc.getTracemallocMemory();
      // Each channel holds global handles (about 80,000 in all): read as samples until re-anchored.
      const channels = Array.from({ length: 20_000 }, () => new MessageChannel());
      const inflated = tracemalloc.getTracemallocMemory();
      tracemalloc.takeSnapshot();
      const after = tracemalloc.getTracemallocMemory();
      for (const c of channels) c.port1.close();
      assert.ok(inflated > before + 4 * MiB, `the handles were counted first (control): ${before} -> ${inflated}`);
      assert.ok(after < before + 2 * MiB, `after the snapshot: ${after} bytes, before the channels ${before}`);
    } finally {
      tracemalloc.stop();
    }
  });
}

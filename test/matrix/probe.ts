// Entry of the source-map matrix's cells: traces the fixture's sites and prints the frames that
// name them, and every distinct frame of every trace, as JSON on stdout.
import * as tracemalloc from 'tracemalloc';
import { bufferSite, cleanSite, heapSite } from './app.js';

tracemalloc.start(16, { samplingInterval: 4096 });
heapSite({ rounds: 20_000, size: 0 });
cleanSite({ rounds: 0, size: 1 << 20 });
bufferSite({ rounds: 0, size: 8 << 20 });
const snapshot = tracemalloc.takeSnapshot();
tracemalloc.stop();
const traces = snapshot.traces.slice().map((t) => ({
  domain: t.domain,
  size: t.size,
  frames: Array.from(t.traceback, (f) => [f.filename, f.lineno, f.column, f.functionName] as const).reverse(),
}));
// The library's own position ranges (own.ts), to check that no trace holds one of its frames.
const registry = (globalThis as unknown as Record<symbol, { scripts: Map<string, unknown[]> } | undefined>)[Symbol.for('tracemalloc.ownCode.v1')];
const ranges = registry === undefined ? [] : [...registry.scripts].map(([file, r]) => [file, r]);
process.stdout.write(JSON.stringify({ traces, ranges }));

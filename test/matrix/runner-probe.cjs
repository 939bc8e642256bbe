// The probe of the matrix's test-runner cells (Jest, Vitest): the same work as probe.ts, inside a
// test; the result goes to $TRACEMALLOC_MATRIX_OUT.
const fs = require('node:fs');
const tracemalloc = require('tracemalloc');

module.exports = function probe({ heapSite, cleanSite, bufferSite }) {
  tracemalloc.start(16, { samplingInterval: 4096 });
  heapSite({ rounds: 20000, size: 0 });
  cleanSite({ rounds: 0, size: 1 << 20 });
  bufferSite({ rounds: 0, size: 8 << 20 });
  const snapshot = tracemalloc.takeSnapshot();
  tracemalloc.stop();
  const traces = snapshot.traces.slice().map((t) => ({
    domain: t.domain,
    size: t.size,
    frames: Array.from(t.traceback, (f) => [f.filename, f.lineno, f.column, f.functionName]).reverse(),
  }));
  fs.writeFileSync(process.env.TRACEMALLOC_MATRIX_OUT, JSON.stringify({ traces, ranges: [] }));
};

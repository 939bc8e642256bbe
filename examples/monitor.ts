// The first program of the note this project started from (shared/seeds), ported: allocate
// 100 MiB, wait, allocate 100 MiB more, free them one by one, and each time print the top line,
// traced current and peak memory, and the process RSS.
//
// Run: npm run build && npm run build:test && node build/examples/monitor.js
// Output: see the end of this file.
import * as tracemalloc from 'tracemalloc';

const MiB = 1024 * 1024;
const WAIT_MS = Number(process.env.WAIT_MS ?? 1000);

function monitorMemory(): void {
  const snapshot = tracemalloc.takeSnapshot();
  console.log(tracemalloc.formatTop(snapshot, { limit: 1 }));
  const [current, peak] = tracemalloc.getTracedMemory();
  console.log(`Traced Memory Usage current:${(current / MiB).toFixed(2)} MB, peak:${(peak / MiB).toFixed(2)} MB`);
  console.log(`Process Memory Usage: ${process.memoryUsage.rss() / MiB} MB\n`);
}

// Simulate memory allocation: an array of `size` bytes on the V8 heap (8 bytes an element).
function allocateBytes(size: number): number[] {
  return new Array<number>(size / 8).fill(0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  tracemalloc.start();
  monitorMemory();

  // Held in an object, as Python's module globals hold `a` and `b`: V8 frees a value that no
  // code will read again, even while a local variable still names it.
  const held: { a?: number[]; b?: number[] } = {};
  held.a = allocateBytes(100 * MiB);
  monitorMemory();
  await sleep(WAIT_MS);

  held.b = allocateBytes(100 * MiB);
  monitorMemory();
  await sleep(WAIT_MS);

  delete held.a;
  monitorMemory();
  await sleep(WAIT_MS);

  delete held.b;
  monitorMemory();
  tracemalloc.stop();
}

void main();

/* Output (Node v20.20.2; absolute paths shortened to the repository):
Top 1 lines
#1: <external>:0: 16.4 KiB
Total allocated size: 16.4 KiB
Traced Memory Usage current:1.31 MB, peak:1.31 MB
Process Memory Usage: 52.59765625 MB

Top 1 lines
#1: examples/monitor.ts:21: 102400.0 KiB
    function allocateBytes(size: number): number[] {
(V8 heap sites are functions: the line shown is where the allocating function starts)
1 other: 16.4 KiB
Total allocated size: 102416.4 KiB
Traced Memory Usage current:100.32 MB, peak:101.32 MB
Process Memory Usage: 153.18359375 MB

Top 1 lines
#1: examples/monitor.ts:21: 204800.0 KiB
    function allocateBytes(size: number): number[] {
(V8 heap sites are functions: the line shown is where the allocating function starts)
1 other: 16.4 KiB
Total allocated size: 204816.4 KiB
Traced Memory Usage current:200.32 MB, peak:200.32 MB
Process Memory Usage: 253.30859375 MB

Top 1 lines
#1: examples/monitor.ts:21: 102400.0 KiB
    function allocateBytes(size: number): number[] {
(V8 heap sites are functions: the line shown is where the allocating function starts)
1 other: 17.4 KiB
Total allocated size: 102417.4 KiB
Traced Memory Usage current:100.20 MB, peak:200.33 MB
Process Memory Usage: 253.68359375 MB

Top 1 lines
#1: <external>:0: 16.4 KiB
Total allocated size: 16.4 KiB
Traced Memory Usage current:0.14 MB, peak:200.33 MB
Process Memory Usage: 115.88671875 MB
*/

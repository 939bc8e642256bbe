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

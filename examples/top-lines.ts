// The second program of the note this project started from (shared/seeds), ported: the top 10
// allocation sites, the traceback of the biggest block, and the diff between two snapshots.
//
// Run: npm run demo
// Output: see the end of this file.
import * as tracemalloc from 'tracemalloc';

const MiB = 1024 * 1024;

// An array of `size` bytes on the V8 heap (8 bytes an element).
function allocateBytes(size: number): number[] {
  return new Array<number>(size / 8).fill(0);
}

function loadData(held: { data?: number[] }): void {
  held.data = allocateBytes(100 * MiB);
}

tracemalloc.start(25);
const held: { data?: number[]; more?: number[] } = {};

// Case 1: display the top 10.
loadData(held);
const snapshot1 = tracemalloc.takeSnapshot();
console.log(tracemalloc.formatTop(snapshot1, { limit: 10 }));

// Case 2: the traceback of the biggest memory block.
console.log('==============================================');
const stat = snapshot1.statistics('traceback')[0]!;
console.log(`${stat.count} memory blocks: ${(stat.size / 1024).toFixed(1)} KiB`);
for (const line of stat.traceback.format()) console.log(line);

// Case 3: compute the differences between two snapshots.
console.log('==============================================');
held.more = allocateBytes(100 * MiB);
const snapshot2 = tracemalloc.takeSnapshot();
for (const diff of snapshot2.compareTo(snapshot1, 'lineno').slice(0, 5)) console.log(String(diff));
tracemalloc.stop();

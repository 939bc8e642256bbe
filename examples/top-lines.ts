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

/* Output (Node v20.20.2; absolute paths shortened to the repository):
Top 10 lines
#1: examples/top-lines.ts:11: 102400.0 KiB
    function allocateBytes(size: number): number[] {
#2: <external>:0: 16.4 KiB
(V8 heap sites are functions: the line shown is where the allocating function starts)
Total allocated size: 102416.4 KiB
==============================================
1 memory blocks: 102400.0 KiB
  File "node:internal/main/run_main_module", line 1
  File "node:internal/modules/run_main", line 155
  File "node:internal/modules/cjs/loader", line 1003
  File "node:internal/modules/cjs/loader", line 1257
  File "node:internal/modules/cjs/loader", line 1604
  File "node:internal/modules/cjs/loader", line 1483
  File "build/examples/top-lines.js", line 1
    "use strict";
  File "examples/top-lines.ts", line 15
    function loadData(held: { data?: number[] }): void {
  File "examples/top-lines.ts", line 11
    function allocateBytes(size: number): number[] {
==============================================
examples/top-lines.ts:11: size=200 MiB (+100 MiB), count=2 (+1), average=100 MiB
node:internal/console/constructor:318: size=64.0 KiB (+64.0 KiB), count=2049 (+2049), average=32 B
<external>:0: size=16.4 KiB (+40 B), count=1 (+0), average=16.4 KiB
*/

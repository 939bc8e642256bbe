// Buffer memory, which V8's heap profiler never sees, at the exact line that allocated it,
// beside the V8 heap. The Python original's `b'x' * size` is closest to Buffer.alloc here.
//
// Run: npm run build && npm run build:test && node build/examples/buffers.js
// Output: see the end of this file.
import * as tracemalloc from 'tracemalloc';

const MiB = 1024 * 1024;
const cache = new Map<string, Buffer>();

function cacheFile(name: string, size: number): void {
  cache.set(name, Buffer.alloc(size, 'x'));
}

function indexNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `file-${i}`);
}

tracemalloc.start(5);
const before = tracemalloc.takeSnapshot();
const names = indexNames(200_000);
for (let i = 0; i < 40; i++) cacheFile(names[i]!, 2 * MiB);
const after = tracemalloc.takeSnapshot();

console.log(tracemalloc.formatTop(after, { limit: 3 }));
console.log('\nGrowth by domain (0: V8 heap, 1: Buffers and typed arrays):');
for (const domain of [tracemalloc.HEAP_DOMAIN, tracemalloc.EXTERNAL_DOMAIN]) {
  const only = [new tracemalloc.DomainFilter(true, domain)];
  const top = after.filterTraces(only).compareTo(before.filterTraces(only), 'lineno')[0]!;
  console.log(`  domain ${domain}: ${String(top)}`);
}
console.log(`\n${cache.size} files cached, ${names.length} names`);
tracemalloc.stop();

/* Output (Node v20.20.2):
Top 3 lines
#1: examples/buffers.ts:12: 81920.0 KiB
    cache.set(name, Buffer.alloc(size, 'x'));
#2: examples/buffers.ts:16: 5954.9 KiB
    return Array.from({ length: count }, (_, i) => `file-${i}`);
#3: examples/buffers.ts:15: 1562.5 KiB
    function indexNames(count: number): string[] {
(V8 heap sites are functions: the line shown is where the allocating function starts)
2 other: 80.5 KiB
Total allocated size: 89517.9 KiB

Growth by domain (0: V8 heap, 1: Buffers and typed arrays):
  domain 0: examples/buffers.ts:16: size=5955 KiB (+5955 KiB), count=191239 (+191239), average=32 B
  domain 1: examples/buffers.ts:12: size=80.0 MiB (+80.0 MiB), count=40 (+40), average=2048 KiB

40 files cached, 200000 names
*/

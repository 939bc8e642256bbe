// tracemalloc/testing in a test: measureLeak on a function that leaks and on a fixed one, then
// assertNoLeak's failure message. Works the same in node:test, mocha, jest or vitest.
//
// Run: npm run build && npm run build:test && node build/examples/leak-test.js
// Output: docs/testing.md.
import { assertNoLeak, formatLeakReport, measureLeak } from 'tracemalloc/testing';

// A memoizing parser whose cache key is the whole input: every new input stays forever.
const memo = new Map<string, { fields: string[] }>();
function parseLeaky(line: string): { fields: string[] } {
  let parsed = memo.get(line);
  if (parsed === undefined) {
    parsed = { fields: line.split(',') };
    memo.set(line, parsed);
  }
  return parsed;
}

// The fix: a bounded cache (the 100 most recent inputs).
const recent = new Map<string, { fields: string[] }>();
function parseBounded(line: string): { fields: string[] } {
  let parsed = recent.get(line);
  if (parsed === undefined) {
    parsed = { fields: line.split(',') };
    recent.set(line, parsed);
    if (recent.size > 100) recent.delete(recent.keys().next().value!);
  }
  return parsed;
}

const line = (i: number): string => `${i},alice,${'x'.repeat(200)},2024-01-01`;

async function main(): Promise<void> {
  console.log('--- measureLeak(parseLeaky) ---');
  console.log(formatLeakReport(await measureLeak((i) => parseLeaky(line(i)))));
  console.log('\n--- measureLeak(parseBounded) ---');
  console.log(formatLeakReport(await measureLeak((i) => parseBounded(line(i)))));
  console.log('\n--- assertNoLeak(parseLeaky) ---');
  try {
    await assertNoLeak(function parseLeakyInATest(i) { parseLeaky(line(1_000_000 + i)); });
  } catch (err) {
    console.log(`${(err as Error).name}: ${(err as Error).message}`);
  }
  console.log(`(${memo.size} entries in the leaky cache, ${recent.size} in the bounded one)`);
}

void main();

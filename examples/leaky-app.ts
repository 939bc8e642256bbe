// A program with a leak, for docs/cli.md: it "handles" requests; each one builds a response
// (garbage afterwards) and, by mistake, keeps it in a cache keyed by the request id, which
// never repeats.
//
// Run: npm run build && npm run build:test
//      npx tracemalloc run build/examples/leaky-app.js
//      npx tracemalloc run --dump before.json --top 0 build/examples/leaky-app.js 2000
//      npx tracemalloc run --dump after.json --top 0 build/examples/leaky-app.js 20000
//      npx tracemalloc diff --limit 5 before.json after.json
// Output: docs/cli.md.

interface Response {
  id: number;
  body: string;
  headers: Record<string, string>;
}

const cache = new Map<number, Response>();

function render(id: number): string {
  return `<html><body>${'<p>item</p>'.repeat(20)} #${id}</body></html>`;
}

function handle(id: number): Response {
  const response: Response = { id, body: render(id), headers: { 'content-type': 'text/html', 'x-id': String(id) } };
  cache.set(id, response); // the leak: ids never repeat, so entries are never read again
  return response;
}

function serve(requests: number): number {
  let bytes = 0;
  for (let id = 0; id < requests; id++) bytes += handle(id).body.length;
  return bytes;
}

const requests = Number(process.argv[2] ?? 20_000);
const bytes = serve(requests);
console.log(`handled ${requests} requests, ${bytes} bytes sent, ${cache.size} cached`);
// The cache and the functions stay reachable, as a server's would. (A program whose functions
// are all garbage by the time it exits loses their file names in the exit snapshot: docs/cli.md.)
export { cache, serve };

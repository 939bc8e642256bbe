// tracemalloc for a service: an HTTP server with the debug routes mounted behind a token check,
// and a reporter logging the top growth. A request to /work leaks on purpose.
//
// Run: npm run build && npm run build:test && node build/examples/service.js
// It starts the server on an ephemeral port, makes a few requests itself, prints what the
// reporter logged and what the routes answered, and exits. Output: docs/services.md.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tracemalloc from 'tracemalloc';

const TOKEN = process.env.DEBUG_TOKEN ?? 'secret-token';
const sessions: { id: number; history: number[] }[] = [];

function work(id: number): string {
  // The leak: every request's session is kept, with 1,000 numbers of history.
  sessions.push({ id, history: new Array(1000).fill(id) });
  return `done ${id}\n`;
}

tracemalloc.start();
const debug = tracemalloc.createHttpHandler({ prefix: '/debug/tracemalloc', limit: 3 });
const reporter = tracemalloc.startReporter({
  intervalMs: 60_000,
  limit: 3,
  log: (record) => console.log(JSON.stringify(record, null, 2)),
});

let requests = 0;
const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/debug/')) {
    // The debug routes show file paths and source lines: only for the service's operators.
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(403).end('forbidden\n');
      return;
    }
    debug(req, res);
    return;
  }
  res.end(work(requests++));
});

function get(port: number, path: string, auth = true): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    }).on('error', reject);
  });
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as AddressInfo;
  console.log(`GET /debug/tracemalloc/top without the token -> ${await get(port, '/debug/tracemalloc/top', false)}`);
  await get(port, '/debug/tracemalloc/diff'); // the baseline of the next diff
  for (let i = 0; i < 2000; i++) await get(port, '/work', false);
  console.log('--- the reporter, as the timer would log it ---');
  reporter.report();
  console.log('--- GET /debug/tracemalloc/diff ---');
  console.log(await get(port, '/debug/tracemalloc/diff'));
  console.log('--- GET /debug/tracemalloc/top ---');
  console.log(await get(port, '/debug/tracemalloc/top'));
  reporter.stop();
  server.close();
  console.log(`${sessions.length} sessions kept`);
});

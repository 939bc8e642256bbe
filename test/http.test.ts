// createHttpHandler against a real http server on 127.0.0.1 (an ephemeral port): the routes,
// their formats, the diff against the previous call, the gzip snapshot, and the errors.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tracemalloc from 'tracemalloc';

const SOURCE = path.join(__dirname, '..', '..', 'test', 'http.test.ts');
/** A request that takes longer has hung: fail instead of waiting for the test runner. */
const REQUEST_TIMEOUT_MS = 10_000;
const held: unknown[] = [];
let server: http.Server;
let base = '';

// 8 MiB in arrays of 128 KiB, sampled nearly for sure at the default interval.
function growForHttp(): void {
  for (let i = 0; i < 64; i++) held.push(new Array(16384).fill(i));
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(pathname: string, method = 'GET'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathname}`, { method, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  const handler = tracemalloc.createHttpHandler();
  server = http.createServer((req, res) => {
    if (req.url === '/hello') {
      res.end('hello');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  tracemalloc.stop();
  held.length = 0;
});

test('the handler started tracing; the index lists the routes', async () => {
  assert.equal(tracemalloc.isTracing(), true);
  const r = await get('/debug/tracemalloc');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  for (const route of ['/top', '/diff', '/snapshot']) assert.match(r.body.toString(), new RegExp(`/debug/tracemalloc${route} `));
  assert.equal((await get('/debug/tracemalloc/')).status, 200);
  assert.equal((await get('/hello')).body.toString(), 'hello');
});

test('/top: formatTop as text, or the JSON of tracemalloc top --json', async () => {
  growForHttp();
  const text = await get('/debug/tracemalloc/top?limit=3');
  assert.equal(text.status, 200);
  assert.match(text.body.toString(), /^Top 3 lines\n#1: test\/http\.test\.ts:\d+: \d+\.\d KiB\n {4}function growForHttp\(\): void \{\n/);
  const json = await get('/debug/tracemalloc/top?format=json&limit=2&key=filename');
  assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
  const value = JSON.parse(json.body.toString());
  assert.equal(value.format, 'tracemalloc-top');
  assert.equal(value.keyType, 'filename');
  assert.equal(value.stats.length, 2);
  assert.equal(value.stats[0].traceback[0].filename, SOURCE);
  assert.ok(value.stats[0].size > 4 * 1024 * 1024);
});

test('/diff compares with the previous call', async () => {
  await get('/debug/tracemalloc/diff');
  growForHttp();
  const first = JSON.parse((await get('/debug/tracemalloc/diff?format=json&limit=1')).body.toString());
  assert.equal(first.format, 'tracemalloc-diff');
  assert.equal(first.stats[0].traceback[0].filename, SOURCE);
  assert.ok(first.stats[0].sizeDiff > 4 * 1024 * 1024, 'the 8 MiB just allocated');
  const second = JSON.parse((await get('/debug/tracemalloc/diff?format=json')).body.toString());
  const site = second.stats.find((s: { traceback: { filename: string }[] }) => s.traceback[0]!.filename === SOURCE);
  assert.ok(site === undefined || Math.abs(site.sizeDiff) < 1024 * 1024, 'nothing new since the previous call');
  const text = await get('/debug/tracemalloc/diff?limit=2');
  assert.match(text.body.toString(), /^\[ Top 2 differences \]\n/);
});

test('/snapshot downloads gzip JSON that Snapshot.fromJSON reads', async () => {
  const r = await get('/debug/tracemalloc/snapshot');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/gzip');
  assert.match(String(r.headers['content-disposition']), /^attachment; filename="tracemalloc-\d+-[\dT-]+Z\.json\.gz"$/);
  // Streamed: serialized and compressed chunk by chunk, not one JSON.stringify (issue 13).
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  const snapshot = tracemalloc.Snapshot.fromJSON(JSON.parse(zlib.gunzipSync(r.body).toString()));
  assert.ok(snapshot.traces.length > 0);
  const head = await get('/debug/tracemalloc/snapshot', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('bad queries are 400, unknown routes 404, other methods 405', async () => {
  const cases: [string, string, number, RegExp][] = [
    ['/debug/tracemalloc/top?limit=-1', 'GET', 400, /^limit must be an integer >= 0, not "-1"\n$/],
    ['/debug/tracemalloc/top?key=line', 'GET', 400, /^key must be lineno, filename or traceback, not "line"\n$/],
    ['/debug/tracemalloc/top?format=xml', 'GET', 400, /^format must be text or json/],
    ['/debug/tracemalloc/top?key=traceback&cumulative=1', 'GET', 400, /^cumulative mode cannot by used with key type 'traceback'\n$/],
    ['/debug/tracemalloc/heap', 'GET', 404, /^not found/],
    ['/elsewhere', 'GET', 404, /^not found/],
    ['/debug/tracemalloc/top', 'POST', 405, /^only GET and HEAD/],
  ];
  for (const [url, method, status, body] of cases) {
    const r = await get(url, method);
    assert.equal(r.status, status, `${method} ${url}`);
    assert.match(r.body.toString(), body, `${method} ${url}`);
  }
  assert.equal((await get('/debug/tracemalloc/top', 'POST')).headers.allow, 'GET, HEAD');
});

test('with a prefix and next(), other paths go to the next handler (connect/express style)', async () => {
  const handler = tracemalloc.createHttpHandler({ prefix: '/_mem/', limit: 1 });
  let passed = 0;
  const other = http.createServer((req, res) => handler(req, res, () => {
    passed++;
    res.end('next');
  }));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const saved = base;
  base = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  try {
    assert.equal((await get('/app')).body.toString(), 'next');
    assert.match((await get('/_mem/top')).body.toString(), /^Top 1 lines\n/);
    assert.equal(passed, 1);
  } finally {
    base = saved;
    await new Promise((resolve) => other.close(resolve));
  }
  assert.throws(() => tracemalloc.createHttpHandler({ prefix: 'debug' }), TypeError);
});

test('not tracing: 503 with what to do', async () => {
  tracemalloc.stop();
  try {
    const r = await get('/debug/tracemalloc/top');
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /tracemalloc is not tracing: call tracemalloc\.start\(\) or run with NODE_TRACEMALLOC=1/);
  } finally {
    tracemalloc.start();
  }
});

// Issue 13: nothing a client sends can throw out of createHttpHandler. Raw request lines (and
// headers) written on a loopback socket with net.Socket, past Node's URL parsing, to
// `http.createServer(createHttpHandler())` as docs/services.md shows it: every request gets an
// answer (a 4xx for what the handler cannot read), never a 500 or an uncaught exception, and the
// server still serves afterwards. Bounded: at most FUZZ_REQUESTS requests and FUZZ_BUDGET_MS.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as tracemalloc from 'tracemalloc';
import { prng } from './helpers/prng';

const FUZZ_REQUESTS = 400;
const FUZZ_BUDGET_MS = 20_000;
const SOCKET_TIMEOUT_MS = 5_000;

let server: http.Server;
let port = 0;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};

before(async () => {
  process.on('uncaughtException', onUncaught);
  server = http.createServer(tracemalloc.createHttpHandler());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  process.removeListener('uncaughtException', onUncaught);
  tracemalloc.stop();
});

/** Writes `raw` on a fresh connection; resolves to the status code of the answer (0: closed without one). */
function rawRequest(raw: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error(`no answer in ${SOCKET_TIMEOUT_MS} ms to ${JSON.stringify(String(raw).slice(0, 200))}`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve({ status: 0, text: '' });
      else reject(err);
    });
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m === null ? 0 : Number(m[1]), text });
    });
    socket.write(raw);
  });
}

const PATHS = [
  '/debug/tracemalloc', '/debug/tracemalloc/', '/debug/tracemalloc/top', '/debug/tracemalloc/diff',
  '/debug/tracemalloc/snapshot', '/debug/pprof/heap', '/debug/pprof/allocs', '/debug/pprof', '/', '//', '/x',
];
const QUERIES = [
  '', '?limit=3', '?limit=-1', '?limit=99999999999', '?key=traceback&cumulative=1', '?key=%00', '?key=%ZZ%',
  '?format=json', '?format=%FF%FE', '?cumulative=maybe', '?debug=1', '?debug=x', '?seconds=30', '?gc=1',
  '?%', '?&&&=&=', '?limit=1&limit=2', '?key=lineno#frag', '?a=' + 'b'.repeat(3000),
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'BREW', 'get', 'G\u00c9T', ''];
const TARGETS = [
  '//[', '/[', '//', '///debug/tracemalloc/top', '*', 'http://[::1', 'http://x/debug/tracemalloc/top', 'http:///debug/pprof/heap',
  'https://user:pw@h:99999/debug/tracemalloc', 'file:///etc/passwd', '//evil.example/debug/tracemalloc', '/debug/tracemalloc/%2e%2e/top',
  '/debug/tracemalloc/top%00', '/debug/tracemalloc/top/', '/debug/tracemalloc/top//', '/debug/tracemalloc\\top', '\u00ff\u00fe',
  'example.com:443', '/%', '/%%%%', '/debug/%E0%A4%A/top', 'mailto:x', 'javascript:alert(1)', '/debug/tracemalloc/top?'.padEnd(7000, 'q'),
];
const HEADERS = [
  '', 'Accept-Encoding: gzip, br, *;q=0\r\n', 'Transfer-Encoding: chunked\r\n\r\n0\r\n', 'Content-Length: 5\r\n\r\nhello',
  'Expect: 100-continue\r\n', 'X-Forwarded-Prefix: //[\r\n', 'Accept: */*\r\nAccept: text/html\r\n', 'Cookie: \u00ff\r\n',
];

/** Every request line the fuzz writes: the hand-written cases, then seeded random combinations and mutations. */
function requests(): string[] {
  const out: string[] = [];
  for (const target of TARGETS) out.push(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  for (const method of METHODS) out.push(`${method} /debug/tracemalloc/top HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const rand = prng(13);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  while (out.length < FUZZ_REQUESTS) {
    let target = rand() < 0.6 ? `${pick(PATHS)}${pick(QUERIES)}` : pick(TARGETS);
    // Mutations: a random byte replaced or inserted, a slash doubled.
    const n = Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(rand() * (target.length + 1));
      const ch = String.fromCharCode(rand() < 0.5 ? 0x21 + Math.floor(rand() * 94) : Math.floor(rand() * 256));
      target = rand() < 0.5 ? target.slice(0, at) + ch + target.slice(at + 1) : target.slice(0, at) + ch + target.slice(at);
    }
    const method = rand() < 0.8 ? 'GET' : pick(METHODS);
    const headers = rand() < 0.3 ? pick(HEADERS) : '';
    const hasBody = headers.includes('\r\n\r\n');
    out.push(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}${hasBody ? '' : '\r\n'}`);
  }
  return out;
}

test('raw request lines: every answer is a status code, no 500, no uncaught exception', async () => {
  const started = Date.now();
  const statuses = new Map<number, number>();
  let sent = 0;
  for (const raw of requests()) {
    if (Date.now() - started > FUZZ_BUDGET_MS) break;
    const { status, text } = await rawRequest(Buffer.from(raw, 'latin1'));
    sent += 1;
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    assert.ok(status !== 0, `no answer to ${JSON.stringify(raw.slice(0, 120))}`);
    assert.ok(status < 500 || status === 503, `${status} to ${JSON.stringify(raw.slice(0, 120))}:\n${text.slice(0, 300)}`);
    assert.deepEqual(uncaught, [], `uncaught exception after ${JSON.stringify(raw.slice(0, 120))}`);
  }
  assert.ok(sent >= 100, `only ${sent} requests in ${FUZZ_BUDGET_MS} ms`);
  // The hand-written cases that reach the handler are answered by it, not by Node's parser.
  assert.ok((statuses.get(200) ?? 0) > 10 && (statuses.get(404) ?? 0) > 10 && (statuses.get(400) ?? 0) > 10, JSON.stringify([...statuses]));
  const after = await rawRequest('GET /debug/tracemalloc/top HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(after.status, 200, 'the server still serves');
});

test('the reproduction of issue 13: GET //[ is a 404, not a crash', async () => {
  const r = await rawRequest('GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 404);
  const star = await rawRequest('OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(star.status, 400);
  assert.match(star.text, /cannot read the request target/);
  const absolute = await rawRequest('GET http://h/debug/tracemalloc/top?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(absolute.status, 200);
  assert.match(absolute.text, /Top 1 lines/);
});

test('a handler that cannot answer (the client has gone) does not throw', async () => {
  const handler = tracemalloc.createHttpHandler({ prefix: '/p' });
  const s = http.createServer((req, res) => {
    res.destroy();
    handler(req, res);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as AddressInfo).port;
  for (const target of ['/p', '/p/top', '/p/snapshot', '/debug/pprof/heap', '//[', '*']) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(p, '127.0.0.1');
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
  }
  await new Promise((resolve) => s.close(resolve));
  assert.deepEqual(uncaught, []);
});

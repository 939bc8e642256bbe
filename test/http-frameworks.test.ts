// Issue 16, services with the frameworks and loggers they use (pinned devDependencies): the
// handler mounted in Express under a sub-path (links and 404 texts carry req.baseUrl), the
// Fastify recipe of docs/services.md, and the reporter's records through pino (the README's
// form, `log: logger.info.bind(logger)`) and winston (docs/services.md's form).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import express from 'express';
import Fastify from 'fastify';
import pino from 'pino';
import * as winston from 'winston';
import { Profile } from 'pprof-format';
import * as tracemalloc from 'tracemalloc';

const held: unknown[] = [];

after(() => {
  tracemalloc.stop();
  held.length = 0;
});

function get(base: string, pathname: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(`${base}${pathname}`, { agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('Express, mounted under a sub-path: the routes answer, links and 404 texts carry req.baseUrl, the rest goes to next()', async () => {
  const app = express();
  // The prefix given without the mount path...
  app.use('/admin', tracemalloc.createHttpHandler({ prefix: '/tracemalloc', pprofPrefix: '/pprof' }));
  // ...or the handler mounted at its own prefix.
  app.use('/debug/tracemalloc', tracemalloc.createHttpHandler());
  app.use((_req, res) => {
    res.status(404).send('express 404');
  });
  const server = http.createServer(app);
  const base = await listen(server);
  try {
    const index = await get(base, '/admin/tracemalloc');
    assert.equal(index.status, 200);
    assert.match(index.body.toString(), /^\/admin\/tracemalloc\/top {8}the top/m);
    assert.match(index.body.toString(), /^\/admin\/pprof\/heap {6}pprof/m);
    const missing = await get(base, '/admin/tracemalloc/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.toString(), 'not found; see /admin/tracemalloc/\n');
    const top = await get(base, '/admin/tracemalloc/top?limit=1');
    assert.match(top.body.toString(), /^Top 1 lines\n/);
    const heap = await get(base, '/admin/pprof/heap');
    assert.equal(heap.status, 200);
    assert.ok(Profile.decode(zlib.gunzipSync(heap.body)).sample.length > 0);
    assert.equal((await get(base, '/admin/other')).body.toString(), 'express 404');

    const own = await get(base, '/debug/tracemalloc/');
    assert.match(own.body.toString(), /^\/debug\/tracemalloc\/diff {7}what grew/m);
    assert.equal((await get(base, '/debug/tracemalloc/nope')).body.toString(), 'not found; see /debug/tracemalloc/\n');
    assert.match((await get(base, '/debug/tracemalloc/top?limit=2')).body.toString(), /^Top 2 lines\n/);
    assert.equal((await get(base, '/debug/other')).body.toString(), 'express 404');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the baseUrl logic without Express: a plain server that sets req.baseUrl as Express does', async () => {
  const handler = tracemalloc.createHttpHandler({ prefix: '/tm' });
  const server = http.createServer((req, res) => {
    (req as unknown as { baseUrl: string }).baseUrl = '/mount';
    handler(req, res);
  });
  const base = await listen(server);
  try {
    assert.match((await get(base, '/tm')).body.toString(), /^\/mount\/tm\/snapshot {3}the whole snapshot/m);
    assert.equal((await get(base, '/tm/x')).body.toString(), 'not found; see /mount/tm/\n');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('Fastify: the recipe of docs/services.md serves the routes and Go\'s pprof paths', async () => {
  const fastify = Fastify();
  const debug = tracemalloc.createHttpHandler();
  // The recipe: hand the raw request and response to the handler.
  fastify.route({
    method: ['GET', 'HEAD'],
    url: '/debug/*',
    handler: (request, reply) => {
      reply.hijack();
      debug(request.raw, reply.raw);
    },
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const address = fastify.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${address.port}`;
  try {
    for (let i = 0; i < 32; i++) held.push(new Array(16384).fill(i));
    const top = await get(base, '/debug/tracemalloc/top?limit=3');
    assert.equal(top.status, 200);
    assert.match(top.body.toString(), /^Top 3 lines\n/);
    const heap = await get(base, '/debug/pprof/heap');
    assert.equal(heap.status, 200);
    assert.equal(heap.type, 'application/octet-stream');
    assert.ok(Profile.decode(zlib.gunzipSync(heap.body)).sample.length > 0);
    assert.equal((await get(base, '/debug/nothing')).status, 404);
    assert.equal((await get(base, '/other')).status, 404);
  } finally {
    await fastify.close();
  }
});

class Lines extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
    done();
  }
}

function checkRecord(line: Record<string, unknown>): void {
  assert.equal(line.type, 'tracemalloc');
  assert.ok(Array.isArray(line.top));
  assert.equal(typeof line.current, 'number');
  assert.equal(typeof line.tracedDiff, 'number');
}

test("pino: the README's `log: logger.info.bind(logger)` and docs/services.md's form log whole records, pino's fields intact", async () => {
  const out = new Lines();
  const logger = pino(out);
  for (const log of [logger.info.bind(logger), (record: tracemalloc.ReportRecord) => logger.info(record, 'tracemalloc')]) {
    const reporter = tracemalloc.startReporter({ intervalMs: 3_600_000, log });
    for (let i = 0; i < 16; i++) held.push(new Array(16384).fill(i));
    reporter.report();
    reporter.stop();
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(out.lines.length, 2, out.lines.join('\n'));
  const [readme, docs] = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const line of [readme!, docs!]) {
    checkRecord(line);
    assert.equal(line.level, 30);
    assert.equal(line.pid, process.pid);
    assert.equal(typeof line.time, 'number');
  }
  assert.equal(docs!.msg, 'tracemalloc');
});

test("winston: docs/services.md's `logger.info('tracemalloc', record)` logs the record as the message's metadata", async () => {
  const out = new Lines();
  const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: out })] });
  const reporter = tracemalloc.startReporter({ intervalMs: 3_600_000, log: (record) => logger.info('tracemalloc', record) });
  reporter.report();
  reporter.stop();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(out.lines.length, 1, out.lines.join('\n'));
  const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  checkRecord(line);
  assert.equal(line.level, 'info');
  assert.equal(line.message, 'tracemalloc');
});

/**
 * How much of `process.memoryUsage().arrayBuffers` domain 1 attributes to lines (the rest is the
 * `<external>:0` remainder), for two realistic programs traced at the default settings:
 *
 *  - an HTTP service: a node:http server whose handler reads each JSON request body with
 *    raw-body (the body parser of Express), keeps the last bodies in a cache, answers with a JSON
 *    Buffer; driven over loopback by keep-alive clients in the same process;
 *  - a file-processing tool: reads a directory of files (fs.promises.readFile and readFileSync),
 *    gzips them (zlib.gzipSync and the streaming gzip), hashes them (crypto), keeps the outputs.
 *
 * Each is measured 12 times during its run: the share is attributed / arrayBuffers at that moment,
 * where attributed is the domain-1 total minus `<external>:0`; the table gives their mean (each
 * measure is an unbiased estimate; at a widened interval a single one is noisy).
 *
 * Run: npm run bench -- external-share     (or: node build/bench/external-share.js)
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tracemalloc from 'tracemalloc';
import { ExternalTracer, runningExternalTracer } from '#internal/external';
import { Snapshot } from '#internal/snapshot';
import { StoreBuilder } from '#internal/store';
import { QUICK, emit, formatBytes, formatPercent, log, median, type BenchTable } from './lib.js';

/** Measures per program; the share's estimate is their mean (each is unbiased, the interval may be wide). */
const MEASURES = 12;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const getRawBody = require('raw-body') as (req: http.IncomingMessage, opts: { length?: string; limit: string }) => Promise<Buffer>;

interface Measure {
  arrayBuffers: number;
  attributed: number;
  remainder: number;
  top: string;
  /** The widest Buffer sampling interval so far (bytes). */
  widest: number;
}

/**
 * How a run is traced: `'default'` is tracemalloc.start(1); `'exact'` is domain 1 alone at a 1 KiB
 * interval without adaptation (every Buffer of 1 KiB or more is nearly always sampled), which shows
 * what the wrapped entry points can attribute, free of sampling error.
 */
type Mode = 'default' | 'exact';
let mode: Mode = 'default';
let exact: ExternalTracer | null = null;

function startTracing(): void {
  if (mode === 'default') tracemalloc.start(1);
  else {
    exact = new ExternalTracer({ interval: 1024, nframe: 1, sourceMaps: true, adaptive: false });
    exact.start();
  }
}

function stopTracing(): void {
  if (mode === 'default') tracemalloc.stop();
  else exact?.stop();
}

function domainOne(): Snapshot | tracemalloc.Snapshot {
  if (mode === 'default') return tracemalloc.takeSnapshot().filterTraces([new tracemalloc.DomainFilter(true, 1)]);
  (globalThis as { gc?: () => void }).gc?.();
  const builder = new StoreBuilder();
  exact!.addTraces(builder);
  return Snapshot._fromColumns(builder.build(), 1);
}

function measureNow(): Measure {
  const snapshot = domainOne();
  let remainder = 0;
  let attributed = 0;
  for (const t of snapshot.traces) {
    if (t.traceback.at(0)!.filename === '<external>') remainder += t.size;
    else attributed += t.size;
  }
  const stats = snapshot.statistics('lineno').filter((s) => s.traceback.at(0)!.filename !== '<external>').slice(0, 3);
  return {
    arrayBuffers: process.memoryUsage().arrayBuffers,
    widest: (mode === 'default' ? runningExternalTracer() : exact)?.widestInterval ?? NaN,
    attributed,
    remainder,
    top: stats.map((s) => `${path.basename(s.traceback.at(0)!.filename)}:${s.traceback.at(0)!.lineno} ${formatBytes(s.size)}`).join(', '),
  };
}

// ---------------------------------------------------------------------------------------------

async function httpService(): Promise<Measure[]> {
  const cache: Buffer[] = [];
  const server = http.createServer((req, res) => {
    getRawBody(req, { length: req.headers['content-length'], limit: '4mb' }).then((body) => {
      const doc = JSON.parse(body.toString('utf8')) as { id: number; items: unknown[] };
      cache.push(body);
      if (cache.length > 400) cache.shift();
      const out = Buffer.from(JSON.stringify({ ok: true, id: doc.id, count: doc.items.length }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
    }, (err: Error) => {
      res.statusCode = 400;
      res.end(err.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const request = (i: number): Promise<void> => new Promise((resolve, reject) => {
    const items = Array.from({ length: 50 + (i % 400) }, (_, k) => ({ k, name: `item-${i}-${k}`, tags: ['a', 'b', 'c'] }));
    const payload = Buffer.from(JSON.stringify({ id: i, items }));
    const req = http.request({ port, method: 'POST', path: '/orders', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(payload);
  });
  startTracing();
  const measures: Measure[] = [];
  const total = QUICK ? 1500 : 6000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await request(next++);
  };
  const probe = async (): Promise<void> => {
    for (let k = 1; k < MEASURES; k++) {
      const f = k / MEASURES;
      while (next < total * f) await new Promise((resolve) => setTimeout(resolve, 10));
      measures.push(measureNow());
    }
  };
  await Promise.all([...Array.from({ length: 8 }, worker), probe()]);
  measures.push(measureNow());
  stopTracing();
  agent.destroy();
  await new Promise((resolve) => server.close(resolve));
  return measures;
}

async function fileTool(): Promise<Measure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-share-'));
  const count = QUICK ? 60 : 200;
  let seed = 7;
  for (let i = 0; i < count; i++) {
    const size = 20_000 + ((i * 7919) % 300_000);
    const lines: string[] = [];
    for (let n = 0; n < size / 40; n++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      lines.push(`${i},${n},${seed.toString(36)},value-${seed % 1000}`);
    }
    fs.writeFileSync(path.join(dir, `data-${i}.csv`), lines.join('\n'));
  }
  startTracing();
  const measures: Measure[] = [];
  const outputs: Array<{ gz: Buffer; digest: string }> = [];
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  try {
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const data = i % 2 === 0 ? await fs.promises.readFile(file) : fs.readFileSync(file);
      const gz = i % 3 === 0 ? zlib.gzipSync(data) : await gzipStream(file);
      const digest = crypto.createHash('sha256').update(data).digest('hex');
      outputs.push({ gz, digest });
      if (outputs.length > 120) outputs.shift();
      if ((i + 1) % Math.floor(files.length / MEASURES) === 0) measures.push(measureNow());
    }
  } finally {
    stopTracing();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return measures;
}

async function gzipStream(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gzip = zlib.createGzip();
  gzip.on('data', (c: Buffer) => chunks.push(c));
  await pipeline(fs.createReadStream(file), gzip);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  for (const [label, run, m] of [
    ['HTTP service (node:http + raw-body, loopback)', httpService, 'default'],
    ['HTTP service, exact (1 KiB, no adaptation)', httpService, 'exact'],
    ['file tool (readFile/readFileSync, gzip, sha256)', fileTool, 'default'],
    ['file tool, exact (1 KiB, no adaptation)', fileTool, 'exact'],
  ] as const) {
    log(label);
    mode = m;
    const measures = await run();
    const shares = measures.map((m) => m.attributed / Math.max(m.arrayBuffers, 1));
    rows.push([
      label,
      measures.length,
      formatBytes(median(measures.map((m) => m.arrayBuffers))),
      formatBytes(median(measures.map((m) => m.attributed))),
      formatPercent(shares.reduce((a, b) => a + b, 0) / shares.length),
      `${formatPercent(Math.min(...shares))} – ${formatPercent(Math.max(...shares))}`,
      formatBytes(Math.max(...measures.map((m) => m.widest))),
    ]);
    notes.push(`${label}: widest Buffer interval ${formatBytes(Math.max(...measures.map((m) => m.widest)))}; top sites at the last measure: ${measures.at(-1)!.top}.`);
  }
  const table: BenchTable = {
    caption: 'Share of process.memoryUsage().arrayBuffers attributed to lines (domain 1 minus <external>:0) at the default settings',
    columns: ['program (tracing)', 'measures', 'arrayBuffers (median)', 'attributed (median)', 'share (mean)', 'share (range)', 'widest interval'],
    rows,
  };
  emit({
    name: 'external-share',
    title: 'Buffers: share of arrayBuffers attributed to lines',
    description: 'Two realistic programs traced at the default settings; at several moments of their run, the domain-1 bytes ' +
      'attributed to lines against process.memoryUsage().arrayBuffers.',
    target: 'Measured, no target (docs/external-memory.md).',
    tables: [table],
    checks: [],
    notes,
  });
}

void main();

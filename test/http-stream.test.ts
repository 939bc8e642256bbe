// Issue 13: GET /snapshot does not serialize a big heap's snapshot in one synchronous
// JSON.stringify: the JSON is cut into chunks (snapshotJSONChunks) that stream through gzip, so
// the event loop runs between them. Checked on 100,000 distinct traces fed to the tracer.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import * as tracemalloc from 'tracemalloc';
import { setRawTraceSourceForTesting } from '#internal/session-testing';
import { snapshotJSONChunks } from '#internal/json-stream';

const TRACES = 100_000;

function* rawTraces(): Generator<tracemalloc.RawTrace> {
  for (let i = 0; i < TRACES; i++) yield [0, 64 + (i % 1000), [[`/srv/app/module-${i % 500}.js`, 1 + (i % 3000)], ['/srv/app/main.js', 1 + (i % 7)]], null, 1];
}

after(() => {
  setRawTraceSourceForTesting(null);
  tracemalloc.stop();
});

test('the chunks concatenate to JSON.stringify exactly, cut every N values', () => {
  const snapshot = new tracemalloc.Snapshot(Array.from(rawTraces()).slice(0, 20_000), 2, { meta: { note: 'a "quoted" meta', nested: { a: [1, 2] } } });
  const json = snapshot.toJSON();
  const chunks = Array.from(snapshotJSONChunks(json, 1000));
  assert.equal(chunks.join(''), JSON.stringify(json));
  assert.ok(chunks.length > 100, `${chunks.length} chunks`);
  assert.ok(Math.max(...chunks.map((c) => c.length)) < 64 * 1024, 'no chunk is the whole array');
  assert.equal(Array.from(snapshotJSONChunks(new tracemalloc.Snapshot([], 1).toJSON())).join(''), JSON.stringify(new tracemalloc.Snapshot([], 1).toJSON()));
});

test('GET /snapshot streams: many writes with the event loop turning between them, and the file loads', async () => {
  tracemalloc.start(2);
  setRawTraceSourceForTesting(() => rawTraces());
  const handler = tracemalloc.createHttpHandler();
  let writes = 0;
  let turns = 0;
  let streaming = false;
  const server = http.createServer((req, res) => {
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      writes += 1;
      return write(...args);
    }) as typeof res.write;
    handler(req, res);
    // From here on the answer is being streamed: count the turns of the event loop until it ends.
    streaming = true;
    const tick = (): void => {
      if (!streaming) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    res.on('finish', () => {
      streaming = false;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const body = await new Promise<Buffer>((resolve, reject) => {
      http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/debug/tracemalloc/snapshot`, { agent: false }, (res) => {
        assert.equal(res.statusCode, 200);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    const snapshot = tracemalloc.Snapshot.fromJSON(JSON.parse(zlib.gunzipSync(body).toString()));
    assert.equal(snapshot.traces.length, TRACES);
    assert.ok(writes > 5, `${writes} writes`);
    assert.ok(turns > 5, `the event loop turned ${turns} times while the snapshot streamed`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

// Source maps and source files are read only when they are regular files under a size cap: a
// frame or a map comment naming /dev/zero, /dev/stdin, a FIFO or a huge file costs one open and
// one fstat, never a read that hangs or fills memory. The caches are bounded, counted and released.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapPosition, MAX_MAP_BYTES } from '#internal/sourcemap';
import { getSourceLine, MAX_SOURCE_BYTES } from '#internal/source';
import { frameCachesBytes, releaseFrameCaches } from '#internal/frame-caches';
import { launch } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const fixtures = path.join(ROOT, 'test', 'fixtures', 'sourcemap');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-bounds-'));
}

/** Runs `f` and returns how long it took (ms). */
function timed(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

test('frames naming /dev/zero, /dev/null, /dev/stdin, a directory: no map, no line, at once', () => {
  for (const file of ['/dev/zero', '/dev/null', '/dev/stdin', '/dev/urandom', os.tmpdir()]) {
    const ms = timed(() => {
      assert.equal(mapPosition(file, 1, 1), null, file);
      assert.equal(getSourceLine(file, 1), '', file);
    });
    assert.ok(ms < 1000, `${file}: ${ms} ms`);
  }
});

test('a FIFO as a frame, as a map comment\'s target: nothing blocks', () => {
  const dir = tempDir();
  try {
    const fifo = path.join(dir, 'pipe.js');
    execFileSync('mkfifo', [fifo]);
    const js = path.join(dir, 'app.js');
    fs.writeFileSync(js, 'function f() {}\n//# sourceMappingURL=pipe.js\n');
    const ms = timed(() => {
      assert.equal(mapPosition(fifo, 1, 1), null);
      assert.equal(getSourceLine(fifo, 1), '');
      assert.equal(mapPosition(js, 1, 1), null);
    });
    assert.ok(ms < 1000, `${ms} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('files over the caps are not read: a generated file, a map, a source', () => {
  const dir = tempDir();
  try {
    // Sparse files: big by size, cheap to make.
    const bigJs = path.join(dir, 'big.js');
    fs.writeFileSync(bigJs, 'function f() {}\n//# sourceMappingURL=big.js.map\n');
    fs.truncateSync(bigJs, MAX_MAP_BYTES + 1);
    const js = path.join(dir, 'app.js');
    fs.writeFileSync(js, 'function f() {}\n//# sourceMappingURL=huge.js.map\n');
    fs.writeFileSync(path.join(dir, 'huge.js.map'), '{"version":3,"sources":["a.ts"],"mappings":"AAAA"}');
    fs.truncateSync(path.join(dir, 'huge.js.map'), MAX_MAP_BYTES + 1);
    const bigTs = path.join(dir, 'big.ts');
    fs.writeFileSync(bigTs, 'const a = 1;\n');
    fs.truncateSync(bigTs, MAX_SOURCE_BYTES + 1);
    const before = process.memoryUsage().rss;
    const ms = timed(() => {
      assert.equal(mapPosition(bigJs, 1, 1), null);
      assert.equal(mapPosition(js, 1, 1), null);
      assert.equal(getSourceLine(bigTs, 1), '');
    });
    assert.ok(ms < 1000, `${ms} ms`);
    assert.ok(process.memoryUsage().rss - before < 32 * 1024 * 1024, 'nothing of them was read');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a live script ending with //# sourceMappingURL=/dev/zero: sampled Buffers and snapshots stay cheap', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const script = path.join(dir, 'app.js');
    fs.writeFileSync(script, `
      const tracemalloc = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      tracemalloc.start(4);
      const held = [];
      function allocate() { for (let i = 0; i < 64; i++) held.push(Buffer.alloc(256 * 1024)); }
      allocate();
      const snapshot = tracemalloc.takeSnapshot();
      const site = snapshot.statistics('lineno').find((s) => s.traceback.at(-1).filename === __filename);
      process.stdout.write(JSON.stringify({ rss: process.memoryUsage().rss, line: site && site.traceback.at(-1).lineno }));
      //# sourceMappingURL=/dev/zero
    `);
    // Not under coverage: with NODE_V8_COVERAGE (c8) or --enable-source-maps, Node itself reads the
    // map a script names when it compiles it, and /dev/zero never ends (Node's, not tracemalloc's).
    const r = await launch(process.execPath, [script], dir, { NODE_V8_COVERAGE: '' }).done;
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { rss: number; line: number };
    assert.equal(out.line, 5, 'the Buffer site, unmapped');
    assert.ok(out.rss < 400 * 1024 * 1024, `rss ${out.rss}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the frame caches are counted and released', () => {
  releaseFrameCaches();
  const empty = frameCachesBytes();
  mapPosition(path.join(fixtures, 'external.js'), 5, 15);
  getSourceLine(path.join(fixtures, 'external.ts'), 7);
  const used = frameCachesBytes();
  assert.ok(used > empty + 1000, `${empty} -> ${used} bytes`);
  releaseFrameCaches();
  assert.ok(frameCachesBytes() <= empty, `released: ${frameCachesBytes()} bytes`);
  // And they fill again on demand.
  assert.equal(mapPosition(path.join(fixtures, 'external.js'), 5, 15)?.line, 7);
});

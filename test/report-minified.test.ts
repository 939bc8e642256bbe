// Text output stays readable on minified code: `run`, `top` and `diff` on prettier 3.10.1 (whose
// plugins are minified, lines of tens of thousands of characters) print no line longer than a few
// hundred characters; a long line shows its column and function and is cut around the column;
// sites of different domains on one line are never merged.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tracemalloc from 'tracemalloc';
import { cutMiddle, displayLine, displayLocation, MAX_DISPLAY_CHARS } from '#internal/source';
import { launch } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const WORK = path.join(ROOT, 'build', 'report-minified');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
/** The longest terminal line allowed ("a few hundred characters"). */
const MAX_LINE = 300;

function longest(text: string): number {
  return Math.max(0, ...text.split('\n').map((l) => l.length));
}

test('displayLine cuts a long line around the column; short lines are only trimmed', () => {
  assert.equal(displayLine('   const a = 1;   ', 5), 'const a = 1;');
  const long = `${'a'.repeat(5000)}NEEDLE${'b'.repeat(5000)}`;
  const shown = displayLine(long, 5001);
  assert.ok(shown.length <= MAX_DISPLAY_CHARS + 2, `${shown.length} characters`);
  assert.ok(shown.includes('NEEDLE') && shown.startsWith('…') && shown.endsWith('…'));
  assert.ok(displayLine(long, null).startsWith('aaa') && displayLine(long, null).endsWith('…'));
  assert.ok(displayLine(long, 99_999).endsWith('b') && displayLine(long, 99_999).startsWith('…'));
  assert.equal(cutMiddle('x'.repeat(10), 5), 'xx…xx');
  assert.equal(displayLocation('a.js', 3, 7, 'f', 'short'), 'a.js:3');
  assert.equal(displayLocation('a.js', 3, 7, 'f', 'x'.repeat(500)), 'a.js:3:7 (f)');
});

test('formatTop: a V8-heap site and a Buffer site on one minified line are two entries, each with its column and function', () => {
  const file = '/app/bundle.min.js';
  const line = `${'x'.repeat(400)};function parse(e){return e.map(t=>({t}))}${'y'.repeat(400)};function read(n){return Buffer.alloc(n)}${'z'.repeat(400)}`;
  tracemalloc.registerSource(file, line);
  const heapFrame = new tracemalloc.Frame(file, 1, { column: 410, functionName: 'parse' });
  const bufferFrame = new tracemalloc.Frame(file, 1, { column: 870, functionName: 'read' });
  const snapshot = new tracemalloc.Snapshot([[0, 300_000, [heapFrame as never]], [1, 200_000, [bufferFrame as never]]], 1);
  const text = tracemalloc.formatTop(snapshot);
  const lines = text.split('\n');
  assert.match(lines[1]!, /^#1: app\/bundle\.min\.js:1:410 \(parse\) \[V8 heap\]: 293\.0 KiB$/);
  assert.ok(lines[2]!.includes('function parse(e)'), lines[2]);
  assert.match(lines[3]!, /^#2: app\/bundle\.min\.js:1:870 \(read\) \[ArrayBuffers & Buffers\]: 195\.3 KiB$/);
  assert.ok(lines[4]!.includes('Buffer.alloc(n)'), lines[4]);
  assert.ok(longest(text) <= MAX_LINE);
  // One domain: Python's display_top, unchanged.
  const heapOnly = new tracemalloc.Snapshot([[0, 1024, [['/app/a.js', 3]]]], 1);
  assert.equal(tracemalloc.formatTop(heapOnly).split('\n')[1], '#1: app/a.js:3: 1.0 KiB');
});

test('Traceback.format() on a minified line: the column and function, the line cut around the column', () => {
  const file = '/app/other.min.js';
  tracemalloc.registerSource(file, `${'q'.repeat(3000)}function hot(){return new Array(9)}${'r'.repeat(3000)}`);
  const tb = new tracemalloc.Traceback([new tracemalloc.Frame(file, 1, { column: 3001, functionName: 'hot' }) as never]);
  const [where, source] = tb.format();
  assert.equal(where, `  File "${file}", line 1, column 3001, in hot`);
  assert.ok(source!.includes('function hot()') && source!.length <= MAX_DISPLAY_CHARS + 6, source);
});

test('tracemalloc run, top and diff on prettier 3.10.1 (minified plugins): no line over 300 characters', { timeout: 120_000 }, async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  const script = path.join(WORK, 'format.js');
  fs.writeFileSync(script, `
    const prettier = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'prettier'))});
    const source = require('node:fs').readFileSync(${JSON.stringify(path.join(ROOT, 'node_modules', 'yaml', 'dist', 'compose', 'composer.js'))}, 'utf8');
    (async () => {
      const held = [];
      for (let i = 0; i < 6; i++) held.push(await prettier.format(source, { parser: 'babel' }));
      globalThis.keep = held;
    })();
  `);
  const dump = path.join(WORK, 'exit.json');
  const run = await launch(process.execPath, [CLI, 'run', '--interval', '4096', '--top', '30', '--dump', dump, script], WORK).done;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /plugins\/(babel|estree)\.mjs:\d+:\d+ \(/, 'minified sites show their column and function');
  assert.ok(longest(run.stderr) <= MAX_LINE, `run: a line of ${longest(run.stderr)} characters`);
  assert.ok(run.stderr.length < 30_000, `run wrote ${run.stderr.length} characters`);
  for (const args of [['top', '--limit', '0', dump], ['top', '--key', 'traceback', '--limit', '10', dump], ['diff', '--limit', '0', dump, dump]]) {
    const r = await launch(process.execPath, [CLI, ...args], WORK).done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(longest(r.stdout) <= MAX_LINE, `${args[0]}: a line of ${longest(r.stdout)} characters`);
  }
});

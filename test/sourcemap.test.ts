// Generated positions -> original positions, on maps written by tsc (see fixtures/sourcemap/README.md).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mapPosition } from '#internal/sourcemap';
import { getSourceLine } from '#internal/source';

const fixtures = path.join(__dirname, '../../test/fixtures/sourcemap');
const fixture = (name: string) => path.join(fixtures, name);

/** A temporary copy of fixtures, in a directory whose name needs escaping in a URL. */
function copyFixtures(names: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc sourcemap '));
  for (const name of names) fs.copyFileSync(fixture(name), path.join(dir, name));
  return dir;
}

test('an external .js.map maps to the original .ts file, line and column (1-based)', () => {
  const js = fixture('external.js');
  // `function greet(name) {` is line 5 of the .js; V8 reports the function at its `(`.
  assert.deepEqual(mapPosition(js, 5, 15), { file: fixture('external.ts'), line: 7, column: 1 });
  // `    return { text, size: text.length };`
  assert.deepEqual(mapPosition(js, 7, 5), { file: fixture('external.ts'), line: 9, column: 3 });
  // `const shout = (name) => …` -> `export const shout = (name: string): string => …`
  assert.deepEqual(mapPosition(js, 17, 1), { file: fixture('external.ts'), line: 21, column: 8 });
});

test('a column before the first mapping of its line maps to that first mapping', () => {
  // `    add(item) {`: the indentation has no mapping; the method starts at column 5.
  assert.deepEqual(mapPosition(fixture('external.js'), 11, 1), { file: fixture('external.ts'), line: 15, column: 3 });
  assert.deepEqual(mapPosition(fixture('external.js'), 11, 0), { file: fixture('external.ts'), line: 15, column: 3 });
});

test('lines without a mapping, and lines past the end, give null', () => {
  assert.equal(mapPosition(fixture('external.js'), 1, 1), null); // "use strict";
  assert.equal(mapPosition(fixture('external.js'), 16, 1), null); // exports.Store = Store;
  assert.equal(mapPosition(fixture('external.js'), 500, 1), null);
  assert.equal(mapPosition(fixture('external.js'), 0, 1), null);
  assert.equal(mapPosition(fixture('external.js'), Number.NaN, 1), null);
});

test('an inline base64 data: map maps relative to the generated file', () => {
  assert.deepEqual(mapPosition(fixture('inline.js'), 5, 15), { file: fixture('inline.ts'), line: 7, column: 1 });
});

test('a file:// URL is read as its path and maps to a path', () => {
  const dir = copyFixtures(['external.js', 'external.js.map', 'inline.js']);
  try {
    const url = pathToFileURL(path.join(dir, 'external.js')).href;
    assert.match(url, /%20/);
    assert.deepEqual(mapPosition(url, 5, 15), { file: path.join(dir, 'external.ts'), line: 7, column: 1 });
    const inline = pathToFileURL(path.join(dir, 'inline.js')).href;
    assert.deepEqual(mapPosition(inline, 5, 15), { file: path.join(dir, 'inline.ts'), line: 7, column: 1 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sourceRoot is applied, and sourcesContent makes the lines of an absent original readable', () => {
  const original = fixture('original/embedded.ts');
  assert.equal(fs.existsSync(original), false);
  const mapped = mapPosition(fixture('embedded.js'), 6, 5);
  assert.deepEqual(mapped, { file: original, line: 8, column: 3 });
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the fixture's TypeScript text
  assert.equal(getSourceLine(original, 8), '  const text = `hello, ${name}`;');
  assert.equal(getSourceLine(original, 7), 'export function greet(name: string): Greeting {');
});

test('an original on disk is read from disk, not from sourcesContent', () => {
  const dir = copyFixtures(['embedded.js', 'embedded.js.map']);
  try {
    const original = path.join(dir, 'original', 'embedded.ts');
    fs.mkdirSync(path.dirname(original));
    const onDisk = fs.readFileSync(fixture('greet.ts.txt'), 'utf8').replace('hello, ', 'edited on disk, ');
    fs.writeFileSync(original, onDisk);
    assert.deepEqual(mapPosition(path.join(dir, 'embedded.js'), 6, 5), { file: original, line: 8, column: 3 });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the fixture's TypeScript text
    assert.equal(getSourceLine(original, 8), '  const text = `edited on disk, ${name}`;');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sources that are URLs: file:// becomes a path, other schemes stay as they are', () => {
  const js = fixture('urls.js');
  const webpack = 'webpack://fixture/./src/a.ts';
  assert.deepEqual(mapPosition(js, 1, 1), { file: webpack, line: 1, column: 1 });
  assert.equal(getSourceLine(webpack, 1), "export const a = (): string => 'a';");
  assert.deepEqual(mapPosition(js, 2, 1), { file: fileURLToPath('file:///opt/fixture/src/b.ts'), line: 1, column: 1 });
  assert.deepEqual(mapPosition(js, 3, 1), { file: fixture('lib/c.ts'), line: 1, column: 1 });
});

test('an index map (sections) maps each section to its own sources', () => {
  // Column 2, not 1: source-map 0.6.1 compares its 1-based section offsets with 0-based columns,
  // so the first column of a section is not found (a quirk of the dependency, not ours).
  assert.deepEqual(mapPosition(fixture('sections.js'), 1, 2), { file: fixture('one.ts'), line: 1, column: 1 });
  assert.deepEqual(mapPosition(fixture('sections.js'), 2, 2), { file: fixture('two.ts'), line: 2, column: 1 });
  assert.equal(getSourceLine(fixture('two.ts'), 2), 'export function two(): number { return 2; }');
});

test('files without a usable map give null and never throw', () => {
  for (const name of ['plain.js', 'missing.js', 'broken.js', 'bad-mappings.js', 'no-such-file.js']) {
    assert.equal(mapPosition(fixture(name), 2, 1), null, name);
    assert.equal(mapPosition(fixture(name), 2, 1), null, `${name}, from the cache`);
  }
  for (const file of ['', 'relative/file.js', 'node:fs', '<anonymous>', 'evalmachine.<anonymous>', 'file://host/x.js']) {
    assert.equal(mapPosition(file, 1, 1), null, file);
  }
});

test('mapping leaves Error.prepareStackTrace alone (source-map-support is not installed)', () => {
  const before = Error.prepareStackTrace;
  mapPosition(fixture('external.js'), 5, 15);
  mapPosition(fixture('broken.js'), 2, 1);
  assert.equal(Error.prepareStackTrace, before);
});

test('a broken map is reported through NODE_DEBUG=tracemalloc', () => {
  const script = `
    const { mapPosition } = require(${JSON.stringify(path.join(__dirname, '../../dist/sourcemap.js'))});
    const before = Error.prepareStackTrace;
    const results = [${JSON.stringify(fixture('broken.js'))}, ${JSON.stringify(fixture('bad-mappings.js'))}]
      .map((file) => mapPosition(file, 2, 1));
    process.stdout.write(JSON.stringify({ results, untouched: Error.prepareStackTrace === before }));
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_DEBUG: 'tracemalloc' },
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { results: [null, null], untouched: true });
  assert.match(child.stderr, /TRACEMALLOC \d+: cannot read the source map of .*broken\.js/);
  assert.match(child.stderr, /TRACEMALLOC \d+: source map of .*bad-mappings\.js is broken/);
});

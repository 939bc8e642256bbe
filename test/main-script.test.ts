// Issue 19: on Node 20 the exit report of a CommonJS script said `<anonymous>:0` (V8 collected
// the script before the exit snapshot); it names the main file and the function's line now.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectedMainScriptId, declarationLine } from '#internal/main-script';
import type { ProfileNode } from '#internal/inspector';
import { launch } from './helpers/child.js';

const PKG = path.join(__dirname, '..', '..');
const PROGRAM = path.join(PKG, 'test', 'fixtures', 'main-script', 'app.js');

test('run names the main CommonJS script and its functions\' lines in the exit report, on every Node', async () => {
  const r = await launch(process.execPath, [path.join(PKG, 'dist', 'cli', 'main.js'), 'run', '--top', '5', PROGRAM], PKG).done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'done');
  assert.match(r.stderr, /tracemalloc: pid \d+ at exit/);
  // grow() starts on line 4. The top-level code (the module's wrapper) is line 1 while V8 still
  // has the script (Node 22+); once it is collected (Node 20) an anonymous function's line cannot
  // be told from the wrapper's, so it is 0: the file, without a line that could be wrong.
  // Coverage (NODE_V8_COVERAGE, set by c8 and inherited by the child) keeps every script alive,
  // so on Node 20 the script is collected only when coverage is off.
  const collected = Number(process.versions.node.split('.')[0]) === 20 && !process.env.NODE_V8_COVERAGE;
  const topLine = collected ? 0 : 1;
  // The arrow function on line 10 has its own line only while V8 has the script.
  if (collected) assert.doesNotMatch(r.stderr, /main-script\/app\.js:10:/, r.stderr);
  else assert.match(r.stderr, /main-script\/app\.js:10: /, r.stderr);
  assert.match(r.stderr, /#\d: main-script\/app\.js:4: \d+\.\d (KiB|MiB)/, r.stderr);
  assert.match(r.stderr, new RegExp(`#\\d: main-script/app\\.js:${topLine}: \\d+\\.\\d (KiB|MiB)`), r.stderr);
  assert.doesNotMatch(r.stderr, /<anonymous>/, r.stderr);
});

test('run names a real package\'s CLI script (js-yaml\'s bin) as the main file, never <anonymous>, on every Node', async () => {
  // js-yaml 4.3.2's bin reads the file and prints it as JSON from its top-level code: on Node 20
  // that script is collected before the exit report (its functions are garbage by then).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jsyaml = require('js-yaml') as { dump(value: unknown): string };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-main-'));
  try {
    const input = path.join(dir, 'in.yaml');
    const docs = Array.from({ length: 3000 }, (_, i) => ({ name: `svc-${i}`, labels: { app: `a${i % 97}` }, ports: [8000 + (i % 7), 9000], env: [{ name: 'MODE', value: `v${i}` }] }));
    fs.writeFileSync(input, jsyaml.dump(docs));
    const bin = path.join(PKG, 'node_modules', 'js-yaml', 'bin', 'js-yaml.js');
    const traced = await launch(process.execPath, [path.join(PKG, 'dist', 'cli', 'main.js'), 'run', '--top', '10', bin, input], dir).done;
    const untraced = await launch(process.execPath, [bin, input], dir).done;
    assert.equal(traced.code, 0, traced.stderr);
    // Traced must equal untraced: the program's output, byte for byte.
    assert.equal(traced.stdout, untraced.stdout);
    assert.match(traced.stderr, /#\d+: bin\/js-yaml\.js:\d+: \d+\.\d (KiB|MiB)/, traced.stderr);
    assert.doesNotMatch(traced.stderr, /<anonymous>/, traced.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function node(functionName: string, url: string, scriptId: string, children: ProfileNode[] = []): ProfileNode {
  return { callFrame: { functionName, url, scriptId, lineNumber: url === '' ? -1 : 3, columnNumber: url === '' ? -1 : 0 }, selfSize: 0, id: 0, children };
}

/** The tree Node 20 gives at exit: run_main_module collected too, the main wrapper and its require of another module. */
function node20Tree(mainUrl: string): ProfileNode {
  const nested = node('Module._compile', 'node:internal/modules/cjs/loader', '65', [node('', '', '120', [node('helper', '', '120')])]);
  const main = node('', mainUrl, '109', [node('grow', mainUrl, '109'), node('require', 'node:internal/modules/helpers', '60', [nested])]);
  const compile = node('Module._compile', 'node:internal/modules/cjs/loader', '65', [main]);
  const load = node('Module._load', 'node:internal/modules/cjs/loader', '65', [node('Module.load', 'node:internal/modules/cjs/loader', '65', [compile])]);
  return node('(root)', '', '0', [node('', '', '80', [node('executeUserEntryPoint', 'node:internal/modules/run_main', '70', [load])])]);
}

test('the collected main script is the first script frame below Node\'s entry point and its loader frames', () => {
  assert.equal(collectedMainScriptId(node20Tree('')), '109');
  // Alive (Node 22+): V8 names it, nothing to do.
  assert.equal(collectedMainScriptId(node20Tree('/app/main.js')), null);
  // No entry point (an ES module's loader, a REPL, a worker): nothing is guessed.
  assert.equal(collectedMainScriptId(node('(root)', '', '0', [node('', '', '109', [node('grow', '', '109')])])), null);
  // A named function first below the loader is not a module's wrapper.
  const tree = node('(root)', '', '0', [node('executeUserEntryPoint', '', '70', [node('Module._compile', 'node:internal/modules/cjs/loader', '65', [node('grow', '', '109')])])]);
  assert.equal(collectedMainScriptId(tree), null);
});

test('a function\'s line in the main file is its one declaration, 0 when absent or declared twice', () => {
  const src = [
    "'use strict';", // 1
    'function grow() {}', // 2
    'const make = function () {};', // 3
    'const arrow = (a, b) => a + b;', // 4
    'exports.one = x => x;', // 5
    'class Store {', // 6
    '  static async load(file) {', // 7
    '  }', // 8
    '  *items() {', // 9
    '  }', // 10
    '}', // 11
    'function twice() {}', // 12
    'function twice() {}', // 13
    'grow();', // 14
  ].join('\n');
  assert.equal(declarationLine(src, 'grow'), 2);
  assert.equal(declarationLine(src, 'make'), 3);
  assert.equal(declarationLine(src, 'arrow'), 4);
  assert.equal(declarationLine(src, 'exports.one'), 5);
  assert.equal(declarationLine(src, 'load'), 7);
  assert.equal(declarationLine(src, 'Store.load'), 7);
  assert.equal(declarationLine(src, 'items'), 9);
  assert.equal(declarationLine(src, 'twice'), 0);
  assert.equal(declarationLine(src, 'missing'), 0);
  assert.equal(declarationLine(src, 'not a name('), 0);
  // Linear on hostile text: long runs of spaces after `function`, at line starts, after names.
  const hostile = `function${' '.repeat(200_000)}\n${' '.repeat(200_000)}x\n${'a'.repeat(200_000)}${' '.repeat(200_000)}`;
  const t0 = process.hrtime.bigint();
  assert.equal(declarationLine(hostile, 'grow'), 0);
  // Quadratic backtracking would take minutes here; linear takes milliseconds. The bound is loose.
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 5_000, 'the declaration scan is linear');
});

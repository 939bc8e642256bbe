// The HTML report rendered by a bundled, minified library still runs: its client script is a string
// made by the build (scripts/report-client-source.js), not `Function.prototype.toString` of
// functions a bundler has renamed (`reportMain is not defined`) or wrapped (`__name is not defined`).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const ROOT = path.join(__dirname, '..', '..');
const WORK = path.join(ROOT, 'build', 'report-bundle');
const ESBUILD = path.join(ROOT, 'node_modules', '.bin', 'esbuild');

/**
 * A stand-in for the browser: every property and call of the DOM answers with itself, except the
 * data element. A missing global (a renamed or unbundled helper) still throws a ReferenceError,
 * and the page's script must reach its last statement (`reportMain` returns).
 */
function runPage(html: string): { finished: boolean; domCalls: number } {
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  const json = /<script type="application\/json" id="tracemalloc-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(script !== undefined && json !== undefined, 'the page has its script and its data');
  const calls = { count: 0 };
  const stub: object = new Proxy(function stub() {}, {
    get(_target, key) {
      if (key === Symbol.toPrimitive) return () => 0;
      if (key === Symbol.iterator) return function* empty() {};
      if (typeof key === 'symbol' || key === 'then') return undefined; // not a regexp, a promise, ...
      return stub;
    },
    apply() {
      calls.count++;
      return stub;
    },
    construct() {
      return stub as object;
    },
  });
  const document = new Proxy({}, {
    get(_target, key) {
      if (key === 'getElementById') return (id: string) => (id === 'tracemalloc-data' ? { textContent: json } : stub);
      return (stub as Record<string | symbol, unknown>)[key];
    },
  });
  const context = vm.createContext({ document, window: stub, Math, JSON, Number, String, Array, Object, Map, Set, Intl, console });
  vm.runInContext(`${script}\n;globalThis.__finished = true;`, context, { timeout: 5000 });
  return { finished: (context as { __finished?: boolean }).__finished === true, domCalls: calls.count };
}

const ENTRY = `
const tracemalloc = require('tracemalloc');
const held = [];
function grow() { for (let i = 0; i < 5000; i++) held.push({ i, s: 'x' + i }); }
tracemalloc.start(8, { samplingInterval: 1024 });
grow();
const snapshot = tracemalloc.takeSnapshot();
tracemalloc.stop();
process.stdout.write(tracemalloc.renderHtmlReport(snapshot));
`;

for (const flags of [['--minify', '--keep-names'], ['--minify'], ['--keep-names']]) {
  test(`the report of an esbuild ${flags.join(' ')} bundle of the library: its script runs`, () => {
    const dir = path.join(WORK, flags.join('').replace(/\W+/g, '-'));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'entry.js'), ENTRY);
    const out = path.join(dir, 'bundle.js');
    execFileSync(ESBUILD, [path.join(dir, 'entry.js'), '--bundle', '--platform=node', `--outfile=${out}`, '--log-level=error', ...flags], { cwd: dir, stdio: 'pipe' });
    const html = execFileSync(process.execPath, [out], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
    const page = runPage(html);
    assert.ok(page.finished);
    assert.ok(page.domCalls > 100, `the page built its DOM: ${page.domCalls} calls`);
  });
}

test('the page check fails on a script that names a helper the page lacks (a control)', () => {
  const html = '<script>function f(){ return __name(function(){}, "g"); }\nf();</script><script type="application/json" id="tracemalloc-data">{}</script>';
  assert.throws(() => runPage(html), /__name is not defined/);
});

test('bundled from the sources (no built string), rendering fails with what to do instead of a blank page', () => {
  const dir = path.join(WORK, 'from-sources');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'entry.ts'), `import { renderHtmlReport, Snapshot } from ${JSON.stringify(path.join(ROOT, 'src', 'index.ts'))};\n` +
    'try { renderHtmlReport(new Snapshot([], 1)); console.log("rendered"); } catch (err) { console.log((err as Error).message); }\n');
  const out = path.join(dir, 'bundle.js');
  execFileSync(ESBUILD, [path.join(dir, 'entry.ts'), '--bundle', '--platform=node', `--outfile=${out}`, '--log-level=error', '--minify', '--keep-names'], { stdio: 'pipe' });
  const text = execFileSync(process.execPath, [out], { cwd: dir, encoding: 'utf8' });
  assert.match(text, /^the HTML report's client code was rewritten by a bundler .*bundle tracemalloc's published dist\//);
});

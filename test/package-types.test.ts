// Issue 16, packaging: the packed package (npm pack) installed into a fresh project type-checks
// and runs as its typings say, under TypeScript's `node10` resolution (the default of
// "module": "commonjs", what ts-jest setups use; TypeScript 7 removed it, so this runs
// TypeScript 5.9.3, installed once into build/tools/ts5 by scripts/fetch-ts5-tools.sh: an npm
// alias would take over node_modules/.bin/tsc) and under `nodenext` (TypeScript 7):
// the subpaths `tracemalloc/testing` and `tracemalloc/register` resolve, and `import tm from
// 'tracemalloc'` type-checks where it runs (ES modules) and is refused where it would be
// `undefined` (CommonJS). Also: README links point at files the package ships, and package.json
// has a repository for npm's page to resolve them against.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const TSC7 = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
let TSC5 = '';
let dir = '';
let packed: string[] = [];

before(() => {
  const tools = execFileSync(path.join(ROOT, 'scripts', 'fetch-ts5-tools.sh'), { encoding: 'utf8', timeout: 300_000 }).trim();
  TSC5 = path.join(tools, 'typescript', 'bin', 'tsc');
  assert.match(execFileSync(process.execPath, [TSC5, '--version'], { encoding: 'utf8' }), /^Version 5\./);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-pack-'));
  // --ignore-scripts: the suite's build (pretest) made dist; prepack would rebuild it under the other tests.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  packed = info[0]!.files.map((f) => f.path);
  const pkgDir = path.join(dir, 'node_modules', 'tracemalloc');
  fs.mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['xzf', path.join(dir, info[0]!.filename), '-C', pkgDir, '--strip-components=1']);
  // The package's dependencies and Node's types, from this checkout (no network).
  for (const dep of ['pprof-format', 'source-map-support', 'source-map', 'buffer-from', 'stacktrace-parser', '@types']) {
    const from = path.join(ROOT, 'node_modules', dep);
    if (fs.existsSync(from)) fs.symlinkSync(from, path.join(dir, 'node_modules', dep));
  }
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A consumer project in `dir/name` with these files; returns its directory. */
function project(name: string, files: Record<string, string>): string {
  const p = path.join(dir, name);
  fs.mkdirSync(p, { recursive: true });
  fs.symlinkSync(path.join(dir, 'node_modules'), path.join(p, 'node_modules'));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(p, file), text);
  return p;
}

function tsc(compiler: string, cwd: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [compiler, '-p', '.'], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const USES = `
tm.start(3);
const snapshot: tm.Snapshot = tm.takeSnapshot();
const top: string = tm.formatTop(snapshot, { limit: 1 });
tm.stop();
const leak: Promise<testing.LeakReport> | null = typeof testing.measureLeak === 'function' ? null : null;
console.log(JSON.stringify({ top: top.startsWith('Top 1 lines'), leak, measure: typeof testing.measureLeak }));
`;

test('node10 (TypeScript 5.9, "module": "commonjs"): the subpaths resolve, and the program runs', () => {
  const p = project('node10', {
    // skipLibCheck: checking @types/node takes TypeScript 5 some 15 s; the package's own .d.ts
    // files are checked in full by the nodenext tests below (TypeScript 7, no skipLibCheck).
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', strict: true, esModuleInterop: true, skipLibCheck: true, outDir: 'out', types: ['node'] }, files: ['main.ts'] }),
    'main.ts': `import * as tm from 'tracemalloc';\nimport * as testing from 'tracemalloc/testing';\nimport 'tracemalloc/register';\n${USES}`,
  });
  const r = tsc(TSC5, p);
  assert.equal(r.code, 0, r.out);
  const run = execFileSync(process.execPath, [path.join(p, 'out', 'main.js')], { cwd: p, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(run), { top: true, leak: null, measure: 'function' });
});

test('node10 without typesVersions would not resolve the subpaths (the test can fail)', () => {
  const p = project('node10-bare', {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['main.ts'] }),
    'main.ts': `import * as testing from 'tracemalloc/testing';\nexport const f = testing.measureLeak;\n`,
  });
  const pkgJson = path.join(dir, 'node_modules', 'tracemalloc', 'package.json');
  const saved = fs.readFileSync(pkgJson, 'utf8');
  try {
    const pkg = JSON.parse(saved) as Record<string, unknown>;
    delete pkg.typesVersions;
    fs.writeFileSync(pkgJson, JSON.stringify(pkg));
    const r = tsc(TSC5, p);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /tracemalloc\/testing/);
  } finally {
    fs.writeFileSync(pkgJson, saved);
  }
});

test('CommonJS with esModuleInterop (ts-jest\'s setup): `import tm from` type-checks and runs', () => {
  const p = project('cjs-default', {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', strict: true, esModuleInterop: true, outDir: 'out', skipLibCheck: true, types: ['node'] }, files: ['main.ts'] }),
    'main.ts': `import tm from 'tracemalloc';\nimport { start } from 'tracemalloc';\nconsole.log(JSON.stringify([typeof tm.start, tm.start === start]));\n`,
  });
  const r = tsc(TSC5, p);
  assert.equal(r.code, 0, r.out);
  // Before the default export, this compiled and then threw: tracemalloc_1.default was undefined.
  const run = execFileSync(process.execPath, [path.join(p, 'out', 'main.js')], { cwd: p, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(run), ['function', true]);
});

test('nodenext (TypeScript 7), an ES module: `import tm from` and the named imports type-check and run', () => {
  const p = project('nodenext-esm', {
    'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, outDir: 'out', types: ['node'] }, files: ['main.ts'] }),
    'main.ts': `import tm from 'tracemalloc';\nimport { formatTop } from 'tracemalloc';\nimport * as testing from 'tracemalloc/testing';\nimport 'tracemalloc/register';\nconst same: typeof formatTop = tm.formatTop;\nvoid same;\nconst typed: tm.Snapshot | null = null;\nvoid typed;\n${USES}`,
  });
  const r = tsc(TSC7, p);
  assert.equal(r.code, 0, r.out);
  const run = execFileSync(process.execPath, [path.join(p, 'out', 'main.js')], { cwd: p, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(run), { top: true, leak: null, measure: 'function' });
});

test('nodenext (TypeScript 7), a CommonJS file: import = require and the subpaths', () => {
  const p = project('nodenext-cjs', {
    'package.json': JSON.stringify({ name: 'consumer', private: true }),
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, outDir: 'out', types: ['node'] }, files: ['main.ts'] }),
    'main.ts': `import tm = require('tracemalloc');\nimport testing = require('tracemalloc/testing');\nimport 'tracemalloc/register';\n${USES}`,
  });
  const r = tsc(TSC7, p);
  assert.equal(r.code, 0, r.out);
  const run = execFileSync(process.execPath, [path.join(p, 'out', 'main.js')], { cwd: p, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(run), { top: true, leak: null, measure: 'function' });
});

test('the README\'s relative links name files the package ships; package.json names its repository', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
  assert.ok(links.length > 5, links.join(' '));
  const missing = links.filter((l) => !packed.includes(path.posix.normalize(l)));
  assert.deepEqual(missing, [], `README links to files npm pack leaves out: ${missing.join(', ')}`);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { repository?: { url?: string } };
  assert.match(String(pkg.repository?.url), /^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/, 'npm resolves README links against the repository');
});

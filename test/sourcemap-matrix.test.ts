// The right line wherever the code runs: one cell per way of running TypeScript or bundled code
// (tsc, tsx, Node's type stripping, an esbuild bundle with and without a map, minified), each
// tracing test/matrix/app.ts, whose type-only lines shift every transpiler's output. A cell passes
// when the heap site is reported at its function's first line and the Buffer site at its call
// line, in app.ts (or, without a map, at the bundle's line of that code), and when no trace holds
// a frame of the library. docs/source-maps.md has the same matrix.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launch } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const SOURCES = path.join(ROOT, 'test', 'matrix');
/** Cells run inside the package (build/), so `tracemalloc` resolves to its dist/ by self-reference. */
const WORK = path.join(ROOT, 'build', 'matrix-cells');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const APP_TEXT = fs.readFileSync(path.join(SOURCES, 'app.ts'), 'utf8').split('\n');
const lineOf = (marker: string): number => APP_TEXT.findIndex((l) => !l.startsWith('//') && l.includes(`// ${marker}`)) + 1;
const HEAP_LINE = lineOf('heap-site');
const BUFFER_LINE = lineOf('buffer-site');
const LEAK_LINE = lineOf('leak-site');
const CJS_TEXT = fs.readFileSync(path.join(SOURCES, 'app-cjs.js'), 'utf8').split('\n');
const cjsLineOf = (marker: string): number => CJS_TEXT.findIndex((l) => !l.startsWith('//') && l.includes(`// ${marker}`)) + 1;

type FrameTuple = [filename: string, lineno: number, column: number | null, functionName: string | null];
interface Probe {
  traces: { domain: number; size: number; frames: FrameTuple[] }[];
  ranges: [file: string, ranges: { startLine: number; startColumn: number; endLine: number; endColumn: number }[]][];
}

/** A fresh directory for a cell with the fixture's files, imports rewritten with `ext`. */
function cellDir(name: string, ext: string): string {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const file of fs.readdirSync(SOURCES)) {
    const text = fs.readFileSync(path.join(SOURCES, file), 'utf8').replace("from './app.js'", `from './app${ext}'`);
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await launch(command, args, cwd, env).done;
  assert.equal(r.code, 0, `${command} ${args.join(' ')} failed (${r.signal ?? r.code}):\n${r.stderr}`);
  return r.stdout;
}

function isLibraryFile(file: string): boolean {
  return file.startsWith(path.join(ROOT, 'dist') + path.sep) || file.startsWith(path.join(ROOT, 'src') + path.sep) || file.includes(`${path.sep}node_modules${path.sep}tracemalloc${path.sep}`);
}

/** The most recent frame in the fixture's file (`app`) of each trace of `domain`, summed by line. */
function sitesIn(probe: Probe, domain: number, app: string): Map<number, number> {
  const bytes = new Map<number, number>();
  for (const t of probe.traces) {
    if (t.domain !== domain) continue;
    const f = t.frames.find(([file]) => file === app);
    if (f !== undefined) bytes.set(f[1], (bytes.get(f[1]) ?? 0) + t.size);
  }
  return bytes;
}

/** The line that holds the most bytes. */
function biggest(sites: Map<number, number>): number | undefined {
  return [...sites].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Checks a cell whose frames are mapped back to app.ts (or another fixture with its lines). */
function checkMapped(probe: Probe, app: string, lines = { heap: HEAP_LINE, buffer: BUFFER_LINE }): void {
  const heap = sitesIn(probe, 0, app);
  const buffers = sitesIn(probe, 1, app);
  assert.equal(biggest(heap), lines.heap, `heap sites by line of ${app}: ${JSON.stringify([...heap])}`);
  assert.equal(biggest(buffers), lines.buffer, `Buffer sites by line of ${app}: ${JSON.stringify([...buffers])}`);
  assert.ok(buffers.get(lines.buffer)! >= 8 << 20);
  checkNoLibraryFrame(probe);
}

function checkNoLibraryFrame(probe: Probe): void {
  for (const t of probe.traces) {
    for (const [file, line, column] of t.frames) {
      assert.ok(!isLibraryFile(file), `a frame of the library in a trace: ${file}:${line}`);
      for (const [script, ranges] of probe.ranges) {
        if (script !== file) continue;
        for (const r of ranges) {
          const inside = (line > r.startLine || (line === r.startLine && (column ?? 0) >= r.startColumn)) &&
            (line < r.endLine || (line === r.endLine && (column ?? 0) <= r.endColumn));
          assert.ok(!inside, `a frame of the library in a trace: ${file}:${line}:${column}`);
        }
      }
    }
  }
}

fs.mkdirSync(WORK, { recursive: true });

test('tsc with source maps (maps on disk)', async () => {
  const dir = cellDir('tsc', '.js');
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'commonjs', sourceMap: true, strict: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')], outDir: 'out', rootDir: '.' },
    files: ['app.ts', 'probe.ts'],
  }));
  execFileSync(path.join(BIN, 'tsc'), ['-p', dir], { stdio: 'pipe' });
  const probe: Probe = JSON.parse(await run(process.execPath, [path.join(dir, 'out', 'probe.js')], dir));
  checkMapped(probe, path.join(dir, 'app.ts'));
});

test('tsc with source maps, run with --enable-source-maps (Node\'s source-map cache)', async () => {
  const dir = path.join(WORK, 'tsc');
  const probe: Probe = JSON.parse(await run(process.execPath, ['--enable-source-maps', path.join(dir, 'out', 'probe.js')], dir));
  checkMapped(probe, path.join(dir, 'app.ts'));
});

test('tsx (node --import tsx): maps from Node\'s source-map cache', async () => {
  const dir = cellDir('tsx', '.js');
  const probe: Probe = JSON.parse(await run(process.execPath, ['--import', 'tsx', path.join(dir, 'probe.ts')], dir));
  checkMapped(probe, path.join(dir, 'app.ts'));
});

const major = Number(process.versions.node.split('.')[0]);
const [minor] = process.versions.node.split('.').slice(1).map(Number);
const stripsTypes = major > 22 || (major === 22 && minor! >= 6);

test('Node\'s --experimental-strip-types (22.6+): positions are the source\'s', { skip: stripsTypes ? false : `Node ${process.version} cannot strip types (the cell runs on Node 22.6+; CI runs the suite there)` }, async () => {
  const dir = cellDir('strip-types', '.ts');
  const args = major >= 23 ? [] : ['--experimental-strip-types', '--no-warnings'];
  const probe: Probe = JSON.parse(await run(process.execPath, [...args, path.join(dir, 'probe.ts')], dir));
  checkMapped(probe, path.join(dir, 'app.ts'));
});

/** Bundles `entry` of `dir` with esbuild into `out`, with the library inside the bundle. */
function bundle(dir: string, entry: string, out: string, flags: string[]): string {
  const file = path.join(dir, out);
  execFileSync(path.join(BIN, 'esbuild'), [path.join(dir, entry), '--bundle', '--platform=node', '--format=cjs', `--outfile=${file}`, '--log-level=warning', ...flags], { cwd: dir, stdio: 'pipe' });
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /takeSnapshot/, 'the library is inside the bundle');
  return file;
}

/** The 1-based line and column of `needle` in `text`. */
function positionOf(text: string, needle: string | RegExp): { line: number; column: number } {
  const index = typeof needle === 'string' ? text.indexOf(needle) : needle.exec(text)?.index ?? -1;
  assert.ok(index >= 0, `${String(needle)} is in the bundle`);
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

for (const [name, flags] of [['esbuild bundle with a source map', ['--sourcemap']], ['esbuild bundle, minified, with a source map', ['--sourcemap', '--minify']]] as const) {
  test(`${name}: app.ts lines, no frame of the library`, async () => {
    const dir = cellDir(name.replace(/\W+/g, '-'), '.js');
    const out = bundle(dir, 'probe.ts', 'bundle.js', [...flags]);
    const probe: Probe = JSON.parse(await run(process.execPath, [out], dir));
    checkMapped(probe, path.join(dir, 'app.ts'));
  });
}

for (const [name, flags] of [['esbuild bundle without a source map', []], ['esbuild bundle, minified, without a source map', ['--minify']]] as const) {
  test(`${name}: the bundle's lines of the sites, no frame of the library`, async () => {
    const dir = cellDir(name.replace(/\W+/g, '-'), '.js');
    const out = bundle(dir, 'probe.ts', 'bundle.js', [...flags]);
    const text = fs.readFileSync(out, 'utf8');
    const probe: Probe = JSON.parse(await run(process.execPath, [out], dir));
    const heap = sitesIn(probe, 0, out);
    const buffers = sitesIn(probe, 1, out);
    // The heap site is the line of `function heapSite(` (or, minified, the line of its literal).
    const heapAt = flags.length === 0 ? positionOf(text, /function heapSite\(/) : positionOf(text, '"heap-site"');
    const bufferAt = flags.length === 0 ? positionOf(text, 'Buffer.alloc(options.size, tag)') : positionOf(text, /Buffer\.alloc\([^)]*,\s*\w+\)\s*\}\)/);
    assert.equal(biggest(heap), heapAt.line, `heap sites by bundle line: ${JSON.stringify([...heap])}`);
    assert.equal(biggest(buffers), bufferAt.line, `Buffer sites by bundle line: ${JSON.stringify([...buffers])}`);
    if (flags.length > 0) {
      // One line holds the whole program: the column says which code it is.
      const column = probe.traces.find((t) => t.domain === 1 && t.size >= 8 << 20)!.frames.find(([f]) => f === out)![2]!;
      assert.ok(Math.abs(column - bufferAt.column) <= 8, `Buffer site at column ${column}, the call at ${bufferAt.column}`);
    }
    checkNoLibraryFrame(probe);
  });
}

for (const [name, flags] of [['with a source map', ['--sourcemap']], ['minified, without a source map', ['--minify']]] as const) {
  test(`measureLeak inside an esbuild bundle ${name} finds a 1.4 KiB-per-call leak at its line`, async () => {
    const dir = cellDir(`leak-${name.replace(/\W+/g, '-')}`, '.js');
    const out = bundle(dir, 'leak.ts', 'leak.js', [...flags]);
    const report = JSON.parse(await run(process.execPath, ['--expose-gc', out], dir)) as { leaking: boolean; growth: number; sites: { filename: string; lineno: number }[] };
    assert.equal(report.leaking, true, JSON.stringify(report));
    assert.ok(report.growth > 1000 && report.growth < 2000, `growth ${report.growth} B a call`);
    const top = report.sites[0]!;
    if (flags[0] === '--sourcemap') assert.deepEqual([top.filename, top.lineno], [path.join(dir, 'app.ts'), LEAK_LINE]);
    else assert.equal(top.filename, out);
  });
}

/** A cell dir that is a package of its own with the library installed (copied) in node_modules, as a user has it. */
function installedCell(name: string): string {
  const dir = cellDir(name, '.js');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `cell-${name}`, private: true }));
  const lib = path.join(dir, 'node_modules', 'tracemalloc');
  fs.mkdirSync(lib, { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), path.join(lib, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(lib, 'package.json'));
  return dir;
}

/** The TypeScript 5 tools (ts-node, ts-jest), installed once into build/tools (see the script for why not devDependencies). */
let ts5Tools: string | null = null;
function ts5(): string {
  ts5Tools ??= execFileSync(path.join(ROOT, 'scripts', 'fetch-ts5-tools.sh'), { encoding: 'utf8', timeout: 180_000 }).trim();
  return ts5Tools;
}

test('ts-node 10.9.2 (TypeScript 5.9): the map V8 recorded for the compiled script', async () => {
  const tools = ts5();
  const dir = cellDir('ts-node', '');
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', esModuleInterop: true } }));
  const probe: Probe = JSON.parse(await run(process.execPath, ['-r', path.join(tools, 'ts-node', 'register'), path.join(dir, 'probe.ts')], dir,
    { TS_NODE_COMPILER: path.join(tools, 'typescript'), TS_NODE_TRANSPILE_ONLY: 'true' }));
  checkMapped(probe, path.join(dir, 'app.ts'));
});

test('Jest 30 with ts-jest 29.4.15 (TypeScript 5.9): the map V8 recorded for the transformed script', async () => {
  const tools = ts5();
  const dir = installedCell('ts-jest');
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', esModuleInterop: true, isolatedModules: true } }));
  const out = path.join(dir, 'out.json');
  const config = { rootDir: dir, testMatch: ['**/jest-ts.test.js'], transform: { '^.+\\.ts$': [path.join(tools, 'ts-jest'), { isolatedModules: true, compiler: path.join(tools, 'typescript') }] } };
  await run(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--ci', '--no-watchman', '--cacheDirectory', path.join(dir, '.jest-cache')], dir, { TRACEMALLOC_MATRIX_OUT: out });
  checkMapped(JSON.parse(fs.readFileSync(out, 'utf8')), path.join(dir, 'app.ts'));
});

test('Jest 30 with its default transform (babel-jest, CommonJS): the map V8 recorded for the transformed script', async () => {
  const dir = installedCell('jest');
  const out = path.join(dir, 'out.json');
  await run(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--rootDir', dir, '--ci', '--no-watchman', '--cacheDirectory', path.join(dir, '.jest-cache'), '--testMatch', '**/jest.test.js'], dir, { TRACEMALLOC_MATRIX_OUT: out });
  checkMapped(JSON.parse(fs.readFileSync(out, 'utf8')), path.join(dir, 'app-cjs.js'), { heap: cjsLineOf('heap-site'), buffer: cjsLineOf('buffer-site') });
});

for (const pool of ['threads', 'forks']) {
  test(`Vitest 4 (pool ${pool}): the map V8 recorded for the module runner's script`, async () => {
    const dir = installedCell(`vitest-${pool}`);
    const out = path.join(dir, 'out.json');
    await run(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir, '--pool', pool, 'vitest.test.mjs'], dir, { TRACEMALLOC_MATRIX_OUT: out });
    checkMapped(JSON.parse(fs.readFileSync(out, 'utf8')), path.join(dir, 'app.ts'));
  });
}

// Whose frame is it (src/own.ts), however the library is installed: a symlinked package, two
// copies in one process, a bundle built from its sources without the build's markers (which must
// fail at start(), loudly), and the heap samples of the library's own work.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launch } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const WORK = path.join(ROOT, 'build', 'own-cells');
const BIN = path.join(ROOT, 'node_modules', '.bin');

/** A package directory holding a copy of dist/ and package.json, as npm installs it. */
function installCopy(at: string): void {
  fs.mkdirSync(at, { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), path.join(at, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(at, 'package.json'));
}

async function runScript(dir: string, script: string, args: string[] = []): Promise<string> {
  const file = path.join(dir, 'main.js');
  fs.writeFileSync(file, script);
  const r = await launch(process.execPath, [...args, file], dir).done;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** A program that traces its own allocations and those it makes through `lib`, and prints the frames' files. */
const PROGRAM = (libs: string[]) => `
const tracemalloc = require(${JSON.stringify(libs[0])});
const others = [${libs.slice(1).map((l) => `require(${JSON.stringify(l)})`).join(', ')}];
const held = [];
function userSite() { for (let i = 0; i < 20000; i++) held.push({ i, s: [i, i, i, i] }); }
const snapshots = others.map((lib) => new lib.Snapshot(Array.from({ length: 50 }, (_, i) => [0, 100 + i, [['f' + i + '.js', i + 1]]]), 1));
function throughOtherCopy() {
  // The other copy's own work (statistics it computes; big functions, which V8 does not inline
  // into this one): its code, not the program's.
  for (const snapshot of snapshots) for (let i = 0; i < 2000; i++) held.push(snapshot.statistics('lineno'));
}
tracemalloc.start(32, { samplingInterval: 4096 });
userSite();
throughOtherCopy();
held.push(Buffer.alloc(1 << 20));
const snapshot = tracemalloc.takeSnapshot();
tracemalloc.stop();
const files = new Set();
let user = 0;
let other = 0;
for (const t of snapshot.traces) {
  for (const f of t.traceback) files.add(f.filename);
  const top = t.traceback.at(-1);
  if (top.functionName === 'userSite') user += t.size;
  if (top.functionName === 'throughOtherCopy') other += t.size;
}
process.stdout.write(JSON.stringify({ files: [...files], user, other }));
`;

test('a symlinked package (npm link): the library\'s frames are its own, with and without --preserve-symlinks', async () => {
  const dir = path.join(WORK, 'linked');
  fs.rmSync(dir, { recursive: true, force: true });
  installCopy(path.join(dir, 'real', 'tracemalloc'));
  fs.mkdirSync(path.join(dir, 'app', 'node_modules'), { recursive: true });
  fs.symlinkSync(path.join(dir, 'real', 'tracemalloc'), path.join(dir, 'app', 'node_modules', 'tracemalloc'));
  for (const args of [[], ['--preserve-symlinks', '--preserve-symlinks-main']]) {
    const out = JSON.parse(await runScript(path.join(dir, 'app'), PROGRAM(['tracemalloc']), args));
    assert.ok(out.user >= 1 << 20, JSON.stringify(out));
    for (const f of out.files as string[]) assert.ok(!f.includes(`${path.sep}tracemalloc${path.sep}dist${path.sep}`), `a library frame: ${f} (${args.join(' ')})`);
  }
});

test('two copies of the library in one process: neither copy\'s work is taken for the program\'s', async () => {
  const dir = path.join(WORK, 'two-copies');
  fs.rmSync(dir, { recursive: true, force: true });
  installCopy(path.join(dir, 'node_modules', 'tracemalloc'));
  installCopy(path.join(dir, 'node_modules', 'other', 'node_modules', 'tracemalloc'));
  const out = JSON.parse(await runScript(dir, PROGRAM(['tracemalloc', './node_modules/other/node_modules/tracemalloc'])));
  assert.ok(out.user >= 1 << 20, JSON.stringify(out));
  // 2,000 statistics lists of the other copy (several MiB) are that copy's own allocations, left
  // out; what remains at the caller's line is its array's growth only.
  assert.ok(out.other < 512 * 1024, `the program charged with the other copy's Frames: ${out.other} B`);
  for (const f of out.files as string[]) assert.ok(!f.includes(`${path.sep}dist${path.sep}`), `a library frame: ${f}`);
});

test('bundled from its TypeScript sources (no markers), start() fails with what to do', async () => {
  const dir = path.join(WORK, 'from-sources');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'entry.ts'), `import * as tracemalloc from ${JSON.stringify(path.join(ROOT, 'src', 'index.ts'))};\n` +
    'try { tracemalloc.start(); console.log("started"); } catch (err) { console.log((err as { code?: string }).code, (err as Error).message); }\n');
  execFileSync(path.join(BIN, 'esbuild'), [path.join(dir, 'entry.ts'), '--bundle', '--platform=node', `--outfile=${path.join(dir, 'bundle.js')}`, '--log-level=error'], { stdio: 'pipe' });
  const r = await launch(process.execPath, [path.join(dir, 'bundle.js')], dir).done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ERR_TRACEMALLOC_OWN_CODE_UNKNOWN tracemalloc cannot tell its own code from the program's in .*bundle\.js.*--packages=external/);
});

test('a host that froze Error.prepareStackTrace before loading the library: its files still count as its own', async () => {
  const dir = path.join(WORK, 'frozen');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const out = JSON.parse(await runScript(dir, `
    Object.defineProperty(Error, 'prepareStackTrace', { value: undefined, writable: false, configurable: false });
    ${PROGRAM([path.join(ROOT, 'dist', 'index.js')])}
  `));
  assert.ok(out.user >= 1 << 20, JSON.stringify(out));
  for (const f of out.files as string[]) assert.ok(!f.startsWith(path.join(ROOT, 'dist')), `a library frame: ${f}`);
});

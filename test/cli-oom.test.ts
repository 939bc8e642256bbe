// Issue 16: a dump before out-of-memory. A steady leak under --max-old-space-size=64 dies of
// V8's "heap out of memory"; with NODE_TRACEMALLOC_OOM_DUMP (alone: it turns tracing on) or
// `tracemalloc run --oom-dump`, a snapshot is written first, and `tracemalloc top` names the
// leaking line. Runs on the Node.js that runs the suite (CI: 20, 22, 24, 26) and, when it is
// cached (scripts/fetch-node.sh), on Node.js 20 and 26 as well.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Snapshot } from 'tracemalloc';
import { maxOldSpaceFlag, oldGenerationLimit, watchHeapLimit } from '#internal/oom';
import { launch, type Result } from './helpers/child.js';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
const LEAK = path.join(ROOT, 'test', 'fixtures', 'cli', 'leak-oom.js');
let dir = '';

/** Node binaries to try: this one, and 20 and 26 when scripts/fetch-node.sh has them cached (no download here). */
function nodes(): string[] {
  const out = [process.execPath];
  for (const major of ['20', '26']) {
    if (process.versions.node.startsWith(`${major}.`)) continue;
    const cache = process.env.TRACEMALLOC_NODE_CACHE ?? path.join(os.homedir(), '.cache', 'tracemalloc', 'node');
    const bin = path.join(cache, major, 'package', 'bin', 'node');
    if (fs.existsSync(bin)) out.push(bin);
  }
  return out;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracemalloc-oom-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function dies(r: Result): void {
  // V8's out-of-memory is an abort (SIGABRT, or exit code 134 through a shell).
  assert.ok(r.signal === 'SIGABRT' || r.code === 134 || r.code === 1, `${r.code} ${r.signal}\n${r.stderr.slice(-2000)}`);
  assert.match(r.stderr, /heap out of memory|Reached heap limit|Allocation failed/);
}

function namesLeak(file: string, stderr: string): void {
  assert.ok(fs.existsSync(file), `no dump at ${file}:\n${stderr.slice(0, 3000)}`);
  const snapshot = Snapshot.load(file);
  assert.equal(snapshot.meta.reason, 'heap-limit');
  assert.ok(typeof snapshot.meta.heapUsed === 'number' && typeof snapshot.meta.heapLimit === 'number');
  const top = execFileSync(process.execPath, [BIN, 'top', '--limit', '1', file], { encoding: 'utf8' });
  // leakStep() starts at line 6 of the fixture: the V8 heap names a function by its first line.
  assert.match(top, /^Top 1 lines\n#1: cli\/leak-oom\.js:6: \d+\.\d KiB\n {4}function leakStep\(\) \{\n/, top);
  // Most of what was used at the dump is the leak: the first dump comes at 50-60 % of the 64 MiB limit.
  const stat = snapshot.statistics('lineno')[0]!;
  assert.ok(stat.size > 24 * 1048576 && stat.size < 80 * 1048576, `${stat.size}`);
}

for (const node of nodes()) {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();

  test(`${version}: NODE_TRACEMALLOC_OOM_DUMP alone: a snapshot before the crash, and top names the leaking line`, async () => {
    const file = path.join(dir, `env-${version}.json`);
    const r = await launch(node, ['--max-old-space-size=64', '--require', REGISTER, LEAK], dir, { NODE_TRACEMALLOC_OOM_DUMP: file }).done;
    dies(r);
    assert.match(r.stderr, /tracemalloc: the V8 heap reached \d+ MiB of its 64 MiB limit \(60%\): wrote /);
    namesLeak(file, r.stderr);
  });

  test(`${version}: tracemalloc run --oom-dump FILE --oom-threshold 50 -- node --max-old-space-size=64`, async () => {
    const file = path.join(dir, `run-${version}.json.gz`);
    const r = await launch(process.execPath, [BIN, 'run', '--top', '0', '--oom-dump', file, '--oom-threshold', '50', '--', node, '--max-old-space-size=64', LEAK], dir).done;
    dies(r);
    assert.match(r.stderr, /of its 64 MiB limit \(50%\): wrote /);
    namesLeak(file, r.stderr);
  });
}

test('the old generation limit: --max-old-space-size from the arguments or NODE_OPTIONS, else heap_size_limit', () => {
  assert.equal(maxOldSpaceFlag(['--max-old-space-size=64']), 64);
  assert.equal(maxOldSpaceFlag(['--max_old_space_size', '128', '--max-old-space-size=32']), 32);
  assert.equal(maxOldSpaceFlag(['--max-old-space-size=abc']), null);
  assert.equal(maxOldSpaceFlag(['--inspect']), null);
  assert.equal(oldGenerationLimit(112 * 1048576, ['--max-old-space-size=64'], ''), 64 * 1048576);
  assert.equal(oldGenerationLimit(112 * 1048576, [], '--enable-source-maps --max-old-space-size=48'), 48 * 1048576);
  assert.equal(oldGenerationLimit(4144 * 1048576, [], ''), 4144 * 1048576);
});

test('watchHeapLimit calls back at the threshold, then at each 10% more, and stops past 99%', async () => {
  const reads = [10, 50, 69, 70, 75, 93, 99, 99];
  let i = 0;
  const calls: [number, number][] = [];
  const watch = watchHeapLimit(70, (use, level) => calls.push([use.used, level]), () => ({ used: reads[Math.min(i++, reads.length - 1)]!, limit: 100 }));
  for (let k = 0; k < 12 && calls.length < 3; k++) await new Promise((resolve) => setTimeout(resolve, 300));
  watch.stop();
  // 70 at 70; 93 passes 80 and 90 at once: one call (level 80), next level 100: done.
  assert.deepEqual(calls, [[70, 70], [93, 80]]);
});

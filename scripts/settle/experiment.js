'use strict';
// The settle experiment of docs/differences-from-python.md section 4 (issue 19): one process per
// (workload, mechanism): run the workload, apply the mechanism, print heap used after it against
// the live set (heap used after GCs until stable). Mechanisms: a = one gc() (the read's GC, as
// snapshotGC: 'fast'); b = --retain-maps-for-n-gc=0 around one gc(); b2 = the same around two (the
// default settle: one GC + the read's); c = gc({flavor: 'last-resort'}); d = v8.queryObjects (Node 22+);
// e = the former settle (>= 3 GCs, more while one frees > 1 %). tsc needs scripts/fetch-ts5-tools.sh.
// `perf` mode times the workload run again after the mechanism (does it slow the program?).
// Summaries: scripts/settle/run.sh NODE ROUNDS OUT.jsonl "eslint prettier yaml tsc webpack" "a b b2 c e"; node scripts/settle/sum.js OUT.jsonl
// Variants tried on tsc: b3 = flag 0 around three GCs; b2t = two GCs with a JS call between;
// bnoop = flag set to its own value then one GC; aa = two plain GCs; b2w50 = b2 with 50 ms between
// the GCs. fin = the compiler's jobs in flight finished first, then b2 (the default since
// 2026-12-02: tsc's outlier was such a job; `--trace-opt --trace-concurrent-recompilation` shows it).
// usage: node --expose-gc scripts/settle/experiment.js <workload> <mechanism> <mode: residual|perf>
const path = require('path');
const v8 = require('v8');
const fs = require('fs');
const ROOT = path.join(__dirname, '..', '..');
const req = (m) => require(require.resolve(m, { paths: [ROOT] }));
const [, , workload, mech, mode = 'residual'] = process.argv;
const hold = [];
const W = {
  async eslint() {
    const { ESLint } = req('eslint');
    const { builtinRules } = req('eslint/use-at-your-own-risk');
    const rules = {};
    for (const [name, rule] of builtinRules) if (!rule.meta?.deprecated) rules[name] = 'warn';
    const cwd = path.dirname(require.resolve('eslint/package.json', { paths: [ROOT] }));
    const eslint = new ESLint({ cwd, overrideConfigFile: true, overrideConfig: [{ files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', ecmaVersion: 2024 }, rules }] });
    const results = await eslint.lintFiles(['lib/**/*.js']);
    hold.push(results.length);
  },
  async prettier() {
    const prettier = req('prettier');
    const dir = path.join(path.dirname(require.resolve('eslint/package.json', { paths: [ROOT] })), 'lib', 'rules');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js')).slice(0, 200);
    let n = 0;
    for (const f of files) n += (await prettier.format(fs.readFileSync(path.join(dir, f), 'utf8'), { parser: 'babel' })).length;
    hold.push(n);
  },
  async yaml() {
    const YAML = req('yaml');
    let n = 0;
    for (let d = 0; d < 60; d++) {
      const obj = { items: Array.from({ length: 400 }, (_, i) => ({ id: i, name: 'item-' + i + '-' + d, tags: ['a', 'b', String(i % 7)], nested: { x: i * 1.5, y: [i, i + 1], s: 'v'.repeat(i % 40) } })) };
      const text = YAML.stringify(obj);
      const doc = YAML.parseDocument(text);
      n += doc.toJS().items.length;
    }
    hold.push(n);
  },
  async tsc() {
    const ts = require(path.join(ROOT, 'build/tools/ts5/node_modules/typescript'));
    const files = fs.readdirSync(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, 'src', f));
    const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')], noEmit: true });
    hold.push(ts.getPreEmitDiagnostics(program).length);
  },
  async webpack() {
    const webpack = req('webpack');
    const entry = require.resolve('yaml', { paths: [ROOT] });
    await new Promise((res, rej) => webpack({ mode: 'production', entry, target: 'node', output: { path: require('os').tmpdir() + '/settle-wp-out', filename: 'b.js' }, optimization: { minimize: false }, infrastructureLogging: { level: 'error' } }, (err, stats) => {
      if (err) return rej(err);
      hold.push(stats.hasErrors());
      res();
    }));
  },
};
const used = () => v8.getHeapStatistics().used_heap_size;
class NoSuch {}
const M = {
  none() { return 0; },
  a() { gc(); return 1; },
  b() { v8.setFlagsFromString('--retain-maps-for-n-gc=0'); try { gc(); } finally { v8.setFlagsFromString('--retain-maps-for-n-gc=2'); } return 1; },
  b2() { v8.setFlagsFromString('--retain-maps-for-n-gc=0'); try { gc(); gc(); } finally { v8.setFlagsFromString('--retain-maps-for-n-gc=2'); } return 2; },
  c() { gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }); return -1; },
  d() { if (!v8.queryObjects) throw new Error('no v8.queryObjects'); v8.queryObjects(NoSuch, { format: 'count' }); return -1; },
  e() { // current 'full': >= 3, then while > 1 % freed, max 8
    let before = used(); let n = 0;
    while (n < 8) { gc(); n++; const after = used(); const freed = before - after; before = after; if (n >= 3 && !(freed > (1 << 20) && freed > 0.01 * after)) break; }
    return n;
  },
  bnoop() { v8.setFlagsFromString('--retain-maps-for-n-gc=2'); gc(); return 1; },
  bnorestore() { v8.setFlagsFromString('--retain-maps-for-n-gc=0'); gc(); return 1; },
  aa() { gc(); gc(); return 2; },
  b3() { v8.setFlagsFromString('--retain-maps-for-n-gc=0'); try { gc(); gc(); gc(); } finally { v8.setFlagsFromString('--retain-maps-for-n-gc=2'); } return 3; },
  b2t() { v8.setFlagsFromString('--retain-maps-for-n-gc=0'); try { gc(); used(); gc(); } finally { v8.setFlagsFromString('--retain-maps-for-n-gc=2'); } return 2; },
  e3() { gc(); gc(); gc(); return 3; },
  // the default since 2026-12-02: the optimizing compiler's jobs in flight finished and installed
  // (they hold the functions they compile as strong roots), then b2; finb: the same with one GC.
  fin() { finalizeOptimization(); return M.b2(); },
  finb() { finalizeOptimization(); return M.b(); },
  // diagnosis: b2 with a wait between the GCs long enough for a job in flight to finish
  b2w50() { v8.setFlagsFromString('--retain-maps-for-n-gc=0'); try { gc(); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); gc(); } finally { v8.setFlagsFromString('--retain-maps-for-n-gc=2'); } return 2; },
};
// The library's own %FinalizeOptimization() (dist/session-gc.js; `npm run build` first), made
// before the workload so that its timing holds the call only.
const finalizeFn = mech.startsWith('fin') ? require(path.join(ROOT, 'dist', 'session-gc.js')).makeSettleTools().finalizeOptimization : null;
function finalizeOptimization() {
  finalizeFn();
}
(async () => {
  await W[workload]();
  if (mode === 'perf') {
    // time the workload again after the mechanism: does the mechanism slow the program after it?
    gc(); // common baseline
    M[mech]();
    const c0 = process.cpuUsage(); const t0 = performance.now();
    await W[workload]();
    const c = process.cpuUsage(c0);
    console.log(JSON.stringify({ workload, mech, wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 }));
    return;
  }
  const before = used();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const n = M[mech]();
  const wall = performance.now() - t0; const c = process.cpuUsage(c0);
  const after = used();
  let prev = Infinity; let live = 0; let k = 0;
  for (k = 0; k < 30; k++) { gc(); live = used(); if (k >= 10 && prev - live < 64 * 1024) break; prev = live; }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const lr = used();
  console.log(JSON.stringify({ node: process.version, workload, mech, gcs: n, before, after, live, liveLR: lr, excess: after / live - 1, wall, cpu: (c.user + c.system) / 1000 }));
})();

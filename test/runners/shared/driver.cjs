'use strict';
// Registers the leak table's scenarios as tests of the runner that loads it (`test` is the
// runner's test function) and appends one JSON line per measurement to $LEAK_RESULTS.
// Used by bench/leak-rates.ts; the measurements are reported, not asserted.
const fs = require('node:fs');
const path = require('node:path');
// $LEAK_DIST: a copy of dist/ to measure (bench/leak-rates.ts measures a frozen copy, so rebuilding does not change a run).
const { measureLeak } = require(path.join(process.env.LEAK_DIST || path.join(__dirname, '..', '..', '..', 'dist'), 'testing.js'));
const { CLEAN, LEAK, release } = require('./scenarios.cjs');

const SOURCE = path.join(__dirname, 'scenarios.cjs');
const LINES = fs.readFileSync(SOURCE, 'utf8').split('\n');
const lineOf = (name) => LINES.findIndex((l) => l.includes(`['${name}',`)) + 1;

function register(runner, test) {
  const reps = Number(process.env.LEAK_REPS || 1);
  const only = process.env.LEAK_ONLY || '';
  const out = process.env.LEAK_RESULTS;
  const all = [...CLEAN.map(([n, m]) => [n, m, 'clean']), ...LEAK.map(([n, m]) => [n, m, 'leak'])].filter(([n]) => n.includes(only));
  for (let r = 0; r < reps; r++) {
    for (const [name, make, kind] of all) {
      test(`${name} #${r + 1}`, async () => {
        const t0 = process.hrtime.bigint();
        let fn;
        let result;
        try {
          fn = make();
        } catch (err) {
          result = { runner, name, kind, error: `unavailable: ${String(err && err.code || err && err.message).slice(0, 80)}` };
        }
        if (fn !== undefined) {
          try {
            const report = await measureLeak(fn);
            const site = report.sites[0];
            result = {
              runner, name, kind, leaking: report.leaking, growth: report.growthPerIteration, margin: report.margin,
              windows: report.windows.length, ms: Number(process.hrtime.bigint() - t0) / 1e6,
              lineNamed: site !== undefined && site.filename === SOURCE && site.lineno === lineOf(name),
            };
          } catch (err) {
            result = { runner, name, kind, error: String(err && err.message).slice(0, 200) };
          } finally {
            release();
          }
        }
        if (out) fs.appendFileSync(out, JSON.stringify(result) + '\n');
      });
    }
  }
}

module.exports = { register };

'use strict';
// The runner-integration suite: the same checks registered in each runner's own way
// (test/runners/<runner>/). Each check that passes appends `<runner> <check> ok` to $SUITE_RESULTS,
// which test/testing-runner-*.test.ts reads next to the runner's exit code.
const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const dist = path.join(__dirname, '..', '..', '..', 'dist');
const { assertNoLeak, assertMaxMemory } = require(path.join(dist, 'testing.js'));
const tracemalloc = require(path.join(dist, 'index.js'));

const SELF = __filename;
const LINES = fs.readFileSync(SELF, 'utf8').split('\n');
const lineOf = (needle) => LINES.findIndex((l) => l.includes(needle)) + 1;

let kept = [];
let sink = 0;

function cleanParse(i) {
  sink += JSON.parse(JSON.stringify({ i, list: [i, i + 1, `s${i}`] })).list.length;
}

function leakyCache(i) {
  kept.push({ id: i, body: new Array(60).fill(i) });
}

function build8MiB() {
  return new Array(1024 * 1024).fill(0).map((_, k) => k);
}

// Tracing is off after each measurement, unless the runner runs tests of a file together (AVA):
// then another test's measurement may hold it, and the check runs once all tests are done.
let concurrentRunner = false;
function tracingIsOff() {
  if (!concurrentRunner) assert.equal(tracemalloc.isTracing(), false);
}

function record(runner, check) {
  if (process.env.SUITE_RESULTS) fs.appendFileSync(process.env.SUITE_RESULTS, `${runner} ${check} ok\n`);
}

async function leakIsCaught() {
  await assert.rejects(assertNoLeak(leakyCache), (err) => {
    assert.equal(err.name, 'AssertionError');
    assert.ok(err.message.includes(`${SELF}:${lineOf('function leakyCache(')} leakyCache(): +`), err.message);
    return true;
  });
  kept = [];
}

const CHECKS = {
  async clean() {
    const report = await assertNoLeak(cleanParse);
    assert.equal(report.leaking, false);
    tracingIsOff();
  },
  async leak() {
    await leakIsCaught();
    tracingIsOff();
  },
  async maxMemory() {
    await assert.rejects(assertMaxMemory(() => build8MiB().length, 4 * 1024 * 1024), (err) => {
      assert.equal(err.operator, 'assertMaxMemory');
      assert.ok(err.message.includes(`${SELF}:${lineOf('function build8MiB(')} build8MiB(): `), err.message);
      return true;
    });
    const report = await assertMaxMemory(async () => {
      await null;
      return build8MiB().length;
    }, 256 * 1024 * 1024);
    assert.ok(report.peak >= 8 * 1024 * 1024, String(report.peak));
    tracingIsOff();
  },
};

/**
 * `api`: { test(name, fn), concurrent(names, fns) registering tests that run at the same time,
 * fakeTimers() / realTimers() (omitted when the runner has none), allConcurrent: every test of
 * the file runs at the same time }.
 */
function register(runner, api) {
  concurrentRunner = api.allConcurrent === true;
  for (const [name, check] of Object.entries(CHECKS)) {
    api.test(name, async () => {
      await check();
      record(runner, name);
    });
  }
  if (api.fakeTimers) {
    api.test('fakeTimers', async () => {
      api.fakeTimers();
      try {
        const report = await assertNoLeak(cleanParse);
        assert.equal(report.leaking, false);
        await leakIsCaught();
        await assertMaxMemory(() => build8MiB().length, 256 * 1024 * 1024);
      } finally {
        api.realTimers();
      }
      tracingIsOff();
      record(runner, 'fakeTimers');
    });
  }
  api.concurrent([
    ['concurrent-clean-1', async () => { assert.equal((await assertNoLeak(cleanParse)).leaking, false); record(runner, 'concurrent-clean-1'); }],
    ['concurrent-leak', async () => { await leakIsCaught(); record(runner, 'concurrent-leak'); }],
    ['concurrent-clean-2', async () => { assert.equal((await assertNoLeak((i) => cleanParse(i + 1))).leaking, false); record(runner, 'concurrent-clean-2'); }],
    ['concurrent-peak', async () => { await assertMaxMemory(() => build8MiB().length, 256 * 1024 * 1024); record(runner, 'concurrent-peak'); }],
  ]);
}

const EXPECTED = ['clean', 'leak', 'maxMemory', 'concurrent-clean-1', 'concurrent-leak', 'concurrent-clean-2', 'concurrent-peak'];

module.exports = { register, EXPECTED, tracingIsOn: () => tracemalloc.isTracing(), sink: () => sink };

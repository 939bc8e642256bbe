// One child process of the seeded-randomness test (test/external-corpus.test.ts): real libraries
// that draw from Math.random (lodash's random and shuffle, three's MathUtils.generateUUID) between
// Buffer and typed-array allocations, in a program whose Math.random is deterministic: under
// `node --random-seed=N`, or (argv[4] = 'installed') with a seeded generator installed as
// Math.random, as seedrandom's global mode or a test's mock does. Prints what the libraries drew;
// tracing must not change it. argv[2]: untraced | traced (start() here, 512 B interval) | preload
// (NODE_TRACEMALLOC set by the parent); argv[3]: the package's dist directory.
'use strict';
const path = require('node:path');

const [mode, dist, source] = process.argv.slice(2);
if (source === 'installed') {
  // mulberry32, seeded: a generator of the kind programs install for reproducible runs.
  let a = 42;
  Math.random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const tm = mode === 'untraced' ? null : require(path.resolve(dist));
if (mode === 'traced') tm.start(1, { samplingInterval: 512 });
process.noDeprecation = true;
const _ = require('lodash');
const { MathUtils } = require('three');
const drawn = [];
const held = [];
for (let i = 0; i < 100; i++) {
  for (let k = 0; k < 40; k++) {
    held.push(Buffer.alloc(64 + k * 40), new Uint8Array(300 + k).slice(), Buffer.from('x'.repeat(k + 100)));
  }
  drawn.push(_.random(0, 1e9), _.shuffle([1, 2, 3, 4, 5, 6, 7, 8]).join(''), MathUtils.generateUUID());
  if (i === 50 && tm !== null) tm.takeSnapshot();
}
console.log(JSON.stringify({ tracing: tm !== null && tm.isTracing(), held: held.length, drawn }));

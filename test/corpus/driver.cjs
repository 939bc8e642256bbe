// One child process of the corpus test (test/external-corpus.test.ts). argv[2] is the mode:
//   untraced   the libraries alone
//   before     start() before any library is loaded
//   after      the libraries loaded first, then start()
//   stopped    start(), the libraries loaded, stop(), then they run
//   preload    nothing here: `node --import <dist>/register.mjs` with NODE_TRACEMALLOC started tracing
// Prints one JSON object: library name -> its output. argv[3] is the package's dist directory;
// argv[4], when given, the sampling interval (small: the wrappers' slow path runs often).
'use strict';
const path = require('node:path');

const [mode, dist, intervalArg] = process.argv.slice(2);
const libraries = require('./libraries.cjs');
const tm = mode === 'untraced' || mode === 'preload' ? null : require(path.resolve(dist));
const options = intervalArg ? { samplingInterval: Number(intervalArg) } : {};

function loadAll() {
  // Loading is `require`: run() requires again, from the cache.
  for (const name of ['cbor-x', 'msgpackr', 'google-protobuf', 'three', 'ws', 'pako', 'fflate', 'protobufjs', 'bson',
    'buffer-crc32', 'uuid', 'iconv-lite', 'pngjs', 'jpeg-js', 'gl-matrix', 'bn.js']) {
    require(name);
  }
}

process.noDeprecation = true; // three's CommonJS build warns on stderr; stdout is what is compared
if (mode === 'before') tm.start(4, options);
loadAll();
if (mode === 'after') tm.start(4, options);
if (mode === 'stopped') {
  tm.start(4, options);
  tm.stop();
}
const out = {};
for (const lib of libraries) out[lib.name] = lib.run();
const live = mode === 'preload' ? require(path.resolve(dist)) : tm;
if (live !== null && mode !== 'stopped') {
  out['<tracing>'] = live.isTracing();
  // A snapshot in the middle must not change anything either: run everything again after it.
  if (live.isTracing()) live.takeSnapshot();
  for (const lib of libraries) if (lib.run() !== out[lib.name]) out[`${lib.name} after a snapshot`] = 'differs';
  if (mode !== 'preload') live.stop();
}
process.stdout.write(JSON.stringify(out));

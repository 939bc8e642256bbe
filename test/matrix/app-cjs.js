// Fixture of the source-map matrix for Jest's default transform (babel-jest on CommonJS), as
// app.ts is for the others; the JSDoc typedef stands for its type-only lines. The
// test finds the expected lines by the comments `// heap-site` and `// buffer-site`.
'use strict';

/** @typedef {{ rounds: number, size: number }} Options */

const held = [];

function heapSite(options) { // heap-site
  for (let i = 0; i < options.rounds; i++) held.push({ tag: 'heap-site', payload: new Array(32).fill(i) });
  return held.length;
}

function cleanSite(options) {
  const scratch = Buffer.alloc(options.size, 'clean-site');
  return scratch.length;
}

function bufferSite(options) {
  const tag = 'buffer-site';
  held.push({ tag, payload: Buffer.alloc(options.size, tag) }); // buffer-site
  return held.length;
}

module.exports = { held, heapSite, cleanSite, bufferSite };

'use strict';
// The scenarios of the leak table (bench/leak-rates.ts, docs/testing.md): real leak-free libraries
// called as an application calls them, and real leak patterns. Shared by every runner fixture.
// Leaking scenarios keep what they leak in `sink`, read after each run (V8 frees what no code reads).
const { EventEmitter } = require('node:events');

let sink = [];
let blackhole = 0;
const timers = [];

function lib(name) {
  return require(name);
}

/** Clean: real libraries, each call independent, nothing kept. */
const CLEAN = [
  ['js-yaml', () => { const y = lib('js-yaml'); return (i) => y.load(`name: item ${i}\nlist: [${i}, ${i + 1}, two]\nnested:\n  a: ${i}\n  b: "text ${i}"\n`); }],
  ['yaml', () => { const y = lib('yaml'); return (i) => y.parse(`a: ${i}\nb: [x, y, ${i}]\nc: { d: "s${i}" }\n`); }],
  ['marked', () => { const { marked } = lib('marked'); return (i) => marked.parse(`# Title ${i}\n\nSome *text* and a [link](http://x/${i}).\n\n- a\n- b ${i}\n`); }],
  ['ajv', () => { const Ajv = lib('ajv'); const ajv = new Ajv(); const validate = ajv.compile({ type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string', minLength: 1 }, tags: { type: 'array', items: { type: 'string' } } }, required: ['id', 'name'] }); return (i) => validate({ id: i, name: `n${i}`, tags: ['a', String(i)] }); }],
  ['zod', () => { const { z } = lib('zod'); const schema = z.object({ id: z.number().int(), email: z.string().email(), tags: z.array(z.string()) }); return (i) => schema.safeParse({ id: i, email: `u${i}@example.com`, tags: ['x', `t${i}`] }); }],
  ['handlebars', () => { const H = lib('handlebars'); const t = H.compile('<ul>{{#each items}}<li>{{name}}: {{value}}</li>{{/each}}</ul>'); return (i) => t({ items: [{ name: 'a', value: i }, { name: 'b', value: i + 1 }] }); }],
  ['mustache', () => { const M = lib('mustache'); const tpl = 'Hello {{name}}, you have {{count}} messages {{#items}}[{{.}}]{{/items}}'; return (i) => M.render(tpl, { name: `user${i}`, count: i, items: [1, 2, i] }); }],
  ['ejs', () => { const ejs = lib('ejs'); const t = ejs.compile('<p><%= user.name %></p><% items.forEach(function (x) { %><i><%= x %></i><% }) %>'); return (i) => t({ user: { name: `u${i}` }, items: [i, i + 1] }); }],
  ['dayjs', () => { const dayjs = lib('dayjs'); return (i) => dayjs('2024-01-01').add(i % 365, 'day').format('YYYY-MM-DD HH:mm'); }],
  ['date-fns', () => { const { addDays, format, parseISO } = lib('date-fns'); return (i) => format(addDays(parseISO('2024-01-01'), i % 365), 'yyyy-MM-dd'); }],
  ['lodash', () => { const _ = lib('lodash'); return (i) => _.sortBy(_.uniq(_.map(_.range(20), (k) => (k * i) % 7)), (x) => -x).join(','); }],
  ['semver', () => { const semver = lib('semver'); return (i) => semver.satisfies(`1.${i % 50}.${i % 7}`, '^1.2.0 || >=2.0.0') && semver.inc(`1.${i % 50}.0`, 'minor'); }],
  ['qs', () => { const qs = lib('qs'); return (i) => qs.parse(qs.stringify({ a: i, b: [1, 2, i], c: { d: `x${i}` } })); }],
  ['fast-xml-parser', () => { const { XMLParser } = lib('fast-xml-parser'); const p = new XMLParser(); return (i) => p.parse(`<root><item id="${i}">text ${i}</item><item>two</item></root>`); }],
  ['uuid', () => { const { v4, validate } = lib('uuid'); return () => validate(v4()); }],
];

/** Leaks: real patterns, each keeping 256 bytes a call or more. */
const LEAK = [
  ['cache-per-call', () => { const cache = new Map(); sink.push(cache); return (i) => { const key = `request-${i}`; if (!cache.has(key)) cache.set(key, { id: i, body: new Array(28).fill(i) }); return cache.get(key).id; }; }],
  ['listener-per-call', () => { const e = new EventEmitter(); e.setMaxListeners(0); sink.push(e); return (i) => { const data = new Array(28).fill(i); e.on('tick', () => data.length); }; }],
  ['closures-kept', () => { const handlers = []; sink.push(handlers); return (i) => { const ctx = { i, payload: new Array(28).fill(i) }; handlers.push(() => ctx.payload.length); }; }],
  ['buffers-kept', () => { const kept = []; sink.push(kept); return (i) => { kept.push(Buffer.alloc(512, i & 0xff)); }; }],
  ['timers-never-cleared', () => () => { const data = new Array(28).fill(1); timers.push(setInterval(() => data.length, 1e7)); }],
  ['promise-chain', () => { const never = new Promise(() => {}); sink.push(never); return async (i) => { const data = new Array(28).fill(i); never.then(() => data.length); await null; }; }],
];

function release() {
  const n = sink.length;
  sink = [];
  for (const t of timers.splice(0)) clearInterval(t);
  return n;
}

module.exports = { CLEAN, LEAK, release, blackhole: () => blackhole };

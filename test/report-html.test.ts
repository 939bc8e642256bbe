// renderHtmlReport in Node: the page's pure parts (tree, layout, colours, search, formats), both as
// modules and as the copies inlined in the page, and the page itself (self-contained, escaped).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as vm from 'node:vm';
import * as tracemalloc from 'tracemalloc';
import * as client from '#internal/export/report-client';
import { clientFunctionsSource, clientScript, escapeHtml, jsonForScript } from '#internal/export/html';
import type { FlameNode, ReportData, ReportFrame, ReportStack } from '#internal/export/report-client';
import { leakyAppSnapshots, olderSampleSnapshot, sampleSnapshot, tempDir } from './fixtures/export/sample.js';

const { DomainFilter, Snapshot, formatSize, renderHtmlReport, setSourceReader } = tracemalloc;

after(() => setSourceReader(null));

type Client = Pick<typeof client, 'buildFlameTree' | 'layoutFlame' | 'diffColor' | 'frameCategory' | 'frameColor' | 'frameLabel' | 'searchFlame' | 'fitLabel' | 'formatBytes' | 'formatCount'>;

/** The functions as the page holds them, evaluated from that text alone. */
function inlined(): Client {
  const names = ['buildFlameTree', 'layoutFlame', 'diffColor', 'frameCategory', 'frameColor', 'frameLabel', 'searchFlame', 'fitLabel', 'formatBytes', 'formatCount'];
  // A function scope of its own: a reference to anything of the module (an import, a constant)
  // would throw here. Same realm as the test, so results compare with deepEqual.
  return vm.runInThisContext(`(function () {\n'use strict';\n${clientFunctionsSource()}\nreturn { ${names.join(', ')} };\n})()`) as Client;
}

const IMPLEMENTATIONS: [string, Client][] = [['module', client], ['inlined in the page', inlined()]];

const FRAMES: ReportFrame[] = [
  ['main', '/app/main.js', 1, 1, 'function main() {'],
  ['handle', '/app/server.js', 10, 1, 'function handle(req) {'],
  ['parse', '/app/parse.js', 20, 1, ''],
  ['', '/app/server.js', 30, 5, ''],
  ['Readable.read', 'node:internal/streams/readable', 200, 3, ''],
];
// main > handle > parse (600 now, 100 before), main > handle > anon (300, 500), main > Readable.read (100, 0).
const STACKS: ReportStack[] = [
  [[0, 1, 2], 400, 4, 100, 1],
  [[0, 1, 2], 200, 2, 0, 0],
  [[0, 1, 3], 300, 3, 500, 5],
  [[0, 4], 100, 1, 0, 0],
];

function find(nodes: readonly FlameNode[], path: number[]): FlameNode {
  let node = nodes[0]!;
  for (const f of path) node = node.children.find((c) => c.frame === f)!;
  return node;
}

for (const [where, c] of IMPLEMENTATIONS) {
  test(`buildFlameTree merges stacks, sums sizes up the tree, orders children biggest first (${where})`, () => {
    const { root, nodes } = c.buildFlameTree(STACKS, false);
    assert.equal(root.frame, -1);
    assert.deepEqual([root.size, root.count, root.oldSize, root.oldCount], [1000, 10, 600, 6]);
    const handle = find(nodes, [0, 1]);
    assert.deepEqual([handle.size, handle.oldSize, handle.depth], [900, 600, 2]);
    assert.deepEqual(handle.children.map((n) => [n.frame, n.size, n.self]), [[2, 600, 600], [3, 300, 300]]);
    assert.deepEqual(find(nodes, [0]).children.map((n) => n.frame), [1, 4]);
    assert.equal(find(nodes, [0]).self, 0);
    nodes.forEach((n, i) => {
      assert.equal(n.id, i);
    });
    // Inverted: allocation sites at the top.
    const inv = c.buildFlameTree(STACKS, true);
    assert.deepEqual(inv.root.children.map((n) => [n.frame, n.size]), [[2, 600], [3, 300], [4, 100]]);
    assert.deepEqual(find(inv.nodes, [2, 1, 0]).size, 600);
  });

  test(`layoutFlame: proportional widths, zoom makes the focus full width, ancestors flagged (${where})`, () => {
    const { root, nodes } = c.buildFlameTree(STACKS, false);
    const all = c.layoutFlame(root, 1000, 0.5, false);
    const rect = (rects: ReturnType<typeof c.layoutFlame>, node: FlameNode) => rects.find((r) => r.node === node)!;
    const handle = find(nodes, [0, 1]);
    const parse = find(nodes, [0, 1, 2]);
    const anon = find(nodes, [0, 1, 3]);
    assert.deepEqual([rect(all, root).x, rect(all, root).w], [0, 1000]);
    assert.deepEqual([rect(all, handle).x, rect(all, handle).w, rect(all, handle).depth], [0, 900, 2]);
    assert.deepEqual([rect(all, anon).x, rect(all, anon).w], [600, 300]);
    assert.equal(rect(all, find(nodes, [0, 4])).x, 900);
    assert.ok(all.every((r) => !r.ancestor));
    // Zoom on anon: full width; root, main and handle above it, flagged; nothing else.
    const zoomed = c.layoutFlame(anon, 1000, 0.5, false);
    assert.deepEqual(zoomed.map((r) => [r.node.frame, r.x, r.w, r.ancestor]), [[-1, 0, 1000, true], [0, 0, 1000, true], [1, 0, 1000, true], [3, 0, 1000, false]]);
    // Narrow rectangles are left out, with their subtrees.
    assert.equal(rect(c.layoutFlame(root, 1000, 150, false), find(nodes, [0, 4])), undefined);
    // Width by the old snapshot: parse had 100 of 600.
    const before = c.layoutFlame(root, 600, 0.5, true);
    assert.deepEqual([rect(before, parse).w, rect(before, anon).x, rect(before, anon).w], [100, 100, 500]);
    assert.equal(rect(before, find(nodes, [0, 4])), undefined, 'no width before');
  });

  test(`diffColor: growth red, shrinkage blue, none grey, more intense for bigger changes (${where})`, () => {
    const rgb = (s: string): number[] => s.match(/\d+/g)!.map(Number);
    const [gr, gg, gb] = rgb(c.diffColor(100, 100));
    const [sr, , sb] = rgb(c.diffColor(-100, 100));
    assert.ok(gr > gb + 100 && gr > gg + 100, 'red');
    assert.ok(sb > sr + 100, 'blue');
    assert.deepEqual(rgb(c.diffColor(0, 100)), [226, 226, 226]);
    assert.deepEqual(rgb(c.diffColor(5, 0)), [226, 226, 226], 'no change anywhere');
    const little = rgb(c.diffColor(10, 100));
    assert.ok(little[0]! > 226 - 1 && little[1]! < 226 && little[1]! > gg, 'a little growth is lighter');
    assert.deepEqual(c.diffColor(500, 100), c.diffColor(100, 100), 'clamped');
  });

  test(`frame colours by category, labels, search, label fitting and formats (${where})`, () => {
    assert.equal(c.frameCategory('/srv/app.js'), 'app');
    assert.equal(c.frameCategory('C:\\srv\\node_modules\\x\\i.js'), 'dependency');
    assert.equal(c.frameCategory('node:fs'), 'node');
    assert.equal(c.frameCategory('<unknown>'), 'other');
    assert.equal(c.frameColor('f', '/a.js'), c.frameColor('f', '/b.js'), 'stable per name');
    assert.match(c.frameColor('f', '/node_modules/a.js'), /^hsl\((4\d|5\d),/);
    assert.equal(c.frameLabel(FRAMES[3]), '(anonymous) server.js:30');
    assert.equal(c.frameLabel(FRAMES[0]), 'main');
    assert.equal(c.frameLabel(undefined), 'all');

    const { nodes } = c.buildFlameTree(STACKS, false);
    const s = c.searchFlame(nodes, FRAMES, 'SERVER.js');
    assert.deepEqual([...s.ids].map((id) => nodes[id]!.frame).sort(), [1, 3]);
    assert.equal(s.size, 900, 'anon under handle counted once');
    assert.equal(c.searchFlame(nodes, FRAMES, 'parse.js:20').size, 600);
    assert.equal(c.searchFlame(nodes, FRAMES, '  ').ids.size, 0);

    assert.equal(c.fitLabel('handleRequest', 200, 7), 'handleRequest');
    assert.equal(c.fitLabel('handleRequest', 62, 7), 'handleR…');
    assert.equal(c.fitLabel('handleRequest', 20, 7), '');

    for (const size of [0, 1, 99, 100, 1023, 10239, 10240, 102400, 1048576 * 1.5, 2 ** 40 * 3, 0.25 * 1024, 2.25 * 1024, 12.25 * 1024, -5, -1536]) {
      assert.equal(c.formatBytes(size, false), formatSize(size), `formatBytes(${size})`);
      assert.equal(c.formatBytes(size, true), formatSize(size, true), `formatBytes(${size}, sign)`);
    }
    assert.equal(c.formatCount(1234567.4, false), '1,234,567');
    assert.equal(c.formatCount(12, true), '+12');
    assert.equal(c.formatCount(-1000, true), '-1,000');
  });
}

/** The JSON the page embeds. */
function dataOf(html: string): ReportData {
  const m = /<script type="application\/json" id="tracemalloc-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the data element');
  return JSON.parse(m[1]!) as ReportData;
}

test('the page is self-contained: one inline script allowed by its hash, no URL to load', () => {
  const html = renderHtmlReport(sampleSnapshot(), { diffFrom: olderSampleSnapshot() });
  assert.match(html, /^<!DOCTYPE html>/);
  const script = clientScript();
  const hash = createHash('sha256').update(script).digest('base64');
  assert.ok(html.includes(`script-src 'sha256-${hash}'`), 'the CSP names the script');
  assert.ok(html.includes(`<script>${script}</script>`));
  assert.match(html, /default-src 'none'/);
  // The only URL is the SVG namespace (a name, never fetched).
  const urls = html.match(/\b(?:https?|ftp|wss?):\/\/[^\s"'<>)]*/g) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
  assert.doesNotMatch(html, /\ssrc=|@import|url\(|<link(?![^>]*href="data:)/);
  assert.equal(html.match(/<script\b/g)!.length, 2);
});

test('attacker-controlled names, files and source lines only ever reach the page as data', () => {
  const evil = '</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>\u2028&amp;';
  const frame = new tracemalloc.Frame(`/app/${evil}.js`, 3, { functionName: `f${evil}` });
  setSourceReader(() => `const x = "${evil}";`);
  const snapshot = new Snapshot([[0, 1000, [frame as never]], [1, 10, [[`node:${evil}`, 2]]]], 1);
  const html = renderHtmlReport(snapshot, { title: `<b>${evil}</b>` });
  setSourceReader(null);
  assert.equal(html.match(/<\/script/gi)!.length, 2, 'only the two real closing tags');
  assert.equal(html.match(/<script/gi)!.length, 2);
  assert.doesNotMatch(html, /<img|<!--|\u2028/);
  assert.ok(html.includes(`<title>${escapeHtml(`<b>${evil}</b>`)}</title>`));
  const data = dataOf(html);
  assert.equal(data.title, `<b>${evil}</b>`);
  assert.ok(data.frames.some((f) => f[0] === `f${evil}` && f[1] === `/app/${evil}.js` && f[4] === `const x = "${evil}";`), 'intact once parsed');
  assert.equal(jsonForScript({ a: '</script>' }), '{"a":"\\u003c/script\\u003e"}');
  // The client writes text with textContent only: no innerHTML, outerHTML, insertAdjacentHTML, eval.
  assert.doesNotMatch(clientScript(), /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
});

test('the embedded data: domains apart, stacks and top tables that match the statistics', () => {
  setSourceReader((file, line) => (file === '/app/parse.js' && line === 20 ? 'function parse(text) {' : ''));
  const snapshot = sampleSnapshot();
  const data = dataOf(renderHtmlReport(snapshot, { topRows: 2 }));
  setSourceReader(null);
  assert.equal(data.diff, false);
  assert.equal(data.title, 'tracemalloc report');
  assert.deepEqual(data.domains.map((d) => [d.domain, d.label]), [[0, 'V8 heap'], [1, 'ArrayBuffers & Buffers'], [2, 'Domain 2']]);
  for (const d of data.domains) {
    const only = snapshot.filterTraces([new DomainFilter(true, d.domain)]);
    const stats = only.statistics('lineno');
    const total = stats.reduce((a, s) => a + s.size, 0);
    assert.equal(d.size, total);
    assert.equal(d.stacks.reduce((a, s) => a + s[1], 0), total);
    assert.deepEqual(d.top.lineno.map((r) => r.size), stats.slice(0, 2).map((s) => s.size));
    assert.deepEqual(d.rest.lineno, [Math.max(0, stats.length - 2), stats.slice(2).reduce((a, s) => a + s.size, 0), 0]);
    assert.deepEqual(d.top.filename.map((r) => [r.file, r.f]), only.statistics('filename').slice(0, 2).map((s) => [s.traceback.at(0)!.filename, []]));
    assert.deepEqual(d.top.traceback.map((r) => r.f.map((i) => `${data.frames[i]![1]}:${data.frames[i]![2]}`)),
      only.statistics('traceback').slice(0, 2).map((st) => Array.from(st.traceback, String)), 'traceback rows, oldest frame first');
  }
  assert.match(data.domains[0]!.note, /line is where the function starts/);
  // Stacks are oldest first; the parse frame carries its source line.
  const heap = data.domains[0]!;
  const names = (ids: number[]) => ids.map((i) => data.frames[i]![0]);
  assert.ok(heap.stacks.some((s) => names(s[0]).join('>') === 'main>handle>parse'));
  assert.ok(data.frames.some((f) => f[0] === 'parse' && f[4] === 'function parse(text) {'));
});

test('with diffFrom: old values in the stacks, changes in the tables, gone sites listed', () => {
  const snapshot = sampleSnapshot();
  const old = olderSampleSnapshot();
  const data = dataOf(renderHtmlReport(snapshot, { diffFrom: old, title: 'leak?' }));
  assert.equal(data.diff, true);
  assert.equal(data.title, 'leak?');
  const heap = data.domains.find((d) => d.domain === 0)!;
  const only = [new DomainFilter(true, 0)];
  const diffs = snapshot.filterTraces(only).compareTo(old.filterTraces(only), 'lineno');
  assert.deepEqual(heap.top.lineno.map((r) => [r.size, r.dsize, r.count, r.dcount]), diffs.map((d) => [d.size, d.sizeDiff, d.count, d.countDiff]));
  assert.equal(heap.oldSize, old.filterTraces(only).statistics('lineno').reduce((a, s) => a + s.size, 0));
  const legacy = heap.top.lineno.find((r) => data.frames[r.f[0]!]![0] === 'legacy')!;
  assert.deepEqual([legacy.size, legacy.dsize], [0, -(2 << 20)]);
  assert.ok(heap.stacks.some((s) => s[1] === 0 && s[3] === 2 << 20), 'the gone stack keeps its old size');
});

test('options are checked; stacks beyond maxStacks merge into one', () => {
  assert.throws(() => renderHtmlReport({} as never), /snapshot must be a Snapshot/);
  assert.throws(() => renderHtmlReport(sampleSnapshot(), { diffFrom: {} as never }), /options.diffFrom must be a Snapshot/);
  assert.throws(() => renderHtmlReport(sampleSnapshot(), { topRows: 0 }), /options.topRows must be an integer >= 1/);
  const raw: [number, number, [string, number][]][] = [];
  for (let i = 0; i < 50; i++) raw.push([0, 100 + i, [[`/f${i}.js`, 1]]]);
  const data = dataOf(renderHtmlReport(new Snapshot(raw, 1), { maxStacks: 10 }));
  const stacks = data.domains[0]!.stacks;
  assert.equal(stacks.length, 10);
  assert.equal(stacks.reduce((a, s) => a + s[1], 0), raw.reduce((a, r) => a + r[1], 0));
  assert.equal(data.frames[stacks[9]![0][0]!]![0], '(41 other stacks)');
  // An empty snapshot still renders.
  assert.deepEqual(dataOf(renderHtmlReport(new Snapshot([], 1))).domains, []);
});

test("a real program's report stays small", (t) => {
  const { before, after: later } = leakyAppSnapshots(tempDir('report-size'));
  const html = renderHtmlReport(later, { diffFrom: before });
  const script = clientScript().length;
  t.diagnostic(`report: ${html.length} bytes (script ${script}, traces ${later.traces.length})`);
  assert.ok(script < 40_000, `the script is ${script} bytes`);
  assert.ok(html.length < 400_000, `the page is ${html.length} bytes`);
  assert.ok(dataOf(html).domains[0]!.top.lineno.some((r) => r.f.length === 1));
});

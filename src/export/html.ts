/**
 * Snapshot -> one self-contained HTML page: a zoomable flame graph per domain (coloured by growth
 * when compared with an older snapshot), the top tables by line, file and traceback, and the
 * source lines of the frames. Nothing is loaded from the network; the data is embedded as JSON and
 * only ever reaches the page as text, and a Content-Security-Policy allows just the inline script.
 */
import { createHash } from 'node:crypto';
import { describeType, describeValue } from '../format.js';
import { DomainFilter } from '../filter.js';
import type { Frame } from '../frame.js';
import { Snapshot } from '../snapshot.js';
import { displayLine } from '../source.js';
import type { Statistic, StatisticDiff } from '../statistic.js';
import {
  buildFlameTree, diffColor, fitLabel, formatBytes, formatCount, frameCategory, frameColor, frameLabel, layoutFlame, reportMain, searchFlame,
  type ReportData, type ReportDomain, type ReportFrame, type ReportKeyType, type ReportRow, type ReportStack,
} from './report-client.js';
import { CLIENT_FUNCTION_NAMES } from './report-client-names.js';
import { CLIENT_SOURCE } from './report-client-source.js';
import { domainLabel, EXTERNAL_DOMAIN, HEAP_DOMAIN, isSampledDomain } from '../domain-names.js';

export interface HtmlReportOptions {
  /** An older snapshot: the graph is coloured by the growth since it, and the tables show the change. */
  diffFrom?: Snapshot;
  /** The page's title. Default `tracemalloc report` (`tracemalloc: what changed` with `diffFrom`). */
  title?: string;
  /** Rows of each top table. Default 50. */
  topRows?: number;
  /** Distinct stacks kept per domain; smaller ones are merged into `(other stacks)`. Default 20000. */
  maxStacks?: number;
}

/** Source lines longer than this are cut in the page. */
const MAX_SOURCE_CHARS = 240;
/** Frames beyond this many carry no source line (keeps the page small on huge snapshots). */
const MAX_SOURCE_FRAMES = 20_000;

/** The client's functions, inlined into the page in this order (see report-client.ts). */
const CLIENT_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [
  buildFlameTree, layoutFlame, diffColor, frameCategory, frameColor, frameLabel, searchFlame, fitLabel, formatBytes, formatCount, reportMain,
];

/**
 * @internal The client functions' source, as the page holds them (tests evaluate it in Node): the
 * string the build made (report-client-source.ts); from the sources, the functions' own text, if
 * it is still theirs (a bundler may have renamed or rewritten them: then this fails loudly).
 */
export function clientFunctionsSource(): string {
  if (CLIENT_SOURCE !== null) return CLIENT_SOURCE;
  const parts = CLIENT_FUNCTIONS.map((f, i) => {
    const text = f.toString();
    if (!text.startsWith(`function ${CLIENT_FUNCTION_NAMES[i]}(`) || /\b__name\(/.test(text)) {
      throw new Error('the HTML report\'s client code was rewritten by a bundler and no built copy of it is here: ' +
        "bundle tracemalloc's published dist/ (its build embeds the client as a string), not its sources");
    }
    return text;
  });
  return parts.join('\n');
}

/** The page's script: the client functions and the call that starts it. */
export function clientScript(): string {
  return `'use strict';\n${clientFunctionsSource()}\nreportMain(document, window, JSON.parse(document.getElementById('tracemalloc-data').textContent));\n`;
}

/** Escapes text for HTML content and attribute values (line separators too, to keep lines plain). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'\u2028\u2029]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` (so no `</script>`
 * or `<!--` can appear) and the JavaScript line separators are written as `\uXXXX` escapes.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function domainNote(domain: number, sampled: boolean): string {
  if (domain === HEAP_DOMAIN) {
    return 'V8 heap: V8 records functions, not lines, so each frame is a function and its line is where the function starts.' +
      (sampled ? ' Sizes and counts are estimates from sampling.' : '');
  }
  if (domain === EXTERNAL_DOMAIN) return 'Memory outside the V8 heap (ArrayBuffer backing stores: Buffers, typed arrays). Frames point at the exact line of the call.';
  return `User domain ${domain} (tracemalloc.track()): frames point at the exact line of the call.`;
}


class FrameTable {
  readonly frames: ReportFrame[] = [];
  readonly #index = new Map<string, number>();

  intern(file: string, line: number, column: number, name: string, source: () => string): number {
    const key = `${file}\0${line}\0${column}\0${name}`;
    let id = this.#index.get(key);
    if (id === undefined) {
      id = this.frames.length;
      let text = this.frames.length < MAX_SOURCE_FRAMES && line > 0 ? source() : '';
      // Minified code: the part of the line around the frame's column.
      if (text.length > MAX_SOURCE_CHARS) text = displayLine(text, column, MAX_SOURCE_CHARS);
      this.frames.push([name, file, line, column, text]);
      this.#index.set(key, id);
    }
    return id;
  }
}

/** Adds each trace of `snapshot` to its domain's stacks: values at `offset` (1 new, 3 old). */
function collectStacks(snapshot: Snapshot, table: FrameTable, stacks: Map<number, Map<string, ReportStack>>, offset: 1 | 3): void {
  const c = snapshot._columns;
  const t = c.tables;
  const frameIds = new Map<number, number>();
  const frameOf = (f: number): number => {
    let id = frameIds.get(f);
    if (id === undefined) {
      const file = t.files[f]!;
      const line = t.lines[f]!;
      id = table.intern(file, line, t.columns[f]!, t.funcs[f] ?? '', () => snapshot._sourceLine(file, line));
      frameIds.set(f, id);
    }
    return id;
  };
  const tbStack = new Map<number, { key: string; ids: number[] }>();
  for (let i = 0; i < c.length; i++) {
    const tb = c.tracebacks[i]!;
    let s = tbStack.get(tb);
    if (s === undefined) {
      const ids: number[] = [];
      for (let j = t.tbOffsets[tb + 1]! - 1; j >= t.tbOffsets[tb]!; j--) ids.push(frameOf(t.tbFrames[j]!));
      s = { key: ids.join(','), ids };
      tbStack.set(tb, s);
    }
    const domain = c.domains[i]!;
    let byKey = stacks.get(domain);
    if (byKey === undefined) stacks.set(domain, (byKey = new Map()));
    let stack = byKey.get(s.key);
    if (stack === undefined) {
      stack = [s.ids, 0, 0, 0, 0];
      byKey.set(s.key, stack);
    }
    if (offset === 1) {
      stack[1] += c.sizes[i]!;
      stack[2] += c.counts[i]!;
    } else {
      stack[3] += c.sizes[i]!;
      stack[4] += c.counts[i]!;
    }
  }
}

/** Keeps the `max` biggest stacks and merges the others into one `(other stacks)` stack. */
function capStacks(stacks: ReportStack[], max: number, table: FrameTable): ReportStack[] {
  if (stacks.length <= max) return stacks;
  const sorted = stacks.slice().sort((a, b) => Math.max(b[1], b[3]) - Math.max(a[1], a[3]));
  const kept = sorted.slice(0, max - 1);
  const other: ReportStack = [[table.intern('', 0, 0, `(${sorted.length - kept.length} other stacks)`, () => '')], 0, 0, 0, 0];
  for (const s of sorted.slice(max - 1)) {
    other[1] += s[1];
    other[2] += s[2];
    other[3] += s[3];
    other[4] += s[4];
  }
  kept.push(other);
  return kept;
}

function isDiff(s: Statistic | StatisticDiff): s is StatisticDiff {
  return 'sizeDiff' in s;
}

/**
 * Renders `snapshot` as one self-contained HTML page (no network, no external file): a flame graph
 * per domain (click to zoom, hover for size and count, search), the top tables by line, file and
 * traceback with source lines, and, with `diffFrom`, the growth since that older snapshot in red
 * and the shrinkage in blue. Sizes are bytes (estimates when the snapshot is sampled).
 */
export function renderHtmlReport(snapshot: Snapshot, options: HtmlReportOptions = {}): string {
  if (!(snapshot instanceof Snapshot)) throw new TypeError(`snapshot must be a Snapshot, not ${describeType(snapshot)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describeType(options)}`);
  const old = options.diffFrom;
  if (old !== undefined && !(old instanceof Snapshot)) throw new TypeError(`options.diffFrom must be a Snapshot, not ${describeType(old)}`);
  if (options.title !== undefined && typeof options.title !== 'string') throw new TypeError(`options.title must be a string, not ${describeType(options.title)}`);
  const topRows = options.topRows ?? 50;
  const maxStacks = options.maxStacks ?? 20_000;
  for (const [name, v] of [['topRows', topRows], ['maxStacks', maxStacks]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`options.${name} must be an integer >= 1, not ${describeValue(v)}`);
  }
  const diff = old !== undefined;
  const title = options.title ?? (diff ? 'tracemalloc: what changed' : 'tracemalloc report');

  const table = new FrameTable();
  const stacks = new Map<number, Map<string, ReportStack>>();
  collectStacks(snapshot, table, stacks, 1);
  if (old !== undefined) collectStacks(old, table, stacks, 3);

  const internFrame = (frame: Frame): number =>
    table.intern(frame.filename, frame.lineno, frame.column ?? 0, frame.functionName ?? '', () => snapshot._sourceLine(frame.filename, frame.lineno));
  const toRow = (s: Statistic | StatisticDiff, keyType: ReportKeyType): ReportRow => {
    const frames = Array.from(s.traceback);
    return {
      f: keyType === 'filename' ? [] : frames.map(internFrame),
      file: frames[0]?.filename ?? '',
      size: s.size,
      count: s.count,
      dsize: isDiff(s) ? s.sizeDiff : 0,
      dcount: isDiff(s) ? s.countDiff : 0,
    };
  };

  const sampled = snapshot.samplingInterval !== null;
  const domains: ReportDomain[] = [];
  for (const domain of [...stacks.keys()].sort((a, b) => a - b)) {
    const only = [new DomainFilter(true, domain)];
    const mine = snapshot.filterTraces(only);
    const theirs = old?.filterTraces(only);
    const list = [...stacks.get(domain)!.values()];
    const d: ReportDomain = {
      domain,
      label: domainLabel(domain),
      note: domainNote(domain, sampled && isSampledDomain(domain)),
      size: 0, count: 0, oldSize: 0, oldCount: 0,
      stacks: [],
      top: { lineno: [], filename: [], traceback: [] },
      rest: { lineno: [0, 0, 0], filename: [0, 0, 0], traceback: [0, 0, 0] },
    };
    for (const s of list) {
      d.size += s[1];
      d.count += s[2];
      d.oldSize += s[3];
      d.oldCount += s[4];
    }
    d.stacks = capStacks(list, maxStacks, table);
    for (const keyType of ['lineno', 'filename', 'traceback'] as const) {
      const stats: (Statistic | StatisticDiff)[] = theirs !== undefined ? mine.compareTo(theirs, keyType) : mine.statistics(keyType);
      d.top[keyType] = stats.slice(0, topRows).map((s) => toRow(s, keyType));
      const rest = stats.slice(topRows);
      d.rest[keyType] = [rest.length, rest.reduce((a, s) => a + s.size, 0), rest.reduce((a, s) => a + (isDiff(s) ? s.sizeDiff : 0), 0)];
    }
    domains.push(d);
  }

  const data: ReportData = {
    title,
    subtitle: subtitle(snapshot, old),
    diff,
    frames: table.frames,
    domains,
    notes: notes(snapshot, old),
  };
  return page(title, data);
}

function metaText(meta: Record<string, unknown>, key: string): string | null {
  const v = meta[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}

function subtitle(snapshot: Snapshot, old: Snapshot | undefined): string[] {
  const parts: string[] = [];
  const time = metaText(snapshot.meta, 'time');
  if (time !== null) parts.push(old !== undefined && metaText(old.meta, 'time') !== null ? `${metaText(old.meta, 'time')} → ${time}` : time);
  parts.push(snapshot.meta.mode === 'allocated' ? 'allocated objects (collected included)' : 'live objects');
  parts.push(snapshot.samplingInterval === null ? 'exact' : `sampled every ${formatBytes(snapshot.samplingInterval, false)}`);
  parts.push(`traceback limit ${snapshot.tracebackLimit}`);
  parts.push(`${formatCount(snapshot.traces.length, false)} traces${old !== undefined ? ` (before: ${formatCount(old.traces.length, false)})` : ''}`);
  const pid = metaText(snapshot.meta, 'pid');
  if (pid !== null) parts.push(`pid ${pid}`);
  const node = metaText(snapshot.meta, 'node');
  if (node !== null) parts.push(`Node ${node}`);
  return parts;
}

function notes(snapshot: Snapshot, old: Snapshot | undefined): string[] {
  const out: string[] = [];
  if (snapshot.samplingInterval !== null) {
    out.push(`V8 samples the heap about once every ${formatBytes(snapshot.samplingInterval, false)} allocated and scales each sample up: sizes and object counts are estimates (relative error near √(interval / size)); small sites may be missing.`);
  }
  out.push('In the V8 heap, a frame is a function and its line is the function\'s first line; Buffers and user domains point at the exact line of the call.');
  if (old !== undefined) out.push('The graph is drawn at the sizes of the newer snapshot (or of the older one with "width: before"); colours show the change since the older one.');
  out.push('Click a frame to zoom in, click it again (or a frame above it, or Reset, or Escape) to zoom out. "/" focuses the search. Click a table row to find it in the graph.');
  return out;
}

const CSS = `
:root { --fg: #1d2127; --muted: #5f6b7a; --line: #dde2e8; --bg: #f5f7fa; --card: #fff; --accent: #2a6fdb; --grow: #c0392b; --shrink: #2e6fb7; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { padding: 18px 24px 10px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 4px; font-size: 20px; font-weight: 650; }
h2 { margin: 0; font-size: 15px; font-weight: 650; }
.subtitle { color: var(--muted); font-size: 13px; }
.subtitle span + span::before { content: "·"; margin: 0 8px; color: #aab3bf; }
main { padding: 14px 24px 24px; max-width: 1600px; }
.tabs { display: flex; gap: 8px; flex-wrap: wrap; margin-bottom: 6px; }
.tab { border: 1px solid var(--line); background: var(--card); border-radius: 8px; padding: 6px 12px; cursor: pointer; display: flex; flex-direction: column; align-items: flex-start; font: inherit; color: inherit; }
.tab:hover { border-color: #b8c2ce; }
.tab.active { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent) inset; }
.tab-label { font-weight: 600; font-size: 13px; }
.tab-value { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; margin-bottom: 14px; }
.toolbar { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; margin-bottom: 8px; }
button { font: inherit; }
#reset { border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 3px 10px; cursor: pointer; }
#reset:disabled { color: #a0a8b3; cursor: default; }
.check { color: var(--muted); font-size: 13px; display: flex; align-items: center; gap: 4px; }
#search { flex: 0 1 320px; border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; font: inherit; }
#search:focus { outline: 2px solid #9cc0f5; border-color: var(--accent); }
.matched { color: #8e24aa; font-size: 13px; }
.crumbs { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; margin-bottom: 6px; font-size: 12px; }
.crumb { border: 0; background: none; color: var(--accent); cursor: pointer; padding: 1px 3px; border-radius: 4px; max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.crumb:hover { background: #eef3fb; }
.crumb.current { color: var(--fg); font-weight: 600; cursor: default; }
.sep { color: #aab3bf; }
.graph-wrap { width: 100%; overflow: hidden; }
#flame { display: block; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
#flame g.frame { cursor: pointer; }
#flame g.frame text { fill: #1a1d21; pointer-events: none; }
#flame g.frame:hover rect { stroke: #1d2127; stroke-width: 1; }
#flame g.ancestor { opacity: 0.55; }
#flame g.selected rect { stroke: #1d2127; stroke-width: 1.5; }
.below { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; margin-top: 10px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; font-size: 12px; color: var(--muted); align-content: flex-start; }
.legend-title { font-weight: 600; color: var(--fg); }
.legend-item { display: inline-flex; align-items: center; gap: 5px; }
.legend-note { flex-basis: 100%; }
.swatch { width: 14px; height: 12px; border-radius: 3px; display: inline-block; border: 1px solid rgba(0,0,0,.12); }
#details { font-size: 13px; border-left: 1px solid var(--line); padding-left: 14px; }
.details-name { font-weight: 650; word-break: break-all; }
.details-where { color: var(--muted); word-break: break-all; }
#details dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 6px 0 0; }
#details dt { color: var(--muted); }
#details dd { margin: 0; font-variant-numeric: tabular-nums; }
pre.source { margin: 6px 0 0; padding: 5px 8px; background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; white-space: pre-wrap; word-break: break-all; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.source .lineno { color: #98a2ae; }
.seg { display: inline-flex; border: 1px solid var(--line); border-radius: 7px; overflow: hidden; }
.seg button { border: 0; background: #fff; padding: 3px 12px; cursor: pointer; color: var(--muted); }
.seg button + button { border-left: 1px solid var(--line); }
.seg button.active { background: var(--accent); color: #fff; }
table.top { width: 100%; border-collapse: collapse; font-size: 13px; }
table.top th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 5px 8px; font-size: 12px; }
table.top td { border-bottom: 1px solid #eef1f4; padding: 5px 8px; vertical-align: top; }
table.top tbody tr.row { cursor: pointer; }
table.top tbody tr.row:hover { background: #f7f9fc; }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
th.num { text-align: right; }
.rank { color: #98a2ae; width: 2em; }
.where { word-break: break-all; }
.site .fn { font-weight: 600; }
.site .loc { color: var(--muted); }
.site.caller { font-size: 12px; margin-top: 2px; }
.site.caller .fn { font-weight: 500; }
code.src { display: block; margin: 2px 0 3px; padding: 2px 6px; background: #f6f8fa; border-radius: 4px; white-space: pre-wrap; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #24292f; }
td.grow { color: var(--grow); font-weight: 600; }
td.shrink { color: var(--shrink); font-weight: 600; }
tr.rest td { color: var(--muted); font-style: italic; }
.more-button { border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 2px 10px; cursor: pointer; color: var(--accent); }
#notes { color: var(--muted); font-size: 12px; padding-left: 18px; margin: 0; }
.tip { position: fixed; display: none; pointer-events: none; max-width: 420px; background: #1f2430; color: #f1f3f6; padding: 7px 10px; border-radius: 7px; font-size: 12px; box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 10; }
.tip-name { font-weight: 650; word-break: break-all; }
.tip-where { color: #b9c2cf; word-break: break-all; }
.tip-value { margin-top: 3px; font-variant-numeric: tabular-nums; }
#empty { display: none; padding: 40px 24px; color: var(--muted); }
@media (max-width: 800px) { .below { grid-template-columns: 1fr; } #details { border-left: 0; padding-left: 0; } }
`;

function page(title: string, data: ReportData): string {
  const script = clientScript();
  if (/<\/script|<!--/i.test(script)) throw new Error('internal error: the report script contains a sequence that would end its <script> element');
  const hash = createHash('sha256').update(script, 'utf8').digest('base64');
  const csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const t = escapeHtml(title);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tracemalloc">
<title>${t}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<header><h1 id="title">${t}</h1><div id="subtitle" class="subtitle"></div></header>
<main id="main">
<nav id="domains" class="tabs" aria-label="Memory domains"></nav>
<p id="domain-note" class="note"></p>
<section class="card" aria-label="Flame graph">
<div class="toolbar">
<h2>Flame graph</h2>
<button id="reset" type="button" title="Show the whole domain (Escape)">Reset zoom</button>
<input id="search" type="search" placeholder="Search functions and files  ( / )" autocomplete="off" spellcheck="false" aria-label="Search functions and files">
<label class="check"><input id="inverted" type="checkbox"> allocation sites on top</label>
<label class="check" id="before-label"><input id="before" type="checkbox"> width: before</label>
<span id="matched" class="matched" aria-live="polite"></span>
</div>
<div id="crumbs" class="crumbs"></div>
<div class="graph-wrap"><svg id="flame" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Flame graph"></svg></div>
<div class="below"><div id="legend" class="legend"></div><div id="details" aria-live="polite"></div></div>
</section>
<section class="card" aria-label="Top allocation sites">
<div class="toolbar">
<h2>Top</h2>
<div class="seg" role="group" aria-label="Group by">
<button id="key-lineno" type="button">Line</button><button id="key-filename" type="button">File</button><button id="key-traceback" type="button">Traceback</button>
</div>
</div>
<table class="top"><thead><tr id="top-head"></tr></thead><tbody id="top-body"></tbody></table>
</section>
<ul id="notes"></ul>
</main>
<div id="empty">This snapshot holds no traces.</div>
<div id="tip" class="tip" role="tooltip"></div>
<script type="application/json" id="tracemalloc-data">${jsonForScript(data)}</script>
<script>${script}</script>
</body>
</html>
`;
}

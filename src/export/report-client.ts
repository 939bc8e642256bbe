/**
 * The code of the HTML report that runs in the browser: the pure parts (flame tree, layout,
 * colours, search, size format) and `reportMain`, the DOM glue. html.ts inlines these functions
 * into the page with `Function.prototype.toString`, so each one must be self-contained: no
 * imports, no module-level values, calls only to other functions of this file. The same functions
 * are unit-tested in Node.
 */

/** A frame of the report: function name, filename, 1-based line and column (0 unknown), source line. */
export type ReportFrame = [name: string, file: string, line: number, column: number, source: string];

/**
 * A distinct stack of one domain: frame indices oldest first, then bytes and estimated object
 * count in the snapshot, and in the old snapshot (0 without a diff).
 */
export type ReportStack = [frames: number[], size: number, count: number, oldSize: number, oldCount: number];

/** A row of a top table: frames oldest first (one for lines, none for files), its file, and values. */
export interface ReportRow {
  f: number[];
  file: string;
  size: number;
  count: number;
  dsize: number;
  dcount: number;
}

export type ReportKeyType = 'lineno' | 'filename' | 'traceback';

/** One domain's flame graph and tables. */
export interface ReportDomain {
  domain: number;
  label: string;
  note: string;
  size: number;
  count: number;
  oldSize: number;
  oldCount: number;
  stacks: ReportStack[];
  top: Record<ReportKeyType, ReportRow[]>;
  /** Per key type: how many groups the table leaves out, and their bytes. */
  rest: Record<ReportKeyType, [groups: number, size: number, dsize: number]>;
}

/** Everything the page shows, embedded as JSON. */
export interface ReportData {
  title: string;
  subtitle: string[];
  diff: boolean;
  frames: ReportFrame[];
  domains: ReportDomain[];
  notes: string[];
}

/** A node of the flame tree: a frame under its caller; sizes in bytes include the callees. */
export interface FlameNode {
  id: number;
  /** Index into `ReportData.frames`; -1 for the root. */
  frame: number;
  depth: number;
  size: number;
  count: number;
  oldSize: number;
  oldCount: number;
  /** Bytes of stacks that end at this node. */
  self: number;
  parent: FlameNode | null;
  children: FlameNode[];
}

/** A rectangle of the flame graph: `x` and `w` in pixels, `depth` the row (0 at the top). */
export interface FlameRect {
  node: FlameNode;
  x: number;
  w: number;
  depth: number;
  /** An ancestor of the zoomed node, drawn full width above it. */
  ancestor: boolean;
}

/**
 * Merges stacks (frames oldest first) into a tree rooted at a pseudo-node; `inverted` puts the
 * most recent frame (the allocation site) at the top instead. Children are ordered by size,
 * biggest first. `nodes[id]` is the node with that id.
 */
export function buildFlameTree(stacks: readonly ReportStack[], inverted: boolean): { root: FlameNode; nodes: FlameNode[] } {
  const nodes: FlameNode[] = [];
  const make = (frame: number, parent: FlameNode | null): FlameNode => {
    const node: FlameNode = { id: nodes.length, frame, depth: parent === null ? 0 : parent.depth + 1, size: 0, count: 0, oldSize: 0, oldCount: 0, self: 0, parent, children: [] };
    nodes.push(node);
    if (parent !== null) parent.children.push(node);
    return node;
  };
  const root = make(-1, null);
  const index = new Map<string, FlameNode>();
  for (const stack of stacks) {
    const frames = stack[0];
    const n = frames.length;
    let node = root;
    const add = (target: FlameNode): void => {
      target.size += stack[1];
      target.count += stack[2];
      target.oldSize += stack[3];
      target.oldCount += stack[4];
    };
    add(root);
    for (let i = 0; i < n; i++) {
      const frame = frames[inverted ? n - 1 - i : i]!;
      const key = `${node.id}:${frame}`;
      let next = index.get(key);
      if (next === undefined) {
        next = make(frame, node);
        index.set(key, next);
      }
      node = next;
      add(node);
    }
    node.self += stack[1];
  }
  for (const node of nodes) {
    node.children.sort((a, b) => b.size - a.size || b.oldSize - a.oldSize || a.frame - b.frame);
  }
  return { root, nodes };
}

/**
 * Lays out the tree zoomed on `focus`: its ancestors full width (flagged), `focus` full width,
 * its descendants in proportion to their size (in the old snapshot when `before`). Rectangles
 * narrower than `minWidth` pixels are left out with their subtrees. Rows are depths, the root's 0.
 */
export function layoutFlame(focus: FlameNode, width: number, minWidth: number, before: boolean): FlameRect[] {
  const rects: FlameRect[] = [];
  const ancestors: FlameNode[] = [];
  for (let a = focus.parent; a !== null; a = a.parent) ancestors.push(a);
  for (let i = ancestors.length - 1; i >= 0; i--) rects.push({ node: ancestors[i]!, x: 0, w: width, depth: ancestors[i]!.depth, ancestor: true });
  const value = (n: FlameNode): number => (before ? n.oldSize : n.size);
  if (!(value(focus) > 0) || !(width > 0)) return rects;
  const scale = width / value(focus);
  const stack: [FlameNode, number][] = [[focus, 0]];
  while (stack.length > 0) {
    const [node, x] = stack.pop()!;
    const w = value(node) * scale;
    if (w < minWidth) continue;
    rects.push({ node, x, w, depth: node.depth, ancestor: false });
    let cx = x;
    const next: [FlameNode, number][] = [];
    for (const child of node.children) {
      next.push([child, cx]);
      cx += value(child) * scale;
    }
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!);
  }
  return rects;
}

/**
 * The fill of a node in a diff: growth red, shrinkage blue, more intense the closer `delta` is to
 * `maxAbs` (square-root scale, so small changes still show); no change is light grey.
 */
export function diffColor(delta: number, maxAbs: number): string {
  const t = maxAbs > 0 ? Math.sqrt(Math.min(1, Math.abs(delta) / maxAbs)) : 0;
  const neutral = [226, 226, 226];
  const target = delta > 0 ? [228, 72, 60] : [70, 130, 200];
  const mix = (i: number): number => Math.round(neutral[i]! + (target[i]! - neutral[i]!) * t);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

/** What kind of code a filename is: `app`, `dependency` (node_modules), `node` (node: internals) or `other`. */
export function frameCategory(file: string): 'app' | 'dependency' | 'node' | 'other' {
  if (file.startsWith('node:')) return 'node';
  if (file === '' || file.startsWith('<') || file.startsWith('(')) return 'other';
  if (/[\\/]node_modules[\\/]/.test(file)) return 'dependency';
  return 'app';
}

/**
 * The fill of a frame without a diff: warm colours for the application (the hue varies with the
 * function name so neighbours differ), yellow for dependencies, blue-grey for Node's internals,
 * grey for frames without a file.
 */
export function frameColor(name: string, file: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  const v = (hash % 1000) / 1000;
  switch (frameCategory(file)) {
    case 'app': return `hsl(${Math.round(8 + v * 28)},85%,${Math.round(66 + v * 8)}%)`;
    case 'dependency': return `hsl(${Math.round(44 + v * 10)},80%,${Math.round(62 + v * 8)}%)`;
    case 'node': return `hsl(${Math.round(200 + v * 20)},30%,${Math.round(76 + v * 6)}%)`;
    default: return 'hsl(0,0%,80%)';
  }
}

/** The label of a frame in the graph: its function name, or where it is when it has none. */
export function frameLabel(frame: ReportFrame | undefined): string {
  if (frame === undefined) return 'all';
  if (frame[0] !== '') return frame[0];
  const base = frame[1].split(/[\\/]/).pop() ?? frame[1];
  return frame[2] > 0 ? `(anonymous) ${base}:${frame[2]}` : `(anonymous) ${base}`;
}

/**
 * The nodes whose function name or `file:line` contains `query` (case-insensitive), and the bytes
 * they cover (a match under a match counted once). An empty query matches nothing.
 */
export function searchFlame(nodes: readonly FlameNode[], frames: readonly ReportFrame[], query: string): { ids: Set<number>; size: number } {
  const ids = new Set<number>();
  const q = query.trim().toLowerCase();
  if (q === '') return { ids, size: 0 };
  const hit = new Map<number, boolean>();
  const frameHit = (f: number): boolean => {
    let h = hit.get(f);
    if (h === undefined) {
      const fr = frames[f];
      h = fr !== undefined && `${fr[0]} ${fr[1]}:${fr[2]}`.toLowerCase().includes(q);
      hit.set(f, h);
    }
    return h;
  };
  let size = 0;
  for (const node of nodes) {
    if (node.frame < 0 || !frameHit(node.frame)) continue;
    ids.add(node.id);
    let covered = false;
    for (let a = node.parent; a !== null && !covered; a = a.parent) covered = a.frame >= 0 && frameHit(a.frame);
    if (!covered) size += node.size;
  }
  return { ids, size };
}

/** `text` cut to fit `width` pixels at `charWidth` pixels a character, with an ellipsis; '' when too narrow. */
export function fitLabel(text: string, width: number, charWidth: number): string {
  const max = Math.floor((width - 6) / charWidth);
  if (max < 3) return '';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Python's `tracemalloc._format_size` (as `formatSize`): `10.0 KiB`, `100 MiB`; `sign` adds `+`. */
export function formatBytes(size: number, sign: boolean): string {
  const fixed = (value: number, digits: number): string => {
    const abs = Math.abs(value);
    const scale = 10 ** digits;
    const twice = abs * 2 ** (digits + 1);
    let text = abs.toFixed(digits);
    if (Number.isInteger(twice) && twice % 2 === 1 && abs < 2 ** 50) {
      const lower = Math.floor(abs * scale);
      text = ((lower % 2 === 0 ? lower : lower + 1) / scale).toFixed(digits);
    }
    return value < 0 ? `-${text}` : text;
  };
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Object.is(size, -0) ? 0 : size;
  for (const unit of units) {
    let text: string | null = null;
    if (Math.abs(value) < 100 && unit !== 'B') text = fixed(value, 1);
    else if (Math.abs(value) < 10 * 1024 || unit === 'TiB') text = fixed(value, 0);
    if (text !== null) return `${sign && !text.startsWith('-') ? '+' : ''}${text} ${unit}`;
    value /= 1024;
  }
  return String(size);
}

/** An estimated object count as the page shows it: an integer with thousands separators, `+` with `sign`. */
export function formatCount(count: number, sign: boolean): string {
  const n = Math.round(count);
  const text = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${n < 0 ? '-' : sign ? '+' : ''}${text}`;
}

// The few DOM shapes reportMain uses (the build has no DOM library; this keeps the glue typed).
interface DomStyle { [property: string]: string }
interface DomClassList { toggle(name: string, on?: boolean): boolean; add(name: string): void }
export interface DomElement {
  readonly id: string;
  textContent: string | null;
  className: string;
  value: string;
  checked: boolean;
  disabled: boolean;
  title: string;
  readonly style: DomStyle;
  readonly classList: DomClassList;
  readonly clientWidth: number;
  readonly parentElement: DomElement | null;
  appendChild(child: DomElement): DomElement;
  replaceChildren(...children: DomElement[]): void;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  closest(selector: string): DomElement | null;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
  focus(): void;
  scrollIntoView(options?: Record<string, string>): void;
}
export interface DomEvent {
  readonly target: DomElement | null;
  readonly clientX: number;
  readonly clientY: number;
  readonly key: string;
  preventDefault(): void;
}
export interface DomDocument {
  getElementById(id: string): DomElement | null;
  createElement(tag: string): DomElement;
  createElementNS(namespace: string, tag: string): DomElement;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
  readonly activeElement: DomElement | null;
}
export interface DomWindow {
  readonly innerWidth: number;
  addEventListener(type: string, listener: () => void): void;
  requestAnimationFrame(callback: () => void): number;
}

/** Builds the page's interactive parts from `data` into the static skeleton html.ts writes. */
export function reportMain(doc: DomDocument, win: DomWindow, data: ReportData): void {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const ROW = 18;
  const CHAR = 6.4;
  const MIN_WIDTH = 0.4;
  const SHORT_TABLE = 15;
  const byId = (id: string): DomElement => {
    const found = doc.getElementById(id);
    if (found === null) throw new Error(`the report page has no #${id}`);
    return found;
  };
  const make = (tag: string, className?: string, text?: string): DomElement => {
    const e = doc.createElement(tag);
    if (className !== undefined) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svgEl = (tag: string, attrs: Record<string, string | number>): DomElement => {
    const e = doc.createElementNS(SVG_NS, tag);
    for (const name of Object.keys(attrs)) e.setAttribute(name, String(attrs[name]));
    return e;
  };
  const frames = data.frames;
  const location = (f: number): string => {
    const fr = frames[f];
    if (fr === undefined) return '';
    return fr[2] > 0 ? `${fr[1]}:${fr[2]}` : fr[1];
  };
  const pct = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '');

  const state = {
    domain: 0,
    inverted: false,
    before: false,
    keyType: 'lineno' as ReportKeyType,
    query: '',
    focus: null as FlameNode | null,
    selected: null as FlameNode | null,
    expanded: false,
    matches: { ids: new Set<number>(), size: 0 },
  };
  const trees = new Map<string, { root: FlameNode; nodes: FlameNode[]; maxAbs: number }>();
  const tree = (): { root: FlameNode; nodes: FlameNode[]; maxAbs: number } => {
    const key = `${state.domain}:${state.inverted}`;
    let t = trees.get(key);
    if (t === undefined) {
      const built = buildFlameTree(data.domains[state.domain]!.stacks, state.inverted);
      let maxAbs = 0;
      for (const n of built.nodes) if (n.frame >= 0) maxAbs = Math.max(maxAbs, Math.abs(n.size - n.oldSize));
      t = { ...built, maxAbs };
      trees.set(key, t);
    }
    return t;
  };

  // Header.
  byId('title').textContent = data.title;
  const sub = byId('subtitle');
  for (const part of data.subtitle) sub.appendChild(make('span', undefined, part));

  // Domain tabs.
  const tabs = byId('domains');
  const tabButtons: DomElement[] = [];
  data.domains.forEach((d, i) => {
    const b = make('button', 'tab');
    b.setAttribute('type', 'button');
    b.setAttribute('data-domain', String(d.domain));
    b.appendChild(make('span', 'tab-label', d.label));
    const value = data.diff ? `${formatBytes(d.size, false)} (${formatBytes(d.size - d.oldSize, true)})` : formatBytes(d.size, false);
    b.appendChild(make('span', 'tab-value', value));
    b.addEventListener('click', () => {
      state.domain = i;
      state.focus = null;
      state.selected = null;
      state.expanded = false;
      renderAll();
    });
    tabs.appendChild(b);
    tabButtons.push(b);
  });

  // Flame graph.
  const svg = byId('flame');
  const tip = byId('tip');
  const crumbs = byId('crumbs');
  const search = byId('search');
  const matched = byId('matched');
  const details = byId('details');
  const domainNote = byId('domain-note');
  let rectNodes: FlameNode[] = [];

  const nodeTitle = (node: FlameNode): string => (node.frame < 0 ? `all: ${data.domains[state.domain]!.label}` : frameLabel(frames[node.frame]));

  const renderGraph = (): void => {
    const t = tree();
    const focus = state.focus ?? t.root;
    const width = Math.max(320, svg.parentElement?.clientWidth ?? win.innerWidth - 40);
    const rects = layoutFlame(focus, width, MIN_WIDTH, state.before);
    let maxDepth = 0;
    const children: DomElement[] = [];
    rectNodes = [];
    for (const r of rects) {
      maxDepth = Math.max(maxDepth, r.depth);
      const node = r.node;
      const fr = frames[node.frame];
      const name = nodeTitle(node);
      const fill = state.matches.ids.has(node.id) ? 'rgb(214,90,230)'
        : data.diff ? diffColor(node.size - node.oldSize, t.maxAbs)
          : node.frame < 0 ? 'hsl(0,0%,84%)' : frameColor(fr![0], fr![1]);
      const cls = `frame${r.ancestor ? ' ancestor' : ''}${state.selected === node ? ' selected' : ''}${state.matches.ids.has(node.id) ? ' match' : ''}`;
      const g = svgEl('g', { class: cls, 'data-id': node.id, transform: `translate(${r.x.toFixed(2)},${r.depth * ROW})` });
      g.appendChild(svgEl('rect', { width: Math.max(r.w - 1, 0.5).toFixed(2), height: ROW - 1, rx: 2, fill }));
      const label = fitLabel(name, r.w, CHAR);
      if (label !== '') {
        const text = svgEl('text', { x: 4, y: ROW - 5 });
        text.textContent = label;
        g.appendChild(text);
      }
      children.push(g);
      rectNodes[node.id] = node;
    }
    svg.replaceChildren(...children);
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String((maxDepth + 1) * ROW));
    svg.setAttribute('viewBox', `0 0 ${width} ${(maxDepth + 1) * ROW}`);

    const path: FlameNode[] = [];
    for (let n: FlameNode | null = focus; n !== null; n = n.parent) path.unshift(n);
    crumbs.replaceChildren();
    path.forEach((n, i) => {
      if (i > 0) crumbs.appendChild(make('span', 'sep', '›'));
      const c = make('button', i === path.length - 1 ? 'crumb current' : 'crumb', nodeTitle(n));
      c.setAttribute('type', 'button');
      c.addEventListener('click', () => zoom(n));
      crumbs.appendChild(c);
    });
    byId('reset').disabled = state.focus === null || state.focus === t.root;
    matched.textContent = state.query.trim() === '' ? ''
      : state.matches.ids.size === 0 ? 'no match'
        : `matched ${formatBytes(state.matches.size, false)} (${pct(state.matches.size, t.root.size)} of the domain)`;
  };

  const zoom = (node: FlameNode | null): void => {
    state.focus = node;
    if (node !== null) state.selected = node;
    renderGraph();
    renderDetails();
  };

  const renderDetails = (): void => {
    const t = tree();
    const node = state.selected ?? state.focus ?? t.root;
    details.replaceChildren();
    details.appendChild(make('div', 'details-name', nodeTitle(node)));
    if (node.frame >= 0) {
      const fr = frames[node.frame]!;
      const where = fr[2] > 0 ? `${fr[1]}:${fr[2]}${fr[3] > 0 ? `:${fr[3]}` : ''}` : fr[1];
      details.appendChild(make('div', 'details-where', where));
      if (fr[4] !== '') {
        const code = make('pre', 'source');
        code.appendChild(make('span', 'lineno', `${fr[2]} `));
        code.appendChild(make('code', undefined, fr[4]));
        details.appendChild(code);
      }
    }
    const dl = make('dl');
    const item = (k: string, v: string): void => {
      dl.appendChild(make('dt', undefined, k));
      dl.appendChild(make('dd', undefined, v));
    };
    item('size', `${formatBytes(node.size, false)} (${pct(node.size, t.root.size)})`);
    item('objects', formatCount(node.count, false));
    item('self', formatBytes(node.self, false));
    if (data.diff) {
      item('before', formatBytes(node.oldSize, false));
      item('change', `${formatBytes(node.size - node.oldSize, true)}, ${formatCount(node.count - node.oldCount, true)} objects`);
    }
    details.appendChild(dl);
  };

  const showTip = (node: FlameNode, x: number, y: number): void => {
    const t = tree();
    tip.replaceChildren();
    tip.appendChild(make('div', 'tip-name', nodeTitle(node)));
    if (node.frame >= 0) tip.appendChild(make('div', 'tip-where', location(node.frame)));
    let line = `${formatBytes(node.size, false)} · ${pct(node.size, t.root.size)} · ${formatCount(node.count, false)} objects`;
    if (data.diff) line += ` · ${formatBytes(node.size - node.oldSize, true)}`;
    tip.appendChild(make('div', 'tip-value', line));
    tip.style.display = 'block';
    const left = Math.min(x + 14, win.innerWidth - 380);
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = `${y + 16}px`;
  };

  const nodeOf = (event: DomEvent): FlameNode | null => {
    const g = event.target?.closest('g.frame') ?? null;
    if (g === null) return null;
    return rectNodes[Number(g.getAttribute('data-id'))] ?? null;
  };
  svg.addEventListener('mousemove', (event) => {
    const node = nodeOf(event);
    if (node === null) tip.style.display = 'none';
    else showTip(node, event.clientX, event.clientY);
  });
  svg.addEventListener('mouseleave', () => {
    tip.style.display = 'none';
  });
  svg.addEventListener('click', (event) => {
    const node = nodeOf(event);
    if (node === null) return;
    const t = tree();
    const focus = state.focus ?? t.root;
    // A click on the zoomed frame zooms out one level; on any other frame zooms to it.
    zoom(node === focus ? node.parent : node);
  });
  byId('reset').addEventListener('click', () => {
    state.selected = null;
    zoom(null);
  });
  const inverted = byId('inverted');
  inverted.addEventListener('change', () => {
    state.inverted = inverted.checked;
    state.focus = null;
    state.selected = null;
    runSearch();
    renderGraph();
    renderDetails();
  });
  const before = byId('before');
  if (!data.diff) byId('before-label').style.display = 'none';
  before.addEventListener('change', () => {
    state.before = before.checked;
    renderGraph();
    renderLegend();
  });
  const runSearch = (): void => {
    state.query = search.value;
    const t = tree();
    state.matches = searchFlame(t.nodes, frames, state.query);
  };
  search.addEventListener('input', () => {
    runSearch();
    renderGraph();
  });
  doc.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      if (doc.activeElement === search && search.value !== '') {
        search.value = '';
        runSearch();
        renderGraph();
      } else {
        state.selected = null;
        zoom(null);
      }
    } else if (event.key === '/' && doc.activeElement !== search) {
      event.preventDefault();
      search.focus();
    }
  });

  // Legend.
  const legend = byId('legend');
  const swatch = (color: string, text: string): void => {
    const item = make('span', 'legend-item');
    const box = make('span', 'swatch');
    box.style.background = color;
    item.appendChild(box);
    item.appendChild(make('span', undefined, text));
    legend.appendChild(item);
  };
  const renderLegend = (): void => {
    legend.replaceChildren();
    if (data.diff) {
      const t = tree();
      legend.appendChild(make('span', 'legend-title', 'Change since the old snapshot:'));
      swatch(diffColor(1, 1), `grew (up to ${formatBytes(t.maxAbs, true)})`);
      swatch(diffColor(1, 4), 'grew a little');
      swatch(diffColor(0, 1), 'unchanged');
      swatch(diffColor(-1, 4), 'shrank a little');
      swatch(diffColor(-1, 1), 'shrank');
      legend.appendChild(make('span', 'legend-note', state.before
        ? 'Width: size in the old snapshot (what was freed shows here).'
        : 'Width: size now (sites freed since have no width: tick "width: before" or see the table).'));
    } else {
      swatch(frameColor('a', '/app.js'), 'your code');
      swatch(frameColor('a', '/node_modules/x.js'), 'node_modules');
      swatch(frameColor('a', 'node:internal'), 'Node internals');
      swatch(frameColor('a', '<unknown>'), 'no file');
    }
    swatch('rgb(214,90,230)', 'search match');
  };

  // Top table.
  const table = byId('top-body');
  const tableHead = byId('top-head');
  const keyButtons: DomElement[] = [];
  (['lineno', 'filename', 'traceback'] as ReportKeyType[]).forEach((k) => {
    const b = byId(`key-${k}`);
    keyButtons.push(b);
    b.addEventListener('click', () => {
      state.keyType = k;
      state.expanded = false;
      renderTable();
    });
  });
  const renderTable = (): void => {
    const d = data.domains[state.domain]!;
    for (const b of keyButtons) b.classList.toggle('active', b.id === `key-${state.keyType}`);
    const heads = data.diff ? ['#', 'where', 'size', 'change', 'objects', 'change'] : ['#', 'where', 'size', '%', 'objects', 'average'];
    tableHead.replaceChildren(...heads.map((h, i) => make('th', i >= 2 ? 'num' : undefined, h)));
    const all = d.top[state.keyType];
    const rows = state.expanded ? all : all.slice(0, SHORT_TABLE);
    const body: DomElement[] = [];
    rows.forEach((row, i) => {
      const tr = make('tr', 'row');
      tr.appendChild(make('td', 'num rank', String(i + 1)));
      const where = make('td', 'where');
      if (state.keyType === 'filename') {
        where.appendChild(make('div', 'site', row.file));
      } else {
        // Tracebacks are shown most recent first, as the allocation site matters most.
        const list = state.keyType === 'traceback' ? row.f.slice().reverse() : row.f;
        list.forEach((f, j) => {
          const fr = frames[f]!;
          const site = make('div', j === 0 ? 'site' : 'site caller');
          site.appendChild(make('span', 'fn', fr[0] === '' ? '(anonymous)' : fr[0]));
          site.appendChild(make('span', 'loc', ` ${location(f)}`));
          where.appendChild(site);
          if (fr[4] !== '' && (j === 0 || state.keyType === 'traceback')) where.appendChild(make('code', 'src', fr[4].trim()));
        });
        if (list.length === 0) where.appendChild(make('div', 'site', '<no frames>'));
      }
      tr.appendChild(where);
      tr.appendChild(make('td', 'num', formatBytes(row.size, false)));
      if (data.diff) {
        tr.appendChild(make('td', `num ${row.dsize > 0 ? 'grow' : row.dsize < 0 ? 'shrink' : ''}`, formatBytes(row.dsize, true)));
        tr.appendChild(make('td', 'num', formatCount(row.count, false)));
        tr.appendChild(make('td', 'num', formatCount(row.dcount, true)));
      } else {
        tr.appendChild(make('td', 'num', pct(row.size, d.size)));
        tr.appendChild(make('td', 'num', formatCount(row.count, false)));
        tr.appendChild(make('td', 'num', row.count > 0 ? formatBytes(row.size / row.count, false) : ''));
      }
      tr.addEventListener('click', () => {
        // Highlight the row's site in the graph.
        const f = row.f.length > 0 ? row.f[row.f.length - 1]! : -1;
        search.value = f >= 0 ? `${frames[f]![1]}:${frames[f]![2]}` : row.file;
        runSearch();
        renderGraph();
        svg.scrollIntoView({ block: 'nearest' });
      });
      body.push(tr);
    });
    if (rows.length < all.length) {
      const tr = make('tr', 'more');
      const td = make('td', 'where');
      td.setAttribute('colspan', '6');
      const more = make('button', 'more-button', `Show all ${all.length} rows`);
      more.setAttribute('type', 'button');
      more.addEventListener('click', () => {
        state.expanded = true;
        renderTable();
      });
      td.appendChild(more);
      tr.appendChild(td);
      body.push(tr);
    }
    const rest = d.rest[state.keyType];
    if (rest[0] > 0 && rows.length === all.length) {
      const tr = make('tr', 'rest');
      tr.appendChild(make('td'));
      tr.appendChild(make('td', 'where', `${rest[0]} other`));
      tr.appendChild(make('td', 'num', formatBytes(rest[1], false)));
      tr.appendChild(make('td', 'num', data.diff ? formatBytes(rest[2], true) : pct(rest[1], d.size)));
      tr.appendChild(make('td'));
      tr.appendChild(make('td'));
      body.push(tr);
    }
    if (body.length === 0) {
      const tr = make('tr', 'rest');
      const td = make('td', 'where', 'No traces in this domain.');
      td.setAttribute('colspan', '6');
      tr.appendChild(td);
      body.push(tr);
    }
    table.replaceChildren(...body);
  };

  const renderAll = (): void => {
    tabButtons.forEach((b, i) => {
      b.classList.toggle('active', i === state.domain);
    });
    domainNote.textContent = data.domains[state.domain]?.note ?? '';
    runSearch();
    renderGraph();
    renderDetails();
    renderLegend();
    renderTable();
  };

  const notes = byId('notes');
  for (const n of data.notes) notes.appendChild(make('li', undefined, n));

  if (data.domains.length === 0) {
    byId('empty').style.display = 'block';
    byId('main').style.display = 'none';
    return;
  }
  let pending = false;
  win.addEventListener('resize', () => {
    if (pending) return;
    pending = true;
    win.requestAnimationFrame(() => {
      pending = false;
      renderGraph();
    });
  });
  renderAll();
}

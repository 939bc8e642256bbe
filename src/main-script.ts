/**
 * The main CommonJS script, named even after V8 collected it (issue 19, Node 20).
 *
 * V8's sampling profile names a frame's script (url, line) only while the script is alive: it
 * looks each node's scriptId up among the scripts still on the heap. On Node 20 a CommonJS main
 * script whose functions are all garbage by the exit snapshot is collected (Node 22+ keep it), and
 * reading the profile forces a GC, so no read after its top-level code returned can see it: the
 * exit report named it `<anonymous>:0`. Debugger.scriptParsed would record every script's url from
 * the moment it is compiled, but an enabled Debugger domain makes promises ~20x slower on Node 20.
 *
 * What stays: the frame's scriptId, its function name, and the profile's tree. The main module
 * is the first script frame that Node's entry point (`executeUserEntryPoint`, in
 * node:internal/modules/run_main) reaches through Node's own loader frames, and it is the
 * module's top-level wrapper (no function name). Its file is `process.mainModule.filename`. A
 * function's line, which V8 also forgets with the script, is found by its name in that file:
 * the one declaration `function name(`, `name = function`, `name = (...) =>`, `name(...) {` of
 * that name (a name declared twice, or not found, keeps line 0). The wrapper's line is 1.
 * Costs one walk of the tree's first levels per read; nothing is hooked, nothing is enabled.
 */
import type { ProfileNode } from './inspector.js';
import { readRegularFile } from './source.js';

/** Entry-point frames searched this deep from the root, and loader frames this deep below them. */
const ENTRY_DEPTH = 4;
const LOADER_DEPTH = 16;
/** Larger main files are not searched for function lines. */
const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

function isEntryPoint(n: ProfileNode): boolean {
  const cf = n.callFrame;
  // Node 20 may have collected run_main too (url ''), but its function name stays.
  return cf.functionName === 'executeUserEntryPoint' && (cf.url === '' || cf.url === 'node:internal/modules/run_main');
}

function isNodeFrame(n: ProfileNode): boolean {
  return n.callFrame.url.startsWith('node:');
}

/**
 * The scriptId of the main CommonJS module's wrapper in `head`'s tree when V8 no longer names its
 * script (url ''), else `null` (alive, not CommonJS, or not found).
 */
export function collectedMainScriptId(head: ProfileNode): string | null {
  const entries: ProfileNode[] = [];
  const findEntries = (n: ProfileNode, depth: number): void => {
    if (isEntryPoint(n)) {
      entries.push(n);
      return;
    }
    if (depth < ENTRY_DEPTH) for (const c of n.children) findEntries(c, depth + 1);
  };
  findEntries(head, 0);
  let found: string | null = null;
  const descend = (n: ProfileNode, depth: number): void => {
    for (const c of n.children) {
      const cf = c.callFrame;
      if (isNodeFrame(c)) {
        if (depth < LOADER_DEPTH) descend(c, depth + 1);
      } else if (cf.scriptId !== '0' && cf.scriptId !== '' && cf.url === '' && cf.functionName === '') {
        found ??= cf.scriptId;
      }
    }
  };
  for (const e of entries) descend(e, 0);
  return found;
}

/** The main module's file, or null (an ES module, a REPL, -e). */
export function mainModuleFile(): string | null {
  const main = (process as { mainModule?: { filename?: unknown } }).mainModule;
  return typeof main?.filename === 'string' ? main.filename : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * 1-based line of the one declaration of function `name` in `source` (see the file comment), 0 when
 * there is none or more than one. `name` may be V8's `Class.method` or `obj.prop` form.
 */
export function declarationLine(source: string, name: string): number {
  const base = name.slice(name.lastIndexOf('.') + 1).replace(/^(get|set) /, '');
  if (!/^[A-Za-z_$][\w$]*$/.test(base)) return 0;
  const n = escapeRegExp(base);
  const forms = new RegExp(
    `(?:\\bfunction\\s*\\*?\\s*${n}\\s*\\(|(?<![\\w$])${n}\\s*[:=]\\s*(?:async\\s+)?(?:function\\b|\\([^()]*\\)\\s*=>|[A-Za-z_$][\\w$]*\\s*=>)|^[ \\t]*(?:static\\s+)?(?:async\\s+)?\\*?${n}\\s*\\([^()]*\\)\\s*\\{)`,
    'gm',
  );
  let line = 0;
  for (const m of source.matchAll(forms)) {
    if (line !== 0) return 0;
    line = 1;
    for (let i = 0; i < m.index; i++) if (source.charCodeAt(i) === 10) line++;
  }
  return line;
}

/** Finds lines of the main file's functions (its source read once, on the first question). */
export class MainScript {
  readonly file: string;
  #source: string | null | undefined;
  readonly #lines = new Map<string, number>();

  constructor(file: string) {
    this.file = file;
  }

  /** 1-based line of function `name` (the wrapper, `''`: 1), 0 when not found. */
  line(name: string): number {
    if (name === '') return 1;
    let line = this.#lines.get(name);
    if (line === undefined) {
      if (this.#source === undefined) this.#source = readRegularFile(this.file, MAX_SOURCE_BYTES);
      line = this.#source === null ? 0 : declarationLine(this.#source, name);
      this.#lines.set(name, line);
    }
    return line;
  }
}

/** Tells `resolver` which scriptId of `head`'s tree is the collected main script, if one is. */
export function noteCollectedMain(head: ProfileNode, resolver: { nameCollectedMain(scriptId: string, file: string): void }): void {
  const id = collectedMainScriptId(head);
  if (id === null) return;
  const file = mainModuleFile();
  if (file !== null) resolver.nameCollectedMain(id, file);
}

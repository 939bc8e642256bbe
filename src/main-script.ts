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
 * that name (a name declared twice, or not found, keeps line 0). The wrapper, like any function
 * without a name, is line 0: once the script is collected the two cannot be told apart.
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

/** One declaration form a line can start a function with; group 1 is its name. */
const DECLARATIONS = new RegExp(
  [
    // function name(, function* name(
    String.raw`\bfunction\s*(?:\*\s*)?([A-Za-z_$][\w$]*)\s*\(`,
    // name = function, name: async (a) =>, name = x =>
    String.raw`(?<![\w$])([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)`,
    // a method at the start of a line: static async *name(args) {
    String.raw`^[ \t]*(?:static\s+)?(?:async\s+)?\*?([A-Za-z_$][\w$]*)\s*\([^()]*\)\s*\{`,
  ].join('|'),
  'gm',
);

/**
 * The 1-based line of each function name declared once in `source` (0 for a name declared more
 * than once), in one pass over the text: every form of DECLARATIONS, in linear time.
 */
export function declarationLines(source: string): Map<string, number> {
  const lines = new Map<string, number>();
  let line = 1;
  let at = 0;
  for (const m of source.matchAll(DECLARATIONS)) {
    for (; at < m.index; at++) if (source.charCodeAt(at) === 10) line++;
    const name = m[1] ?? m[2] ?? m[3]!;
    lines.set(name, lines.has(name) ? 0 : line);
  }
  return lines;
}

/** The name a declaration has for V8's `name`, which may be `Class.method`, `obj.prop` or `get x`. */
function baseName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1).replace(/^(get|set) /, '');
}

/**
 * 1-based line of the one declaration of function `name` in `source` (see the file comment), 0 when
 * there is none or more than one. `name` may be V8's `Class.method` or `obj.prop` form.
 */
export function declarationLine(source: string, name: string): number {
  return declarationLines(source).get(baseName(name)) ?? 0;
}

/** Finds lines of the main file's functions (its source read and scanned once, on the first question). */
export class MainScript {
  readonly file: string;
  #lines: Map<string, number> | null | undefined;

  constructor(file: string) {
    this.file = file;
  }

  /**
   * 1-based line of function `name`, 0 when not found. An anonymous function (`''`) is 0 too: the
   * module's wrapper (its top-level code) and an anonymous callback look the same once collected.
   */
  line(name: string): number {
    if (name === '') return 0;
    if (this.#lines === undefined) {
      const source = readRegularFile(this.file, MAX_SOURCE_BYTES);
      this.#lines = source === null ? null : declarationLines(source);
    }
    return this.#lines?.get(baseName(name)) ?? 0;
  }
}

/** Tells `resolver` which scriptId of `head`'s tree is the collected main script, if one is. */
export function noteCollectedMain(head: ProfileNode, resolver: { nameCollectedMain(scriptId: string, file: string): void }): void {
  const id = collectedMainScriptId(head);
  if (id === null) return;
  const file = mainModuleFile();
  if (file !== null) resolver.nameCollectedMain(id, file);
}

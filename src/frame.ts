/**
 * `Frame` and `Traceback`, as in Python's tracemalloc. A raw traceback lists frames most recent
 * first; a `Traceback` stores and iterates them oldest first (`tb[0]` is the oldest).
 */
import { inspect } from 'node:util';
import { describeType, describeValue, pyRepr } from './format.js';
import { cutMiddle, displayLine, getSourceLine, isLongLine } from './source.js';

/** Display-only details of a frame; they take no part in equality or order. */
export interface FrameExtra {
  /** 1-based column of the call or of the function's start, when known. */
  column?: number | null;
  /** The function's name as V8 or the stack reports it, when known. */
  functionName?: string | null;
}

/** A raw frame: `[filename, lineno]`. */
export type RawFrame = readonly [filename: string, lineno: number];

/** One frame of a traceback: a file and a 1-based line (0 when unknown). */
export class Frame {
  readonly filename: string;
  readonly lineno: number;
  /** 1-based column, or `null` when unknown. Not part of equality. */
  readonly column: number | null;
  /** The function's name, or `null` when unknown. Not part of equality. */
  readonly functionName: string | null;

  constructor(filename: string, lineno: number, extra?: FrameExtra) {
    if (typeof filename !== 'string') {
      throw new TypeError(`filename must be a string, not ${describeType(filename)}`);
    }
    // Lines are 32-bit in snapshots and their files.
    if (typeof lineno !== 'number' || !Number.isInteger(lineno) || lineno < 0 || lineno > 0x7fffffff) {
      throw new TypeError(`lineno must be an integer in [0; 2147483647], not ${describeValue(lineno)}`);
    }
    if (extra != null && typeof extra !== 'object') throw new TypeError(`extra must be an object { column?, functionName? }, not ${describeType(extra)}`);
    const column = extra?.column ?? null;
    if (column !== null && (typeof column !== 'number' || !Number.isInteger(column) || column < 0 || column > 0x7fffffff)) {
      throw new TypeError(`extra.column must be an integer in [0; 2147483647] or null, not ${describeValue(column)}`);
    }
    const functionName = extra?.functionName ?? null;
    if (functionName !== null && typeof functionName !== 'string') {
      throw new TypeError(`extra.functionName must be a string or null, not ${describeType(functionName)}`);
    }
    this.filename = filename;
    this.lineno = lineno;
    this.column = column;
    this.functionName = functionName;
  }

  /** Python's `==`: same filename and line. */
  equals(other: unknown): boolean {
    return other instanceof Frame && other.filename === this.filename && other.lineno === this.lineno;
  }

  /** Python's order: by filename (code point order), then line. Returns -1, 0 or 1. */
  compare(other: Frame): number {
    if (!(other instanceof Frame)) throw new TypeError(`other must be a Frame, not ${describeType(other)}`);
    return compareFrames(this.filename, this.lineno, other.filename, other.lineno);
  }

  toString(): string {
    return `${this.filename}:${this.lineno}`;
  }

  [inspect.custom](): string {
    return `<Frame filename=${pyRepr(this.filename)} lineno=${this.lineno}>`;
  }
}

/** Compares strings by Unicode code point, as Python does (JS `<` compares UTF-16 units). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // A surrogate stands for a code point above U+FFFF: compare whole code points there.
      if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) {
        return a.codePointAt(i)! < b.codePointAt(i)! ? -1 : 1;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export function compareFrames(fa: string, la: number, fb: string, lb: number): number {
  const c = compareStrings(fa, fb);
  if (c !== 0) return c;
  return la < lb ? -1 : la > lb ? 1 : 0;
}

/** Looks up a frame's source line captured in a snapshot, before the live reader is asked. */
export type LineLookup = (filename: string, lineno: number) => string | undefined;

function toFrame(value: unknown, index: number): Frame {
  if (value instanceof Frame) return value;
  if (Array.isArray(value) && value.length >= 2) return new Frame(value[0], value[1]);
  throw new TypeError(`frame ${index} must be a Frame or a [filename, lineno] pair, not ${describeType(value)}`);
}

/**
 * A sequence of frames, oldest first. Built from a raw traceback (most recent first), with the
 * depth the tracer captured (`totalNframe`, `null` when unknown). `tb[0]`, `tb.at(-1)`, `length`
 * and iteration work as on an array.
 */
export class Traceback implements Iterable<Frame> {
  readonly [index: number]: Frame;
  readonly length: number;
  /** How many frames the stack had when captured, before truncation to the limit; or `null`. */
  readonly totalNframe: number | null;
  /** @internal */
  _lines: LineLookup | null = null;

  constructor(frames: Iterable<Frame | RawFrame>, totalNframe?: number | null) {
    if (frames == null || typeof (frames as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`frames must be an iterable of frames, not ${describeType(frames)}`);
    }
    if (totalNframe != null && (!Number.isInteger(totalNframe) || totalNframe < 0)) {
      throw new TypeError(`totalNframe must be an integer >= 0 or null, not ${describeValue(totalNframe)}`);
    }
    const raw = Array.from(frames as Iterable<unknown>, toFrame);
    const n = raw.length;
    const self = this as unknown as Record<number, Frame>;
    for (let i = 0; i < n; i++) self[i] = raw[n - 1 - i]!;
    this.length = n;
    this.totalNframe = totalNframe ?? null;
  }

  /** The frame at `index` (oldest first; negative counts from the most recent), or `undefined`. */
  at(index: number): Frame | undefined {
    const i = Math.trunc(index);
    return this[i < 0 ? this.length + i : i];
  }

  *[Symbol.iterator](): IterableIterator<Frame> {
    for (let i = 0; i < this.length; i++) yield this[i]!;
  }

  /** The frames from `start` to `end` (oldest first), as `Array.prototype.slice` takes them. */
  slice(start?: number, end?: number): Frame[] {
    return Array.from(this).slice(start, end);
  }

  /** Python's `==`: the same frames (filename and line), in the same order. */
  equals(other: unknown): boolean {
    if (!(other instanceof Traceback) || other.length !== this.length) return false;
    for (let i = 0; i < this.length; i++) if (!this[i]!.equals(other[i])) return false;
    return true;
  }

  /** Python's order: frames compared oldest first; a proper prefix is smaller. -1, 0 or 1. */
  compare(other: Traceback): number {
    if (!(other instanceof Traceback)) throw new TypeError(`other must be a Traceback, not ${describeType(other)}`);
    const n = Math.min(this.length, other.length);
    for (let i = 0; i < n; i++) {
      const c = this[i]!.compare(other[i]!);
      if (c !== 0) return c;
    }
    return this.length < other.length ? -1 : this.length > other.length ? 1 : 0;
  }

  /** Python's `str()`: the oldest frame. */
  toString(): string {
    return this.length > 0 ? String(this[0]) : '';
  }

  /**
   * Python's `Traceback.format()`: two lines a frame, `  File "f", line N` and the source line
   * (when known). A source line longer than 160 characters (minified code) is cut around the
   * frame's column, and the first line then also names the column and the function. `limit > 0` keeps the `limit` most recent frames, `limit <= 0` drops that many
   * of them; `mostRecentFirst` reverses the order.
   */
  format(limit?: number | null, mostRecentFirst = false): string[] {
    if (limit != null && (typeof limit !== 'number' || !Number.isInteger(limit))) {
      throw new TypeError(`limit must be an integer or null, not ${describeValue(limit)}`);
    }
    if (typeof mostRecentFirst !== 'boolean') throw new TypeError(`mostRecentFirst must be a boolean, not ${describeType(mostRecentFirst)}`);
    let frames = Array.from(this);
    if (limit != null) frames = limit > 0 ? frames.slice(-limit) : frames.slice(0, limit === 0 ? 0 : limit);
    if (mostRecentFirst) frames.reverse();
    const lines: string[] = [];
    for (const frame of frames) {
      const text = sourceLine(this._lines, frame.filename, frame.lineno);
      // On a long line (minified code) the column and function say which code it is, and the
      // line is cut around the column.
      const where = isLongLine(text)
        ? `${frame.column !== null && frame.column > 0 ? `, column ${frame.column}` : ''}${frame.functionName ? `, in ${cutMiddle(frame.functionName, 60)}` : ''}`
        : '';
      lines.push(`  File "${cutMiddle(frame.filename)}", line ${frame.lineno}${where}`);
      const line = displayLine(text, frame.column);
      if (line !== '') lines.push(`    ${line}`);
    }
    return lines;
  }

  [inspect.custom](): string {
    const frames = Array.from(this, (f) => f[inspect.custom]());
    const inner = frames.length === 1 ? `${frames[0]},` : frames.join(', ');
    const total = this.totalNframe === null ? '' : ` total_nframe=${this.totalNframe}`;
    return `<Traceback (${inner})${total}>`;
  }
}

/** A frame's source line: the snapshot's captured copy first, then the live reader. */
export function sourceLine(lines: LineLookup | null, filename: string, lineno: number): string {
  return lines?.(filename, lineno) ?? getSourceLine(filename, lineno);
}

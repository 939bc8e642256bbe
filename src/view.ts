/**
 * What `top` and `diff` print: Python's text (`display_top`, `str(StatisticDiff)`) with optional
 * colour, and the stable JSON shapes of `--json` (documented in docs/cli.md). Also the loader
 * that shows progress on a terminal while a big snapshot file loads.
 */
import * as fs from 'node:fs';
import { Filter } from './filter.js';
import { formatSize, pyFixed } from './format.js';
import { sourceLine, type Frame, type Traceback } from './frame.js';
import { Snapshot, type KeyType } from './snapshot.js';
import type { Statistic, StatisticDiff } from './statistic.js';
import { formatTop } from './top.js';
import type { FilterSpec } from './cli/args.js';
import type { CommandIO } from './cli/command.js';

/** ANSI styles, or identity functions when colour is off. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
}

const ansi = (open: number, close: number) => (text: string): string => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string): string => text;
export const PLAIN: Style = { bold: plain, dim: plain, red: plain, green: plain };
const COLOR: Style = { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39) };

/**
 * Whether to colour a stream, by the conventions: `FORCE_COLOR` set to anything but `0` or `false`
 * colours even a pipe, and `FORCE_COLOR=0` never (Node.js's own order: it wins over the rest);
 * `NO_COLOR` set to a non-empty value (no-color.org) and `TERM=dumb` turn colour off; else a
 * terminal is coloured and anything else is not.
 */
export function colorEnabled(isTTY: boolean, env: Record<string, string | undefined> = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if ((env.NO_COLOR ?? '') !== '') return false;
  if (env.TERM === 'dumb') return false;
  return isTTY;
}

/** The style of a stream: `COLOR` when `colorEnabled`, else `PLAIN`. */
export function styleFor(isTTY: boolean, env: Record<string, string | undefined> = process.env): Style {
  return colorEnabled(isTTY, env) ? COLOR : PLAIN;
}

/** The style of what a command prints on stdout. */
export function stdoutStyle(io: CommandIO): Style {
  return styleFor(io.stdoutTTY ?? io.isTTY, io.env ?? {});
}

/** Files at least this big (16 MiB, about a second to load) show a progress line while they load, on a terminal only. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

/** A line of progress on stderr: shown on a terminal (not `TERM=dumb`) and erased by `done()`. */
export interface Progress {
  /** Replaces the line with `text`. */
  say(text: string): void;
  done(): void;
}

const SILENT: Progress = { say() {}, done() {} };

/** Progress on `io.stderr` when it is a terminal that can erase a line, and `bytes` is big enough; else silent. */
export function progressFor(io: CommandIO, bytes: number, progressMinBytes = io.progressMinBytes ?? PROGRESS_MIN_BYTES): Progress {
  const tty = io.stderrTTY ?? io.isTTY;
  if (!tty || io.env?.TERM === 'dumb' || bytes < progressMinBytes) return SILENT;
  let shown = false;
  return {
    say(text) {
      io.stderr.write(`${shown ? '\r\u001b[K' : ''}${text}`);
      shown = true;
    },
    done() {
      if (shown) io.stderr.write('\r\u001b[K');
      shown = false;
    },
  };
}

/**
 * The bytes a file holds once read: its size, or for gzip (by its magic number) the size the
 * trailer records (modulo 4 GiB), whichever is bigger. 0 when it cannot be read.
 */
export function inputBytes(file: string): number {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    if (size < 18) return size;
    const magic = Buffer.alloc(2);
    fs.readSync(fd, magic, 0, 2, 0);
    if (magic[0] !== 0x1f || magic[1] !== 0x8b) return size;
    const trailer = Buffer.alloc(4);
    fs.readSync(fd, trailer, 0, 4, size - 4);
    return Math.max(size, trailer.readUInt32LE(0));
  } catch {
    return 0;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

function sizeText(file: string, bytes: number): string {
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    // Not shown.
  }
  return size === bytes ? formatSize(size) : `${formatSize(size)}, ${formatSize(bytes)} unpacked`;
}

/**
 * Loads a snapshot file. On a terminal, a file of `progressMinBytes` or more (unpacked, for
 * `.json.gz`) shows `loading FILE (SIZE)...` on stderr while it is read, erased once done.
 */
export function loadSnapshot(file: string, io: CommandIO, progressMinBytes = io.progressMinBytes ?? PROGRESS_MIN_BYTES): Snapshot {
  const bytes = inputBytes(file);
  const progress = progressFor(io, bytes, progressMinBytes);
  progress.say(`loading ${file} (${sizeText(file, bytes)})...`);
  try {
    return Snapshot.load(file);
  } finally {
    progress.done();
  }
}

/** Runs `work` with `text` shown as progress when `bytes` (the input's size) is big; returns its result. */
export function withProgress<T>(io: CommandIO, bytes: number, text: string, work: () => T): T {
  const progress = progressFor(io, bytes);
  progress.say(text);
  try {
    return work();
  } finally {
    progress.done();
  }
}

/** The snapshot with `--filter` / `--exclude` applied (Python's `Filter(inclusive, pattern)`). */
export function applyFilters(snapshot: Snapshot, filters: readonly FilterSpec[]): Snapshot {
  if (filters.length === 0) return snapshot;
  return snapshot.filterTraces(filters.map((f) => new Filter(f.inclusive, f.pattern)));
}

export interface TopView {
  keyType: KeyType;
  cumulative: boolean;
  /** Groups listed; 0 lists them all. */
  limit: number;
}

function kib(size: number): string {
  return `${pyFixed(size / 1024, 1)} KiB`;
}

/** Frames that are not the program's own: Node.js internals and pseudo-files (`<anonymous>`, `<external>`...). */
function isInternal(f: Frame): boolean {
  return f.filename.startsWith('node:') || f.filename.startsWith('<') || f.filename === '';
}

/**
 * The frame a traceback group is headed by: the most recent frame of the program's own code
 * (outside node_modules), else the most recent outside Node.js internals, else the most recent.
 * A traceback whose newest frames are `node:internal/process/task_queues` is headed by the
 * program's line that queued the work.
 */
export function headingFrame(tb: Traceback): Frame | undefined {
  let outside: Frame | undefined;
  for (let i = tb.length - 1; i >= 0; i--) {
    const f = tb.at(i)!;
    if (isInternal(f)) continue;
    if (!f.filename.includes('/node_modules/') && !f.filename.includes('\\node_modules\\')) return f;
    outside ??= f;
  }
  return outside ?? tb.at(-1);
}

function shortSite(f: Frame | undefined): string {
  return f === undefined ? '<unknown>:0' : `${f.filename.split('/').slice(-2).join('/')}:${f.lineno}`;
}

/**
 * The top as text: `formatTop` for `lineno` and `filename`; for `traceback`, each group as
 * Python's documentation prints one (`N memory blocks: X KiB` and `Traceback.format()`), its
 * heading naming the program's most recent frame (`headingFrame`).
 */
export function renderTop(snapshot: Snapshot, view: TopView, style: Style = PLAIN): string {
  const stats = snapshot.statistics(view.keyType, view.cumulative);
  const limit = view.limit === 0 ? stats.length : view.limit;
  let lines: string[];
  if (view.keyType !== 'traceback') {
    lines = formatTop(snapshot, { keyType: view.keyType, cumulative: view.cumulative, limit }).split('\n');
  } else {
    lines = [`Top ${limit} tracebacks`];
    stats.slice(0, limit).forEach((stat, i) => {
      lines.push(`#${i + 1}: ${shortSite(headingFrame(stat.traceback))}: ${Math.trunc(stat.count)} memory blocks: ${kib(stat.size)}`);
      lines.push(...stat.traceback.format());
    });
    const other = stats.slice(limit);
    if (other.length > 0) lines.push(`${other.length} other: ${kib(other.reduce((s, x) => s + x.size, 0))}`);
    lines.push(`Total allocated size: ${kib(stats.reduce((s, x) => s + x.size, 0))}`);
  }
  return lines.map((line) => {
    if (/^(Top \d+ |Total allocated size:)/.test(line)) return style.bold(line);
    if (/^#\d+:/.test(line)) {
      const colon = line.indexOf(':');
      return style.bold(line.slice(0, colon + 1)) + line.slice(colon + 1);
    }
    if (line.startsWith('    ') || line.startsWith('(')) return style.dim(line);
    return line;
  }).join('\n');
}

/**
 * The diff as text, as Python's documentation prints `compare_to`: `[ Top N differences ]`, then
 * one `str(StatisticDiff)` a line (with its traceback for `--key traceback`). Growth is red and
 * shrinkage green on a terminal.
 */
export function renderDiff(newSnapshot: Snapshot, oldSnapshot: Snapshot, view: TopView, style: Style = PLAIN): string {
  const diffs = newSnapshot.compareTo(oldSnapshot, view.keyType, view.cumulative);
  const limit = view.limit === 0 ? diffs.length : view.limit;
  const lines = [style.bold(`[ Top ${limit} differences ]`)];
  for (const diff of diffs.slice(0, limit)) {
    // With tracebacks, Python's str() names the most recent frame; the heading names the program's.
    const str = String(diff);
    const shown = view.keyType === 'traceback' ? `${shortSite(headingFrame(diff.traceback))}: ${str.slice(str.indexOf(': size=') + 2)}` : str;
    const text = shown.replace(/\(([+-])([^)]*)\)/g, (all, sign: string) => (sign === '+' ? style.red(all) : style.green(all)));
    lines.push(text);
    if (view.keyType === 'traceback') lines.push(...diff.traceback.format().map((l) => style.dim(l)));
  }
  return lines.join('\n');
}

/** A frame in the JSON output. `line` is the source line, `null` when unknown. */
export interface FrameJSON {
  filename: string;
  /** 1-based; for the V8 heap, the line where the allocating function starts. 0 with `--key filename`. */
  lineno: number;
  function: string | null;
  line: string | null;
}

function tracebackJSON(traceback: Traceback): FrameJSON[] {
  return Array.from(traceback, (f) => {
    const line = f.lineno > 0 ? sourceLine(traceback._lines, f.filename, f.lineno).trim() : '';
    return { filename: f.filename, lineno: f.lineno, function: f.functionName, line: line === '' ? null : line };
  });
}

/** `tracemalloc top --json`, version 1. */
export interface TopJSON {
  format: 'tracemalloc-top';
  version: 1;
  file: string | null;
  keyType: KeyType;
  cumulative: boolean;
  tracebackLimit: number;
  /** Mean bytes between heap samples (sizes and counts are estimates), or `null` when exact. */
  samplingInterval: number | null;
  /** Bytes and objects of every trace (after filters). */
  total: { size: number; count: number };
  /** The listed groups, biggest first; each traceback is oldest frame first. */
  stats: { traceback: FrameJSON[]; size: number; count: number }[];
  /** The groups not listed. */
  other: { groups: number; size: number; count: number };
}

function sum<T>(items: readonly T[], get: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += get(item);
  return total;
}

export function topJSON(snapshot: Snapshot, view: TopView, file: string | null): TopJSON {
  const stats: Statistic[] = snapshot.statistics(view.keyType, view.cumulative);
  const limit = view.limit === 0 ? stats.length : view.limit;
  const other = stats.slice(limit);
  const traces = snapshot.statistics('traceback');
  return {
    format: 'tracemalloc-top',
    version: 1,
    file,
    keyType: view.keyType,
    cumulative: view.cumulative,
    tracebackLimit: snapshot.tracebackLimit,
    samplingInterval: snapshot.samplingInterval,
    total: { size: sum(traces, (s) => s.size), count: sum(traces, (s) => s.count) },
    stats: stats.slice(0, limit).map((s) => ({ traceback: tracebackJSON(s.traceback), size: s.size, count: s.count })),
    other: { groups: other.length, size: sum(other, (s) => s.size), count: sum(other, (s) => s.count) },
  };
}

/** `tracemalloc diff --json`, version 1. */
export interface DiffJSON {
  format: 'tracemalloc-diff';
  version: 1;
  oldFile: string | null;
  newFile: string | null;
  keyType: KeyType;
  cumulative: boolean;
  /** Bytes and objects of every trace of the new snapshot, and the change since the old one. */
  total: { size: number; sizeDiff: number; count: number; countDiff: number };
  /** The listed groups in `compareTo`'s order (biggest absolute change first). */
  stats: { traceback: FrameJSON[]; size: number; sizeDiff: number; count: number; countDiff: number }[];
  other: { groups: number; size: number; sizeDiff: number; count: number; countDiff: number };
}

export function diffJSON(newSnapshot: Snapshot, oldSnapshot: Snapshot, view: TopView, oldFile: string | null, newFile: string | null): DiffJSON {
  const diffs: StatisticDiff[] = newSnapshot.compareTo(oldSnapshot, view.keyType, view.cumulative);
  const limit = view.limit === 0 ? diffs.length : view.limit;
  const other = diffs.slice(limit);
  const totals = (items: readonly StatisticDiff[]) => ({
    size: sum(items, (d) => d.size),
    sizeDiff: sum(items, (d) => d.sizeDiff),
    count: sum(items, (d) => d.count),
    countDiff: sum(items, (d) => d.countDiff),
  });
  return {
    format: 'tracemalloc-diff',
    version: 1,
    oldFile,
    newFile,
    keyType: view.keyType,
    cumulative: view.cumulative,
    total: totals(newSnapshot.compareTo(oldSnapshot, 'traceback')),
    stats: diffs.slice(0, limit).map((d) => ({
      traceback: tracebackJSON(d.traceback), size: d.size, sizeDiff: d.sizeDiff, count: d.count, countDiff: d.countDiff,
    })),
    other: { groups: other.length, ...totals(other) },
  };
}

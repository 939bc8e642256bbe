/**
 * What the snapshot commands (`top`, `diff`, `report`, `export`) read: a snapshot file (`.json`,
 * `.json.gz`) or a Chrome DevTools `.heapprofile` (`node --heap-prof`, DevTools), by its name or,
 * when a file is not a snapshot, by its content. Progress on a terminal for big inputs. And where
 * `report` and `export` write (`-` is stdout).
 */
import * as path from 'node:path';
import { readHeapProfile } from '../export/heapprofile.js';
import { formatSize } from '../format.js';
import { writeFileSafely } from '../write-file.js';
import { SnapshotFormatError } from '../persist.js';
import type { Snapshot } from '../snapshot.js';
import type { OptionSpec, ProfileInputOptions } from './args.js';
import type { CommandIO } from './command.js';
import { inputBytes, loadSnapshot, withProgress } from '../view.js';

export type { ProfileInputOptions } from './args.js';

function isHeapProfileName(file: string): boolean {
  return /\.heapprofile(\.gz)?$/i.test(file);
}

/**
 * Loads a snapshot file (`.json`, `.gz`) or a Chrome `.heapprofile` (by its name, or when the
 * file is not a snapshot but reads as a heap profile).
 */
export function loadInput(file: string, io: CommandIO, options: ProfileInputOptions): Snapshot {
  const asProfile = (): Snapshot => withProgress(io, inputBytes(file), `loading ${file}...`, () => readHeapProfile(file, {
    ...(options.interval !== null ? { samplingInterval: options.interval } : {}),
    readSources: options.readSources,
  }));
  if (isHeapProfileName(file)) return asProfile();
  try {
    return loadSnapshot(file, io);
  } catch (err) {
    if (!(err instanceof SnapshotFormatError) || !err.message.includes('not a tracemalloc snapshot')) throw err;
    try {
      return asProfile();
    } catch {
      throw err;
    }
  }
}

/** Options a command that reads snapshot files or `.heapprofile`s shares (`report`, `export`). */
export const INPUT_SPECS: readonly OptionSpec[] = [
  { name: 'help', short: 'h', kind: 'flag' },
  { name: 'output', short: 'o', kind: 'value' },
  { name: 'filter', kind: 'list' },
  { name: 'exclude', kind: 'list' },
  { name: 'interval', kind: 'value' },
  { name: 'read-sources', kind: 'flag' },
];

/** `name` without its directory and its snapshot or profile extensions, plus `ext`. */
export function defaultOutput(file: string, ext: string): string {
  const base = path.basename(file).replace(/(\.(json|heapprofile|pb|pprof))?(\.gz)?$/i, '');
  return `${base === '' ? 'tracemalloc' : base}${ext}`;
}

/** Writes `data` to `output` (`-` is stdout) and says where on stderr. */
export function writeOutput(output: string, data: string | Buffer, io: CommandIO, what: string): void {
  if (output === '-') {
    io.stdout.write(data);
    return;
  }
  // As dump(): atomic for a regular file, in place for a FIFO or device, never a special file replaced.
  writeFileSafely(output, typeof data === 'string' ? Buffer.from(data) : data);
  io.stderr.write(`wrote ${what} to ${output} (${formatSize(Buffer.byteLength(data))})\n`);
}

/**
 * What the snapshot commands (`top`, `diff`, `report`, `export`) read: a snapshot file (`.json`,
 * `.json.gz`) or a Chrome DevTools `.heapprofile` (`node --heap-prof`, DevTools), by its name or,
 * when a file is not a snapshot, by its content. Progress on a terminal for big inputs.
 */
import { readHeapProfile } from '../export/heapprofile.js';
import { SnapshotFormatError } from '../persist.js';
import type { Snapshot } from '../snapshot.js';
import type { ProfileInputOptions } from './args.js';
import type { CommandIO } from './command.js';
import { inputBytes, loadSnapshot, withProgress } from './view.js';

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

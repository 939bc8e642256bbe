/**
 * The key types of `Snapshot.statistics()` and their checks, in one place for every front end (the
 * API, the CLI, the preload's environment, the HTTP handler, the reporter). No imports: the preload
 * and the CLI load it at start-up.
 */
export type KeyType = 'traceback' | 'filename' | 'lineno';

/** The one check of a key type, for every front end (API, CLI, environment, HTTP, reporter). */
export function isKeyType(value: unknown): value is KeyType {
  return value === 'lineno' || value === 'filename' || value === 'traceback';
}

/** How the front ends name the key types in their errors. */
export const KEY_TYPE_CHOICES = 'lineno, filename or traceback';

/** Python's own message, its typo included ("cannot by used"): `statistics('traceback', True)`. */
export const CUMULATIVE_TRACEBACK_ERROR = "cumulative mode cannot by used with key type 'traceback'";

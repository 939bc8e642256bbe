/**
 * The `//# sourceMappingURL=` of the code that actually ran, as V8 recorded it when it compiled
 * each script. Test runners and loaders compile transformed code that is on no disk (Jest's
 * transforms, Vitest's module runner, ts-node: `vm` scripts named after the original `.ts` file,
 * with an inline map): the file on disk has no map, the script V8 runs has one.
 *
 * V8 tells it to a debugger: enabling the Debugger domain on an in-process inspector session
 * reports every live script (`Debugger.scriptParsed`, delivered synchronously), with its URL and
 * source-map URL; the domain is disabled again before any JavaScript runs (no pause, no
 * breakpoint, no step can happen in between). One such round costs 15-120 ms with ~400 scripts
 * (bench: docs/source-maps.md), so it is done only when a frame names a file whose map is not
 * known otherwise, at most once every `MIN_ROUND_INTERVAL_MS`.
 */
import * as inspector from 'node:inspector';
import { debuglog } from 'node:util';
import { scriptKey } from './own.js';

const log = debuglog('tracemalloc');
/** Rounds are at most this frequent: a file never found (a script since collected) costs one round at most. */
export const MIN_ROUND_INTERVAL_MS = 2000;
/** Bytes of source-map URLs kept (inline maps are whole maps); past it the table is emptied. */
export const MAX_SCRIPT_TABLE_BYTES = 64 * 1024 * 1024;

/** Script (as a path, or its URL when no file) -> its source-map URL, `''` when it has none. */
const table = new Map<string, string>();
let tableBytes = 0;
let lastRound = -Infinity;
let unavailable = false;

/**
 * The source-map URL V8 recorded for the live script named `file` (a path or URL): a `data:` URL,
 * a URL or path relative to the script, `''` when the script has no map, `undefined` when no live
 * script has that name (or rounds are not possible here).
 */
export function scriptSourceMapURL(file: string): string | undefined {
  const key = scriptKey(file);
  let url = table.get(key);
  if (url === undefined && !unavailable && performance.now() - lastRound >= MIN_ROUND_INTERVAL_MS) {
    round();
    url = table.get(key);
  }
  return url;
}

/** One Debugger.enable/disable round on a fresh session: learns every live script's map URL. */
function round(): void {
  lastRound = performance.now();
  let session: inspector.Session | null = null;
  try {
    session = new inspector.Session();
    session.connect();
    session.on('Debugger.scriptParsed', (message: { params: { url: string; sourceMapURL?: string } }) => {
      const { url, sourceMapURL } = message.params;
      if (url === '' || url.startsWith('node:')) return;
      const key = scriptKey(url);
      const value = sourceMapURL ?? '';
      const old = table.get(key);
      if (old !== undefined) tableBytes -= old.length * 2 + key.length * 2;
      else if (tableBytes + value.length * 2 + key.length * 2 > MAX_SCRIPT_TABLE_BYTES) emptyTable();
      table.set(key, value);
      tableBytes += value.length * 2 + key.length * 2;
    });
    // The in-process session answers (and reports every script) before post returns.
    session.post('Debugger.enable', {}, () => {});
    session.post('Debugger.disable', {}, () => {});
  } catch (err) {
    unavailable = true;
    log('cannot list the scripts through the inspector: %o', err);
  } finally {
    try {
      session?.disconnect();
    } catch {
      // Already closed.
    }
  }
}

/** Bytes held by the script table. */
export function scriptTableBytes(): number {
  return tableBytes + table.size * 64;
}

function emptyTable(): void {
  table.clear();
  tableBytes = 0;
}

/** Forgets every script (they are listed again when needed). */
export function clearScriptTable(): void {
  emptyTable();
  lastRound = -Infinity;
}

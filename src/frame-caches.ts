/**
 * Every cache that naming frames fills, counted and released in one place: source lines
 * (source.ts), parsed source maps (sourcemap.ts), the map URLs V8 recorded (scripts.ts) and
 * compiled fnmatch patterns (fnmatch.ts). Each is bounded on its own (docs/source-maps.md); the
 * tracer counts them in `getTracemallocMemory()` and releases them at `stop()`.
 */
import { clearFnmatchCache, fnmatchCacheBytes } from './fnmatch.js';
import { clearScriptTable, scriptTableBytes } from './scripts.js';
import { clearSourceCache, sourceCacheBytes } from './source.js';
import { clearSourceMapCache, sourceMapCacheBytes } from './sourcemap.js';

/** Bytes held by the frame-naming caches (estimates; see each module). */
export function frameCachesBytes(): number {
  return sourceCacheBytes() + sourceMapCacheBytes() + scriptTableBytes() + fnmatchCacheBytes();
}

/**
 * Empties the frame-naming caches (sources registered with `registerSource` are the host's and
 * stay). They fill again when frames are named next.
 */
export function releaseFrameCaches(): void {
  clearSourceCache();
  clearSourceMapCache();
  clearScriptTable();
  clearFnmatchCache();
}

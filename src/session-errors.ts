/**
 * The errors `start()` and the live tracer raise: each a class of its own with a stable `code`,
 * so a caller can tell them apart without parsing messages. `InspectorError` lives beside the
 * inspector (inspector.ts) and is re-exported here.
 */
export { InspectorError } from './inspector.js';

/** A function that needs tracing was called while not tracing (Python raises RuntimeError). */
export class NotTracingError extends Error {
  readonly code = 'ERR_TRACEMALLOC_NOT_TRACING';
  constructor(what: string) {
    super(`the tracemalloc module must be tracing memory allocations to ${what}`);
    this.name = 'NotTracingError';
  }
}

/** Who owns the process-wide tracer (see owner.ts). */
export interface OwnerInfo {
  /** The owning copy's package directory. */
  readonly path: string;
  readonly version: string;
  /** When it started tracing (ISO time). */
  readonly since: string;
}

/**
 * Another copy of tracemalloc in this thread (another version in node_modules, or the same file
 * loaded again by a test runner's module registry) is tracing: V8 has one sampler per isolate
 * and the builtins are shared, so only one copy may trace at a time.
 */
export class TracerOwnedError extends Error {
  readonly code = 'ERR_TRACEMALLOC_OWNED';
  readonly owner: OwnerInfo;
  constructor(owner: OwnerInfo, detail: string) {
    super(
      `another copy of tracemalloc is already tracing in this thread: ${owner.path} (version ${owner.version}, ` +
        `tracing since ${owner.since}). ${detail}`,
    );
    this.name = 'TracerOwnedError';
    this.owner = owner;
  }
}

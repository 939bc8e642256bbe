/**
 * Where `dump()` writes, and how (issue 13). A snapshot file is replaced atomically; a special
 * file is never replaced by a regular one:
 *
 * - `-`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` (and a symlink to any of
 *   them): written to that file descriptor of the process, at its current position.
 * - A regular file, a name that does not exist yet: written to a temporary file in the target's
 *   directory (named after the process, the thread and 48 random bits, created exclusively),
 *   flushed to disk, then renamed over the target, keeping the target's permission bits. A reader
 *   never sees half a file, whatever threads and processes dump to the same path at once: the last
 *   rename wins, whole.
 * - A symlink: followed (up to 40 links, as the kernel does); its target is replaced atomically as
 *   above, or created when the link dangles. The link itself stays.
 * - A FIFO or a character device (`/dev/null`, a terminal): opened without blocking and written
 *   in place, waiting while the reader is slow but at most `STREAM_STALL_MS` without progress. A
 *   FIFO that no process reads is refused (`ENXIO`) rather than waited for.
 * - A directory (`EISDIR`), a block device or a socket (`ERR_TRACEMALLOC_DUMP_TARGET`): refused.
 *
 * Errors name the path the caller gave, never the temporary file, and keep the system `code`.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';

/** How long a write to a FIFO or device may make no progress before `dump()` gives up. */
export const STREAM_STALL_MS = 10_000;
/** Links followed before ELOOP, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** An error of `dump()` naming the caller's path: `CODE: what, dump 'path'`, with `code`, `errno`, `path`. */
export class DumpError extends Error {
  readonly code: string;
  readonly errno: number | undefined;
  readonly syscall = 'dump';
  readonly path: string;
  constructor(code: string, what: string, file: string, errno?: number, cause?: unknown) {
    super(`${code}: ${what}, dump '${file}'`, cause === undefined ? undefined : { cause });
    this.name = 'Error';
    this.code = code;
    this.errno = errno;
    this.path = file;
  }
}

/** Re-throws a system error of a step of the write as one naming the caller's path. */
function rename(err: unknown, file: string): never {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof DumpError || typeof e?.code !== 'string') throw err;
  // Node's message is "CODE: description, syscall 'path'": keep the description only.
  const what = typeof e.message === 'string' && e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2).replace(/, \w+ '.*$/s, '') : e.code;
  throw new DumpError(e.code, what, file, e.errno, err);
}

/** The file descriptor a path stands for (`-`, /dev/stdout, /proc/self/fd/3...), or null. */
export function descriptorOf(p: string): number | null {
  if (p === '-' || p === '/dev/stdout') return 1;
  if (p === '/dev/stderr') return 2;
  const m = /^\/(?:dev\/fd|proc\/self\/fd|proc\/thread-self\/fd|proc\/(\d+)\/fd)\/(\d+)$/.exec(p);
  if (m === null || (m[1] !== undefined && Number(m[1]) !== process.pid)) return null;
  const fd = Number(m[2]);
  return Number.isSafeInteger(fd) ? fd : null;
}

type Target =
  | { kind: 'fd'; fd: number }
  | { kind: 'file'; target: string; stat: fs.Stats | null }
  | { kind: 'open'; target: string; stat: fs.Stats | null };

/** Follows `file`'s symlinks to what a write must go to. */
export function resolveTarget(file: string): Target {
  const direct = descriptorOf(file);
  if (direct !== null) return { kind: 'fd', fd: direct };
  try {
    return follow(file);
  } catch (err) {
    return rename(err, file);
  }
}

function follow(file: string): Target {
  let p = path.resolve(file);
  for (let hops = 0; ; hops++) {
    const fd = descriptorOf(p);
    if (fd !== null) return { kind: 'fd', fd };
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'file', target: p, stat: null };
      throw err;
    }
    if (!st.isSymbolicLink()) return { kind: st.isFile() ? 'file' : 'open', target: p, stat: st };
    // /proc's links (another process's descriptors) name no path: the kernel follows them on open.
    if (p.startsWith('/proc/')) return { kind: 'open', target: p, stat: fs.statSync(p, { throwIfNoEntry: false }) ?? null };
    if (hops >= MAX_LINKS) throw new DumpError('ELOOP', 'too many symbolic links encountered', file);
    const link = fs.readlinkSync(p);
    p = path.resolve(fs.realpathSync(path.dirname(p)), link);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data` to `fd`, waiting (at most STREAM_STALL_MS without progress) on EAGAIN. */
function writeAll(fd: number, data: Uint8Array, file: string): void {
  let offset = 0;
  let progress = Date.now();
  let wait = 1;
  while (offset < data.length) {
    try {
      const n = fs.writeSync(fd, data, offset, data.length - offset);
      offset += n;
      progress = Date.now();
      wait = 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') rename(err, file);
      if (Date.now() - progress > STREAM_STALL_MS) {
        throw new DumpError('ETIMEDOUT', `the reader took nothing for ${STREAM_STALL_MS / 1000} s (${offset} of ${data.length} bytes written)`, file);
      }
      Atomics.wait(sleeper, 0, 0, wait);
      wait = Math.min(wait * 2, 50);
    }
  }
}

/** Writes `data` to a new temporary file next to `target` and renames it over `target`. */
function replaceAtomically(target: string, stat: fs.Stats | null, data: Uint8Array, file: string): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${threadId}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
  } catch (err) {
    rename(err, file);
  }
  try {
    try {
      if (stat !== null) fs.fchmodSync(fd, stat.mode & 0o7777);
      writeAll(fd, data, file);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Already renamed, or never written.
    }
    rename(err, file);
  }
}

/** Writes `data` in place to a FIFO or character device `target`, without blocking on open. */
function stream(target: string, stat: fs.Stats | null, data: Uint8Array, file: string): void {
  if (stat?.isDirectory()) throw new DumpError('EISDIR', 'illegal operation on a directory', file);
  if (stat !== null && !stat.isFIFO() && !stat.isCharacterDevice() && !stat.isFile()) {
    const what = stat.isBlockDevice() ? 'a block device' : stat.isSocket() ? 'a socket' : 'not a regular file';
    throw new DumpError(
      'ERR_TRACEMALLOC_DUMP_TARGET',
      `${what}: dump() writes regular files (replaced atomically), FIFOs, character devices and standard output`,
      file,
    );
  }
  let fd: number;
  try {
    // A regular file reached through /proc (another process's descriptor) is rewritten whole.
    const trunc = stat?.isFile() ? fs.constants.O_TRUNC : 0;
    fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY | trunc);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
      throw new DumpError('ENXIO', 'no process is reading this FIFO (dump() does not wait for one)', file, (err as NodeJS.ErrnoException).errno, err);
    }
    rename(err, file);
  }
  try {
    writeAll(fd, data, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `data` where `file` says (see the module's comment). */
export function writeFileSafely(file: string, data: Uint8Array): void {
  const t = resolveTarget(file);
  if (t.kind === 'fd') writeAll(t.fd, data, file);
  else if (t.kind === 'file') replaceAtomically(t.target, t.stat, data, file);
  else stream(t.target, t.stat, data, file);
}

/**
 * The one reader of the files the library loads (snapshot files, `.heapprofile`s): a regular file
 * of at most `maxBytes`, opened without blocking (a FIFO would wait for a writer) and checked on
 * the open descriptor (no swap between a check and the read), gunzipped when it starts with gzip's
 * magic bytes, never past `maxBytes` decompressed. Each problem is reported through `fail`, whose
 * text names what was wrong; the caller's error names the file.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

export function readCappedFile(file: string, maxBytes: number, fail: (problem: string) => never, limitNote = ''): Buffer {
  let fd: number | undefined;
  let data: Buffer | null = null;
  let problem: string | null = null;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) problem = 'not a regular file';
    else if (stat.size > maxBytes) problem = `the file is ${stat.size} bytes, over the limit of ${maxBytes} bytes${limitNote}`;
    else data = fs.readFileSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    problem = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'not a regular file' : `cannot read it (${code})`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (data === null) return fail(problem ?? 'cannot read it');
  // A file that grew between the check and the read.
  if (data.length > maxBytes) return fail(`the file is ${data.length} bytes, over the limit of ${maxBytes} bytes${limitNote}`);
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = zlib.gunzipSync(data, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return fail(`decompresses to more than the limit of ${maxBytes} bytes${limitNote}`);
      return fail(`not valid gzip data (${(err as Error).message})`);
    }
  }
  return data;
}

/**
 * A snapshot's JSON (`Snapshot.toJSON()`, the file format of `dump`) as a sequence of text chunks,
 * so that a server can stream it through gzip without one long synchronous `JSON.stringify`:
 * the event loop runs between two chunks. Concatenated, the chunks are exactly
 * `JSON.stringify(json)`.
 */
import type { SnapshotJSON } from './persist.js';

/** Values per chunk of an array: some 10 to 100 KiB of text. */
export const JSON_CHUNK_VALUES = 8192;

function* arrayChunks(values: readonly unknown[], size: number): Generator<string> {
  yield '[';
  for (let i = 0; i < values.length; i += size) {
    const text = JSON.stringify(values.slice(i, i + size));
    yield `${i === 0 ? '' : ','}${text.slice(1, -1)}`;
  }
  yield ']';
}

function* objectChunks(value: Record<string, unknown>, size: number): Generator<string> {
  let first = true;
  yield '{';
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    yield `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    if (Array.isArray(v)) yield* arrayChunks(v, size);
    else if (v !== null && typeof v === 'object' && key !== 'meta') yield* objectChunks(v as Record<string, unknown>, size);
    else yield JSON.stringify(v);
  }
  yield '}';
}

/** The chunks of `JSON.stringify(json)`, arrays cut every `size` values. */
export function* snapshotJSONChunks(json: SnapshotJSON, size = JSON_CHUNK_VALUES): Generator<string> {
  yield* objectChunks(json as unknown as Record<string, unknown>, size);
}

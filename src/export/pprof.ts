/**
 * Snapshot -> pprof (gzipped protobuf, the format of `go tool pprof`), encoded by `pprof-format`.
 * Pure: reads the snapshot's compact columns and returns bytes.
 */
import * as zlib from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { describeType } from '../format.js';
import { Snapshot } from '../snapshot.js';
import { domainKey } from '../domain-names.js';


/**
 * The name of an anonymous function in a profile: `(anonymous:L12:C5)` (`(anonymous:L12)` when the
 * column is unknown), so that two arrow functions of one file stay two nodes in pprof's graphs,
 * which key functions by name and file.
 */
export function anonymousName(lineno: number, column: number): string {
  if (lineno <= 0) return '(anonymous)';
  return column > 0 ? `(anonymous:L${lineno}:C${column})` : `(anonymous:L${lineno})`;
}

/** The note the profile carries: V8 records functions, not lines. */
const HEAP_LINE_NOTE = 'V8 heap (domain "heap") frames name the allocating function; their line is where it starts';

/**
 * Encodes `snapshot` as a gzipped pprof profile. Sample types are `[inuse_objects/count,
 * inuse_space/bytes]` (`alloc_*` when `meta.mode` is `'allocated'`); one sample per distinct
 * (domain, traceback) with the summed estimated count and bytes (rounded to integers, as pprof
 * holds int64), labelled `domain` = `heap`, `external` or `user-N`; one Location per distinct
 * frame (line 1-based, column 1-based when known; an anonymous function is named by its position,
 * `(anonymous:L12:C5)`); `period` is the sampling interval in bytes
 * (absent when the snapshot is exact).
 */
export function toPprof(snapshot: Snapshot): Buffer {
  if (!(snapshot instanceof Snapshot)) throw new TypeError(`snapshot must be a Snapshot, not ${describeType(snapshot)}`);
  return zlib.gzipSync(buildPprof(snapshot).encode());
}

/** @internal The profile `toPprof` encodes, before gzip (tests decode and compare it). */
export function buildPprof(snapshot: Snapshot): Profile {
  const c = snapshot._columns;
  const t = c.tables;
  const strings = new StringTable();
  const prefix = snapshot.meta.mode === 'allocated' ? 'alloc' : 'inuse';
  const sampleType = [
    new ValueType({ type: strings.dedup(`${prefix}_objects`), unit: strings.dedup('count') }),
    new ValueType({ type: strings.dedup(`${prefix}_space`), unit: strings.dedup('bytes') }),
  ];

  const functions: PprofFunction[] = [];
  const functionIds = new Map<string, number>();
  const functionOf = (name: string, filename: string): number => {
    const key = `${name}\0${filename}`;
    let id = functionIds.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      functions.push(new PprofFunction({ id, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(filename) }));
      functionIds.set(key, id);
    }
    return id;
  };
  const locations: Location[] = [];
  const locationIds = new Map<string, number>();
  const locationOf = (filename: string, lineno: number, column: number, func: string | null): number => {
    const name = func === null || func === '' ? anonymousName(lineno, column) : func;
    const key = `${filename}\0${lineno}\0${column}\0${name}`;
    let id = locationIds.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      const line = new Line({ functionId: functionOf(name, filename), line: lineno, column });
      locations.push(new Location({ id, line: [line] }));
      locationIds.set(key, id);
    }
    return id;
  };
  // Frame id -> location id, made only for the frames that traces use.
  const frameLocation = new Int32Array(t.frameCount).fill(-1);
  let emptyLocation = -1;
  const tbLocations = new Map<number, number[]>();
  const locationsOf = (tb: number): number[] => {
    let ids = tbLocations.get(tb);
    if (ids === undefined) {
      ids = [];
      // pprof lists a sample's locations leaf first, the raw order of the tables.
      for (let j = t.tbOffsets[tb]!; j < t.tbOffsets[tb + 1]!; j++) {
        const f = t.tbFrames[j]!;
        if (frameLocation[f] === -1) frameLocation[f] = locationOf(t.files[f]!, t.lines[f]!, t.columns[f]!, t.funcs[f] ?? null);
        ids.push(frameLocation[f]!);
      }
      if (ids.length === 0) {
        if (emptyLocation === -1) emptyLocation = locationOf('<unknown>', 0, 0, '<unknown>');
        ids.push(emptyLocation);
      }
      tbLocations.set(tb, ids);
    }
    return ids;
  };

  // Aggregate per (domain, sequence of locations): tracebacks that differ only in totalNframe merge.
  const groups = new Map<string, { domain: number; locations: number[]; count: number; size: number }>();
  for (let i = 0; i < c.length; i++) {
    const ids = locationsOf(c.tracebacks[i]!);
    const domain = c.domains[i]!;
    const key = `${domain}|${ids.join(',')}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { domain, locations: ids, count: 0, size: 0 };
      groups.set(key, g);
    }
    g.count += c.counts[i]!;
    g.size += c.sizes[i]!;
  }
  const domainLabelKey = strings.dedup('domain');
  const sample: Sample[] = [];
  for (const g of groups.values()) {
    sample.push(new Sample({
      locationId: g.locations,
      value: [Math.round(g.count), Math.round(g.size)],
      label: [new Label({ key: domainLabelKey, str: strings.dedup(domainKey(g.domain)) })],
    }));
  }

  const comment = [strings.dedup(`tracemalloc snapshot (${prefix === 'alloc' ? 'allocated' : 'live'} objects), traceback limit ${snapshot.tracebackLimit}`)];
  const interval = snapshot.samplingInterval;
  if (interval !== null) comment.push(strings.dedup(`sampled every ${interval} bytes on average: sizes and counts are estimates`));
  comment.push(strings.dedup(HEAP_LINE_NOTE));
  const time = typeof snapshot.meta.time === 'string' ? Date.parse(snapshot.meta.time) : Number.NaN;
  return new Profile({
    sampleType,
    sample,
    location: locations,
    function: functions,
    stringTable: strings,
    ...(interval !== null ? { periodType: new ValueType({ type: strings.dedup('space'), unit: strings.dedup('bytes') }), period: interval } : {}),
    ...(Number.isFinite(time) ? { timeNanos: BigInt(time) * 1_000_000n } : {}),
    comment,
    defaultSampleType: strings.dedup(`${prefix}_space`),
  });
}

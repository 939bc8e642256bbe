/** `formatTop`: the `display_top` of Python's tracemalloc documentation, as a string. */
import { DomainFilter } from './filter.js';
import { describeType, pyFixed } from './format.js';
import { sourceLine, type Traceback } from './frame.js';
import { displayLine, displayLocation } from './source.js';
import type { Statistic } from './statistic.js';
import { Snapshot as SnapshotClass, type KeyType, type Snapshot } from './snapshot.js';
import { domainLabel } from './domain-names.js';

export interface FormatTopOptions {
  /** How to group: `'lineno'` (default), `'filename'` or `'traceback'`. */
  keyType?: KeyType;
  /** How many groups to list (default 10); the rest are summed on one `other` line. */
  limit?: number;
  /** Count a trace at every frame of its traceback (default false). */
  cumulative?: boolean;
}

function kib(size: number): string {
  return `${pyFixed(size / 1024, 1)} KiB`;
}

/**
 * The top allocation sites of `snapshot`, as Python's `display_top` prints them:
 * `Top 10 lines`, `#1: dir/file.js:6: 102400.0 KiB`, the source line, `K other: X KiB` and
 * `Total allocated size: X KiB`. File names keep their last two path parts. When a listed site
 * holds V8-heap traces of a sampled snapshot, a note says that their lines are function starts.
 */
export function formatTop(snapshot: Snapshot, options: FormatTopOptions = {}): string {
  if (!(snapshot instanceof SnapshotClass)) throw new TypeError(`snapshot must be a Snapshot, not ${describeType(snapshot)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describeType(options)}`);
  const { keyType = 'lineno', limit = 10, cumulative = false } = options;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
    throw new TypeError(`limit must be an integer >= 0, not ${describeType(limit) === 'number' ? limit : describeType(limit)}`);
  }
  const stats = snapshot.statistics(keyType, cumulative);
  const sites = splitByDomain(snapshot, stats, keyType, cumulative);
  const out = [`Top ${limit} lines`];
  sites.slice(0, limit).forEach(({ stat, domain }, i) => {
    const frame = stat.traceback.at(0);
    const filename = frame === undefined ? '<unknown>' : frame.filename.split('/').slice(-2).join('/');
    const lineno = frame?.lineno ?? 0;
    const text = frame === undefined ? '' : sourceLine(stat.traceback._lines, frame.filename, frame.lineno);
    const where = displayLocation(filename, lineno, frame?.column ?? null, frame?.functionName ?? null, text);
    const label = domain === null ? '' : ` [${domainLabel(domain)}]`;
    out.push(`#${i + 1}: ${where}${label}: ${kib(stat.size)}`);
    const line = displayLine(text, frame?.column ?? null);
    if (line !== '') out.push(`    ${line}`);
  });
  if (snapshot.samplingInterval !== null && listsHeapSites(snapshot, stats.slice(0, limit), keyType, cumulative)) {
    out.push(HEAP_NOTE);
  }
  const other = sites.slice(limit);
  if (other.length > 0) out.push(`${other.length} other: ${kib(other.reduce((sum, s) => sum + s.stat.size, 0))}`);
  out.push(`Total allocated size: ${kib(stats.reduce((sum, s) => sum + s.size, 0))}`);
  return out.join('\n');
}

/** Said under the list when it shows V8-heap sites: their lines are not the allocating lines. */
export const HEAP_NOTE = '(V8 heap sites are functions: the line shown is where the allocating function starts)';

function tracebackKey(tb: Traceback): string {
  return Array.from(tb, (f) => `${f.filename}\0${f.lineno}`).join('\u0001');
}

function listsHeapSites(snapshot: Snapshot, listed: readonly { traceback: Traceback }[], keyType: KeyType, cumulative: boolean): boolean {
  if (listed.length === 0) return false;
  const heap = new Set(snapshot.filterTraces([new DomainFilter(true, 0)]).statistics(keyType, cumulative).map((s) => tracebackKey(s.traceback)));
  return listed.some((s) => heap.has(tracebackKey(s.traceback)));
}


/**
 * The statistics as listed: a group that holds traces of several domains (a V8-heap function and a
 * Buffer call on one line of minified code) is listed once per domain, labelled, so that sites of
 * different domains never merge into one line. Other groups are as `statistics()` gives them
 * (`domain` null). Sorted as `statistics()` sorts: biggest first.
 */
function splitByDomain(snapshot: Snapshot, stats: readonly Statistic[], keyType: KeyType, cumulative: boolean): { stat: Statistic; domain: number | null }[] {
  const domains = new Set<number>();
  for (const t of snapshot.traces) domains.add(t.domain);
  if (domains.size < 2 || keyType === 'filename') return stats.map((stat) => ({ stat, domain: null }));
  const perDomain = new Map<string, { stat: Statistic; domain: number }[]>();
  for (const domain of domains) {
    for (const stat of snapshot.filterTraces([new DomainFilter(true, domain)]).statistics(keyType, cumulative)) {
      const key = tracebackKey(stat.traceback);
      let list = perDomain.get(key);
      if (list === undefined) perDomain.set(key, (list = []));
      list.push({ stat, domain });
    }
  }
  const out: { stat: Statistic; domain: number | null }[] = [];
  for (const stat of stats) {
    const parts = perDomain.get(tracebackKey(stat.traceback));
    if (parts === undefined || parts.length < 2) out.push({ stat, domain: null });
    else out.push(...parts);
  }
  // Stable: groups keep statistics()' order, a split group's parts go by size.
  return out.sort((a, b) => b.stat.size - a.stat.size || b.stat.count - a.stat.count);
}

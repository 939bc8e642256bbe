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
  const byDomain = new DomainStatistics(snapshot, keyType, cumulative);
  const sites = splitByDomain(byDomain, stats, keyType);
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
  if (snapshot.samplingInterval !== null && listsHeapSites(byDomain, stats.slice(0, limit))) {
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

function listsHeapSites(byDomain: DomainStatistics, listed: readonly { traceback: Traceback }[]): boolean {
  if (listed.length === 0 || !byDomain.domains.has(0)) return false;
  // Every trace is the heap's: every listed group holds some.
  if (byDomain.domains.size === 1) return true;
  const heap = new Set(byDomain.of(0).map((s) => tracebackKey(s.traceback)));
  return listed.some((s) => heap.has(tracebackKey(s.traceback)));
}

/**
 * The statistics of each domain of a snapshot, each computed once and only when asked (a
 * snapshot of one domain needs none: the printed top of `run` groups a large heap's traces once,
 * not three times).
 */
class DomainStatistics {
  readonly domains = new Set<number>();
  readonly #stats = new Map<number, Statistic[]>();

  constructor(
    readonly snapshot: Snapshot,
    readonly keyType: KeyType,
    readonly cumulative: boolean,
  ) {
    for (const t of snapshot.traces) this.domains.add(t.domain);
  }

  of(domain: number): Statistic[] {
    let stats = this.#stats.get(domain);
    if (stats === undefined) {
      stats = this.snapshot.filterTraces([new DomainFilter(true, domain)]).statistics(this.keyType, this.cumulative);
      this.#stats.set(domain, stats);
    }
    return stats;
  }
}

/**
 * The statistics as listed: a group that holds traces of several domains (a V8-heap function and a
 * Buffer call on one line of minified code) is listed once per domain, labelled, so that sites of
 * different domains never merge into one line. Other groups are as `statistics()` gives them
 * (`domain` null). Sorted as `statistics()` sorts: biggest first.
 */
function splitByDomain(byDomain: DomainStatistics, stats: readonly Statistic[], keyType: KeyType): { stat: Statistic; domain: number | null }[] {
  const domains = byDomain.domains;
  if (domains.size < 2 || keyType === 'filename') return stats.map((stat) => ({ stat, domain: null }));
  const perDomain = new Map<string, { stat: Statistic; domain: number }[]>();
  for (const domain of domains) {
    for (const stat of byDomain.of(domain)) {
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

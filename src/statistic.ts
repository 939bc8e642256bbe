/** `Statistic` and `StatisticDiff`: what `Snapshot.statistics()` and `compareTo()` return. */
import { inspect } from 'node:util';
import { formatSize, signedInt } from './format.js';
import { describeType, describeValue } from './format.js';
import { Traceback } from './frame.js';

function checkParts(traceback: unknown, numbers: Record<string, unknown>): void {
  if (!(traceback instanceof Traceback)) throw new TypeError(`traceback must be a Traceback, not ${describeType(traceback)}`);
  for (const [name, value] of Object.entries(numbers)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a finite number, not ${describeValue(value)}`);
  }
}

function average(size: number, count: number): string {
  return count ? `, average=${formatSize(size / count)}` : '';
}

/** Memory allocated at one group of traces: `size` bytes in `count` objects (estimates when sampled). */
export class Statistic {
  constructor(
    readonly traceback: Traceback,
    /** Bytes. */
    readonly size: number,
    /** Number of objects (the sum of the traces' counts). */
    readonly count: number,
  ) {
    checkParts(traceback, { size, count });
  }

  /** Python's `==`: same traceback, size and count. */
  equals(other: unknown): boolean {
    return other instanceof Statistic && !(other instanceof StatisticDiff) &&
      other.size === this.size && other.count === this.count && other.traceback.equals(this.traceback);
  }

  toString(): string {
    return `${this.traceback}: size=${formatSize(this.size)}, count=${Math.trunc(this.count)}${average(this.size, this.count)}`;
  }

  [inspect.custom](): string {
    return `<Statistic traceback=${this.traceback[inspect.custom]()} size=${Math.trunc(this.size)} count=${Math.trunc(this.count)}>`;
  }
}

/** A group's memory in a new snapshot and its change since an old one (`sizeDiff`, `countDiff`). */
export class StatisticDiff {
  constructor(
    readonly traceback: Traceback,
    /** Bytes in the new snapshot. */
    readonly size: number,
    /** New minus old bytes. */
    readonly sizeDiff: number,
    readonly count: number,
    readonly countDiff: number,
  ) {
    checkParts(traceback, { size, sizeDiff, count, countDiff });
  }

  /** Python's `==`: same traceback, sizes and counts. */
  equals(other: unknown): boolean {
    return other instanceof StatisticDiff && other.size === this.size && other.sizeDiff === this.sizeDiff &&
      other.count === this.count && other.countDiff === this.countDiff && other.traceback.equals(this.traceback);
  }

  toString(): string {
    return `${this.traceback}: size=${formatSize(this.size)} (${formatSize(this.sizeDiff, true)}), ` +
      `count=${Math.trunc(this.count)} (${signedInt(Math.trunc(this.countDiff))})${average(this.size, this.count)}`;
  }

  [inspect.custom](): string {
    return `<StatisticDiff traceback=${this.traceback[inspect.custom]()} size=${Math.trunc(this.size)} ` +
      `(${signedInt(Math.trunc(this.sizeDiff))}) count=${Math.trunc(this.count)} (${signedInt(Math.trunc(this.countDiff))})>`;
  }
}

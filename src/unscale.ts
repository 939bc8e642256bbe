/**
 * Undoing V8's sample scaling: the object size and count one sample of the sampling heap profiler
 * stands for. Pure arithmetic, bounded in steps whatever the input (a `.heapprofile` from
 * elsewhere can carry any size and interval).
 */

/**
 * The most candidate object sizes one profile's conversion tries in all (an `Unscaler`'s budget),
 * about 0.2 s of work. A size V8 produced is found after at most about `sqrt(size)` candidates and
 * usually far fewer (at `node --heap-prof`'s 512 KiB interval: 72 on average, 677 at most; at the
 * largest interval `start()` accepts, 2^31 - 1: 4,100 on average, 45,000 at most), so a live
 * profile would need over 12,000 distinct sample sizes to reach it. A crafted profile (sizes that
 * match nothing, an interval of 1e12) stops here and its remaining sizes get the continuous
 * estimate.
 */
export const MAX_UNSCALE_STEPS = 2 ** 23;

export interface Unscaled {
  objectSize: number;
  count: number;
  /** Candidates tried (0 when the answer needed no search). */
  steps: number;
}

/** Python-like `round(1 / (1 - exp(-s / I)))`: V8's scale for an object of `s` bytes. */
function scaleOf(s: number, interval: number): number {
  return Math.round(1 / (1 - Math.exp(-s / interval)));
}

/** The count to use when no object size reproduces the sample: the best continuous estimate. */
function estimate(size: number, interval: number, steps: number): Unscaled {
  const count = Math.max(1, Math.round(size / Math.max(1, 2 * (size - interval))));
  return { objectSize: size / count, count, steps };
}

/**
 * The object size and count that one V8 sample stands for. The inspector reports only the product
 * `objectSize * round(1 / (1 - exp(-objectSize / interval)))`, and for objects smaller than the
 * interval several sizes give the same product (at 64 KiB, 8 x 8193 = 24 x 2731). This returns the
 * smallest object size of at least 16 bytes (V8's smallest objects) that reproduces the product
 * exactly, the rule with the smallest typical error (see docs/differences-from-python.md): the
 * bytes are exact; the count of objects smaller than the interval is a rough estimate (typically
 * within a factor of 2, sometimes far off); objects of several intervals and more are exact.
 *
 * The candidates are the multiples of 4 (V8 aligns objects) from about `(size - interval) / 2` up
 * to `size` that divide `size`, tried in increasing order. Small ones are tried one by one, up to
 * `2 sqrt(size)`; above that, each candidate is `size / count` for a decreasing count, so the
 * search costs at most about `sqrt(size)` steps (not `size / 4`). `budget` caps the steps: past it,
 * and for sizes no candidate can divide (not a multiple of 4, not a safe integer), the answer is
 * the continuous estimate.
 */
export function unscaleSample(size: number, interval: number, budget = Infinity): Unscaled {
  if (!(size > 0) || !(interval > 0)) return { objectSize: size, count: 1, steps: 0 };
  // A count of 2 or more needs s <= I ln 3, so size = s * count stays under about 2.2 I: larger
  // samples are single objects.
  if (size > 2.5 * interval) return { objectSize: size, count: 1, steps: 0 };
  // Every candidate is a multiple of 4 dividing size: size must be a multiple of 4 (and exact).
  if (!Number.isSafeInteger(size) || size % 4 !== 0) return estimate(size, interval, 0);
  // size = s * round(1 / (1 - exp(-s/I))) <= I + s + s^2/(12 I) < I + 2s for the s that can give a
  // count above 1, so s > (size - I) / 2.
  const lo = Math.max(16, Math.floor((size - interval) / 8) * 4);
  // Below `split`, walk the sizes (step 4); from `split` up, walk the counts downward: each walk
  // costs about sqrt(size) / 2 steps at most.
  const split = Math.max(lo, Math.ceil((2 * Math.sqrt(size)) / 4) * 4);
  let steps = 0;
  for (let s = lo; s < split; s += 4) {
    if (++steps > budget) return estimate(size, interval, steps - 1);
    if (size % s === 0 && scaleOf(s, interval) === size / s) return { objectSize: s, count: size / s, steps };
  }
  for (let c = Math.floor(size / split); c >= 1; c--) {
    if (++steps > budget) return estimate(size, interval, steps - 1);
    if (size % (4 * c) !== 0) continue;
    const s = size / c;
    if (scaleOf(s, interval) === c) return { objectSize: s, count: c, steps };
  }
  // Not a size V8 produces (a hand-made profile): the best continuous estimate.
  return estimate(size, interval, steps);
}

/**
 * Unscales the samples of one profile: each distinct size once, and `MAX_UNSCALE_STEPS` steps in
 * all, so a crafted profile costs a bounded time however many distinct sizes it has.
 */
export class Unscaler {
  readonly #counts = new Map<number, number>();
  #budget: number;

  constructor(
    readonly interval: number,
    budget = MAX_UNSCALE_STEPS,
  ) {
    this.#budget = budget;
  }

  /** Steps left in the budget. */
  get budget(): number {
    return this.#budget;
  }

  /** The object count one sample of `size` bytes stands for. */
  count(size: number): number {
    let c = this.#counts.get(size);
    if (c === undefined) {
      const r = unscaleSample(size, this.interval, this.#budget);
      this.#budget -= r.steps;
      c = r.count;
      this.#counts.set(size, c);
    }
    return c;
  }
}

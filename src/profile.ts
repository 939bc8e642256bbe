/**
 * V8's sampling heap profile -> traces of the heap domain. Pure: works on the plain profile
 * shape (inspector.ts), so it is tested on hand-written trees without a live profiler.
 */
import type { CallFrame, ProfileNode, SamplingProfile } from './inspector.js';
import type { StoreBuilder } from './store.js';

/** A frame as the snapshot shows it: a file and 1-based line and column (0 when unknown). */
export interface ResolvedFrame {
  filename: string;
  lineno: number;
  column: number;
  functionName: string | null;
}

/**
 * Resolves a V8 call frame to a snapshot frame, or `null` for a frame without a script (a V8
 * builtin such as `push`, or a pseudo-frame such as `(V8 API)`), which is folded into its caller
 * the way Python's tracebacks leave out C functions.
 */
export type FrameResolver = (callFrame: CallFrame) => ResolvedFrame | null;

export interface ProfileConversion {
  /** Keep the `nframe` most recent frames of each stack. */
  nframe: number;
  /** The sampling interval the profile was taken with (bytes). */
  interval: number;
  /** Domain of the traces (0, the V8 heap). */
  domain: number;
  resolve: FrameResolver;
  /**
   * Whose code a frame is. Walking from the allocation outward, the first frame that is not
   * `'neutral'` owns the sample; the tracer's own samples are left out and counted in `own`.
   */
  owner?: (callFrame: CallFrame) => 'own' | 'user' | 'neutral';
}

/** Bytes added to the snapshot (`traced`) and bytes of the tracer's own samples left out (`own`). */
export interface ProfileTotals {
  traced: number;
  own: number;
}

/**
 * The object size and count that one V8 sample stands for. The inspector reports only the product
 * `objectSize * round(1 / (1 - exp(-objectSize / interval)))`, and for objects smaller than the
 * interval several sizes give the same product (at 64 KiB, 8 x 8193 = 24 x 2731). This returns the
 * smallest object size of at least 16 bytes (V8's smallest objects) that reproduces the product
 * exactly, the rule with the smallest typical error (see docs/differences-from-python.md): the
 * bytes are exact; the count of objects smaller than the interval is a rough estimate (typically
 * within a factor of 2, sometimes far off); objects of several intervals and more are exact.
 */
export function unscaleSample(size: number, interval: number): { objectSize: number; count: number } {
  const scale = (s: number): number => Math.round(1 / (1 - Math.exp(-s / interval)));
  if (!(size > 0) || !(interval > 0)) return { objectSize: size, count: 1 };
  // A count of 2 or more needs s <= I ln 3, so size = s * count stays under about 2.2 I: larger
  // samples are single objects.
  if (size > 2.5 * interval) return { objectSize: size, count: 1 };
  // size = s * round(1 / (1 - exp(-s/I))) <= I + s + s^2/(12 I) < I + 2s for the s that can give a
  // count above 1, so s > (size - I) / 2: scan object sizes (multiples of 4, as V8 aligns objects)
  // upward from there and take the first that reproduces `size` exactly.
  const lo = Math.max(16, Math.floor((size - interval) / 8) * 4);
  const hi = size;
  for (let s = lo; s <= hi; s += 4) {
    if (size % s === 0 && scale(s) === size / s) return { objectSize: s, count: size / s };
  }
  // Not a size V8 produces (a hand-made profile): the best continuous estimate.
  const count = Math.max(1, Math.round(size / Math.max(1, 2 * (size - interval))));
  return { objectSize: size / count, count };
}

/**
 * Adds one trace per sample of `profile` to `builder` and returns the bytes added. Stacks
 * are read from the tree; builtin and pseudo frames are folded into their JavaScript caller; a
 * stack with no JavaScript frame at all becomes `<unknown>:0` named after V8's label.
 */
export function addProfile(builder: StoreBuilder, profile: SamplingProfile, conv: ProfileConversion): ProfileTotals {
  const parent = new Map<number, ProfileNode | null>();
  const byId = new Map<number, ProfileNode>();
  const stack: ProfileNode[] = [profile.head];
  parent.set(profile.head.id, null);
  while (stack.length > 0) {
    const node = stack.pop()!;
    byId.set(node.id, node);
    for (const child of node.children) {
      parent.set(child.id, node);
      stack.push(child);
    }
  }
  const resolved = new Map<ProfileNode, number | null>(); // node -> frame id, null when folded
  const frameOf = (node: ProfileNode): number | null => {
    let id = resolved.get(node);
    if (id === undefined) {
      const r = conv.resolve(node.callFrame);
      id = r === null ? null : builder.frame(r.filename, r.lineno, r.column, r.functionName);
      resolved.set(node, id);
    }
    return id;
  };
  const OWN = -1;
  const tracebackOfNode = new Map<number, number>(); // node id -> traceback id, or OWN
  const unscaled = new Map<number, { objectSize: number; count: number }>();
  const totals: ProfileTotals = { traced: 0, own: 0 };
  const owner = conv.owner;
  for (const sample of profile.samples) {
    let tb = tracebackOfNode.get(sample.nodeId);
    if (tb === undefined) {
      const node = byId.get(sample.nodeId);
      const frames: number[] = [];
      let label: string | null = null;
      let own = false;
      let decided = owner === undefined;
      for (let n: ProfileNode | null | undefined = node; n != null && n !== profile.head; n = parent.get(n.id)) {
        if (!decided) {
          const who = owner!(n.callFrame);
          if (who !== 'neutral') {
            decided = true;
            own = who === 'own';
            if (own) break;
          }
        }
        const f = frameOf(n);
        if (f !== null) frames.push(f);
        else if (label === null && frames.length === 0) label = n.callFrame.functionName || null;
      }
      if (own) {
        tb = OWN;
      } else {
        const totalNframe = frames.length;
        if (frames.length === 0) frames.push(builder.frame('<unknown>', 0, 0, label));
        tb = builder.traceback(frames.slice(0, conv.nframe), Math.max(totalNframe, 1));
      }
      tracebackOfNode.set(sample.nodeId, tb);
    }
    if (tb === OWN) {
      totals.own += sample.size;
      continue;
    }
    let u = unscaled.get(sample.size);
    if (u === undefined) {
      u = unscaleSample(sample.size, conv.interval);
      unscaled.set(sample.size, u);
    }
    builder.trace(conv.domain, sample.size, u.count, tb);
    totals.traced += sample.size;
  }
  return totals;
}

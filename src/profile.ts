/**
 * V8's sampling heap profile -> traces of the heap domain. Pure: works on the plain profile
 * shape (inspector.ts), so it is tested on hand-written trees without a live profiler.
 */
import type { CallFrame, ProfileNode, SamplingProfile } from './inspector.js';
import type { StoreBuilder } from './store.js';
import { unscaleSample as unscaleSampleBounded, Unscaler } from './unscale.js';

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
  /** Samples with an ordinal at or below this one are left out (taken before `clearTraces()`). */
  minOrdinal?: number;
}

/** Bytes added to the snapshot (`traced`) and bytes of the tracer's own samples left out (`own`). */
export interface ProfileTotals {
  traced: number;
  own: number;
}

/** See unscale.ts: the object size and count one V8 sample stands for (bounded search). */
export function unscaleSample(size: number, interval: number): { objectSize: number; count: number } {
  const { objectSize, count } = unscaleSampleBounded(size, interval);
  return { objectSize, count };
}

/** A node's frame or traceback not yet worked out; a frame without a script; the tracer's own sample. */
const UNKNOWN = -2;
const FOLDED = -1;
const OWN = -1;
/** `Conversion.owners` values. */
const OWNER_UNKNOWN = 0;
const OWNER_USER = 1;
const OWNER_OWN = 2;

/**
 * One profile being converted. Each node is worked out once, from its parent (its frame, how
 * many JavaScript frames are above it, who owns it) and only when a sample needs it, so a profile
 * costs about one resolved frame per node plus a few array reads per sample, however deep the
 * stacks. Nodes are numbered in a pre-order walk; node 0 is the head (`(root)`, not a frame).
 */
class Conversion {
  readonly nodes: ProfileNode[] = [];
  readonly parents: number[] = [];
  readonly indexById: number[] = [];
  /** Builder frame id of each node, FOLDED for a frame without a script, UNKNOWN until needed. */
  readonly frames: Int32Array;
  /** JavaScript frames from each node up to the head, itself included; -1 until needed. */
  readonly depths: Int32Array;
  /** Whose allocation a sample at each node is: OWNER_USER, OWNER_OWN, or OWNER_UNKNOWN. */
  readonly owners: Uint8Array;
  /** Traceback id of each node's samples, OWN for the tracer's own, UNKNOWN until needed. */
  readonly tracebacks: Int32Array;
  readonly frameIds = new Map<ResolvedFrame, number>();
  readonly path: number[] = [];
  readonly stack: number[] = [];

  constructor(
    readonly builder: StoreBuilder,
    head: ProfileNode,
    readonly conv: ProfileConversion,
  ) {
    const pending: ProfileNode[] = [head];
    const pendingParent: number[] = [-1];
    while (pending.length > 0) {
      const node = pending.pop()!;
      const index = this.nodes.length;
      this.nodes.push(node);
      this.parents.push(pendingParent.pop()!);
      this.indexById[node.id] = index;
      const children = node.children;
      for (let c = 0; c < children.length; c++) {
        pending.push(children[c]!);
        pendingParent.push(index);
      }
    }
    const count = this.nodes.length;
    this.frames = new Int32Array(count).fill(UNKNOWN);
    this.depths = new Int32Array(count).fill(-1);
    this.depths[0] = 0;
    this.owners = new Uint8Array(count);
    this.owners[0] = OWNER_USER;
    this.tracebacks = new Int32Array(count).fill(UNKNOWN);
  }

  frameOf(index: number): number {
    let id = this.frames[index]!;
    if (id === UNKNOWN) {
      const r = this.conv.resolve(this.nodes[index]!.callFrame);
      if (r === null) {
        id = FOLDED;
      } else {
        const known = this.frameIds.get(r);
        id = known ?? this.builder.frame(r.filename, r.lineno, r.column, r.functionName);
        if (known === undefined) this.frameIds.set(r, id);
      }
      this.frames[index] = id;
    }
    return id;
  }

  /** The nearest non-neutral frame, from the allocation outward, owns it; the head decides nothing ('user'). */
  ownerOf(index: number): number {
    const { owners, path } = this;
    const owner = this.conv.owner;
    let i = index;
    while (owners[i] === OWNER_UNKNOWN) {
      const who = owner === undefined ? 'user' : owner(this.nodes[i]!.callFrame);
      if (who !== 'neutral') {
        owners[i] = who === 'own' ? OWNER_OWN : OWNER_USER;
        break;
      }
      path.push(i);
      i = this.parents[i]!;
    }
    const decided = owners[i]!;
    while (path.length > 0) owners[path.pop()!] = decided;
    return decided;
  }

  depthOf(index: number): number {
    const { depths, path } = this;
    let i = index;
    while (depths[i]! < 0) {
      path.push(i);
      i = this.parents[i]!;
    }
    let depth = depths[i]!;
    while (path.length > 0) {
      const j = path.pop()!;
      if (this.frameOf(j) !== FOLDED) depth++;
      depths[j] = depth;
    }
    return depth;
  }

  tracebackOf(index: number): number {
    let tb = this.tracebacks[index]!;
    if (tb !== UNKNOWN) return tb;
    if (this.ownerOf(index) === OWNER_OWN) {
      tb = OWN;
    } else {
      const total = this.depthOf(index);
      const { stack, parents, builder } = this;
      stack.length = 0;
      if (total === 0) {
        // No JavaScript frame at all: V8's label of the nearest pseudo-frame that has one.
        let label: string | null = null;
        for (let i = index; i > 0 && label === null; i = parents[i]!) label = this.nodes[i]!.callFrame.functionName || null;
        stack.push(builder.frame('<unknown>', 0, 0, label));
      } else {
        const nframe = this.conv.nframe;
        for (let i = index; i > 0 && stack.length < nframe; i = parents[i]!) {
          const f = this.frames[i]!;
          if (f !== FOLDED) stack.push(f);
        }
      }
      tb = builder.traceback(stack, Math.max(total, 1));
    }
    this.tracebacks[index] = tb;
    return tb;
  }
}

/**
 * Objects of every shape the conversion reads, kept alive: V8 holds the maps (hidden classes) of
 * optimized code weakly and throws the code away when they die, which they do after each
 * snapshot once its profile and builder are garbage. Keeping one small object of each shape (a
 * sample, a leaf node and its call frame, the profile, an empty builder and conversion) keeps the
 * conversion optimized from one snapshot to the next (bench/snapshot.ts: about 2x faster on a
 * 4,000-node profile). A few hundred bytes, taken from the first profile converted; the kept
 * conversion gets options of its own (no resolver: it must not pin a session's caches), and
 * `releaseShapes()` drops them all when the session ends.
 */
const shapes: unknown[] = [];

const NO_FRAMES: FrameResolver = () => null;

function keepShapes(builder: StoreBuilder, profile: SamplingProfile, conv: ProfileConversion): void {
  if (shapes.length > 0 || profile.samples.length === 0) return;
  let leaf = profile.head;
  while (leaf.children.length > 0) leaf = leaf.children[0]!;
  // Parsed copies, not the profile's own objects (which would pin the whole profile): the
  // inspector parses its answer from JSON, so objects parsed from the same keys share its maps.
  const sampleShape: unknown = JSON.parse(JSON.stringify(profile.samples[0]));
  const leafShape = JSON.parse(JSON.stringify(leaf)) as ProfileNode;
  const Builder = builder.constructor as new () => StoreBuilder;
  const emptyBuilder = new Builder();
  // The profile object itself holds everything: an object parsed from the same keys has its map.
  const profileShape: unknown = JSON.parse('{"head":{},"samples":[]}');
  const keptConv: ProfileConversion = { nframe: conv.nframe, interval: conv.interval, domain: conv.domain, resolve: NO_FRAMES, owner: conv.owner };
  shapes.push(sampleShape, leafShape, emptyBuilder, new Conversion(emptyBuilder, leafShape, keptConv), profileShape);
}

/** Drops the objects kept by `keepShapes` (at the end of a tracing session). */
export function releaseShapes(): void {
  shapes.length = 0;
}

/**
 * Adds one trace per sample of `profile` to `builder` and returns the bytes added. Stacks
 * are read from the tree; builtin and pseudo frames are folded into their JavaScript caller; a
 * stack with no JavaScript frame at all becomes `<unknown>:0` named after V8's label.
 */
export function addProfile(builder: StoreBuilder, profile: SamplingProfile, conv: ProfileConversion): ProfileTotals {
  const conversion = new Conversion(builder, profile.head, conv);
  const indexById = conversion.indexById;
  const totals: ProfileTotals = { traced: 0, own: 0 };
  const domain = conv.domain;
  let lastSize = -1;
  let lastCount = 1;
  const unscaler = new Unscaler(conv.interval);
  let orphan: number | undefined;
  const samples = profile.samples;
  const minOrdinal = conv.minOrdinal ?? -Infinity;
  for (let k = 0; k < samples.length; k++) {
    const sample = samples[k]!;
    if (sample.ordinal <= minOrdinal) continue;
    const index = indexById[sample.nodeId];
    // A sample of a node missing from the tree (not something V8 sends) keeps its bytes, unattributed.
    const tb = index === undefined ? (orphan ??= builder.traceback([builder.frame('<unknown>', 0, 0, null)], 1)) : conversion.tracebackOf(index);
    const size = sample.size;
    if (tb === OWN) {
      totals.own += size;
      continue;
    }
    if (size !== lastSize) {
      lastSize = size;
      lastCount = unscaler.count(size);
    }
    builder.trace(domain, size, lastCount, tb);
    totals.traced += size;
  }
  keepShapes(builder, profile, conv);
  return totals;
}

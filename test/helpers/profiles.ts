// Hand-written V8 sampling profiles for tests of the conversion (no live profiler involved).
import type { CallFrame, ProfileNode, SamplingProfile } from '#internal/inspector';

let nextId = 1;

export function cf(functionName: string, url: string, lineNumber: number, columnNumber = 0, scriptId = '7'): CallFrame {
  return { functionName, url, lineNumber, columnNumber, scriptId };
}

export const builtin = (name: string): CallFrame => cf(name, '', -1, -1, '0');

/** A node with children; ids are unique across a test run. */
export function node(callFrame: CallFrame, children: ProfileNode[] = []): ProfileNode {
  return { callFrame, selfSize: 0, id: nextId++, children };
}

export function root(children: ProfileNode[]): ProfileNode {
  return node(cf('(root)', '', -1, -1, '0'), children);
}

export function profile(head: ProfileNode, samples: Array<[ProfileNode, number]>): SamplingProfile {
  return { head, samples: samples.map(([n, size], i) => ({ nodeId: n.id, size, ordinal: i + 1 })) };
}

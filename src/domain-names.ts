/**
 * The domains of a trace, as Python's tracemalloc numbers them, and the one vocabulary every view
 * uses for them: 0 is V8's heap and 1 the ArrayBuffer backing stores (Buffers, typed arrays), both
 * traced by this library and sampled; 2 and up are the program's own (`track()`), exact.
 */
export const HEAP_DOMAIN = 0;
export const EXTERNAL_DOMAIN = 1;

/** True when a domain's sizes are sampled estimates (the heap and ArrayBuffers), false when exact. */
export function isSampledDomain(domain: number): boolean {
  return domain === HEAP_DOMAIN || domain === EXTERNAL_DOMAIN;
}

/** A domain's name for people: headings, tabs, labels of the text top. */
export function domainLabel(domain: number): string {
  return domain === HEAP_DOMAIN ? 'V8 heap' : domain === EXTERNAL_DOMAIN ? 'ArrayBuffers & Buffers' : `Domain ${domain}`;
}

/** A domain's name for machines: pprof's `domain` label. */
export function domainKey(domain: number): string {
  return domain === HEAP_DOMAIN ? 'heap' : domain === EXTERNAL_DOMAIN ? 'external' : `user-${domain}`;
}

/** How a snapshot settles the heap before reading V8's profile (issue 19: measured next). */
export function settleHeap(mode: 'full' | 'fast'): void {
  void mode;
}

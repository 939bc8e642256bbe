// Fixture of the source-map matrix (test/sourcemap-matrix.test.ts). Type-only lines come first,
// so every transpiler shifts the lines below them; the test finds the expected lines by the
// comments `// heap-site` (the function's first line) and `// buffer-site` (the call line).
export interface Options {
  readonly rounds: number;
  readonly size: number;
}

export type Held = {
  readonly tag: string;
  readonly payload: unknown;
};

declare const brand: unique symbol;
export type Branded = number & { readonly [brand]: true };

export const held: Held[] = [];

export function heapSite(options: Options): number { // heap-site
  for (let i = 0; i < options.rounds; i++) held.push({ tag: 'heap-site', payload: new Array<number>(32).fill(i) });
  return held.length;
}

export function cleanSite(options: Options): number {
  const scratch: Buffer = Buffer.alloc(options.size, 'clean-site');
  return scratch.length;
}

export function bufferSite(options: Options): number {
  const tag: string = 'buffer-site';
  held.push({ tag, payload: Buffer.alloc(options.size, tag) }); // buffer-site
  return held.length;
}

const leaked: unknown[] = [];

export function leakSite(): number { // leak-site
  leaked.push(new Array<number>(170).fill(0)); // about 1.4 KiB a call, never freed
  return leaked.length;
}

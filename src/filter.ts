/** `Filter` and `DomainFilter`, as in Python: which traces `Snapshot.filterTraces()` keeps. */
import { describeType, describeValue } from './format.js';
import { fnmatch } from './fnmatch.js';

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${describeType(value)}`);
  return value;
}

function checkDomain(value: unknown, nullable: boolean): number | null {
  if (value == null && nullable) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new TypeError(`domain must be an integer in [0; 4294967295]${nullable ? ' or null' : ''}, not ${describeValue(value)}`);
  }
  return value;
}

function checkLineno(value: unknown): number | null {
  if (value != null && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
    throw new TypeError(`lineno must be an integer >= 0 or null, not ${describeValue(value)}`);
  }
  return (value as number | null | undefined) ?? null;
}

/** Keeps or drops traces allocated in one domain (0: V8 heap, 1: ArrayBuffers, 2+: `track()`). */
export class DomainFilter {
  #inclusive: boolean;
  readonly #domain: number;

  constructor(inclusive: boolean, domain: number) {
    this.#inclusive = checkBoolean('inclusive', inclusive);
    this.#domain = checkDomain(domain, false)!;
  }

  /** `true`: keep only traces of `domain`; `false`: drop them. */
  get inclusive(): boolean {
    return this.#inclusive;
  }
  set inclusive(value: boolean) {
    this.#inclusive = checkBoolean('inclusive', value);
  }

  get domain(): number {
    return this.#domain;
  }
  set domain(_value: number) {
    throw new TypeError("DomainFilter's domain is read-only");
  }
}

/**
 * Keeps or drops traces by file name (Python `fnmatch` pattern, `*` crossing `/`), optionally
 * by line and by domain. Matches the most recent frame, or any frame when `allFrames`.
 */
export class Filter {
  #inclusive: boolean;
  readonly #filenamePattern: string;
  #lineno: number | null;
  #allFrames: boolean;
  #domain: number | null;

  constructor(inclusive: boolean, filenamePattern: string, lineno: number | null = null, allFrames = false, domain: number | null = null) {
    this.#inclusive = checkBoolean('inclusive', inclusive);
    if (typeof filenamePattern !== 'string') {
      throw new TypeError(`filenamePattern must be a string, not ${describeType(filenamePattern)}`);
    }
    this.#filenamePattern = filenamePattern;
    this.#lineno = checkLineno(lineno);
    this.#allFrames = checkBoolean('allFrames', allFrames);
    this.#domain = checkDomain(domain, true);
  }

  // Python's attributes, settable as there, and checked as the constructor checks them.

  /** `true`: keep only matching traces; `false`: drop them. */
  get inclusive(): boolean {
    return this.#inclusive;
  }
  set inclusive(value: boolean) {
    this.#inclusive = checkBoolean('inclusive', value);
  }

  /** Only this line matches (1-based; 0 is a real line number here), or `null` for any line. */
  get lineno(): number | null {
    return this.#lineno;
  }
  set lineno(value: number | null) {
    this.#lineno = checkLineno(value);
  }

  /** Match any frame of the traceback instead of only the most recent. */
  get allFrames(): boolean {
    return this.#allFrames;
  }
  set allFrames(value: boolean) {
    this.#allFrames = checkBoolean('allFrames', value);
  }

  /** Only traces of this domain are concerned, or `null` for all. */
  get domain(): number | null {
    return this.#domain;
  }
  set domain(value: number | null) {
    this.#domain = checkDomain(value, true);
  }

  /** The pattern, read-only as in Python. */
  get filenamePattern(): string {
    return this.#filenamePattern;
  }
  set filenamePattern(_value: string) {
    throw new TypeError("Filter's filenamePattern is read-only");
  }

  /** Does this frame match the pattern and line, ignoring `inclusive`? */
  matchesFrame(filename: string, lineno: number): boolean {
    return fnmatch(filename, this.#filenamePattern) && (this.#lineno === null || lineno === this.#lineno);
  }
}

/**
 * Number and string formatting that reproduces Python's output byte for byte: `%.Nf` rounding
 * (exact binary value, ties to even), `_format_size`, and `repr()` of strings.
 */

/**
 * Python's `'%.{digits}f' % value`: rounds the exact binary value of `value` to `digits` decimals,
 * ties to even. JavaScript's `toFixed` rounds ties away from zero, so ties are handled here.
 */
export function pyFixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  const negative = value < 0 || Object.is(value, -0);
  const abs = Math.abs(value);
  const scale = 10 ** digits;
  // A tie at `digits` decimals means abs * 10^digits = k + 1/2 exactly, which for a binary
  // double holds iff abs * 2^(digits+1) is an odd integer (the 5^digits factor must divide out).
  const twice = abs * 2 ** (digits + 1);
  let text: string;
  if (Number.isInteger(twice) && twice % 2 === 1 && abs < 2 ** 50) {
    const lower = Math.floor(abs * scale);
    const even = lower % 2 === 0 ? lower : lower + 1;
    text = (even / scale).toFixed(digits);
  } else {
    text = abs.toFixed(digits);
  }
  return negative ? `-${text}` : text;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * Python's `tracemalloc._format_size`: a size in bytes as `10.0 KiB`, `100 MiB`, `-5 B`.
 * With `sign`, values >= 0 get a leading `+` (`+0 B`). `-0` prints as `0`.
 */
export function formatSize(size: number, sign = false): string {
  if (typeof size !== 'number' || Number.isNaN(size)) {
    throw new TypeError(`size must be a number, not ${Number.isNaN(size) ? 'NaN' : describeType(size)}`);
  }
  if (typeof sign !== 'boolean') throw new TypeError(`sign must be a boolean, not ${describeType(sign)}`);
  let value = Object.is(size, -0) ? 0 : size;
  for (const unit of UNITS) {
    if (Math.abs(value) < 100 && unit !== 'B') return withSign(pyFixed(value, 1), sign) + ' ' + unit;
    if (Math.abs(value) < 10 * 1024 || unit === 'TiB') return withSign(pyFixed(value, 0), sign) + ' ' + unit;
    value /= 1024;
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

function withSign(text: string, sign: boolean): string {
  return sign && !text.startsWith('-') ? `+${text}` : text;
}

/** Python's `%+d` of an integer. */
export function signedInt(value: number): string {
  const v = Object.is(value, -0) ? 0 : value;
  return v >= 0 ? `+${v}` : String(v);
}

/** Python's `repr()` of a string: single quotes unless the string holds `'` and no `"`. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

/** A short name for a value's type, for error messages (`Filter`, `number`, `null`). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  try {
    if (Array.isArray(value)) return 'Array';
    if (typeof value === 'object') {
      const ctor = (value as { constructor?: { name?: unknown } }).constructor;
      return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object';
    }
  } catch {
    // A Proxy whose traps throw (or a revoked one): describing it must not throw.
    return 'object';
  }
  return typeof value;
}

/**
 * A value for an error message, short and safe on any input (deep, huge, a BigInt, a Proxy):
 * a string quoted and cut at 64 characters, a number or boolean as it is, anything else by type.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= 64 ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, 64))}… (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  return describeType(value);
}

/**
 * Python's `fnmatch.fnmatch` on POSIX (case-sensitive, whole string): `*` matches any run of
 * characters including `/`, `?` one character, `[seq]` / `[!seq]` a set with ranges; a `]` right
 * after `[` or `[!` is literal, an unclosed `[` is literal, and there is no escape character.
 */

import { describeType } from './format.js';

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 256;
/** Patterns longer than this are compiled each time, never cached (a cache of 256 huge patterns would be unbounded). */
const CACHEABLE_PATTERN_CHARS = 4096;
let cacheBytes = 0;

export function fnmatch(name: string, pattern: string): boolean {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, not ${describeType(name)}`);
  if (typeof pattern !== 'string') throw new TypeError(`pattern must be a string, not ${describeType(pattern)}`);
  return compile(pattern).test(name);
}

/** Compiles a pattern to an anchored RegExp (cached). */
export function compile(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^(?:${translate(pattern)})$`, 'su');
    if (pattern.length <= CACHEABLE_PATTERN_CHARS) {
      if (cache.size >= CACHE_LIMIT) clearFnmatchCache();
      cache.set(pattern, re);
      cacheBytes += (pattern.length + re.source.length) * 2 + 200;
    }
  }
  return re;
}

/** Bytes held by the compiled-pattern cache (at most 256 patterns of 4096 characters). */
export function fnmatchCacheBytes(): number {
  return cacheBytes;
}

/** Forgets the compiled patterns. */
export function clearFnmatchCache(): void {
  cache.clear();
  cacheBytes = 0;
}

function lit(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/**
 * Translates a shell pattern to RegExp source. Sets follow CPython's `fnmatch.translate` step by
 * step (its split of a set into chunks at hyphens, and its removal of empty ranges such as `z-a`),
 * so that odd sets like `[c-a-z]` match exactly what Python matches.
 */
export function translate(pattern: string): string {
  const pat = Array.from(pattern); // code points, as Python indexes them
  const n = pat.length;
  let out = '';
  let i = 0;
  while (i < n) {
    const c = pat[i++]!;
    if (c === '*') {
      while (pat[i] === '*') i++;
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      let j = i;
      if (pat[j] === '!') j++;
      if (pat[j] === ']') j++;
      while (j < n && pat[j] !== ']') j++;
      if (j >= n) {
        out += lit('[');
      } else {
        out += translateSet(pat, i, j);
        i = j + 1;
      }
    } else {
      out += lit(c);
    }
  }
  return out;
}

/** A set `pat[i:j]` (between `[` and `]`) as a RegExp class, following CPython. */
function translateSet(pat: string[], i: number, j: number): string {
  // Python's "stuff", as tokens: a literal character, or a hyphen that makes a range.
  type Token = { ch: string; range: boolean };
  let tokens: Token[];
  const stuff = pat.slice(i, j);
  if (!stuff.includes('-')) {
    tokens = stuff.map((ch) => ({ ch, range: false }));
  } else {
    const chunks: string[][] = [];
    let k = pat[i] === '!' ? i + 2 : i + 1;
    for (;;) {
      k = indexOf(pat, '-', k, j);
      if (k < 0) break;
      chunks.push(pat.slice(i, k));
      i = k + 1;
      k = k + 3;
    }
    const last = pat.slice(i, j);
    if (last.length > 0) chunks.push(last);
    else chunks[chunks.length - 1]!.push('-');
    // Remove empty ranges (`z-a`): merge the two chunks around them, dropping both ends.
    for (let m = chunks.length - 1; m > 0; m--) {
      const prev = chunks[m - 1]!;
      const cur = chunks[m]!;
      if (prev.length > 0 && cur.length > 0 && prev[prev.length - 1]! > cur[0]!) {
        chunks[m - 1] = prev.slice(0, -1).concat(cur.slice(1));
        chunks.splice(m, 1);
      }
    }
    tokens = [];
    chunks.forEach((chunk, m) => {
      if (m > 0) tokens.push({ ch: '-', range: true });
      for (const ch of chunk) tokens.push({ ch, range: false });
    });
  }
  if (tokens.length === 0) return '(?!)';
  const negate = !tokens[0]!.range && tokens[0]!.ch === '!';
  if (negate) tokens = tokens.slice(1);
  if (tokens.length === 0) return '.';
  // Read the tokens the way a regular-expression class reads them.
  let body = '';
  for (let t = 0; t < tokens.length; t++) {
    const a = tokens[t]!;
    const dash = tokens[t + 1];
    const b = tokens[t + 2];
    if (!a.range && dash?.range === true && b !== undefined && !b.range) {
      if (a.ch.codePointAt(0)! <= b.ch.codePointAt(0)!) body += `${lit(a.ch)}-${lit(b.ch)}`;
      t += 2;
    } else {
      body += lit(a.ch);
    }
  }
  return body === '' ? (negate ? '.' : '(?!)') : `[${negate ? '^' : ''}${body}]`;
}

function indexOf(chars: string[], ch: string, from: number, to: number): number {
  for (let k = from; k < to; k++) if (chars[k] === ch) return k;
  return -1;
}

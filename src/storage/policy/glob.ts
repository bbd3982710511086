/**
 * IAM wildcard matching (`*` any run of characters, `?` exactly one; case-sensitive,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)
 * in time bounded by the text, not by pattern x text: policy patterns and condition values
 * (Referer, User-Agent, keys) are attacker-sized, so a quadratic matcher is a denial of service.
 *
 * Patterns and texts are arrays of code points: `?` matches one character, never half of a
 * surrogate pair. STAR and ONE are negative, so they never collide with a code point.
 */
export const STAR = -1;
export const ONE = -2;

/** The code points of `s`, in one allocation. */
export function codePoints(s: string): Int32Array {
  const out = new Int32Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    out[n++] = c;
    if (c > 0xffff) i++;
  }
  return out.subarray(0, n);
}

function segmentAt(p: Int32Array, t: Int32Array, from: number, to: number, at: number): boolean {
  for (let i = from; i < to; i++) {
    const c = p[i]!;
    if (c !== ONE && c !== t[at + i - from]) return false;
  }
  return true;
}

/**
 * Leftmost start >= `pos` where p[from..to) (no STAR) occurs inside t[..end), or -1. Literal
 * segments use Knuth-Morris-Pratt: O(segment + scanned text). Segments holding `?` use the
 * bit-parallel shift-and: O(scanned text x segment / 32).
 */
function find(p: Int32Array, from: number, to: number, t: Int32Array, pos: number, end: number): number {
  const len = to - from;
  if (len === 0) return pos;
  let wild = false;
  for (let i = from; i < to; i++) if (p[i] === ONE) wild = true;
  return wild ? shiftAnd(p, from, len, t, pos, end) : kmp(p, from, len, t, pos, end);
}

function kmp(p: Int32Array, from: number, len: number, t: Int32Array, pos: number, end: number): number {
  const fail = new Int32Array(len);
  for (let i = 1, k = 0; i < len; i++) {
    while (k > 0 && p[from + i] !== p[from + k]) k = fail[k - 1]!;
    if (p[from + i] === p[from + k]) k++;
    fail[i] = k;
  }
  for (let i = pos, k = 0; i < end; i++) {
    while (k > 0 && t[i] !== p[from + k]) k = fail[k - 1]!;
    if (t[i] === p[from + k]) k++;
    if (k === len) return i - len + 1;
  }
  return -1;
}

function shiftAnd(p: Int32Array, from: number, len: number, t: Int32Array, pos: number, end: number): number {
  const words = (len + 31) >>> 5;
  // Bit i of a mask: the segment's character i accepts this text character.
  const any = new Uint32Array(words);
  for (let i = 0; i < len; i++) if (p[from + i] === ONE) any[i >>> 5]! |= 1 << (i & 31);
  const masks = new Map<number, Uint32Array>();
  for (let i = 0; i < len; i++) {
    const c = p[from + i]!;
    if (c === ONE) continue;
    let m = masks.get(c);
    if (m === undefined) {
      m = Uint32Array.from(any);
      masks.set(c, m);
    }
    m[i >>> 5]! |= 1 << (i & 31);
  }
  const lastWord = (len - 1) >>> 5;
  const lastBit = 1 << ((len - 1) & 31);
  const state = new Uint32Array(words);
  for (let i = pos; i < end; i++) {
    const m = masks.get(t[i]!) ?? any;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const s = state[w]!;
      state[w] = ((s << 1) | carry) & m[w]!;
      carry = s >>> 31;
    }
    if (state[lastWord]! & lastBit) return i - len + 1;
  }
  return -1;
}

/** Whether the whole of `t` matches `p`. */
export function globMatches(p: Int32Array, t: Int32Array): boolean {
  const firstStar = p.indexOf(STAR);
  if (firstStar < 0) return p.length === t.length && segmentAt(p, t, 0, p.length, 0);
  const lastStar = p.lastIndexOf(STAR);
  const tailLen = p.length - lastStar - 1;
  if (t.length < firstStar + tailLen) return false;
  if (!segmentAt(p, t, 0, firstStar, 0) || !segmentAt(p, t, lastStar + 1, p.length, t.length - tailLen)) return false;
  // Between the anchored head and tail, each segment taken at its leftmost occurrence: any
  // later occurrence only leaves less room for the segments after it. Every text position is
  // scanned once over all segments.
  let pos = firstStar;
  const end = t.length - tailLen;
  let from = firstStar + 1;
  while (from <= lastStar) {
    let to = from;
    while (p[to] !== STAR) to++;
    if (to > from) {
      const at = find(p, from, to, t, pos, end);
      if (at < 0) return false;
      pos = at + (to - from);
    }
    from = to + 1;
  }
  return true;
}

/**
 * Whether some text starting with `t` matches `p`. Past the first `*` anything can follow, so
 * only the head before it constrains the prefix.
 */
export function globAllowsPrefix(p: Int32Array, t: Int32Array): boolean {
  const firstStar = p.indexOf(STAR);
  const head = firstStar < 0 ? p.length : firstStar;
  if (t.length > head) return firstStar >= 0 && segmentAt(p, t, 0, head, 0);
  return segmentAt(p, t, 0, t.length, 0);
}

/** HTTP semantics both the S3 API and the website share (RFC 9110), as pure functions. */

export type RangeResult =
  | { type: 'full' }
  | { type: 'partial'; start: number; end: number }
  | { type: 'unsatisfiable' };

/**
 * A single `bytes=` range against an object of `size` bytes. A header we cannot parse, or that
 * asks for several ranges, is ignored and the whole object served (RFC 9110 §14.2; S3 does not
 * do multipart/byteranges).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { type: 'full' };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { type: 'full' };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return { type: 'full' };
  if (a === '') {
    const n = Number(b);
    if (n === 0) return { type: 'unsatisfiable' };
    if (size === 0) return { type: 'unsatisfiable' };
    return { type: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return { type: 'full' };
  if (start >= size) return { type: 'unsatisfiable' };
  return { type: 'partial', start, end };
}

export interface Validators {
  /** Quoted strong ETag, e.g. `"abc"`. */
  etag: string;
  lastModified: Date;
}

export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export type ConditionalResult = 'proceed' | 'not-modified' | 'precondition-failed';

function etagListMatches(list: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return list.split(',').some((raw) => {
    const t = raw.trim();
    return t === '*' || t.replace(/^W\//, '') === bare || `"${t}"` === bare;
  });
}

/** HTTP dates have one-second resolution; compare whole seconds. */
function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function parseDate(s: string | undefined): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

/**
 * RFC 9110 §13.2.2 evaluation order, which is also S3's documented combination rule
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): If-Match overrides
 * If-Unmodified-Since, If-None-Match overrides If-Modified-Since.
 */
export function evaluateConditions(h: ConditionalHeaders, v: Validators, isGetOrHead: boolean): ConditionalResult {
  if (h.ifMatch !== undefined) {
    if (!etagListMatches(h.ifMatch, v.etag)) return 'precondition-failed';
  } else {
    const since = parseDate(h.ifUnmodifiedSince);
    if (since !== null && seconds(v.lastModified) > since) return 'precondition-failed';
  }
  if (h.ifNoneMatch !== undefined) {
    if (etagListMatches(h.ifNoneMatch, v.etag)) return isGetOrHead ? 'not-modified' : 'precondition-failed';
  } else if (isGetOrHead) {
    const since = parseDate(h.ifModifiedSince);
    if (since !== null && seconds(v.lastModified) <= since) return 'not-modified';
  }
  return 'proceed';
}

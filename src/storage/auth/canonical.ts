/**
 * Encoding and canonicalisation shared by SigV4, SigV2 and the client signer.
 * AWS's URI-encode rule (sig-v4-header-based-auth.html, "UriEncode()"): every byte except
 * A-Z a-z 0-9 - . _ ~ becomes %XX with upper-case hex; '/' is kept in paths only.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const ENCODED: readonly string[] = Array.from({ length: 256 }, (_, b) => {
  const c = String.fromCharCode(b);
  return /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
});

export function uriEncodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = '';
  for (const b of bytes) out += keepSlash && b === 0x2f ? '/' : ENCODED[b];
  return out;
}

/** AWS URI-encode of a string's UTF-8 bytes. */
export function awsUriEncode(s: string, keepSlash = false): string {
  return uriEncodeBytes(Buffer.from(s, 'utf8'), keepSlash);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * Percent-decodes to bytes, never throwing: a '%' not followed by two hex digits stays literal,
 * and byte sequences that are not UTF-8 survive (decodeURIComponent would reject both).
 */
export function percentDecode(s: string, plusAsSpace: boolean): Buffer {
  if (!s.includes('%') && !(plusAsSpace && s.includes('+'))) return Buffer.from(s, 'utf8');
  const bytes: number[] = [];
  let literalStart = 0;
  const flush = (end: number): void => {
    if (end > literalStart) for (const b of Buffer.from(s.slice(literalStart, end), 'utf8')) bytes.push(b);
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && hexValue(s.charCodeAt(i + 1)) >= 0 && hexValue(s.charCodeAt(i + 2)) >= 0) {
      flush(i);
      bytes.push(hexValue(s.charCodeAt(i + 1)) * 16 + hexValue(s.charCodeAt(i + 2)));
      i += 2;
      literalStart = i + 1;
    } else if (c === 0x2b && plusAsSpace) {
      flush(i);
      bytes.push(0x20);
      literalStart = i + 1;
    }
  }
  flush(s.length);
  return Buffer.from(bytes);
}

export interface QueryParam {
  name: Buffer;
  value: Buffer;
  /** False for a bare name such as `?acl`, which SigV2 signs without '='. */
  hasValue: boolean;
}

/** Splits a raw query into decoded pairs. '+' means space in a query, as S3 reads it. */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (rawQuery === '') return out;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    out.push({ name: percentDecode(name, true), value: percentDecode(value, true), hasValue: eq >= 0 });
  }
  return out;
}

/** First value of each query parameter, decoded as UTF-8 text. */
export function queryMap(rawQuery: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const p of parseQuery(rawQuery)) {
    const name = p.name.toString('utf8');
    if (!map.has(name)) map.set(name, p.value.toString('utf8'));
  }
  return map;
}

/**
 * SigV4 CanonicalQueryString: each name and value decoded then AWS-encoded, sorted by encoded
 * name then value; `exclude` drops X-Amz-Signature for presigned requests.
 */
export function canonicalQueryString(rawQuery: string, exclude?: string): string {
  const pairs: [string, string][] = [];
  for (const p of parseQuery(rawQuery)) {
    if (exclude !== undefined && p.name.toString('utf8') === exclude) continue;
    pairs.push([uriEncodeBytes(p.name, false), uriEncodeBytes(p.value, false)]);
  }
  pairs.sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Candidate canonical paths: S3 does not normalise paths and clients differ in what they
 * percent-encode, so try the AWS re-encoding of the decoded path first, then the raw path.
 */
export function canonicalPathCandidates(rawPath: string): string[] {
  const raw = rawPath === '' ? '/' : rawPath;
  const reencoded = uriEncodeBytes(percentDecode(raw, false), true);
  return reencoded === raw ? [raw] : [reencoded, raw];
}

export function headerValues(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string[] | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

export function firstHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  return headerValues(headers, name)?.[0];
}

/** SigV4 header value: each value trimmed with inner whitespace runs collapsed, joined by ','. */
export function canonicalHeaderValue(values: string[] | undefined): string {
  if (values === undefined) return '';
  return values.map((v) => headerText(v).trim().replace(/\s+/g, ' ')).join(',');
}

/**
 * Node hands header values over as latin1 (one character per byte), but signatures are over
 * the bytes the client sent, and botocore sends x-amz-meta-* values holding non-ASCII text as
 * raw UTF-8 (https://github.com/boto/botocore/issues/1523). Reading those bytes as UTF-8 makes
 * the UTF-8 encoding of the string to sign reproduce them exactly.
 */
export function headerText(v: string): string {
  if (!/[^\x00-\x7f]/.test(v)) return v;
  const bytes = Buffer.from(v, 'latin1');
  const text = bytes.toString('utf8');
  // Not UTF-8 (or already decoded text above U+00FF): keep the value as it came.
  return text.includes('\ufffd') || /[^\x00-\xff]/.test(v) ? v : text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Constant-time comparison of two signatures (different lengths are simply unequal). */
export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 20130524T000000Z */
export function toAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Parses YYYYMMDDTHHMMSSZ strictly (calendar-valid), or returns null. */
export function parseAmzDate(s: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (m === null) return null;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return toAmzDate(d) === s ? d : null;
}

/** Parses an HTTP date (RFC 1123 and the '+0000' variant SigV2 clients send), or returns null. */
export function parseHttpDate(s: string): Date | null {
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t);
}

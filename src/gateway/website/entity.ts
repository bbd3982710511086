/**
 * What the website serves for one object, precomputed once per cached object version so the
 * hot path only picks a prepared header list and a buffer.
 */
import mime from 'mime-types';
import { isCompressibleType, MIN_COMPRESS_BYTES, type Coding } from './compress.js';
import type { WebsiteObject } from './source.js';

export interface CacheControlDefaults {
  /** For HTML (`public, max-age=0, must-revalidate`: the static hosts' default, https://developers.cloudflare.com/workers/static-assets/headers/). */
  html: string;
  /** For everything else without its own Cache-Control; empty sends none. */
  other: string;
}

export interface ObjectEntry {
  readonly obj: WebsiteObject;
  readonly quotedEtag: string;
  readonly lastModified: string;
  readonly contentType: string;
  readonly cacheControl: string;
  /** Worth compressing on the fly: a compressible type, over the threshold, not already encoded. */
  readonly compressible: boolean;
  /** Already encoded by the uploader (stored Content-Encoding): sent as is, never re-encoded. */
  readonly encoded: boolean;
  /** `x-amz-website-redirect-location`: a 301 on the website side only. */
  readonly redirect: string | null;
  /** Other stored headers to send, as a flat name/value list. */
  readonly stored: readonly string[];
  /** Key of the identity bytes in the body cache; the object's ETag makes it version-exact. */
  readonly bodyKey: string;
}

const GENERIC_TYPES = new Set(['binary/octet-stream', 'application/octet-stream']);
const PASSED_THROUGH: Array<[string, string]> = [
  ['content-disposition', 'Content-Disposition'],
  ['content-language', 'Content-Language'],
  ['expires', 'Expires'],
  ['content-encoding', 'Content-Encoding'],
];

/**
 * The stored Content-Type, unless it is the generic one S3 clients fall back to (S3 itself
 * defaults to binary/octet-stream): then the extension decides, as a static host would.
 */
export function contentTypeOf(key: string, stored: string | undefined): string {
  const base = stored?.split(';')[0]?.trim().toLowerCase() ?? '';
  const generic = base === '' || GENERIC_TYPES.has(base);
  // DEVIATION: a stored text/plain also yields to a more specific extension type. s3cmd with
  // python-magic (Debian's default) labels .css and .js files text/plain, and browsers refuse
  // such stylesheets and scripts (we send nosniff), so `s3cmd sync` would publish a broken site.
  if (!generic && base !== 'text/plain') return stored!;
  const byExt = mime.lookup(key);
  if (byExt === false || byExt === 'text/plain') return stored || 'application/octet-stream';
  return mime.contentType(byExt) || byExt;
}

function isHtml(contentType: string): boolean {
  return /^(?:text\/html|application\/xhtml\+xml)\s*(?:;|$)/i.test(contentType);
}

export function objectEntry(bucket: string, obj: WebsiteObject, defaults: CacheControlDefaults): ObjectEntry {
  const contentType = contentTypeOf(obj.key, obj.headers['content-type']);
  const encoded = obj.headers['content-encoding'] !== undefined;
  const stored: string[] = [];
  for (const [name, wire] of PASSED_THROUGH) {
    const v = obj.headers[name];
    if (v !== undefined) stored.push(wire, v);
  }
  return {
    obj,
    quotedEtag: `"${obj.etag}"`,
    lastModified: obj.lastModified.toUTCString(),
    contentType,
    cacheControl: obj.headers['cache-control'] ?? (isHtml(contentType) ? defaults.html : defaults.other),
    compressible: !encoded && obj.size >= MIN_COMPRESS_BYTES && isCompressibleType(contentType),
    encoded,
    redirect: obj.headers['x-amz-website-redirect-location'] ?? null,
    stored,
    bodyKey: `${bucket}\0${obj.key}\0${obj.etag}`,
  };
}

/** One encoding of a representation: where its bytes come from and its prepared headers. */
export interface Variant {
  readonly coding: 'identity' | Coding;
  /** Whose bytes: the object itself, or a precompressed `x.br` / `x.gz` sidecar. */
  readonly source: ObjectEntry;
  /** Compressed here from the source's bytes (else sent as stored). */
  readonly dynamic: boolean;
  readonly bodyKey: string;
  readonly etag: string;
  /** Response headers without Content-Length. */
  readonly head: readonly string[];
  /** `head` plus Content-Length, once the length is known (always for stored bytes). */
  full: string[] | null;
  /** Headers of a 304 (RFC 9110 §15.4.5: the validators, Cache-Control, Expires, Vary). */
  readonly notModified: readonly string[];
}

/** An object as served at a path: a 200 page, or an error document with its 403/404. */
export interface Representation {
  readonly status: 200 | 403 | 404;
  /** Range and conditional requests apply (never to an error document: Ceph RGW's serve_errordoc drops them, src/rgw/rgw_rest_s3.cc). */
  readonly conditional: boolean;
  readonly identity: Variant;
  readonly br: Variant | null;
  readonly gzip: Variant | null;
}

export interface Sidecars {
  br: ObjectEntry | null;
  gzip: ObjectEntry | null;
}

function variant(
  entry: ObjectEntry,
  coding: Variant['coding'],
  source: ObjectEntry,
  status: Representation['status'],
  vary: boolean,
): Variant {
  const dynamic = coding !== 'identity' && source === entry;
  // A compressed rendering is a different representation (RFC 9110 §8.8.3): a sidecar has its
  // own ETag; an on-the-fly one gets the weak form of the original's, as nginx does.
  const etag = dynamic ? `W/${entry.quotedEtag}` : source.quotedEtag;
  const lastModified = source.lastModified;
  const head: string[] = ['Content-Type', entry.contentType];
  if (entry.cacheControl !== '') head.push('Cache-Control', entry.cacheControl);
  if (status === 200) {
    head.push('ETag', etag, 'Last-Modified', lastModified);
    if (coding === 'identity') head.push('Accept-Ranges', 'bytes');
  }
  if (coding !== 'identity') head.push('Content-Encoding', coding);
  for (let i = 0; i < entry.stored.length; i += 2) {
    const name = entry.stored[i]!;
    if (name === 'Content-Encoding' && coding !== 'identity') continue;
    head.push(name, entry.stored[i + 1]!);
  }
  if (vary) head.push('Vary', 'Accept-Encoding');
  head.push('X-Content-Type-Options', 'nosniff');
  const notModified: string[] = ['ETag', etag, 'Last-Modified', lastModified];
  if (entry.cacheControl !== '') notModified.push('Cache-Control', entry.cacheControl);
  const expires = entry.obj.headers['expires'];
  if (expires !== undefined) notModified.push('Expires', expires);
  if (vary) notModified.push('Vary', 'Accept-Encoding');
  const v: Variant = {
    coding,
    source,
    dynamic,
    bodyKey: dynamic ? `${entry.bodyKey}\0${coding}` : source.bodyKey,
    etag,
    head,
    full: null,
    notModified,
  };
  if (!dynamic) v.full = [...head, 'Content-Length', String(source.obj.size)];
  return v;
}

export function representation(
  entry: ObjectEntry,
  status: Representation['status'],
  sidecars: Sidecars,
): Representation {
  const br = sidecars.br ?? (entry.compressible ? entry : null);
  const gzip = sidecars.gzip ?? (entry.compressible ? entry : null);
  const vary = br !== null || gzip !== null;
  return {
    status,
    conditional: status === 200,
    identity: variant(entry, 'identity', entry, status, vary),
    br: br === null ? null : variant(entry, 'br', br, status, vary),
    gzip: gzip === null ? null : variant(entry, 'gzip', gzip, status, vary),
  };
}

/** Once a dynamic variant's compressed length is known, its full header list is fixed. */
export function fullHeaders(v: Variant, length: number): string[] {
  if (v.full === null) v.full = [...v.head, 'Content-Length', String(length)];
  return v.full;
}

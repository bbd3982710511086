/**
 * Which side answers a request: the S3 API, the website, a CORS preflight or the ACME HTTP-01
 * responder. One pure function so the rule in docs/architecture.md ("The picture") is tested in one
 * table. Self-contained: the gateway may not reach into storage for this.
 */
import type { HostTarget } from './host.js';
import { S3_OPERATION_SUBRESOURCES } from '../shared/s3-subresources.js';

export interface ClassifyInput {
  method: string;
  target: HostTarget;
  /** The query string without the leading '?', still percent-encoded. */
  rawQuery: string;
  /** Names lower-cased, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
}

export type RequestClass = 's3' | 'website' | 'cors-preflight' | 'acme-challenge';

/** RFC 8555 §8.3: the token is base64url, so anything else under the prefix is not a challenge. */
const ACME_PATH = /^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+$/;

/**
 * Query parameters that make a request S3 API traffic wherever they appear: the operation
 * sub-resources, and the parameters only S3 operations take.
 */
export const S3_SUBRESOURCES: ReadonlySet<string> = new Set([
  ...S3_OPERATION_SUBRESOURCES,
  'list-type',
  'partNumber',
  'select-type',
  'uploadId',
  'versionId',
]);

/**
 * ListObjects(V1/V2) parameters. They only mean "list" on the bucket root: on `/page?prefix=x`
 * S3 itself would run GetObject and ignore them, and a static app may well use such names for
 * its own client-side routing.
 */
export const S3_LISTING_PARAMS: ReadonlySet<string> = new Set([
  'continuation-token',
  'delimiter',
  'encoding-type',
  'fetch-owner',
  'marker',
  'max-keys',
  'prefix',
  'start-after',
]);

const NO_NAMES: readonly string[] = Object.freeze([]);

export function queryParamNames(rawQuery: string): readonly string[] {
  // Most page views have no query: no split, no array.
  if (rawQuery === '') return NO_NAMES;
  const names: string[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const raw = (eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' ');
    try {
      names.push(decodeURIComponent(raw));
    } catch {
      names.push(raw);
    }
  }
  return names;
}

/** Node gives header names lower-cased (http.IncomingMessage.headers; HTTP/2 requires it). */
function headerValue(headers: ClassifyInput['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(',') : v;
  return s === '' ? undefined : s;
}

/** Signed by SigV4 or SigV2, in the header or the query (presigned URL). */
export function isSigned(headers: ClassifyInput['headers'], names: readonly string[]): boolean {
  if (headerValue(headers, 'authorization') !== undefined) return true;
  if (names.length === 0) return false;
  const lower = new Set(names.map((n) => n.toLowerCase()));
  if (lower.has('x-amz-signature') || lower.has('x-amz-credential')) return true;
  return names.includes('Signature') && names.includes('AWSAccessKeyId');
}

/**
 * An `x-amz-*` query parameter is an SDK talking S3, never a link a browser follows (s3rver uses
 * the same prefix in lib/middleware/vhost.js). Headers are not used: proxies in front add their
 * own (CloudFront's `x-amz-cf-id`), which would turn every page view into an API call.
 */
function hasAmzQuery(names: readonly string[]): boolean {
  return names.some((n) => n.toLowerCase().startsWith('x-amz-'));
}

export function classify(i: ClassifyInput & { path: string }): RequestClass {
  const method = i.method.toUpperCase();
  if (method === 'GET' && ACME_PATH.test(i.path)) return 'acme-challenge';
  if (method === 'OPTIONS') return 'cors-preflight';
  // A website-only domain never exposes the API, whatever the request looks like; the website
  // side refuses what it cannot serve (405 for writes).
  if (i.target.kind === 'bucket' && i.target.websiteOnly) return 'website';

  const names = queryParamNames(i.rawQuery);
  if (isSigned(i.headers, names)) return 's3';
  if (method !== 'GET' && method !== 'HEAD') return 's3';
  if (i.target.kind === 'service') return 's3';
  if (names.some((n) => S3_SUBRESOURCES.has(n))) return 's3';
  if (hasAmzQuery(names)) return 's3';
  // Anonymous listing of the bucket root, as AWS's virtual-host endpoint does for
  // `curl http://b.localhost/?list-type=2` (or V1 `?prefix=`); without any of these the root is
  // the index document, never a listing (https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteEndpoints.html).
  const isRoot = i.path === '/' || i.path === '';
  if (isRoot && names.some((n) => S3_LISTING_PARAMS.has(n))) return 's3';
  return 'website';
}

/**
 * AWS Signature Version 2 (HMAC-SHA1), header and query-string forms.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html
 */
import { createHmac } from 'node:crypto';
import { StorageError } from '../errors.js';
import {
  canonicalPathCandidates,
  firstHeader,
  headerText,
  parseHttpDate,
  parseQuery,
  signaturesEqual,
} from './canonical.js';
import { MISSING_DATE } from './parse.js';
import { SIGNATURE_MISMATCH } from './sigv4.js';
import {
  DEFAULT_MAX_SKEW_MS,
  type AuthRequest,
  type V2AuthInfo,
  type VerifiedAuth,
  type VerifyOptions,
} from './types.js';

/**
 * Query parameters that belong to the CanonicalizedResource. The doc's list plus the ones
 * botocore's HmacV1 signer adds (accelerate, select, object-lock, ...), since clients that still
 * sign V2 are built on it or on s3cmd, which signs the same set.
 */
const SUB_RESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'defaultObjectAcl',
  'delete',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  'restore',
  'select',
  'select-type',
  'storageClass',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
]);

/** x-amz-* headers, lower-cased and sorted, duplicates joined by ',' with no space, one per line. */
export function canonicalAmzHeadersV2(headers: AuthRequest['headers']): string {
  const names = Object.keys(headers)
    .filter((n) => headers[n] !== undefined && n.toLowerCase().startsWith('x-amz-'))
    .sort();
  let out = '';
  for (const name of names) {
    const raw = headers[name]!;
    const values = (Array.isArray(raw) ? raw : [raw]).map((v) =>
      headerText(v)
        .replace(/\s*\r?\n\s*/g, ' ')
        .trim(),
    );
    out += `${name.toLowerCase()}:${values.join(',')}\n`;
  }
  return out;
}

/**
 * '/' + bucket for virtual-hosted requests, the path, then the sub-resources sorted by name with
 * their decoded values ("When signing, you do not encode these values").
 */
export function canonicalResourceV2(path: string, rawQuery: string, vhostBucket: string | null): string {
  const subs: [string, string][] = [];
  for (const p of parseQuery(rawQuery)) {
    const name = p.name.toString('utf8');
    if (SUB_RESOURCES.has(name)) subs.push([name, p.hasValue ? `${name}=${p.value.toString('utf8')}` : name]);
  }
  subs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const prefix = vhostBucket === null ? '' : '/' + vhostBucket;
  return prefix + path + (subs.length > 0 ? '?' + subs.map((s) => s[1]).join('&') : '');
}

/**
 * Method, Content-MD5, Content-Type, then Date (empty when x-amz-date is sent, which then signs
 * as an amz header) or, for query auth, Expires; then amz headers and resource.
 */
export function stringToSignV2(a: {
  method: string;
  headers: AuthRequest['headers'];
  resource: string;
  expires?: string;
}): string {
  const date =
    a.expires ?? (firstHeader(a.headers, 'x-amz-date') !== undefined ? '' : (firstHeader(a.headers, 'date') ?? ''));
  return [
    a.method,
    firstHeader(a.headers, 'content-md5') ?? '',
    firstHeader(a.headers, 'content-type') ?? '',
    date,
    canonicalAmzHeadersV2(a.headers) + a.resource,
  ].join('\n');
}

export function signatureV2(secretKey: string, toSign: string): string {
  return createHmac('sha1', secretKey).update(toSign, 'utf8').digest('base64');
}

export function verifyV2(req: AuthRequest, info: V2AuthInfo, secretKey: string, opts: VerifyOptions): VerifiedAuth {
  checkV2Time(req, info, opts);
  const expires = info.location === 'query' ? String(info.expiresEpoch) : undefined;
  let firstToSign: string | undefined;
  for (const resource of v2ResourceCandidates(req.rawPath, req.rawQuery, opts.vhostBucket)) {
    const toSign = stringToSignV2({
      method: req.method,
      headers: req.headers,
      resource,
      ...(expires === undefined ? {} : { expires }),
    });
    if (signaturesEqual(signatureV2(secretKey, toSign), info.signature)) return { accessKeyId: info.accessKeyId };
    firstToSign ??= toSign;
  }
  throw new StorageError('SignatureDoesNotMatch', SIGNATURE_MISMATCH, {
    AWSAccessKeyId: info.accessKeyId,
    StringToSign: firstToSign ?? '',
    SignatureProvided: info.signature,
  });
}

/**
 * The canonical resources to try, the AWS one first. botocore's HmacV1Auth
 * (`signature_version='s3'`) signs path-style requests its own way: newer releases sign a
 * bucket-only path as `/bucket/` while sending `/bucket`; 1.29 (Debian 12's python3-botocore)
 * signs the operation's request URI from its service model, query literal included, and then
 * appends the sub-resources again (`/b?acl?acl`, `/b?list-type=2`).
 * DEVIATION: AWS verifies only the documented form; we also accept those two, which sign the
 * same method, headers, bucket and key.
 */
function v2ResourceCandidates(rawPath: string, rawQuery: string, vhostBucket: string | null): string[] {
  const out: string[] = [];
  for (const path of canonicalPathCandidates(rawPath)) out.push(canonicalResourceV2(path, rawQuery, vhostBucket));
  if (vhostBucket !== null) return out;
  const base = rawPath === '' ? '/' : rawPath;
  if (/^\/[^/]+$/.test(base)) out.push(canonicalResourceV2(`${base}/`, rawQuery, null));
  const literal = rawQuery.split('&')[0];
  if (literal) {
    const subs = canonicalResourceV2('', rawQuery, null);
    out.push(`${base}?${literal}${subs}`);
  }
  return out;
}

function checkV2Time(req: AuthRequest, info: V2AuthInfo, opts: VerifyOptions): void {
  const now = opts.now.getTime();
  if (info.location === 'query') {
    const expiresMs = (info.expiresEpoch ?? 0) * 1000;
    if (now > expiresMs) {
      throw new StorageError('AccessDenied', 'Request has expired', {
        Expires: new Date(expiresMs).toISOString(),
        ServerTime: opts.now.toISOString(),
      });
    }
    return;
  }
  const dateText = firstHeader(req.headers, 'x-amz-date') ?? firstHeader(req.headers, 'date');
  const date = dateText === undefined ? null : parseHttpDate(dateText);
  if (date === null) throw new StorageError('AccessDenied', MISSING_DATE);
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (Math.abs(now - date.getTime()) > maxSkewMs) {
    throw new StorageError(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        RequestTime: dateText ?? '',
        ServerTime: opts.now.toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      },
    );
  }
}

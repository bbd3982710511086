/**
 * AWS Signature Version 4 for S3: signing key, canonical request, verification of header and
 * presigned auth, and the chunk/trailer signatures of aws-chunked uploads.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { StorageError } from '../errors.js';
import {
  canonicalHeaderValue,
  canonicalPathCandidates,
  canonicalQueryString,
  headerValues,
  hmacSha256,
  parseAmzDate,
  sha256Hex,
  signaturesEqual,
} from './canonical.js';
import {
  DEFAULT_MAX_SKEW_MS,
  EMPTY_SHA256,
  V4_ALGORITHM,
  type AuthRequest,
  type V4AuthInfo,
  type VerifiedAuth,
  type VerifyOptions,
} from './types.js';

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

/**
 * Signing keys already derived: the key only changes with the day, so a client's requests (and
 * the upstream gateway, which verifies then signs again with the same secret) reuse one instead
 * of four HMACs each time. Bounded: emptied whenever it fills.
 */
const signingKeys = new Map<string, Buffer>();
const MAX_SIGNING_KEYS = 4096;

export function deriveSigningKey(secretKey: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\n${region}\n${service}\n${secretKey}`;
  const known = signingKeys.get(id);
  if (known !== undefined) return known;
  const kDate = hmacSha256('AWS4' + secretKey, date);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  const key = hmacSha256(kService, 'aws4_request');
  if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
  signingKeys.set(id, key);
  return key;
}

export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  headers: AuthRequest['headers'];
  signedHeaders: string[];
  payloadHash: string;
}

/**
 * The AWS SDK's HTTP/2 handler signs the `:authority` pseudo-header instead of `host`
 * (@aws-sdk/middleware-host-header). Requests reach here with the authority as `host` (HTTP/2
 * has no Host field; the gateway's adapter names it so), so a signed `:authority` reads it.
 */
const AUTHORITY = ':authority';

export function canonicalRequest(p: CanonicalRequestParts): string {
  let canonicalHeaders = '';
  for (const name of p.signedHeaders)
    canonicalHeaders += `${name}:${canonicalHeaderValue(headerValues(p.headers, name === AUTHORITY ? 'host' : name))}\n`;
  return [p.method, p.canonicalUri, p.canonicalQuery, canonicalHeaders, p.signedHeaders.join(';'), p.payloadHash].join(
    '\n',
  );
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${V4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function signatureHex(signingKey: Buffer, toSign: string): string {
  return hmacSha256(signingKey, toSign).toString('hex');
}

/** Signature of one aws-chunked chunk (sigv4-streaming.html). */
export function chunkSignature(a: {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  previousSignature: string;
  chunkSha256Hex: string;
}): string {
  const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${a.amzDate}\n${a.scope}\n${a.previousSignature}\n${EMPTY_SHA256}\n${a.chunkSha256Hex}`;
  return signatureHex(a.signingKey, toSign);
}

/** Signature of the trailing headers; trailerText is the canonical "name:value\n" lines (sigv4-streaming-trailers.html). */
export function trailerSignature(a: {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  previousSignature: string;
  trailerText: string;
}): string {
  const toSign = `AWS4-HMAC-SHA256-TRAILER\n${a.amzDate}\n${a.scope}\n${a.previousSignature}\n${sha256Hex(a.trailerText)}`;
  return signatureHex(a.signingKey, toSign);
}

export function verifyV4(req: AuthRequest, info: V4AuthInfo, secretKey: string, opts: VerifyOptions): VerifiedAuth {
  checkV4Time(info, opts);
  checkEverythingSigned(req, info);
  const scope = credentialScope(info.date, info.region, info.service);
  const signingKey = deriveSigningKey(secretKey, info.date, info.region, info.service);
  const provided = info.signature.toLowerCase();
  const canonicalQuery = canonicalQueryString(req.rawQuery, info.location === 'query' ? 'X-Amz-Signature' : undefined);
  let first: { canonical: string; toSign: string } | undefined;
  for (const canonicalUri of canonicalPathCandidates(req.rawPath)) {
    const canonical = canonicalRequest({
      method: req.method,
      canonicalUri,
      canonicalQuery,
      headers: req.headers,
      signedHeaders: info.signedHeaders,
      payloadHash: info.payloadHash,
    });
    const toSign = stringToSign(info.amzDate, scope, canonical);
    const expected = signatureHex(signingKey, toSign);
    if (signaturesEqual(expected, provided)) {
      return {
        accessKeyId: info.accessKeyId,
        v4: { signingKey, seedSignature: expected, amzDate: info.amzDate, scope },
      };
    }
    first ??= { canonical, toSign };
  }
  // S3 returns both strings so a client author can see where the two sides differ.
  throw new StorageError('SignatureDoesNotMatch', SIGNATURE_MISMATCH, {
    AWSAccessKeyId: info.accessKeyId,
    StringToSign: first?.toSign ?? '',
    SignatureProvided: info.signature,
    CanonicalRequest: first?.canonical ?? '',
  });
}

function checkV4Time(info: V4AuthInfo, opts: VerifyOptions): void {
  const requestTime = parseAmzDate(info.amzDate);
  if (requestTime === null)
    throw new StorageError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const now = opts.now.getTime();
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (info.location === 'header') {
    if (Math.abs(now - requestTime.getTime()) > maxSkewMs) {
      throw new StorageError(
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        {
          RequestTime: info.amzDate,
          ServerTime: opts.now.toISOString(),
          MaxAllowedSkewMilliseconds: String(maxSkewMs),
        },
      );
    }
    return;
  }
  if (requestTime.getTime() - now > maxSkewMs) throw new StorageError('AccessDenied', 'Request is not valid yet');
  const expiresAt = requestTime.getTime() + (info.expiresSeconds ?? 0) * 1000;
  if (now > expiresAt) {
    throw new StorageError('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(info.expiresSeconds ?? 0),
      Expires: new Date(expiresAt).toISOString(),
      ServerTime: opts.now.toISOString(),
    });
  }
}

/**
 * SigV4 requires Host to be signed, and S3 refuses x-amz-* headers that are sent but not signed
 * (they carry meaning such as x-amz-acl or x-amz-copy-source that must not be alterable).
 */
function checkEverythingSigned(req: AuthRequest, info: V4AuthInfo): void {
  const signed = new Set(info.signedHeaders);
  const unsigned: string[] = [];
  if (!signed.has('host') && !signed.has(AUTHORITY)) unsigned.push('host');
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || !name.startsWith('x-amz-') || signed.has(name)) continue;
    // A presigned request signs UNSIGNED-PAYLOAD whatever this header says, so it is harmless.
    if (info.location === 'query' && name === 'x-amz-content-sha256') continue;
    unsigned.push(name);
  }
  if (unsigned.length > 0) {
    throw new StorageError('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }
}

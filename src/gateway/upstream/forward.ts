/**
 * What the gateway sends to RGW for a client's S3 request (pure: no I/O). The gateway has
 * already verified the client's signature with the add-on's secret; the forwarded request is
 * signed again with that same secret, so RGW sees the same user and decides access itself.
 *
 * Why re-sign instead of passing the client's signature through: RGW 16.2 refuses the
 * aws-chunked bodies with trailing checksums that today's SDKs send by default
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), and a
 * decoded body no longer matches the client's signature. Re-signing also sends every request
 * path-style to RGW, so RGW needs no `rgw_dns_name` for the gateway's service domains.
 */
import {
  awsEncodedPath,
  signV4Raw,
  streamingMode,
  UNSIGNED_PAYLOAD,
  type AuthInfo,
  type StreamingMode,
} from '#storage';
import type { IncomingHttpHeaders } from 'node:http';

export interface ClientRequestShape {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: IncomingHttpHeaders;
  /** Bucket named by the Host header (virtual-hosted style), null for path style. */
  vhostBucket: string | null;
}

export interface ForwardPlan {
  /** Path and query exactly as they go on the wire to RGW. */
  path: string;
  headers: Record<string, string | string[]>;
  /** aws-chunked framing to strip from the body (the decoder needs the mode), or null. */
  streaming: StreamingMode | null;
}

/** Hop-by-hop headers (RFC 9110 section 7.6.1) and those the forwarded request gets anew. */
const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'host',
  'authorization',
  'x-amz-date',
  'x-amz-content-sha256',
  // The gateway is the edge: what a client claims about its address must not reach RGW's
  // aws:SourceIp (the proxy adds the real X-Forwarded-* values).
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-host',
]);

/**
 * Dropped after the gateway verified them against the body: RGW 16.2 neither checks nor stores
 * flexible checksums.
 */
const CHECKSUM_HEADER = /^x-amz-(checksum-[a-z0-9]+|sdk-checksum-algorithm|trailer)$/;

/** Query parameters that carry a presigned request's signature (SigV4 and SigV2). */
const V4_QUERY_AUTH = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
]);
const V2_QUERY_AUTH = new Set(['AWSAccessKeyId', 'Signature', 'Expires']);

function paramName(part: string): string {
  const eq = part.indexOf('=');
  const raw = eq < 0 ? part : part.slice(0, eq);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The client's query minus its signature parameters, other parameters byte for byte. */
export function queryWithoutAuth(rawQuery: string, queryAuth: 'v4' | 'v2' | null): string {
  const drop = queryAuth === 'v4' ? V4_QUERY_AUTH : queryAuth === 'v2' ? V2_QUERY_AUTH : null;
  if (drop === null || rawQuery === '') return rawQuery;
  return rawQuery
    .split('&')
    .filter((p) => p !== '' && !drop.has(paramName(p)))
    .join('&');
}

function withoutAwsChunked(contentEncoding: string): string {
  return contentEncoding
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked')
    .join(', ');
}

export interface Signer {
  accessKeyId: string;
  secretKey: string;
  region: string;
  now: Date;
}

/**
 * Plans the forwarded request. `auth` is what parseAuth found (already verified by the caller);
 * `signer` is null for anonymous requests, which go to RGW unsigned so that RGW applies its
 * policies and ACLs to the anonymous user.
 */
/** A body the gateway rewrote (a bucket policy): sent whole, hashed, with its own Content-MD5. */
export interface ReplacementBody {
  length: number;
  sha256Hex: string;
  /** Set when the client sent a Content-MD5 (then RGW checks the new body against it). */
  md5Base64?: string;
}

export function planForward(
  req: ClientRequestShape,
  auth: AuthInfo,
  signer: Signer | null,
  upstreamHost: string,
  replacement: ReplacementBody | null = null,
): ForwardPlan {
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const clientStreaming = streamingMode(first(req.headers['x-amz-content-sha256']));
  // A replacement body is already decoded.
  const streaming = replacement === null ? clientStreaming : null;
  const rawPath =
    req.vhostBucket === null ? req.rawPath : `/${req.vhostBucket}${req.rawPath === '' ? '/' : req.rawPath}`;
  const path = awsEncodedPath(rawPath);
  const query = queryWithoutAuth(
    req.rawQuery,
    auth.type !== 'anonymous' && auth.location === 'query' ? auth.type : null,
  );

  const passed: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DROP.has(name)) continue;
    if (
      (clientStreaming !== null || replacement !== null) &&
      (name === 'x-amz-decoded-content-length' || name === 'content-length' || name === 'transfer-encoding')
    )
      continue;
    if (replacement !== null && name === 'content-md5') continue;
    if (CHECKSUM_HEADER.test(name)) continue;
    // SigV2 clients sign Date; SigV4 carries its own x-amz-date.
    if (name === 'date' && signer !== null) continue;
    passed[name] = value;
  }
  if (replacement !== null) {
    passed['content-length'] = String(replacement.length);
    if (replacement.md5Base64 !== undefined) passed['content-md5'] = replacement.md5Base64;
  }
  if (clientStreaming !== null) {
    if (replacement === null) passed['content-length'] = first(req.headers['x-amz-decoded-content-length']) ?? '0';
    const enc = withoutAwsChunked(first(req.headers['content-encoding']) ?? '');
    if (enc === '') delete passed['content-encoding'];
    else passed['content-encoding'] = enc;
  }

  if (signer === null)
    return { path: query === '' ? path : `${path}?${query}`, headers: { ...passed, host: upstreamHost }, streaming };

  // Sign the x-amz-* headers (their meaning is what a signature protects) and Content-MD5; the
  // rest travels unsigned, as the SDKs themselves leave most headers unsigned.
  const toSign: Record<string, string> = { host: upstreamHost };
  const unsigned: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(passed)) {
    if ((name.startsWith('x-amz-') || name === 'content-md5') && !Array.isArray(value)) toSign[name] = value;
    else unsigned[name] = value;
  }
  const clientHash = auth.type === 'v4' ? auth.payloadHash : '';
  // A body hash the client signed stays: RGW checks the body against it. Decoded aws-chunked
  // bodies were verified here (chunk signatures, trailer checksum).
  const payloadHash =
    replacement !== null
      ? replacement.sha256Hex
      : streaming === null && /^[0-9a-f]{64}$/.test(clientHash)
        ? clientHash
        : UNSIGNED_PAYLOAD;
  const signed = signV4Raw({
    method: req.method,
    rawPath: path,
    rawQuery: query,
    headers: toSign,
    payloadHash,
    accessKeyId: signer.accessKeyId,
    secretKey: signer.secretKey,
    region: signer.region,
    now: signer.now,
  });
  return { path: query === '' ? path : `${path}?${query}`, headers: { ...unsigned, ...signed }, streaming };
}

/**
 * Client-side signing for tests and benchmarks: SigV4 header auth, SigV4 presigned URLs and
 * SigV2 header auth. Deterministic given `now`. The path is signed in AWS's encoding of the
 * decoded `url.pathname`, which is what the server's first canonical candidate computes.
 */
import { awsUriEncode, canonicalPathCandidates, canonicalQueryString, toAmzDate } from './canonical.js';
import { canonicalResourceV2, signatureV2, stringToSignV2 } from './sigv2.js';
import { canonicalRequest, credentialScope, deriveSigningKey, signatureHex, stringToSign } from './sigv4.js';
import { UNSIGNED_PAYLOAD, V4_ALGORITHM } from './types.js';

/**
 * Returns the headers to send (lower-case names): the given ones plus host, x-amz-date,
 * x-amz-content-sha256 and authorization. Every returned header except authorization is signed.
 */
export function signV4(a: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  payloadHash: string;
  accessKeyId: string;
  secretKey: string;
  region: string;
  now: Date;
  service?: string;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(a.headers)) headers[name.toLowerCase()] = value;
  headers['host'] ??= a.url.host;
  return signV4Raw({ ...a, headers, rawPath: a.url.pathname, rawQuery: a.url.search.slice(1) });
}

/** A path in AWS's URI encoding of its decoded bytes: a request sent with it is signed over exactly it. */
export function awsEncodedPath(rawPath: string): string {
  return canonicalPathCandidates(rawPath)[0]!;
}

/**
 * SigV4 header auth for a request that goes on the wire with `rawPath` and `rawQuery` as given (a
 * proxy re-signing a client's request must not parse them into a URL, which would resolve `..`
 * in keys). Send `awsEncodedPath(...)` as the path so signer and verifier agree. Signs every
 * header in `headers` (which must include host); returns them plus x-amz-date,
 * x-amz-content-sha256 and authorization (lower-case names).
 */
export function signV4Raw(a: {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  payloadHash: string;
  accessKeyId: string;
  secretKey: string;
  region: string;
  now: Date;
  service?: string;
}): Record<string, string> {
  const service = a.service ?? 's3';
  const amzDate = toAmzDate(a.now);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(a.headers)) {
    if (name.toLowerCase() !== 'authorization') headers[name.toLowerCase()] = value;
  }
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = a.payloadHash;
  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest({
    method: a.method,
    canonicalUri: canonicalPathCandidates(a.rawPath)[0]!,
    canonicalQuery: canonicalQueryString(a.rawQuery),
    headers,
    signedHeaders,
    payloadHash: a.payloadHash,
  });
  const scope = credentialScope(date, a.region, service);
  const signature = signatureHex(
    deriveSigningKey(a.secretKey, date, a.region, service),
    stringToSign(amzDate, scope, canonical),
  );
  headers['authorization'] =
    `${V4_ALGORITHM} Credential=${a.accessKeyId}/${scope},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  return headers;
}

/** A presigned URL signing only Host, as `aws s3 presign` does (sigv4-query-string-auth.html). */
export function presignV4(a: {
  method: string;
  url: URL;
  accessKeyId: string;
  secretKey: string;
  region: string;
  now: Date;
  expiresSeconds: number;
}): URL {
  const amzDate = toAmzDate(a.now);
  const date = amzDate.slice(0, 8);
  const scope = credentialScope(date, a.region, 's3');
  const added = [
    ['X-Amz-Algorithm', V4_ALGORITHM],
    ['X-Amz-Credential', `${a.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(a.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ]
    .map(([name, value]) => `${name}=${awsUriEncode(value!)}`)
    .join('&');
  const existing = a.url.search.slice(1);
  const query = existing === '' ? added : `${existing}&${added}`;
  const canonical = canonicalRequest({
    method: a.method,
    canonicalUri: canonicalPathCandidates(a.url.pathname)[0]!,
    canonicalQuery: canonicalQueryString(query),
    headers: { host: a.url.host },
    signedHeaders: ['host'],
    payloadHash: UNSIGNED_PAYLOAD,
  });
  const signature = signatureHex(
    deriveSigningKey(a.secretKey, date, a.region, 's3'),
    stringToSign(amzDate, scope, canonical),
  );
  const out = new URL(a.url.href);
  out.search = `?${query}&X-Amz-Signature=${signature}`;
  return out;
}

/**
 * SigV2 header auth over the path as it will be sent. A Date header is added from `now`
 * unless the caller gave Date or x-amz-date.
 */
export function signV2(a: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  accessKeyId: string;
  secretKey: string;
  now: Date;
  vhostBucket?: string | null;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(a.headers)) headers[name.toLowerCase()] = value;
  if (headers['date'] === undefined && headers['x-amz-date'] === undefined) headers['date'] = a.now.toUTCString();
  const resource = canonicalResourceV2(a.url.pathname, a.url.search.slice(1), a.vhostBucket ?? null);
  const signature = signatureV2(a.secretKey, stringToSignV2({ method: a.method, headers, resource }));
  headers['authorization'] = `AWS ${a.accessKeyId}:${signature}`;
  return headers;
}

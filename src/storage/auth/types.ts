/** What the signature code needs to know about an incoming request; no I/O object crosses in. */
export interface AuthRequest {
  method: string;
  /** Path exactly as on the wire (req.url before '?'), still percent-encoded. */
  rawPath: string;
  /** Query string exactly as on the wire, without '?', may be ''. */
  rawQuery: string;
  /** Node IncomingMessage.headers shape (lower-case names). Arrays are joined with ',' as SigV4
   *  and SigV2 require, so `req.headersDistinct` is the better source when it is available. */
  headers: Record<string, string | string[] | undefined>;
}

export type AuthInfo = { type: 'anonymous' } | V4AuthInfo | V2AuthInfo;

export interface V4AuthInfo {
  type: 'v4';
  location: 'header' | 'query';
  accessKeyId: string;
  /** YYYYMMDD from the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** YYYYMMDDTHHMMSSZ: x-amz-date (or Date) for header auth, X-Amz-Date for presigned. */
  amzDate: string;
  /** Presigned only. */
  expiresSeconds?: number;
  /** The x-amz-content-sha256 value as sent; 'UNSIGNED-PAYLOAD' for presigned requests. */
  payloadHash: string;
}

export interface V2AuthInfo {
  type: 'v2';
  location: 'header' | 'query';
  accessKeyId: string;
  signature: string;
  /** Query only: the Expires parameter, seconds since the epoch. */
  expiresEpoch?: number;
}

export interface VerifyOptions {
  now: Date;
  /** Bucket taken from the Host header in virtual-hosted style, null for path style. SigV2's
   *  canonical resource is '/' + bucket + path in that case. */
  vhostBucket: string | null;
  /** Default 15 minutes. */
  maxSkewMs?: number;
}

export interface VerifiedAuth {
  accessKeyId: string;
  /** For V4 only, to verify aws-chunked chunk signatures later. */
  v4?: { signingKey: Buffer; seedSignature: string; amzDate: string; scope: string };
}

export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
export const V4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string, used by the chunk string-to-sign and empty bodies. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html: at most 7 days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604800;

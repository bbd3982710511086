/** Request signatures: SigV4 (header, presigned, aws-chunked building blocks) and SigV2. Pure code. */
import { verifyV2 } from './sigv2.js';
import { verifyV4 } from './sigv4.js';
import type { AuthInfo, AuthRequest, VerifiedAuth, VerifyOptions } from './types.js';

export type { AuthInfo, AuthRequest, V2AuthInfo, V4AuthInfo, VerifiedAuth, VerifyOptions } from './types.js';
export { EMPTY_SHA256, UNSIGNED_PAYLOAD, MAX_PRESIGN_EXPIRES_SECONDS } from './types.js';
export { parseAuth } from './parse.js';
export { awsUriEncode } from './canonical.js';
export { deriveSigningKey, chunkSignature, trailerSignature } from './sigv4.js';
export { signV4, signV4Raw, awsEncodedPath, presignV4, signV2 } from './sign.js';
export {
  parsePostPolicy,
  checkPostPolicy,
  type PostPolicy,
  type PostCondition,
  type PostFormCheck,
  type ContentLengthRange,
} from './post-policy.js';
export {
  parsePostAuth,
  verifyPostSignature,
  postPolicySignatureV4,
  postPolicySignatureV2,
  missingFormField,
  POST_EXEMPT_FIELDS,
  type PostAuth,
} from './post-signature.js';

/**
 * Checks the signature `parseAuth` found against the caller's secret for that access key.
 * Throws StorageError (SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied, ...).
 * The payload hash is not checked here: the caller streams the body and compares it with
 * `info.payloadHash`.
 */
export function verifyAuth(
  req: AuthRequest,
  info: Exclude<AuthInfo, { type: 'anonymous' }>,
  secretKey: string,
  opts: VerifyOptions,
): VerifiedAuth {
  return info.type === 'v4' ? verifyV4(req, info, secretKey, opts) : verifyV2(req, info, secretKey, opts);
}

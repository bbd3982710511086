/**
 * The closed set of failures the storage layer can report. Codes are spelled as the S3 error
 * codes they become at the edge, so the mapping in s3api/errors.ts is one table and nothing else.
 */
export const STORAGE_ERROR_CODES = [
  'AccessDenied',
  'AuthorizationHeaderMalformed',
  'AuthorizationQueryParametersError',
  'BadDigest',
  'BucketAlreadyExists',
  'BucketAlreadyOwnedByYou',
  'BucketNotEmpty',
  'EntityTooLarge',
  'EntityTooSmall',
  'IncompleteBody',
  'InsufficientStorage',
  'InternalError',
  'InvalidAccessKeyId',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidBucketState',
  'InvalidDigest',
  'InvalidPart',
  'InvalidPartOrder',
  'InvalidPolicyDocument',
  'InvalidRange',
  'InvalidRequest',
  'InvalidStorageClass',
  'KeyTooLongError',
  'MalformedPolicy',
  'MalformedXML',
  'MalformedACLError',
  'MissingSecurityHeader',
  'NoSuchBucket',
  'NoSuchBucketPolicy',
  'NoSuchCORSConfiguration',
  'NoSuchKey',
  'NoSuchUpload',
  'NoSuchVersion',
  'NoSuchWebsiteConfiguration',
  'NotImplemented',
  'PreconditionFailed',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
  'XAmzContentSHA256Mismatch',
  'MalformedTrailerError',
] as const;

export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** Extra fields AWS puts in the error document (e.g. `Key`, `BucketName`, `ArgumentName`). */
  readonly details: Readonly<Record<string, string>>;

  constructor(code: StorageErrorCode, message?: string, details: Record<string, string> = {}) {
    super(message ?? code);
    this.name = 'StorageError';
    this.code = code;
    this.details = details;
  }
}

export function isStorageError(e: unknown): e is StorageError {
  return e instanceof StorageError;
}

import { isStorageError, type StorageErrorCode } from '#storage';

/** Codes only the HTTP edge produces (request shape problems), on top of the storage codes. */
type EdgeCode =
  | 'InvalidURI'
  | 'MethodNotAllowed'
  | 'MissingContentLength'
  | 'MissingRequestBodyError'
  | 'RequestHeaderSectionTooLarge'
  | 'MaxMessageLengthExceeded'
  | 'IllegalLocationConstraintException'
  | 'InvalidLocationConstraint'
  | 'UnexpectedContent'
  | 'NoSuchLifecycleConfiguration'
  | 'NoSuchTagSet'
  | 'InvalidTag'
  | 'ServerSideEncryptionConfigurationNotFoundError'
  | 'ObjectLockConfigurationNotFoundError'
  | 'NoSuchObjectLockConfiguration'
  | 'ReplicationConfigurationNotFoundError'
  | 'NoSuchPublicAccessBlockConfiguration'
  | 'OwnershipControlsNotFoundError'
  | 'AccessControlListNotSupported'
  | 'InvalidBucketAclWithObjectOwnership'
  | 'MalformedPOSTRequest'
  | 'MaxPostPreDataLengthExceededError'
  | 'UnresolvableGrantByEmailAddress'
  | 'AccessForbidden'
  | 'BadRequest'
  | 'InvalidPartNumber'
  | 'MetadataTooLarge'
  | 'InvalidToken'
  | 'ServiceUnavailable';

export type S3ErrorCode = StorageErrorCode | EdgeCode;

/** Status and default message for every code, as in https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html */
const TABLE: Record<S3ErrorCode, [number, string]> = {
  AccessDenied: [403, 'Access Denied'],
  AccessControlListNotSupported: [400, 'The bucket does not allow ACLs'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'Error parsing the X-Amz-Credential parameter.'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  BucketAlreadyExists: [
    409,
    'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
  ],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  IllegalLocationConstraintException: [
    400,
    'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
  ],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  // DEVIATION: S3 has no full-disk error (its volume never fills). 507 Insufficient Storage
  // (RFC 4918 section 11.5) names the cause and, unlike 503 SlowDown, is not retried by the
  // AWS SDKs and CLIs: a full disk does not clear up within a retry's backoff.
  InsufficientStorage: [507, 'There is not enough free space on the server to store this data.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidBucketAclWithObjectOwnership: [
    400,
    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
  ],
  InvalidBucketState: [409, 'The request is not valid with the current state of the bucket.'],
  InvalidDigest: [400, 'The Content-MD5 you specified is not valid.'],
  InvalidLocationConstraint: [400, 'The specified location-constraint is not valid.'],
  InvalidPart: [
    400,
    "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
  ],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPolicyDocument: [
    400,
    'The content of the form does not meet the conditions specified in the policy document.',
  ],
  InvalidPartOrder: [
    400,
    'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  ],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidTag: [400, 'The TagKey you have provided is invalid'],
  InvalidStorageClass: [400, 'The storage class you specified is not valid.'],
  InvalidToken: [400, 'The provided token is malformed or otherwise invalid.'],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedACLError: [
    400,
    'The XML you provided was not well-formed or did not validate against our published schema.',
  ],
  MalformedPOSTRequest: [400, 'The body of your POST request is not well-formed multipart/form-data.'],
  MalformedPolicy: [400, 'Policy has invalid resource.'],
  MalformedTrailerError: [
    400,
    'The request contained trailing data that was not well-formed or did not conform to our published schema.',
  ],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MaxMessageLengthExceeded: [400, 'Your request was too big.'],
  MaxPostPreDataLengthExceededError: [400, 'Your POST request fields preceding the upload file were too large.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  MissingRequestBodyError: [400, 'Request Body is empty'],
  MissingSecurityHeader: [400, 'Your request is missing a required header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist'],
  NoSuchCORSConfiguration: [404, 'The CORS configuration does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchLifecycleConfiguration: [404, 'The lifecycle configuration does not exist'],
  NoSuchTagSet: [404, 'The TagSet does not exist'],
  NoSuchUpload: [
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  ],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NoSuchWebsiteConfiguration: [404, 'The specified bucket does not have a website configuration'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found'],
  NoSuchObjectLockConfiguration: [404, 'The specified object does not have a ObjectLock configuration'],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented.'],
  ObjectLockConfigurationNotFoundError: [404, 'Object Lock configuration does not exist for this bucket'],
  OwnershipControlsNotFoundError: [404, 'The bucket ownership controls were not found'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  ReplicationConfigurationNotFoundError: [404, 'The replication configuration was not found'],
  RequestHeaderSectionTooLarge: [400, 'Your request header section exceeds the maximum allowed size.'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  ServerSideEncryptionConfigurationNotFoundError: [404, 'The server side encryption configuration was not found'],
  SignatureDoesNotMatch: [
    403,
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  ],
  UnresolvableGrantByEmailAddress: [400, 'The e-mail address you provided does not match any account on record.'],
  AccessForbidden: [
    403,
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  ],
  BadRequest: [400, 'Insufficient information. Origin request header needed.'],
  UnexpectedContent: [400, 'This request does not support content'],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
};

export class S3Error extends Error {
  readonly status: number;
  constructor(
    readonly code: S3ErrorCode,
    message?: string,
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message ?? TABLE[code][1]);
    this.name = 'S3Error';
    this.status = TABLE[code][0];
  }
}

/** Any thrown value as the S3 error to send; unknown failures become InternalError, their detail stays in the log. */
export function toS3Error(e: unknown): S3Error {
  if (e instanceof S3Error) return e;
  if (isStorageError(e)) return new S3Error(e.code, e.message === e.code ? undefined : e.message, e.details);
  return new S3Error('InternalError');
}

export function statusOf(code: S3ErrorCode): number {
  return TABLE[code][0];
}

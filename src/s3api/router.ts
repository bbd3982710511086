import { S3_OPERATION_SUBRESOURCES } from '../shared/s3-subresources.js';
import { MAX_PART_NUMBER } from '#storage';
import { S3Error } from './errors.js';

/** Operations on the service itself: no bucket, no key. */
const SERVICE_OPERATIONS = ['ListBuckets'] as const;

/** Operations on a bucket (or, for DeleteObjects and PostObject, on keys named in the body). */
const BUCKET_OPERATIONS = [
  'CreateBucket',
  'HeadBucket',
  'DeleteBucket',
  'GetBucketLocation',
  'ListObjects',
  'ListObjectsV2',
  'ListObjectVersions',
  'GetBucketVersioning',
  'PutBucketVersioning',
  'GetBucketAcl',
  'PutBucketAcl',
  'GetBucketPolicy',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'GetBucketPolicyStatus',
  'GetBucketCors',
  'PutBucketCors',
  'DeleteBucketCors',
  'GetBucketWebsite',
  'PutBucketWebsite',
  'DeleteBucketWebsite',
  'GetBucketLifecycleConfiguration',
  'PutBucketLifecycleConfiguration',
  'DeleteBucketLifecycle',
  'GetBucketTagging',
  'PutBucketTagging',
  'DeleteBucketTagging',
  'GetBucketEncryption',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
  'GetBucketRequestPayment',
  'GetBucketLogging',
  'GetBucketNotificationConfiguration',
  'GetObjectLockConfiguration',
  'PutObjectLockConfiguration',
  'GetBucketReplication',
  'GetBucketAccelerateConfiguration',
  'GetBucketOwnershipControls',
  'PutBucketOwnershipControls',
  'DeleteBucketOwnershipControls',
  'GetPublicAccessBlock',
  'PutPublicAccessBlock',
  'DeletePublicAccessBlock',
  'ListMultipartUploads',
  'DeleteObjects',
  'PostObject',
] as const;

/** Reads of an object, which may name one part of it (`?partNumber=N`). */
const READ_OPERATIONS = ['GetObject', 'HeadObject'] as const;

/** Other operations on one object. */
const OBJECT_OPERATIONS = [
  'PutObject',
  'CopyObject',
  'DeleteObject',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetObjectTagging',
  'PutObjectTagging',
  'DeleteObjectTagging',
  'GetObjectAttributes',
  'GetObjectRetention',
  'PutObjectRetention',
  'GetObjectLegalHold',
  'PutObjectLegalHold',
  'CreateMultipartUpload',
  'RestoreObject',
  'SelectObjectContent',
] as const;

/** Operations on one multipart upload. */
const UPLOAD_OPERATIONS = ['CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts'] as const;

/** Operations on one part of a multipart upload. */
const PART_OPERATIONS = ['UploadPart', 'UploadPartCopy'] as const;

/** Every operation the router can name, spelled as AWS does. */
export const OPERATIONS = [
  ...SERVICE_OPERATIONS,
  ...BUCKET_OPERATIONS,
  ...READ_OPERATIONS,
  ...OBJECT_OPERATIONS,
  ...UPLOAD_OPERATIONS,
  ...PART_OPERATIONS,
] as const;

export type OperationName = (typeof OPERATIONS)[number];

export interface ServiceRoute {
  op: (typeof SERVICE_OPERATIONS)[number];
}
export interface BucketRoute {
  op: (typeof BUCKET_OPERATIONS)[number];
  bucket: string;
}
export interface ObjectRoute {
  op: (typeof OBJECT_OPERATIONS)[number];
  bucket: string;
  key: string;
}
/** `partNumber`: the part to read, null for the whole object. */
export interface ReadRoute {
  op: (typeof READ_OPERATIONS)[number];
  bucket: string;
  key: string;
  partNumber: number | null;
}
export interface UploadRoute {
  op: (typeof UPLOAD_OPERATIONS)[number];
  bucket: string;
  key: string;
  uploadId: string;
}
export interface PartRoute {
  op: (typeof PART_OPERATIONS)[number];
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
}

/** A routed request: the operation and the parameters it acts on, parsed and validated. */
export type Route = ServiceRoute | BucketRoute | ReadRoute | ObjectRoute | UploadRoute | PartRoute;

/** Sub-resources that select a bucket-level operation, by method, first match wins. */
const BUCKET_SUBRESOURCES: Record<string, [string, BucketRoute['op']][]> = {
  GET: [
    ['location', 'GetBucketLocation'],
    ['versioning', 'GetBucketVersioning'],
    ['versions', 'ListObjectVersions'],
    ['acl', 'GetBucketAcl'],
    ['policyStatus', 'GetBucketPolicyStatus'],
    ['policy', 'GetBucketPolicy'],
    ['cors', 'GetBucketCors'],
    ['website', 'GetBucketWebsite'],
    ['uploads', 'ListMultipartUploads'],
    ['lifecycle', 'GetBucketLifecycleConfiguration'],
    ['tagging', 'GetBucketTagging'],
    ['encryption', 'GetBucketEncryption'],
    ['requestPayment', 'GetBucketRequestPayment'],
    ['logging', 'GetBucketLogging'],
    ['notification', 'GetBucketNotificationConfiguration'],
    ['object-lock', 'GetObjectLockConfiguration'],
    ['replication', 'GetBucketReplication'],
    ['accelerate', 'GetBucketAccelerateConfiguration'],
    ['ownershipControls', 'GetBucketOwnershipControls'],
    ['publicAccessBlock', 'GetPublicAccessBlock'],
  ],
  PUT: [
    ['acl', 'PutBucketAcl'],
    ['policy', 'PutBucketPolicy'],
    ['cors', 'PutBucketCors'],
    ['website', 'PutBucketWebsite'],
    ['versioning', 'PutBucketVersioning'],
    ['lifecycle', 'PutBucketLifecycleConfiguration'],
    ['tagging', 'PutBucketTagging'],
    ['encryption', 'PutBucketEncryption'],
    ['ownershipControls', 'PutBucketOwnershipControls'],
    ['publicAccessBlock', 'PutPublicAccessBlock'],
    ['object-lock', 'PutObjectLockConfiguration'],
  ],
  DELETE: [
    ['policy', 'DeleteBucketPolicy'],
    ['cors', 'DeleteBucketCors'],
    ['website', 'DeleteBucketWebsite'],
    ['lifecycle', 'DeleteBucketLifecycle'],
    ['tagging', 'DeleteBucketTagging'],
    ['encryption', 'DeleteBucketEncryption'],
    ['ownershipControls', 'DeleteBucketOwnershipControls'],
    ['publicAccessBlock', 'DeletePublicAccessBlock'],
  ],
  POST: [['delete', 'DeleteObjects']],
};

/** Throws NotImplemented naming the first operation sub-resource in `query`, if any: no route took it. */
function refuseSubresource(query: URLSearchParams): void {
  const sub = S3_OPERATION_SUBRESOURCES.find((s) => query.has(s));
  if (sub !== undefined)
    throw new S3Error('NotImplemented', `The ?${sub} sub-resource is not implemented for this method`, {
      Subresource: sub,
    });
}

function uploadIdOf(query: URLSearchParams): string {
  const id = query.get('uploadId');
  if (id === null || id === '')
    throw new S3Error('InvalidArgument', 'This operation needs an uploadId', {
      ArgumentName: 'uploadId',
      ArgumentValue: id ?? '',
    });
  return id;
}

/** `?partNumber=`: 1 to 10,000 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html). */
function partNumberOf(raw: string): number {
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber',
      ArgumentValue: raw,
    });
  }
  return n;
}

/**
 * Names the operation of a request and parses the parameters it carries. `bucket` and `key` are
 * already taken from the Host and path
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html).
 */
export function route(
  method: string,
  bucket: string | null,
  key: string | null,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): Route {
  if (bucket === null) {
    if (method === 'GET') return { op: 'ListBuckets' };
    throw new S3Error('MethodNotAllowed');
  }
  if (key === null) return { op: bucketOperation(method, query), bucket };
  const object = (op: ObjectRoute['op']): ObjectRoute => ({ op, bucket, key });
  const read = (op: ReadRoute['op']): ReadRoute => {
    const raw = query.get('partNumber');
    return { op, bucket, key, partNumber: raw === null ? null : partNumberOf(raw) };
  };
  const upload = (op: UploadRoute['op']): UploadRoute => ({ op, bucket, key, uploadId: uploadIdOf(query) });
  const part = (op: PartRoute['op']): PartRoute => {
    const uploadId = uploadIdOf(query);
    return { op, bucket, key, uploadId, partNumber: partNumberOf(query.get('partNumber') ?? '') };
  };
  const copySource = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'GET':
      if (query.has('acl')) return object('GetObjectAcl');
      if (query.has('uploadId')) return upload('ListParts');
      if (query.has('tagging')) return object('GetObjectTagging');
      if (query.has('attributes')) return object('GetObjectAttributes');
      if (query.has('retention')) return object('GetObjectRetention');
      if (query.has('legal-hold')) return object('GetObjectLegalHold');
      refuseSubresource(query);
      return read('GetObject');
    case 'HEAD':
      refuseSubresource(query);
      return read('HeadObject');
    case 'PUT':
      if (query.has('acl')) return object('PutObjectAcl');
      if (query.has('tagging')) return object('PutObjectTagging');
      if (query.has('retention')) return object('PutObjectRetention');
      if (query.has('legal-hold')) return object('PutObjectLegalHold');
      if (query.has('uploadId') || query.has('partNumber')) return part(copySource ? 'UploadPartCopy' : 'UploadPart');
      refuseSubresource(query);
      return object(copySource ? 'CopyObject' : 'PutObject');
    case 'DELETE':
      if (query.has('tagging')) return object('DeleteObjectTagging');
      if (query.has('uploadId')) return upload('AbortMultipartUpload');
      refuseSubresource(query);
      return object('DeleteObject');
    case 'POST':
      if (query.has('uploads')) return object('CreateMultipartUpload');
      if (query.has('uploadId')) return upload('CompleteMultipartUpload');
      if (query.has('restore')) return object('RestoreObject');
      if (query.has('select')) return object('SelectObjectContent');
      refuseSubresource(query);
      throw new S3Error('MethodNotAllowed');
    default:
      throw new S3Error('MethodNotAllowed');
  }
}

function bucketOperation(method: string, query: URLSearchParams): BucketRoute['op'] {
  for (const [sub, op] of BUCKET_SUBRESOURCES[method] ?? []) if (query.has(sub)) return op;
  refuseSubresource(query);
  switch (method) {
    case 'GET':
      return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    case 'HEAD':
      return 'HeadBucket';
    case 'PUT':
      return 'CreateBucket';
    case 'DELETE':
      return 'DeleteBucket';
    case 'POST':
      return 'PostObject';
    default:
      throw new S3Error('MethodNotAllowed');
  }
}

/** The object key a route acts on; null for service and bucket operations. */
export function keyOf(r: Route): string | null {
  return 'key' in r ? r.key : null;
}

/** Splits a decoded path into bucket and key for path-style requests; `vhostBucket` when the Host named it. */
export function splitPath(
  decodedPath: string,
  vhostBucket: string | null,
): { bucket: string | null; key: string | null } {
  const p = decodedPath.startsWith('/') ? decodedPath.slice(1) : decodedPath;
  if (vhostBucket !== null) return { bucket: vhostBucket, key: p === '' ? null : p };
  if (p === '') return { bucket: null, key: null };
  const slash = p.indexOf('/');
  if (slash < 0) return { bucket: p, key: null };
  const key = p.slice(slash + 1);
  return { bucket: p.slice(0, slash), key: key === '' ? null : key };
}

import { S3Error } from './errors.js';

/** Every operation the router can name, spelled as AWS does. */
export const OPERATIONS = [
  'ListBuckets',
  'CreateBucket', 'HeadBucket', 'DeleteBucket', 'GetBucketLocation',
  'ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'GetBucketVersioning', 'PutBucketVersioning',
  'GetBucketAcl', 'PutBucketAcl', 'GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy', 'GetBucketPolicyStatus',
  'GetBucketCors', 'PutBucketCors', 'DeleteBucketCors',
  'GetBucketWebsite', 'PutBucketWebsite', 'DeleteBucketWebsite',
  'GetBucketLifecycleConfiguration', 'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle',
  'GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging',
  'GetBucketEncryption', 'PutBucketEncryption', 'DeleteBucketEncryption',
  'GetBucketRequestPayment', 'GetBucketLogging', 'GetBucketNotificationConfiguration',
  'GetObjectLockConfiguration', 'GetBucketReplication', 'GetBucketAccelerateConfiguration',
  'GetBucketOwnershipControls', 'GetPublicAccessBlock',
  'ListMultipartUploads', 'DeleteObjects', 'PostObject',
  'GetObject', 'HeadObject', 'PutObject', 'CopyObject', 'DeleteObject',
  'GetObjectAcl', 'PutObjectAcl', 'GetObjectTagging', 'PutObjectTagging', 'DeleteObjectTagging', 'GetObjectAttributes',
  'CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts',
  'RestoreObject', 'SelectObjectContent',
] as const;

export type OperationName = (typeof OPERATIONS)[number];

export interface Route {
  op: OperationName;
  bucket: string | null;
  key: string | null;
}

/** Sub-resources that select a bucket-level operation, by method, first match wins. */
const BUCKET_SUBRESOURCES: Record<string, [string, OperationName][]> = {
  GET: [
    ['location', 'GetBucketLocation'], ['versioning', 'GetBucketVersioning'], ['versions', 'ListObjectVersions'],
    ['acl', 'GetBucketAcl'], ['policyStatus', 'GetBucketPolicyStatus'], ['policy', 'GetBucketPolicy'], ['cors', 'GetBucketCors'],
    ['website', 'GetBucketWebsite'], ['uploads', 'ListMultipartUploads'], ['lifecycle', 'GetBucketLifecycleConfiguration'],
    ['tagging', 'GetBucketTagging'], ['encryption', 'GetBucketEncryption'], ['requestPayment', 'GetBucketRequestPayment'],
    ['logging', 'GetBucketLogging'], ['notification', 'GetBucketNotificationConfiguration'], ['object-lock', 'GetObjectLockConfiguration'],
    ['replication', 'GetBucketReplication'], ['accelerate', 'GetBucketAccelerateConfiguration'],
    ['ownershipControls', 'GetBucketOwnershipControls'], ['publicAccessBlock', 'GetPublicAccessBlock'],
  ],
  PUT: [
    ['acl', 'PutBucketAcl'], ['policy', 'PutBucketPolicy'], ['cors', 'PutBucketCors'], ['website', 'PutBucketWebsite'],
    ['versioning', 'PutBucketVersioning'], ['lifecycle', 'PutBucketLifecycleConfiguration'], ['tagging', 'PutBucketTagging'],
    ['encryption', 'PutBucketEncryption'],
  ],
  DELETE: [
    ['policy', 'DeleteBucketPolicy'], ['cors', 'DeleteBucketCors'], ['website', 'DeleteBucketWebsite'],
    ['lifecycle', 'DeleteBucketLifecycle'], ['tagging', 'DeleteBucketTagging'], ['encryption', 'DeleteBucketEncryption'],
  ],
  POST: [['delete', 'DeleteObjects']],
};

/** Bucket sub-resources we recognise but do not serve: AWS answers them, so we must not treat them as a plain list. */
const UNSUPPORTED_BUCKET = ['analytics', 'inventory', 'metrics', 'intelligent-tiering', 'torrent', 'session'];

/**
 * Names the operation of a request. `bucket` and `key` are already taken from the Host and path
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html).
 */
export function route(method: string, bucket: string | null, key: string | null, query: URLSearchParams, headers: Record<string, string | string[] | undefined>): Route {
  const r = (op: OperationName): Route => ({ op, bucket, key });
  if (bucket === null) {
    if (method === 'GET') return r('ListBuckets');
    throw new S3Error('MethodNotAllowed');
  }
  if (key === null) {
    for (const [sub, op] of BUCKET_SUBRESOURCES[method] ?? []) if (query.has(sub)) return r(op);
    if (UNSUPPORTED_BUCKET.some((s) => query.has(s))) throw new S3Error('NotImplemented', 'This sub-resource is not implemented');
    switch (method) {
      case 'GET': return r(query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
      case 'HEAD': return r('HeadBucket');
      case 'PUT': return r('CreateBucket');
      case 'DELETE': return r('DeleteBucket');
      case 'POST':
        // CreateBucketMetadata(Table)Configuration are bucket POSTs too; only a bare POST is a form upload.
        if (query.has('metadataConfiguration') || query.has('metadataTable')) throw new S3Error('NotImplemented', 'This sub-resource is not implemented');
        return r('PostObject');
      default: throw new S3Error('MethodNotAllowed');
    }
  }
  const copySource = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'GET':
      if (query.has('acl')) return r('GetObjectAcl');
      if (query.has('uploadId')) return r('ListParts');
      if (query.has('tagging')) return r('GetObjectTagging');
      if (query.has('attributes')) return r('GetObjectAttributes');
      if (query.has('torrent') || query.has('legal-hold') || query.has('retention')) throw new S3Error('NotImplemented', 'This sub-resource is not implemented');
      return r('GetObject');
    case 'HEAD':
      return r('HeadObject');
    case 'PUT':
      if (query.has('acl')) return r('PutObjectAcl');
      if (query.has('tagging')) return r('PutObjectTagging');
      if (query.has('uploadId') || query.has('partNumber')) return r(copySource ? 'UploadPartCopy' : 'UploadPart');
      if (query.has('legal-hold') || query.has('retention')) throw new S3Error('NotImplemented', 'This sub-resource is not implemented');
      return r(copySource ? 'CopyObject' : 'PutObject');
    case 'DELETE':
      if (query.has('tagging')) return r('DeleteObjectTagging');
      if (query.has('uploadId')) return r('AbortMultipartUpload');
      return r('DeleteObject');
    case 'POST':
      if (query.has('uploads')) return r('CreateMultipartUpload');
      if (query.has('uploadId')) return r('CompleteMultipartUpload');
      if (query.has('restore')) return r('RestoreObject');
      if (query.has('select')) return r('SelectObjectContent');
      throw new S3Error('MethodNotAllowed');
    default:
      throw new S3Error('MethodNotAllowed');
  }
}

/** Splits a decoded path into bucket and key for path-style requests; `vhostBucket` when the Host named it. */
export function splitPath(decodedPath: string, vhostBucket: string | null): { bucket: string | null; key: string | null } {
  const p = decodedPath.startsWith('/') ? decodedPath.slice(1) : decodedPath;
  if (vhostBucket !== null) return { bucket: vhostBucket, key: p === '' ? null : p };
  if (p === '') return { bucket: null, key: null };
  const slash = p.indexOf('/');
  if (slash < 0) return { bucket: p, key: null };
  const key = p.slice(slash + 1);
  return { bucket: p.slice(0, slash), key: key === '' ? null : key };
}

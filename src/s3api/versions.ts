import { isVersionIdSyntax, type BucketInfo, type ObjectInfo } from '#storage';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { mayLearnMissing } from './pipeline.js';

/**
 * The request's `versionId` query parameter: null when absent, InvalidArgument when it is not a
 * version id this store could have issued (nor `null`), as AWS answers a malformed one
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, versionId).
 */
export function versionIdParam(query: URLSearchParams, name = 'versionId'): string | null {
  const v = query.get(name);
  if (v === null) return null;
  if (!isVersionIdSyntax(v))
    throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: name, ArgumentValue: v });
  return v;
}

/** The parameter when well-formed, else null (for lookups made before the handler reports the error). */
export function wellFormedVersionId(query: URLSearchParams): string | null {
  const v = query.get('versionId');
  return v !== null && isVersionIdSyntax(v) ? v : null;
}

/**
 * x-amz-version-id for an answer about `obj`: sent once the bucket has had versioning, or when
 * the request named a version; a bucket never versioned sends none, as AWS
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, x-amz-version-id).
 */
export function versionHeader(
  bucket: BucketInfo,
  obj: Pick<ObjectInfo, 'versionId'>,
  requested: string | null = null,
): Record<string, string> {
  return bucket.versioning || requested !== null || obj.versionId !== 'null'
    ? { 'x-amz-version-id': obj.versionId }
    : {};
}

/** The NoSuchVersion answer for a well-formed id the key does not have. */
export function noSuchVersion(key: string, versionId: string): S3Error {
  return new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: versionId });
}

/**
 * The object (or the version `versionId` names) the request acts on: NoSuchKey / AccessDenied for
 * a missing key as GetObject answers, NoSuchVersion for a missing version, MethodNotAllowed for a
 * delete marker (it has no tags).
 */
export function requireTarget(ctx: S3Context, bucket: BucketInfo, key: string, versionId: string | null): ObjectInfo {
  const storage = ctx.deps.storage;
  const obj = storage.headObject(bucket.name, key, versionId);
  if (obj) return obj;
  if (!mayLearnMissing(ctx, bucket, key)) throw new S3Error('AccessDenied');
  if (versionId === null) throw new S3Error('NoSuchKey', undefined, { Key: key });
  if (storage.objectVersion(bucket.name, key, versionId)?.deleteMarker)
    throw new S3Error('MethodNotAllowed', undefined, { Method: ctx.req.method ?? 'GET', ResourceType: 'DeleteMarker' });
  throw noSuchVersion(key, versionId);
}

/**
 * Object and bucket tagging (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html):
 * Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging, and the tags object writes carry
 * (x-amz-tagging on PutObject and CreateMultipartUpload, x-amz-tagging-directive on CopyObject).
 */
import type { BucketInfo, ObjectInfo, Tag } from '#storage';
import type { OutgoingHttpHeaders } from 'node:http';
import { readSmallBody } from '../body.js';
import type { S3Context } from '../context.js';
import type { ObjectRoute } from '../router.js';
import { S3Error, toS3Error } from '../errors.js';
import { checkAccess, isAllowed } from '../pipeline.js';
import { sendEmpty, sendXml } from '../respond.js';
import { actionOf } from '../actions.js';
import { requireTarget, versionHeader, versionIdParam, wellFormedVersionId } from '../versions.js';
import { parseTaggingHeader, parseTaggingXml, taggingDirective, taggingXml } from '../tagging.js';

export function getObjectTagging(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  const versionId = versionIdParam(ctx.query);
  const obj = requireTarget(ctx, bucket, r.key, versionId);
  for (const [name, v] of Object.entries(versionHeader(bucket, obj, versionId))) ctx.res.setHeader(name, v);
  sendXml(ctx, 'Tagging', taggingXml(obj.tags ?? []));
}

/**
 * Authorized here rather than by the pipeline: s3:RequestObjectTag/<key> and
 * s3:RequestObjectTagKeys come from the body. An unauthorized caller learns nothing from a bad
 * body: access is decided (with no request tags) before the body's own error is answered.
 */
export async function putObjectTagging(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  const key = r.key;
  const body = await readSmallBody(ctx);
  let tags: Tag[] | null = null;
  let problem: S3Error | null = null;
  try {
    if (body.length === 0) throw new S3Error('MissingRequestBodyError');
    tags = parseTaggingXml(body.toString('utf8'), 'object');
  } catch (e) {
    problem = toS3Error(e);
  }
  const versionId = wellFormedVersionId(ctx.query);
  const existing = ctx.deps.storage.headObject(bucket.name, key, versionId);
  checkAccess(ctx, bucket, actionOf('PutObjectTagging', ctx.query.has('versionId'))!, key, existing, tags);
  if (problem) throw problem;
  versionIdParam(ctx.query);
  const obj = requireTarget(ctx, bucket, key, versionId);
  ctx.deps.storage.setObjectTags(bucket.name, key, tags!, versionId);
  sendEmpty(ctx, 200, versionHeader(bucket, obj, versionId));
}

export function deleteObjectTagging(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  const versionId = versionIdParam(ctx.query);
  const obj = requireTarget(ctx, bucket, r.key, versionId);
  ctx.deps.storage.setObjectTags(bucket.name, r.key, [], versionId);
  sendEmpty(ctx, 204, versionHeader(bucket, obj, versionId));
}

export function getBucketTagging(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.tags || bucket.tags.length === 0)
    throw new S3Error('NoSuchTagSet', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'Tagging', taggingXml(bucket.tags));
}

export async function putBucketTagging(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  const tags = parseTaggingXml(body.toString('utf8'), 'bucket');
  // An empty TagSet leaves no tags: GetBucketTagging answers NoSuchTagSet, as after a delete.
  ctx.deps.storage.setBucketTags(bucket.name, tags.length > 0 ? tags : null);
  sendEmpty(ctx, 204);
}

export function deleteBucketTagging(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketTags(bucket.name, null);
  sendEmpty(ctx, 204);
}

/**
 * The tags of a new object from x-amz-tagging (PutObject, CreateMultipartUpload). Writing tags
 * also needs s3:PutObjectTagging, which no ACL grants
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, "Permissions").
 */
export function tagsOfWrite(ctx: S3Context, bucket: BucketInfo, key: string): Tag[] {
  const raw = ctx.req.headers['x-amz-tagging'];
  if (typeof raw !== 'string') return [];
  const tags = parseTaggingHeader(raw);
  if (tags.length > 0)
    checkAccess(ctx, bucket, 's3:PutObjectTagging', key, ctx.deps.storage.headObject(bucket.name, key));
  return tags;
}

/**
 * The tags of a copy: the source's (x-amz-tagging-directive COPY, the default) or the request's
 * (REPLACE). Copying tags needs s3:GetObjectTagging on the source: without it a copy would
 * reveal tags their owner never let the caller read.
 */
export function tagsOfCopy(ctx: S3Context, bucket: BucketInfo, key: string, source: ObjectInfo): Tag[] {
  if (taggingDirective(ctx) === 'REPLACE') return tagsOfWrite(ctx, bucket, key);
  const tags = source.tags ?? [];
  if (tags.length > 0) {
    const sourceBucket = ctx.deps.storage.requireBucket(source.bucket);
    checkAccess(ctx, sourceBucket, 's3:GetObjectTagging', source.key, source);
  }
  return tags;
}

/** x-amz-tagging-count on GET/HEAD: sent when the object has tags and the caller may read them (API_GetObject.html). */
export function applyTagCount(ctx: S3Context, bucket: BucketInfo, obj: ObjectInfo, h: OutgoingHttpHeaders): void {
  const n = obj.tags?.length ?? 0;
  if (n > 0 && isAllowed(ctx, bucket, 's3:GetObjectTagging', obj.key, obj)) h['x-amz-tagging-count'] = String(n);
}

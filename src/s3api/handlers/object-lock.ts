/**
 * S3 Object Lock (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
 * Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold, and the lock
 * parts of other operations: the x-amz-object-lock-* headers of writes, the bypass of
 * governance retention on deletes, and the lock headers of GET and HEAD.
 */
import {
  lockOfNewVersion,
  type BucketInfo,
  type LockState,
  type ObjectInfo,
  type ObjectLockConfig,
  type RemovalOptions,
  type VersionRef,
} from '#storage';
import type { OutgoingHttpHeaders } from 'node:http';
import { hasBodyIntegrity, readSmallBody } from '../body.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import {
  lockConfigurationXml,
  lockResponseHeaders,
  namesLock,
  parseLegalHold,
  parseLockConfiguration,
  parseLockHeaders,
  parseRetention,
  retentionXml,
} from '../object-lock.js';
import { checkAccess, isAllowed } from '../pipeline.js';
import { requireTarget, versionIdParam } from '../versions.js';
import { sendEmpty, sendXml } from '../respond.js';
import type { ObjectRoute } from '../router.js';

/** Lock headers or operations on a bucket created without Object Lock (API_PutObjectRetention.html, "Errors"). */
const missingConfiguration = (): S3Error =>
  new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');

/** The bucket's configuration, or InvalidRequest: the object operations need one. */
function requireConfig(ctx: S3Context, bucket: BucketInfo): ObjectLockConfig {
  const config = ctx.deps.storage.locks.config(bucket.name);
  if (config === null) throw missingConfiguration();
  return config;
}

/**
 * The SDKs compute Content-MD5 or a flexible checksum for these requests (their models mark
 * them httpChecksumRequired); S3 refuses a request without one. The message is S3's.
 */
function requireIntegrity(ctx: S3Context): void {
  if (!hasBodyIntegrity(ctx))
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-Md5.');
}

/** Writes with lock parameters, or into a bucket with a default retention, need one too (API_PutObject.html). */
function requireWriteIntegrity(ctx: S3Context): void {
  if (!hasBodyIntegrity(ctx))
    throw new S3Error(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
}

/** The version an object-level request names: `?versionId=`, else the current one. */
function versionOf(ctx: S3Context, bucket: BucketInfo, key: string): VersionRef {
  const object = requireTarget(ctx, bucket, key, versionIdParam(ctx.query));
  return { bucket: bucket.name, key, versionId: object.versionId };
}

/**
 * x-amz-bypass-governance-retention: true, honoured only for a caller holding
 * s3:BypassGovernanceRetention (object-lock.html#object-lock-retention-modes). The bucket owner
 * holds it unless the policy denies it.
 */
export function removalOptions(ctx: S3Context, bucket: BucketInfo, key: string): RemovalOptions {
  const asked = header(ctx, 'x-amz-bypass-governance-retention')?.trim().toLowerCase() === 'true';
  return { bypassGovernance: asked && isAllowed(ctx, bucket, 's3:BypassGovernanceRetention', key, null) };
}

/**
 * PutObjectLockConfiguration. On a bucket without Object Lock it enables it, which AWS allows
 * today on any bucket with versioning Enabled (object-lock-configure.html#object-lock-configure-existing-bucket;
 * the x-amz-bucket-object-lock-token that once gated this is no longer needed).
 */
export async function putObjectLockConfiguration(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = await readSmallBody(ctx);
  requireIntegrity(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  const config = parseLockConfiguration(body.toString('utf8'));
  const locks = ctx.deps.storage.locks;
  if (locks.config(bucket.name) === null && bucket.versioning !== 'Enabled')
    throw new S3Error(
      'InvalidBucketState',
      "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    );
  locks.setConfig(bucket.name, config);
  sendEmpty(ctx, 200);
}

export function getObjectLockConfiguration(ctx: S3Context, bucket: BucketInfo): void {
  const config = ctx.deps.storage.locks.config(bucket.name);
  if (config === null) throw new S3Error('ObjectLockConfigurationNotFoundError');
  sendXml(ctx, 'ObjectLockConfiguration', lockConfigurationXml(config));
}

const noLockOnObject = (): S3Error => new S3Error('NoSuchObjectLockConfiguration');

export async function putObjectRetention(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  requireConfig(ctx, bucket);
  const body = await readSmallBody(ctx);
  requireIntegrity(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  const retention = parseRetention(body.toString('utf8'), ctx.deps.now());
  const ref = versionOf(ctx, bucket, r.key);
  ctx.deps.storage.locks.setRetention(ref, retention, removalOptions(ctx, bucket, r.key));
  sendEmpty(ctx, 200);
}

export function getObjectRetention(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  requireConfig(ctx, bucket);
  const ref = versionOf(ctx, bucket, r.key);
  const retention = ctx.deps.storage.locks.lock(ref).retention;
  if (retention === null) throw noLockOnObject();
  sendXml(ctx, 'Retention', retentionXml(retention));
}

export async function putObjectLegalHold(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  requireConfig(ctx, bucket);
  const body = await readSmallBody(ctx);
  requireIntegrity(ctx);
  if (body.length === 0) throw new S3Error('MissingRequestBodyError');
  const on = parseLegalHold(body.toString('utf8'));
  const ref = versionOf(ctx, bucket, r.key);
  ctx.deps.storage.locks.setLegalHold(ref, on);
  sendEmpty(ctx, 200);
}

export function getObjectLegalHold(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  requireConfig(ctx, bucket);
  const ref = versionOf(ctx, bucket, r.key);
  const hold = ctx.deps.storage.locks.lock(ref).legalHold;
  if (hold === null) throw noLockOnObject();
  sendXml(ctx, 'LegalHold', { Status: hold ? 'ON' : 'OFF' });
}

/**
 * What a write's x-amz-object-lock-* headers ask for, checked: InvalidRequest on a bucket
 * without Object Lock, the header errors of parseLockHeaders(), and the permissions each needs
 * (s3:PutObjectRetention, s3:PutObjectLegalHold; API_PutObject.html, "Permissions").
 */
export function requestedLock(ctx: S3Context, bucket: BucketInfo, key: string): LockState {
  const none: LockState = { retention: null, legalHold: null };
  if (!namesLock(ctx.req.headers)) return none;
  requireConfig(ctx, bucket);
  const requested = parseLockHeaders(ctx.req.headers, ctx.deps.now());
  if (requested.retention) checkAccess(ctx, bucket, 's3:PutObjectRetention', key, null);
  if (requested.legalHold !== null) checkAccess(ctx, bucket, 's3:PutObjectLegalHold', key, null);
  return requested;
}

/**
 * The lock of a version PutObject or CopyObject creates: the request's, else the bucket's
 * default retention; undefined on a bucket without Object Lock. `body`: the request carries
 * the object's bytes, which must then come with Content-MD5 or a checksum.
 */
export function lockOfWrite(ctx: S3Context, bucket: BucketInfo, key: string, body: boolean): LockState | undefined {
  const requested = requestedLock(ctx, bucket, key);
  const config = ctx.deps.storage.locks.config(bucket.name);
  if (config === null) return undefined;
  const lock = lockOfNewVersion(requested, config, ctx.deps.now());
  if (body && (lock.retention !== null || lock.legalHold !== null)) requireWriteIntegrity(ctx);
  return lock;
}

/** The lock a version gets from the bucket's default retention alone (PostObject). */
export function defaultLock(ctx: S3Context, bucket: BucketInfo): LockState | undefined {
  const config = ctx.deps.storage.locks.config(bucket.name);
  return config === null ? undefined : lockOfNewVersion({ retention: null, legalHold: null }, config, ctx.deps.now());
}

/** CreateMultipartUpload: keeps what the headers ask for, to apply on completion. */
export function rememberUploadLock(ctx: S3Context, uploadId: string, lock: LockState): void {
  ctx.deps.storage.locks.setUploadLock(uploadId, lock);
}

/** UploadPart of an upload whose object will be locked needs Content-MD5 or a checksum, as PutObject. */
export function checkPartIntegrity(ctx: S3Context, bucket: BucketInfo, uploadId: string): void {
  const config = ctx.deps.storage.locks.config(bucket.name);
  if (config === null) return;
  const requested = ctx.deps.storage.locks.uploadLock(uploadId);
  if (config.rule !== null || requested !== null) requireWriteIntegrity(ctx);
}

/** CompleteMultipartUpload: the lock the upload asked for, else the bucket's default retention at completion. */
export function lockOfCompletion(ctx: S3Context, bucket: BucketInfo, uploadId: string): LockState | undefined {
  const config = ctx.deps.storage.locks.config(bucket.name);
  if (config === null) return undefined;
  const requested = ctx.deps.storage.locks.uploadLock(uploadId) ?? { retention: null, legalHold: null };
  return lockOfNewVersion(requested, config, ctx.deps.now());
}

/**
 * The x-amz-object-lock-* headers of GET and HEAD, for callers who may read them
 * (s3:GetObjectRetention, s3:GetObjectLegalHold; object-lock-managing.html).
 */
export function applyLockHeaders(ctx: S3Context, bucket: BucketInfo, obj: ObjectInfo, h: OutgoingHttpHeaders): void {
  const locks = ctx.deps.storage.locks;
  if (locks.config(bucket.name) === null) return;
  const state = locks.lock({ bucket: bucket.name, key: obj.key, versionId: obj.versionId });
  if (state.retention === null && state.legalHold === null) return;
  Object.assign(
    h,
    lockResponseHeaders(state, {
      retention: state.retention !== null && isAllowed(ctx, bucket, 's3:GetObjectRetention', obj.key, obj),
      legalHold: state.legalHold !== null && isAllowed(ctx, bucket, 's3:GetObjectLegalHold', obj.key, obj),
    }),
  );
}

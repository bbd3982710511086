import type { BucketInfo } from '#storage';
import type { S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { readSmallBody } from '../body.js';
import { isoDate, sendEmpty, sendXml } from '../respond.js';
import { child, parseXml, text } from '../xml.js';
import { bucketAclAllowsEnforced } from '../acl-guard.js';
import { aclFromHeaders } from './access.js';
import { requestedOwnership } from './guards.js';

export function listBuckets(ctx: S3Context): void {
  const addon = ctx.addon!;
  const buckets = ctx.deps.storage.bucketsOf(addon.id);
  sendXml(ctx, 'ListAllMyBucketsResult', {
    Owner: { ID: addon.id, DisplayName: addon.name },
    Buckets: {
      Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt), BucketRegion: b.region })),
    },
  });
}

/**
 * CreateBucket. The optional CreateBucketConfiguration must name this service's region, or be
 * empty (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
 */
export async function createBucket(ctx: S3Context, name: string): Promise<void> {
  const addon = ctx.addon!;
  const body = await readSmallBody(ctx);
  const region = ctx.deps.config.region;
  if (body.length > 0) {
    const doc = parseXml(body.toString('utf8'));
    const conf = child(doc, 'CreateBucketConfiguration');
    if (conf === undefined) throw new S3Error('MalformedXML');
    const constraint = text(conf, 'LocationConstraint');
    // DEVIATION: AWS refuses a constraint naming another region; clients configured for a
    // default AWS region (s3cmd's "US") send one, so any value is accepted and stored as ours.
    if (constraint !== undefined && !/^[A-Za-z0-9-]*$/.test(constraint)) throw new S3Error('InvalidLocationConstraint');
  }
  const owner = { id: addon.id, displayName: addon.name };
  const acl = aclFromHeaders(ctx, owner, owner);
  const ownership = requestedOwnership(ctx);
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-new-bucket.html
  if (ownership === 'BucketOwnerEnforced' && acl !== null && !bucketAclAllowsEnforced({ ownerId: addon.id, acl }))
    throw new S3Error('InvalidBucketAclWithObjectOwnership');
  const storage = ctx.deps.storage;
  // x-amz-bucket-object-lock-enabled: true creates the bucket with Object Lock on, and with it
  // versioning (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
  const locked = ctx.req.headers['x-amz-bucket-object-lock-enabled']?.toString().trim().toLowerCase() === 'true';
  storage.locks.atomically(() => {
    storage.createBucket(addon, name, region, acl, ownership);
    if (locked) {
      storage.setBucketVersioning(name, 'Enabled');
      storage.locks.setConfig(name, { enabled: true, rule: null });
    }
  });
  sendEmpty(ctx, 200, { location: `/${name}` });
}

export function headBucket(ctx: S3Context, bucket: BucketInfo): void {
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': bucket.region });
}

export function deleteBucket(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.deleteBucket(bucket.name);
  sendEmpty(ctx, 204);
}

/** us-east-1 is reported as an empty LocationConstraint, as AWS does. */
export function getBucketLocation(ctx: S3Context, bucket: BucketInfo): void {
  sendXml(ctx, 'LocationConstraint', { '#text': bucket.region === 'us-east-1' ? '' : bucket.region });
}

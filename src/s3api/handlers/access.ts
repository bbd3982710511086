import {
  aclFromGrantHeaders,
  cannedAcl,
  parsePolicy,
  policyIsPublic,
  policyAddonIds,
  type Acl,
  type BucketInfo,
  type ObjectInfo,
  type Owner,
} from '#storage';
import { aclFromXml, aclToXml, type GranteeResolver } from '../acl-xml.js';
import { checkRequestedAcl } from '../acl-guard.js';
import { readSmallBody } from '../body.js';
import { header, type S3Context } from '../context.js';
import { S3Error } from '../errors.js';
import { sendEmpty, sendXml } from '../respond.js';
import type { ObjectRoute } from '../router.js';
import { requireTarget, versionHeader, versionIdParam } from '../versions.js';

function resolver(ctx: S3Context): GranteeResolver {
  const storage = ctx.deps.storage;
  return {
    byEmail: (email) => {
      const a = storage.addonByEmail(email);
      return a ? { id: a.id, displayName: a.name } : null;
    },
    exists: (id) => storage.addon(id) !== null,
  };
}

function displayName(ctx: S3Context): (id: string) => string | undefined {
  return (id) => ctx.deps.storage.addon(id)?.name;
}

/**
 * The new ACL of a PutBucketAcl/PutObjectAcl: from x-amz-acl, x-amz-grant-* headers or the XML
 * body - exactly one of them (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html).
 */
async function aclFromRequest(ctx: S3Context, owner: Owner, bucketOwner: Owner): Promise<Acl> {
  const body = await readSmallBody(ctx);
  const fromHeaders = aclFromHeaders(ctx, owner, bucketOwner);
  if (fromHeaders && body.length > 0) throw new S3Error('UnexpectedContent', 'This request does not support content');
  if (fromHeaders) return fromHeaders;
  if (body.length === 0)
    throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', {
      MissingHeaderName: 'x-amz-acl',
    });
  return aclFromXml(body.toString('utf8'), owner, resolver(ctx));
}

/**
 * The ACL given by x-amz-acl or the x-amz-grant-* headers (never both: InvalidRequest), with
 * e-mail grantees resolved; null when the request names none. CreateBucket, PutObject, CopyObject
 * and CreateMultipartUpload take their ACL from here too.
 */
export function aclFromHeaders(ctx: S3Context, owner: Owner, bucketOwner: Owner): Acl | null {
  const grants = aclFromGrantHeaders(ctx.req.headers, owner);
  const canned = header(ctx, 'x-amz-acl');
  if (canned !== undefined) return cannedAcl(canned, owner, bucketOwner);
  return grants && resolveEmails(ctx, grants);
}

/** Grant headers may name e-mail addresses; grants always store add-on ids. */
function resolveEmails(ctx: S3Context, acl: Acl): Acl {
  const r = resolver(ctx);
  return {
    owner: acl.owner,
    grants: acl.grants.map((g) => {
      if (g.grantee.type !== 'AmazonCustomerByEmail') {
        if (g.grantee.type === 'CanonicalUser' && !r.exists(g.grantee.id))
          throw new S3Error('InvalidArgument', 'Invalid id', {
            ArgumentName: 'CanonicalUser/ID',
            ArgumentValue: g.grantee.id,
          });
        return g;
      }
      const o = r.byEmail(g.grantee.email);
      if (!o) throw new S3Error('UnresolvableGrantByEmailAddress', undefined, { EmailAddress: g.grantee.email });
      return { grantee: { type: 'CanonicalUser', id: o.id, displayName: o.displayName }, permission: g.permission };
    }),
  };
}

export function getBucketAcl(ctx: S3Context, bucket: BucketInfo): void {
  sendXml(ctx, 'AccessControlPolicy', aclToXml(bucket.acl, displayName(ctx)));
}

export async function putBucketAcl(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const acl = await aclFromRequest(ctx, bucket.acl.owner, bucket.acl.owner);
  checkRequestedAcl(bucket, acl);
  ctx.deps.storage.setBucketAcl(bucket.name, acl);
  sendEmpty(ctx, 200);
}

/**
 * Objects written before any ACL was set carry none: they are private to their owner. With ACLs
 * disabled every object is the bucket owner's, whatever it was written with.
 */
function objectAcl(ctx: S3Context, bucket: BucketInfo, o: ObjectInfo): Acl {
  if (bucket.ownership === 'BucketOwnerEnforced') return cannedAcl('private', bucket.acl.owner, bucket.acl.owner);
  if (o.acl) return o.acl;
  const owner = { id: o.ownerId, displayName: ctx.deps.storage.addon(o.ownerId)?.name ?? o.ownerId };
  return cannedAcl('private', owner, bucket.acl.owner);
}

export function getObjectAcl(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): void {
  const versionId = versionIdParam(ctx.query);
  const o = requireTarget(ctx, bucket, r.key, versionId);
  for (const [name, v] of Object.entries(versionHeader(bucket, o, versionId))) ctx.res.setHeader(name, v);
  sendXml(ctx, 'AccessControlPolicy', aclToXml(objectAcl(ctx, bucket, o), displayName(ctx)));
}

export async function putObjectAcl(ctx: S3Context, bucket: BucketInfo, r: ObjectRoute): Promise<void> {
  const versionId = versionIdParam(ctx.query);
  const o = requireTarget(ctx, bucket, r.key, versionId);
  const current = objectAcl(ctx, bucket, o);
  const acl = await aclFromRequest(ctx, current.owner, bucket.acl.owner);
  checkRequestedAcl(bucket, acl);
  ctx.deps.storage.setObjectAcl(bucket.name, o.key, acl, versionId);
  sendEmpty(ctx, 200, versionHeader(bucket, o, versionId));
}

export function getBucketPolicy(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.policy) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket.name });
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(bucket.policy) });
  ctx.res.end(bucket.policy);
}

/** Validated, every named add-on must exist, and the document is kept as sent. */
export async function putBucketPolicy(ctx: S3Context, bucket: BucketInfo): Promise<void> {
  const body = (await readSmallBody(ctx, 64 * 1024)).toString('utf8');
  if (body.trim() === '')
    throw new S3Error('MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'");
  const doc = parsePolicy(body, bucket.name);
  for (const id of policyAddonIds(doc)) {
    if (!ctx.deps.storage.addon(id))
      throw new S3Error('MalformedPolicy', 'Invalid principal in policy', { Detail: id });
  }
  if (bucket.publicAccessBlock?.blockPublicPolicy && policyIsPublic(doc)) throw new S3Error('AccessDenied');
  ctx.deps.storage.setBucketPolicy(bucket.name, body);
  sendEmpty(ctx, 204);
}

export function deleteBucketPolicy(ctx: S3Context, bucket: BucketInfo): void {
  ctx.deps.storage.setBucketPolicy(bucket.name, null);
  sendEmpty(ctx, 204);
}

/** IsPublic as Block Public Access defines a public policy (policyIsPublic). */
export function getBucketPolicyStatus(ctx: S3Context, bucket: BucketInfo): void {
  if (!bucket.policy) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket.name });
  sendXml(ctx, 'PolicyStatus', { IsPublic: policyIsPublic(parsePolicy(bucket.policy, bucket.name)) });
}

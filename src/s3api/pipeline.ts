import {
  anonymousRead,
  authorize,
  existingObjectTagContext,
  parseAuth,
  parsePolicy,
  policyMayAllow,
  restrictedPolicy,
  storedPolicy,
  verifyAuth,
  type AuthRequest,
  type AuthorizeResult,
  type BucketInfo,
  type ObjectInfo,
  type RequestContext,
  type Tag,
} from '#storage';
import type { IncomingMessage } from 'node:http';
import { ACTIONS, actionOf } from './actions.js';
import type { S3Context, S3Deps } from './context.js';
import { S3Error } from './errors.js';
import { keyOf, type Route } from './router.js';
import { headerTags, requestTagContext } from './tagging.js';

export interface Authenticated {
  principal: S3Context['principal'];
  addon: S3Context['addon'];
  auth: S3Context['auth'];
  payloadHash: string | null;
  signed: boolean;
}

/** Verifies the request signature; unsigned requests are the anonymous principal. */
export function authenticate(
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  vhostBucket: string | null,
  deps: S3Deps,
): Authenticated {
  const ar: AuthRequest = { method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers };
  const info = parseAuth(ar);
  if (info.type === 'anonymous')
    return { principal: { type: 'anonymous' }, addon: null, auth: null, payloadHash: null, signed: false };
  const addon = deps.storage.addonByAccessKey(info.accessKeyId);
  if (!addon) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: info.accessKeyId });
  const auth = verifyAuth(ar, info, addon.secretAccessKey, { now: deps.now(), vhostBucket });
  const payloadHash = info.type === 'v4' ? info.payloadHash : null;
  return { principal: { type: 'addon', id: addon.id }, addon, auth, payloadHash, signed: true };
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Condition keys of the request (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html). */
export function requestContext(ctx: Pick<S3Context, 'req' | 'query' | 'secure' | 'deps' | 'addon'>): RequestContext {
  const now = ctx.deps.now();
  const ip = (ctx.req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const c: RequestContext = {
    'aws:sourceip': ip,
    'aws:securetransport': ctx.secure ? 'true' : 'false',
    'aws:referer': firstHeader(ctx.req.headers.referer),
    'aws:useragent': firstHeader(ctx.req.headers['user-agent']),
    'aws:currenttime': now.toISOString(),
    'aws:epochtime': String(Math.floor(now.getTime() / 1000)),
    's3:x-amz-acl': firstHeader(ctx.req.headers['x-amz-acl']),
  };
  if (ctx.addon) {
    c['aws:username'] = ctx.addon.name;
    c['aws:userid'] = ctx.addon.id;
  }
  for (const k of ['prefix', 'delimiter', 'max-keys'] as const) {
    const v = ctx.query.get(k);
    if (v !== null) c[`s3:${k}`] = v;
  }
  return c;
}

const POLICY_OPS: ReadonlySet<Route['op']> = new Set(['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy']);

export function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

/** Actions whose request carries a tag set for the object: the s3:RequestObjectTag keys apply to them. */
const TAG_WRITES = new Set(['s3:PutObject', 's3:PutObjectTagging']);

/**
 * `requestTags`: the tag set the request writes, when the caller has it (PutObjectTagging's
 * body); otherwise the x-amz-tagging header's, for the writes that carry one.
 */
function decide(
  ctx: S3Context,
  bucket: BucketInfo,
  action: string,
  key: string | null,
  object: ObjectInfo | null,
  requestTags?: Tag[] | null,
): AuthorizeResult {
  const tags = TAG_WRITES.has(action) ? (requestTags === undefined ? headerTags(ctx) : requestTags) : null;
  return authorize({
    principal: ctx.principal,
    bucketOwnerId: bucket.ownerId,
    action,
    resource: key === null ? `arn:aws:s3:::${bucket.name}` : objectArn(bucket.name, key),
    policy: bucket.policy ? parsePolicy(bucket.policy, bucket.name) : null,
    bucketAcl: bucket.acl,
    objectAcl: object?.acl ?? null,
    context: { ...requestContext(ctx), ...existingObjectTagContext(object?.tags), ...requestTagContext(tags) },
    guards: bucket,
  });
}

/** Throws AccessDenied unless the principal may perform `action` on the bucket or one of its objects. */
/** Whether the principal may perform `action`, for optional parts of an answer (x-amz-tagging-count). */
export function isAllowed(
  ctx: S3Context,
  bucket: BucketInfo,
  action: string,
  key: string | null,
  object: ObjectInfo | null,
): boolean {
  return decide(ctx, bucket, action, key, object).allowed;
}

export function checkAccess(
  ctx: S3Context,
  bucket: BucketInfo,
  action: string,
  key: string | null,
  object: ObjectInfo | null,
  requestTags?: Tag[] | null,
): void {
  if (!decide(ctx, bucket, action, key, object, requestTags).allowed) throw new S3Error('AccessDenied');
}

export type AnonymousObjectAnswer = 'read' | 'NoSuchKey' | 'AccessDenied';

/**
 * The anonymous GetObject/HeadObject answer: the decision the website and the certificate gate
 * share, with the S3 API's rule for a missing key (NoSuchKey only to whoever may list).
 */
export function anonymousObjectAnswer(
  bucket: BucketInfo,
  key: string,
  object: Pick<ObjectInfo, 'acl' | 'tags'> | null,
  context: RequestContext,
): AnonymousObjectAnswer {
  const d = anonymousRead({
    bucket: bucket.name,
    bucketOwnerId: bucket.ownerId,
    bucketAcl: bucket.acl,
    policy: storedPolicy(bucket),
    key,
    object,
    context,
    guards: bucket,
  });
  if (object !== null) return d.allowed ? 'read' : 'AccessDenied';
  return d.notFound ? 'NoSuchKey' : 'AccessDenied';
}

/**
 * Whether the caller learns that `key` is missing (NoSuchKey) rather than AccessDenied: only
 * with s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
 */
export function mayLearnMissing(ctx: S3Context, bucket: BucketInfo, key: string): boolean {
  if (ctx.principal.type === 'anonymous')
    return anonymousObjectAnswer(bucket, key, null, requestContext(ctx)) === 'NoSuchKey';
  return decide(ctx, bucket, 's3:ListBucket', null, null).allowed;
}

/**
 * Authorizes the routed operation on `found`, the bucket it names as the caller already looked
 * it up (null when missing or none), and for object operations on `object`, the key's row as the
 * caller looked it up (null when missing). A missing bucket is NoSuchBucket whoever asks, as on S3.
 */
export function authorizeRoute(
  ctx: S3Context,
  r: Route,
  found: BucketInfo | null,
  object: ObjectInfo | null,
): BucketInfo | null {
  const need = ACTIONS[r.op];
  if (need === null) {
    if (ctx.principal.type === 'anonymous') throw new S3Error('AccessDenied');
    return found;
  }
  if (found === null) throw new S3Error('NoSuchBucket', undefined, { BucketName: 'bucket' in r ? r.bucket : '' });
  const bucket = found;
  // A request naming a version needs the operation's *Version action.
  const versioned = ctx.query.has('versionId');
  const action = actionOf(r.op, versioned)!;
  // DeleteObjects is authorized per key by its handler, PutObjectTagging by its handler once it
  // has read the tag set (the s3:RequestObjectTag condition keys come from it). Both only after
  // this check, made before the body is read: a caller no grant could ever allow gets no
  // document parsed.
  // DEVIATION: for a caller who may delete nothing, AWS reads the body and answers 200 with
  // AccessDenied per key; Cellar answers 403 AccessDenied for the whole request (no body work
  // before permission).
  if (r.op === 'DeleteObjects' || r.op === 'PutObjectTagging') {
    // The keys of a DeleteObjects may name versions (s3:DeleteObjectVersion) or not: either may do.
    const mayDelete = r.op === 'DeleteObjects' && mightBeAllowed(ctx, bucket, 's3:DeleteObjectVersion');
    if (!mayDelete && !mightBeAllowed(ctx, bucket, action)) throw new S3Error('AccessDenied');
    return bucket;
  }
  // PostObject is authenticated by its form, not the Authorization header, and authorized by its handler.
  if (r.op === 'PostObject') return bucket;
  // The owner can always manage the policy, even one that denies it everything, or a bad
  // policy would lock the bucket forever (https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html).
  if (POLICY_OPS.has(r.op) && ctx.principal.type === 'addon' && ctx.principal.id === bucket.ownerId) return bucket;
  // Others never touch the policy, even when it grants them the action: 403 without the
  // permission, 405 with it (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html).
  if (POLICY_OPS.has(r.op)) {
    checkAccess(ctx, bucket, action, null, null);
    throw new S3Error('MethodNotAllowed');
  }
  const key = keyOf(r);
  // The anonymous read of the current version is decided as the website and the certificate gate decide it.
  if (ctx.principal.type === 'anonymous' && !versioned && (r.op === 'GetObject' || r.op === 'HeadObject')) {
    if (anonymousObjectAnswer(bucket, r.key, object, requestContext(ctx)) === 'AccessDenied')
      throw new S3Error('AccessDenied');
    return bucket;
  }
  // A missing key has no ACL to grant the read: the handler answers NoSuchKey to whoever may list
  // the bucket and AccessDenied to others, unless the policy denies the read outright
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
  if (object === null && (r.op === 'GetObject' || r.op === 'HeadObject')) {
    if (decide(ctx, bucket, action, key, null).reason === 'policy-deny') throw new S3Error('AccessDenied');
    return bucket;
  }
  if ((r.op === 'AbortMultipartUpload' || r.op === 'ListParts') && isInitiator(ctx, bucket, r.key, r.uploadId)) {
    if (decide(ctx, bucket, action, key, object).reason === 'policy-deny') throw new S3Error('AccessDenied');
    return bucket;
  }
  checkAccess(ctx, bucket, action, need.target === 'object' ? key : null, object);
  return bucket;
}

/** Owner, bucket ACL WRITE, or a policy Allow that might cover some key: resources and conditions aside. */
function mightBeAllowed(ctx: S3Context, bucket: BucketInfo, action: string): boolean {
  const withoutPolicy = authorize({
    principal: ctx.principal,
    bucketOwnerId: bucket.ownerId,
    action,
    resource: `arn:aws:s3:::${bucket.name}`,
    policy: null,
    bucketAcl: bucket.acl,
    objectAcl: null,
    context: {},
    guards: bucket,
  });
  return (
    withoutPolicy.allowed ||
    (bucket.policy !== null &&
      policyMayAllow(restrictedPolicy(parsePolicy(bucket.policy, bucket.name), bucket), ctx.principal, action))
  );
}

/**
 * No ACL grants AbortMultipartUpload or ListParts: besides the bucket owner and policy grants,
 * the upload's initiator may (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
 */
function isInitiator(ctx: S3Context, bucket: BucketInfo, key: string, uploadId: string): boolean {
  if (ctx.principal.type !== 'addon') return false;
  const upload = ctx.deps.storage.multipart.findUpload(uploadId);
  return upload !== null && upload.bucket === bucket.name && upload.key === key && upload.ownerId === ctx.principal.id;
}

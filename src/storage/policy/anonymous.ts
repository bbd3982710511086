/**
 * The one answer to "may the anonymous visitor read this key?", shared by the S3 API, the
 * website and the certificate gate so that they never disagree about what is public.
 */
import type { Acl } from './acl.js';
import { authorize, type AuthorizeReason } from './authorize.js';
import type { RequestContext } from './conditions.js';
import { parsePolicy, type PolicyDocument } from './document.js';
import type { BucketGuards } from './guards.js';
import { existingObjectTagContext } from './tags.js';

const ANONYMOUS = { type: 'anonymous' } as const;

/** A stored policy as read: 'unreadable' when it no longer parses. */
export type StoredPolicy = PolicyDocument | null | 'unreadable';

/** Parses a bucket's stored policy once, for any number of decisions. */
export function storedPolicy(bucket: { name: string; policy: string | null }): StoredPolicy {
  if (!bucket.policy) return null;
  try {
    return parsePolicy(bucket.policy, bucket.name);
  } catch {
    // Stored policies were validated on the way in; one that no longer parses is not trusted
    // to grant anything, nor to leave the ACLs alone (its Deny statements are unknown).
    return 'unreadable';
  }
}

export interface AnonymousReadInput {
  bucket: string;
  bucketOwnerId: string;
  bucketAcl: Acl;
  policy: StoredPolicy;
  key: string;
  /** The object under `key` (its ACL, null when none is stored; its tags), or null when there is none. */
  object: { acl: Acl | null; tags?: ReadonlyArray<{ key: string; value: string }> } | null;
  /** The request's condition keys (aws:SecureTransport, aws:Referer, aws:SourceIp, ...). */
  context: RequestContext;
  /**
   * The bucket's Block Public Access and Object Ownership settings (a BucketInfo will do):
   * every reader passes them, so that a blocked grant is blocked on the website too.
   */
  guards: BucketGuards;
}

export interface AnonymousRead {
  /**
   * s3:GetObject on the key is granted: an existing object is served. For a missing key only a
   * policy can grant it, as there is no object ACL.
   */
  allowed: boolean;
  /** What decided `allowed` ('policy-deny': an explicit Deny, which beats every grant). */
  reason: AuthorizeReason | 'unreadable-policy';
  /** s3:ListBucket on the bucket is granted (a bucket ACL READ, or the policy). */
  mayList: boolean;
  /**
   * For a missing key, the visitor is told so (NoSuchKey / 404) rather than AccessDenied / 403:
   * only with s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
   * "Permissions"), and never past a Deny of the read itself.
   */
  notFound: boolean;
  /**
   * The same for the website, which also answers 404 when the policy grants the read of the key.
   * DEVIATION: AWS website endpoints answer 403 there unless s3:ListBucket is granted too. To a
   * visitor who would get any existing key with 200, a 404 reveals nothing more, and the
   * documented public-bucket policy grants s3:GetObject only: its sites need their 404 page.
   */
  websiteNotFound: boolean;
}

const NOTHING: AnonymousRead = {
  allowed: false,
  reason: 'unreadable-policy',
  mayList: false,
  notFound: false,
  websiteNotFound: false,
};

export function anonymousRead(i: AnonymousReadInput): AnonymousRead {
  if (i.policy === 'unreadable') return NOTHING;
  const base = {
    bucketOwnerId: i.bucketOwnerId,
    policy: i.policy,
    bucketAcl: i.bucketAcl,
    context: i.context,
    principal: ANONYMOUS,
    guards: i.guards,
  };
  const read = authorize({
    ...base,
    action: 's3:GetObject',
    resource: `arn:aws:s3:::${i.bucket}/${i.key}`,
    // authorize() reads a null object ACL as "no grants", which is what a missing key has.
    objectAcl: i.object?.acl ?? null,
    // A policy may open (or close) objects by their tags, for the website as for the S3 API.
    context: { ...i.context, ...existingObjectTagContext(i.object?.tags) },
  });
  const mayList = authorize({
    ...base,
    action: 's3:ListBucket',
    resource: `arn:aws:s3:::${i.bucket}`,
    objectAcl: null,
  }).allowed;
  const missing = i.object === null && read.reason !== 'policy-deny';
  return {
    allowed: read.allowed,
    reason: read.reason,
    mayList,
    notFound: missing && mayList,
    websiteNotFound: missing && (mayList || read.allowed),
  };
}

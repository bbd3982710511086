import { aclAllows, type Acl } from './acl.js';
import { aclPermissionFor } from './actions.js';
import type { RequestContext } from './conditions.js';
import type { PolicyDocument, Principal } from './document.js';
import { evaluatePolicy } from './evaluate.js';
import { effectiveAcl, restrictedPolicy, type BucketGuards } from './guards.js';

export interface AuthorizeInput {
  principal: Principal;
  bucketOwnerId: string;
  action: string;
  resource: string;
  policy: PolicyDocument | null;
  bucketAcl: Acl;
  /** The object's ACL for object actions on an existing object; null otherwise. */
  objectAcl: Acl | null;
  context: RequestContext;
  /** The bucket's Block Public Access and Object Ownership settings, when it has any. */
  guards?: BucketGuards;
}

export type AuthorizeReason = 'policy-deny' | 'owner' | 'policy-allow' | 'acl' | 'default-deny';
export interface AuthorizeResult {
  allowed: boolean;
  reason: AuthorizeReason;
}

/**
 * The S3 access decision for one request: an explicit Deny in the bucket policy wins even
 * over the owner; then the bucket owner; then a policy Allow; then an ACL grant (the object
 * ACL for object permissions, the bucket ACL for bucket ones); otherwise denied. The bucket's
 * guards take away what they block: public policy statements under RestrictPublicBuckets,
 * public ACL grants under IgnorePublicAcls, every ACL grant under BucketOwnerEnforced.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html
 */
export function authorize(i: AuthorizeInput): AuthorizeResult {
  const policy = i.policy && restrictedPolicy(i.policy, i.guards);
  const decision = policy
    ? evaluatePolicy(policy, { principal: i.principal, action: i.action, resource: i.resource, context: i.context })
    : 'none';
  if (decision === 'deny') return { allowed: false, reason: 'policy-deny' };
  if (i.principal.type === 'addon' && i.principal.id === i.bucketOwnerId) return { allowed: true, reason: 'owner' };
  if (decision === 'allow') return { allowed: true, reason: 'policy-allow' };
  const need = aclPermissionFor(i.action);
  const acl = effectiveAcl(
    need?.target === 'object' ? i.objectAcl : need?.target === 'bucket' ? i.bucketAcl : null,
    i.guards,
  );
  if (need && acl && aclAllows(acl, i.principal, need.permission)) return { allowed: true, reason: 'acl' };
  return { allowed: false, reason: 'default-deny' };
}

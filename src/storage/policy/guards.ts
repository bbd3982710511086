/**
 * Bucket guards: S3 Block Public Access and Object Ownership, as they bear on access decisions
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
 */
import { ALL_USERS_URI, AUTHENTICATED_USERS_URI, type Acl, type Grant } from './acl.js';
import type { Condition } from './conditions.js';
import { parseCidr } from './conditions.js';
import type { PolicyDocument, Statement } from './document.js';

/** PublicAccessBlockConfiguration; a flag left out of the document is false. */
export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

export const OBJECT_OWNERSHIPS = ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced'] as const;
export type ObjectOwnership = (typeof OBJECT_OWNERSHIPS)[number];

/** What a bucket carries of both; absent or null: never set (ACLs in force, nothing blocked). */
export interface BucketGuards {
  publicAccessBlock?: PublicAccessBlock | null;
  ownership?: ObjectOwnership | null;
}

const PUBLIC_GROUPS = new Set([ALL_USERS_URI, AUTHENTICATED_USERS_URI]);

/** Grants to AllUsers or AuthenticatedUsers are the public ones (block-public-access.html, "The meaning of public"). */
export function isPublicGrant(g: Grant): boolean {
  return g.grantee.type === 'Group' && PUBLIC_GROUPS.has(g.grantee.uri);
}

export function aclIsPublic(acl: Acl): boolean {
  return acl.grants.some(isPublicGrant);
}

/**
 * The ACL as authorization reads it under the bucket's guards: none at all when ACLs are
 * disabled (BucketOwnerEnforced), without its public grants under IgnorePublicAcls.
 */
export function effectiveAcl(acl: Acl | null, guards: BucketGuards | undefined): Acl | null {
  if (acl === null || guards === undefined) return acl;
  if (guards.ownership === 'BucketOwnerEnforced') return null;
  if (guards.publicAccessBlock?.ignorePublicAcls && aclIsPublic(acl))
    return { owner: acl.owner, grants: acl.grants.filter((g) => !isPublicGrant(g)) };
  return acl;
}

/**
 * Condition keys whose fixed values make a statement non-public ("The meaning of public":
 * aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount,
 * s3:x-amz-server-side-encryption-aws-kms-key-id, aws:userid, s3:DataAccessPointArn,
 * s3:DataAccessPointAccount, aws:PrincipalOrgID; aws:SourceIp is checked on its own).
 */
const FIXING_KEYS = new Set([
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceowner',
  'aws:sourceaccount',
  's3:x-amz-server-side-encryption-aws-kms-key-id',
  'aws:userid',
  's3:dataaccesspointarn',
  's3:dataaccesspointaccount',
  'aws:principalorgid',
]);

/** Operators that compare with the values as written, so that a value without wildcards is fixed. */
const EXACT_TESTS = new Set(['StringEquals', 'StringEqualsIgnoreCase', 'ArnEquals', 'ArnLike', 'StringLike']);

/** "A fixed value": no wildcard, no policy variable. */
const isFixed = (v: string): boolean => !/[*?]|\$\{/.test(v);

/**
 * Whether the condition limits the statement to fixed values of a key that names who may
 * ask. IfExists and ForAllValues let a request without the key through, so they fix nothing.
 * A CIDR counts only when narrower than /8 (IPv4) or /32 (IPv6): "values broader than /8 for
 * IPv4 or /32 for IPv6 (excluding RFC1918 private ranges)" are public.
 */
function fixesPrincipal(c: Condition): boolean {
  if (c.ifExists || c.set === 'ForAllValues' || c.values.length === 0) return false;
  if (c.key === 'aws:sourceip') {
    if (c.test !== 'IpAddress') return false;
    return c.values.every((v) => {
      const cidr = parseCidr(v);
      return cidr !== null && cidr.bits >= (cidr.v6 ? 32 : 8);
    });
  }
  if (!FIXING_KEYS.has(c.key) || !EXACT_TESTS.has(c.test)) return false;
  // This also makes aws:userid's "AROLEID:*" (every session of a role) public, as AWS does.
  return c.values.every(isFixed);
}

/** An Allow that any principal (or anyone but a few) gets without a fixing condition. */
function isPublicStatement(st: Statement): boolean {
  if (st.effect !== 'Allow') return false;
  if (!st.principal.wildcard && !st.principal.negated) return false;
  return !st.conditions.some(fixesPrincipal);
}

/**
 * AWS's "public" bucket policy: one that grants access to a wildcard principal without
 * limiting it to fixed values of the keys above
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status).
 */
export function policyIsPublic(doc: PolicyDocument): boolean {
  return doc.statements.some(isPublicStatement);
}

/**
 * The policy as RestrictPublicBuckets lets it act: when it is public, its public statements
 * grant nothing, so only the bucket owner and the add-ons it names are granted anything.
 * DEVIATION: AWS keeps access for the principals of the owner's account; every add-on is its
 * own account here, so only the statements that name add-ons (and every Deny) remain.
 */
export function restrictedPolicy(doc: PolicyDocument, guards: BucketGuards | undefined): PolicyDocument {
  if (!guards?.publicAccessBlock?.restrictPublicBuckets || !policyIsPublic(doc)) return doc;
  return { ...doc, statements: doc.statements.filter((st) => !isPublicStatement(st)) };
}

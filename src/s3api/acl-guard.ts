/**
 * What a bucket's guards do to an ACL a request sets: Block Public Access's BlockPublicAcls
 * refuses public ones, Object Ownership's BucketOwnerEnforced refuses all but the bucket owner's
 * full control, and both Object Ownership settings decide who owns a new object
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
 */
import { aclIsPublic, type Acl, type BucketInfo } from '#storage';
import { S3Error } from './errors.js';

type Guarded = Pick<BucketInfo, 'ownerId' | 'ownership' | 'publicAccessBlock'>;

/** Every grant is FULL_CONTROL to the bucket owner, or to `writer` alongside one to the bucket owner. */
function onlyBucketOwner(acl: Acl, bucketOwnerId: string, writerId: string): boolean {
  const ids = acl.grants.map((g) => (g.grantee.type === 'CanonicalUser' ? g.grantee.id : null));
  return (
    acl.grants.every((g) => g.permission === 'FULL_CONTROL') &&
    ids.every((id) => id === bucketOwnerId || id === writerId) &&
    ids.includes(bucketOwnerId)
  );
}

/**
 * Refuses an ACL the bucket's guards do not let a request set (`acl` null: the request named
 * none). With ACLs disabled only bucket-owner-full-control, or its equivalent, is accepted.
 */
export function checkRequestedAcl(bucket: Guarded, acl: Acl | null): void {
  if (acl === null) return;
  if (bucket.ownership === 'BucketOwnerEnforced' && !onlyBucketOwner(acl, bucket.ownerId, acl.owner.id))
    throw new S3Error('AccessControlListNotSupported');
  if (bucket.publicAccessBlock?.blockPublicAcls && aclIsPublic(acl)) throw new S3Error('AccessDenied');
}

/**
 * The owner and stored ACL of an object `writerId` writes with `acl`: the bucket owner owns it
 * under BucketOwnerEnforced, and under BucketOwnerPreferred when the writer gave the bucket
 * owner full control (bucket-owner-full-control); the object is then private to its new owner.
 */
export function objectOwnership(
  bucket: Guarded,
  writerId: string,
  acl: Acl | null,
): { ownerId: string; acl: Acl | null } {
  if (bucket.ownership === 'BucketOwnerEnforced') return { ownerId: bucket.ownerId, acl: null };
  if (
    bucket.ownership === 'BucketOwnerPreferred' &&
    acl !== null &&
    acl.grants.some(
      (g) => g.permission === 'FULL_CONTROL' && g.grantee.type === 'CanonicalUser' && g.grantee.id === bucket.ownerId,
    )
  )
    return { ownerId: bucket.ownerId, acl: null };
  return { ownerId: writerId, acl };
}

/**
 * Whether the bucket ACL lets BucketOwnerEnforced be set: AWS refuses while it grants anyone
 * but the owner (InvalidBucketAclWithObjectOwnership), as those grants would silently stop working.
 */
export function bucketAclAllowsEnforced(bucket: Pick<BucketInfo, 'ownerId' | 'acl'>): boolean {
  return onlyBucketOwner(bucket.acl, bucket.ownerId, bucket.ownerId);
}

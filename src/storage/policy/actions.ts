/**
 * The S3 IAM actions that name a bucket or an object resource, and what each ACL permission
 * stands for. Source: "Actions, resources, and condition keys for Amazon S3" (service
 * authorization reference) and the "ACL permission -> S3 operations" table of
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 */

/** What a statement's Resource must name for an action to apply to it. */
export type ResourceKind = 'bucket' | 'object' | 'none';

const BUCKET_ACTIONS = [
  'CreateBucket',
  'DeleteBucket',
  'ListBucket',
  'ListBucketVersions',
  'ListBucketMultipartUploads',
  'GetBucketAcl',
  'PutBucketAcl',
  'GetBucketCORS',
  'PutBucketCORS',
  'GetBucketVersioning',
  'PutBucketVersioning',
  'GetBucketRequestPayment',
  'PutBucketRequestPayment',
  'GetBucketLocation',
  'GetBucketPolicy',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'GetBucketPolicyStatus',
  'GetBucketNotification',
  'PutBucketNotification',
  'GetBucketLogging',
  'PutBucketLogging',
  'GetBucketTagging',
  'PutBucketTagging',
  'GetBucketWebsite',
  'PutBucketWebsite',
  'DeleteBucketWebsite',
  'GetLifecycleConfiguration',
  'PutLifecycleConfiguration',
  'GetReplicationConfiguration',
  'PutReplicationConfiguration',
  'GetEncryptionConfiguration',
  'PutEncryptionConfiguration',
  'GetAccelerateConfiguration',
  'PutAccelerateConfiguration',
  'GetBucketObjectLockConfiguration',
  'PutBucketObjectLockConfiguration',
  'GetBucketPublicAccessBlock',
  'PutBucketPublicAccessBlock',
  'GetBucketOwnershipControls',
  'PutBucketOwnershipControls',
  'DeleteBucketOwnershipControls',
  'GetAnalyticsConfiguration',
  'PutAnalyticsConfiguration',
  'GetInventoryConfiguration',
  'PutInventoryConfiguration',
  'GetMetricsConfiguration',
  'PutMetricsConfiguration',
  'GetIntelligentTieringConfiguration',
  'PutIntelligentTieringConfiguration',
];

const OBJECT_ACTIONS = [
  'AbortMultipartUpload',
  'BypassGovernanceRetention',
  'DeleteObject',
  'DeleteObjectTagging',
  'DeleteObjectVersion',
  'DeleteObjectVersionTagging',
  'GetObject',
  'GetObjectAcl',
  'GetObjectAttributes',
  'GetObjectLegalHold',
  'GetObjectRetention',
  'GetObjectTagging',
  'GetObjectTorrent',
  'GetObjectVersion',
  'GetObjectVersionAcl',
  'GetObjectVersionAttributes',
  'GetObjectVersionForReplication',
  'GetObjectVersionTagging',
  'GetObjectVersionTorrent',
  'InitiateReplication',
  'ListMultipartUploadParts',
  'ObjectOwnerOverrideToBucketOwner',
  'PutObject',
  'PutObjectAcl',
  'PutObjectLegalHold',
  'PutObjectRetention',
  'PutObjectTagging',
  'PutObjectVersionAcl',
  'PutObjectVersionTagging',
  'ReplicateDelete',
  'ReplicateObject',
  'ReplicateTags',
  'RestoreObject',
];

/** Account-level actions: no bucket or object ARN can name them, so a bucket policy never grants them. */
const ACCOUNT_ACTIONS = [
  'ListAllMyBuckets',
  'GetAccountPublicAccessBlock',
  'PutAccountPublicAccessBlock',
  'ListAccessPoints',
  'ListJobs',
];

const KINDS = new Map<string, ResourceKind>([
  ...BUCKET_ACTIONS.map((a): [string, ResourceKind] => [`s3:${a.toLowerCase()}`, 'bucket']),
  ...OBJECT_ACTIONS.map((a): [string, ResourceKind] => [`s3:${a.toLowerCase()}`, 'object']),
  ...ACCOUNT_ACTIONS.map((a): [string, ResourceKind] => [`s3:${a.toLowerCase()}`, 'none']),
]);

/** Canonical spellings of every catalogued action, e.g. `s3:GetObject`. */
export const S3_ACTIONS: readonly string[] = [...BUCKET_ACTIONS, ...OBJECT_ACTIONS, ...ACCOUNT_ACTIONS].map(
  (a) => `s3:${a}`,
);

/** The resource kind of a catalogued action (case-insensitive), undefined when not catalogued. */
export function actionResourceKind(action: string): ResourceKind | undefined {
  return KINDS.get(action.toLowerCase());
}

export type Permission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL';
export interface AclRequirement {
  target: 'bucket' | 'object';
  permission: Permission;
}

const ACL_TABLE: Array<[AclRequirement['target'], Permission, string[]]> = [
  ['object', 'READ', ['GetObject', 'GetObjectVersion', 'GetObjectTorrent', 'GetObjectVersionTorrent']],
  ['bucket', 'READ', ['ListBucket', 'ListBucketVersions', 'ListBucketMultipartUploads']],
  // WRITE on a bucket lets the grantee create, overwrite and delete objects in it.
  ['bucket', 'WRITE', ['PutObject', 'DeleteObject', 'DeleteObjectVersion']],
  ['object', 'READ_ACP', ['GetObjectAcl', 'GetObjectVersionAcl']],
  ['object', 'WRITE_ACP', ['PutObjectAcl', 'PutObjectVersionAcl']],
  ['bucket', 'READ_ACP', ['GetBucketAcl']],
  ['bucket', 'WRITE_ACP', ['PutBucketAcl']],
];

const ACL_BY_ACTION = new Map<string, AclRequirement>(
  ACL_TABLE.flatMap(([target, permission, actions]) =>
    actions.map((a): [string, AclRequirement] => [`s3:${a.toLowerCase()}`, { target, permission }]),
  ),
);

/**
 * The ACL permission an action needs, or null when no ACL can grant it: bucket configuration
 * (policy, CORS, website, DeleteBucket, ...) is for the owner or the bucket policy only.
 * AbortMultipartUpload and ListMultipartUploadParts are null too: AWS grants them to the
 * bucket owner and the upload's initiator, not through ACLs, so the caller checks the initiator.
 */
export function aclPermissionFor(action: string): AclRequirement | null {
  return ACL_BY_ACTION.get(action.toLowerCase()) ?? null;
}

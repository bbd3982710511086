import type { OperationName } from './router.js';

/**
 * The IAM action each operation needs and whether it acts on the object or the bucket
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 * `null`: the operation needs only an authenticated add-on (ListBuckets, CreateBucket).
 */
export const ACTIONS: Record<OperationName, { action: string; target: 'bucket' | 'object' } | null> = {
  ListBuckets: null,
  CreateBucket: null,
  HeadBucket: { action: 's3:ListBucket', target: 'bucket' },
  DeleteBucket: { action: 's3:DeleteBucket', target: 'bucket' },
  GetBucketLocation: { action: 's3:GetBucketLocation', target: 'bucket' },
  ListObjects: { action: 's3:ListBucket', target: 'bucket' },
  ListObjectsV2: { action: 's3:ListBucket', target: 'bucket' },
  ListObjectVersions: { action: 's3:ListBucketVersions', target: 'bucket' },
  GetBucketVersioning: { action: 's3:GetBucketVersioning', target: 'bucket' },
  PutBucketVersioning: { action: 's3:PutBucketVersioning', target: 'bucket' },
  GetBucketAcl: { action: 's3:GetBucketAcl', target: 'bucket' },
  PutBucketAcl: { action: 's3:PutBucketAcl', target: 'bucket' },
  GetBucketPolicy: { action: 's3:GetBucketPolicy', target: 'bucket' },
  PutBucketPolicy: { action: 's3:PutBucketPolicy', target: 'bucket' },
  DeleteBucketPolicy: { action: 's3:DeleteBucketPolicy', target: 'bucket' },
  GetBucketPolicyStatus: { action: 's3:GetBucketPolicyStatus', target: 'bucket' },
  GetBucketCors: { action: 's3:GetBucketCORS', target: 'bucket' },
  PutBucketCors: { action: 's3:PutBucketCORS', target: 'bucket' },
  DeleteBucketCors: { action: 's3:PutBucketCORS', target: 'bucket' },
  GetBucketWebsite: { action: 's3:GetBucketWebsite', target: 'bucket' },
  PutBucketWebsite: { action: 's3:PutBucketWebsite', target: 'bucket' },
  DeleteBucketWebsite: { action: 's3:DeleteBucketWebsite', target: 'bucket' },
  GetBucketLifecycleConfiguration: { action: 's3:GetLifecycleConfiguration', target: 'bucket' },
  PutBucketLifecycleConfiguration: { action: 's3:PutLifecycleConfiguration', target: 'bucket' },
  DeleteBucketLifecycle: { action: 's3:PutLifecycleConfiguration', target: 'bucket' },
  GetBucketTagging: { action: 's3:GetBucketTagging', target: 'bucket' },
  PutBucketTagging: { action: 's3:PutBucketTagging', target: 'bucket' },
  DeleteBucketTagging: { action: 's3:PutBucketTagging', target: 'bucket' },
  GetBucketEncryption: { action: 's3:GetEncryptionConfiguration', target: 'bucket' },
  PutBucketEncryption: { action: 's3:PutEncryptionConfiguration', target: 'bucket' },
  DeleteBucketEncryption: { action: 's3:PutEncryptionConfiguration', target: 'bucket' },
  GetBucketRequestPayment: { action: 's3:GetBucketRequestPayment', target: 'bucket' },
  GetBucketLogging: { action: 's3:GetBucketLogging', target: 'bucket' },
  GetBucketNotificationConfiguration: { action: 's3:GetBucketNotification', target: 'bucket' },
  GetObjectLockConfiguration: { action: 's3:GetBucketObjectLockConfiguration', target: 'bucket' },
  PutObjectLockConfiguration: { action: 's3:PutBucketObjectLockConfiguration', target: 'bucket' },
  GetBucketReplication: { action: 's3:GetReplicationConfiguration', target: 'bucket' },
  GetBucketAccelerateConfiguration: { action: 's3:GetAccelerateConfiguration', target: 'bucket' },
  GetBucketOwnershipControls: { action: 's3:GetBucketOwnershipControls', target: 'bucket' },
  PutBucketOwnershipControls: { action: 's3:PutBucketOwnershipControls', target: 'bucket' },
  DeleteBucketOwnershipControls: { action: 's3:PutBucketOwnershipControls', target: 'bucket' },
  GetPublicAccessBlock: { action: 's3:GetBucketPublicAccessBlock', target: 'bucket' },
  PutPublicAccessBlock: { action: 's3:PutBucketPublicAccessBlock', target: 'bucket' },
  DeletePublicAccessBlock: { action: 's3:PutBucketPublicAccessBlock', target: 'bucket' },
  ListMultipartUploads: { action: 's3:ListBucketMultipartUploads', target: 'bucket' },
  // Checked per key inside the handler: each deleted key is its own s3:DeleteObject.
  DeleteObjects: { action: 's3:DeleteObject', target: 'bucket' },
  PostObject: { action: 's3:PutObject', target: 'object' },
  GetObject: { action: 's3:GetObject', target: 'object' },
  HeadObject: { action: 's3:GetObject', target: 'object' },
  PutObject: { action: 's3:PutObject', target: 'object' },
  CopyObject: { action: 's3:PutObject', target: 'object' },
  DeleteObject: { action: 's3:DeleteObject', target: 'object' },
  GetObjectAcl: { action: 's3:GetObjectAcl', target: 'object' },
  PutObjectAcl: { action: 's3:PutObjectAcl', target: 'object' },
  GetObjectTagging: { action: 's3:GetObjectTagging', target: 'object' },
  PutObjectTagging: { action: 's3:PutObjectTagging', target: 'object' },
  DeleteObjectTagging: { action: 's3:DeleteObjectTagging', target: 'object' },
  // s3:GetObject is checked too, by the handler (API_GetObjectAttributes.html, "Permissions").
  GetObjectAttributes: { action: 's3:GetObjectAttributes', target: 'object' },
  GetObjectRetention: { action: 's3:GetObjectRetention', target: 'object' },
  PutObjectRetention: { action: 's3:PutObjectRetention', target: 'object' },
  GetObjectLegalHold: { action: 's3:GetObjectLegalHold', target: 'object' },
  PutObjectLegalHold: { action: 's3:PutObjectLegalHold', target: 'object' },
  CreateMultipartUpload: { action: 's3:PutObject', target: 'object' },
  UploadPart: { action: 's3:PutObject', target: 'object' },
  UploadPartCopy: { action: 's3:PutObject', target: 'object' },
  CompleteMultipartUpload: { action: 's3:PutObject', target: 'object' },
  AbortMultipartUpload: { action: 's3:AbortMultipartUpload', target: 'object' },
  ListParts: { action: 's3:ListMultipartUploadParts', target: 'object' },
  RestoreObject: { action: 's3:RestoreObject', target: 'object' },
  SelectObjectContent: { action: 's3:GetObject', target: 'object' },
};

/**
 * The action an operation needs when the request names a version (`?versionId=`, even `null`):
 * AWS authorizes those with the *Version actions
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html).
 */
const VERSION_ACTIONS: Partial<Record<OperationName, string>> = {
  GetObject: 's3:GetObjectVersion',
  HeadObject: 's3:GetObjectVersion',
  DeleteObject: 's3:DeleteObjectVersion',
  GetObjectTagging: 's3:GetObjectVersionTagging',
  PutObjectTagging: 's3:PutObjectVersionTagging',
  DeleteObjectTagging: 's3:DeleteObjectVersionTagging',
  GetObjectAcl: 's3:GetObjectVersionAcl',
  PutObjectAcl: 's3:PutObjectVersionAcl',
  GetObjectAttributes: 's3:GetObjectVersionAttributes',
};

/** The IAM action of `op` for a request with or without a versionId. */
export function actionOf(op: OperationName, versioned: boolean): string | null {
  const need = ACTIONS[op];
  if (need === null) return null;
  return (versioned ? VERSION_ACTIONS[op] : undefined) ?? need.action;
}

/** Whether `op` acts on the version a `versionId` names (otherwise the parameter means nothing to it). */
export function takesVersionId(op: OperationName): boolean {
  return VERSION_ACTIONS[op] !== undefined;
}

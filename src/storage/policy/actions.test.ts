import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aclPermissionFor, actionResourceKind, S3_ACTIONS } from './actions.js';

test('ACL permission needed by each action', { timeout: 30_000 }, () => {
  const rows: Array<[string, ReturnType<typeof aclPermissionFor>]> = [
    ['s3:GetObject', { target: 'object', permission: 'READ' }],
    ['s3:GetObjectVersion', { target: 'object', permission: 'READ' }],
    ['s3:ListBucket', { target: 'bucket', permission: 'READ' }],
    ['s3:ListBucketMultipartUploads', { target: 'bucket', permission: 'READ' }],
    ['s3:ListBucketVersions', { target: 'bucket', permission: 'READ' }],
    ['s3:PutObject', { target: 'bucket', permission: 'WRITE' }],
    ['s3:DeleteObject', { target: 'bucket', permission: 'WRITE' }],
    ['s3:DeleteObjectVersion', { target: 'bucket', permission: 'WRITE' }],
    ['s3:GetObjectAcl', { target: 'object', permission: 'READ_ACP' }],
    ['s3:PutObjectAcl', { target: 'object', permission: 'WRITE_ACP' }],
    ['s3:GetBucketAcl', { target: 'bucket', permission: 'READ_ACP' }],
    ['s3:PutBucketAcl', { target: 'bucket', permission: 'WRITE_ACP' }],
    ['S3:GETOBJECT', { target: 'object', permission: 'READ' }],
    ['s3:PutBucketPolicy', null],
    ['s3:GetBucketPolicy', null],
    ['s3:DeleteBucketPolicy', null],
    ['s3:PutBucketCORS', null],
    ['s3:PutBucketWebsite', null],
    ['s3:DeleteBucket', null],
    ['s3:AbortMultipartUpload', null],
    ['s3:ListMultipartUploadParts', null],
    ['s3:Nonsense', null],
  ];
  for (const [action, want] of rows) assert.deepEqual(aclPermissionFor(action), want, action);
});

test('resource kinds of catalogued actions', { timeout: 30_000 }, () => {
  const rows: Array<[string, ReturnType<typeof actionResourceKind>]> = [
    ['s3:GetObject', 'object'],
    ['s3:PutObject', 'object'],
    ['s3:ListMultipartUploadParts', 'object'],
    ['s3:ListBucket', 'bucket'],
    ['s3:PutBucketPolicy', 'bucket'],
    ['s3:DeleteBucketWebsite', 'bucket'],
    ['s3:ListAllMyBuckets', 'none'],
    ['s3:getbucketcors', 'bucket'],
    ['s3:Unknown', undefined],
  ];
  for (const [action, want] of rows) assert.equal(actionResourceKind(action), want, action);
  assert.equal(new Set(S3_ACTIONS.map((a) => a.toLowerCase())).size, S3_ACTIONS.length, 'catalogue has no duplicates');
});

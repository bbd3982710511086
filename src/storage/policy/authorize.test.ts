import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cannedAcl, type Acl, type Owner } from './acl.js';
import { authorize, type AuthorizeReason } from './authorize.js';
import { parsePolicy, type PolicyDocument, type Principal } from './document.js';

const OWNER: Owner = { id: 'cellar_owner', displayName: 'owner' };
const WRITER: Owner = { id: 'cellar_writer', displayName: 'writer' };
const ANON: Principal = { type: 'anonymous' };
const addon = (id: string): Principal => ({ type: 'addon', id });
const OBJ = 'arn:aws:s3:::photos/a.jpg';
const BKT = 'arn:aws:s3:::photos';

const policy = (...statements: object[]): PolicyDocument =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'photos');

const DENY_DELETE = policy({
  Effect: 'Deny',
  Principal: '*',
  Action: 's3:DeleteObject',
  Resource: 'arn:aws:s3:::photos/*',
});
const ALLOW_READER = policy({
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::cellar_reader' },
  Action: ['s3:GetObject', 's3:ListBucket'],
  Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'],
});
const DENY_HTTP = policy({
  Effect: 'Deny',
  Principal: '*',
  Action: 's3:*',
  Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'],
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});
const ALLOW_AND_DENY = policy(
  { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' },
  { Effect: 'Deny', Principal: { AWS: 'cellar_banned' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/*' },
);

const PRIVATE = cannedAcl('private', OWNER, OWNER);
const PUBLIC_READ = cannedAcl('public-read', OWNER, OWNER);
const PUBLIC_RW = cannedAcl('public-read-write', OWNER, OWNER);
const AUTH_READ = cannedAcl('authenticated-read', OWNER, OWNER);

type Row = [
  name: string,
  principal: Principal,
  action: string,
  resource: string,
  policy: PolicyDocument | null,
  bucketAcl: Acl,
  objectAcl: Acl | null,
  want: AuthorizeReason,
  context?: Record<string, string>,
];

test('authorize follows the AWS order', { timeout: 30_000 }, () => {
  const rows: Row[] = [
    [
      'policy Deny beats the owner',
      addon('cellar_owner'),
      's3:DeleteObject',
      OBJ,
      DENY_DELETE,
      PRIVATE,
      PRIVATE,
      'policy-deny',
    ],
    ['policy Deny beats an ACL grant', ANON, 's3:DeleteObject', OBJ, DENY_DELETE, PUBLIC_RW, null, 'policy-deny'],
    [
      'conditional Deny applies',
      addon('cellar_owner'),
      's3:GetObject',
      OBJ,
      DENY_HTTP,
      PRIVATE,
      PRIVATE,
      'policy-deny',
      { 'aws:securetransport': 'false' },
    ],
    [
      'conditional Deny does not apply',
      addon('cellar_owner'),
      's3:GetObject',
      OBJ,
      DENY_HTTP,
      PRIVATE,
      PRIVATE,
      'owner',
      { 'aws:securetransport': 'true' },
    ],
    [
      'Deny for one add-on beats a public Allow',
      addon('cellar_banned'),
      's3:GetObject',
      OBJ,
      ALLOW_AND_DENY,
      PRIVATE,
      PRIVATE,
      'policy-deny',
    ],
    [
      'public Allow for others',
      addon('cellar_x'),
      's3:GetObject',
      OBJ,
      ALLOW_AND_DENY,
      PRIVATE,
      PRIVATE,
      'policy-allow',
    ],
    ['owner without policy', addon('cellar_owner'), 's3:PutBucketPolicy', BKT, null, PRIVATE, null, 'owner'],
    ['owner, policy silent', addon('cellar_owner'), 's3:PutObject', OBJ, ALLOW_READER, PRIVATE, null, 'owner'],
    [
      'owner even with an empty ACL',
      addon('cellar_owner'),
      's3:GetObject',
      OBJ,
      null,
      { owner: OWNER, grants: [] },
      { owner: OWNER, grants: [] },
      'owner',
    ],
    ['policy Allow', addon('cellar_reader'), 's3:GetObject', OBJ, ALLOW_READER, PRIVATE, PRIVATE, 'policy-allow'],
    [
      'policy Allow on the bucket',
      addon('cellar_reader'),
      's3:ListBucket',
      BKT,
      ALLOW_READER,
      PRIVATE,
      null,
      'policy-allow',
    ],
    ['policy Allow before ACL', ANON, 's3:GetObject', OBJ, ALLOW_AND_DENY, PUBLIC_READ, PUBLIC_READ, 'policy-allow'],
    [
      'policy reader cannot write',
      addon('cellar_reader'),
      's3:PutObject',
      OBJ,
      ALLOW_READER,
      PRIVATE,
      null,
      'default-deny',
    ],
    [
      'policy reader cannot set the policy',
      addon('cellar_reader'),
      's3:PutBucketPolicy',
      BKT,
      ALLOW_READER,
      PRIVATE,
      null,
      'default-deny',
    ],
    ['object ACL public-read', ANON, 's3:GetObject', OBJ, null, PRIVATE, PUBLIC_READ, 'acl'],
    [
      'object read needs the object ACL, not the bucket one',
      ANON,
      's3:GetObject',
      OBJ,
      null,
      PUBLIC_READ,
      PRIVATE,
      'default-deny',
    ],
    ['object read without an object ACL', ANON, 's3:GetObject', OBJ, null, PUBLIC_READ, null, 'default-deny'],
    ['bucket ACL public-read lists', ANON, 's3:ListBucket', BKT, null, PUBLIC_READ, null, 'acl'],
    ['bucket ACL public-read does not write', ANON, 's3:PutObject', OBJ, null, PUBLIC_READ, null, 'default-deny'],
    ['bucket ACL public-read-write writes', ANON, 's3:PutObject', OBJ, null, PUBLIC_RW, null, 'acl'],
    ['bucket WRITE deletes', addon('cellar_x'), 's3:DeleteObject', OBJ, null, PUBLIC_RW, PRIVATE, 'acl'],
    ['authenticated-read: add-on lists', addon('cellar_x'), 's3:ListBucket', BKT, null, AUTH_READ, null, 'acl'],
    ['authenticated-read: anonymous does not', ANON, 's3:ListBucket', BKT, null, AUTH_READ, null, 'default-deny'],
    [
      'object owner reads own object via object ACL',
      addon('cellar_writer'),
      's3:GetObject',
      OBJ,
      null,
      PRIVATE,
      cannedAcl('bucket-owner-full-control', WRITER, OWNER),
      'acl',
    ],
    [
      'object owner rewrites own object ACL',
      addon('cellar_writer'),
      's3:PutObjectAcl',
      OBJ,
      null,
      PRIVATE,
      cannedAcl('private', WRITER, OWNER),
      'acl',
    ],
    [
      'bucket READ_ACP',
      addon('cellar_x'),
      's3:GetBucketAcl',
      BKT,
      null,
      { owner: OWNER, grants: [{ grantee: { type: 'CanonicalUser', id: 'cellar_x' }, permission: 'READ_ACP' }] },
      null,
      'acl',
    ],
    [
      'config actions are never ACL-granted',
      addon('cellar_x'),
      's3:PutBucketPolicy',
      BKT,
      null,
      { owner: OWNER, grants: [{ grantee: { type: 'CanonicalUser', id: 'cellar_x' }, permission: 'FULL_CONTROL' }] },
      null,
      'default-deny',
    ],
    ['DeleteBucket is owner-only', ANON, 's3:DeleteBucket', BKT, null, PUBLIC_RW, null, 'default-deny'],
    ['anonymous, nothing granted', ANON, 's3:GetObject', OBJ, null, PRIVATE, PRIVATE, 'default-deny'],
  ];
  for (const [name, principal, action, resource, pol, bucketAcl, objectAcl, want, context = {}] of rows) {
    const got = authorize({
      principal,
      bucketOwnerId: OWNER.id,
      action,
      resource,
      policy: pol,
      bucketAcl,
      objectAcl,
      context,
    });
    assert.deepEqual(
      got,
      { allowed: want === 'owner' || want === 'policy-allow' || want === 'acl', reason: want },
      name,
    );
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_USERS_URI, cannedAcl, type BucketInfo, type RequestContext } from '#storage';
import { websiteBucketOf } from './local-source.js';
import type { WebsiteObject } from './source.js';

const owner = { id: 'cellar_owner', displayName: 'owner' };
const publicPolicy = (extra: object = {}) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'pub',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:GetObject'],
        Resource: 'arn:aws:s3:::site/*',
        ...extra,
      },
    ],
  });

function bucket(p: Partial<BucketInfo>): BucketInfo {
  return {
    name: 'site',
    ownerId: owner.id,
    region: 'us-east-1',
    createdAt: new Date(0),
    acl: cannedAcl('private', owner, owner),
    policy: null,
    cors: null,
    website: null,
    ...p,
  };
}

function object(acl: 'private' | 'public-read'): WebsiteObject {
  return {
    key: 'k',
    size: 1,
    etag: 'e',
    lastModified: new Date(0),
    headers: {},
    acl: cannedAcl(acl, owner, owner),
    open: () => Promise.reject(new Error('not read here')),
  };
}

const ctx: RequestContext = { 'aws:sourceip': '10.0.0.1', 'aws:referer': 'https://good.example/' };
const denyPrivate = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'pub', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' },
    { Sid: 'no', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/private/*' },
  ],
});

const rows: Array<[string, Partial<BucketInfo>, string, WebsiteObject | null, boolean]> = [
  ['private bucket, private object', {}, 'k', object('private'), false],
  ['private bucket, missing key (no leak)', {}, 'k', null, false],
  ['public-read object in a private bucket', {}, 'k', object('public-read'), true],
  ['public policy, private object ACL', { policy: publicPolicy() }, 'k', object('private'), true],
  ['public policy, missing key -> 404', { policy: publicPolicy() }, 'nope', null, true],
  ['explicit deny wins', { policy: denyPrivate }, 'private/a.html', object('public-read'), false],
  ['explicit deny, missing key -> 403', { policy: denyPrivate }, 'private/none', null, false],
  [
    'listable bucket (public-read ACL), missing key -> 404',
    { acl: cannedAcl('public-read', owner, owner) },
    'nope',
    null,
    true,
  ],
  [
    'listable bucket does not open a private object',
    { acl: cannedAcl('public-read', owner, owner) },
    'k',
    object('private'),
    false,
  ],
  [
    'referer condition met',
    { policy: publicPolicy({ Condition: { StringLike: { 'aws:Referer': 'https://good.example/*' } } }) },
    'k',
    object('private'),
    true,
  ],
];

for (const [name, b, key, obj, expected] of rows) {
  test(`mayRead: ${name}`, { timeout: 30_000 }, () => {
    assert.equal(websiteBucketOf(bucket(b)).mayRead(key, obj, ctx), expected);
  });
}

test('mayRead: a referer condition not met', { timeout: 30_000 }, () => {
  const b = websiteBucketOf(
    bucket({ policy: publicPolicy({ Condition: { StringLike: { 'aws:Referer': 'https://good.example/*' } } }) }),
  );
  assert.equal(b.mayRead('k', object('private'), { 'aws:referer': 'https://evil.example/' }), false);
});

test('contextFree: only policies without conditions or variables', { timeout: 30_000 }, () => {
  assert.equal(websiteBucketOf(bucket({})).contextFree, true);
  assert.equal(websiteBucketOf(bucket({ policy: publicPolicy() })).contextFree, true);
  assert.equal(
    websiteBucketOf(bucket({ policy: publicPolicy({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }) }))
      .contextFree,
    false,
  );
  assert.equal(
    websiteBucketOf(bucket({ policy: publicPolicy({ Resource: 'arn:aws:s3:::site/${aws:SourceIp}/*' }) })).contextFree,
    false,
  );
});

test('fingerprint changes with every setting the website reads', { timeout: 30_000 }, () => {
  const base = websiteBucketOf(bucket({})).fingerprint;
  const changes: Partial<BucketInfo>[] = [
    { policy: publicPolicy() },
    { acl: { owner, grants: [{ grantee: { type: 'Group', uri: ALL_USERS_URI }, permission: 'READ' }] } },
    { cors: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] }] },
    { website: { indexDocument: { suffix: 'home.html' } } },
  ];
  for (const c of changes) assert.notEqual(websiteBucketOf(bucket(c)).fingerprint, base, JSON.stringify(c));
  assert.equal(websiteBucketOf(bucket({})).fingerprint, base);
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cannedAcl, type Owner } from './acl.js';
import { authorize } from './authorize.js';
import { parsePolicy, type Principal } from './document.js';
import { effectiveAcl, policyIsPublic, type PublicAccessBlock } from './guards.js';

const OBJECTS = 'arn:aws:s3:::photos/*';
const allow = (principal: unknown, condition?: object): object => ({
  Effect: 'Allow',
  Principal: principal,
  Action: 's3:GetObject',
  Resource: OBJECTS,
  ...(condition ? { Condition: condition } : {}),
});
const doc = (...statements: object[]) =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'photos');

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status */
const PUBLIC_ROWS: Array<[string, object[], boolean]> = [
  ['Principal * without conditions', [allow('*')], true],
  ['Principal {"AWS": "*"}', [allow({ AWS: '*' })], true],
  ['a named add-on', [allow({ AWS: 'cellar_reader' })], false],
  ['only a Deny to everyone', [{ ...allow('*'), Effect: 'Deny' }], false],
  [
    'NotPrincipal in an Allow',
    [{ Effect: 'Allow', NotPrincipal: { AWS: 'cellar_x' }, Action: 's3:GetObject', Resource: OBJECTS }],
    true,
  ],
  ['* limited to a /24', [allow('*', { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } })], false],
  ['* limited to a /8', [allow('*', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } })], false],
  ['* limited to a /1: too wide', [allow('*', { IpAddress: { 'aws:SourceIp': '0.0.0.0/1' } })], true],
  ['* limited to an IPv6 /64', [allow('*', { IpAddress: { 'aws:SourceIp': '2001:db8::/64' } })], false],
  ['* limited to an IPv6 /16: too wide', [allow('*', { IpAddress: { 'aws:SourceIp': '2001::/16' } })], true],
  [
    '* outside a range (NotIpAddress) is public',
    [allow('*', { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } })],
    true,
  ],
  ['* with a fixed aws:SourceAccount', [allow('*', { StringEquals: { 'aws:SourceAccount': '123456789012' } })], false],
  [
    '* with a fixed aws:SourceArn',
    [allow('*', { ArnEquals: { 'aws:SourceArn': 'arn:aws:cloudfront::1:distribution/E1' } })],
    false,
  ],
  ['* with a wildcard aws:SourceArn', [allow('*', { ArnLike: { 'aws:SourceArn': 'arn:aws:cloudfront::1:*' } })], true],
  ['* with a fixed aws:userid', [allow('*', { StringEquals: { 'aws:userid': 'cellar_reader' } })], false],
  ['* with aws:userid AROLEID:*', [allow('*', { StringLike: { 'aws:userid': 'AROLEID:*' } })], true],
  ['* with IfExists fixes nothing', [allow('*', { StringEqualsIfExists: { 'aws:SourceAccount': '1' } })], true],
  [
    '* with a Referer condition is public',
    [allow('*', { StringLike: { 'aws:Referer': 'https://example.com/*' } })],
    true,
  ],
  ['* over TLS only is public', [allow('*', { Bool: { 'aws:SecureTransport': 'true' } })], true],
  ['one public statement among private ones', [allow({ AWS: 'cellar_reader' }), allow('*')], true],
];

describe('policyIsPublic follows AWS "The meaning of public"', { timeout: 10_000 }, () => {
  for (const [what, statements, expected] of PUBLIC_ROWS) {
    test(what, { timeout: 5_000 }, () => assert.equal(policyIsPublic(doc(...statements)), expected));
  }
});

const OWNER: Owner = { id: 'cellar_owner', displayName: 'owner' };
const off: PublicAccessBlock = {
  blockPublicAcls: false,
  ignorePublicAcls: false,
  blockPublicPolicy: false,
  restrictPublicBuckets: false,
};

describe('effectiveAcl', { timeout: 10_000 }, () => {
  const publicRead = cannedAcl('public-read', OWNER, OWNER);
  test('no guards: the ACL as stored', { timeout: 5_000 }, () => {
    assert.deepEqual(effectiveAcl(publicRead, {}), publicRead);
  });
  test('IgnorePublicAcls drops AllUsers and AuthenticatedUsers, keeps the owner', { timeout: 5_000 }, () => {
    const acl = cannedAcl('authenticated-read', OWNER, OWNER);
    assert.deepEqual(effectiveAcl(acl, { publicAccessBlock: { ...off, ignorePublicAcls: true } })?.grants, [
      publicRead.grants[0],
    ]);
  });
  test('BucketOwnerEnforced: no ACL at all', { timeout: 5_000 }, () => {
    assert.equal(effectiveAcl(publicRead, { ownership: 'BucketOwnerEnforced' }), null);
  });
});

describe('authorize under RestrictPublicBuckets', { timeout: 10_000 }, () => {
  const policy = doc(allow('*'), allow({ AWS: 'cellar_reader' }));
  const decide = (principal: Principal, restrict: boolean) =>
    authorize({
      principal,
      bucketOwnerId: OWNER.id,
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::photos/a.jpg',
      policy,
      bucketAcl: cannedAcl('private', OWNER, OWNER),
      objectAcl: cannedAcl('private', OWNER, OWNER),
      context: {},
      guards: { publicAccessBlock: { ...off, restrictPublicBuckets: restrict } },
    }).allowed;
  const rows: Array<[string, Principal, boolean, boolean]> = [
    ['anonymous, unrestricted', { type: 'anonymous' }, false, true],
    ['anonymous, restricted', { type: 'anonymous' }, true, false],
    ['another add-on, restricted', { type: 'addon', id: 'cellar_other' }, true, false],
    ['the add-on the policy names, restricted', { type: 'addon', id: 'cellar_reader' }, true, true],
    ['the owner, restricted', { type: 'addon', id: OWNER.id }, true, true],
  ];
  for (const [what, principal, restrict, expected] of rows) {
    test(what, { timeout: 5_000 }, () => assert.equal(decide(principal, restrict), expected));
  }
});

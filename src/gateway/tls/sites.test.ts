import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_USERS_URI, type BucketInfo } from '#storage';
import { describeSite } from './sites.js';

const owner = { id: 'cellar_owner', displayName: 'owner' };
const ownerGrant = { grantee: { type: 'CanonicalUser' as const, id: owner.id }, permission: 'FULL_CONTROL' as const };

function bucket(over: Partial<BucketInfo>): BucketInfo {
  return { name: 'b.test', ownerId: owner.id, region: 'us-east-1', createdAt: new Date(0), acl: { owner, grants: [ownerGrant] }, policy: null, cors: null, website: null, ...over };
}

const policy = (resource: string, effect = 'Allow', extra = ''): string =>
  `{"Version":"2012-10-17","Statement":[{"Effect":"${effect}","Principal":"*","Action":["s3:GetObject"],"Resource":"${resource}"${extra}}]}`;

test('describeSite: which buckets count as websites', () => {
  const cases: [string, BucketInfo | null, boolean, boolean][] = [
    ['no bucket', null, false, false],
    ['private', bucket({}), true, false],
    ['website configuration', bucket({ website: { indexDocument: 'index.html' } as unknown as BucketInfo['website'] }), true, true],
    ['documented public policy', bucket({ policy: policy('arn:aws:s3:::b.test/*') }), true, true],
    ['policy for a sub-folder only', bucket({ policy: policy('arn:aws:s3:::b.test/public/*') }), true, false],
    ['policy that denies', bucket({ policy: policy('arn:aws:s3:::b.test/*', 'Deny') }), true, false],
    ['policy limited to TLS holds for the HTTPS visitor', bucket({ policy: policy('arn:aws:s3:::b.test/*', 'Allow', ',"Condition":{"Bool":{"aws:SecureTransport":"true"}}') }), true, true],
    ['public-read bucket ACL', bucket({ acl: { owner, grants: [ownerGrant, { grantee: { type: 'Group', uri: ALL_USERS_URI }, permission: 'READ' }] } }), true, true],
  ];
  for (const [what, b, exists, serves] of cases) {
    const s = describeSite(b);
    assert.equal(s.exists, exists, what);
    assert.equal(s.servesWebsite, serves, `${what}: ${s.detail}`);
  }
});

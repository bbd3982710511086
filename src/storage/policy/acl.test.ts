import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../errors.js';
import type { Permission } from './actions.js';
import {
  ALL_USERS_URI,
  AUTHENTICATED_USERS_URI,
  CANNED_ACLS,
  LOG_DELIVERY_URI,
  aclAllows,
  aclFromGrantHeaders,
  cannedAcl,
  type Acl,
  type Grant,
  type Owner,
} from './acl.js';
import type { Principal } from './document.js';

const OWNER: Owner = { id: 'cellar_owner', displayName: 'owner' };
const BUCKET_OWNER: Owner = { id: 'cellar_bucket', displayName: 'bucket' };
const ANON: Principal = { type: 'anonymous' };
const addon = (id: string): Principal => ({ type: 'addon', id });

const fc = (o: Owner): Grant => ({
  grantee: { type: 'CanonicalUser', id: o.id, displayName: o.displayName },
  permission: 'FULL_CONTROL',
});
const grp = (uri: string, permission: Permission): Grant => ({ grantee: { type: 'Group', uri }, permission });

test('canned ACLs expand to their grants', { timeout: 30_000 }, () => {
  const rows: Array<[string, Owner, Grant[]]> = [
    ['private', BUCKET_OWNER, [fc(OWNER)]],
    ['public-read', BUCKET_OWNER, [fc(OWNER), grp(ALL_USERS_URI, 'READ')]],
    ['public-read-write', BUCKET_OWNER, [fc(OWNER), grp(ALL_USERS_URI, 'READ'), grp(ALL_USERS_URI, 'WRITE')]],
    ['authenticated-read', BUCKET_OWNER, [fc(OWNER), grp(AUTHENTICATED_USERS_URI, 'READ')]],
    ['aws-exec-read', BUCKET_OWNER, [fc(OWNER)]],
    [
      'bucket-owner-read',
      BUCKET_OWNER,
      [
        fc(OWNER),
        { grantee: { type: 'CanonicalUser', id: 'cellar_bucket', displayName: 'bucket' }, permission: 'READ' },
      ],
    ],
    ['bucket-owner-read, same owner', OWNER, [fc(OWNER)]],
    ['bucket-owner-full-control', BUCKET_OWNER, [fc(OWNER), fc(BUCKET_OWNER)]],
    ['bucket-owner-full-control, same owner', OWNER, [fc(OWNER)]],
    [
      'log-delivery-write',
      BUCKET_OWNER,
      [fc(OWNER), grp(LOG_DELIVERY_URI, 'WRITE'), grp(LOG_DELIVERY_URI, 'READ_ACP')],
    ],
  ];
  for (const [label, bucketOwner, grants] of rows) {
    const name = label.split(',')[0]!;
    assert.deepEqual(cannedAcl(name, OWNER, bucketOwner), { owner: OWNER, grants }, label);
  }
  assert.equal(CANNED_ACLS.length, 8);
});

test('unknown canned ACL is InvalidArgument', { timeout: 30_000 }, () => {
  for (const name of ['public', 'Public-Read', '', 'public-read ']) {
    assert.throws(
      () => cannedAcl(name, OWNER, OWNER),
      (e: unknown) =>
        e instanceof StorageError && e.code === 'InvalidArgument' && e.details['ArgumentName'] === 'x-amz-acl',
      JSON.stringify(name),
    );
  }
});

test('grant headers', { timeout: 30_000 }, () => {
  const user = (id: string, permission: Permission): Grant => ({ grantee: { type: 'CanonicalUser', id }, permission });
  const rows: Array<[string, Record<string, string | string[] | undefined>, Grant[] | null]> = [
    ['none', { 'content-type': 'text/plain' }, null],
    ['undefined value is absent', { 'x-amz-grant-read': undefined }, null],
    ['read by id', { 'x-amz-grant-read': 'id="cellar_a"' }, [user('cellar_a', 'READ')]],
    ['unquoted value', { 'x-amz-grant-read': 'id=cellar_a' }, [user('cellar_a', 'READ')]],
    ['group by uri', { 'x-amz-grant-read': `uri="${ALL_USERS_URI}"` }, [grp(ALL_USERS_URI, 'READ')]],
    [
      'email',
      { 'x-amz-grant-write': 'emailAddress="a@example.com"' },
      [{ grantee: { type: 'AmazonCustomerByEmail', email: 'a@example.com' }, permission: 'WRITE' }],
    ],
    [
      'list with spaces',
      { 'x-amz-grant-full-control': 'id="cellar_a", id="cellar_b" ,uri="' + AUTHENTICATED_USERS_URI + '"' },
      [
        user('cellar_a', 'FULL_CONTROL'),
        user('cellar_b', 'FULL_CONTROL'),
        grp(AUTHENTICATED_USERS_URI, 'FULL_CONTROL'),
      ],
    ],
    [
      'every header, fixed order',
      {
        'x-amz-grant-full-control': 'id="e"',
        'x-amz-grant-write-acp': 'id="d"',
        'x-amz-grant-read-acp': 'id="c"',
        'x-amz-grant-write': 'id="b"',
        'x-amz-grant-read': 'id="a"',
      },
      [user('a', 'READ'), user('b', 'WRITE'), user('c', 'READ_ACP'), user('d', 'WRITE_ACP'), user('e', 'FULL_CONTROL')],
    ],
    ['header names fold case', { 'X-Amz-Grant-Read': 'ID="cellar_a"' }, [user('cellar_a', 'READ')]],
    ['repeated header as array', { 'x-amz-grant-read': ['id="a"', 'id="b"'] }, [user('a', 'READ'), user('b', 'READ')]],
    ['duplicates folded', { 'x-amz-grant-read': 'id="a", id="a"' }, [user('a', 'READ')]],
    ['comma inside quotes', { 'x-amz-grant-read': 'id="a,b"' }, [user('a,b', 'READ')]],
  ];
  for (const [name, headers, grants] of rows) {
    const got = aclFromGrantHeaders(headers, OWNER);
    assert.deepEqual(got, grants === null ? null : { owner: OWNER, grants }, name);
  }
});

test('malformed grant headers are InvalidArgument', { timeout: 30_000 }, () => {
  const rows: Array<[string, string]> = [
    ['empty', ''],
    ['no key', '"cellar_a"'],
    ['unknown key', 'name="x"'],
    ['empty id', 'id=""'],
    ['unknown group', 'uri="http://acs.amazonaws.com/groups/global/Everyone"'],
    ['bad email', 'emailAddress="nobody"'],
    ['trailing comma', 'id="a",'],
    ['unterminated quote', 'id="a'],
  ];
  for (const [name, value] of rows) {
    assert.throws(
      () => aclFromGrantHeaders({ 'x-amz-grant-read': value }, OWNER),
      (e: unknown) =>
        e instanceof StorageError && e.code === 'InvalidArgument' && e.details['ArgumentName'] === 'x-amz-grant-read',
      name,
    );
  }
  assert.throws(
    () => aclFromGrantHeaders({ 'x-amz-acl': 'private', 'x-amz-grant-read': 'id="a"' }, OWNER),
    (e: unknown) => e instanceof StorageError && e.code === 'InvalidRequest',
  );
  assert.equal(aclFromGrantHeaders({ 'x-amz-acl': 'private' }, OWNER), null);
});

test('aclAllows', { timeout: 30_000 }, () => {
  const acl = (...grants: Grant[]): Acl => ({ owner: OWNER, grants });
  const userGrant = (id: string, permission: Permission): Grant => ({
    grantee: { type: 'CanonicalUser', id },
    permission,
  });
  const rows: Array<[string, Acl, Principal, Permission, boolean]> = [
    ['owner via explicit grant', cannedAcl('private', OWNER, OWNER), addon('cellar_owner'), 'WRITE_ACP', true],
    ['owner without a grant', acl(), addon('cellar_owner'), 'READ', false],
    ['private keeps others out', cannedAcl('private', OWNER, OWNER), addon('cellar_x'), 'READ', false],
    ['private keeps anonymous out', cannedAcl('private', OWNER, OWNER), ANON, 'READ', false],
    ['AllUsers READ: anonymous', cannedAcl('public-read', OWNER, OWNER), ANON, 'READ', true],
    ['AllUsers READ: add-on', cannedAcl('public-read', OWNER, OWNER), addon('cellar_x'), 'READ', true],
    ['AllUsers READ is not WRITE', cannedAcl('public-read', OWNER, OWNER), ANON, 'WRITE', false],
    ['AllUsers READ is not READ_ACP', cannedAcl('public-read', OWNER, OWNER), ANON, 'READ_ACP', false],
    ['public-read-write WRITE', cannedAcl('public-read-write', OWNER, OWNER), ANON, 'WRITE', true],
    ['AuthenticatedUsers: add-on', cannedAcl('authenticated-read', OWNER, OWNER), addon('cellar_x'), 'READ', true],
    ['AuthenticatedUsers: not anonymous', cannedAcl('authenticated-read', OWNER, OWNER), ANON, 'READ', false],
    ['FULL_CONTROL implies READ', acl(userGrant('cellar_x', 'FULL_CONTROL')), addon('cellar_x'), 'READ', true],
    [
      'FULL_CONTROL implies WRITE_ACP',
      acl(userGrant('cellar_x', 'FULL_CONTROL')),
      addon('cellar_x'),
      'WRITE_ACP',
      true,
    ],
    ['READ does not imply FULL_CONTROL', acl(userGrant('cellar_x', 'READ')), addon('cellar_x'), 'FULL_CONTROL', false],
    ['WRITE_ACP does not imply READ', acl(userGrant('cellar_x', 'WRITE_ACP')), addon('cellar_x'), 'READ', false],
    ['grant to someone else', acl(userGrant('cellar_y', 'READ')), addon('cellar_x'), 'READ', false],
    [
      'unresolved email matches nobody',
      acl({ grantee: { type: 'AmazonCustomerByEmail', email: 'x@y.z' }, permission: 'READ' }),
      addon('cellar_x'),
      'READ',
      false,
    ],
    ['LogDelivery matches nobody', cannedAcl('log-delivery-write', OWNER, OWNER), addon('cellar_x'), 'WRITE', false],
    [
      'bucket-owner-read grants the bucket owner',
      cannedAcl('bucket-owner-read', OWNER, BUCKET_OWNER),
      addon('cellar_bucket'),
      'READ',
      true,
    ],
    [
      'bucket-owner-read: READ only',
      cannedAcl('bucket-owner-read', OWNER, BUCKET_OWNER),
      addon('cellar_bucket'),
      'WRITE_ACP',
      false,
    ],
  ];
  for (const [name, a, principal, permission, want] of rows)
    assert.equal(aclAllows(a, principal, permission), want, name);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ALL_USERS_URI, Storage, cannedAcl, type Acl, type BucketInfo } from '#storage';
import type { WebsiteBucket, WebsiteObject, WebsiteSource } from '../website/source.js';
import { describeSite, storageSites, visitorContext, websiteSites } from './sites.js';

const owner = { id: 'cellar_owner', displayName: 'owner' };
const ownerGrant = { grantee: { type: 'CanonicalUser' as const, id: owner.id }, permission: 'FULL_CONTROL' as const };
const PRIVATE = { acl: cannedAcl('private', owner, owner) };
const PUBLIC = { acl: cannedAcl('public-read', owner, owner) };

function bucket(over: Partial<BucketInfo>): BucketInfo {
  return {
    name: 'b.test',
    ownerId: owner.id,
    region: 'us-east-1',
    createdAt: new Date(0),
    acl: { owner, grants: [ownerGrant] },
    policy: null,
    cors: null,
    website: null,
    ...over,
  };
}

const policy = (resource: string, effect = 'Allow', extra = ''): string =>
  `{"Version":"2012-10-17","Statement":[{"Effect":"${effect}","Principal":"*","Action":["s3:GetObject"],"Resource":"${resource}"${extra}}]}`;

test('describeSite: which buckets count as websites, and why', { timeout: 5000 }, () => {
  const cases: [string, BucketInfo | null, { acl: Acl | null } | null, boolean, boolean, RegExp][] = [
    ['no bucket', null, null, false, false, /no such bucket/],
    ['private', bucket({}), PRIVATE, true, false, /^private: .*may not read index\.html.*no bucket policy/],
    [
      'website configuration, no index at all',
      bucket({ website: { indexDocument: { suffix: 'home.html' } } }),
      null,
      true,
      true,
      /website configuration set/,
    ],
    [
      'documented public policy',
      bucket({ policy: policy('arn:aws:s3:::b.test/*') }),
      PRIVATE,
      true,
      true,
      /bucket policy lets anyone read index\.html/,
    ],
    [
      'public policy, index not uploaded yet',
      bucket({ policy: policy('arn:aws:s3:::b.test/*') }),
      null,
      true,
      false,
      /no index\.html yet/,
    ],
    [
      'policy for a sub-folder only',
      bucket({ policy: policy('arn:aws:s3:::b.test/public/*') }),
      PRIVATE,
      true,
      false,
      /^private: /,
    ],
    [
      'policy that denies, over a public object ACL',
      bucket({ policy: policy('arn:aws:s3:::b.test/*', 'Deny') }),
      PUBLIC,
      true,
      false,
      /denies anonymous reads of index\.html/,
    ],
    [
      'policy limited to TLS holds for the HTTPS visitor',
      bucket({
        policy: policy('arn:aws:s3:::b.test/*', 'Allow', ',"Condition":{"Bool":{"aws:SecureTransport":"true"}}'),
      }),
      PRIVATE,
      true,
      true,
      /policy lets anyone/,
    ],
    [
      'policy asking for a Referer: the visitor typing the URL has none',
      bucket({
        policy: policy(
          'arn:aws:s3:::b.test/*',
          'Allow',
          ',"Condition":{"StringLike":{"aws:Referer":"https://b.test/*"}}',
        ),
      }),
      PRIVATE,
      true,
      false,
      /does not grant it to a visitor over HTTPS without a Referer/,
    ],
    [
      'public-read object ACL on the index (s3cmd put --acl-public)',
      bucket({}),
      PUBLIC,
      true,
      true,
      /the ACL of index\.html grants READ to AllUsers/,
    ],
    [
      'public-read bucket ACL lists, it does not open a private index',
      bucket({
        acl: { owner, grants: [ownerGrant, { grantee: { type: 'Group', uri: ALL_USERS_URI }, permission: 'READ' }] },
      }),
      PRIVATE,
      true,
      false,
      /anyone may list the bucket, which does not open its objects/,
    ],
    [
      'a stored policy that no longer parses grants nothing',
      bucket({ policy: '{' }),
      PUBLIC,
      true,
      false,
      /no longer parses/,
    ],
  ];
  for (const [what, b, index, exists, serves, detail] of cases) {
    const s = describeSite(b, index, visitorContext(new Date()));
    assert.equal(s.exists, exists, what);
    assert.equal(s.servesWebsite, serves, `${what}: ${s.detail}`);
    assert.match(s.detail, detail, what);
  }
});

test('storageSites reads the index named by the configuration, else index.html, through storage', {
  timeout: 10_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-sites-unit-'));
  const storage = await Storage.open({ dataDir: dir, maxObjectSize: 1024 * 1024, gcGraceMs: 0 });
  try {
    const o = storage.createAddon({ name: 'o' });
    const put = (bucket: string, key: string, acl: 'private' | 'public-read') =>
      storage.putObject({
        bucket,
        key,
        ownerId: o.id,
        body: Readable.from([Buffer.from('x')]),
        headers: {},
        acl: cannedAcl(acl, { id: o.id, displayName: o.name }, { id: o.id, displayName: o.name }),
      });
    for (const b of ['plain.test', 'private.test', 'cfg.test']) storage.createBucket(o, b, 'us-east-1', null);
    await put('plain.test', 'index.html', 'public-read');
    await put('private.test', 'index.html', 'private');
    await put('private.test', 'other.html', 'public-read');
    // Configured with another index: only the configuration counts, whatever index.html says.
    storage.setBucketWebsite('cfg.test', { indexDocument: { suffix: 'home.html' } });
    const sites = storageSites(storage);
    assert.equal(sites.site('plain.test').servesWebsite, true, sites.site('plain.test').detail);
    assert.equal(
      sites.site('private.test').servesWebsite,
      false,
      'a public object that is not the index makes no site',
    );
    assert.equal(sites.site('cfg.test').servesWebsite, true);
    assert.equal(sites.site('none.test').exists, false);
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('websiteSites: the gate over a WebsiteSource asks what the website would serve at /', {
  timeout: 30_000,
}, async () => {
  const object = (key: string): WebsiteObject => ({
    key,
    size: 1,
    etag: 'e',
    lastModified: new Date(0),
    headers: {},
    acl: null,
    open: async () => Readable.from([]),
  });
  const bucket = (name: string, website: boolean, readable: Set<string>): WebsiteBucket => ({
    name,
    website: website ? { indexDocument: { suffix: 'home.html' } } : null,
    cors: null,
    contextFree: true,
    fingerprint: name,
    mayRead: (key, obj) => obj !== null && readable.has(key),
  });
  const buckets: Record<string, WebsiteBucket> = {
    configured: bucket('configured', true, new Set()),
    public: bucket('public', false, new Set(['index.html'])),
    private: bucket('private', false, new Set()),
    empty: bucket('empty', false, new Set(['index.html'])),
  };
  const source: WebsiteSource = {
    bucket: async (name) => buckets[name] ?? null,
    head: async (b, key) => (b === 'empty' ? null : object(key)),
    subscribe: () => () => undefined,
  };
  const sites = websiteSites(source);
  const cases: [string, boolean, boolean, RegExp][] = [
    ['missing', false, false, /no such bucket/],
    ['configured', true, true, /website configuration set/],
    ['public', true, true, /anonymous visitors may read index\.html/],
    ['private', true, false, /anonymous visitors may not read index\.html/],
    ['empty', true, false, /no index\.html and no website configuration/],
  ];
  for (const [name, exists, serves, detail] of cases) {
    const site = await sites.site(name);
    assert.equal(site.exists, exists, name);
    assert.equal(site.servesWebsite, serves, name);
    assert.match(site.detail, detail, name);
  }
});

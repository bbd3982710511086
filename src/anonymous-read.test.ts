/**
 * One table, four readers: the storage decision and the three places that act on it (the S3
 * API's anonymous GetObject, the website, the certificate gate) must give every row the same
 * answer. Lives at the top of src/ because s3api and gateway may not import each other.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anonymousRead,
  cannedAcl,
  storedPolicy,
  type Acl,
  type BucketGuards,
  type BucketInfo,
  type CannedAcl,
  type PublicAccessBlock,
  type RequestContext,
} from '#storage';
import { describeSite } from './gateway/tls/sites.js';
import { websiteBucketOf } from './gateway/website/local-source.js';
import { anonymousObjectAnswer } from './s3api/pipeline.js';

const BUCKET = 'www.example.com';
const KEY = 'index.html';
const owner = { id: 'cellar_owner', displayName: 'owner' };
const acl = (name: CannedAcl): Acl => cannedAcl(name, owner, owner);
const ALL_USERS_FULL: Acl = {
  owner,
  grants: [
    ...acl('private').grants,
    { grantee: { type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AllUsers' }, permission: 'FULL_CONTROL' },
  ],
};

type Statement = Record<string, unknown>;
const stmt = (
  effect: 'Allow' | 'Deny',
  action: string | string[],
  resource: string | string[],
  condition?: object,
): Statement => ({
  Effect: effect,
  Principal: '*',
  Action: action,
  Resource: resource,
  ...(condition ? { Condition: condition } : {}),
});
const policy = (...s: Statement[]): string => JSON.stringify({ Version: '2012-10-17', Statement: s });
const ALL = `arn:aws:s3:::${BUCKET}/*`;

/** The visitor the certificate is for (what the gate assumes), and variations of it. */
const HTTPS: RequestContext = { 'aws:securetransport': 'true' };
const HTTP: RequestContext = { 'aws:securetransport': 'false' };
const withReferer = (r: string): RequestContext => ({ ...HTTPS, 'aws:referer': r });

/** read: the object is served; not-found: 404 / NoSuchKey; forbidden: 403 / AccessDenied. */
type Outcome = 'read' | 'not-found' | 'forbidden';

interface Row {
  what: string;
  bucketAcl?: Acl;
  /** The index object's ACL; null: no such object. */
  objectAcl: Acl | null;
  policy?: string;
  context?: RequestContext;
  /** The bucket's Block Public Access / Object Ownership settings. */
  guards?: BucketGuards;
  /** One outcome for all, or the API's and the website's where the website's DEVIATION applies. */
  expect: Outcome | { api: Outcome; website: Outcome };
}

const pab = (flags: Partial<PublicAccessBlock>): BucketGuards => ({
  publicAccessBlock: {
    blockPublicAcls: false,
    ignorePublicAcls: false,
    blockPublicPolicy: false,
    restrictPublicBuckets: false,
    ...flags,
  },
});
const PUBLIC_POLICY = policy(stmt('Allow', 's3:GetObject', ALL));

const REFERER = { StringLike: { 'aws:Referer': 'https://www.example.com/*' } };

const ROWS: Row[] = [
  { what: 'private bucket, private object', objectAcl: acl('private'), expect: 'forbidden' },
  {
    what: 'private bucket, public-read object (s3cmd put --acl-public)',
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  { what: 'private bucket, missing key: no existence leak', objectAcl: null, expect: 'forbidden' },
  { what: 'authenticated-read object is not anonymous', objectAcl: acl('authenticated-read'), expect: 'forbidden' },
  {
    what: 'public-read bucket ACL lists, does not open a private object',
    bucketAcl: acl('public-read'),
    objectAcl: acl('private'),
    expect: 'forbidden',
  },
  {
    what: 'public-read bucket ACL, missing key: the lister learns it',
    bucketAcl: acl('public-read'),
    objectAcl: null,
    expect: 'not-found',
  },
  {
    what: 'public-read bucket and object',
    bucketAcl: acl('public-read'),
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'FULL_CONTROL to AllUsers on the bucket still opens no object',
    bucketAcl: ALL_USERS_FULL,
    objectAcl: acl('private'),
    expect: 'forbidden',
  },
  {
    what: 'public-read-write bucket, missing key',
    bucketAcl: acl('public-read-write'),
    objectAcl: null,
    expect: 'not-found',
  },
  {
    what: 'documented public policy, private object ACL',
    policy: policy(stmt('Allow', 's3:GetObject', ALL)),
    objectAcl: acl('private'),
    expect: 'read',
  },
  {
    what: 'public GetObject policy, missing key',
    policy: policy(stmt('Allow', 's3:GetObject', ALL)),
    objectAcl: null,
    expect: { api: 'forbidden', website: 'not-found' },
  },
  {
    what: 'public GetObject + ListBucket policy, missing key',
    policy: policy(stmt('Allow', ['s3:GetObject', 's3:ListBucket'], [ALL, `arn:aws:s3:::${BUCKET}`])),
    objectAcl: null,
    expect: 'not-found',
  },
  {
    what: 'policy for another folder, private index',
    policy: policy(stmt('Allow', 's3:GetObject', `arn:aws:s3:::${BUCKET}/public/*`)),
    objectAcl: acl('private'),
    expect: 'forbidden',
  },
  {
    what: 'policy for another folder, public-read index ACL still grants',
    policy: policy(stmt('Allow', 's3:GetObject', `arn:aws:s3:::${BUCKET}/public/*`)),
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'Deny of the index beats its public-read ACL',
    policy: policy(stmt('Deny', 's3:GetObject', `arn:aws:s3:::${BUCKET}/${KEY}`)),
    objectAcl: acl('public-read'),
    expect: 'forbidden',
  },
  {
    what: 'Deny beats an Allow for the same key',
    policy: policy(stmt('Allow', 's3:GetObject', ALL), stmt('Deny', 's3:*', ALL)),
    objectAcl: acl('private'),
    expect: 'forbidden',
  },
  {
    what: 'Deny of the read beats a listable bucket for a missing key',
    bucketAcl: acl('public-read'),
    policy: policy(stmt('Deny', 's3:GetObject', ALL)),
    objectAcl: null,
    expect: 'forbidden',
  },
  {
    what: 'Allow over TLS only, HTTPS visitor',
    policy: policy(stmt('Allow', 's3:GetObject', ALL, { Bool: { 'aws:SecureTransport': 'true' } })),
    objectAcl: acl('private'),
    expect: 'read',
  },
  {
    what: 'Allow over TLS only, HTTP visitor',
    policy: policy(stmt('Allow', 's3:GetObject', ALL, { Bool: { 'aws:SecureTransport': 'true' } })),
    objectAcl: acl('private'),
    context: HTTP,
    expect: 'forbidden',
  },
  {
    what: 'Deny without TLS over a public-read object, HTTPS visitor',
    policy: policy(stmt('Deny', 's3:*', ALL, { Bool: { 'aws:SecureTransport': 'false' } })),
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'Deny without TLS over a public-read object, HTTP visitor',
    policy: policy(stmt('Deny', 's3:*', ALL, { Bool: { 'aws:SecureTransport': 'false' } })),
    objectAcl: acl('public-read'),
    context: HTTP,
    expect: 'forbidden',
  },
  {
    what: 'Allow with a Referer, visitor with that Referer',
    policy: policy(stmt('Allow', 's3:GetObject', ALL, REFERER)),
    objectAcl: acl('private'),
    context: withReferer('https://www.example.com/about'),
    expect: 'read',
  },
  {
    what: 'Allow with a Referer, visitor without one',
    policy: policy(stmt('Allow', 's3:GetObject', ALL, REFERER)),
    objectAcl: acl('private'),
    expect: 'forbidden',
  },
  {
    what: 'Allow with a Referer, other Referer, public-read object ACL grants anyway',
    policy: policy(stmt('Allow', 's3:GetObject', ALL, REFERER)),
    objectAcl: acl('public-read'),
    context: withReferer('https://evil.example/'),
    expect: 'read',
  },
  {
    what: 'Deny for a hotlinking Referer over a public-read object',
    policy: policy(stmt('Deny', 's3:GetObject', ALL, { StringLike: { 'aws:Referer': 'https://evil.example/*' } })),
    objectAcl: acl('public-read'),
    context: withReferer('https://evil.example/x'),
    expect: 'forbidden',
  },
  {
    what: 'Deny for a hotlinking Referer, other visitor',
    policy: policy(stmt('Deny', 's3:GetObject', ALL, { StringLike: { 'aws:Referer': 'https://evil.example/*' } })),
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'a stored policy that no longer parses grants nothing, not even the ACL',
    policy: '{"Statement":',
    objectAcl: acl('public-read'),
    expect: 'forbidden',
  },
  // Block Public Access (access-control-block-public-access.html) and Object Ownership.
  {
    what: 'IgnorePublicAcls: a public-read object ACL grants nothing',
    guards: pab({ ignorePublicAcls: true }),
    objectAcl: acl('public-read'),
    expect: 'forbidden',
  },
  {
    what: 'IgnorePublicAcls: a public-read bucket ACL no longer tells of a missing key',
    guards: pab({ ignorePublicAcls: true }),
    bucketAcl: acl('public-read'),
    objectAcl: null,
    expect: 'forbidden',
  },
  {
    what: 'IgnorePublicAcls leaves the public policy alone',
    guards: pab({ ignorePublicAcls: true }),
    policy: PUBLIC_POLICY,
    objectAcl: acl('private'),
    expect: 'read',
  },
  {
    what: 'RestrictPublicBuckets: the public policy grants nothing to anonymous',
    guards: pab({ restrictPublicBuckets: true }),
    policy: PUBLIC_POLICY,
    objectAcl: acl('private'),
    expect: 'forbidden',
  },
  {
    what: 'RestrictPublicBuckets leaves a public-read object ACL alone',
    guards: pab({ restrictPublicBuckets: true }),
    policy: PUBLIC_POLICY,
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'RestrictPublicBuckets keeps the Deny statements of a public policy',
    guards: pab({ restrictPublicBuckets: true }),
    policy: policy(stmt('Allow', 's3:GetObject', ALL), stmt('Deny', 's3:GetObject', `arn:aws:s3:::${BUCKET}/${KEY}`)),
    objectAcl: acl('public-read'),
    expect: 'forbidden',
  },
  {
    what: 'BlockPublicAcls and BlockPublicPolicy only stop new grants: existing ones still work',
    guards: pab({ blockPublicAcls: true, blockPublicPolicy: true }),
    policy: PUBLIC_POLICY,
    objectAcl: acl('private'),
    expect: 'read',
  },
  {
    what: 'BlockPublicAcls alone: an existing public-read object ACL still grants',
    guards: pab({ blockPublicAcls: true }),
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'all four flags: neither the ACL nor the policy opens the object',
    guards: pab({
      blockPublicAcls: true,
      ignorePublicAcls: true,
      blockPublicPolicy: true,
      restrictPublicBuckets: true,
    }),
    policy: PUBLIC_POLICY,
    objectAcl: acl('public-read'),
    expect: 'forbidden',
  },
  {
    what: 'BucketOwnerEnforced: ACLs are disabled, a public-read object is private',
    guards: { ownership: 'BucketOwnerEnforced' },
    objectAcl: acl('public-read'),
    expect: 'forbidden',
  },
  {
    what: 'BucketOwnerEnforced: the policy still grants',
    guards: { ownership: 'BucketOwnerEnforced' },
    policy: PUBLIC_POLICY,
    objectAcl: acl('public-read'),
    expect: 'read',
  },
  {
    what: 'BucketOwnerPreferred leaves ACLs in force',
    guards: { ownership: 'BucketOwnerPreferred' },
    objectAcl: acl('public-read'),
    expect: 'read',
  },
];

function bucketOf(r: Row): BucketInfo {
  return {
    name: BUCKET,
    ownerId: owner.id,
    region: 'us-east-1',
    createdAt: new Date(0),
    acl: r.bucketAcl ?? acl('private'),
    policy: r.policy ?? null,
    cors: null,
    website: null,
    ...r.guards,
  };
}

const expected = (r: Row, surface: 'api' | 'website'): Outcome =>
  typeof r.expect === 'string' ? r.expect : r.expect[surface];

describe('the anonymous read: one answer per row from storage, the S3 API, the website and the gate', {
  timeout: 10_000,
}, () => {
  for (const r of ROWS) {
    test(r.what, { timeout: 30_000 }, () => {
      const b = bucketOf(r);
      const ctx = r.context ?? HTTPS;
      const object = r.objectAcl === null ? null : { acl: r.objectAcl };
      const exists = object !== null;

      const d = anonymousRead({
        bucket: BUCKET,
        bucketOwnerId: owner.id,
        bucketAcl: b.acl,
        policy: storedPolicy(b),
        key: KEY,
        object,
        context: ctx,
        guards: b,
      });
      const storageApi: Outcome = exists ? (d.allowed ? 'read' : 'forbidden') : d.notFound ? 'not-found' : 'forbidden';
      const storageWeb: Outcome = exists
        ? d.allowed
          ? 'read'
          : 'forbidden'
        : d.websiteNotFound
          ? 'not-found'
          : 'forbidden';
      assert.equal(storageApi, expected(r, 'api'), 'storage decision (API rule)');
      assert.equal(storageWeb, expected(r, 'website'), 'storage decision (website rule)');

      const api = anonymousObjectAnswer(b, KEY, object, ctx);
      assert.equal(
        ({ read: 'read', NoSuchKey: 'not-found', AccessDenied: 'forbidden' } as const)[api],
        expected(r, 'api'),
        'S3 API',
      );

      const webObject =
        object === null
          ? null
          : {
              key: KEY,
              size: 1,
              etag: 'e',
              lastModified: new Date(0),
              headers: {},
              acl: object.acl,
              open: () => Promise.reject(new Error('not read here')),
            };
      const may = websiteBucketOf(b).mayRead(KEY, webObject, ctx);
      assert.equal(
        exists ? (may ? 'read' : 'forbidden') : may ? 'not-found' : 'forbidden',
        expected(r, 'website'),
        'website',
      );

      // The gate issues exactly when the visitor would get the index document.
      const site = describeSite(b, object, ctx);
      assert.equal(site.servesWebsite, expected(r, 'api') === 'read', `gate: ${site.detail}`);
      assert.equal(site.servesWebsite, expected(r, 'website') === 'read', `gate: ${site.detail}`);
    });
  }
});
